"""What every view does with a form the same way: show a domain error next to its field,
and read whole numbers from a query string or a form."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm

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
