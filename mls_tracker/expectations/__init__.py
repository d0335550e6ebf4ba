"""Agreed expectations, their revisit-by dates and their history."""

from flask import Blueprint

bp = Blueprint(
    "expectations", __name__, url_prefix="/partnerships/<int:partnership_id>/expectations"
)

from mls_tracker.expectations import routes  # noqa: E402, F401
