"""Forms for agreeing, rewording and revisiting an expectation."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from mls_tracker.formhelp import DayField, TextAreaField
from mls_tracker.models import ExpectationCategory, Side

CATEGORY_CHOICES = [(c.value, c.value.capitalize()) for c in ExpectationCategory]
SIDE_CHOICES = [
    (Side.CLIENT.value, "Client — the company's L&D team"),
    (Side.PROVIDER.value, "Provider — the MLS provider"),
]


def _version_field() -> HiddenField:
    return HiddenField(
        validators=[
            DataRequired("This form is out of date: open the page again and redo your change.")
        ]
    )


class ExpectationForm(FlaskForm):
    category = SelectField(
        "Category",
        choices=[("", "Choose a category…"), *CATEGORY_CHOICES],
        validators=[DataRequired("Choose a category.")],
    )
    statement = TextAreaField(
        "What both sides agreed",
        validators=[DataRequired("Write what both sides agreed."), Length(max=2000)],
        render_kw={"rows": 4},
    )
    owner_side = RadioField(
        "Owner side",
        choices=SIDE_CHOICES,
        validators=[InputRequired("Choose the side that owns it.")],
    )
    agreed_on = DayField(
        "Agreed on",
        validators=[InputRequired("Enter the day it was agreed.")],
        what="the day it was agreed",
    )
    revisit_by = DayField(
        "Revisit by",
        validators=[InputRequired("Enter the day to revisit it by.")],
        what="the revisit-by date",
    )
    submit = SubmitField("Save expectation")

    def validate_revisit_by(self, field: DayField) -> None:
        agreed = self.agreed_on.data
        if field.data and agreed and field.data < agreed:
            raise ValidationError("The revisit-by date cannot be before the day it was agreed.")


class EditExpectationForm(ExpectationForm):
    version = _version_field()


class RevisitForm(FlaskForm):
    revisited_on = DayField(
        "Revisited on",
        validators=[InputRequired("Enter the day it was revisited.")],
        what="the day it was revisited",
    )
    note = TextAreaField("Note (optional)", validators=[Length(max=2000)], render_kw={"rows": 3})
    next_revisit_by = DayField(
        "Next revisit by",
        validators=[InputRequired("Enter the next revisit-by date.")],
        what="the next revisit-by date",
    )
    version = _version_field()
    submit = SubmitField("Mark revisited")

    def validate_next_revisit_by(self, field: DayField) -> None:
        revisited = self.revisited_on.data
        if field.data and revisited and field.data <= revisited:
            raise ValidationError("The next revisit-by date must be after the revisit date.")
