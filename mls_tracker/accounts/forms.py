"""Forms of the people pages and of each person's own account."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, Length
from wtforms.widgets import Select

from mls_tracker.formhelp import to_int
from mls_tracker.models import Role
from mls_tracker.services.data_version import Memo

NONE = 0
ROLE_CHOICES = [
    (Role.LEAD.value, "Lead — manages everything in the partnership"),
    (Role.PROVIDER.value, "Provider — updates provider actions, proposes actuals"),
    (Role.SPONSOR.value, "Sponsor — reads dashboards, receives scorecards"),
    (Role.VIEWER.value, "Viewer — reads"),
]
SHORT_ROLE_CHOICES = [(role.value, role.value.title()) for role in Role]


def _optional_int(value: object) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return NONE


class InviteUserForm(FlaskForm):
    email = EmailField(
        "E-mail address",
        validators=[
            DataRequired(message="Enter their e-mail address."),
            Email(
                check_deliverability=False,
                message="Enter an e-mail address like name@company.com.",
            ),
            Length(max=255),
        ],
    )
    display_name = StringField("Name (optional)", validators=[Length(max=120)])
    organisation_id = SelectField("Organisation (optional)", coerce=_optional_int, default=NONE)
    make_admin = BooleanField(
        "Administrator",
        description="Administrators manage organisations, regions, partnerships and people.",
    )
    partnership_id = SelectField(
        "Partnership (optional)",
        coerce=_optional_int,
        default=NONE,
        description="Leave empty to invite them into MLS Tracker only; add them to "
        "partnerships later.",
    )
    role = SelectField("Role in that partnership", choices=ROLE_CHOICES, default=Role.VIEWER.value)
    submit = SubmitField("Send invitation")


class OrganisationForm(FlaskForm):
    organisation_id = SelectField("Organisation", coerce=_optional_int, default=NONE)
    submit = SubmitField("Save organisation")


class ChoiceForm(FlaskForm):
    """A button that sets one thing on or off: ``value`` is "on" or "off"."""

    value = HiddenField(validators=[DataRequired()])

    def chosen(self) -> bool | None:
        return {"on": True, "off": False}.get(self.value.data or "")


class ConfirmForm(FlaskForm):
    submit = SubmitField("Confirm")


class AddMembershipForm(FlaskForm):
    partnership_id = SelectField("Partnership", coerce=_optional_int, default=NONE)
    role = SelectField("Role", choices=SHORT_ROLE_CHOICES, default=Role.VIEWER.value)
    submit = SubmitField("Add to partnership")


class MembershipForm(FlaskForm):
    """Change the role of one membership, or remove it (the button pressed says which)."""

    membership_id = HiddenField(validators=[DataRequired()])
    role = SelectField("Role", choices=SHORT_ROLE_CHOICES)
    save = SubmitField("Change role")
    remove = SubmitField("Remove")


class RememberedSelect(Select):
    """WTForms' select, rendered once per list of choices, chosen value and attributes in
    this process: the time zones are hundreds of options, which cost more to render than
    the rest of the account page."""

    def __init__(self) -> None:
        super().__init__()
        self._rendered = Memo(64)

    def __call__(self, field: Any, **kwargs: Any) -> Any:
        key = (
            field.id,
            field.name,
            field.data,
            tuple(field.choices),
            tuple(sorted((name, str(value)) for name, value in kwargs.items())),
        )
        markup = self._rendered.get(key)
        if markup is None:
            markup = super().__call__(field, **kwargs)
            self._rendered.put(key, markup)
        return markup


class AccountForm(FlaskForm):
    display_name = StringField(
        "Your name",
        validators=[DataRequired(message="Enter your name."), Length(max=120)],
        description="How you appear to the other people in your partnerships.",
    )
    time_zone = SelectField("Time zone", default="", widget=RememberedSelect())
    submit = SubmitField("Save")


TOKEN_LIFETIMES = [("30", "30 days"), ("90", "90 days"), ("366", "One year"), ("7", "7 days")]


class ApiTokenForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired(message="Give the token a name, so that you can recognise it later."),
            Length(max=120, message="The name can be at most 120 characters long."),
        ],
        description="What it is for, e.g. “Power BI refresh”.",
    )
    scope = SelectField(
        "Scope",
        choices=[
            ("read", "Read — only reads"),
            ("write", "Write — reads and writes, as your role allows"),
        ],
        default="read",
    )
    expires_in_days = SelectField("Expires after", choices=TOKEN_LIFETIMES, default="90")
    submit = SubmitField("Create token")

    def token_values(self) -> dict[str, Any]:
        """The keyword arguments ``api_tokens.create_token`` takes from this form."""
        return {
            "name": self.name.data,
            "scope": self.scope.data,
            "expires_in_days": to_int(self.expires_in_days.data),
        }


class NotificationSettingsForm(FlaskForm):
    delivery = RadioField("E-mail me about my notifications", choices=[])
    submit = SubmitField("Save")
