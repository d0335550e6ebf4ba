"""Governance meetings, their agenda and attendance, challenges, and action items."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.models.base import Audited, Base, Timestamped, Versioned, enum_column, utcnow
from mls_tracker.models.partnership import Side, Sponsor
from mls_tracker.models.people import User
from mls_tracker.models.sla import Sla
from mls_tracker.periods import Month


class MeetingKind(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY_BUSINESS_REVIEW = "quarterly business review"
    EXECUTIVE_STEERING = "executive steering"


class MeetingState(enum.StrEnum):
    PLANNED = "planned"
    HELD = "held"
    MINUTES_APPROVED = "minutes approved"


class Meeting(Audited, Timestamped, Versioned, Base):
    __tablename__ = "meetings"
    __audit_exclude__ = ("updated_at", "version")

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    held_on: so.Mapped[dt.date]
    kind: so.Mapped[MeetingKind] = so.mapped_column(
        enum_column(MeetingKind, "kind"), default=MeetingKind.MONTHLY
    )
    reviewed_month: so.Mapped[Month]
    state: so.Mapped[MeetingState] = so.mapped_column(
        enum_column(MeetingState, "state"), default=MeetingState.PLANNED
    )
    minutes: so.Mapped[str | None] = so.mapped_column(sa.Text)
    successes: so.Mapped[str | None] = so.mapped_column(sa.Text)
    decisions: so.Mapped[str | None] = so.mapped_column(sa.Text)
    approved_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    approved_at: so.Mapped[dt.datetime | None]
    # A second meeting of the same kind reviewing the same month, kept on purpose.
    extra: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    # The schedule: an aware UTC start (entered in the planner's time zone), how long, where.
    starts_at: so.Mapped[dt.datetime | None]
    duration_minutes: so.Mapped[int | None]
    place: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    # The invitation's SEQUENCE (RFC 5545): bumped whenever the schedule changes.
    ics_sequence: so.Mapped[int] = so.mapped_column(default=0, server_default="0")

    agenda_items: so.Mapped[list[AgendaItem]] = so.relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="AgendaItem.position"
    )
    attendances: so.Mapped[list[Attendance]] = so.relationship(
        back_populates="meeting", cascade="all, delete-orphan"
    )
    challenges: so.Mapped[list[Challenge]] = so.relationship(back_populates="meeting")
    action_items: so.Mapped[list[ActionItem]] = so.relationship(back_populates="meeting")

    __table_args__ = (
        sa.CheckConstraint(
            "(state = 'minutes approved') = (approved_at IS NOT NULL)", name="approved_has_time"
        ),
        sa.CheckConstraint(
            "duration_minutes IS NULL OR duration_minutes BETWEEN 15 AND 480",
            name="duration_in_range",
        ),
    )


class AgendaItem(Audited, Base):
    __tablename__ = "agenda_items"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    meeting_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    position: so.Mapped[int] = so.mapped_column(default=0)
    section: so.Mapped[str] = so.mapped_column(sa.String(60))
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    detail: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # What generated the item (e.g. "sla:12"), so a refresh can replace generated items
    # and keep those the lead added or edited.
    source_key: so.Mapped[str | None] = so.mapped_column(sa.String(60))
    edited: so.Mapped[bool] = so.mapped_column(default=False)

    meeting: so.Mapped[Meeting] = so.relationship(back_populates="agenda_items")

    @property
    def audit_partnership_id(self) -> int | None:
        return self.meeting.partnership_id if self.meeting else None


class Attendance(Audited, Base):
    """Whether a member or a sponsor attended a meeting."""

    __tablename__ = "attendances"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    meeting_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    sponsor_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("sponsors.id", ondelete="CASCADE"), index=True
    )
    present: so.Mapped[bool] = so.mapped_column(default=True)

    meeting: so.Mapped[Meeting] = so.relationship(back_populates="attendances")
    user: so.Mapped[User | None] = so.relationship()
    sponsor: so.Mapped[Sponsor | None] = so.relationship()

    __table_args__ = (
        sa.CheckConstraint("(user_id IS NULL) <> (sponsor_id IS NULL)", name="user_or_sponsor"),
        sa.UniqueConstraint("meeting_id", "user_id"),
        sa.UniqueConstraint("meeting_id", "sponsor_id"),
    )

    @property
    def audit_partnership_id(self) -> int | None:
        return self.meeting.partnership_id if self.meeting else None


class Challenge(Audited, Timestamped, Base):
    """A challenge raised at a meeting, which action items can address."""

    __tablename__ = "challenges"
    __audit_exclude__ = ("updated_at",)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    meeting_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("meetings.id", ondelete="SET NULL"), index=True
    )
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    description: so.Mapped[str | None] = so.mapped_column(sa.Text)

    meeting: so.Mapped[Meeting | None] = so.relationship(back_populates="challenges")


class Priority(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in progress"
    BLOCKED = "blocked"
    DONE = "done"
    CANCELLED = "cancelled"


CLOSED_STATUSES = frozenset({ActionStatus.DONE, ActionStatus.CANCELLED})

# "Not closed", as literal SQL: a partial index is used only for a query whose WHERE holds
# the index's own condition with the same literal values (bound parameters do not match it).
OPEN_ACTION_SQL = "status NOT IN ({})".format(
    ", ".join(f"'{status.value}'" for status in sorted(CLOSED_STATUSES))
)
# Done and not yet verified (a lead's queue), as literal SQL for its partial index.
AWAITING_VERIFICATION_SQL = "status = 'done' AND verified_at IS NULL"


class ActionItem(Audited, Timestamped, Versioned, Base):
    __tablename__ = "action_items"
    __audit_exclude__ = ("updated_at", "version")

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    meeting_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("meetings.id", ondelete="SET NULL"), index=True
    )
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    description: so.Mapped[str | None] = so.mapped_column(sa.Text)
    owner_side: so.Mapped[Side] = so.mapped_column(enum_column(Side, "owner_side"))
    owner_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    due_on: so.Mapped[dt.date]
    priority: so.Mapped[Priority] = so.mapped_column(
        enum_column(Priority, "priority"), default=Priority.MEDIUM
    )
    status: so.Mapped[ActionStatus] = so.mapped_column(
        enum_column(ActionStatus, "status"), default=ActionStatus.OPEN
    )
    sla_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("slas.id", ondelete="SET NULL"))
    challenge_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("challenges.id", ondelete="SET NULL")
    )
    evidence_url: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    closed_on: so.Mapped[dt.date | None]
    verified_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    verified_at: so.Mapped[dt.datetime | None]
    # How many meetings this item has been carried forward to while still open.
    times_carried: so.Mapped[int] = so.mapped_column(default=0)

    meeting: so.Mapped[Meeting | None] = so.relationship(back_populates="action_items")
    owner: so.Mapped[User | None] = so.relationship(foreign_keys=[owner_id])
    sla: so.Mapped[Sla | None] = so.relationship()
    challenge: so.Mapped[Challenge | None] = so.relationship()
    updates: so.Mapped[list[ActionUpdate]] = so.relationship(
        back_populates="action_item",
        cascade="all, delete-orphan",
        order_by="ActionUpdate.created_at",
    )

    __table_args__ = (
        sa.CheckConstraint("times_carried >= 0", name="times_carried_not_negative"),
        sa.Index("ix_action_items_partnership_status_due", "partnership_id", "status", "due_on"),
        # My actions: a user's open items in due order, and their counts, from the index alone.
        sa.Index(
            "ix_action_items_owner_open_due",
            "owner_id",
            "due_on",
            "id",
            "partnership_id",
            "status",
            sqlite_where=sa.text(OPEN_ACTION_SQL),
            postgresql_where=sa.text(OPEN_ACTION_SQL),
        ),
        sa.Index(
            "ix_action_items_awaiting_verification",
            "partnership_id",
            "due_on",
            sqlite_where=sa.text(AWAITING_VERIFICATION_SQL),
            postgresql_where=sa.text(AWAITING_VERIFICATION_SQL),
        ),
    )

    def is_overdue(self, today: dt.date) -> bool:
        return self.status not in CLOSED_STATUSES and self.due_on < today


class ActionUpdate(Audited, Base):
    """One entry on an action item's timeline."""

    __tablename__ = "action_updates"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    action_item_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("action_items.id", ondelete="CASCADE"), index=True
    )
    author_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    text: so.Mapped[str | None] = so.mapped_column(sa.Text)
    old_status: so.Mapped[ActionStatus | None] = so.mapped_column(
        enum_column(ActionStatus, "old_status")
    )
    new_status: so.Mapped[ActionStatus | None] = so.mapped_column(
        enum_column(ActionStatus, "new_status")
    )
    evidence_url: so.Mapped[str | None] = so.mapped_column(sa.String(1000))

    action_item: so.Mapped[ActionItem] = so.relationship(back_populates="updates")
    author: so.Mapped[User | None] = so.relationship()

    @property
    def audit_partnership_id(self) -> int | None:
        return self.action_item.partnership_id if self.action_item else None
