"""People, as an administrator manages them: the list (search, filters, sort, pages, CSV), a
person's details and memberships, the global role, deactivation, two-factor reset; and each
person's own account settings (name, time zone).

Rules, as implemented here:

- Everything but ``update_own_account`` is for administrators only (``access.require_admin``).
- The last active administrator cannot take away their own administrator role nor deactivate
  themselves: the product would be left without anyone to run it.
- Deactivating someone ends every live session of theirs and revokes every API token in the
  same transaction (the flush listener in ``models/people.py``); reactivating revives none.
- Lists are loaded in a fixed number of queries, whatever the number of rows.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker import access
from mls_tracker.extensions import db
from mls_tracker.models import (
    ApiToken,
    Invitation,
    Membership,
    Organisation,
    Partnership,
    Role,
    User,
    UserSession,
    utcnow,
)
from mls_tracker.pagination import PageWindow, page_window
from mls_tracker.services.errors import NotFound, PermissionDenied, ValidationFailed

PER_PAGE = 50
ROLE_FILTERS = ("admin", *(role.value for role in Role))
STATUS_FILTERS = ("active", "inactive")
SIGN_IN_FILTERS = {
    "never": "Never signed in",
    "recent": "In the last 30 days",
    "dormant": "Not for over 90 days",
}
RECENT_DAYS = 30
DORMANT_DAYS = 90
LAST_ADMIN_MESSAGE = (
    "You are the only active administrator: make someone else an administrator first, "
    "or nobody could run MLS Tracker."
)
CSV_COLUMNS = (
    "Name",
    "E-mail",
    "Organisation",
    "Administrator",
    "Active",
    "Two-factor",
    "Last sign-in (UTC)",
    "Partnerships",
)


def _sorts() -> dict[str, list]:
    return {
        "name": [sa.func.lower(User.display_name), User.id],
        "email": [User.email, User.id],
        "organisation": [
            sa.func.lower(Organisation.name).asc().nulls_last(),
            sa.func.lower(User.display_name),
            User.id,
        ],
        "last_sign_in": [User.current_login_at.desc().nulls_last(), User.id],
    }


SORTS = ("name", "email", "organisation", "last_sign_in")


@dataclass(frozen=True)
class UserFilters:
    search: str = ""
    organisation_id: int | None = None
    role: str = ""
    status: str = ""
    signed_in: str = ""

    def __post_init__(self) -> None:
        # Unknown values are ignored rather than refused: a hand-edited URL shows everyone.
        object.__setattr__(self, "search", (self.search or "").strip()[:200])
        if self.role not in ROLE_FILTERS:
            object.__setattr__(self, "role", "")
        if self.status not in STATUS_FILTERS:
            object.__setattr__(self, "status", "")
        if self.signed_in not in SIGN_IN_FILTERS:
            object.__setattr__(self, "signed_in", "")

    @property
    def any(self) -> bool:
        return bool(
            self.search or self.organisation_id or self.role or self.status or self.signed_in
        )

    def query_args(self) -> dict[str, str | int]:
        """The filters as query-string arguments (for links that keep them)."""
        args: dict[str, str | int] = {
            "q": self.search,
            "organisation": self.organisation_id or "",
            "role": self.role,
            "status": self.status,
            "signed_in": self.signed_in,
        }
        return {key: value for key, value in args.items() if value}


@dataclass(frozen=True)
class MembershipView:
    id: int
    partnership_id: int
    partnership_name: str
    role: Role
    archived: bool


@dataclass(frozen=True)
class UserRow:
    id: int
    display_name: str
    email: str
    organisation_name: str | None
    is_admin: bool
    active: bool
    two_factor: bool
    last_sign_in: dt.datetime | None
    memberships: tuple[MembershipView, ...]


@dataclass(frozen=True)
class UserList:
    rows: list[UserRow]
    window: PageWindow
    sort: str

    @property
    def first(self) -> int:
        return self.window.offset + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def _conditions(filters: UserFilters, now: dt.datetime) -> list:
    # Service accounts are listed on their own page (admin/service-accounts), not as people.
    conditions: list = [User.is_service_account.is_(False)]
    if filters.search:
        term = filters.search.lower()
        conditions.append(
            sa.or_(
                sa.func.lower(User.display_name).contains(term, autoescape=True),
                User.email.contains(term, autoescape=True),
            )
        )
    if filters.organisation_id:
        conditions.append(User.organisation_id == filters.organisation_id)
    if filters.role == "admin":
        conditions.append(User.is_admin.is_(True))
    elif filters.role:
        conditions.append(
            User.id.in_(sa.select(Membership.user_id).where(Membership.role == Role(filters.role)))
        )
    if filters.status:
        conditions.append(User.active.is_(filters.status == "active"))
    if filters.signed_in == "never":
        conditions.append(User.current_login_at.is_(None))
    elif filters.signed_in == "recent":
        conditions.append(User.current_login_at >= now - dt.timedelta(days=RECENT_DAYS))
    elif filters.signed_in == "dormant":
        conditions.append(User.current_login_at < now - dt.timedelta(days=DORMANT_DAYS))
    return conditions


def _row_query() -> sa.Select:
    return sa.select(
        User.id,
        User.display_name,
        User.email,
        Organisation.name.label("organisation_name"),
        User.is_admin,
        User.active,
        User.tf_primary_method,
        User.current_login_at,
    ).outerjoin(Organisation, Organisation.id == User.organisation_id)


def _memberships_of(user_ids: list[int]) -> dict[int, list[MembershipView]]:
    found: dict[int, list[MembershipView]] = defaultdict(list)
    if not user_ids:
        return found
    for row in db.session.execute(
        sa.select(
            Membership.id,
            Membership.user_id,
            Membership.partnership_id,
            Membership.role,
            Partnership.name,
            Partnership.archived_at,
        )
        .join(Partnership, Partnership.id == Membership.partnership_id)
        .where(Membership.user_id.in_(user_ids))
        .order_by(sa.func.lower(Partnership.name), Partnership.id)
    ):
        found[row.user_id].append(
            MembershipView(
                id=row.id,
                partnership_id=row.partnership_id,
                partnership_name=row.name,
                role=row.role,
                archived=row.archived_at is not None,
            )
        )
    return found


def _rows(query: sa.Select) -> list[UserRow]:
    rows = db.session.execute(query).all()
    memberships = _memberships_of([row.id for row in rows])
    return [
        UserRow(
            id=row.id,
            display_name=row.display_name,
            email=row.email,
            organisation_name=row.organisation_name,
            is_admin=row.is_admin,
            active=row.active,
            two_factor=bool(row.tf_primary_method),
            last_sign_in=row.current_login_at,
            memberships=tuple(memberships.get(row.id, ())),
        )
        for row in rows
    ]


def list_users(
    actor: User,
    filters: UserFilters,
    *,
    sort: str | None = None,
    page: object = 1,
    per_page: int = PER_PAGE,
) -> UserList:
    """One page of the people matching the filters, with their memberships (three queries,
    whatever the number of people)."""
    access.require_admin(actor)
    sort = sort if sort in SORTS else "name"
    conditions = _conditions(filters, utcnow())
    total = db.session.scalar(sa.select(sa.func.count(User.id)).where(*conditions)) or 0
    window = page_window(total, page, per_page)
    query = (
        _row_query()
        .where(*conditions)
        .order_by(*_sorts()[sort])
        .limit(window.per_page)
        .offset(window.offset)
    )
    return UserList(rows=_rows(query), window=window, sort=sort)


def export_rows(actor: User, filters: UserFilters, sort: str | None = None) -> list[list]:
    """Every person matching the filters, as CSV rows (``CSV_COLUMNS``), in two queries."""
    access.require_admin(actor)
    sort = sort if sort in SORTS else "name"
    query = _row_query().where(*_conditions(filters, utcnow())).order_by(*_sorts()[sort])
    return [
        [
            row.display_name,
            row.email,
            row.organisation_name or "",
            "yes" if row.is_admin else "no",
            "yes" if row.active else "no",
            "on" if row.two_factor else "off",
            row.last_sign_in.strftime("%Y-%m-%d %H:%M") if row.last_sign_in else "never",
            "; ".join(f"{m.partnership_name} ({m.role.value})" for m in row.memberships),
        ]
        for row in _rows(query)
    ]


def organisation_choices(actor: User) -> list[Organisation]:
    """Organisations a person may be given: every one not retired, by name."""
    access.require_admin(actor)
    return list(
        db.session.scalars(
            sa.select(Organisation)
            .where(Organisation.retired_at.is_(None))
            .order_by(sa.func.lower(Organisation.name))
        )
    )


def filter_organisations(actor: User) -> list[tuple[int, str]]:
    """Every organisation (retired ones too: their people are still listed), by name."""
    access.require_admin(actor)
    return [
        (row.id, row.name)
        for row in db.session.execute(
            sa.select(Organisation.id, Organisation.name).order_by(sa.func.lower(Organisation.name))
        )
    ]


def partnership_choices(actor: User) -> list[tuple[int, str]]:
    """Partnerships someone may be added or invited to: every one not archived, by name."""
    access.require_admin(actor)
    return [
        (row.id, row.name)
        for row in db.session.execute(
            sa.select(Partnership.id, Partnership.name)
            .where(Partnership.archived_at.is_(None))
            .order_by(sa.func.lower(Partnership.name))
        )
    ]


@dataclass(frozen=True)
class PersonPage:
    user: User
    memberships: list[MembershipView]
    pending_invitations: list[Invitation]
    open_sessions: int
    live_tokens: int


def get_user(actor: User, user_id: int) -> User:
    access.require_admin(actor)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def person_page(actor: User, user_id: int) -> PersonPage:
    """What a person's page shows about them."""
    user = get_user(actor, user_id)
    invitations = list(
        db.session.scalars(
            sa.select(Invitation)
            .options(so.selectinload(Invitation.partnership))
            .where(
                Invitation.email == user.email,
                Invitation.pending(),
            )
            .order_by(Invitation.created_at)
        )
    )
    sessions = db.session.scalar(
        sa.select(sa.func.count(UserSession.id)).where(
            UserSession.user_id == user.id, UserSession.ended_at.is_(None)
        )
    )
    tokens = db.session.scalar(
        sa.select(sa.func.count(ApiToken.id)).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)
        )
    )
    return PersonPage(
        user=user,
        memberships=_memberships_of([user.id]).get(user.id, []),
        pending_invitations=invitations,
        open_sessions=int(sessions or 0),
        live_tokens=int(tokens or 0),
    )


