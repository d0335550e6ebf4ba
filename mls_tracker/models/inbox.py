"""The in-app inbox: what concerns one user (an item assigned to them, an update on it, an
actual to confirm …), and how each user wants to hear of it by e-mail."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.models.base import Audited, Base, enum_column, utcnow

# "Unread", as literal SQL: the partial index below is used only for a query whose WHERE holds
# its own condition.
UNREAD_SQL = "read_at IS NULL"


class NotificationKind(enum.StrEnum):
    ASSIGNED = "assigned"
    UPDATE = "update"
    REOPENED = "reopened"
    ACTUAL_PROPOSED = "actual proposed"
    ACTUAL_CONFIRMED = "actual confirmed"
    SCORECARD_TO_ACKNOWLEDGE = "scorecard to acknowledge"
    SPONSOR_COMMENT = "sponsor comment"


KIND_LABELS = {
    NotificationKind.ASSIGNED: "Assigned to you",
    NotificationKind.UPDATE: "Update on your item",
    NotificationKind.REOPENED: "Item reopened",
    NotificationKind.ACTUAL_PROPOSED: "Actual proposed",
    NotificationKind.ACTUAL_CONFIRMED: "Actual confirmed",
    NotificationKind.SCORECARD_TO_ACKNOWLEDGE: "Scorecard to acknowledge",
    NotificationKind.SPONSOR_COMMENT: "Sponsor's comment",
}


class NotificationDelivery(enum.StrEnum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"
    NONE = "none"


class Notification(Base):
    """One thing that concerns one user. Not audited: it is a message to one person, not a
    change of a partnership's data, so writing it (or marking it read) leaves the
    partnership's data version — and every page remembered under it — as it was."""

    __tablename__ = "notifications"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    partnership_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE")
    )
    kind: so.Mapped[NotificationKind] = so.mapped_column(
        enum_column(NotificationKind, "notification_kind")
    )
    text: so.Mapped[str] = so.mapped_column(sa.String(500))
    link_path: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    read_at: so.Mapped[dt.datetime | None]
    # When it went out by e-mail (alone or in a digest): a digest sends each one once.
    emailed_at: so.Mapped[dt.datetime | None]

    __table_args__ = (
        sa.Index("ix_notifications_user_created", "user_id", "created_at"),
        sa.Index(
            "ix_notifications_user_unread",
            "user_id",
            sqlite_where=sa.text(UNREAD_SQL),
            postgresql_where=sa.text(UNREAD_SQL),
        ),
    )

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


class NotificationSetting(Audited, Base):
    """How a user hears of their notifications by e-mail (no row: the daily digest)."""

    __tablename__ = "notification_settings"

    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    delivery: so.Mapped[NotificationDelivery] = so.mapped_column(
        enum_column(NotificationDelivery, "notification_delivery"),
        default=NotificationDelivery.DIGEST,
    )
    last_digest_at: so.Mapped[dt.datetime | None]

    @property
    def audit_partnership_id(self) -> int | None:
        return None
