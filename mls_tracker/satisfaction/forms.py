"""Forms for entering, correcting and deleting satisfaction totals reported by hand."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length

from mls_tracker.periods import Month

ALL_REGIONS = 0


class MonthField(StringField):
    """A ``YYYY-MM`` month (``<input type="month">`` where the browser has one)."""

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return str(self.data) if self.data else ""

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not text:
            return
        try:
            self.data = Month.parse(text)
        except ValueError as error:
            raise ValueError("Enter the month as YYYY-MM, for example 2026-03.") from error


class ReportedForm(FlaskForm):
    """Region choices are set by the view; numbers are checked by the service, so its
    messages appear next to the field."""

    month = MonthField(
        "Month",
        validators=[InputRequired("Enter the month the totals are for (YYYY-MM).")],
        render_kw={"type": "month", "placeholder": "YYYY-MM"},
    )
    region_id = SelectField("Region", coerce=int, validate_choice=False, default=ALL_REGIONS)
    program = StringField(
        "Program (optional)",
        validators=[Length(max=200)],
        description="Leave empty when the totals cover every program.",
    )
    responses = StringField(
        "Number of responses (n)",
        render_kw={"inputmode": "numeric"},
        description="How many learners answered: the intervals are computed from it.",
    )
    mean_rating = StringField(
        "Mean rating (1–5)", render_kw={"inputmode": "decimal", "placeholder": "e.g. 4.3"}
    )
    csat = StringField(
        "CSAT % (0–100)",
        render_kw={"inputmode": "decimal", "placeholder": "e.g. 86"},
        description="Share of ratings of 4 or 5.",
    )
    nps = StringField(
        "NPS (−100 to +100)",
        render_kw={"inputmode": "decimal", "placeholder": "e.g. 32"},
        description="Promoters (9–10) minus detractors (0–6).",
    )
    submit = SubmitField("Save totals")


class DeleteReportedForm(FlaskForm):
    confirm = HiddenField(
        validators=[DataRequired("Confirm with the “Delete totals” button to delete them.")]
    )
    submit = SubmitField("Delete totals")
