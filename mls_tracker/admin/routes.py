"""Administration (admins only): the administration home, organisations, regions and the
service accounts of the JSON API (their memberships and tokens).

Every view calls a service that checks ``access.require_admin`` first, so that anyone else is
answered 404 before anything is shown.
"""

from __future__ import annotations

from types import ModuleType

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required

from mls_tracker import lists
from mls_tracker.access import require_admin
from mls_tracker.accounts.forms import AddMembershipForm
from mls_tracker.admin.forms import (
    NONE,
    ButtonForm,
    EditRegionForm,
    OrganisationForm,
    RegionForm,
    RenameOrganisationForm,
    ServiceAccountForm,
    ServiceTokenForm,
)
from mls_tracker.exports import csv_response
from mls_tracker.formhelp import attach_error
from mls_tracker.models import utcnow
from mls_tracker.periods import utc_today
from mls_tracker.services import accounts as people
from mls_tracker.services import api_tokens, organisations, regions
from mls_tracker.services import setup as setup_service
from mls_tracker.services.errors import ValidationFailed

bp = Blueprint("admin", __name__, url_prefix="/admin")

KIND_FILTERS = ("client", "provider")
STATE_FILTERS = {"current": False, "retired": True, "all": None}


def _endpoint(name: str) -> str | None:
    """``name`` when the app has that endpoint (pages other parts of the administration add),
    else None: the home page links only to what exists."""
    return name if name in current_app.view_functions else None


@bp.get("")
@auth_required()
def index():
    steps = setup_service.getting_started(current_user)
    return render_template(
        "admin/index.html",
        steps=steps,
        all_done=all(step.done for step in steps),
        links={
            "people": _endpoint("accounts.users"),
            "service_accounts": "admin.service_accounts",
            "new_partnership": _endpoint("contracts.new"),
            "audit": _endpoint("history.index"),
        },
    )


# Organisations ----------------------------------------------------------------------------


def _organisation_filters() -> dict:
    kind = request.args.get("kind", "")
    state = request.args.get("state", "current")
    return {
        "kind": kind if kind in KIND_FILTERS else "",
        "state": state if state in STATE_FILTERS else "current",
    }


@bp.get("/organisations")
@auth_required()
def organisations_index():
    filters = _organisation_filters()
    rows = organisations.listing(
        current_user, kind=filters["kind"] or None, retired=STATE_FILTERS[filters["state"]]
    )
    return render_template(
        "admin/organisations.html",
        rows=rows,
        filters=filters,
        filtered=filters != {"kind": "", "state": "current"},
    )


@bp.get("/organisations.csv")
@auth_required()
def organisations_export():
    filters = _organisation_filters()
    rows = organisations.listing(
        current_user, kind=filters["kind"] or None, retired=STATE_FILTERS[filters["state"]]
    )
    return csv_response(
        "organisations.csv",
        ["Name", "Kind", "Partnerships", "People", "Retired"],
        (
            [row.name, row.kind.value, row.partnerships, row.people, "yes" if row.retired else ""]
            for row in rows
        ),
    )


@bp.route("/organisations/new", methods=["GET", "POST"])
@auth_required()
def organisation_new():
    require_admin(current_user)
    form = OrganisationForm()
    if not form.is_submitted() and request.args.get("kind") in KIND_FILTERS:
        form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        try:
            organisation = organisations.create(
                current_user, name=form.name.data, kind=form.kind.data
            )
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash(f"{organisation.name} was added as a {organisation.kind.value}.", "success")
            return redirect(url_for(".organisations_index"))
    return render_template("admin/organisation_form.html", form=form)


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
@auth_required()
def organisation_edit(organisation_id: int):
    organisation = organisations.get(current_user, organisation_id)
    form = RenameOrganisationForm()
    if not form.is_submitted():
        form.name.data = organisation.name
        form.sso_only.data = organisation.sso_only
    if form.validate_on_submit():
        try:
            organisations.rename(
                current_user, organisation, name=form.name.data, sso_only=form.sso_only.data
            )
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            sso = " It signs in with single sign-on only." if organisation.sso_only else ""
            flash(f"The organisation is now called {organisation.name}.{sso}", "success")
            return redirect(lists.return_to(url_for(".organisations_index")))
    return render_template(
        "admin/organisation_edit.html",
        organisation=organisation,
        form=form,
        blockers=organisations.blockers(current_user, organisation),
        button=ButtonForm(),
    )


