"""The form that creates the first administrator."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length


class FirstAdminForm(FlaskForm):
    display_name = StringField(
        "Your name", validators=[DataRequired("Enter your name."), Length(max=120)]
    )
    email = EmailField(
        "E-mail address",
        validators=[DataRequired("Enter your e-mail address."), Length(max=255)],
        description="You sign in with it, and password resets are sent to it.",
        render_kw={"autocomplete": "email"},
    )
    password = PasswordField(
        "Choose a password",
        validators=[DataRequired("Choose a password."), Length(max=128)],
        description="At least 8 characters, and not an easy one to guess.",
        render_kw={"autocomplete": "new-password"},
    )
    password_confirm = PasswordField(
        "Repeat the password",
        validators=[
            DataRequired("Repeat the password."),
            EqualTo("password", message="The passwords differ."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Create administrator")
