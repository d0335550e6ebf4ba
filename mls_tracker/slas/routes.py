"""The SLA pages: the month grid, an SLA's detail, defining SLAs and targets, entering,
uploading and exporting actuals."""

from __future__ import annotations

from decimal import Decimal

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
from markupsafe import Markup

from mls_tracker import lists, page_parts
from mls_tracker.access import Action, can, get_object, get_partnership
from mls_tracker.exports import csv_response
from mls_tracker.formhelp import to_int
from mls_tracker.models import Direction, Sla, SlaMeasurement, Unit
from mls_tracker.periods import Month, utc_today
from mls_tracker.services import audit_log, data_version
from mls_tracker.services import slas as service
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.sla_figures import headline_attainment
from mls_tracker.slas.forms import (
    ActualsForm,
    SlaEditForm,
    SlaNewForm,
    TargetForm,
    UploadConfirmForm,
    UploadForm,
)

bp = Blueprint("slas", __name__, url_prefix="/partnerships/<int:partnership_id>/slas")

UPLOAD_SALT = "sla-actuals-upload"
UPLOAD_MAX_AGE = 3600  # seconds a preview may wait for its confirmation


@bp.context_processor
def _helpers() -> dict:
    return {"sla_value": service.format_value, "this_month": service.this_month()}


def _month_arg(text: str | None) -> Month | None:
    if not text:
        return None
    try:
        return Month.parse(text)
    except ValueError:
        return None


def _reporting_month(partnership_id: int) -> Month:
    """``service.reporting_month``, remembered per data version and day: it changes only with
    an actual entered for the current month (audited) or with the month."""
    return data_version.remembered(
        "slas.reporting_month",
        partnership_id,
        utc_today(),
        lambda: service.reporting_month(partnership_id),
    )


def _last_month(partnership_id: int) -> Month:
    """``?to=YYYY-MM`` if given (never after the current month), else the reporting month."""
    chosen = _month_arg(request.args.get("to"))
    if chosen is None:
        return _reporting_month(partnership_id)
    return min(chosen, service.this_month())


# ----------------------------------------------------------------------------- grid


@bp.get("/")
@auth_required()
def index(partnership_id: int):
    partnership = get_partnership(partnership_id)
    last = _last_month(partnership.id)
    may_manage = can(current_user, Action.MANAGE, partnership.id)
    may_enter = can(current_user, Action.PROPOSE_ACTUALS, partnership.id)

    def render_grid() -> str:
        grid = service.month_grid(partnership.id, last)
        # The headline: the last complete month with confirmed actuals, never the month in
        # progress (issue 15).
        headline = headline_attainment(grid.attainments, service.this_month()) or grid.newest
        return render_template(
            "slas/_grid.html",
            partnership=partnership,
            grid=grid,
            headline=headline,
            last=last,
            inactive=service.inactive_slas(partnership.id),
            may_manage=may_manage,
            may_enter=may_enter,
        )

    content = page_parts.default_view(
        "slas.index", partnership.id, (utc_today(), last, may_manage, may_enter), render_grid
    )
    return render_template(
        "slas/index.html",
        partnership=partnership,
        first=last.shift(-(service.GRID_MONTHS - 1)),
        last=last,
        may_manage=may_manage,
        may_enter=may_enter,
        content=content,
    )


@bp.get("/export.csv")
@auth_required()
def export(partnership_id: int):
    partnership = get_partnership(partnership_id)
    last = _last_month(partnership.id)
    first = last.shift(-(service.GRID_MONTHS - 1))
    return csv_response(
        f"sla-actuals-{partnership.id}-{first}-to-{last}.csv",
        service.EXPORT_HEADER,
        service.export_rows(partnership.id, last),
    )


# ----------------------------------------------------------------------------- SLAs


def _definition(form: SlaNewForm | SlaEditForm) -> service.SlaDefinition:
    return service.SlaDefinition(
        code=form.code.data or "",
        name=form.name.data or "",
        definition=form.definition.data,
        unit=Unit(form.unit.data),
        direction=Direction(form.direction.data),
        weight=form.weight.data,
        expectation_id=form.expectation.data or None,
        credit_percent=form.credit_percent.data,
    )


def _add_problems(form, problems: dict[str, str]) -> None:
    """Business-rule messages beside fields that passed the form's own checks, so that a
    person sees every problem at once rather than one per attempt."""
    for name, message in problems.items():
        field = getattr(form, name, None)
        if field is not None and not field.errors:
            field.errors = [*field.errors, message]


