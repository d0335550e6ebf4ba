"""Administration (admins only): the administration home, organisations and regions."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
