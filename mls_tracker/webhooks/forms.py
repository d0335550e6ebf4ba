"""Forms of the webhook pages: an endpoint, and the buttons (CSRF only)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import InputRequired, Length

from mls_tracker.reviews.forms import CheckboxesField
from mls_tracker.services.webhooks import EVENTS


class EndpointForm(FlaskForm):
    url = StringField(
        "Endpoint address",
        validators=[Length(max=500, message="The address is longer than 500 characters.")],
        description="An https:// address on the internet that accepts POST requests.",
    )
    description = StringField(
        "Description (optional)",
        validators=[Length(max=200)],
        description="What receives the events, for whoever reads this page next.",
    )
    events = CheckboxesField("Events to send", choices=list(EVENTS.items()))
    submit = SubmitField("Save endpoint")


class ButtonForm(FlaskForm):
    """A button that changes something: the form carries only the CSRF token."""


class DeleteForm(FlaskForm):
    """Deleting asks for the confirmation page's own field, so that no stray POST deletes."""

    confirm = HiddenField(default="delete", validators=[InputRequired("Confirm on this page.")])
