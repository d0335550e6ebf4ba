"""Action items: creating and editing them, provider updates, verification, lists and reminders.

Rules, as implemented here:

- **Overdue** = status not in ``CLOSED_STATUSES`` and ``due_on < today``.
- The **owner** of an item is a member of its partnership whose role fits the side: a member
  with the provider role for the provider side; a lead, sponsor or viewer for the client side.
- A **provider** changes only the status, a progress note and an evidence link, and only of
  provider-side items; leads change everything. Every update lands on the item's timeline.
- Moving an item into a closed status sets ``closed_on`` to today; moving it out clears
  ``closed_on`` and any verification. A lead verifies a done item, or reopens it with a reason.
- Saves carry the version the user loaded: a save from a stale copy raises ``Conflict``.

Lists are loaded in a fixed number of queries and returned as frozen dataclasses.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlsplit

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import url_for

from mls_tracker import access
from mls_tracker.access import Action, can
from mls_tracker.audit import acting_as
from mls_tracker.extensions import db
from mls_tracker.formatting import day
from mls_tracker.models import (
    CLOSED_STATUSES,
    ActionItem,
    ActionStatus,
    ActionUpdate,
    Challenge,
    Meeting,
    Membership,
    Partnership,
    Priority,
    Role,
    Side,
    Sla,
    User,
    utcnow,
)
from mls_tracker.models.meeting import OPEN_ACTION_SQL
from mls_tracker.pagination import page_window
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.locking import check_version, guarded_save
from mls_tracker.services.mail import send_templated

MANAGE_MESSAGE = "Only a lead of this partnership can do this."
UPDATE_MESSAGE = "Only leads and the provider update this item."
STALE_MESSAGE = (
    "Someone else saved this action item while you were working on it; here is the current "
    "version — your changes were not saved."
)
REMIND_WITHIN_DAYS = 7
SIDE_ROLES = {
    Side.PROVIDER: frozenset({Role.PROVIDER}),
    Side.CLIENT: frozenset({Role.LEAD, Role.SPONSOR, Role.VIEWER}),
}
PRIORITY_RANK = {Priority.CRITICAL: 0, Priority.HIGH: 1, Priority.MEDIUM: 2, Priority.LOW: 3}
STATUS_RANK = {status: rank for rank, status in enumerate(ActionStatus)}
SORTS = ("due", "priority", "status", "title", "carried")


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class ActionRow:
    id: int
    partnership_id: int
    partnership_name: str
    title: str
    owner_side: Side
    owner_id: int | None
    owner_name: str | None
    due_on: dt.date
    priority: Priority
    status: ActionStatus
    times_carried: int
    overdue: bool
    closed_on: dt.date | None
    verified: bool
    meeting_held_on: dt.date | None

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES


@dataclass(frozen=True, slots=True)
class Filters:
    status: str | None = None  # an ActionStatus value, "not closed" or None for all
    owner_side: Side | None = None
    owner_id: int | None = None
    overdue: bool = False
    due_within: int | None = None
    sort: str = "due"
    descending: bool = False


NOT_CLOSED = "not closed"


def _owner_name(user: User | None) -> str | None:
    return (user.display_name or user.email) if user else None


def _row_query() -> sa.Select:
    owner = so.aliased(User)
    return (
        sa.select(ActionItem, Partnership.name, owner, Meeting.held_on)
        .join(Partnership, Partnership.id == ActionItem.partnership_id)
        .outerjoin(owner, owner.id == ActionItem.owner_id)
        .outerjoin(Meeting, Meeting.id == ActionItem.meeting_id)
    )


def _rows(query: sa.Select, today: dt.date) -> list[ActionRow]:
    return [
        ActionRow(
            id=item.id,
            partnership_id=item.partnership_id,
            partnership_name=partnership_name,
            title=item.title,
            owner_side=item.owner_side,
            owner_id=item.owner_id,
            owner_name=_owner_name(owner),
            due_on=item.due_on,
            priority=item.priority,
            status=item.status,
            times_carried=item.times_carried,
            overdue=item.is_overdue(today),
            closed_on=item.closed_on,
            verified=item.verified_at is not None,
            meeting_held_on=held_on,
        )
        for item, partnership_name, owner, held_on in db.session.execute(query)
    ]


def _not_closed() -> sa.ColumnElement[bool]:
    return ActionItem.status.not_in(list(CLOSED_STATUSES))


def _order(sort: str, descending: bool) -> list:
    if sort == "priority":
        key = sa.case(
            {p.value: rank for p, rank in PRIORITY_RANK.items()}, value=ActionItem.priority
        )
    elif sort == "status":
        key = sa.case({s.value: rank for s, rank in STATUS_RANK.items()}, value=ActionItem.status)
    elif sort == "title":
        key = sa.func.lower(ActionItem.title)
    elif sort == "carried":
        # Most carried first reads naturally; "descending" turns it round.
        descending = not descending
        key = ActionItem.times_carried
    else:
        key = ActionItem.due_on
    first = key.desc() if descending else key.asc()
    return [first, ActionItem.due_on, ActionItem.id]


def list_actions(partnership_id: int, filters: Filters, today: dt.date) -> list[ActionRow]:
    """The partnership's action items matching the filters, sorted (one query)."""
    query = _row_query().where(ActionItem.partnership_id == partnership_id)
    if filters.status == NOT_CLOSED:
        query = query.where(_not_closed())
    elif filters.status:
        query = query.where(ActionItem.status == ActionStatus(filters.status))
    if filters.owner_side:
        query = query.where(ActionItem.owner_side == filters.owner_side)
    if filters.owner_id:
        query = query.where(ActionItem.owner_id == filters.owner_id)
    if filters.overdue:
        query = query.where(_not_closed(), ActionItem.due_on < today)
    if filters.due_within is not None:
        query = query.where(
            _not_closed(),
            ActionItem.due_on >= today,
            ActionItem.due_on <= today + dt.timedelta(days=filters.due_within),
        )
    sort = filters.sort if filters.sort in SORTS else "due"
    return _rows(query.order_by(*_order(sort, filters.descending)), today)


