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
            raise ValidationFailed(f"“{role}” is not a role.", "memberships") from None
        if db.session.get(Partnership, partnership_id) is None:
            raise ValidationFailed(f"There is no partnership {partnership_id}.", "memberships")
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
