"""First run: the one-time set-up link that creates the first administrator, and the "getting
started" checklist of the administration home.

The link carries a token signed with the app's SECRET_KEY (its own salt), valid for 24 hours,
and good only while the database has no user at all: the first administrator it creates makes
every copy of it useless, so it is one-time by construction, with nothing stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, url_for
from flask_security import hash_password
from flask_security.mail_util import EmailValidateException
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError, OperationalError

from mls_tracker import access
from mls_tracker.extensions import db
from mls_tracker.models import (
    Invitation,
    Membership,
    Organisation,
    OrganisationKind,
    Partnership,
    Region,
    Role,
    User,
    normalise_email,
    utcnow,
)
from mls_tracker.services.errors import NotFound, ValidationFailed
from mls_tracker.services.mail import external_links

SETUP_SALT = "mls-tracker.first-run-setup"  # a namespace for the signature, not a secret
TOKEN_MAX_AGE_SECONDS = 24 * 60 * 60
SETUP_PURPOSE = "first administrator"
NAME_MAX = 120


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SETUP_SALT)


def has_users() -> bool:
    """Whether anyone has an account (the app is set up)."""
    return db.session.scalar(sa.select(User.id).limit(1)) is not None


def setup_link(base_url: str | None = None) -> str | None:
    """The one-time link that creates the first administrator, built from EXTERNAL_URL (or
    ``base_url``) like every link the app sends; None when the app is already set up."""
    if has_users():
        return None
    token = _serializer().dumps({"purpose": SETUP_PURPOSE})
    with external_links(base_url):
        return url_for("setup.first_admin", token=token, _external=True)


def check_token(token: str) -> None:
    """Raise NotFound unless ``token`` is a set-up token, signed here, under 24 hours old, and
    nobody has an account yet: a used, expired or forged link is a plain 404."""
    try:
        payload = _serializer().loads(token, max_age=TOKEN_MAX_AGE_SECONDS)
    except (SignatureExpired, BadSignature):
        raise NotFound() from None
    if not isinstance(payload, dict) or payload.get("purpose") != SETUP_PURPOSE:
        raise NotFound()
    if has_users():
        raise NotFound()


def _lock_users() -> None:
    """Serialise the creation of the first administrator: two submissions at once must not
    both find the users table empty. PostgreSQL: a table lock other writers wait for. SQLite:
    an (empty) write takes the database's write lock, held until the commit."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))
    else:
        db.session.execute(sa.update(User).where(sa.false()).values(active=User.active))


def _check_password(password: str, email: str, display_name: str) -> None:
    problems, _ = current_app.extensions["security"]._password_util.validate(
        password, True, email=email, display_name=display_name
    )
    if problems:
        raise ValidationFailed(" ".join(str(p) for p in problems), "password")


def create_first_admin(
    token: str, *, display_name: str | None, email: str | None, password: str | None
) -> User:
    """Create the first administrator (active, confirmed) with a valid set-up token. Checked
    again inside the transaction that writes it, so that two racing submissions make one."""
    check_token(token)
    display_name = " ".join((display_name or "").split())
    if not display_name:
        raise ValidationFailed("Enter your name.", "display_name")
    if len(display_name) > NAME_MAX:
        raise ValidationFailed(f"Keep your name to {NAME_MAX} characters or fewer.", "display_name")
    try:
        validated = current_app.extensions["security"]._mail_util.validate(email or "")
    except EmailValidateException:
        raise ValidationFailed("Enter an e-mail address like name@company.com.", "email") from None
    email = normalise_email(validated)
    _check_password(password or "", email, display_name)
    try:
        _lock_users()
        if has_users():
            db.session.rollback()
            raise NotFound()
        user = User(
            email=email,
            display_name=display_name,
            password=hash_password(password),
            active=True,
            is_admin=True,
            fs_uniquifier=uuid.uuid4().hex,
            confirmed_at=utcnow(),
        )
        db.session.add(user)
        db.session.commit()
    except (IntegrityError, OperationalError):
        # The other submission won (SQLite may answer "locked" instead of waiting).
        db.session.rollback()
        raise NotFound() from None
    current_app.logger.info("first administrator created: user=%s", user.id)
    return user


@dataclass(frozen=True)
class ChecklistStep:
    key: str
    title: str
    done: bool
    detail: str


def getting_started(actor: User) -> list[ChecklistStep]:
    """The steps of a new install, each done or not: organisations (a client and a provider),
    regions, a first partnership, and a lead invited into it. A fixed number of queries."""
    access.require_admin(actor)
    kinds = set(
        db.session.scalars(
            sa.select(Organisation.kind).where(Organisation.retired_at.is_(None)).distinct()
        )
    )
    regions = db.session.scalar(
        sa.select(sa.func.count()).select_from(Region).where(Region.retired_at.is_(None))
    )
    partnerships = db.session.scalar(sa.select(sa.func.count()).select_from(Partnership))
    leads = db.session.scalar(
        sa.select(sa.func.count()).select_from(Membership).where(Membership.role == Role.LEAD)
    )
    invited_leads = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Invitation)
        .where(Invitation.role == Role.LEAD, Invitation.partnership_id.is_not(None))
    )
    has_client = OrganisationKind.CLIENT in kinds
    has_provider = OrganisationKind.PROVIDER in kinds
    missing = [
        word
        for word, present in (("a client", has_client), ("a provider", has_provider))
        if not present
    ]
    return [
        ChecklistStep(
            "organisations",
            "Add the organisations",
            has_client and has_provider,
            "A client and a provider: every partnership is between the two."
            + (f" Still missing: {' and '.join(missing)}." if missing else ""),
        ),
        ChecklistStep(
            "regions",
            "Add the regions",
            bool(regions),
            "The regions a partnership covers, each with a short code (EMEA, APAC …)."
            + (f" {regions} so far." if regions else ""),
        ),
        ChecklistStep(
            "partnership",
            "Create the first partnership",
            bool(partnerships),
            "Name, client and provider, regions in scope, contract value and dates.",
        ),
        ChecklistStep(
            "lead",
            "Invite a lead",
            bool(leads or invited_leads),
            "The lead runs the partnership day to day: SLAs, sponsors, meetings, reviews.",
        ),
    ]
