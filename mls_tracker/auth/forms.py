"""Forms for signing in and for invitations."""

from __future__ import annotations

from flask import current_app
from flask_security import LoginForm as SecurityLoginForm
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from mls_tracker.models import Role


class LoginForm(SecurityLoginForm):
    # No "remember me": a long-lived cookie would outlive sign-out.
    remember = None


class InviteForm(FlaskForm):
    email = EmailField(
        "E-mail address",
        validators=[
            DataRequired(),
            Email(
                check_deliverability=False,
                message="Enter an e-mail address like name@company.com.",
            ),
            Length(max=255),
        ],
    )
    display_name = StringField("Name (optional)", validators=[Length(max=120)])
    role = SelectField(
        "Role",
        choices=[
            (Role.LEAD.value, "Lead — manages everything in the partnership"),
            (Role.PROVIDER.value, "Provider — updates provider actions, proposes actuals"),
            (Role.SPONSOR.value, "Sponsor — reads dashboards, receives scorecards"),
            (Role.VIEWER.value, "Viewer — reads"),
        ],
        default=Role.VIEWER.value,
    )
    submit = SubmitField("Send invitation")


def _strong_password(form: AcceptInvitationForm, field: PasswordField) -> None:
    problems, _ = current_app.extensions["security"]._password_util.validate(
        field.data or "", True, email=form.email_for_check, display_name=form.display_name.data
    )
    if problems:
        raise ValidationError(" ".join(str(p) for p in problems))


class AcceptInvitationForm(FlaskForm):
    display_name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    password = PasswordField(
        "Choose a password",
        validators=[DataRequired(), Length(max=128), _strong_password],
        render_kw={"autocomplete": "new-password"},
    )
    password_confirm = PasswordField(
        "Repeat the password",
        validators=[DataRequired(), EqualTo("password", message="The passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Create account and join")

    email_for_check: str = ""


class JoinForm(FlaskForm):
    submit = SubmitField("Join the partnership")
