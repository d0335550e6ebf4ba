"""The partnership settings form (create and edit), and the archive / reopen confirmation."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DecimalField,
    EmailField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from mls_tracker.changes.forms import version_field
from mls_tracker.formhelp import DayField
from mls_tracker.models import EngagementModel, GovernanceModel, PartnershipStatus, ReviewCadence
from mls_tracker.services.health import WEIGHT_COLUMNS as WEIGHT_FIELDS
from mls_tracker.services.health import ComponentKey

__all__ = ["WEIGHT_FIELDS", "ConfirmForm", "EditPartnershipForm", "NewPartnershipForm"]


def _choices(enum_type) -> list[tuple[str, str]]:
    return [(member.value, member.value.capitalize()) for member in enum_type]


def _weight(key: ComponentKey, default: int) -> DecimalField:
    return DecimalField(
        f"Weight: {key.label}",
        places=2,
        default=default,
        validators=[
            InputRequired("Enter a weight (0 leaves the component out)."),
            NumberRange(min=0, max=1000, message="Enter a weight from 0 to 1000."),
        ],
    )


class PartnershipForm(FlaskForm):
    """Client, provider and region choices are set by the view."""

    name = StringField(
        "Name",
        validators=[DataRequired("Enter the partnership's name."), Length(max=200)],
        description="How everyone will know it, e.g. “Acme × Brightpath learning services”.",
    )
    client_id = SelectField(
        "Client", coerce=int, validate_choice=False, validators=[Optional()], default=0
    )
    provider_id = SelectField(
        "Provider", coerce=int, validate_choice=False, validators=[Optional()], default=0
    )
    engagement_model = SelectField(
        "Engagement model", choices=_choices(EngagementModel), validate_choice=False
    )
    governance_model = SelectField(
        "Governance model", choices=_choices(GovernanceModel), validate_choice=False
    )
    region_ids = SelectMultipleField(
        "Regions in scope",
        coerce=int,
        validate_choice=False,
        description="Hold Ctrl (or ⌘) to choose several. The home region is always in scope.",
    )
    home_region_id = SelectField("Home region", coerce=int, validate_choice=False, default=0)
    annual_value = DecimalField(
        "Contract value per year (optional)",
        places=2,
        validators=[Optional(), NumberRange(min=0, message="Enter a value of 0 or more.")],
    )
    currency = StringField(
        "Currency",
        default="USD",
        validators=[DataRequired("Enter the currency, such as EUR, GBP or USD.")],
        description="Three-letter ISO 4217 code, such as EUR, GBP or USD.",
    )
    monthly_fee = DecimalField(
        "Monthly fee for service credits (optional)",
        places=2,
        validators=[Optional(), NumberRange(min=0, message="Enter a fee of 0 or more.")],
        description="Empty: the contract value per year ÷ 12.",
    )
    credit_cap_percent = DecimalField(
        "Service credit cap, % of the monthly fee (optional)",
        places=2,
        validators=[
            Optional(),
            NumberRange(min=0, max=100, message="Enter a percentage above 0 and at most 100."),
        ],
        description="The most credited in one month across all SLAs. Empty: no cap.",
    )
    start_date = DayField(
        "Start date",
        validators=[InputRequired("Enter the start date.")],
        what="the start date",
    )
    renewal_date = DayField(
        "Renewal date (optional)",
        validators=[Optional()],
        what="the renewal date",
    )
    review_cadence = SelectField("Reviews", choices=_choices(ReviewCadence), validate_choice=False)
    weight_sla = _weight(ComponentKey.SLA, 40)
    weight_satisfaction = _weight(ComponentKey.SATISFACTION, 25)
    weight_actions = _weight(ComponentKey.ACTIONS, 20)
    weight_coverage = _weight(ComponentKey.COVERAGE, 15)


class NewPartnershipForm(PartnershipForm):
    lead_email = EmailField(
        "Lead's e-mail",
        validators=[DataRequired("Enter the e-mail address of the partnership's lead.")],
        description="They receive an invitation to join as the partnership's lead.",
    )
    lead_name = StringField("Lead's name (optional)", validators=[Length(max=120)])
    submit = SubmitField("Create partnership and invite the lead")


class EditPartnershipForm(PartnershipForm):
    status = SelectField("Status", choices=_choices(PartnershipStatus), validate_choice=False)
    version = version_field()
    submit = SubmitField("Save settings")


class ConfirmForm(FlaskForm):
    version = version_field()
    submit = SubmitField("Confirm")
