"""Action items: each partnership's action plan, provider updates, and everyone's My actions."""

from flask import Blueprint

# No prefix: partnership lists live under /partnerships/<id>/actions, My actions at /my-actions.
bp = Blueprint("actions", __name__)

from mls_tracker.actions import routes  # noqa: E402, F401