MY_ACTIONS_PER_PAGE = 25


@dataclass(frozen=True, slots=True)
class MyActions:
    owned: tuple[ActionRow, ...]  # this page of the open items the user owns
    unowned: tuple[ActionRow, ...]  # provider-side items with no owner, for providers
    total: int  # open items the user owns, all pages
    overdue: int  # of which overdue (due before today)
    due_soon: int  # due today or within REMIND_WITHIN_DAYS
    later: int  # due after that
    page: int  # this page, 1-based, clamped to 1..pages
    pages: int
    first: int  # 1-based position of this page's first row (0 when there is none)

    @property
    def last(self) -> int:
        return self.first + len(self.owned) - 1 if self.owned else 0


_OPEN_ACTION = sa.text(f"{ActionItem.__tablename__}.{OPEN_ACTION_SQL}")


def _my_row_query() -> sa.Select:
    """The columns an ActionRow needs, as plain rows (no ORM objects to build)."""
    owner = so.aliased(User)
    return (
        sa.select(
            ActionItem.id,
            ActionItem.partnership_id,
            Partnership.name.label("partnership_name"),
            ActionItem.title,
            ActionItem.owner_side,
            ActionItem.owner_id,
            sa.func.coalesce(sa.func.nullif(owner.display_name, ""), owner.email).label(
                "owner_name"
            ),
            ActionItem.due_on,
            ActionItem.priority,
            ActionItem.status,
            ActionItem.times_carried,
            ActionItem.closed_on,
            ActionItem.verified_at.is_not(None).label("verified"),
            Meeting.held_on,
        )
        .join(Partnership, Partnership.id == ActionItem.partnership_id)
        .outerjoin(owner, owner.id == ActionItem.owner_id)
        .outerjoin(Meeting, Meeting.id == ActionItem.meeting_id)
    )


def _my_rows(
    query: sa.Select, today: dt.date, values: dict[str, object] | None = None
) -> tuple[ActionRow, ...]:
    return tuple(
        ActionRow(
            id=row.id,
            partnership_id=row.partnership_id,
            partnership_name=row.partnership_name,
            title=row.title,
            owner_side=row.owner_side,
            owner_id=row.owner_id,
            owner_name=row.owner_name,
            due_on=row.due_on,
            priority=row.priority,
            status=row.status,
            times_carried=row.times_carried,
            overdue=row.status not in CLOSED_STATUSES and row.due_on < today,
            closed_on=row.closed_on,
            verified=bool(row.verified),
            meeting_held_on=row.held_on,
        )
        for row in db.session.execute(query, values)
    )


