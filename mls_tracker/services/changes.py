"""The change-management log: listing (sorted and filtered), CSV rows, and logging, editing
and deleting changes.

Rules, as implemented here:

- Providers and leads may log a change (``Action.LOG_WINS_AND_CHANGES``); only leads edit or
  delete one (``Action.MANAGE``).
- Impacted regions are chosen among the partnership's regions in scope; the owner, if any, is
  a member of the partnership.
- A change is **going live soon** when it is neither live nor cancelled and its planned date
  falls between today and today + 30 days, both included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker import access
from mls_tracker.access import Action
from mls_tracker.audit import acting_as
from mls_tracker.extensions import db
from mls_tracker.models import (
    Change,
    ChangeStatus,
    ChangeType,
    Membership,
    Partnership,
    Region,
    User,
    partnership_regions,
)
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.locking import check_version, guarded_save

SOON_DAYS = 30
SORTS = ("planned", "status", "title")
TITLE_MAX = 200

DENIED_MESSAGE = "You may not do this in this partnership."
STALE_MESSAGE = (
    "Someone else changed this entry of the change log while you were editing; here is the "
    "current version — your changes were not saved."
)


@dataclass(frozen=True, slots=True)
class ChangeView:
    id: int
    version: int
    title: str
    description: str | None
    change_type: ChangeType
    planned_on: dt.date | None
    communication_plan: str | None
    owner_id: int | None
    owner_name: str | None
    status: ChangeStatus
    region_ids: tuple[int, ...]
    region_names: tuple[str, ...]
    created_by_name: str | None
    created_at: dt.datetime | None
    going_live_soon: bool


def is_going_live_soon(planned_on: dt.date | None, status: ChangeStatus, today: dt.date) -> bool:
    return (
        planned_on is not None
        and status not in (ChangeStatus.LIVE, ChangeStatus.CANCELLED)
        and today <= planned_on <= today + dt.timedelta(days=SOON_DAYS)
    )


def _view(change: Change, creator: str | None, today: dt.date) -> ChangeView:
    regions = sorted(change.regions, key=lambda r: (r.position, r.name))
    return ChangeView(
        id=change.id,
        version=change.version,
        title=change.title,
        description=change.description,
        change_type=change.change_type,
        planned_on=change.planned_on,
        communication_plan=change.communication_plan,
        owner_id=change.owner_id,
        owner_name=change.owner.display_name if change.owner else None,
        status=change.status,
        region_ids=tuple(r.id for r in regions),
        region_names=tuple(r.name for r in regions),
        created_by_name=creator,
        created_at=change.created_at,
        going_live_soon=is_going_live_soon(change.planned_on, change.status, today),
    )


def _query() -> sa.Select:
    creator = so.aliased(User)
    return (
        sa.select(Change, creator.display_name)
        .outerjoin(creator, creator.id == Change.created_by_id)
        .options(so.selectinload(Change.regions), so.joinedload(Change.owner))
    )


def change_view(change: Change, today: dt.date) -> ChangeView:
    creator = db.session.scalar(sa.select(User.display_name).where(User.id == change.created_by_id))
    return _view(change, creator, today)


_STATUS_ORDER = {status: index for index, status in enumerate(ChangeStatus)}


def list_changes(
    partnership_id: int,
    today: dt.date,
    *,
    status: ChangeStatus | None = None,
    change_type: ChangeType | None = None,
    region_id: int | None = None,
    soon_only: bool = False,
    sort: str = "planned",
) -> list[ChangeView]:
    """The partnership's changes, filtered and sorted (a fixed number of queries)."""
    query = _query().where(Change.partnership_id == partnership_id)
    if status is not None:
        query = query.where(Change.status == status)
    if change_type is not None:
        query = query.where(Change.change_type == change_type)
    if region_id is not None:
        query = query.where(
            Change.regions.any(Region.id == region_id)  # type: ignore[attr-defined]
        )
    if soon_only:
        query = query.where(
            Change.planned_on.between(today, today + dt.timedelta(days=SOON_DAYS)),
            Change.status.not_in((ChangeStatus.LIVE, ChangeStatus.CANCELLED)),
        )
    views = [_view(change, creator, today) for change, creator in db.session.execute(query)]
    far = dt.date.max
    if sort == "status":
        views.sort(key=lambda v: (_STATUS_ORDER[v.status], v.planned_on or far, v.title.lower()))
    elif sort == "title":
        views.sort(key=lambda v: (v.title.lower(), v.id))
    else:  # planned date, soonest first; undated at the end
        views.sort(key=lambda v: (v.planned_on or far, v.title.lower(), v.id))
    return views


