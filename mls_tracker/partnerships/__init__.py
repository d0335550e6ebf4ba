"""The list of partnerships a user may see, and each partnership's facts and people."""

from flask import Blueprint

bp = Blueprint("partnerships", __name__, url_prefix="/partnerships")

from mls_tracker.partnerships import routes  # noqa: E402, F401
