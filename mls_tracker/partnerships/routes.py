"""Partnership list and page, and inviting people into a partnership."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required

from mls_tracker.access import Action, can, get_partnership, role_in, visible_partnerships
from mls_tracker.auth.forms import InviteForm
from mls_tracker.extensions import db
from mls_tracker.models import Invitation, Membership, Partnership, Role, Sponsor, User, utcnow
from mls_tracker.partnerships import bp
from mls_tracker.periods import utc_today
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.invitations import invite_person

SORTS = {
    "name": Partnership.name,
    "status": Partnership.status,
    "start": Partnership.start_date,
    "renewal": Partnership.renewal_date,
}


@bp.get("/")
@auth_required()
def index():
    sort = request.args.get("sort", "name")
    column = SORTS.get(sort, Partnership.name)
    query = (
        visible_partnerships(current_user)
        .options(
            so.joinedload(Partnership.client),
            so.joinedload(Partnership.provider),
            so.joinedload(Partnership.home_region),
            so.selectinload(Partnership.regions),
        )
        .order_by(column, Partnership.name)
    )
    partnerships = db.session.scalars(query).unique().all()
    roles = {p.id: role_in(current_user, p.id) for p in partnerships}
    return render_template(
        "partnerships/index.html", partnerships=partnerships, roles=roles, sort=sort
    )


@bp.get("/<int:partnership_id>")
@auth_required()
def show(partnership_id: int):
    partnership = get_partnership(partnership_id)
    members = db.session.execute(
        sa.select(Membership, User)
        .join(User, Membership.user_id == User.id)
        .where(Membership.partnership_id == partnership.id)
        .order_by(Membership.role, User.display_name)
    ).all()
    today = utc_today()
    sponsors = db.session.scalars(
        sa.select(Sponsor)
        .options(so.joinedload(Sponsor.region))
        .where(
            Sponsor.partnership_id == partnership.id,
            Sponsor.start_date <= today,
            sa.or_(Sponsor.end_date.is_(None), Sponsor.end_date >= today),
        )
        .order_by(Sponsor.side, Sponsor.name)
    ).all()
    pending = []
    if can(current_user, Action.INVITE, partnership.id):
        pending = db.session.scalars(
            sa.select(Invitation)
            .where(
                Invitation.partnership_id == partnership.id,
                Invitation.accepted_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
            .order_by(Invitation.created_at.desc())
        ).all()
    return render_template(
        "partnerships/show.html",
        partnership=partnership,
        members=members,
        sponsors=sponsors,
        pending=pending,
        my_role=role_in(current_user, partnership.id),
        may_invite=can(current_user, Action.INVITE, partnership.id),
    )


@bp.route("/<int:partnership_id>/invite", methods=["GET", "POST"])
@auth_required()
def invite(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.INVITE)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitation = invite_person(
                current_user,
                partnership,
                form.email.data,
                Role(form.role.data),
                form.display_name.data,
            )
        except ValidationFailed as error:
            getattr(form, error.field or "email").errors.append(str(error))
        else:
            flash(
                f"Invitation sent to {invitation.email} as {invitation.role}. "
                "The link works once and expires in 7 days.",
                "success",
            )
            return redirect(url_for(".show", partnership_id=partnership.id))
    return render_template("partnerships/invite.html", partnership=partnership, form=form)
