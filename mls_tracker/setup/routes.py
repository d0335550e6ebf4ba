"""First run: the one-time set-up link that creates the first administrator, then the walk to the
first partnership."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("setup", __name__, url_prefix="/setup")
