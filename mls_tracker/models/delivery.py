"""Monthly delivery volumes and invoiced spend of a partnership (PRODUCT.md §3)."""

from __future__ import annotations

import datetime as dt
import decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.models.base import Audited, Base, Versioned, enum_column, utcnow
from mls_tracker.models.people import User
from mls_tracker.models.sla import MeasurementState
from mls_tracker.periods import Month


class DeliveryMonth(Audited, Versioned, Base):
    """What the provider delivered and invoiced in one month; proposed until a lead confirms."""

    __tablename__ = "delivery_months"
    __audit_exclude__ = ("version",)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    month: so.Mapped[Month]
    learners_trained: so.Mapped[int] = so.mapped_column(default=0)
    completions: so.Mapped[int] = so.mapped_column(default=0)
    training_hours: so.Mapped[decimal.Decimal] = so.mapped_column(sa.Numeric(12, 2), default=0)
    sessions_delivered: so.Mapped[int] = so.mapped_column(default=0)
    # In the partnership's currency; empty while the month is not invoiced yet.
    invoiced_amount: so.Mapped[decimal.Decimal | None] = so.mapped_column(sa.Numeric(14, 2))
    note: so.Mapped[str | None] = so.mapped_column(sa.Text)
    state: so.Mapped[MeasurementState] = so.mapped_column(
        enum_column(MeasurementState, "state"), default=MeasurementState.PROPOSED
    )
    entered_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    entered_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    confirmed_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    confirmed_at: so.Mapped[dt.datetime | None]

    entered_by: so.Mapped[User | None] = so.relationship(foreign_keys=[entered_by_id])
    confirmed_by: so.Mapped[User | None] = so.relationship(foreign_keys=[confirmed_by_id])

    __table_args__ = (
        sa.UniqueConstraint("partnership_id", "month"),
        sa.CheckConstraint(
            "learners_trained >= 0 AND completions >= 0 AND training_hours >= 0"
            " AND sessions_delivered >= 0",
            name="volumes_not_negative",
        ),
        sa.CheckConstraint(
            "invoiced_amount IS NULL OR invoiced_amount >= 0", name="invoiced_not_negative"
        ),
        sa.CheckConstraint(
            "(state = 'confirmed') = (confirmed_at IS NOT NULL)", name="confirmed_has_time"
        ),
    )

    @property
    def confirmed(self) -> bool:
        return self.state == MeasurementState.CONFIRMED