@dataclass(frozen=True, slots=True)
class _MyStatements:
    counts: sa.Select
    owned: sa.Select
    unowned: sa.Select


@cache
def _my_statements(sort: str, *, member: bool) -> _MyStatements:
    """My actions' statements, built once (building them cost more than running them) with
    the parameters ``user_id``, ``today``, ``soon``, ``limit`` and ``offset``. ``member``:
    only the items of partnerships the user is a member of (everyone but admins)."""
    user = _UserId(sa.bindparam("user_id", type_=sa.Integer))
    # The literal condition of the partial index ix_action_items_owner_open_due: the counts
    # read that index alone, the rows its first entries in due order.
    mine = [ActionItem.owner_id == user.id, _OPEN_ACTION]
    if member:
        mine.append(ActionItem.partnership_id.in_(access.member_of(user)))
    today = sa.bindparam("today", type_=sa.Date)
    counts = sa.select(
        sa.func.count(),
        sa.func.count().filter(ActionItem.due_on < today),
        sa.func.count().filter(ActionItem.due_on > sa.bindparam("soon", type_=sa.Date)),
    ).where(*mine)
    limit = sa.bindparam("limit", type_=sa.Integer)
    offset = sa.bindparam("offset", type_=sa.Integer)
    if sort == "partnership":
        # The page's ids first, sorted from the index and the partnerships' names alone;
        # then their rows (otherwise every open item's row would be built to be sorted).
        order = [sa.func.lower(Partnership.name), Partnership.id, ActionItem.due_on, ActionItem.id]
        page_ids = (
            sa.select(ActionItem.id)
            .join(Partnership, Partnership.id == ActionItem.partnership_id)
            .where(*mine)
            .order_by(*order)
            .limit(limit)
            .offset(offset)
        )
        owned = _my_row_query().where(ActionItem.id.in_(page_ids)).order_by(*order)
    else:
        owned = (
            _my_row_query()
            .where(*mine)
            .order_by(ActionItem.due_on, ActionItem.id)
            .limit(limit)
            .offset(offset)
        )
    unowned = (
        _my_row_query()
        .where(
            ActionItem.partnership_id.in_(access.member_of(user, Role.PROVIDER)),
            ActionItem.owner_side == Side.PROVIDER,
            ActionItem.owner_id.is_(None),
            _not_closed(),
        )
        .order_by(ActionItem.due_on, ActionItem.id)
    )
    return _MyStatements(counts=counts, owned=owned, unowned=unowned)


@dataclass(frozen=True, slots=True)
class _UserId:
    """Stands for a user in ``access.member_of``: their id as a bound parameter."""

    id: sa.BindParameter[int]


def my_actions(
    user: User,
    today: dt.date,
    *,
    sort: str = "due",
    page: int | str | None = 1,
    per_page: int = MY_ACTIONS_PER_PAGE,
) -> MyActions:
    """One page of the open items the user owns in their partnerships — soonest due first, or
    by partnership (``sort="partnership"``) — with the totals of every page, and for providers
    the unowned provider-side items of their partnerships (three queries, whatever the size).
    ``page`` (a number or the query string's text) is clamped to 1..the last page."""
    sort = "partnership" if sort == "partnership" else "due"
    statements = _my_statements(sort, member=not user.is_admin)
    soon = today + dt.timedelta(days=REMIND_WITHIN_DAYS)
    values = {"user_id": user.id, "today": today, "soon": soon}
    counts = db.session.execute(statements.counts, values).one()
    total, overdue, later = (int(n or 0) for n in counts)
    window = page_window(total, page, per_page)
    owned = _my_rows(
        statements.owned, today, {**values, "limit": per_page, "offset": window.offset}
    )
    return MyActions(
        owned=owned,
        unowned=_my_rows(statements.unowned, today, values),
        total=total,
        overdue=overdue,
        due_soon=total - overdue - later,
        later=later,
        page=window.number,
        pages=window.pages,
        first=window.offset + 1 if owned else 0,
    )


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    name: str
    role: Role

    @property
    def side(self) -> Side:
        return Side.PROVIDER if self.role is Role.PROVIDER else Side.CLIENT


def owner_candidates(partnership_id: int) -> list[Candidate]:
    """The members who may own an item of the partnership, with their role."""
    rows = db.session.execute(
        sa.select(User.id, User.display_name, User.email, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.partnership_id == partnership_id, User.active.is_(True))
        .order_by(User.display_name, User.email)
    )
    return [Candidate(row.id, row.display_name or row.email, row.role) for row in rows]


