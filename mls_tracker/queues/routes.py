"""Routes of the queues blueprint: each queue across the user's partnerships, as a page and
as CSV, and the counts the navigation shows."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required

from mls_tracker.exports import csv_response
from mls_tracker.models import Role
from mls_tracker.periods import utc_today
from mls_tracker.services import queues as service
from mls_tracker.services.errors import NotFound

bp = Blueprint("queues", __name__, url_prefix="/queues")


@bp.app_template_global()
def nav_counts() -> service.Counts | None:
    """The queues' lengths and the unread notifications of the signed-in user, for the
    navigation: one query per request, none for a visitor."""
    if not getattr(current_user, "is_authenticated", False):
        return None
    if "_nav_counts" not in g:
        g._nav_counts = service.counts(current_user, utc_today())
    return g._nav_counts


def row_link(
    name: str, row: service.QueueRow, external: bool = False, back: str | None = None
) -> str:
    """The page of a queue row's object; ``back`` (the queue's address) as its ``next=``, so
    that the page leads back to the queue as it was filtered and sorted."""
    pid = row.partnership_id
    if name == "actuals":
        return url_for(
            "slas.actuals", partnership_id=pid, month=row.month, next=back, _external=external
        )
    if name == "imports":
        return url_for("survey_imports.index", partnership_id=pid, next=back, _external=external)
    return url_for(
        "actions.show", partnership_id=pid, action_id=row.object_id, next=back, _external=external
    )


def _queue(name: str) -> service.Queue:
    queue = service.QUEUES.get(name)
    if queue is None:
        raise NotFound()
    return queue


@bp.get("/")
@auth_required()
def index():
    """The first queue of the user's roles (a lead's before a provider's)."""
    counts = nav_counts()
    for role in (Role.LEAD, Role.PROVIDER):
        if counts and role in counts.roles:
            first = next(q for q in service.QUEUES.values() if q.role is role)
            return redirect(url_for(".show", name=first.name))
    return render_template("queues/none.html")


@bp.get("/<name>")
@auth_required()
def show(name: str):
    queue = _queue(name)
    filters = service.read_filters(request.args)
    page = service.queue_rows(
        name, current_user, filters, utc_today(), page=request.args.get("page")
    )
    return render_template(
        "queues/show.html",
        queue=queue,
        page=page,
        filters=filters,
        query=filters.query_args(),
        order_args={"order": "desc"} if filters.descending else {},
        counts=nav_counts(),
        row_link=row_link,
        due_filters=service.DUE_FILTERS,
        today=utc_today(),
    )


@bp.get("/<name>/export.csv")
@auth_required()
def export(name: str):
    queue = _queue(name)
    filters = service.read_filters(request.args)
    page = service.queue_rows(name, current_user, filters, utc_today(), per_page=None)
    header = ["Partnership", queue.item, queue.who, queue.date, queue.extra, "Overdue", "Link"]
    rows = (
        [
            row.partnership_name,
            row.title,
            row.who,
            row.month if name == "actuals" else (row.date.isoformat() if row.date else ""),
            row.extra,
            "yes" if row.overdue else "",
            row_link(name, row, external=True),
        ]
        for row in page.rows
    )
    return csv_response(f"queue-{name}-{utc_today().isoformat()}.csv", header, rows)
