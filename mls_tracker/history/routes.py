"""The audit log: every recorded change, filtered, paginated and exported; each object's history."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("history", __name__)
