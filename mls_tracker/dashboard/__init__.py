"""The portfolio: every partnership a user may see, with its health and figures at a glance."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from mls_tracker.dashboard import routes  # noqa: E402, F401