SERVICE_ACCOUNT_ADMIN_MESSAGE = (
    "A service account cannot be an administrator: its tokens would reach every partnership. "
    "Give it a membership of the partnerships it serves instead."
)


def _other_active_admins(user: User) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(User.id)).where(
                User.is_admin.is_(True), User.active.is_(True), User.id != user.id
            )
        )
        or 0
    )


def set_organisation(actor: User, user_id: int, organisation_id: int | None) -> User:
    user = get_user(actor, user_id)
    if organisation_id and organisation_id != user.organisation_id:
        organisation = db.session.get(Organisation, organisation_id)
        if organisation is None or organisation.retired_at is not None:
            raise ValidationFailed(
                "Choose an organisation from the list (retired ones are not offered).",
                field="organisation_id",
            )
    user.organisation_id = organisation_id or None
    db.session.commit()
    return user


def set_admin(actor: User, user_id: int, make_admin: bool) -> User:
    """Give or take away the administrator role."""
    user = get_user(actor, user_id)
    if make_admin and user.is_service_account:
        # An administrator's token reaches every partnership: an integration never needs it.
        raise ValidationFailed(SERVICE_ACCOUNT_ADMIN_MESSAGE)
    if not make_admin and user.is_admin and user.active and _other_active_admins(user) == 0:
        raise ValidationFailed(LAST_ADMIN_MESSAGE)
    user.is_admin = make_admin
    db.session.commit()
    return user


