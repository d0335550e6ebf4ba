"""People (admins only, under /admin/users): list, invite, global role, deactivate and reactivate,
two-factor reset, memberships; and each person's own account settings."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required

from mls_tracker.accounts.forms import (
    NONE,
    AccountForm,
    AddMembershipForm,
    ApiTokenForm,
    ChoiceForm,
    ConfirmForm,
    InviteUserForm,
    MembershipForm,
    NotificationSettingsForm,
    OrganisationForm,
)
from mls_tracker.auth import invitation_actions
from mls_tracker.exports import csv_response
from mls_tracker.formhelp import attach_error, to_int
from mls_tracker.models import Role, utcnow
from mls_tracker.periods import utc_today
from mls_tracker.services import accounts as service
from mls_tracker.services import api_tokens, inbox
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.invitations import invite_to_product, open_invitations

bp = Blueprint("accounts", __name__)

NOTHING_CHANGED = "Nothing was changed: the form was incomplete. Please try again."


@bp.context_processor
def _administration_home() -> dict:
    """The administration home for the breadcrumb (its blueprint is built alongside)."""
    exists = "admin.index" in current_app.view_functions
    return {"admin_home": url_for("admin.index") if exists else None}


def _filters() -> service.UserFilters:
    return service.UserFilters(
        search=request.args.get("q", ""),
        organisation_id=to_int(request.args.get("organisation")),
        role=request.args.get("role", ""),
        status=request.args.get("status", ""),
        signed_in=request.args.get("signed_in", ""),
    )


@bp.get("/admin/users")
@auth_required()
def users():
    filters = _filters()
    people = service.list_users(
        current_user, filters, sort=request.args.get("sort"), page=request.args.get("page")
    )
    return render_template(
        "accounts/index.html",
        people=people,
        filters=filters,
        organisations=service.filter_organisations(current_user),
        sign_in_filters=service.SIGN_IN_FILTERS,
        roles=service.ROLE_FILTERS,
        invitations=open_invitations(current_user),
    )


@bp.get("/admin/users.csv")
@auth_required()
def export():
    rows = service.export_rows(current_user, _filters(), request.args.get("sort"))
    return csv_response(f"people-{utc_today()}.csv", service.CSV_COLUMNS, rows)


@bp.route("/admin/users/invite", methods=["GET", "POST"])
@auth_required()
def invite():
    form = InviteUserForm()
    form.organisation_id.choices = [
        (NONE, "None"),
        *((o.id, f"{o.name} ({o.kind.value})") for o in service.organisation_choices(current_user)),
    ]
    form.partnership_id.choices = [
        (NONE, "None: into MLS Tracker only"),
        *service.partnership_choices(current_user),
    ]
    if not form.is_submitted() and to_int(request.args.get("partnership")):
        form.partnership_id.data = to_int(request.args.get("partnership"))
    if form.validate_on_submit():
        try:
            invitation = invite_to_product(
                current_user,
                form.email.data,
                form.display_name.data,
                organisation_id=form.organisation_id.data or None,
                make_admin=form.make_admin.data,
                partnership_id=form.partnership_id.data or None,
                role=Role(form.role.data) if form.partnership_id.data else None,
            )
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            where = f" to {invitation.partnership.name}" if invitation.partnership else ""
            flash(f"Invitation{where} sent to {invitation.email}.", "success")
            return redirect(url_for(".users"))
    return render_template("accounts/invite.html", form=form)


def _open_invitations_list() -> str:
    return url_for(".users") + "#invitations-heading"


@bp.post("/admin/users/invitations/<int:invitation_id>/send-again")
@auth_required()
def send_invitation_again(invitation_id: int):
    """An administrator e-mails any pending invitation again (a new link)."""
    return invitation_actions.send_again_and_return(invitation_id, None, _open_invitations_list())


@bp.post("/admin/users/invitations/<int:invitation_id>/withdraw")
@auth_required()
def withdraw_invitation(invitation_id: int):
    """An administrator withdraws any pending invitation."""
    return invitation_actions.withdraw_and_return(invitation_id, None, _open_invitations_list())


@bp.get("/admin/users/<int:user_id>")
@auth_required()
def user(user_id: int):
    page = service.person_page(current_user, user_id)
    if page.user.is_service_account:
        # Its memberships and tokens are managed on its own page (no sign-in, no admin role).
        return redirect(url_for("admin.service_account", account_id=user_id))
    organisation_form = OrganisationForm()
    organisations = service.organisation_choices(current_user)
    choices = [(NONE, "None"), *((o.id, f"{o.name} ({o.kind.value})") for o in organisations)]
    person = page.user
    if person.organisation is not None and person.organisation_id not in dict(choices):
        choices.append((person.organisation_id, f"{person.organisation.name} (retired)"))
    organisation_form.organisation_id.choices = choices
    organisation_form.organisation_id.data = person.organisation_id or NONE
    member_of = {m.partnership_id for m in page.memberships}
    add_form = AddMembershipForm()
    add_form.partnership_id.choices = [
        (NONE, "Choose a partnership"),
        *(c for c in service.partnership_choices(current_user) if c[0] not in member_of),
    ]
    return render_template(
        "accounts/show.html",
        page=page,
        person=person,
        organisation_form=organisation_form,
        add_form=add_form,
        choice_form=ChoiceForm(),
        confirm_form=ConfirmForm(),
        membership_form=MembershipForm(),
        is_self=person.id == current_user.id,
    )


def _back(user_id: int):
    return redirect(url_for(".user", user_id=user_id))


@bp.post("/admin/users/<int:user_id>/organisation")
@auth_required()
def set_organisation(user_id: int):
    form = OrganisationForm()
    form.organisation_id.choices = None  # any id: the service checks it
    form.organisation_id.validate_choice = False
    if not form.validate_on_submit():
        service.get_user(current_user, user_id)
        flash(NOTHING_CHANGED, "danger")
        return _back(user_id)
    try:
        person = service.set_organisation(current_user, user_id, form.organisation_id.data or None)
    except ValidationFailed as error:
        flash(str(error), "danger")
    else:
        name = person.organisation.name if person.organisation else "no organisation"
        flash(f"{person.display_name} now belongs to {name}.", "success")
    return _back(user_id)


def _choice(user_id: int) -> bool | None:
    form = ChoiceForm()
    chosen = form.chosen() if form.validate_on_submit() else None
    if chosen is None:
        service.get_user(current_user, user_id)
        flash(NOTHING_CHANGED, "danger")
    return chosen


@bp.post("/admin/users/<int:user_id>/admin")
@auth_required()
def set_admin(user_id: int):
    chosen = _choice(user_id)
    if chosen is not None:
        try:
            person = service.set_admin(current_user, user_id, chosen)
        except ValidationFailed as error:
            flash(str(error), "danger")
        else:
            if chosen:
                flash(f"{person.display_name} is now an administrator.", "success")
            else:
                flash(f"{person.display_name} is no longer an administrator.", "success")
    return _back(user_id)


@bp.post("/admin/users/<int:user_id>/active")
@auth_required()
def set_active(user_id: int):
    chosen = _choice(user_id)
    if chosen is not None:
        try:
            person = service.set_active(current_user, user_id, chosen)
        except ValidationFailed as error:
            flash(str(error), "danger")
        else:
            if chosen:
                flash(
                    f"{person.display_name} is active again and can sign in.",
                    "success",
                )
            else:
                flash(
                    f"{person.display_name} is deactivated: signed out everywhere, "
                    "API tokens revoked.",
                    "success",
                )
    return _back(user_id)


@bp.post("/admin/users/<int:user_id>/two-factor")
@auth_required()
def reset_two_factor(user_id: int):
    if not ConfirmForm().validate_on_submit():
        service.get_user(current_user, user_id)
        flash(NOTHING_CHANGED, "danger")
        return _back(user_id)
    person = service.reset_two_factor(current_user, user_id)
    flash(
        f"Two-factor sign-in is off for {person.display_name}: they sign in with their "
        "password and can set it up again.",
        "success",
    )
    return _back(user_id)


@bp.post("/admin/users/<int:user_id>/memberships")
@auth_required()
def add_membership(user_id: int):
    form = AddMembershipForm()
    form.partnership_id.validate_choice = False
    if not form.validate_on_submit() or not form.partnership_id.data:
        service.get_user(current_user, user_id)
        flash("Choose a partnership and a role.", "danger")
        return _back(user_id)
    try:
        membership = service.add_membership(
            current_user, user_id, form.partnership_id.data, Role(form.role.data)
        )
    except ValidationFailed as error:
        flash(str(error), "danger")
    else:
        flash(
            f"Added to {membership.partnership.name} as {membership.role.value}.",
            "success",
        )
    return _back(user_id)


@bp.post("/admin/users/<int:user_id>/memberships/change")
@auth_required()
def membership(user_id: int):
    form = MembershipForm()
    form.role.validate_choice = False  # not needed to remove; checked below to change
    membership_id = to_int(form.membership_id.data)
    role = form.role.data if form.role.data in {r.value for r in Role} else None
    if (
        not form.validate_on_submit()
        or membership_id is None
        or (role is None and not form.remove.data)
    ):
        service.get_user(current_user, user_id)
        flash(NOTHING_CHANGED, "danger")
        return _back(user_id)
    try:
        if form.remove.data:
            name = service.remove_membership(current_user, user_id, membership_id)
            flash(f"Removed from {name}.", "success")
        else:
            changed = service.change_membership_role(
                current_user, user_id, membership_id, Role(role)
            )
            flash(
                f"Now {changed.role.value} in {changed.partnership.name}.",
                "success",
            )
    except ValidationFailed as error:
        flash(str(error), "danger")
    return _back(user_id)


@bp.route("/account", methods=["GET", "POST"])
@auth_required()
def account():
    form = AccountForm()
    form.time_zone.choices = [
        ("", "Not set: times in UTC"),
        *((z, z) for z in service.time_zones()),
    ]
    form.time_zone.validate_choice = False  # the service checks it, with a clear message
    if not form.is_submitted():
        form.display_name.data = current_user.display_name
        form.time_zone.data = current_user.time_zone or ""
    if form.validate_on_submit():
        try:
            service.update_own_account(current_user, form.display_name.data, form.time_zone.data)
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash("Your account settings are saved.", "success")
            return redirect(url_for(".account"))
    return render_template("accounts/account.html", form=form)


@bp.route("/account/notifications", methods=["GET", "POST"])
@auth_required()
def notifications():
    """How the signed-in user hears of their notifications by e-mail."""
    form = NotificationSettingsForm()
    form.delivery.choices = [(key.value, text) for key, text in inbox.DELIVERY_LABELS.items()]
    if not form.is_submitted():
        form.delivery.data = inbox.delivery_of(current_user.id).value
    if form.validate_on_submit():
        try:
            inbox.set_delivery(current_user, form.delivery.data)
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash("Your e-mail settings are saved.", "success")
            return redirect(url_for(".notifications"))
    return render_template("accounts/notifications.html", form=form)


# ----------------------------------------------------------------------------- API tokens


@bp.route("/account/tokens", methods=["GET", "POST"])
@auth_required()
def tokens():
    """The person's API tokens: create one (its value shown once, on this answer only), see
    the others, revoke one."""
    form = ApiTokenForm()
    created = None
    if form.validate_on_submit():
        try:
            created = api_tokens.create_token(current_user, current_user, **form.token_values())
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            form = ApiTokenForm(formdata=None)
    return render_template(
        "accounts/tokens.html",
        form=form,
        created=created,
        tokens=api_tokens.list_tokens(current_user, current_user),
        now=utcnow(),
    )


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@auth_required()
def revoke_token(token_id: int):
    token = api_tokens.own_token(current_user, token_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        api_tokens.revoke_token(current_user, token.id)
        flash(f"The token “{token.name}” is revoked: it no longer works.", "success")
        return redirect(url_for(".tokens"))
    return render_template("accounts/token_revoke.html", token=token, form=form)
