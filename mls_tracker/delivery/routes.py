"""The delivery pages: the months of volumes and spend with their figures and charts, a
month's form, confirming, the CSV upload and the CSV export."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_security import auth_required
from itsdangerous import BadSignature, URLSafeTimedSerializer

from mls_tracker import charts, page_parts
from mls_tracker.access import Action, can, get_partnership
from mls_tracker.delivery.forms import (
    ConfirmAllForm,
    ConfirmForm,
    MonthForm,
    UploadConfirmForm,
    UploadForm,
)
from mls_tracker.exports import csv_response
from mls_tracker.formhelp import to_int
from mls_tracker.models import MeasurementState
from mls_tracker.periods import Month, utc_today
from mls_tracker.services import delivery as service
from mls_tracker.services.errors import Conflict, ValidationFailed

bp = Blueprint("delivery", __name__, url_prefix="/partnerships/<int:partnership_id>/delivery")

UPLOAD_SALT = "delivery-upload"
UPLOAD_MAX_AGE = 3600
STATES = {"proposed": MeasurementState.PROPOSED, "confirmed": MeasurementState.CONFIRMED}


def _month_arg(text: str | None) -> Month | None:
    try:
        return Month.parse(text or "")
    except ValueError:
        return None


def _chart_points(figures: service.DeliveryFigures) -> list[charts.DeliveryPoint]:
    return [
        charts.DeliveryPoint(
            month=p.month,
            learners_trained=p.learners_trained,
            training_hours=float(p.training_hours),
            sessions_delivered=p.sessions_delivered,
            spend=None if p.invoiced_amount is None else float(p.invoiced_amount),
            cost_per_learner=None if p.cost_per_learner is None else float(p.cost_per_learner),
            confirmed=p.confirmed,
        )
        for p in figures.series
    ]


def _listing(partnership_id: int) -> tuple[str | None, bool, list]:
    """The months table as asked: ``?state=`` proposed|confirmed, ``?order=oldest``."""
    state = request.args.get("state")
    oldest = request.args.get("order") == "oldest"
    rows = service.months_of(partnership_id, STATES.get(state or ""), newest_first=not oldest)
    return (state if state in STATES else None), oldest, rows


@bp.get("/")
@auth_required()
def index(partnership_id: int):
    partnership = get_partnership(partnership_id)
    may_enter = can(current_user, Action.PROPOSE_ACTUALS, partnership.id)
    may_confirm = can(current_user, Action.MANAGE, partnership.id)

    def render_page() -> str:
        state, oldest, rows = _listing(partnership.id)
        last = service.latest_month(partnership.id) or service.this_month()
        figures = service.figures(partnership, last)
        points = _chart_points(figures)
        return render_template(
            "delivery/_page.html",
            partnership=partnership,
            figures=figures,
            rows=rows,
            state=state,
            oldest=oldest,
            proposed_total=sum(1 for r in rows if not r.confirmed)
            if state is None
            else len(service.months_of(partnership.id, MeasurementState.PROPOSED)),
            volumes_chart=charts.chart_json(charts.delivery_volumes(points)) if points else None,
            spend_chart=charts.chart_json(charts.delivery_spend(points, partnership.currency))
            if points
            else None,
            may_enter=may_enter,
            may_confirm=may_confirm,
            confirm_form=ConfirmForm(),
            confirm_all_form=ConfirmAllForm(),
            this_month=service.this_month(),
            cost_of=service.ratio,
        )

    content = page_parts.default_view_with_forms(
        "delivery.index", partnership.id, (utc_today(), may_enter, may_confirm), render_page
    )
    return render_template("delivery/index.html", partnership=partnership, content=content)


@bp.get("/export.csv")
@auth_required()
def export(partnership_id: int):
    partnership = get_partnership(partnership_id)
    _, _, rows = _listing(partnership.id)
    return csv_response(
        f"delivery-{partnership.id}.csv",
        service.EXPORT_HEADER,
        service.export_rows(partnership, rows),
    )


@bp.get("/month")
@auth_required()
def pick_month(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.PROPOSE_ACTUALS)
    month = _month_arg(request.args.get("month")) or service.this_month().previous()
    return redirect(url_for(".month", partnership_id=partnership.id, month=str(month)))


@bp.route("/month/<month>", methods=["GET", "POST"])
@auth_required()
def month(partnership_id: int, month: str):
    partnership = get_partnership(partnership_id, Action.PROPOSE_ACTUALS)
    period = _month_arg(month)
    if period is None:
        abort(404)
    stored = service.month_row(partnership.id, period)
    lead = can(current_user, Action.MANAGE, partnership.id)
    form = MonthForm()
    if request.method == "GET" and stored is not None:
        for name in (*service.VOLUME_FIELDS, "invoiced_amount", "note"):
            value = getattr(stored, name)
            getattr(form, name).data = "" if value is None else str(value)
    if request.method == "GET":
        form.version.data = str(stored.version if stored else 0)
    conflict = None
    if form.validate_on_submit():
        values = service.DeliveryInput(
            **{
                name: getattr(form, name).data or ""
                for name in (*service.VOLUME_FIELDS, "invoiced_amount", "note")
            }
        )
        try:
            saved = service.record_month(
                current_user, partnership, period, values, to_int(form.version.data) or 0
            )
        except ValidationFailed as error:
            problems = getattr(error, "problems", None) or {error.field: str(error)}
            for name, message in problems.items():
                field = getattr(form, name or "", None)
                if field is None or name == "month":
                    form.form_errors.append(message)
                else:
                    field.errors = [*field.errors, message]
        except Conflict as error:
            form.form_errors.append(str(error))
            conflict = service.month_row(partnership.id, period)
            if conflict is not None:
                form.version.data = str(conflict.version)
        else:
            state = "confirmed" if saved.confirmed else "proposed: a lead will confirm it"
            flash(f"Saved {period.label} ({state}).", "success")
            return redirect(url_for(".index", partnership_id=partnership.id))
    return render_template(
        "delivery/month.html",
        partnership=partnership,
        period=period,
        stored=stored,
        conflict=conflict,
        form=form,
        lead=lead,
        future=period > service.this_month(),
    )


@bp.post("/month/<month>/confirm")
@auth_required()
def confirm(partnership_id: int, month: str):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    period = _month_arg(month)
    if period is None:
        abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.confirm_month(current_user, partnership, period, to_int(form.version.data))
    except Conflict as error:
        flash(str(error), "danger")
    else:
        flash(f"{period.label} confirmed.", "success")
    return redirect(url_for(".index", partnership_id=partnership.id))


@bp.post("/confirm-all")
@auth_required()
def confirm_all(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    if not ConfirmAllForm().validate_on_submit():
        abort(400)
    try:
        count = service.confirm_all(current_user, partnership)
    except Conflict as error:
        flash(str(error), "danger")
    else:
        flash(f"Confirmed {count} month{'s' * (count != 1)}.", "success")
    return redirect(url_for(".index", partnership_id=partnership.id))


# ----------------------------------------------------------------------------- upload


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=UPLOAD_SALT)


def _render_upload(partnership, form, preview=None, confirm_form=None):
    return render_template(
        "delivery/upload.html",
        partnership=partnership,
        form=form,
        preview=preview,
        confirm_form=confirm_form,
        lead=can(current_user, Action.MANAGE, partnership.id),
        columns=service.UPLOAD_COLUMNS,
        max_rows=service.MAX_UPLOAD_ROWS,
    )


@bp.route("/upload", methods=["GET", "POST"])
@auth_required()
def upload(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.PROPOSE_ACTUALS)
    form = UploadForm()
    if form.validate_on_submit():
        try:
            rows = service.parse_upload(form.file.data.read())
        except ValidationFailed as error:
            form.file.errors = [*form.file.errors, str(error)]
        else:
            preview = service.preview_upload(current_user, partnership, rows)
            confirm_form = None
            if not preview.errors and (preview.count("new") or preview.count("replaces")):
                confirm_form = UploadConfirmForm()
                confirm_form.payload.data = _serializer().dumps(
                    {
                        "p": partnership.id,
                        "u": current_user.id,
                        "rows": [[line, cells] for line, cells in rows],
                        "v": [row.seen_version for row in preview.rows],
                    }
                )
            return _render_upload(partnership, form, preview, confirm_form)
    return _render_upload(partnership, form)


@bp.post("/upload/confirm")
@auth_required()
def upload_confirm(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.PROPOSE_ACTUALS)
    confirm_form = UploadConfirmForm()
    form = UploadForm(formdata=None)
    if confirm_form.validate_on_submit():
        try:
            data = _serializer().loads(confirm_form.payload.data or "", max_age=UPLOAD_MAX_AGE)
        except BadSignature:
            data = None
        if (
            isinstance(data, dict)
            and data.get("p") == partnership.id
            and data.get("u") == current_user.id
        ):
            rows = [(line, cells) for line, cells in data["rows"]]
            result = service.save_upload(current_user, partnership, rows, data["v"])
            if not result.errors:
                written = result.count("new") + result.count("replaces")
                lead = can(current_user, Action.MANAGE, partnership.id)
                state = "confirmed" if lead else "proposed: a lead will confirm them"
                flash(f"Saved {written} month{'s' * (written != 1)} ({state}).", "success")
                return redirect(url_for(".index", partnership_id=partnership.id))
            form.file.errors = ["Nothing was saved: see the rows below."]
            return _render_upload(partnership, form, result)
    form.file.errors = [
        "This preview has expired or was altered, so nothing was saved. Upload the file again."
    ]
    return _render_upload(partnership, form)
