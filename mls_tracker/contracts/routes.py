"""Creating, editing, archiving and reopening partnerships (admins), and a new partnership's set-up
checklist."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("contracts", __name__)
