"""Forms for logging, editing and deleting a change."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from mls_tracker.formhelp import DayField, TextAreaField
from mls_tracker.models import ChangeStatus, ChangeType

NO_OWNER = 0
TYPE_CHOICES = [(t.value, t.value.capitalize()) for t in ChangeType]
STATUS_CHOICES = [(s.value, s.value.capitalize()) for s in ChangeStatus]


def version_field() -> HiddenField:
    return HiddenField(
        validators=[
            DataRequired("This form is out of date: open the page again and redo your change.")
        ]
    )


class ChangeForm(FlaskForm):
    """Region and owner choices are set by the view."""

    title = StringField(
        "Title", validators=[DataRequired("Enter a title for the change."), Length(max=200)]
    )
    change_type = SelectField(
        "Type of change",
        choices=TYPE_CHOICES,
        validators=[InputRequired("Choose the type of change.")],
    )
    status = SelectField(
        "Status",
        choices=STATUS_CHOICES,
        default=ChangeStatus.PLANNED.value,
        validators=[InputRequired("Choose a status.")],
    )
    planned_on = DayField(
        "Planned date (optional)",
        validators=[Optional()],
        what="the planned date",
    )
    region_ids = SelectMultipleField(
        "Impacted regions",
        coerce=int,
        validate_choice=False,  # the service says which regions are allowed, with a message
    )
    owner_id = SelectField("Owner (optional)", coerce=int, validate_choice=False, default=NO_OWNER)
    description = TextAreaField("Description (optional)", render_kw={"rows": 4})
    communication_plan = TextAreaField(
        "Communication plan (optional)",
        render_kw={"rows": 3},
        description="Who hears about it, how and when.",
    )
    submit = SubmitField("Save change")


class EditChangeForm(ChangeForm):
    version = version_field()


class DeleteForm(FlaskForm):
    version = version_field()
    submit = SubmitField("Delete")
