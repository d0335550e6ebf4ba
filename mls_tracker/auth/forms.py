"""Forms for signing in and for invitations."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_security import ForgotPasswordForm as SecurityForgotPasswordForm
from flask_security import LoginForm as SecurityLoginForm
from flask_security import ResetPasswordForm as SecurityResetPasswordForm
from flask_security import TwoFactorVerifyCodeForm as SecurityTwoFactorVerifyCodeForm
from flask_security.mail_util import EmailValidateException
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from mls_tracker import throttling
from mls_tracker.models import Role
from mls_tracker.services import security_mail, single_sign_on


class LoginForm(SecurityLoginForm):
    # No "remember me": a long-lived cookie would outlive sign-out.
    remember = None

    def validate(self, **kwargs: Any) -> bool:
        # Counted here, where the password check decided, whatever the request's format.
        if not super().validate(**kwargs):
            throttling.count_failed_check()
            return False
        if getattr(self.user, "is_service_account", False):
            # A service account never signs in on the web (it has no password anyway).
            self.form_errors.append("This account cannot sign in.")
            throttling.count_failed_check()
            return False
        if not single_sign_on.password_sign_in_allowed(self.user):
            self.form_errors.append(
                "Your organisation signs in with single sign-on: use the "
                f"“{current_app.config['OIDC_BUTTON_LABEL']}” button above."
            )
            return False
        return True


class TwoFactorVerifyCodeForm(SecurityTwoFactorVerifyCodeForm):
    def validate(self, **kwargs: Any) -> bool:
        if super().validate(**kwargs):
            return True
        throttling.count_failed_check()
        return False


class ForgotPasswordForm(SecurityForgotPasswordForm):
    """Queues the reset mail as a job for every well-formed address, known or not, and never
    reports success itself: Flask-Security's view then answers every request the same
    generic way (its path for "no such account", with RETURN_GENERIC_RESPONSES on), so that
    neither the answer nor its timing tells whether the account exists."""

    def validate(self, **kwargs: Any) -> bool:
        super().validate(**kwargs)
        if "csrf_token" in self and self.csrf_token.errors:
            return False
        if not isinstance(self.email.data, str):
            return False
        try:
            email = current_app.extensions["security"]._mail_util.normalize(self.email.data)
        except EmailValidateException:
            return False
        security_mail.request_password_reset(email)
        self.user = None
        return False


class ResetPasswordForm(SecurityResetPasswordForm):
    """A reset link mailed before the organisation turned to single sign-on only chooses
    no password."""

    def validate(self, **kwargs: Any) -> bool:
        if not super().validate(**kwargs):
            return False
        if not single_sign_on.password_sign_in_allowed(getattr(self, "user", None)):
            self.form_errors.append(
                "Your organisation signs in with single sign-on: there is no password to "
                "choose. Use the single sign-on button on the sign-in page."
            )
            return False
        return True


# Given to Flask-Security's init_app: its views use these instead of its own.
SECURITY_FORMS: dict[str, type] = {
    "login_form": LoginForm,
    "reset_password_form": ResetPasswordForm,
    "two_factor_verify_code_form": TwoFactorVerifyCodeForm,
    "forgot_password_form": ForgotPasswordForm,
}


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


class SingleSignOnForm(FlaskForm):
    """The sign-in page's single sign-on button (a POST, so it carries the CSRF token)."""

    submit = SubmitField("Sign in with single sign-on")
