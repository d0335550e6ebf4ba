"""The change-management log of a partnership."""

from flask import Blueprint

bp = Blueprint("changes", __name__, url_prefix="/partnerships/<int:partnership_id>/changes")

from mls_tracker.changes import routes  # noqa: E402, F401
