"""Identities at an OpenID provider linked to users, so that single sign-on recognises a
person by the provider's subject rather than by an e-mail address that may change."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.models.base import Audited, Base, utcnow
from mls_tracker.models.people import User


class SsoIdentity(Audited, Base):
    """One (issuer, subject) of an OpenID provider, linked at its first sign-in (by the
    verified e-mail address) to one user; later sign-ins find the user by the subject."""

    __tablename__ = "sso_identities"
    __audit_exclude__ = ("last_used_at",)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    issuer: so.Mapped[str] = so.mapped_column(sa.String(255))
    subject: so.Mapped[str] = so.mapped_column(sa.String(255))
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    email_at_link: so.Mapped[str] = so.mapped_column(sa.String(255))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    last_used_at: so.Mapped[dt.datetime | None]

    user: so.Mapped[User] = so.relationship()

    __table_args__ = (
        sa.UniqueConstraint("issuer", "subject"),
        sa.Index("ix_sso_identities_user_id", "user_id"),
    )
