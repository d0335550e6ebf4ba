"""Organisations, users, regions, memberships, invitations, sign-in sessions and API tokens."""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_security import RoleMixin, UserMixin

from mls_tracker.models.base import Audited, Base, Timestamped, enum_column, utcnow


class OrganisationKind(enum.StrEnum):
    CLIENT = "client"
    PROVIDER = "provider"


class Role(enum.StrEnum):
    """A person's role in one partnership (PRODUCT.md §1)."""

    LEAD = "lead"
    PROVIDER = "provider"
    SPONSOR = "sponsor"
    VIEWER = "viewer"


class Organisation(Audited, Timestamped, Base):
    __tablename__ = "organisations"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    kind: so.Mapped[OrganisationKind] = so.mapped_column(enum_column(OrganisationKind, "kind"))
    # Retired organisations stay (partnerships and people refer to them) but are offered for
    # nothing new.
    retired_at: so.Mapped[dt.datetime | None]
    # Its people sign in only through single sign-on (no password sign-in, no reset) while
    # single sign-on is configured (OIDC_ISSUER).
    sso_only: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())

    users: so.WriteOnlyMapped[User] = so.relationship(
        back_populates="organisation", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Organisation {self.name!r}>"


def region_code_from(name: str) -> str:
    """A region code made from its name when none is given: "North America" → "NA",
    "EMEA" → "EMEA" (the administration pages ask for one; this serves older callers)."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name) if w]
    if len(words) > 1:
        return "".join(w[0] for w in words).upper()[:12]
    return (words[0] if words else "R").upper()[:12]


def _default_region_code(context: Any) -> str:
    return region_code_from(context.get_current_parameters()["name"])


class Region(Audited, Base):
    __tablename__ = "regions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # Short and unique ("EMEA", "NA"): what import files and exports use.
    code: so.Mapped[str] = so.mapped_column(
        sa.String(12), unique=True, default=_default_region_code
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(100), unique=True)
    position: so.Mapped[int] = so.mapped_column(default=0)
    # Retired regions keep their sponsors, changes and wins but are offered for nothing new.
    retired_at: so.Mapped[dt.datetime | None]

    def __repr__(self) -> str:
        return f"<Region {self.name!r}>"


class SecurityRole(Base, RoleMixin):
    """Flask-Security's role table. Authorisation here is per partnership (``Membership``)
    and the ``is_admin`` flag; this table exists because the datastore requires it."""

    __tablename__ = "security_roles"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    description: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    permissions: so.Mapped[str | None] = so.mapped_column(sa.Text)
    update_datetime: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)


user_security_roles = sa.Table(
    "user_security_roles",
    Base.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role_id", sa.ForeignKey("security_roles.id", ondelete="CASCADE"), primary_key=True),
)


class User(Audited, Timestamped, Base, UserMixin):
    __tablename__ = "users"
    __audit_exclude__ = (
        "password",
        "fs_uniquifier",
        "tf_totp_secret",
        "current_login_at",
        "last_login_at",
        "current_login_ip",
        "last_login_ip",
        "login_count",
        "updated_at",
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # Stored lower-cased (see ``normalise_email``) so uniqueness is case-insensitive.
    email: so.Mapped[str] = so.mapped_column(sa.String(255), unique=True)
    display_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    password: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    is_admin: so.Mapped[bool] = so.mapped_column(default=False)
    organisation_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    fs_uniquifier: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    confirmed_at: so.Mapped[dt.datetime | None]
    last_login_at: so.Mapped[dt.datetime | None]
    current_login_at: so.Mapped[dt.datetime | None]
    last_login_ip: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    current_login_ip: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    login_count: so.Mapped[int | None]
    tf_primary_method: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    tf_totp_secret: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    tf_phone_number: so.Mapped[str | None] = so.mapped_column(sa.String(128))
    # An IANA zone ("Europe/London") for showing times; None shows them in DISPLAY_TIME_ZONE.
    time_zone: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    # A service account: no password, never signs in on the web; it acts through API tokens
    # only, with the roles its memberships give it.
    is_service_account: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())

    organisation: so.Mapped[Organisation | None] = so.relationship(back_populates="users")
    roles: so.Mapped[list[SecurityRole]] = so.relationship(secondary=user_security_roles)
    memberships: so.Mapped[list[Membership]] = so.relationship(
        back_populates="user", cascade="all, delete-orphan", foreign_keys="Membership.user_id"
    )

    __table_args__ = (sa.CheckConstraint("email = lower(email)", name="email_lowercase"),)

    @so.validates("email")
    def _lower_email(self, _key: str, value: str) -> str:
        return normalise_email(value)

    def __repr__(self) -> str:
        return f"<User {self.email!r}>"


def normalise_email(value: str) -> str:
    return value.strip().lower()


class Membership(Audited, Timestamped, Base):
    """A user's role in one partnership."""

    __tablename__ = "memberships"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    role: so.Mapped[Role] = so.mapped_column(enum_column(Role, "role"))
    invited_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    user: so.Mapped[User] = so.relationship(back_populates="memberships", foreign_keys=[user_id])
    partnership: so.Mapped[Partnership] = so.relationship(back_populates="memberships")  # noqa: F821

    __table_args__ = (sa.UniqueConstraint("user_id", "partnership_id"),)


class Invitation(Audited, Base):
    """A one-time, expiring invitation: into a partnership with a role, or (sent by an
    administrator) into the product only, optionally as an administrator. Only the token's
    hash is stored; sending it again replaces the token (the earlier link stops working)."""

    __tablename__ = "invitations"
    __audit_exclude__ = ("token_hash",)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    email: so.Mapped[str] = so.mapped_column(sa.String(255))
    display_name: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    role: so.Mapped[Role | None] = so.mapped_column(enum_column(Role, "role"))
    organisation_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("organisations.id", ondelete="SET NULL")
    )
    make_admin: so.Mapped[bool] = so.mapped_column(default=False)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    invited_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    expires_at: so.Mapped[dt.datetime]
    accepted_at: so.Mapped[dt.datetime | None]
    accepted_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # Withdrawn by a lead (or an administrator) before it was used: the link says so. Who
    # withdrew it is in the audit log.
    withdrawn_at: so.Mapped[dt.datetime | None]

    partnership: so.Mapped[Partnership | None] = so.relationship()  # noqa: F821
    invited_by: so.Mapped[User | None] = so.relationship(foreign_keys=[invited_by_id])
    organisation: so.Mapped[Organisation | None] = so.relationship()

    __table_args__ = (
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
        sa.CheckConstraint(
            "(partnership_id IS NULL) = (role IS NULL)", name="role_with_partnership"
        ),
    )

    @classmethod
    def pending(cls) -> sa.ColumnElement[bool]:
        """The condition of an invitation that can still be used: not accepted, not
        withdrawn, not expired (the one place that says so: lists, links and single sign-on)."""
        return sa.and_(
            cls.accepted_at.is_(None), cls.withdrawn_at.is_(None), cls.expires_at > utcnow()
        )