CSV_COLUMNS = (
    "Title",
    "Type",
    "Status",
    "Planned date",
    "Going live soon",
    "Impacted regions",
    "Owner",
    "Description",
    "Communication plan",
    "Logged by",
)


def change_rows(views: Iterable[ChangeView]) -> Iterable[Sequence]:
    for view in views:
        yield (
            view.title,
            str(view.change_type).capitalize(),
            str(view.status).capitalize(),
            view.planned_on.isoformat() if view.planned_on else "",
            "yes" if view.going_live_soon else "no",
            "; ".join(view.region_names),
            view.owner_name or "",
            view.description or "",
            view.communication_plan or "",
            view.created_by_name or "",
        )


def regions_in_scope(partnership_id: int) -> list[Region]:
    return list(
        db.session.scalars(
            sa.select(Region)
            .join(partnership_regions, partnership_regions.c.region_id == Region.id)
            .where(partnership_regions.c.partnership_id == partnership_id)
            .order_by(Region.position, Region.name)
        )
    )


def owner_candidates(partnership_id: int) -> list[User]:
    """Members of the partnership, who may own a change."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.partnership_id == partnership_id)
            .order_by(User.display_name, User.id)
        )
    )


# ----------------------------------------------------------------------------- writes


def _clean(
    partnership_id: int,
    *,
    title: str | None,
    description: str | None,
    change_type: ChangeType | str | None,
    planned_on: dt.date | None,
    communication_plan: str | None,
    owner_id: int | None,
    status: ChangeStatus | str | None,
    region_ids: Sequence[int] | None,
    current_region_ids: Sequence[int] = (),
) -> dict:
    title = (title or "").strip()
    if not title:
        raise ValidationFailed("Enter a title for the change.", field="title")
    if len(title) > TITLE_MAX:
        raise ValidationFailed(f"Keep the title to {TITLE_MAX} characters.", field="title")
    try:
        change_type = ChangeType(change_type)
    except ValueError as error:
        raise ValidationFailed("Choose the type of change.", field="change_type") from error
    try:
        status = ChangeStatus(status)
    except ValueError as error:
        raise ValidationFailed("Choose a status.", field="status") from error
    if planned_on is not None and not isinstance(planned_on, dt.date):
        raise ValidationFailed("Enter the planned date as a date.", field="planned_on")
    wanted = set(region_ids or ())
    in_scope = {region.id: region for region in regions_in_scope(partnership_id)}
    # A change keeps a region that has since left the scope (the log stays editable).
    allowed = set(in_scope) | set(current_region_ids)
    if wanted - allowed:
        raise ValidationFailed(
            "Choose only regions in scope of this partnership.", field="region_ids"
        )
    regions = list(db.session.scalars(sa.select(Region).where(Region.id.in_(wanted))))
    if owner_id:
        is_member = db.session.scalar(
            sa.select(Membership.id).where(
                Membership.partnership_id == partnership_id, Membership.user_id == owner_id
            )
        )
        if not is_member:
            raise ValidationFailed(
                "Choose an owner who is a member of this partnership, or no owner.",
                field="owner_id",
            )
    return {
        "title": title,
        "description": (description or "").strip() or None,
        "change_type": change_type,
        "planned_on": planned_on,
        "communication_plan": (communication_plan or "").strip() or None,
        "owner_id": owner_id or None,
        "status": status,
        "regions": regions,
    }


def log_change(actor: User, partnership: Partnership, **values) -> Change:
    """Log a change (providers and leads)."""
    access.require(actor, Action.LOG_WINS_AND_CHANGES, partnership.id, message=DENIED_MESSAGE)
    clean = _clean(partnership.id, **values)
    with acting_as(actor.id):
        change = Change(partnership_id=partnership.id, created_by_id=actor.id, **clean)
        db.session.add(change)
        db.session.commit()
    return change


def update_change(actor: User, change: Change, *, expected_version: int | None, **values) -> Change:
    """Edit a change (leads), refusing a save based on an outdated version."""
    access.require(actor, Action.MANAGE, change.partnership_id, message=DENIED_MESSAGE)
    check_version(change, expected_version, STALE_MESSAGE)
    clean = _clean(
        change.partnership_id, **values, current_region_ids=[r.id for r in change.regions]
    )
    with acting_as(actor.id), guarded_save(STALE_MESSAGE):
        for key, value in clean.items():
            setattr(change, key, value)
    return change


def delete_change(actor: User, change: Change, *, expected_version: int | None) -> None:
    """Delete a change (leads)."""
    access.require(actor, Action.MANAGE, change.partnership_id, message=DENIED_MESSAGE)
    check_version(change, expected_version, STALE_MESSAGE)
    with acting_as(actor.id), guarded_save(STALE_MESSAGE):
        db.session.delete(change)
