"""Reviews: a partnership's periodic reviews, their issued PDF scorecards and their delivery."""

from flask import Blueprint

bp = Blueprint("reviews", __name__, url_prefix="/partnerships/<int:partnership_id>/reviews")

from mls_tracker.reviews import routes  # noqa: E402, F401