def link_choices(partnership_id: int) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(SLAs, challenges) of the partnership an item may be linked to."""
    slas = db.session.execute(
        sa.select(Sla.id, Sla.code, Sla.name)
        .where(Sla.partnership_id == partnership_id)
        .order_by(Sla.code)
    )
    challenges = db.session.execute(
        sa.select(Challenge.id, Challenge.title)
        .where(Challenge.partnership_id == partnership_id)
        .order_by(Challenge.created_at.desc(), Challenge.id.desc())
    )
    return (
        [(row.id, f"{row.code} — {row.name}") for row in slas],
        [(row.id, row.title) for row in challenges],
    )


def load_item(item_id: int) -> ActionItem | None:
    """An item with its timeline, owner, meeting and links (a fixed number of queries)."""
    return db.session.scalar(
        sa.select(ActionItem)
        .options(
            so.selectinload(ActionItem.updates).joinedload(ActionUpdate.author),
            so.joinedload(ActionItem.owner),
            so.joinedload(ActionItem.meeting),
            so.joinedload(ActionItem.sla),
            so.joinedload(ActionItem.challenge),
        )
        .where(ActionItem.id == item_id)
    )


@dataclass(frozen=True, slots=True)
class SavedUpdate:
    """One timeline entry as stored."""

    author_name: str | None
    created_at: dt.datetime
    text: str | None
    old_status: ActionStatus | None
    new_status: ActionStatus | None
    evidence_url: str | None


@dataclass(frozen=True, slots=True)
class SavedAction:
    """An action item as stored now, shown beside a form whose save was refused because
    someone else saved the item first (the form keeps what the user typed)."""

    version: int
    title: str
    description: str | None
    owner_side: Side
    owner_name: str | None
    due_on: dt.date
    priority: Priority
    status: ActionStatus
    evidence_url: str | None
    sla_label: str | None
    challenge_title: str | None
    verified: bool
    latest: tuple[SavedUpdate, ...]  # the newest timeline entries, newest first


def saved_action(item_id: int, latest: int = 3) -> SavedAction | None:
    """The item as stored now, with its ``latest`` timeline entries. Read after a refused
    save (whose guard rolled the session back), so it is what the other person saved."""
    item = load_item(item_id)
    if item is None:
        return None
    entries = sorted(item.updates, key=lambda u: (u.created_at, u.id), reverse=True)[:latest]
    return SavedAction(
        version=item.version,
        title=item.title,
        description=item.description,
        owner_side=item.owner_side,
        owner_name=_owner_name(item.owner),
        due_on=item.due_on,
        priority=item.priority,
        status=item.status,
        evidence_url=item.evidence_url,
        sla_label=f"{item.sla.code} — {item.sla.name}" if item.sla else None,
        challenge_title=item.challenge.title if item.challenge else None,
        verified=item.verified_at is not None,
        latest=tuple(
            SavedUpdate(
                author_name=_owner_name(entry.author),
                created_at=entry.created_at,
                text=entry.text,
                old_status=entry.old_status,
                new_status=entry.new_status,
                evidence_url=entry.evidence_url,
            )
            for entry in entries
        ),
    )


def _update_action(item: ActionItem) -> Action:
    """Leads update any item; providers only provider-side ones. (A lead's role allows every
    action, so "manage, or update a provider-side item" is this one action per side.)"""
    return Action.UPDATE_PROVIDER_ACTIONS if item.owner_side is Side.PROVIDER else Action.MANAGE


def may_update(actor: User, item: ActionItem) -> bool:
    """Leads update any item; providers only provider-side ones."""
    return can(actor, _update_action(item), item.partnership_id)


def require_update(actor: User, item: ActionItem) -> None:
    """Refuse an update by someone who may not post one (see ``may_update``)."""
    access.require(actor, _update_action(item), item.partnership_id, message=UPDATE_MESSAGE)


# ----------------------------------------------------------------------------- writes


def clean_evidence_url(url: str | None) -> str | None:
    url = (url or "").strip() or None
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc or " " in url:
        raise ValidationFailed(
            "Enter a web link that starts with http:// or https://.", field="evidence_url"
        )
    if len(url) > 1000:
        raise ValidationFailed("Keep the link to 1,000 characters.", field="evidence_url")
    return url


@dataclass
class _Values:
    title: str
    description: str | None
    owner_side: Side
    owner_id: int | None
    due_on: dt.date
    priority: Priority
    status: ActionStatus
    sla_id: int | None
    challenge_id: int | None
    extra: dict = field(default_factory=dict)


def _clean(
    partnership_id: int,
    *,
    meeting: Meeting | None,
    title: str | None,
    description: str | None,
    owner_side: Side | str | None,
    owner_id: int | None,
    due_on: dt.date | None,
    priority: Priority | str | None,
    status: ActionStatus | str | None,
    sla_id: int | None,
    challenge_id: int | None,
) -> _Values:
    title = (title or "").strip()
    if not title:
        raise ValidationFailed("Enter a title: what has to be done.", field="title")
    if len(title) > 300:
        raise ValidationFailed("Keep the title to 300 characters.", field="title")
    try:
        side = Side(owner_side)
    except ValueError as error:
        raise ValidationFailed(
            "Choose the client or the provider side.", field="owner_side"
        ) from error
    if owner_id:
        role = db.session.scalar(
            sa.select(Membership.role).where(
                Membership.partnership_id == partnership_id, Membership.user_id == owner_id
            )
        )
        if role is None:
            raise ValidationFailed(
                "Choose an owner who is a member of this partnership.", field="owner_id"
            )
        if role not in SIDE_ROLES[side]:
            raise ValidationFailed(
                f"This person is on the {'provider' if role is Role.PROVIDER else 'client'} "
                f"side: choose an owner of the {side} side, or change the side.",
                field="owner_id",
            )
    if due_on is None:
        raise ValidationFailed("Enter the due date.", field="due_on")
    if meeting is not None and due_on < meeting.held_on:
        raise ValidationFailed(
            f"The due date cannot be before the meeting ({day(meeting.held_on)}).",
            field="due_on",
        )
    try:
        priority = Priority(priority)
    except ValueError as error:
        raise ValidationFailed("Choose a priority.", field="priority") from error
    try:
        status = ActionStatus(status)
    except ValueError as error:
        raise ValidationFailed("Choose a status.", field="status") from error
    if sla_id and not db.session.scalar(
        sa.select(Sla.id).where(Sla.id == sla_id, Sla.partnership_id == partnership_id)
    ):
        raise ValidationFailed("Choose one of this partnership's SLAs.", field="sla_id")
    if challenge_id and not db.session.scalar(
        sa.select(Challenge.id).where(
            Challenge.id == challenge_id, Challenge.partnership_id == partnership_id
        )
    ):
        raise ValidationFailed("Choose one of this partnership's challenges.", field="challenge_id")
    return _Values(
        title=title,
        description=(description or "").strip() or None,
        owner_side=side,
        owner_id=owner_id or None,
        due_on=due_on,
        priority=priority,
        status=status,
        sla_id=sla_id or None,
        challenge_id=challenge_id or None,
    )


def _apply_status(item: ActionItem, status: ActionStatus, today: dt.date) -> None:
    if status == item.status:
        return
    if status in CLOSED_STATUSES:
        item.closed_on = today
    else:
        item.closed_on = None
    item.verified_by_id = None
    item.verified_at = None
    item.status = status


def meeting_of(partnership_id: int, meeting_id: int | None) -> Meeting | None:
    """The partnership's meeting with this id, or None (another partnership's is None too)."""
    if not meeting_id:
        return None
    meeting = db.session.get(Meeting, meeting_id)
    return meeting if meeting and meeting.partnership_id == partnership_id else None


def create_action(
    actor: User,
    partnership: Partnership,
    *,
    today: dt.date,
    meeting_id: int | None = None,
    title: str | None,
    description: str | None = None,
    owner_side: Side | str | None,
    owner_id: int | None = None,
    due_on: dt.date | None,
    priority: Priority | str | None = Priority.MEDIUM,
    status: ActionStatus | str | None = ActionStatus.OPEN,
    sla_id: int | None = None,
    challenge_id: int | None = None,
) -> ActionItem:
    access.require(actor, Action.MANAGE, partnership.id, message=MANAGE_MESSAGE)
    meeting = meeting_of(partnership.id, meeting_id)
    if meeting_id and meeting is None:
        raise ValidationFailed("That meeting is not one of this partnership's.")
    values = _clean(
        partnership.id,
        meeting=meeting,
        title=title,
        description=description,
        owner_side=owner_side,
        owner_id=owner_id,
        due_on=due_on,
        priority=priority,
        status=status,
        sla_id=sla_id,
        challenge_id=challenge_id,
    )
    with acting_as(actor.id):
        item = ActionItem(
            partnership_id=partnership.id,
            meeting_id=meeting.id if meeting else None,
            title=values.title,
            description=values.description,
            owner_side=values.owner_side,
            owner_id=values.owner_id,
            due_on=values.due_on,
            priority=values.priority,
            status=values.status,
            sla_id=values.sla_id,
            challenge_id=values.challenge_id,
            created_by_id=actor.id,
            closed_on=today if values.status in CLOSED_STATUSES else None,
        )
        db.session.add(item)
        db.session.commit()
    return item


def edit_action(
    actor: User,
    item: ActionItem,
    *,
    today: dt.date,
    title: str | None,
    description: str | None,
    owner_side: Side | str | None,
    owner_id: int | None,
    due_on: dt.date | None,
    priority: Priority | str | None,
    status: ActionStatus | str | None,
    sla_id: int | None,
    challenge_id: int | None,
    expected_version: int | None,
) -> ActionItem:
    """A lead's edit of every field; a status change is written on the timeline."""
    access.require(actor, Action.MANAGE, item.partnership_id, message=MANAGE_MESSAGE)
    check_version(item, expected_version, STALE_MESSAGE)
    values = _clean(
        item.partnership_id,
        meeting=item.meeting,
        title=title,
        description=description,
        owner_side=owner_side,
        owner_id=owner_id,
        due_on=due_on,
        priority=priority,
        status=status,
        sla_id=sla_id,
        challenge_id=challenge_id,
    )
    with acting_as(actor.id), guarded_save(STALE_MESSAGE):
        old_status = item.status
        for key in (
            "title",
            "description",
            "owner_side",
            "owner_id",
            "due_on",
            "priority",
            "sla_id",
            "challenge_id",
        ):
            setattr(item, key, getattr(values, key))
        if values.status != old_status:
            _apply_status(item, values.status, today)
            item.updates.append(
                ActionUpdate(
                    author_id=actor.id,
                    text="Status changed in an edit of the item.",
                    old_status=old_status,
                    new_status=values.status,
                )
            )
    return item


