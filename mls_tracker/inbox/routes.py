"""Routes of the inbox blueprint: the signed-in user's notifications, opened (marked read,
then on to their object) one by one or marked read all at once."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required

from mls_tracker import lists
from mls_tracker.models import KIND_LABELS
from mls_tracker.services import inbox as service

bp = Blueprint("inbox", __name__, url_prefix="/inbox")


@bp.get("/")
@auth_required()
def index():
    unread_only = request.args.get("unread") == "1"
    kind = request.args.get("kind") or None
    page = service.inbox_page(
        current_user, unread_only=unread_only, kind=kind, page=request.args.get("page")
    )
    query = {k: v for k, v in (("unread", "1" if unread_only else None), ("kind", kind)) if v}
    return render_template(
        "inbox/index.html",
        page=page,
        unread_only=unread_only,
        kind=kind if kind in {k.value for k in KIND_LABELS} else None,
        kinds=KIND_LABELS,
        query=query,
    )


@bp.post("/<int:notification_id>/open")
@auth_required()
def open_(notification_id: int):
    """Marks the notification read and goes to what it is about (a path on this site)."""
    path = service.open_notification(current_user, notification_id)
    if not path.startswith("/") or path.startswith("//"):
        return redirect(url_for(".index"))
    return redirect(lists.carrying_next(path))


@bp.post("/read-all")
@auth_required()
def read_all():
    count = service.mark_all_read(current_user)
    flash(
        f"{count} notification{'' if count == 1 else 's'} marked read."
        if count
        else "Nothing was unread.",
        "success",
    )
    return redirect(url_for(".index", **request.args))
