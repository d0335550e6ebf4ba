"""Forms for adding, editing and ending a sponsorship."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from mls_tracker.formhelp import DayField
from mls_tracker.models import Side

UNLINKED = 0


def _version_field() -> HiddenField:
    return HiddenField(
        validators=[
            DataRequired("This form is out of date: open the page again and redo your change.")
        ]
    )


class SponsorForm(FlaskForm):
    """Region and side choices and the linkable users are set by the view."""

    name = StringField(
        "Name", validators=[DataRequired("Enter the sponsor's name."), Length(max=120)]
    )
    title = StringField("Title (optional)", validators=[Length(max=160)])
    email = StringField(
        "E-mail address (optional)",
        validators=[
            Optional(),
            Email(
                check_deliverability=False,
                message="Enter an e-mail address like name@company.com.",
            ),
            Length(max=255),
        ],
        render_kw={"type": "email", "autocomplete": "off"},
    )
    region_id = SelectField(
        "Region",
        coerce=int,
        validate_choice=False,  # the service says which regions are allowed, with a message
        validators=[InputRequired("Choose a region.")],
    )
    side = RadioField(
        "Side",
        choices=[
            (Side.CLIENT.value, "Client — an executive of the company"),
            (Side.PROVIDER.value, "Provider — an executive of the MLS provider"),
        ],
        validators=[InputRequired("Choose the client or the provider side.")],
    )
    user_id = SelectField(
        "Linked account",
        coerce=int,
        validate_choice=False,
        default=UNLINKED,
    )
    start_date = DayField(
        "Start date",
        validators=[InputRequired("Enter the date the sponsorship starts.")],
        what="the start date",
    )
    end_date = DayField(
        "End date (optional)",
        validators=[Optional()],
        what="the end date",
    )
    submit = SubmitField("Save sponsor")

    def validate_region_id(self, field: SelectField) -> None:
        if not field.data or field.data < 0:
            raise ValidationError("Choose a region.")

    def validate_end_date(self, field: DayField) -> None:
        start = self.start_date.data
        if field.data and start and field.data < start:
            raise ValidationError("The end date cannot be before the start date.")


class EditSponsorForm(SponsorForm):
    version = _version_field()


class EndSponsorForm(FlaskForm):
    end_date = DayField(
        "Last day of the sponsorship",
        validators=[InputRequired("Enter the last day of the sponsorship.")],
        what="the last day",
    )
    version = _version_field()
    # Only the page that says what ending does sends it.
    confirm = HiddenField(
        default="yes",
        validators=[InputRequired("End it from the page that says what ending does.")],
    )
    submit = SubmitField("End sponsorship")