def set_active(actor: User, user_id: int, active: bool) -> User:
    """Deactivate (every session ends, every API token is revoked, at once) or reactivate
    (no old session comes back: they sign in again)."""
    user = get_user(actor, user_id)
    if not active and user.is_admin and user.active and _other_active_admins(user) == 0:
        raise ValidationFailed(
            "This is the only active administrator: make someone else an administrator "
            "before deactivating this account, or nobody could run MLS Tracker."
        )
    user.active = active
    db.session.commit()
    return user


def reset_two_factor(actor: User, user_id: int) -> User:
    """Turn two-factor sign-in off, for someone who lost their device: they sign in with
    their password and set it up again (administrators are asked to where it is required)."""
    user = get_user(actor, user_id)
    user.tf_primary_method = None
    user.tf_totp_secret = None
    user.tf_phone_number = None
    db.session.commit()
    return user


def _open_partnership(partnership_id: int | None) -> Partnership:
    partnership = db.session.get(Partnership, partnership_id) if partnership_id else None
    if partnership is None:
        raise ValidationFailed("Choose a partnership from the list.", field="partnership_id")
    if partnership.archived_at is not None:
        raise ValidationFailed(
            f"{partnership.name} is archived: reopen it before changing who is in it.",
            field="partnership_id",
        )
    return partnership


