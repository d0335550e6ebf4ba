"""Partnership list, the partnership overview (tiles, health, charts, needs attention) with
its charts' data as CSV, the people page, the health weights, and inviting people."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required

from mls_tracker.access import Action, can, get_partnership, role_in, visible_partnerships
from mls_tracker.auth.forms import InviteForm
from mls_tracker.exports import csv_response
from mls_tracker.extensions import db
from mls_tracker.formhelp import attach_error
from mls_tracker.models import Invitation, Membership, Partnership, Role, Sponsor, User, utcnow
from mls_tracker.partnerships import bp, overview
from mls_tracker.partnerships.forms import WEIGHT_FIELDS, WeightsForm
from mls_tracker.periods import utc_today
from mls_tracker.services.errors import Conflict, ValidationFailed
from mls_tracker.services.health import (
    ComponentKey,
    health_score,
    partnership_weights,
    save_weights,
)
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
    """The overview: the reviewed month's tiles and health score, the charts, and what needs
    attention."""
    partnership = get_partnership(partnership_id)
    today = utc_today()
    data = overview.load_overview(partnership, today)
    html = render_template(
        "partnerships/show.html",
        partnership=partnership,
        overview=data,
        chart_views=overview.chart_views(partnership, today, data),
        my_role=role_in(current_user, partnership.id),
        may_manage=can(current_user, Action.MANAGE, partnership.id),
    )
    # The monthly figures computed for this page were added to their cache: keep them.
    db.session.commit()
    return html


@bp.get("/<int:partnership_id>/charts/<chart>.csv")
@auth_required()
def chart_data(partnership_id: int, chart: str):
    """The data behind one chart of the overview."""
    partnership = get_partnership(partnership_id)
    spec = overview.CHARTS_BY_KEY.get(chart)
    if spec is None:
        abort(404)
    rows = overview.chart_rows(spec, partnership, utc_today())
    db.session.commit()
    return csv_response(f"partnership-{partnership.id}-{spec.key}.csv", spec.header, rows)


@bp.get("/<int:partnership_id>/people")
@auth_required()
def people(partnership_id: int):
    """The partnership's facts, its people by role, its active sponsors by region and, for
    leads, the pending invitations."""
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
        "partnerships/people.html",
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
            return redirect(url_for(".people", partnership_id=partnership.id))
    return render_template("partnerships/invite.html", partnership=partnership, form=form)


@bp.route("/<int:partnership_id>/weights", methods=["GET", "POST"])
@auth_required()
def weights(partnership_id: int):
    """The health score's weights: leads edit them and see the effective percentages."""
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = WeightsForm()
    conflict = None
    if not form.is_submitted():
        for name in WEIGHT_FIELDS.values():
            getattr(form, name).data = getattr(partnership, name)
        form.version.data = str(partnership.version)
    elif form.validate():
        values = {key: getattr(form, name).data for key, name in WEIGHT_FIELDS.items()}
        try:
            try:
                version = int(form.version.data)
            except (TypeError, ValueError):
                version = None
            save_weights(current_user, partnership, values, version)
        except ValidationFailed as error:
            attach_error(form, error)
        except Conflict as error:
            db.session.rollback()
            conflict = str(error)
            form.version.data = str(partnership.version)
        else:
            flash(
                "Health weights saved: the score uses them from now on, for every month.", "success"
            )
            return redirect(url_for(".show", partnership_id=partnership.id))
    current = partnership_weights(partnership)
    # The effective shares when every component has data.
    shares = health_score(dict.fromkeys(ComponentKey, 0.0), current).components
    return render_template(
        "partnerships/weights.html",
        partnership=partnership,
        form=form,
        fields=[(key, WEIGHT_FIELDS[key]) for key in ComponentKey],
        shares={c.key: c.effective_weight for c in shares},
        conflict=conflict,
    )
