"""The audit log: who changed what, when, from which value to which."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.models.base import Base, enum_column, utcnow


class AuditAction(enum.StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    occurred_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow, index=True)
    # Plain ids, not foreign keys: the log outlives the users and objects it speaks of.
    actor_id: so.Mapped[int | None]
    partnership_id: so.Mapped[int | None] = so.mapped_column(index=True)
    action: so.Mapped[AuditAction] = so.mapped_column(enum_column(AuditAction, "action"))
    object_type: so.Mapped[str] = so.mapped_column(sa.String(60))
    object_id: so.Mapped[str] = so.mapped_column(sa.String(60))
    changes: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)

    __table_args__ = (
        sa.Index("ix_audit_log_object", "object_type", "object_id"),
        # A partnership's newest entry, read on every page view (services/data_version.py):
        # one index step instead of reading all of that partnership's entries.
        sa.Index("ix_audit_log_partnership_newest", "partnership_id", "id"),
    )
