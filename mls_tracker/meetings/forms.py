"""Forms for planning a meeting, editing its agenda, holding it and approving its minutes."""

from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from mls_tracker.formhelp import DayTimeField, TextAreaField
from mls_tracker.models import MeetingKind
from mls_tracker.periods import Month
from mls_tracker.services.agenda import OTHER_SECTION, SECTION_ORDER
from mls_tracker.services.meetings import place_problem


def _version_field() -> HiddenField:
    return HiddenField(
        validators=[
            InputRequired("This form is out of date: open the page again and redo your change.")
        ]
    )


class MonthField(StringField):
    """A ``YYYY-MM`` month, shown as the browser's month picker."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("render_kw", {"type": "month", "placeholder": "YYYY-MM"})
        super().__init__(*args, **kwargs)

    def _value(self) -> str:
        return str(self.data) if isinstance(self.data, Month) else (self.raw_data or [""])[0]

    def process_formdata(self, valuelist) -> None:
        self.data = None
        if valuelist and valuelist[0].strip():
            try:
                self.data = Month.parse(valuelist[0])
            except ValueError as error:
                raise ValueError("Enter the reviewed month like 2026-05.") from error


class MeetingForm(FlaskForm):
    # Typed as the meeting pages show it, in the planner's time zone; the meeting's day
    # (held_on) is the day it starts there.
    starts = DayTimeField(
        "Date and start time",
        validators=[
            InputRequired("Enter the meeting's date and start time, like 4 Dec 2026 14:30.")
        ],
        invalid_message="Enter the meeting's date and start time, like 4 Dec 2026 14:30.",
    )
    duration = IntegerField(
        "Length in minutes",
        default=60,
        validators=[
            InputRequired("Enter how long the meeting lasts, in minutes."),
            NumberRange(15, 480, "A meeting lasts from 15 to 480 minutes (8 hours)."),
        ],
        render_kw={"inputmode": "numeric", "min": 15, "max": 480, "step": 5},
    )
    place = StringField(
        "Place or video link",
        validators=[Optional(), Length(max=500, message="Keep the place under 500 characters.")],
        render_kw={"maxlength": 500, "placeholder": "Room 4.12, or https://meet.example.com/…"},
    )
    kind = SelectField(
        "Kind of meeting",
        choices=[(kind.value, kind.value.capitalize()) for kind in MeetingKind],
        default=MeetingKind.MONTHLY.value,
    )
    reviewed_month = MonthField(
        "Month reviewed",
        validators=[InputRequired("Enter the month the meeting reviews, like 2026-05.")],
    )
    extra = BooleanField("This is an extra meeting")
    submit = SubmitField("Plan meeting")

    @property
    def local_start(self) -> dt.datetime | None:
        """The start typed, in the planner's time zone (None until it is read)."""
        starts = self.starts.data
        return starts.astimezone(self.starts.zone) if isinstance(starts, dt.datetime) else None

    def validate_place(self, field):
        if not field.errors and (problem := place_problem(field.data)):
            raise ValidationError(problem)

    def validate_reviewed_month(self, field):
        if field.data is not None and self.local_start is not None:
            held = Month.of(self.local_start.date())
            if held < field.data:
                raise ValidationError(
                    f"The reviewed month cannot be after the meeting's month ({held.label})."
                )


class EditMeetingForm(MeetingForm):
    version = _version_field()
    submit = SubmitField("Save changes")


class AgendaItemForm(FlaskForm):
    section = SelectField(
        "Section",
        choices=[(section, section) for section in SECTION_ORDER],
        default=OTHER_SECTION,
    )
    title = StringField(
        "Title",
        validators=[
            InputRequired("Enter the agenda item's title."),
            Length(max=300, message="Keep the title under 300 characters."),
        ],
    )
    detail = TextAreaField("Detail (optional)", render_kw={"rows": 3})
    submit = SubmitField("Save item")

    def validate_title(self, field):
        if not (field.data or "").strip():
            raise ValidationError("Enter the agenda item's title.")


class HoldForm(FlaskForm):
    """Attendance checkboxes are rendered by the template and read from the request."""

    minutes = TextAreaField("Minutes", render_kw={"rows": 6})
    successes = TextAreaField("Successes discussed", render_kw={"rows": 3})
    challenges = TextAreaField(
        "Challenges raised",
        description="One challenge per line: each line is recorded as a challenge of this "
        "meeting, which action items can address.",
        render_kw={"rows": 3},
    )
    decisions = TextAreaField("Decisions", render_kw={"rows": 3})
    version = _version_field()
    submit = SubmitField("Save the meeting record")


class VersionForm(FlaskForm):
    """A button-only form (approve) that carries the meeting's version."""

    version = _version_field()
    submit = SubmitField("Approve the minutes")


class ApproveForm(VersionForm):
    """Approving the minutes, from the confirmation page only: the server refuses an approval
    without its ``confirm`` field."""

    confirm = HiddenField(
        validators=[InputRequired("Confirm the approval on the page that says what it locks.")]
    )
    submit = SubmitField("Approve and lock the minutes")


class SendInvitationsForm(FlaskForm):
    """Sending the invitations, from the page that lists who gets them."""

    confirm = HiddenField(
        validators=[InputRequired("Send the invitations from the page that lists who gets them.")]
    )
    submit = SubmitField("Send the invitations")


class ButtonForm(FlaskForm):
    """A CSRF-protected button (refresh, move)."""

    submit = SubmitField("Go")


class DeleteItemForm(FlaskForm):
    """Removing an agenda item: the hidden ``confirm`` field comes with the page's button."""

    confirm = HiddenField(validators=[InputRequired("Use the Remove button of the item.")])
    submit = SubmitField("Remove")