@bp.post("/organisations/<int:organisation_id>/retire")
@auth_required()
def organisation_retire(organisation_id: int):
    organisation = organisations.get(current_user, organisation_id)
    return _set_retired(organisations, organisation, True, _organisation_urls(organisation)[1])


@bp.post("/organisations/<int:organisation_id>/restore")
@auth_required()
def organisation_restore(organisation_id: int):
    organisation = organisations.get(current_user, organisation_id)
    return _set_retired(organisations, organisation, False, _organisation_urls(organisation)[1])


@bp.route("/organisations/<int:organisation_id>/delete", methods=["GET", "POST"])
@auth_required()
def organisation_delete(organisation_id: int):
    organisation = organisations.get(current_user, organisation_id)
    retire_url, back_url = _organisation_urls(organisation)
    return _delete_page(
        organisations,
        organisation,
        what="organisation",
        name=organisation.name,
        retire_url=retire_url,
        back_url=back_url,
        list_url=url_for(".organisations_index"),
        list_name="Organisations",
    )


def _organisation_urls(organisation) -> tuple[str, str]:
    return (
        url_for(".organisation_retire", organisation_id=organisation.id),
        url_for(".organisation_edit", organisation_id=organisation.id),
    )


# Regions ----------------------------------------------------------------------------------


@bp.get("/regions")
@auth_required()
def regions_index():
    return render_template(
        "admin/regions.html", rows=regions.listing(current_user), button=ButtonForm()
    )


@bp.get("/regions.csv")
@auth_required()
def regions_export():
    return csv_response(
        "regions.csv",
        ["Position", "Code", "Name", "Partnerships in scope", "Sponsors", "Retired"],
        (
            [
                row.position,
                row.code,
                row.name,
                row.partnerships,
                row.sponsors,
                "yes" if row.retired else "",
            ]
            for row in regions.listing(current_user)
        ),
    )


@bp.route("/regions/new", methods=["GET", "POST"])
@auth_required()
def region_new():
    require_admin(current_user)
    form = RegionForm()
    if form.validate_on_submit():
        try:
            region = regions.create(current_user, code=form.code.data, name=form.name.data)
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash(f"{region.name} ({region.code}) was added.", "success")
            return redirect(url_for(".regions_index"))
    return render_template("admin/region_form.html", form=form, region=None)


@bp.route("/regions/<int:region_id>", methods=["GET", "POST"])
@auth_required()
def region_edit(region_id: int):
    region = regions.get(current_user, region_id)
    form = EditRegionForm()
    if not form.is_submitted():
        form.code.data, form.name.data = region.code, region.name
    if form.validate_on_submit():
        try:
            regions.update(current_user, region, code=form.code.data, name=form.name.data)
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash(f"{region.name} ({region.code}) was saved.", "success")
            return redirect(url_for(".regions_index"))
    return render_template(
        "admin/region_form.html",
        form=form,
        region=region,
        blockers=regions.blockers(current_user, region),
        button=ButtonForm(),
    )


@bp.post("/regions/<int:region_id>/move")
@auth_required()
def region_move(region_id: int):
    region = regions.get(current_user, region_id)
    if ButtonForm().validate_on_submit():
        try:
            regions.move(current_user, region, request.form.get("direction", ""))
        except ValidationFailed as error:
            flash(str(error), "danger")
    return redirect(url_for(".regions_index", _anchor=f"region-{region.id}"))


@bp.post("/regions/<int:region_id>/retire")
@auth_required()
def region_retire(region_id: int):
    region = regions.get(current_user, region_id)
    return _set_retired(regions, region, True, url_for(".region_edit", region_id=region.id))


@bp.post("/regions/<int:region_id>/restore")
@auth_required()
def region_restore(region_id: int):
    region = regions.get(current_user, region_id)
    return _set_retired(regions, region, False, url_for(".region_edit", region_id=region.id))


