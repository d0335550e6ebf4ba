"""Forms of the delivery pages: a month's figures, confirming, and the CSV upload."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import Length

from mls_tracker.formhelp import TextAreaField
from mls_tracker.slas import forms as slas_forms


class MonthForm(FlaskForm):
    """Typed as text: the service parses and answers per field, so nothing typed is lost."""

    learners_trained = StringField(
        "Learners trained", description="People who finished at least one session this month."
    )
    completions = StringField("Completions", description="Courses or modules completed.")
    training_hours = StringField("Training hours", description="Learner hours, e.g. 1250.5.")
    sessions_delivered = StringField("Sessions or courses delivered")
    invoiced_amount = StringField(
        "Invoiced amount", description="Leave empty while the month is not invoiced."
    )
    note = TextAreaField("Note", validators=[Length(max=2000)])
    version = HiddenField()
    submit = SubmitField("Save")


class ConfirmForm(FlaskForm):
    version = HiddenField()
    submit = SubmitField("Confirm")


class ConfirmAllForm(FlaskForm):
    submit = SubmitField("Confirm all proposed")


# The upload's two forms are the SLA actuals upload's (a CSV file; the signed preview).
UploadForm = slas_forms.UploadForm
UploadConfirmForm = slas_forms.UploadConfirmForm
