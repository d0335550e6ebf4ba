"""SLAs, their effective-dated targets and their monthly measurements."""

from __future__ import annotations

import datetime as dt
import decimal
import enum

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.models.base import Audited, Base, Timestamped, Versioned, enum_column, utcnow
from mls_tracker.models.partnership import Expectation
from mls_tracker.models.people import User
from mls_tracker.periods import Month


class Unit(enum.StrEnum):
    PERCENT = "%"
    HOURS = "hours"
    DAYS = "days"
    COUNT = "count"
    SCORE = "score"
    CURRENCY = "currency"


class Direction(enum.StrEnum):
    HIGHER_IS_BETTER = "higher is better"
    LOWER_IS_BETTER = "lower is better"


class Frequency(enum.StrEnum):
    MONTHLY = "monthly"


class MeasurementState(enum.StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"


PROPOSED_SQL = "state = 'proposed'"


class Sla(Audited, Timestamped, Versioned, Base):
    """A measurable commitment under an expectation."""

    __tablename__ = "slas"
    __audit_exclude__ = ("updated_at", "version")

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    expectation_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("expectations.id", ondelete="SET NULL"), index=True
    )
    code: so.Mapped[str] = so.mapped_column(sa.String(20))
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    definition: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # A free grouping ("Delivery", "Quality", "Operations"), as contracts list their SLAs.
    category: so.Mapped[str | None] = so.mapped_column(sa.String(60))
    unit: so.Mapped[Unit] = so.mapped_column(enum_column(Unit, "unit"))
    direction: so.Mapped[Direction] = so.mapped_column(enum_column(Direction, "direction"))
    weight: so.Mapped[decimal.Decimal] = so.mapped_column(sa.Numeric(6, 2), default=1)
    frequency: so.Mapped[Frequency] = so.mapped_column(
        enum_column(Frequency, "frequency"), default=Frequency.MONTHLY
    )
    active: so.Mapped[bool] = so.mapped_column(default=True)
    # The contract's service credit: % of the partnership's monthly fee credited per confirmed
    # breach (None: no credit rule). See services/service_credits.py.
    credit_percent: so.Mapped[decimal.Decimal | None] = so.mapped_column(sa.Numeric(5, 2))

    expectation: so.Mapped[Expectation | None] = so.relationship()
    targets: so.Mapped[list[SlaTarget]] = so.relationship(
        back_populates="sla", cascade="all, delete-orphan", order_by="SlaTarget.effective_from"
    )

    __table_args__ = (
        sa.UniqueConstraint("partnership_id", "code"),
        sa.CheckConstraint("weight >= 0", name="weight_not_negative"),
        sa.CheckConstraint(
            "credit_percent IS NULL OR (credit_percent > 0 AND credit_percent <= 100)",
            name="credit_percent",
        ),
    )

    def target_for(self, month: Month) -> SlaTarget | None:
        """The target in force for ``month``: the latest one effective on or before it."""
        in_force = None
        for target in self.targets:
            if target.effective_from <= month:
                in_force = target
        return in_force


class SlaTarget(Audited, Base):
    """A target and at-risk threshold, in force from a month until the next one."""

    __tablename__ = "sla_targets"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    sla_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("slas.id", ondelete="CASCADE"))
    effective_from: so.Mapped[Month]
    target: so.Mapped[decimal.Decimal] = so.mapped_column(sa.Numeric(14, 4))
    at_risk_threshold: so.Mapped[decimal.Decimal] = so.mapped_column(sa.Numeric(14, 4))
    set_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    # The months this target re-judged when it was set from a past month, as the lead
    # confirmed them: [{"month": "2026-09", "before": "breached", "after": "met",
    # "state": "confirmed"}]. None: it changed no month's status.
    rejudged: so.Mapped[list[dict[str, str]] | None] = so.mapped_column(sa.JSON)

    sla: so.Mapped[Sla] = so.relationship(back_populates="targets")

    __table_args__ = (sa.UniqueConstraint("sla_id", "effective_from"),)

    @property
    def audit_partnership_id(self) -> int | None:
        return self.sla.partnership_id if self.sla else None


class SlaMeasurement(Audited, Versioned, Base):
    """One actual value per SLA and month. ``value`` is empty when not applicable."""

    __tablename__ = "sla_measurements"
    __audit_exclude__ = ("version",)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    sla_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("slas.id", ondelete="CASCADE"))
    month: so.Mapped[Month]
    value: so.Mapped[decimal.Decimal | None] = so.mapped_column(sa.Numeric(14, 4))
    not_applicable: so.Mapped[bool] = so.mapped_column(default=False)
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

    sla: so.Mapped[Sla] = so.relationship()
    entered_by: so.Mapped[User | None] = so.relationship(foreign_keys=[entered_by_id])
    confirmed_by: so.Mapped[User | None] = so.relationship(foreign_keys=[confirmed_by_id])

    __table_args__ = (
        sa.UniqueConstraint("sla_id", "month"),
        sa.CheckConstraint(
            "(not_applicable AND value IS NULL) OR (NOT not_applicable AND value IS NOT NULL)",
            name="value_or_not_applicable",
        ),
        sa.CheckConstraint(
            "(state = 'confirmed') = (confirmed_at IS NOT NULL)", name="confirmed_has_time"
        ),
        # Actuals waiting for a lead (the queue and its count in the navigation).
        sa.Index(
            "ix_sla_measurements_proposed",
            "sla_id",
            sqlite_where=sa.text(PROPOSED_SQL),
            postgresql_where=sa.text(PROPOSED_SQL),
        ),
    )

    @property
    def audit_partnership_id(self) -> int | None:
        return self.sla.partnership_id if self.sla else None