@bp.route("/regions/<int:region_id>/delete", methods=["GET", "POST"])
@auth_required()
def region_delete(region_id: int):
    region = regions.get(current_user, region_id)
    return _delete_page(
        regions,
        region,
        what="region",
        name=f"{region.name} ({region.code})",
        retire_url=url_for(".region_retire", region_id=region.id),
        back_url=url_for(".region_edit", region_id=region.id),
        list_url=url_for(".regions_index"),
        list_name="Regions",
    )


# Shared by organisations and regions --------------------------------------------------------


def _set_retired(service: ModuleType, row, retired: bool, back_url: str):
    """Retire or restore an organisation or a region (``service`` is its module)."""
    if ButtonForm().validate_on_submit():
        if retired:
            service.retire(current_user, row)
            flash(f"{row.name} is retired: it is offered for nothing new.", "success")
        else:
            service.restore(current_user, row)
            flash(f"{row.name} is back in use.", "success")
    return redirect(back_url)


def _delete_page(service: ModuleType, row, *, what: str, name: str, list_url: str, **urls):
    """The delete page of an organisation or a region: what refers to it (then it can only be
    retired), or the confirmation that deletes it."""
    form = ButtonForm()
    error = None
    if form.validate_on_submit():
        deleted = row.name
        try:
            service.delete(current_user, row)
        except ValidationFailed as failed:
            error = str(failed)
        else:
            flash(f"{deleted} was deleted.", "success")
            return redirect(list_url)
    return render_template(
        "admin/delete.html",
        what=what,
        name=name,
        blockers=service.blockers(current_user, row),
        error=error,
        form=form,
        retired=row.retired_at is not None,
        list_url=list_url,
        **urls,
    )


# Service accounts -------------------------------------------------------------------------


def _service_filters() -> api_tokens.ServiceAccountFilters:
    return api_tokens.ServiceAccountFilters(
        search=request.args.get("q", ""), status=request.args.get("status", "")
    )


def _service_sort() -> str:
    sort = request.args.get("sort", "")
    return sort if sort in api_tokens.SERVICE_ACCOUNT_SORTS else "name"


@bp.get("/service-accounts")
@auth_required()
def service_accounts():
    filters, sort = _service_filters(), _service_sort()
    return render_template(
        "admin/service_accounts.html",
        rows=api_tokens.list_service_accounts(current_user, filters, sort),
        filters=filters,
        sort=sort,
    )


@bp.get("/service-accounts.csv")
@auth_required()
def service_accounts_export():
    rows = api_tokens.service_account_csv_rows(current_user, _service_filters(), _service_sort())
    return csv_response(
        f"service-accounts-{utc_today()}.csv", api_tokens.SERVICE_ACCOUNT_CSV_COLUMNS, rows
    )


@bp.route("/service-accounts/new", methods=["GET", "POST"])
@auth_required()
def service_account_new():
    form = ServiceAccountForm()
    form.partnership_id.choices = [
        (NONE, "Choose a partnership"),
        *people.partnership_choices(current_user),
    ]
    if form.validate_on_submit():
        try:
            account = api_tokens.create_service_account(
                current_user, form.name.data, [(form.partnership_id.data, form.role.data)]
            )
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash(
                f"Service account “{account.display_name}” created. Create its first token below.",
                "success",
            )
            return redirect(url_for(".service_account", account_id=account.id))
    return render_template("admin/service_account_new.html", form=form)


def _service_account_page(account_id: int, token_form=None, created=None, add_form=None):
    page = api_tokens.service_account_page(current_user, account_id)
    if add_form is None:
        add_form = AddMembershipForm(formdata=None)
    add_form.partnership_id.choices = [(NONE, "Choose a partnership"), *page.partnership_choices]
    return render_template(
        "admin/service_account.html",
        page=page,
        account=page.account,
        token_form=token_form or ServiceTokenForm(formdata=None),
        add_form=add_form,
        created=created,
        button=ButtonForm(),
        now=utcnow(),
    )


@bp.get("/service-accounts/<int:account_id>")
@auth_required()
def service_account(account_id: int):
    return _service_account_page(account_id)


