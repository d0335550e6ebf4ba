"""Forms of the action items: create/edit, provider update, verify, reopen, and the list filters."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from mls_tracker.formhelp import DayField, TextAreaField
from mls_tracker.models import ActionStatus, Priority, Side

NONE = 0
STATUS_CHOICES = [(status.value, status.value.capitalize()) for status in ActionStatus]
PRIORITY_CHOICES = [(priority.value, priority.value.capitalize()) for priority in Priority]


def _version_field() -> HiddenField:
    return HiddenField(
        validators=[
            DataRequired("This form is out of date: open the page again and redo your change.")
        ]
    )


class ActionForm(FlaskForm):
    """Owner, SLA and challenge choices are set by the view."""

    title = StringField(
        "Title",
        validators=[DataRequired("Enter a title: what has to be done."), Length(max=300)],
    )
    description = TextAreaField("Description (optional)", render_kw={"rows": 3})
    owner_side = RadioField(
        "Owner side",
        choices=[
            (Side.PROVIDER.value, "Provider — the MLS provider does it"),
            (Side.CLIENT.value, "Client — the company's side does it"),
        ],
        validators=[InputRequired("Choose the client or the provider side.")],
    )
    owner_id = SelectField("Owner", coerce=int, validate_choice=False, default=NONE)
    due_on = DayField(
        "Due date",
        validators=[InputRequired("Enter the due date.")],
        what="the due date",
    )
    priority = SelectField(
        "Priority",
        choices=PRIORITY_CHOICES,
        default=Priority.MEDIUM.value,
        validators=[InputRequired("Choose a priority.")],
    )
    status = SelectField(
        "Status",
        choices=STATUS_CHOICES,
        default=ActionStatus.OPEN.value,
        validators=[InputRequired("Choose a status.")],
    )
    sla_id = SelectField("Linked SLA (optional)", coerce=int, validate_choice=False, default=NONE)
    challenge_id = SelectField(
        "Linked challenge (optional)", coerce=int, validate_choice=False, default=NONE
    )
    submit = SubmitField("Save action")


class EditActionForm(ActionForm):
    version = _version_field()


class UpdateForm(FlaskForm):
    """What a provider may change: status, a progress note and an evidence link."""

    status = SelectField(
        "Status", choices=STATUS_CHOICES, validators=[InputRequired("Choose a status.")]
    )
    note = TextAreaField("Progress note", validators=[Length(max=5000)], render_kw={"rows": 3})
    evidence_url = URLField(
        "Evidence link (optional)",
        validators=[Optional(), Length(max=1000)],
        render_kw={"placeholder": "https://…"},
    )
    version = _version_field()
    submit = SubmitField("Post update")


class VerifyForm(FlaskForm):
    version = _version_field()
    # Only the confirmation page, which says that a verification stays, sends it.
    confirm = HiddenField(
        default="yes",
        validators=[InputRequired("Verify it from the page that says what verifying means.")],
    )
    submit = SubmitField("Verify as done")


class ReopenForm(FlaskForm):
    reason = StringField(
        "Why reopen it?",
        validators=[DataRequired("Say why the item is reopened."), Length(max=1000)],
    )
    version = _version_field()
    submit = SubmitField("Reopen")


class FilterForm(FlaskForm):
    """The list's filters, read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    status = SelectField(
        "Status",
        choices=[("not closed", "Not closed"), ("all", "All"), *STATUS_CHOICES],
        default="not closed",
        validate_choice=False,
    )
    owner_side = SelectField(
        "Side",
        choices=[("", "Both"), (Side.PROVIDER.value, "Provider"), (Side.CLIENT.value, "Client")],
        default="",
        validate_choice=False,
    )
    owner_id = SelectField("Owner", coerce=int, validate_choice=False, default=NONE)
    overdue = BooleanField("Overdue only")
    due_within = IntegerField(
        "Due within (days)",
        validators=[Optional(), NumberRange(min=0, max=3650, message="0 to 3650 days.")],
    )
    sort = SelectField(
        "Sort by",
        choices=[
            ("due", "Due date"),
            ("priority", "Priority"),
            ("status", "Status"),
            ("title", "Title"),
            ("carried", "Times carried"),
        ],
        default="due",
        validate_choice=False,
    )
    order = SelectField(
        "Order",
        choices=[("asc", "Ascending"), ("desc", "Descending")],
        default="asc",
        validate_choice=False,
    )
