"""API tokens (issue 17): create one (the raw token is returned once, only its SHA-256 hash
is kept), list a user's, revoke one, and authenticate a request's bearer token.

A token acts as its user: the user's memberships (a role per partnership) decide what it may
do there, through ``access``; its scope only narrows that (a ``read`` token may not write).
Service accounts are users flagged ``is_service_account``: no password, never signed in on the
web, members of partnerships like anyone else."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import secrets
import uuid

import sqlalchemy as sa

from mls_tracker import access
from mls_tracker.audit import acting_as
from mls_tracker.extensions import db
from mls_tracker.models import ApiToken, Membership, Partnership, Role, TokenScope, User, utcnow
from mls_tracker.services import accounts
from mls_tracker.services.errors import NotFound, ValidationFailed

# Raw tokens look like "mls_<43 url-safe characters>"; lists show the first 12 characters.
TOKEN_PREFIX = "mls_"  # noqa: S105 (what every token starts with)
PREFIX_LENGTH = 12
MAX_LIFETIME_DAYS = 366
# last_used_at is written at most this often per token (not one write per request).
TOUCH_EVERY = dt.timedelta(seconds=60)


class InvalidToken(Exception):
    """No usable token: missing, unknown, expired, revoked, or its user is inactive. The API
    answers 401 (the message says which, without revealing anything about other tokens)."""


@dataclasses.dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    raw: str  # shown once, never stored


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _owner_of(actor: User, user: User) -> None:
    """Only the user themself (or an administrator, for a service account) manages tokens."""
    if actor.id == user.id and not user.is_service_account:
        return
    if user.is_service_account:
        access.require_admin(actor)
        return
    raise NotFound()


def create_token(
    actor: User,
    user: User,
    *,
    name: str,
    scope: TokenScope | str = TokenScope.READ,
    expires_in_days: int | None = 90,
) -> CreatedToken:
    """A new token for ``user`` (the actor themself, or a service account an administrator
    manages). The raw token is in the answer and nowhere else."""
    _owner_of(actor, user)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Give the token a name, so that you can recognise it later.", "name")
    if len(name) > 120:
        raise ValidationFailed("The name can be at most 120 characters long.", "name")
    try:
        scope = TokenScope(scope)
    except ValueError:
        raise ValidationFailed("Choose read or write.", "scope") from None
    expires_at = None
    if expires_in_days is not None:
        if not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
            raise ValidationFailed(
                f"A token lasts between 1 and {MAX_LIFETIME_DAYS} days.", "expires_in_days"
            )
        expires_at = utcnow() + dt.timedelta(days=expires_in_days)
    if not user.active:
        raise ValidationFailed("This account is deactivated; it cannot have tokens.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(raw),
        prefix=raw[:PREFIX_LENGTH],
        scope=scope,
        expires_at=expires_at,
    )
    with acting_as(actor.id):
        db.session.add(token)
        db.session.commit()
    return CreatedToken(token=token, raw=raw)


def list_tokens(actor: User, user: User) -> list[ApiToken]:
    """The user's tokens, newest first, revoked ones included (they say so)."""
    _owner_of(actor, user)
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def own_token(actor: User, token_id: int) -> ApiToken:
    """One of the actor's tokens (or a service account's, for an administrator); 404
    otherwise."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound()
    _owner_of(actor, token.user)
    return token


def revoke_token(actor: User, token_id: int) -> ApiToken:
    """Revoke one of the actor's tokens (or a service account's, for an administrator).
    Revoking twice is harmless."""
    token = own_token(actor, token_id)
    if token.revoked_at is None:
        with acting_as(actor.id):
            token.revoked_at = utcnow()
            db.session.commit()
    return token


def authenticate(raw: str | None) -> ApiToken:
    """The live token ``raw`` names, its user loaded; ``InvalidToken`` otherwise. Marks it
    used (at most once a minute)."""
    if not raw:
        raise InvalidToken("Send an API token: Authorization: Bearer <token>.")
    row = db.session.execute(
        sa.select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(raw))
        # Always as stored now: a revocation by another session counts at once.
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise InvalidToken("This API token is not valid.")
    token, user = row
    now = utcnow()
    if token.revoked_at is not None:
        raise InvalidToken("This API token was revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise InvalidToken("This API token has expired.")
    if not user.active:
        raise InvalidToken("This API token's account is deactivated.")
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        db.session.execute(
            sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
        )
        db.session.commit()
    return token


SERVICE_DOMAIN = "service-accounts.invalid"


def create_service_account(
    actor: User, name: str, memberships: list[tuple[int, Role | str]]
) -> User:
    """A service account (administrators only): a user with no password that can never sign
    in on the web, whose memberships (a role per partnership) decide what its API tokens may
    do there, exactly as for a person. Its address is made up (``…@service-accounts.invalid``)
    and receives nothing."""
    access.require_admin(actor)
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationFailed("Name the service account (at most 120 characters).", "name")
    roles: dict[int, Role] = {}
    for partnership_id, role in memberships:
        try:
            roles[partnership_id] = Role(role)
        except ValueError:
            raise ValidationFailed(f"“{role}” is not a role.", "role") from None
        partnership = db.session.get(Partnership, partnership_id)
        if partnership is None:
            raise ValidationFailed(f"There is no partnership {partnership_id}.", "partnership_id")
        if partnership.archived_at is not None:
            raise ValidationFailed(
                f"{partnership.name} is archived: nobody can be added to it.", "partnership_id"
            )
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "service"
    with acting_as(actor.id):
        user = User(
            email=f"{slug}-{secrets.token_hex(4)}@{SERVICE_DOMAIN}",
            display_name=name,
            password=None,
            is_service_account=True,
            fs_uniquifier=uuid.uuid4().hex,
        )
        db.session.add(user)
        db.session.flush()
        for partnership_id, role in roles.items():
            db.session.add(
                Membership(
                    user_id=user.id,
                    partnership_id=partnership_id,
                    role=role,
                    invited_by_id=actor.id,
                )
            )
        db.session.commit()
    return user


# ----------------------------------------------------------------------------- the admin pages

# Service accounts as the administration lists them: name, memberships, live tokens, last use.
SERVICE_ACCOUNT_SORTS = ("name", "last_used", "created")
SERVICE_ACCOUNT_STATUSES = ("active", "inactive")
SERVICE_ACCOUNT_CSV_COLUMNS = (
    "Name",
    "Status",
    "Partnerships",
    "Live tokens",
    "Last used (UTC)",
    "Created (UTC)",
)


@dataclasses.dataclass(frozen=True)
class ServiceAccountFilters:
    search: str = ""
    status: str = ""

    def __post_init__(self) -> None:
        # Unknown values are ignored rather than refused: a hand-edited URL shows them all.
        object.__setattr__(self, "search", (self.search or "").strip()[:200])
        if self.status not in SERVICE_ACCOUNT_STATUSES:
            object.__setattr__(self, "status", "")

    @property
    def any(self) -> bool:
        return bool(self.search or self.status)

    def query_args(self) -> dict[str, str]:
        return {key: value for key, value in (("q", self.search), ("status", self.status)) if value}


@dataclasses.dataclass(frozen=True)
class ServiceMembership:
    id: int
    partnership_id: int
    partnership_name: str
    role: Role
    archived: bool


@dataclasses.dataclass(frozen=True)
class ServiceAccountRow:
    id: int
    name: str
    active: bool
    created_at: dt.datetime
    memberships: tuple[ServiceMembership, ...]
    live_tokens: int  # neither revoked nor expired
    last_used_at: dt.datetime | None  # the latest use of any of its tokens


def _live(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        ApiToken.revoked_at.is_(None),
        sa.or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
    )


def _service_memberships(user_ids: list[int]) -> dict[int, list[ServiceMembership]]:
    found: dict[int, list[ServiceMembership]] = {user_id: [] for user_id in user_ids}
    if not user_ids:
        return found
    rows = db.session.execute(
        sa.select(Membership, Partnership.name, Partnership.archived_at)
        .join(Partnership, Partnership.id == Membership.partnership_id)
        .where(Membership.user_id.in_(user_ids))
        .order_by(sa.func.lower(Partnership.name), Partnership.id)
    )
    for membership, name, archived_at in rows:
        found[membership.user_id].append(
            ServiceMembership(
                id=membership.id,
                partnership_id=membership.partnership_id,
                partnership_name=name,
                role=membership.role,
                archived=archived_at is not None,
            )
        )
    return found


def list_service_accounts(
    actor: User, filters: ServiceAccountFilters, sort: str | None = None
) -> list[ServiceAccountRow]:
    """Every service account matching the filters, with its memberships, live tokens and
    last use (two queries, whatever the number of accounts)."""
    access.require_admin(actor)
    now = utcnow()
    live = (
        sa.select(sa.func.count(ApiToken.id))
        .where(ApiToken.user_id == User.id, _live(now))
        .scalar_subquery()
    )
    last_used = (
        sa.select(sa.func.max(ApiToken.last_used_at))
        .where(ApiToken.user_id == User.id)
        .scalar_subquery()
    )
    query = sa.select(
        User.id,
        User.display_name,
        User.active,
        User.created_at,
        live.label("live_tokens"),
        last_used.label("last_used_at"),
    ).where(User.is_service_account.is_(True))
    if filters.search:
        query = query.where(
            sa.func.lower(User.display_name).contains(filters.search.lower(), autoescape=True)
        )
    if filters.status:
        query = query.where(User.active.is_(filters.status == "active"))
    order = {
        "name": [sa.func.lower(User.display_name), User.id],
        "last_used": [last_used.desc().nulls_last(), sa.func.lower(User.display_name), User.id],
        "created": [User.created_at.desc(), User.id.desc()],
    }[sort if sort in SERVICE_ACCOUNT_SORTS else "name"]
    rows = db.session.execute(query.order_by(*order)).all()
    memberships = _service_memberships([row.id for row in rows])
    return [
        ServiceAccountRow(
            id=row.id,
            name=row.display_name,
            active=row.active,
            created_at=row.created_at,
            memberships=tuple(memberships[row.id]),
            live_tokens=int(row.live_tokens or 0),
            last_used_at=row.last_used_at,
        )
        for row in rows
    ]


def _utc(value: dt.datetime | None, empty: str) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else empty


def service_account_csv_rows(
    actor: User, filters: ServiceAccountFilters, sort: str | None = None
) -> list[list]:
    """The service accounts of ``list_service_accounts`` as CSV rows (its CSV_COLUMNS)."""
    return [
        [
            row.name,
            "active" if row.active else "deactivated",
            "; ".join(f"{m.partnership_name} ({m.role.value})" for m in row.memberships),
            row.live_tokens,
            _utc(row.last_used_at, "never"),
            _utc(row.created_at, ""),
        ]
        for row in list_service_accounts(actor, filters, sort)
    ]


def get_service_account(actor: User, account_id: int) -> User:
    """A service account (administrators only); 404 for anything else, a person included."""
    access.require_admin(actor)
    account = db.session.get(User, account_id)
    if account is None or not account.is_service_account:
        raise NotFound()
    return account


@dataclasses.dataclass(frozen=True)
class ServiceAccountPage:
    account: User
    memberships: list[ServiceMembership]
    tokens: list[ApiToken]
    partnership_choices: list[tuple[int, str]]  # open partnerships it is not in yet


def service_account_page(actor: User, account_id: int) -> ServiceAccountPage:
    """What a service account's page shows: memberships, tokens (newest first) and the
    partnerships it may still be added to."""
    account = get_service_account(actor, account_id)
    memberships = _service_memberships([account.id])[account.id]
    member_of = {m.partnership_id for m in memberships}
    choices = [
        (row.id, row.name)
        for row in db.session.execute(
            sa.select(Partnership.id, Partnership.name)
            .where(Partnership.archived_at.is_(None))
            .order_by(sa.func.lower(Partnership.name), Partnership.id)
        )
        if row.id not in member_of
    ]
    return ServiceAccountPage(
        account=account,
        memberships=memberships,
        tokens=list_tokens(actor, account),
        partnership_choices=choices,
    )


def add_service_membership(
    actor: User, account_id: int, partnership_id: int | None, role: Role | str
) -> Membership:
    """Give a service account a role in one more partnership (audited, as for a person)."""
    account = get_service_account(actor, account_id)
    try:
        role = Role(role)
    except ValueError:
        raise ValidationFailed("Choose a role from the list.", "role") from None
    with acting_as(actor.id):
        return accounts.add_membership(actor, account.id, partnership_id, role)


def service_membership(actor: User, account_id: int, membership_id: int) -> ServiceMembership:
    """One membership of a service account; 404 when it is another user's."""
    account = get_service_account(actor, account_id)
    for membership in _service_memberships([account.id])[account.id]:
        if membership.id == membership_id:
            return membership
    raise NotFound()


def remove_service_membership(actor: User, account_id: int, membership_id: int) -> str:
    """Take a service account out of a partnership (its tokens lose that partnership at
    once); returns the partnership's name."""
    account = get_service_account(actor, account_id)
    with acting_as(actor.id):
        return accounts.remove_membership(actor, account.id, membership_id)


def service_account_token(actor: User, account_id: int, token_id: int) -> ApiToken:
    """One token of a service account; 404 when it is another user's."""
    account = get_service_account(actor, account_id)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != account.id:
        raise NotFound()
    return token


def set_service_account_active(actor: User, account_id: int, active: bool) -> User:
    """Deactivate a service account (every token of it stops working in the same
    transaction) or reactivate it (no old token comes back: create new ones)."""
    account = get_service_account(actor, account_id)
    with acting_as(actor.id):
        return accounts.set_active(actor, account.id, active)
