"""What every view does with a form the same way: show a domain error next to its field,
read whole numbers from a query string or a form, check where to return to, and take dates as
pages show them (``DayField``, ``DayTimeField``)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

import wtforms
from flask import current_app
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException
from wtforms import Field
from wtforms.widgets import TextInput

from mls_tracker.formatting import (
    DAY_EXAMPLE,
    DAY_TIME_EXAMPLE,
    NoSuchDate,
    NotADate,
    day,
    day_time,
    read_day,
    read_day_time,
    viewer_zone,
)
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


class DayField(Field):
    """A date typed as pages show it: "4 Dec 2026" (also "4 December 2026" and ISO
    "2026-12-04"). Shown as "4 Dec 2026" once read (also after another field's error), and as
    typed when it could not be read, to be corrected; ``hint`` is the
    example under the label, ``picker`` the kind of native calendar static/js/date-input.js
    offers beside it. Text that is not a date gets ``invalid_message``, by default "Enter
    ``what`` as a date, like 4 Dec 2026." (``what``: "the due date"); a day that does not
    exist says why ("February 2026 has 28 days")."""

    widget = TextInput()
    picker = "date"

    def __init__(self, label=None, validators=None, invalid_message=None, what=None, **kwargs):
        kwargs["render_kw"] = {
            "autocomplete": "off",
            "spellcheck": "false",
            "data-date-input": self.picker,
            **(kwargs.get("render_kw") or {}),
        }
        super().__init__(label, validators, **kwargs)
        if invalid_message is None:
            invalid_message = (
                f"Enter {what} as a date, like {DAY_EXAMPLE}."
                if what
                else f"Enter a date like {DAY_EXAMPLE}."
            )
        self.invalid_message = invalid_message

    @property
    def hint(self) -> str:
        return f"e.g. {DAY_EXAMPLE}"

    def _value(self) -> str:
        if self.data is not None:
            return self._shown(self.data)
        return self.raw_data[0] if self.raw_data else ""

    def _shown(self, value: Any) -> str:
        return day(value)

    def _read(self, text: str) -> Any:
        return read_day(text)

    def process_formdata(self, valuelist) -> None:
        if not valuelist:
            return
        self.data = None
        text = valuelist[0].strip()
        if not text:
            return
        try:
            self.data = self._read(text)
        except NoSuchDate as error:
            raise ValueError(str(error)) from error
        except NotADate as error:
            raise ValueError(self.invalid_message) from error


class DayTimeField(DayField):
    """A moment typed in the user's time zone (``zone``, the viewer's by default): "4 Dec 2026
    14:30" (also ISO "2026-12-04T14:30"). ``data`` is an aware UTC datetime; set a date alone
    to show just the day (a meeting that has no start time yet). A time the clocks skip is
    refused with the time it probably meant."""

    picker = "datetime"

    def __init__(self, label=None, validators=None, zone: dt.tzinfo | None = None, **kwargs):
        kwargs.setdefault("invalid_message", f"Enter a date and time like {DAY_TIME_EXAMPLE}.")
        super().__init__(label, validators, **kwargs)
        self._zone = zone

    @property
    def zone(self) -> dt.tzinfo:
        return self._zone if self._zone is not None else viewer_zone()

    @property
    def hint(self) -> str:
        return f"e.g. {DAY_TIME_EXAMPLE} (24-hour), in your time zone: {self.zone}"

    def _shown(self, value: Any) -> str:
        return day_time(value, self.zone) if isinstance(value, dt.datetime) else day(value)

    def _read(self, text: str) -> dt.datetime:
        return read_day_time(text, self.zone)


class TextAreaField(wtforms.TextAreaField):
    """A text area whose line breaks count once, as the page's ``maxlength`` and character
    counter count them: a browser sends each one as CR LF, which a length check on the
    server counted twice (a note the page allowed was refused). Kept as LF."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if isinstance(self.data, str):
            self.data = self.data.replace("\r\n", "\n")
