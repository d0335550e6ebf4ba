"""Executive sponsors by region: the coverage matrix and sponsorship history."""

from flask import Blueprint

bp = Blueprint("sponsors", __name__, url_prefix="/partnerships/<int:partnership_id>/sponsors")

from mls_tracker.sponsors import routes  # noqa: E402, F401
