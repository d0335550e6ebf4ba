"""What every view does with a form the same way: show a domain error next to its field,
read whole numbers from a query string or a form, and check where to return to."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException

from mls_tracker.services.errors import ValidationFailed


def attach_error(form: FlaskForm, error: ValidationFailed) -> None:
    """Show a service's ``ValidationFailed`` next to the field it names, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is None:
        form.form_errors.append(str(error))
    else:
        field.errors = [*field.errors, str(error)]


def to_int(value: Any) -> int | None:
    """A whole number, or None for anything else (missing, empty, text)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def local_path(value: Any) -> str | None:
    """``value`` if it is a path of this app ("/partnerships/3/meetings/7?x=1"), else None: an
    absolute or scheme-relative URL ("https://…", "//evil.example"), a backslash trick or a
    path no route answers is refused, so a ``next`` parameter cannot send anyone elsewhere."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(ord(c) < 32 for c in value) or len(value) > 2000:
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    try:
        current_app.url_map.bind("local").match(parts.path, method="GET")
    except HTTPException:
        return None
    return value
