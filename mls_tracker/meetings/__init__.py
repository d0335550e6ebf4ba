"""Monthly governance meetings: planning, the agenda that writes itself, holding, minutes."""

from flask import Blueprint

bp = Blueprint("meetings", __name__, url_prefix="/partnerships/<int:partnership_id>/meetings")

from mls_tracker.meetings import routes  # noqa: E402, F401