@bp.post("/service-accounts/<int:account_id>/tokens")
@auth_required()
def service_account_token_new(account_id: int):
    """Create a token: its value is on this answer only (the page, not a redirect)."""
    account = api_tokens.get_service_account(current_user, account_id)
    form = ServiceTokenForm()
    created = None
    if form.validate_on_submit():
        try:
            created = api_tokens.create_token(current_user, account, **form.token_values())
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            form = None
    return _service_account_page(account_id, token_form=form, created=created)


@bp.route(
    "/service-accounts/<int:account_id>/tokens/<int:service_token_id>/revoke",
    methods=["GET", "POST"],
)
@auth_required()
def service_account_token_revoke(account_id: int, service_token_id: int):
    token = api_tokens.service_account_token(current_user, account_id, service_token_id)
    form = ButtonForm()
    if form.validate_on_submit():
        api_tokens.revoke_token(current_user, token.id)
        flash(f"The token “{token.name}” is revoked: it no longer works.", "success")
        return redirect(url_for(".service_account", account_id=account_id))
    return render_template(
        "admin/service_account_confirm.html",
        account=token.user,
        form=form,
        title=f"Revoke the token “{token.name}”?",
        text=(
            f"Programs using the token starting {token.prefix}… stop working at once. "
            "This cannot be undone; you can create a new token."
        ),
        button="Revoke the token",
    )


@bp.post("/service-accounts/<int:account_id>/memberships")
@auth_required()
def service_account_membership_new(account_id: int):
    api_tokens.get_service_account(current_user, account_id)
    form = AddMembershipForm()
    form.partnership_id.validate_choice = False  # the service checks it, with a clear message
    if form.validate_on_submit():
        try:
            membership = api_tokens.add_service_membership(
                current_user, account_id, form.partnership_id.data or None, form.role.data
            )
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash(f"Added to {membership.partnership.name} as {membership.role.value}.", "success")
            return redirect(url_for(".service_account", account_id=account_id))
    return _service_account_page(account_id, add_form=form)


@bp.route(
    "/service-accounts/<int:account_id>/memberships/<int:membership_id>/remove",
    methods=["GET", "POST"],
)
@auth_required()
def service_account_membership_remove(account_id: int, membership_id: int):
    membership = api_tokens.service_membership(current_user, account_id, membership_id)
    account = api_tokens.get_service_account(current_user, account_id)
    form = ButtonForm()
    error = None
    if form.validate_on_submit():
        try:
            name = api_tokens.remove_service_membership(current_user, account_id, membership_id)
        except ValidationFailed as failed:
            error = str(failed)
        else:
            flash(f"Removed from {name}: its tokens no longer reach it.", "success")
            return redirect(url_for(".service_account", account_id=account_id))
    return render_template(
        "admin/service_account_confirm.html",
        account=account,
        form=form,
        error=error,
        title=f"Remove it from {membership.partnership_name}?",
        text=(
            f"Its tokens stop reaching {membership.partnership_name} at once "
            f"(it is {membership.role.value} there). You can add it again later."
        ),
        button="Remove from the partnership",
    )


@bp.route("/service-accounts/<int:account_id>/deactivate", methods=["GET", "POST"])
@auth_required()
def service_account_deactivate(account_id: int):
    account = api_tokens.get_service_account(current_user, account_id)
    form = ButtonForm()
    if account.active and form.validate_on_submit():
        api_tokens.set_service_account_active(current_user, account_id, False)
        flash(f"{account.display_name} is deactivated: every token of it is revoked.", "success")
        return redirect(url_for(".service_account", account_id=account_id))
    if not account.active:
        return redirect(url_for(".service_account", account_id=account_id))
    return render_template(
        "admin/service_account_confirm.html",
        account=account,
        form=form,
        title=f"Deactivate {account.display_name}?",
        text=(
            "Every token of it is revoked at once: programs using them get 401 from the next "
            "request. Reactivating it brings no token back; you would create new ones."
        ),
        button="Deactivate",
    )


@bp.post("/service-accounts/<int:account_id>/reactivate")
@auth_required()
def service_account_reactivate(account_id: int):
    account = api_tokens.get_service_account(current_user, account_id)
    if ButtonForm().validate_on_submit() and not account.active:
        api_tokens.set_service_account_active(current_user, account_id, True)
        flash(f"{account.display_name} is active again: create a token for it.", "success")
    return redirect(url_for(".service_account", account_id=account_id))
