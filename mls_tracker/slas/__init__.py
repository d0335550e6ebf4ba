"""SLAs, their effective-dated targets, the month grid and monthly actuals."""

from flask import Blueprint

bp = Blueprint("slas", __name__, url_prefix="/partnerships/<int:partnership_id>/slas")

from mls_tracker.slas import routes  # noqa: E402, F401
