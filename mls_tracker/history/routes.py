"""The audit log: every recorded change, filtered, paginated and exported; each object's history."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for
from flask_login import current_user
from flask_security import auth_required
from werkzeug.routing import BuildError

from mls_tracker import sessions
from mls_tracker.exports import safe_cell
from mls_tracker.formatting import viewer_zone
from mls_tracker.models import AuditAction
from mls_tracker.periods import utc_today
from mls_tracker.services import audit_log as service

bp = Blueprint("history", __name__)

# Where an object of the log is shown: endpoint and the URL argument its id goes in (objects
# of a partnership also take ``partnership_id``).
OBJECT_PAGES = {
    "Partnership": ("partnerships.show", "partnership_id"),
    "Sla": ("slas.show", "sla_id"),
    "Expectation": ("expectations.show", "expectation_id"),
    "ActionItem": ("actions.show", "action_id"),
    "Meeting": ("meetings.show", "meeting_id"),
    "Change": ("changes.show", "change_id"),
    "Win": ("wins.show", "win_id"),
    "Review": ("reviews.show", "review_id"),
    "Sponsor": ("sponsors.edit", "sponsor_id"),
    "Organisation": ("admin.organisation_edit", "organisation_id"),
    "Region": ("admin.region_edit", "region_id"),
    "User": ("accounts.user", "user_id"),
}


def object_url(entry: service.EntryView) -> str | None:
    """The page showing the entry's object (or what it belongs to), when it is still there."""
    if entry.page_of is None or entry.page_of[0] not in OBJECT_PAGES:
        return None
    object_type, object_id = entry.page_of
    endpoint, argument = OBJECT_PAGES[object_type]
    args: dict[str, Any] = {argument: object_id}
    if argument != "partnership_id" and entry.partnership_id is not None:
        args["partnership_id"] = entry.partnership_id
    try:
        return url_for(endpoint, **args)
    except BuildError:  # an endpoint another part of the app has not added (yet)
        return None


@bp.app_template_global()
def history_url(object_type: str, object_id: Any, partnership_id: int | None) -> str | None:
    """The audit page filtered to one object, for those who may read its history; else None
    (the "History" link is not shown)."""
    if not service.may_see_history(current_user, partnership_id):
        return None
    return url_for("history.index", object_type=object_type, object_id=object_id)


@bp.app_template_global()
def may_read_audit_log() -> bool:
    """Whether the signed-in user may open the audit log (for a link in the menu): known
    from the session check's query (no query of its own on each page); else asked."""
    return service.may_read_log(current_user, leads=sessions.leads_a_partnership(current_user))


@bp.get("/audit")
@auth_required()
def index():
    zone = viewer_zone()
    page = service.log_page(
        current_user, service.read_filters(request.args), request.args.get("page"), zone
    )
    return render_template(
        "history/index.html",
        page=page,
        query=page.filters.query_args(),
        actions=list(AuditAction),
        zone_name=str(zone),
        object_url=object_url,
    )


def _stream(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """CSV text a few hundred rows at a time (formula injection neutralised as in
    ``exports``), with the byte-order mark Excel needs for accents."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(value) for value in row])
        if count % 200 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@bp.get("/audit.csv")
@auth_required()
def export():
    rows = service.export_rows(current_user, service.read_filters(request.args), viewer_zone())
    response = Response(
        stream_with_context(_stream(service.CSV_COLUMNS, rows)), mimetype="text/csv"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="audit-log-{utc_today()}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
