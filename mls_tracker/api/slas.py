"""The slas resource (issue 17)."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("api_slas", __name__, url_prefix="/partnerships", description="slas")
