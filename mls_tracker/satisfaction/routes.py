"""Satisfaction pages: figures by month, region and program with their charts, comments,
CSV exports of every table, and totals reported by hand (leads)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required
from markupsafe import Markup

from mls_tracker import charts
from mls_tracker.access import Action, can, get_object, get_partnership
from mls_tracker.exports import csv_response
from mls_tracker.exports import slug as slug_of
from mls_tracker.formhelp import attach_error, to_int
from mls_tracker.models import Partnership, ReportedSatisfaction
from mls_tracker.periods import Month, utc_today
from mls_tracker.satisfaction.forms import ALL_REGIONS, DeleteReportedForm, ReportedForm
from mls_tracker.services import changes as changes_service
from mls_tracker.services import data_version
from mls_tracker.services import satisfaction as service
from mls_tracker.services import survey_import as survey_import_service
from mls_tracker.services.errors import NotFound, ValidationFailed

bp = Blueprint(
    "satisfaction", __name__, url_prefix="/partnerships/<int:partnership_id>/satisfaction"
)

PERIOD_MONTHS = 12
EXPORT_TABLES = ("months", "regions", "programs", "comments")


@dataclass(frozen=True)
class Filters:
    first: Month
    last: Month
    q: str
    region_id: int | None
    program: str | None
    rating: int | None
    page: int
    custom_period: bool

    @property
    def comment_filtered(self) -> bool:
        return bool(self.q or self.region_id or self.program or self.rating)

    def args(self, **overrides) -> dict:
        """The query string that reproduces these filters."""
        values = {
            "from": str(self.first) if self.custom_period else None,
            "to": str(self.last) if self.custom_period else None,
            "q": self.q or None,
            "region": self.region_id,
            "program": self.program,
            "rating": self.rating,
        }
        values.update(overrides)
        return {key: value for key, value in values.items() if value not in (None, "")}


def _month_arg(name: str) -> Month | None:
    try:
        return Month.parse(request.args.get(name, ""))
    except ValueError:
        return None


def _filters(partnership: Partnership, region_ids: set[int], programs: list[str]) -> Filters:
    """The page's filters from the query string; unknown values are ignored."""
    first, last = _month_arg("from"), _month_arg("to")
    custom = first is not None or last is not None
    if last is None:
        last = (
            first.shift(PERIOD_MONTHS - 1)
            if first
            else (service.latest_month_with_data(partnership.id) or Month.current())
        )
    if first is None or first > last:
        first = last.shift(-(PERIOD_MONTHS - 1))
    region_id = to_int(request.args.get("region"))
    program = request.args.get("program") or None
    rating = to_int(request.args.get("rating"))
    return Filters(
        first=first,
        last=last,
        q=(request.args.get("q") or "").strip()[:200],
        region_id=region_id if region_id in region_ids else None,
        program=program if program in programs else None,
        rating=rating if rating in range(1, 6) else None,
        page=max(1, to_int(request.args.get("page")) or 1),
        custom_period=custom,
    )


@functools.lru_cache(maxsize=1024)
def _trend_json(measure: str, points: tuple[charts.SatisfactionPoint, ...]) -> str:
    """A trend chart's JSON. Building it is pure — the same months' figures give the same
    JSON — and costs more than the rest of the page's figures, so each worker keeps the
    JSON of recent inputs: a page seen again with unchanged data skips plotly."""
    build = charts.satisfaction_trend if measure == "csat" else charts.nps_trend
    return charts.chart_json(build(points))


@bp.get("/")
@auth_required()
def index(partnership_id: int):
    partnership = get_partnership(partnership_id)
    may_manage = can(current_user, Action.MANAGE, partnership.id)
    may_upload = can(current_user, Action.UPLOAD_SURVEYS, partnership.id)

    def render_page() -> tuple[Markup, bool]:
        return _page(partnership, may_manage=may_manage, may_upload=may_upload)

    # The default view is the same for every visitor with the same rights on the same day
    # (the period ends with the current month when there is no data yet; an administrator's
    # tabs offer to reopen an archived partnership), until an audited write of the
    # partnership: survey imports, their confirmation and undoing, reported totals
    # (page_parts explains why views with query arguments are rendered each time).
    if request.args:
        content, charted = render_page()
    else:
        content, charted = data_version.remembered(
            "satisfaction.index",
            partnership.id,
            (utc_today(), may_manage, may_upload, current_user.is_admin),
            render_page,
        )
    return render_template(
        "satisfaction/index.html", partnership=partnership, charted=charted, content=content
    )


def _page(partnership: Partnership, *, may_manage: bool, may_upload: bool) -> tuple[Markup, bool]:
    """The page's body (satisfaction/_page.html) for the query string's filters, and whether
    it has a chart (its head then loads plotly)."""
    regions = changes_service.regions_in_scope(partnership.id)
    programs = service.programs_of(partnership.id)
    filters = _filters(partnership, {r.id for r in regions}, programs)
    report = service.load_satisfaction(partnership.id, filters.first, filters.last)
    latest = report.latest
    previous = report.month_figure(latest.month.previous()) if latest else None
    noise = (
        [c for c in service.noise_changes(report, latest.month) if c.region_id is None]
        if latest
        else []
    )
    comments = service.list_comments(
        partnership.id,
        q=filters.q,
        region_id=filters.region_id,
        program=filters.program,
        rating=filters.rating,
        first=filters.first,
        last=filters.last,
        page=filters.page,
    )
    points = tuple(
        charts.SatisfactionPoint.of(f, reported=f.is_reported)
        for f in report.by_month
        if f.month is not None
    )
    csat_chart = _trend_json("csat", points) if report.by_month else None
    nps_chart = (
        _trend_json("nps", points) if any(f.nps is not None for f in report.by_month) else None
    )
    html = render_template(
        "satisfaction/_page.html",
        partnership=partnership,
        report=report,
        latest=latest,
        previous=previous,
        noise={c.measure: c for c in noise},
        comments=comments,
        filters=filters,
        regions=regions,
        programs=programs,
        csat_chart=csat_chart,
        nps_chart=nps_chart,
        may_manage=may_manage,
        may_upload=may_upload,
        low_sample_n=service.LOW_SAMPLE_N,
        proposed=survey_import_service.proposed_responses(partnership.id),
    )
    return Markup(html), bool(csat_chart or nps_chart)  # noqa: S704 (a template's output)


