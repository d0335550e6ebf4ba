"""Forms of the administration pages: organisations, regions and service accounts."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from mls_tracker.accounts.forms import NONE, ROLE_CHOICES, ApiTokenForm
from mls_tracker.services.organisations import NAME_MAX as ORGANISATION_NAME_MAX
from mls_tracker.services.regions import CODE_MAX
from mls_tracker.services.regions import NAME_MAX as REGION_NAME_MAX

KIND_CHOICES = [
    ("client", "Client — the company whose people are trained"),
    ("provider", "Provider — the company that delivers the training"),
]


class OrganisationForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            InputRequired("Give the organisation a name."),
            Length(max=ORGANISATION_NAME_MAX),
        ],
    )
    kind = RadioField(
        "Kind", choices=KIND_CHOICES, validators=[InputRequired("Choose client or provider.")]
    )
    submit = SubmitField("Add organisation")


class RenameOrganisationForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            InputRequired("Give the organisation a name."),
            Length(max=ORGANISATION_NAME_MAX),
        ],
    )
    sso_only = BooleanField(
        "Single sign-on only",
        description=(
            "Its people sign in only through the identity provider: no password sign-in and "
            "no password reset. Applies while single sign-on is configured."
        ),
    )
    submit = SubmitField("Save")


class RegionForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[InputRequired("Give the region a short code."), Length(max=CODE_MAX)],
        description=(
            f"Short and unique, up to {CODE_MAX} letters, digits or hyphens, such as EMEA. "
            "Import files and exports use it."
        ),
        render_kw={"autocapitalize": "characters", "spellcheck": "false"},
    )
    name = StringField(
        "Name",
        validators=[InputRequired("Give the region a name."), Length(max=REGION_NAME_MAX)],
    )
    submit = SubmitField("Add region")


class EditRegionForm(RegionForm):
    submit = SubmitField("Save region")


class ButtonForm(FlaskForm):
    """A one-button POST (retire, restore, delete, move): only the CSRF token."""

    submit = SubmitField("Confirm")


def _partnership_id(value: object) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return NONE


class ServiceAccountForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Name the service account, e.g. “Power BI refresh”."),
            Length(max=120, message="The name can be at most 120 characters long."),
        ],
        description="What the integration is, so that people recognise it in the audit log.",
    )
    partnership_id = SelectField(
        "Partnership",
        coerce=_partnership_id,
        default=NONE,
        description="Add it to more partnerships on its page.",
    )
    role = SelectField(
        "Role in that partnership",
        choices=ROLE_CHOICES,
        default="viewer",
        description="Its tokens may do there what this role allows, and no more.",
    )
    submit = SubmitField("Create service account")

    def validate_partnership_id(self, field: SelectField) -> None:
        if not field.data:
            raise ValidationError("Choose the partnership it works in.")


class ServiceTokenForm(ApiTokenForm):
    """A token of a service account: as a person's, with words about the account."""

    scope = SelectField(
        "Scope",
        choices=[
            ("read", "Read — only reads"),
            ("write", "Write — reads and writes, as its roles allow"),
        ],
        default="read",
    )