def add_membership(actor: User, user_id: int, partnership_id: int | None, role: Role) -> Membership:
    user = get_user(actor, user_id)
    partnership = _open_partnership(partnership_id)
    existing = db.session.scalar(
        sa.select(Membership).where(
            Membership.user_id == user.id, Membership.partnership_id == partnership.id
        )
    )
    if existing is not None:
        raise ValidationFailed(
            f"{user.display_name} is already in {partnership.name} ({existing.role.value}): "
            "change the role in the list instead.",
            field="partnership_id",
        )
    membership = Membership(
        user_id=user.id, partnership_id=partnership.id, role=role, invited_by_id=actor.id
    )
    db.session.add(membership)
    db.session.commit()
    return membership


def _membership_of(user: User, membership_id: int | None) -> Membership:
    membership = db.session.get(Membership, membership_id) if membership_id else None
    if membership is None or membership.user_id != user.id:
        raise NotFound()
    _open_partnership(membership.partnership_id)
    return membership


def change_membership_role(
    actor: User, user_id: int, membership_id: int | None, role: Role
) -> Membership:
    user = get_user(actor, user_id)
    membership = _membership_of(user, membership_id)
    membership.role = role
    db.session.commit()
    return membership


def remove_membership(actor: User, user_id: int, membership_id: int | None) -> str:
    """Take the person out of a partnership; returns the partnership's name."""
    user = get_user(actor, user_id)
    membership = _membership_of(user, membership_id)
    name = membership.partnership.name
    db.session.delete(membership)
    db.session.commit()
    return name


@functools.cache
@functools.cache
def time_zones() -> tuple[str, ...]:
    """The IANA zones offered on the account page: "Europe/London", not "posix/…" aliases.
    Read once per process: ``available_timezones`` walks the zone files on disk."""
    return tuple(
        sorted(
            zone
            for zone in zoneinfo.available_timezones()
            if "/" in zone
            and not zone.startswith(("posix/", "right/", "Etc/", "SystemV/", "US/"))
            or zone == "UTC"
        )
    )


def update_own_account(user: User, display_name: str, time_zone: str | None) -> User:
    """A signed-in person's own name and time zone (None: the product's display zone)."""
    if not getattr(user, "is_authenticated", False) or not user.active:
        raise PermissionDenied(hidden=True)
    name = (display_name or "").strip()
    if not name:
        raise ValidationFailed("Enter your name.", field="display_name")
    if len(name) > 120:
        raise ValidationFailed("Keep your name under 120 characters.", field="display_name")
    zone = (time_zone or "").strip() or None
    if zone is not None:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationFailed("Choose a time zone from the list.", field="time_zone") from None
    user.display_name = name
    user.time_zone = zone
    db.session.commit()
    return user
