"""Sign-in customisations and invitations."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from mls_tracker.auth import routes  # noqa: E402, F401
