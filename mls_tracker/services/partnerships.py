"""What the partnership pages read: the list of partnerships a user may see, one page at a
time, a partnership's people, active sponsors and pending invitations, and its health
weights."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker import access
from mls_tracker.access import Action, can, role_in, visible_partnerships
from mls_tracker.extensions import db
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
from mls_tracker.pagination import PageWindow, page_window
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.health import WEIGHT_COLUMNS, ComponentKey
from mls_tracker.services.locking import check_version, commit_or_conflict

PER_PAGE = 25

SORTS = {
    "name": Partnership.name,
    "status": Partnership.status,
    "start": Partnership.start_date,
    "renewal": Partnership.renewal_date,
}


@dataclass(frozen=True)
class PartnershipList:
    """One page of the partnerships a user may see. ``rows`` are plain rows (id, name,
    status, …, client_name, provider_name, home_region_id, home_region_name)."""

    rows: Sequence[sa.Row]
    regions: dict[int, list[str]]  # partnership id → names of its non-home regions in scope
    roles: dict[int, Role | None]  # partnership id → the user's role (None: an admin)
    sort: str
    window: PageWindow

    @property
    def first(self) -> int:
        """1-based position of this page's first row (0 when there is none)."""
        return self.window.offset + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def list_partnerships(user: User, *, sort: str | None, page: object) -> PartnershipList:
    """One page of the partnerships the user may see, sorted in SQL over all of them (an
    unknown ``sort`` is by name), in four queries whatever the size."""
    if sort not in SORTS:
        sort = "name"
    visible = visible_partnerships(user).with_only_columns(Partnership.id)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(visible.subquery())) or 0
    window = page_window(total, page, PER_PAGE)
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
        .limit(window.per_page)
        .offset(window.offset)
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
    roles = {pid: role_in(user, pid) for pid in ids}
    return PartnershipList(rows, regions, roles, sort, window)


@dataclass(frozen=True)
class People:
    """A partnership's people page: members by role, active sponsors, and (for those who may
    invite) the pending invitations."""

    members: Sequence[sa.Row[tuple[Membership, User]]]  # ordered by role, then name
    sponsors: Sequence[Sponsor]  # active on the day, with their region loaded
    pending: Sequence[Invitation]  # newest first; empty unless ``may_invite``
    may_invite: bool


def people_of(user: User, partnership_id: int, today: dt.date) -> People:
    """The members, the sponsors active ``today`` and, for those who may invite, the
    invitations not yet accepted nor expired."""
    access.require(user, Action.VIEW, partnership_id)
    members = db.session.execute(
        sa.select(Membership, User)
        .join(User, Membership.user_id == User.id)
        .where(Membership.partnership_id == partnership_id)
        .order_by(Membership.role, User.display_name)
    ).all()
    sponsors = db.session.scalars(
        sa.select(Sponsor)
        .options(so.joinedload(Sponsor.region))
        .where(
            Sponsor.partnership_id == partnership_id,
            Sponsor.start_date <= today,
            sa.or_(Sponsor.end_date.is_(None), Sponsor.end_date >= today),
        )
        .order_by(Sponsor.side, Sponsor.name)
    ).all()
    may_invite = can(user, Action.INVITE, partnership_id)
    pending: Sequence[Invitation] = []
    if may_invite:
        pending = db.session.scalars(
            sa.select(Invitation)
            .where(
                Invitation.partnership_id == partnership_id,
                Invitation.accepted_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
            .order_by(Invitation.created_at.desc())
        ).all()
    return People(members, sponsors, pending, may_invite)


def save_weights(
    actor: User,
    partnership: Partnership,
    weights: dict[ComponentKey, Decimal | float | None],
    version: int | None,
) -> None:
    """Sets a partnership's four weights (each ≥ 0, at least one above 0). Leads only;
    refused when someone saved other weights since ``version`` was read; audited."""
    access.require(actor, Action.MANAGE, partnership, "Only a lead may change the health weights.")
    message = (
        "Someone changed these weights while you were editing: the page now shows theirs. "
        "Save again to replace them with yours."
    )
    check_version(partnership, version, message)
    for key, value in weights.items():
        if value is None or value < 0:
            raise ValidationFailed("Enter a weight of 0 or more.", WEIGHT_COLUMNS[key])
    if not any(value > 0 for value in weights.values()):
        raise ValidationFailed(
            "At least one weight must be above 0.", WEIGHT_COLUMNS[ComponentKey.SLA]
        )
    for key, value in weights.items():
        setattr(partnership, WEIGHT_COLUMNS[key], Decimal(value).quantize(Decimal("0.01")))
    commit_or_conflict(message)