def post_update(
    actor: User,
    item: ActionItem,
    *,
    today: dt.date,
    status: ActionStatus | str | None,
    note: str | None,
    evidence_url: str | None,
    expected_version: int | None,
) -> ActionUpdate:
    """A progress update: status, a note and an evidence link — nothing else of the item."""
    require_update(actor, item)
    check_version(item, expected_version, STALE_MESSAGE)
    try:
        status = ActionStatus(status)
    except ValueError as error:
        raise ValidationFailed("Choose a status.", field="status") from error
    evidence_url = clean_evidence_url(evidence_url)
    note = (note or "").strip() or None
    if note is None and evidence_url is None and status == item.status:
        raise ValidationFailed(
            "Write a progress note, add an evidence link or change the status.", field="note"
        )
    if item.verified_at is not None and status != item.status:
        # What a lead confirmed stays confirmed: reopening it is the lead's, with a reason.
        raise ValidationFailed(VERIFIED_STAYS_MESSAGE, field="status")
    with acting_as(actor.id), guarded_save(STALE_MESSAGE):
        old_status = item.status
        _apply_status(item, status, today)
        if evidence_url:
            item.evidence_url = evidence_url
        item.updated_at = utcnow()  # a timeline entry is a save of the item (bumps version)
        update = ActionUpdate(
            author_id=actor.id,
            text=note,
            old_status=old_status if status != old_status else None,
            new_status=status if status != old_status else None,
            evidence_url=evidence_url,
        )
        item.updates.append(update)
    return update


