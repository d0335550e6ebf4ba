"""Wins: successes of a partnership worth celebrating and sharing."""

from flask import Blueprint

bp = Blueprint("wins", __name__, url_prefix="/partnerships/<int:partnership_id>/wins")

from mls_tracker.wins import routes  # noqa: E402, F401