@bp.get("/export.csv")
@auth_required()
def export(partnership_id: int):
    """Every table of the page as CSV: ``table`` = months | regions | programs | comments."""
    partnership = get_partnership(partnership_id)
    table = request.args.get("table", "months")
    if table not in EXPORT_TABLES:
        raise NotFound()
    regions = changes_service.regions_in_scope(partnership.id)
    programs = service.programs_of(partnership.id)
    filters = _filters(partnership, {r.id for r in regions}, programs)
    name = f"satisfaction-{table}-{slug_of(partnership.name)}-{filters.first}-to-{filters.last}.csv"
    if table == "comments":
        page = service.list_comments(
            partnership.id,
            q=filters.q,
            region_id=filters.region_id,
            program=filters.program,
            rating=filters.rating,
            first=filters.first,
            last=filters.last,
            per_page=None,
        )
        return csv_response(name, service.COMMENT_COLUMNS, service.comment_rows(page.comments))
    report = service.load_satisfaction(partnership.id, filters.first, filters.last)
    if table == "regions":
        return csv_response(
            name, ("Region", *service.FIGURE_COLUMNS), service.region_rows(report.by_region)
        )
    if table == "programs":
        return csv_response(
            name, ("Program", *service.FIGURE_COLUMNS), service.program_rows(report.by_program)
        )
    return csv_response(
        name, ("Month", *service.FIGURE_COLUMNS), service.month_rows(report.by_month)
    )


def _set_choices(form: ReportedForm, partnership: Partnership, current=None) -> None:
    regions = [(r.id, r.name) for r in changes_service.regions_in_scope(partnership.id)]
    if current is not None and current.region_id and current.region_id not in dict(regions):
        regions.append((current.region_id, f"{current.region_name} (no longer in scope)"))
    form.region_id.choices = [(ALL_REGIONS, "All regions"), *regions]


def _values(form: ReportedForm) -> dict:
    responses_text = (form.responses.data or "").strip()
    responses = to_int(responses_text)
    if responses_text and responses is None:
        responses = -1  # text that is not a whole number: the service's message applies
    return {
        "month": form.month.data,
        "region_id": form.region_id.data or None,
        "program": form.program.data,
        "responses": responses,
        "mean_rating": form.mean_rating.data,
        "csat": form.csat.data,
        "nps": form.nps.data,
    }


def _back(partnership: Partnership) -> str:
    return url_for(".index", partnership_id=partnership.id, _anchor="reported")


@bp.route("/reported/new", methods=["GET", "POST"])
@auth_required()
def reported_new(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = ReportedForm()
    _set_choices(form, partnership)
    if not form.is_submitted():
        form.month.data = Month.current().previous()
    if form.validate_on_submit():
        try:
            reported = service.add_reported(current_user, partnership, utc_today(), **_values(form))
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash(f"Reported totals for {reported.month.label} saved.", "success")
            return redirect(_back(partnership))
    return render_template(
        "satisfaction/reported_form.html", partnership=partnership, form=form, reported=None
    )


@bp.route("/reported/<int:reported_id>/edit", methods=["GET", "POST"])
@auth_required()
def reported_edit(partnership_id: int, reported_id: int):
    reported = get_object(ReportedSatisfaction, reported_id, partnership_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    view = service.reported_view(reported)
    form = ReportedForm()
    _set_choices(form, partnership, view)
    if not form.is_submitted():
        form.month.data = reported.month
        form.region_id.data = reported.region_id or ALL_REGIONS
        form.program.data = reported.program or ""
        form.responses.data = str(reported.responses)
        form.mean_rating.data = "" if reported.mean_rating is None else str(reported.mean_rating)
        form.csat.data = "" if reported.csat is None else str(reported.csat)
        form.nps.data = "" if reported.nps is None else str(reported.nps)
    if form.validate_on_submit():
        try:
            service.update_reported(current_user, reported, utc_today(), **_values(form))
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash(f"Reported totals for {reported.month.label} saved.", "success")
            return redirect(_back(partnership))
    return render_template(
        "satisfaction/reported_form.html", partnership=partnership, form=form, reported=view
    )


@bp.route("/reported/<int:reported_id>/delete", methods=["GET", "POST"])
@auth_required()
def reported_delete(partnership_id: int, reported_id: int):
    reported = get_object(ReportedSatisfaction, reported_id, partnership_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    view = service.reported_view(reported)
    form = DeleteReportedForm()
    if not form.is_submitted():
        form.confirm.data = "yes"
    if form.validate_on_submit():
        service.delete_reported(current_user, reported)
        flash(f"Reported totals for {view.month.label} deleted.", "success")
        return redirect(_back(partnership))
    return render_template(
        "satisfaction/reported_delete.html", partnership=partnership, form=form, reported=view
    )
