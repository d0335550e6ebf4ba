"""Sponsors by region: the coverage matrix, and adding, editing and ending sponsorships."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required

from mls_tracker import page_parts
from mls_tracker.access import Action, can, get_object, get_partnership
from mls_tracker.formhelp import attach_error, to_int
from mls_tracker.models import Partnership, Side, Sponsor
from mls_tracker.periods import utc_today
from mls_tracker.services import sponsors as service
from mls_tracker.services.errors import Conflict, ValidationFailed
from mls_tracker.sponsors.forms import UNLINKED, EditSponsorForm, EndSponsorForm, SponsorForm

bp = Blueprint("sponsors", __name__, url_prefix="/partnerships/<int:partnership_id>/sponsors")


def _set_choices(form: SponsorForm, partnership: Partnership, sponsor: Sponsor | None = None):
    regions = [(region.id, region.name) for region in partnership.regions]
    if sponsor is not None and sponsor.region_id not in {rid for rid, _ in regions}:
        regions.append((sponsor.region_id, f"{sponsor.region.name} (no longer in scope)"))
    form.region_id.choices = [(-1, "Choose a region…"), *regions] if len(regions) > 1 else regions
    candidates = service.sponsor_candidates(partnership.id)
    form.user_id.choices = [(UNLINKED, "Not linked to an account")] + [
        (user.id, f"{user.display_name} ({user.email})") for user in candidates
    ]
    if not candidates:
        form.user_id.description = (
            "Nobody in this partnership has the sponsor role yet. Invite the sponsor with the "
            "sponsor role to link them, so they can sign in and read the dashboards."
        )
    else:
        form.user_id.description = (
            "Link the sponsor's own sign-in, if they have one: only members with the sponsor "
            "role are listed."
        )


def _form_values(form: SponsorForm) -> dict:
    region_id = form.region_id.data
    return {
        "region_id": region_id if region_id and region_id > 0 else None,
        "side": form.side.data,
        "name": form.name.data,
        "title": form.title.data,
        "email": form.email.data,
        "user_id": form.user_id.data or None,
        "start_date": form.start_date.data,
        "end_date": form.end_date.data,
    }


@bp.get("/")
@auth_required()
def index(partnership_id: int):
    partnership = get_partnership(partnership_id)
    today = utc_today()
    may_manage = can(current_user, Action.MANAGE, partnership.id)

    def render_matrix() -> str:
        return render_template(
            "sponsors/_list.html",
            partnership=partnership,
            matrix=service.coverage_matrix(partnership.id, today),
            may_manage=may_manage,
        )

    return render_template(
        "sponsors/index.html",
        partnership=partnership,
        may_manage=may_manage,
        content=page_parts.default_view(
            "sponsors.index", partnership.id, (today, may_manage), render_matrix
        ),
    )


@bp.route("/new", methods=["GET", "POST"])
@auth_required()
def new(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = SponsorForm()
    _set_choices(form, partnership)
    if not form.is_submitted():
        # The matrix's "Add one" links name the region and side of the empty cell.
        form.start_date.data = utc_today()
        form.region_id.data = to_int(request.args.get("region_id")) or (
            partnership.regions[0].id if len(partnership.regions) == 1 else -1
        )
        side = request.args.get("side")
        form.side.data = side if side in {s.value for s in Side} else Side.CLIENT.value
    if form.validate_on_submit():
        try:
            sponsor = service.add_sponsorship(current_user, partnership, **_form_values(form))
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash(
                f"{sponsor.name} added as {sponsor.side} sponsor for {sponsor.region.name}.",
                "success",
            )
            return redirect(url_for(".index", partnership_id=partnership.id))
    return render_template("sponsors/form.html", partnership=partnership, form=form, sponsor=None)


@bp.route("/<int:sponsor_id>/edit", methods=["GET", "POST"])
@auth_required()
def edit(partnership_id: int, sponsor_id: int):
    sponsor = get_object(Sponsor, sponsor_id, partnership_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = EditSponsorForm(obj=None if request.method == "POST" else sponsor)
    _set_choices(form, partnership, sponsor)
    if not form.is_submitted():
        form.side.data = sponsor.side.value
        form.user_id.data = sponsor.user_id or UNLINKED
        form.version.data = str(sponsor.version)
    conflict = conflict_message = None
    if form.validate_on_submit():
        try:
            service.update_sponsorship(
                current_user,
                sponsor,
                **_form_values(form),
                expected_version=to_int(form.version.data),
            )
        except ValidationFailed as error:
            attach_error(form, error)
        except Conflict as error:
            conflict = service.sponsor_view(sponsor)
            conflict_message = str(error)
            # Saving again now is a deliberate choice to replace what is shown as current.
            form.version.data = str(conflict.version)
        else:
            flash(f"Sponsorship of {sponsor.name} saved.", "success")
            return redirect(url_for(".index", partnership_id=partnership.id))
    return render_template(
        "sponsors/form.html",
        partnership=partnership,
        form=form,
        sponsor=sponsor,
        conflict=conflict,
        conflict_message=conflict_message,
    )


@bp.route("/<int:sponsor_id>/end", methods=["GET", "POST"])
@auth_required()
def end(partnership_id: int, sponsor_id: int):
    sponsor = get_object(Sponsor, sponsor_id, partnership_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = EndSponsorForm()
    if not form.is_submitted():
        form.end_date.data = sponsor.end_date or utc_today()
        form.version.data = str(sponsor.version)
    conflict = conflict_message = None
    if form.validate_on_submit():
        try:
            service.end_sponsorship(
                current_user,
                sponsor,
                form.end_date.data,
                expected_version=to_int(form.version.data),
            )
        except ValidationFailed as error:
            attach_error(form, error)
        except Conflict as error:
            conflict = service.sponsor_view(sponsor)
            conflict_message = str(error)
            form.version.data = str(conflict.version)
        else:
            flash(
                f"The sponsorship of {sponsor.name} ends on "
                f"{sponsor.end_date.day} {sponsor.end_date:%b %Y}; "
                "it stays in the history.",
                "success",
            )
            return redirect(url_for(".index", partnership_id=partnership.id))
    return render_template(
        "sponsors/end.html",
        cancel_url=url_for(".index", partnership_id=partnership.id),
        leaves_gap=service.is_only_client_sponsor(sponsor, utc_today()),
        partnership=partnership,
        form=form,
        sponsor=sponsor,
        conflict=conflict,
        conflict_message=conflict_message,
    )
