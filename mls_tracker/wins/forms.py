"""Forms for logging, editing and deleting a win."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length

from mls_tracker.changes.forms import DeleteForm, version_field
from mls_tracker.formhelp import DayField, TextAreaField

NO_REGION = 0

__all__ = ["DeleteForm", "EditWinForm", "WinForm"]


class WinForm(FlaskForm):
    """Region choices are set by the view."""

    title = StringField(
        "Title", validators=[DataRequired("Enter a title for the win."), Length(max=200)]
    )
    won_on = DayField(
        "Date of the win",
        validators=[InputRequired("Enter the date of the win.")],
        what="the date of the win",
    )
    region_id = SelectField("Region (optional)", coerce=int, validate_choice=False, default=0)
    measurable_impact = StringField(
        "Measurable impact (optional)",
        validators=[Length(max=300)],
        description="A figure if you have one: “time to competency down 20%”.",
    )
    story = TextAreaField("Story (optional)", render_kw={"rows": 5})
    shareable = BooleanField(
        "May be shared outside the partnership",
        description="For case studies, awards and newsletters outside the two companies.",
    )
    submit = SubmitField("Save win")


class EditWinForm(WinForm):
    version = version_field()