class UserSession(Base):
    """A signed-in browser session. Ending it (sign-out, timeout) makes its cookie useless."""

    __tablename__ = "user_sessions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    last_seen_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    ended_at: so.Mapped[dt.datetime | None]
    ip_address: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    user_agent: so.Mapped[str | None] = so.mapped_column(sa.String(255))

    __table_args__ = (sa.Index("ix_user_sessions_user_id", "user_id"),)


class TokenScope(enum.StrEnum):
    """What an API token may do: ``write`` implies ``read``. The user's role in each
    partnership still decides what the token may do there."""

    READ = "read"
    WRITE = "write"


class ApiToken(Audited, Base):
    """A bearer token for the JSON API; only its hash is stored (and a short prefix of the
    raw token, shown in lists so that people can tell their tokens apart)."""

    __tablename__ = "api_tokens"
    __audit_exclude__ = ("token_hash", "last_used_at")

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    prefix: so.Mapped[str] = so.mapped_column(sa.String(16), default="", server_default="")
    scope: so.Mapped[TokenScope] = so.mapped_column(
        enum_column(TokenScope, "scope"), default=TokenScope.READ, server_default="read"
    )
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    expires_at: so.Mapped[dt.datetime | None]
    last_used_at: so.Mapped[dt.datetime | None]
    revoked_at: so.Mapped[dt.datetime | None]

    user: so.Mapped[User] = so.relationship()

    __table_args__ = (sa.Index("ix_api_tokens_user_id", "user_id"),)


def _end_sessions_of_inactive_users(connection: sa.Connection) -> None:
    """Ends every open session and revokes every API token of every inactive user, so that
    reactivating someone revives none of the sessions or tokens they had (not only those that
    came back while they were out)."""
    now = utcnow()
    inactive = sa.select(User.id).where(User.active.is_(False))
    connection.execute(
        sa.update(UserSession.__table__)
        .where(UserSession.ended_at.is_(None), UserSession.user_id.in_(inactive))
        .values(ended_at=now)
    )
    # A Core update on the connection: not audited row by row (the deactivation itself is).
    connection.execute(
        sa.update(ApiToken.__table__)
        .where(ApiToken.revoked_at.is_(None), ApiToken.user_id.in_(inactive))
        .values(revoked_at=now)
    )


@sa.event.listens_for(so.Session, "after_flush")
def _deactivated_in_flush(session: so.Session, _context: object) -> None:
    """A user set inactive through the ORM (``user.active = False``; Flask-Security's
    ``deactivate_user``): their sessions end in the same transaction."""
    for obj in session.dirty:
        if (
            isinstance(obj, User)
            and not obj.active
            and sa.inspect(obj).attrs.active.history.has_changes()
        ):
            _end_sessions_of_inactive_users(session.connection())
            return


@sa.event.listens_for(so.Session, "do_orm_execute")
def _deactivated_in_bulk(state: so.ORMExecuteState) -> object:
    """A bulk ``update(User)`` may set users inactive: end their sessions after it runs."""
    if not state.is_update or not any(m.class_ is User for m in state.all_mappers):
        return None
    result = state.invoke_statement()
    _end_sessions_of_inactive_users(state.session.connection())
    return result
