"""Learner satisfaction: the figures by month, region and program, comments, and totals
reported by hand."""

from flask import Blueprint

bp = Blueprint(
    "satisfaction", __name__, url_prefix="/partnerships/<int:partnership_id>/satisfaction"
)

from mls_tracker.satisfaction import routes  # noqa: E402, F401
