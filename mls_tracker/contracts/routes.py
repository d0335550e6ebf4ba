"""Creating, editing, archiving and reopening partnerships (admins), and a new partnership's set-up
checklist."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required

from mls_tracker.access import Action, get_partnership
from mls_tracker.contracts.forms import (
    WEIGHT_FIELDS,
    ConfirmForm,
    EditPartnershipForm,
    NewPartnershipForm,
    PartnershipForm,
)
from mls_tracker.formhelp import attach_error, to_int
from mls_tracker.models import Partnership
from mls_tracker.services import partnerships as service
from mls_tracker.services.errors import Conflict, ValidationFailed

bp = Blueprint("contracts", __name__)


def _set_choices(form: PartnershipForm, choices: dict[str, list]) -> None:
    form.client_id.choices = [(0, "Choose the client…")] + [
        (org.id, org.name + (" (retired)" if org.retired_at else "")) for org in choices["clients"]
    ]
    form.provider_id.choices = [(0, "Choose the provider…")] + [
        (org.id, org.name + (" (retired)" if org.retired_at else ""))
        for org in choices["providers"]
    ]
    regions = [
        (
            region.id,
            (region.name if region.name == region.code else f"{region.name} ({region.code})")
            + (" (retired)" if region.retired_at else ""),
        )
        for region in choices["regions"]
    ]
    form.region_ids.choices = regions
    form.home_region_id.choices = [(0, "Choose the home region…"), *regions]


def _settings(form: PartnershipForm) -> service.Settings:
    return service.Settings(
        name=form.name.data,
        client_id=form.client_id.data or None,
        provider_id=form.provider_id.data or None,
        engagement_model=form.engagement_model.data,
        governance_model=form.governance_model.data,
        region_ids=list(form.region_ids.data or []),
        home_region_id=form.home_region_id.data or None,
        annual_value=form.annual_value.data,
        currency=form.currency.data,
        monthly_fee=form.monthly_fee.data,
        credit_cap_percent=form.credit_cap_percent.data,
        start_date=form.start_date.data,
        renewal_date=form.renewal_date.data,
        review_cadence=form.review_cadence.data,
        weights={key: getattr(form, name).data for key, name in WEIGHT_FIELDS.items()},
        status=getattr(getattr(form, "status", None), "data", None),
    )


@bp.route("/admin/partnerships/new", methods=["GET", "POST"])
@auth_required()
def new():
    """A new partnership and its first lead invited (administrators)."""
    choices = service.form_choices(current_user)
    form = NewPartnershipForm()
    _set_choices(form, choices)
    if form.validate_on_submit():
        try:
            partnership = service.create_partnership(
                current_user, _settings(form), form.lead_email.data, form.lead_name.data
            )
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash(
                f"Partnership “{partnership.name}” created. {form.lead_email.data} is invited "
                "as its lead. Next: set it up with the checklist below.",
                "success",
            )
            return redirect(url_for("partnerships.show", partnership_id=partnership.id))
    return render_template(
        "contracts/form.html",
        form=form,
        partnership=None,
        may_change_organisations=True,
        missing=_missing(choices),
        admin_links=_admin_links(),
        conflict=None,
    )


def _admin_links() -> dict[str, str]:
    """Links to the administration pages where clients, providers and regions are added."""
    links = {}
    for label, endpoint in (
        ("Administration", "admin.index"),
        ("Organisations", "admin.organisations_index"),
        ("Regions", "admin.regions_index"),
    ):
        if endpoint in current_app.view_functions:
            links[label] = url_for(endpoint)
    return links


def _missing(choices: dict[str, list]) -> list[str]:
    """What must exist before a partnership can be created."""
    missing = []
    if not choices["clients"]:
        missing.append("a client organisation")
    if not choices["providers"]:
        missing.append("a provider organisation")
    if not choices["regions"]:
        missing.append("a region")
    return missing


def _fill(form: EditPartnershipForm, partnership: Partnership) -> None:
    for name in (
        "name",
        "client_id",
        "provider_id",
        "home_region_id",
        "annual_value",
        "currency",
        "monthly_fee",
        "credit_cap_percent",
        "start_date",
        "renewal_date",
        *WEIGHT_FIELDS.values(),
    ):
        getattr(form, name).data = getattr(partnership, name)
    form.engagement_model.data = partnership.engagement_model.value
    form.governance_model.data = partnership.governance_model.value
    form.review_cadence.data = partnership.review_cadence.value
    form.status.data = partnership.status.value
    form.region_ids.data = [region.id for region in partnership.regions]
    form.version.data = str(partnership.version)


@bp.route("/partnerships/<int:partnership_id>/settings", methods=["GET", "POST"])
@auth_required()
def edit(partnership_id: int):
    """A partnership's settings: administrators, and its leads (all but client and provider)."""
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = EditPartnershipForm()
    _set_choices(form, service.form_choices(current_user, partnership))
    may_change_organisations = service.may_change_organisations(current_user)
    conflict = None
    if not form.is_submitted():
        _fill(form, partnership)
    else:
        if not may_change_organisations:  # shown, not sent: the fields are disabled
            form.client_id.data = partnership.client_id
            form.provider_id.data = partnership.provider_id
        if form.validate():
            try:
                service.update_partnership(
                    current_user, partnership, _settings(form), to_int(form.version.data)
                )
            except ValidationFailed as error:
                attach_error(form, error)
            except Conflict as error:
                conflict = str(error)
                _fill(form, partnership)
            else:
                flash("Settings saved.", "success")
                return redirect(url_for("partnerships.show", partnership_id=partnership.id))
    return render_template(
        "contracts/form.html",
        form=form,
        partnership=partnership,
        may_change_organisations=may_change_organisations,
        missing=[],
        admin_links={},
        conflict=conflict,
    )


def _confirm(partnership_id: int, *, closing: bool):
    partnership = service.get_for_admin(current_user, partnership_id)
    form = ConfirmForm()
    if not form.is_submitted():
        form.version.data = str(partnership.version)
    conflict = None
    if form.validate_on_submit():
        try:
            if closing:
                service.archive(current_user, partnership, to_int(form.version.data))
            else:
                service.reopen(current_user, partnership, to_int(form.version.data))
        except Conflict as error:
            conflict = str(error)
            form.version.data = str(partnership.version)
        else:
            flash(
                f"“{partnership.name}” is archived: it is read-only and hidden from the portfolio."
                if closing
                else f"“{partnership.name}” is open again.",
                "success",
            )
            return redirect(url_for("partnerships.show", partnership_id=partnership.id))
    return render_template(
        "contracts/confirm.html",
        partnership=partnership,
        form=form,
        closing=closing,
        conflict=conflict,
        action=request.path,
    )


@bp.route("/partnerships/<int:partnership_id>/archive", methods=["GET", "POST"])
@auth_required()
def archive(partnership_id: int):
    """Close a partnership (administrators), after a confirmation page."""
    return _confirm(partnership_id, closing=True)


@bp.route("/partnerships/<int:partnership_id>/reopen", methods=["GET", "POST"])
@auth_required()
def reopen(partnership_id: int):
    """Reopen an archived partnership (administrators), after a confirmation page."""
    return _confirm(partnership_id, closing=False)
