"""Forms for SLAs, their targets, the month of actuals and the CSV upload."""

from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DecimalField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from mls_tracker.formhelp import TextAreaField
from mls_tracker.models import Direction, Unit
from mls_tracker.periods import Month

NUMBER_MESSAGE = "Enter a number, e.g. 92.5."


class NumberField(DecimalField):
    """A decimal with our own words when it is not a number (NaN and infinity included)."""

    def process_formdata(self, valuelist: list) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(NUMBER_MESSAGE) from None
        if isinstance(self.data, Decimal) and not self.data.is_finite():
            self.data = None
            raise ValueError(NUMBER_MESSAGE)


def _month(form: FlaskForm, field: StringField) -> None:
    try:
        Month.parse(field.data or "")
    except ValueError:
        raise ValidationError("Choose a month (YYYY-MM).") from None


class _Definition(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the SLA a name."), Length(max=200)])
    code = StringField(
        "Code",
        validators=[DataRequired("Give the SLA a short code, e.g. CMP-01."), Length(max=20)],
        description="Short and unique in the partnership; used in uploads, e.g. CMP-01.",
    )
    expectation = SelectField(
        "Expectation",
        coerce=int,
        validate_choice=False,
        description="The agreed expectation this SLA measures.",
    )
    definition = TextAreaField(
        "Definition",
        validators=[Length(max=4000)],
        description="How the value is measured, so both sides read it the same way.",
        render_kw={"rows": 3},
    )
    unit = SelectField("Unit", choices=[(u.value, u.value) for u in Unit], default=Unit.PERCENT)
    direction = SelectField(
        "Direction",
        choices=[(d.value, d.value.capitalize()) for d in Direction],
        default=Direction.HIGHER_IS_BETTER,
    )
    weight = NumberField(
        "Weight",
        default=1,
        places=None,
        validators=[
            InputRequired(NUMBER_MESSAGE),
            NumberRange(min=0, max=1000, message="Use a weight from 0 to 1000."),
        ],
        description="Its share of the attainment figure (1 = like the others).",
    )
    credit_percent = NumberField(
        "Service credit, % of the monthly fee per breach (optional)",
        places=None,
        validators=[
            Optional(),
            NumberRange(min=0, max=100, message="Enter a percentage above 0 and at most 100."),
        ],
        description=(
            "From the contract: the share of the partnership's monthly fee credited for each "
            "month this SLA is breached (confirmed actuals only). Empty: no credit."
        ),
    )

    def validate_expectation(self, field: SelectField) -> None:
        if field.data not in {value for value, _ in field.choices}:
            raise ValidationError("Choose one of this partnership's expectations.")


class SlaNewForm(_Definition):
    target = NumberField("Target", places=None, validators=[InputRequired(NUMBER_MESSAGE)])
    at_risk_threshold = NumberField(
        "At-risk threshold",
        places=None,
        validators=[InputRequired(NUMBER_MESSAGE)],
        description="Between this and the target the SLA is at risk; beyond it, breached.",
    )
    applies_from = StringField(
        "Target applies from",
        validators=[_month],
        render_kw={"type": "month"},
        description="The first month judged against this target.",
    )
    submit = SubmitField("Create SLA")


class SlaEditForm(_Definition):
    active = BooleanField("Active (shown in the grid and the month form)")
    version = HiddenField()
    submit = SubmitField("Save changes")


class TargetForm(FlaskForm):
    target = NumberField("New target", places=None, validators=[InputRequired(NUMBER_MESSAGE)])
    at_risk_threshold = NumberField(
        "At-risk threshold",
        places=None,
        validators=[InputRequired(NUMBER_MESSAGE)],
        description="Between this and the target the SLA is at risk; beyond it, breached.",
    )
    applies_from = StringField(
        "Applies from",
        validators=[_month],
        render_kw={"type": "month"},
        description="Earlier months keep being judged against the target in force then.",
    )
    # Shown once the target would re-judge months already judged: the changes as listed
    # to the lead (one per line) and their explicit agreement.
    rejudged = HiddenField()
    confirm_rejudged = BooleanField("Yes, re-judge these months with the new target")
    # The SLA's version the form was filled from: a target saved by someone else meanwhile
    # moves it, and this save is then refused with both targets shown.
    version = HiddenField(
        validators=[
            InputRequired("This form is out of date: open the page again and redo your change.")
        ]
    )
    submit = SubmitField("Set target")

    def confirmed_changes(self) -> list[str]:
        """The re-judgements the lead agreed to (none unless the box is ticked)."""
        if not self.confirm_rejudged.data:
            return []
        return [line for line in (self.rejudged.data or "").split("\n") if line]


class ActualsForm(FlaskForm):
    """Only the CSRF token and the button: the rows are read by the view, one per SLA."""

    submit = SubmitField("Save actuals")


class UploadForm(FlaskForm):
    file = FileField(
        "CSV file",
        validators=[FileRequired("Choose a CSV file to upload.")],
        render_kw={"accept": ".csv,text/csv"},
    )
    submit = SubmitField("Check the file")


class UploadConfirmForm(FlaskForm):
    payload = HiddenField()
    submit = SubmitField("Save these actuals")
