"""Partnership list, the partnership overview (tiles, health, charts, needs attention) with
its charts' data as CSV, the people page, the health weights, and inviting people."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required

from mls_tracker.access import Action, can, get_partnership, role_in, visible_partnerships
from mls_tracker.auth.forms import InviteForm
from mls_tracker.exports import csv_response
from mls_tracker.extensions import db
from mls_tracker.formhelp import attach_error
from mls_tracker.models import (
    Invitation,
    Membership,
    Organisation,
    Partnership,
    Region,
    Role,
    Sponsor,
    User,
    partnership_regions,
    utcnow,
)
from mls_tracker.partnerships import overview
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

bp = Blueprint("partnerships", __name__, url_prefix="/partnerships")

SORTS = {
    "name": Partnership.name,
    "status": Partnership.status,
    "start": Partnership.start_date,
    "renewal": Partnership.renewal_date,
}


PER_PAGE = 25


def _page_number(total: int, per_page: int) -> tuple[int, int]:
    """(the requested page clamped to 1..last, the number of pages): a missing or unreadable
    ``?page=`` is page 1, one past the end is the last page."""
    pages = max(1, -(-total // per_page))
    number = request.args.get("page", 1, type=int) or 1
    return min(max(number, 1), pages), pages


@bp.get("/")
@auth_required()
def index():
    """One page of the partnerships the user may see, sorted in SQL over all of them. Plain
    rows, not ORM objects: the template only reads fields (four queries, whatever the size)."""
    sort = request.args.get("sort", "name")
    if sort not in SORTS:
        sort = "name"
    visible = visible_partnerships(current_user).with_only_columns(Partnership.id)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(visible.subquery())) or 0
    number, pages = _page_number(total, PER_PAGE)
    client = so.aliased(Organisation)
    provider = so.aliased(Organisation)
    home = so.aliased(Region)
    rows = db.session.execute(
        sa.select(
            Partnership.id,
            Partnership.name,
            Partnership.status,
            Partnership.engagement_model,
            Partnership.governance_model,
            Partnership.start_date,
            Partnership.renewal_date,
            Partnership.annual_value,
            Partnership.currency,
            client.name.label("client_name"),
            provider.name.label("provider_name"),
            home.id.label("home_region_id"),
            home.name.label("home_region_name"),
        )
        .join(client, client.id == Partnership.client_id)
        .join(provider, provider.id == Partnership.provider_id)
        .outerjoin(home, home.id == Partnership.home_region_id)
        .where(Partnership.id.in_(visible))
        .order_by(SORTS[sort], Partnership.name, Partnership.id)
        .limit(PER_PAGE)
        .offset((number - 1) * PER_PAGE)
    ).all()
    ids = [row.id for row in rows]
    home_of = {row.id: row.home_region_id for row in rows}
    regions: dict[int, list[str]] = {pid: [] for pid in ids}
    if ids:
        for pid, region_id, region_name in db.session.execute(
            sa.select(partnership_regions.c.partnership_id, Region.id, Region.name)
            .join(Region, Region.id == partnership_regions.c.region_id)
            .where(partnership_regions.c.partnership_id.in_(ids))
            .order_by(Region.position, Region.id)
        ):
            if region_id != home_of[pid]:
                regions[pid].append(region_name)
    roles = {pid: role_in(current_user, pid) for pid in ids}
    first = (number - 1) * PER_PAGE + 1 if rows else 0
    return render_template(
        "partnerships/index.html",
        partnerships=rows,
        regions=regions,
        roles=roles,
        sort=sort,
        page=number,
        pages=pages,
        total=total,
        first=first,
        last=first + len(rows) - 1 if rows else 0,
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