def _show_all_problems(form, partnership_id: int, sla: Sla | None = None) -> None:
    _add_problems(
        form,
        service.definition_problems(
            partnership_id,
            code=form.code.data,
            name=form.name.data,
            weight=form.weight.data,
            expectation_id=form.expectation.data or None,
            sla_id=sla.id if sla else None,
            credit_percent=form.credit_percent.data,
        ),
    )
    if (
        hasattr(form, "target")
        and form.unit.data in set(Unit)
        and form.direction.data in set(Direction)
    ):
        _add_problems(
            form,
            service.target_problems(
                Unit(form.unit.data),
                Direction(form.direction.data),
                form.target.data,
                form.at_risk_threshold.data,
            ),
        )


def _field_error(form, error: ValidationFailed, default: str) -> None:
    field = getattr(form, error.field or default, None) or getattr(form, default)
    field.errors = [*field.errors, str(error)]


@bp.route("/new", methods=["GET", "POST"])
@auth_required()
def new(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = SlaNewForm()
    form.expectation.choices = service.expectation_choices(partnership.id)
    if request.method == "GET":
        form.applies_from.data = str(service.this_month())
    valid = form.validate_on_submit()
    if request.method == "POST":
        _show_all_problems(form, partnership.id)
        valid = valid and not any(field.errors for field in form)
    if valid:
        try:
            sla = service.create_sla(
                current_user,
                partnership,
                _definition(form),
                target=form.target.data,
                at_risk_threshold=form.at_risk_threshold.data,
                applies_from=Month.parse(form.applies_from.data),
            )
        except ValidationFailed as error:
            _field_error(form, error, "code")
        else:
            flash(f"SLA {sla.code} created.", "success")
            return redirect(url_for(".show", partnership_id=partnership.id, sla_id=sla.id))
    return render_template("slas/form.html", partnership=partnership, form=form, sla=None)


@bp.get("/<int:sla_id>")
@auth_required()
def show(partnership_id: int, sla_id: int):
    sla = get_object(Sla, sla_id, partnership_id)
    partnership = get_partnership(partnership_id)
    may_manage = can(current_user, Action.MANAGE, partnership.id)
    may_see_history = audit_log.may_see_history(current_user, partnership.id)

    def render_sla() -> str:
        return render_template(
            "slas/_show.html",
            partnership=partnership,
            sla=sla,
            history=service.target_history(sla),
            months=service.sla_months(sla, _last_month(partnership.id)),
            may_manage=may_manage,
        )

    content = page_parts.default_view(
        "slas.show",
        partnership.id,
        (sla.id, utc_today(), may_manage, may_see_history),
        render_sla,
    )
    return render_template("slas/show.html", partnership=partnership, sla=sla, content=content)


@bp.route("/<int:sla_id>/edit", methods=["GET", "POST"])
@auth_required()
def edit(partnership_id: int, sla_id: int):
    sla = get_object(Sla, sla_id, partnership_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = SlaEditForm(obj=sla if request.method == "GET" else None)
    form.expectation.choices = service.expectation_choices(partnership.id)
    if request.method == "GET":
        form.expectation.data = sla.expectation_id
        form.version.data = str(sla.version)
    conflict = None
    valid = form.validate_on_submit()
    if request.method == "POST":
        _show_all_problems(form, partnership.id, sla)
        valid = valid and not any(field.errors for field in form)
    if valid:
        try:
            service.update_sla(
                current_user,
                sla,
                _definition(form),
                active=form.active.data,
                version=to_int(form.version.data),
            )
        except service.SlaChanged as error:
            form.form_errors.append(str(error))
            conflict = error.saved
            form.version.data = str(conflict.version)
        except ValidationFailed as error:
            _field_error(form, error, "code")
        else:
            flash(f"SLA {sla.code} saved.", "success")
            return redirect(url_for(".show", partnership_id=partnership.id, sla_id=sla.id))
    return render_template(
        "slas/form.html", partnership=partnership, form=form, sla=sla, conflict=conflict
    )


@bp.route("/<int:sla_id>/target", methods=["GET", "POST"])
@auth_required()
def target(partnership_id: int, sla_id: int):
    sla = get_object(Sla, sla_id, partnership_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = TargetForm()
    if request.method == "GET":
        form.version.data = str(sla.version)
        form.applies_from.data = str(service.this_month().next())
        current = sla.target_for(service.this_month())
        if current is not None:
            form.target.data = Decimal(service.format_value(current.target))
            form.at_risk_threshold.data = Decimal(service.format_value(current.at_risk_threshold))
    valid = form.validate_on_submit()
    if request.method == "POST":
        _add_problems(
            form,
            service.target_problems(
                sla.unit, sla.direction, form.target.data, form.at_risk_threshold.data
            ),
        )
        valid = valid and not any(field.errors for field in form)
    rejudged: list[service.Rejudgement] = []
    conflict = None
    if valid:
        applies_from = Month.parse(form.applies_from.data)
        try:
            point = service.set_target(
                current_user,
                sla,
                target=form.target.data,
                at_risk_threshold=form.at_risk_threshold.data,
                applies_from=applies_from,
                confirmed_changes=form.confirmed_changes(),
                expected_version=to_int(form.version.data),
            )
        except service.TargetChanged as error:
            form.form_errors.append(str(error))
            conflict = error.saved
            # The typed target stays in the form; saving again is a deliberate choice to
            # replace what is shown as saved now.
            form.version.data = str(conflict.version)
            form.rejudged.data = ""
            form.confirm_rejudged.data = False
        except service.RejudgementNeeded as needed:
            rejudged = needed.changes
            form.rejudged.data = "\n".join(change.text for change in rejudged)
            form.confirm_rejudged.data = False
        except ValidationFailed as error:
            _field_error(form, error, "target")
        else:
            changed = service.rejudged_texts(point.rejudged)
            flash(
                f"New target for {sla.code} in force from {applies_from.label}"
                + (
                    f"; re-judged: {'; '.join(changed)}."
                    if changed
                    else "; no month already judged changes status."
                ),
                "success",
            )
            return redirect(url_for(".show", partnership_id=partnership.id, sla_id=sla.id))
    return render_template(
        "slas/target.html",
        partnership=partnership,
        sla=sla,
        form=form,
        rejudged=rejudged,
        conflict=conflict,
        history=service.target_history(sla),
    )


# ----------------------------------------------------------------------------- actuals


@bp.get("/actuals")
@auth_required()
def pick_month(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.PROPOSE_ACTUALS)
    month = _month_arg(request.args.get("month")) or _reporting_month(partnership.id)
    return redirect(url_for(".actuals", partnership_id=partnership.id, month=str(month)))


@bp.route("/actuals/<month>", methods=["GET", "POST"])
@auth_required()
def actuals(partnership_id: int, month: str):
    partnership = get_partnership(partnership_id, Action.PROPOSE_ACTUALS)
    period = _month_arg(month)
    if period is None:
        abort(404)
    form = ActualsForm()
    manager = can(current_user, Action.MANAGE, partnership.id)
    future = period > service.this_month()

    def render_month(
        grid: service.Grid | None = None,
        stored: dict[int, SlaMeasurement] | None = None,
        **after_post: dict,
    ) -> str:
        """The month's form: as stored, or after a POST with what was posted (``posted``,
        ``errors``, ``conflicts``)."""
        return render_template(
            "slas/_actuals.html",
            partnership=partnership,
            form=form,
            period=period,
            grid=grid if grid is not None else service.month_grid(partnership.id, period, months=1),
            stored=stored
            if stored is not None
            else service.month_measurements(partnership.id, period),
            posted=after_post.get("posted", {}),
            errors=after_post.get("errors", {}),
            conflicts=after_post.get("conflicts", {}),
            manager=manager,
            future=future,
        )

    if request.method != "POST":
        # The month's form as stored, the same for every visitor with the same rights: its
        # entries are remembered without this session's CSRF token.
        content = page_parts.default_view(
            "slas.actuals",
            partnership.id,
            (str(period), utc_today(), manager),
            page_parts.tokenless(render_month),
        )
        return render_template(
            "slas/actuals.html",
            partnership=partnership,
            period=period,
            content=page_parts.with_token(content),
        )
    grid = service.month_grid(partnership.id, period, months=1)
    stored = service.month_measurements(partnership.id, period)
    posted: dict[int, service.ActualInput] = {}
    errors: dict[int, str] = {}
    conflicts: dict[int, SlaMeasurement] = {}
    if form.validate_on_submit():
        confirm_all = manager and bool(request.form.get("confirm_all"))
        for row in grid.rows:
            sla_id = row.series.sla_id
            if f"value-{sla_id}" not in request.form and f"na-{sla_id}" not in request.form:
                continue
            posted[sla_id] = service.ActualInput(
                sla_id=sla_id,
                value=request.form.get(f"value-{sla_id}", ""),
                not_applicable=bool(request.form.get(f"na-{sla_id}")),
                note=request.form.get(f"note-{sla_id}", ""),
                seen_version=to_int(request.form.get(f"version-{sla_id}")) or 0,
                confirm=confirm_all or bool(request.form.get(f"confirm-{sla_id}")),
            )
        try:
            outcome = service.save_month_actuals(
                current_user, partnership, period, list(posted.values())
            )
        except ValidationFailed as error:
            form.form_errors.append(str(error))
        else:
            if outcome.ok and (outcome.saved or outcome.confirmed):
                parts = []
                if outcome.saved:
                    state = "confirmed" if manager else "proposed: a lead will confirm them"
                    parts.append(f"{outcome.saved} actual{'s' * (outcome.saved != 1)} ({state})")
                if outcome.confirmed:
                    parts.append(f"{outcome.confirmed} confirmed")
                flash(f"Saved for {period.label}: {', '.join(parts)}.", "success")
                # Opened from a queue ("Actuals to confirm"): back to it.
                return redirect(
                    lists.return_to(
                        url_for(".index", partnership_id=partnership.id, to=str(period))
                    )
                )
            if outcome.ok:
                form.form_errors.append(
                    "Nothing to save: enter a value, mark a month not applicable"
                    + (" or tick “Confirm”." if manager else ".")
                )
            else:
                errors, conflicts = outcome.errors, outcome.conflicts
                count = len(errors)
                form.form_errors.append(
                    f"Nothing was saved: {count} row{'s' * (count != 1)} need"
                    f"{'s' * (count == 1)} your attention (marked below)."
                )
                stored = service.month_measurements(partnership.id, period)
    return render_template(
        "slas/actuals.html",
        partnership=partnership,
        period=period,
        content=Markup(  # noqa: S704 (a template's output)
            render_month(
                grid=grid, stored=stored, posted=posted, errors=errors, conflicts=conflicts
            )
        ),
    )


# ----------------------------------------------------------------------------- upload


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=UPLOAD_SALT)


def _render_upload(partnership, form, preview=None, confirm_form=None, saved=None):
    return render_template(
        "slas/upload.html",
        partnership=partnership,
        form=form,
        preview=preview,
        confirm_form=confirm_form,
        manager=can(current_user, Action.MANAGE, partnership.id),
        max_rows=service.MAX_UPLOAD_ROWS,
    )


@bp.route("/upload", methods=["GET", "POST"])
@auth_required()
def upload(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.PROPOSE_ACTUALS)
    form = UploadForm()
    if form.validate_on_submit():
        try:
            raw_rows = service.parse_actuals_csv(form.file.data.read())
        except ValidationFailed as error:
            form.file.errors = [*form.file.errors, str(error)]
        else:
            preview = service.preview_upload(current_user, partnership, raw_rows)
            confirm_form = None
            if not preview.errors and preview.writes:
                confirm_form = UploadConfirmForm()
                confirm_form.payload.data = _serializer().dumps(
                    {
                        "p": partnership.id,
                        "u": current_user.id,
                        "rows": [
                            [
                                r.raw.line,
                                r.raw.code,
                                r.raw.month,
                                r.raw.value,
                                r.raw.note,
                                r.seen_version,
                            ]
                            for r in preview.rows
                        ],
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
            rows = [service.RawRow(*row[:5]) for row in data["rows"]]
            versions = [row[5] for row in data["rows"]]
            result = service.save_upload(current_user, partnership, rows, versions)
            if not result.errors:
                written = len(result.writes)
                state = (
                    "confirmed"
                    if can(current_user, Action.MANAGE, partnership.id)
                    else ("proposed: a lead will confirm them")
                )
                flash(f"Saved {written} actual{'s' * (written != 1)} ({state}).", "success")
                return redirect(url_for(".index", partnership_id=partnership.id))
            form.file.errors = ["Nothing was saved: see the rows below."]
            return _render_upload(partnership, form, result)
    form.file.errors = [
        "This preview has expired or was altered, so nothing was saved. Upload the file again."
    ]
    return _render_upload(partnership, form)