VERIFIED_STAYS_MESSAGE = (
    "A lead has verified this item as done: its status stays done. A note or an evidence "
    "link can still be added; a lead can reopen it, with a reason."
)


def verify_refusal(item: ActionItem) -> str | None:
    """Why the item cannot be verified (it is not done, or verified already), or None."""
    if item.status is not ActionStatus.DONE:
        return "Only a done item can be verified."
    if item.verified_at is not None:
        return "This item is already verified."
    return None


def verify_action(actor: User, item: ActionItem, *, expected_version: int | None) -> None:
    """A lead confirms that a done item really is done."""
    access.require(actor, Action.MANAGE, item.partnership_id, message=MANAGE_MESSAGE)
    check_version(item, expected_version, STALE_MESSAGE)
    if refusal := verify_refusal(item):
        raise ValidationFailed(refusal)
    with acting_as(actor.id), guarded_save(STALE_MESSAGE):
        item.verified_by_id = actor.id
        item.verified_at = utcnow()
        item.updates.append(ActionUpdate(author_id=actor.id, text="Verified as done."))


def reopen_action(
    actor: User, item: ActionItem, *, reason: str | None, expected_version: int | None
) -> None:
    """A lead sends a closed item back to open, saying why on the timeline."""
    access.require(actor, Action.MANAGE, item.partnership_id, message=MANAGE_MESSAGE)
    check_version(item, expected_version, STALE_MESSAGE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the item is reopened.", field="reason")
    if item.status not in CLOSED_STATUSES:
        raise ValidationFailed("Only a done or cancelled item can be reopened.")
    with acting_as(actor.id), guarded_save(STALE_MESSAGE):
        old_status = item.status
        item.status = ActionStatus.OPEN
        item.closed_on = None
        item.verified_by_id = None
        item.verified_at = None
        item.updates.append(
            ActionUpdate(
                author_id=actor.id,
                text=f"Reopened: {reason}",
                old_status=old_status,
                new_status=ActionStatus.OPEN,
            )
        )


# ----------------------------------------------------------------------------- reminders


@dataclass(frozen=True, slots=True)
class Digest:
    email: str
    name: str
    overdue: tuple[ActionRow, ...]
    due_soon: tuple[ActionRow, ...]

    @property
    def count(self) -> int:
        return len(self.overdue) + len(self.due_soon)


def reminder_digests(today: dt.date) -> list[Digest]:
    """One digest per active owner with items overdue or due within 7 days (two queries)."""
    horizon = today + dt.timedelta(days=REMIND_WITHIN_DAYS)
    rows = _rows(
        _row_query()
        .where(
            _not_closed(),
            ActionItem.owner_id.is_not(None),
            ActionItem.due_on <= horizon,
        )
        .order_by(ActionItem.due_on, ActionItem.id),
        today,
    )
    by_owner: dict[int, list[ActionRow]] = defaultdict(list)
    for row in rows:
        by_owner[row.owner_id].append(row)
    if not by_owner:
        return []
    owners = db.session.execute(
        sa.select(User.id, User.email, User.display_name)
        .where(User.id.in_(list(by_owner)), User.active.is_(True))
        .order_by(User.email)
    ).all()
    return [
        Digest(
            email=owner.email,
            name=owner.display_name or owner.email,
            overdue=tuple(row for row in by_owner[owner.id] if row.overdue),
            due_soon=tuple(row for row in by_owner[owner.id] if not row.overdue),
        )
        for owner in owners
    ]


@dataclass(frozen=True, slots=True)
class ReminderResult:
    sent: int
    items: int
    failures: tuple[tuple[str, str], ...]  # (e-mail address, why)


def email_digest(digest: Digest, today: dt.date) -> None:
    """E-mail one owner their digest, every item linked (inside ``mail.external_links`` when
    there is no request)."""

    def link(row: ActionRow) -> str:
        return url_for(
            "actions.show", partnership_id=row.partnership_id, action_id=row.id, _external=True
        )

    count = digest.count
    send_templated(
        digest.email,
        f"{count} action item{'' if count == 1 else 's'} need{'s' if count == 1 else ''} "
        "your attention",
        "action_reminder",
        digest=digest,
        link=link,
        today=today,
        my_actions_url=url_for("actions.mine", _external=True),
    )


def send_reminders(
    today: dt.date,
    on_failure: Callable[[str, str], None],
    send: Callable[[Digest, dt.date], None] = email_digest,
) -> ReminderResult:
    """Send each digest (by e-mail unless ``send`` says otherwise); a failure for one
    recipient does not stop the others."""
    sent = items = 0
    failures = []
    for digest in reminder_digests(today):
        try:
            send(digest, today)
        except Exception as error:  # noqa: BLE001 — any SMTP or network error is per recipient
            reason = str(error) or type(error).__name__
            failures.append((digest.email, reason))
            on_failure(digest.email, reason)
        else:
            sent += 1
            items += digest.count
    return ReminderResult(sent=sent, items=items, failures=tuple(failures))
