"""A partnership and what hangs off it directly: regions in scope, sponsors, expectations,
the change log and the wins."""

from __future__ import annotations

import datetime as dt
import decimal
import enum

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.models.base import Audited, Base, Timestamped, Versioned, enum_column, utcnow
from mls_tracker.models.logo import Logo
from mls_tracker.models.people import Membership, Organisation, Region, User


class EngagementModel(enum.StrEnum):
    MANAGED_LEARNING_SERVICES = "managed learning services"
    PROJECT_OUTSOURCING = "project outsourcing"
    RETAINER = "retainer"
    TIME_AND_MATERIALS = "time and materials"
    STAFF_AUGMENTATION = "staff augmentation"


class GovernanceModel(enum.StrEnum):
    CENTRALIZED = "centralized"
    DECENTRALIZED = "decentralized"
    FEDERATED = "federated"


class PartnershipStatus(enum.StrEnum):
    ONBOARDING = "onboarding"
    ACTIVE = "active"
    UNDER_REVIEW = "under review"
    ENDED = "ended"


class ReviewCadence(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class Side(enum.StrEnum):
    CLIENT = "client"
    PROVIDER = "provider"


partnership_regions = sa.Table(
    "partnership_regions",
    Base.metadata,
    sa.Column(
        "partnership_id", sa.ForeignKey("partnerships.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("region_id", sa.ForeignKey("regions.id", ondelete="RESTRICT"), primary_key=True),
)


class Partnership(Audited, Timestamped, Versioned, Base):
    __tablename__ = "partnerships"
    __audit_exclude__ = ("updated_at", "version")

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    client_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    provider_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    engagement_model: so.Mapped[EngagementModel] = so.mapped_column(
        enum_column(EngagementModel, "engagement_model")
    )
    governance_model: so.Mapped[GovernanceModel] = so.mapped_column(
        enum_column(GovernanceModel, "governance_model")
    )
    start_date: so.Mapped[dt.date]
    renewal_date: so.Mapped[dt.date | None]
    annual_value: so.Mapped[decimal.Decimal | None] = so.mapped_column(sa.Numeric(14, 2))
    currency: so.Mapped[str] = so.mapped_column(sa.String(3), default="USD")
    # Service credits (services/service_credits.py): the fee credits are a share of (None:
    # annual_value ÷ 12) and the most credited in one month, in % of it (None: no cap).
    monthly_fee: so.Mapped[decimal.Decimal | None] = so.mapped_column(sa.Numeric(14, 2))
    credit_cap_percent: so.Mapped[decimal.Decimal | None] = so.mapped_column(sa.Numeric(5, 2))
    status: so.Mapped[PartnershipStatus] = so.mapped_column(
        enum_column(PartnershipStatus, "status"), default=PartnershipStatus.ONBOARDING
    )
    home_region_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("regions.id", ondelete="SET NULL")
    )
    review_cadence: so.Mapped[ReviewCadence] = so.mapped_column(
        enum_column(ReviewCadence, "review_cadence"), default=ReviewCadence.MONTHLY
    )
    # Health score weights (PRODUCT.md §3), editable per partnership.
    weight_sla: so.Mapped[decimal.Decimal] = so.mapped_column(sa.Numeric(6, 2), default=40)
    weight_satisfaction: so.Mapped[decimal.Decimal] = so.mapped_column(sa.Numeric(6, 2), default=25)
    weight_actions: so.Mapped[decimal.Decimal] = so.mapped_column(sa.Numeric(6, 2), default=20)
    weight_coverage: so.Mapped[decimal.Decimal] = so.mapped_column(sa.Numeric(6, 2), default=15)
    # Archived (closed) partnerships are read-only, hidden from the portfolio unless asked
    # for, and kept in exports and the audit log; an administrator can reopen them.
    archived_at: so.Mapped[dt.datetime | None]
    # The client's logo (issue 19), shown on the partnership's pages and the scorecard cover.
    logo_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("logos.id", ondelete="SET NULL")
    )

    client: so.Mapped[Organisation] = so.relationship(foreign_keys=[client_id])
    provider: so.Mapped[Organisation] = so.relationship(foreign_keys=[provider_id])
    home_region: so.Mapped[Region | None] = so.relationship()
    regions: so.Mapped[list[Region]] = so.relationship(
        secondary=partnership_regions, order_by=Region.position
    )
    logo: so.Mapped[Logo | None] = so.relationship()
    memberships: so.Mapped[list[Membership]] = so.relationship(
        back_populates="partnership", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("client_id <> provider_id", name="distinct_organisations"),
        sa.CheckConstraint("length(currency) = 3 AND currency = upper(currency)", name="currency"),
        sa.CheckConstraint("annual_value IS NULL OR annual_value >= 0", name="annual_value"),
        sa.CheckConstraint("monthly_fee IS NULL OR monthly_fee >= 0", name="monthly_fee"),
        sa.CheckConstraint(
            "credit_cap_percent IS NULL OR (credit_cap_percent > 0 AND credit_cap_percent <= 100)",
            name="credit_cap_percent",
        ),
        sa.CheckConstraint(
            "renewal_date IS NULL OR renewal_date >= start_date", name="renewal_after_start"
        ),
        sa.CheckConstraint(
            "weight_sla >= 0 AND weight_satisfaction >= 0 AND weight_actions >= 0 "
            "AND weight_coverage >= 0",
            name="weights_not_negative",
        ),
    )

    @property
    def audit_partnership_id(self) -> int | None:
        return self.id

    def __repr__(self) -> str:
        return f"<Partnership {self.name!r}>"


class Sponsor(Audited, Timestamped, Versioned, Base):
    """An executive sponsoring a partnership for one region on one side, for a time."""

    __tablename__ = "sponsors"
    __audit_exclude__ = ("updated_at", "version")

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    region_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("regions.id", ondelete="RESTRICT"))
    side: so.Mapped[Side] = so.mapped_column(enum_column(Side, "side"))
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    title: so.Mapped[str | None] = so.mapped_column(sa.String(160))
    email: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    start_date: so.Mapped[dt.date]
    end_date: so.Mapped[dt.date | None]

    region: so.Mapped[Region] = so.relationship()
    user: so.Mapped[User | None] = so.relationship()

    __table_args__ = (
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
    )

    def is_active_on(self, day: dt.date) -> bool:
        return self.start_date <= day and (self.end_date is None or self.end_date >= day)


class ExpectationCategory(enum.StrEnum):
    PERFORMANCE = "performance"
    MEASUREMENT = "measurement"
    CLIENT_SATISFACTION = "client satisfaction"
    SERVICE_LEVEL = "service level"
    COMMUNICATION = "communication"
    OTHER = "other"


class Expectation(Audited, Timestamped, Versioned, Base):
    """A statement both sides agreed, to be revisited by a date."""

    __tablename__ = "expectations"
    __audit_exclude__ = ("updated_at", "version")

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    # A short name ("Quarterly business reviews"); expectations entered before it existed,
    # and those entered without one, show the start of the statement instead.
    title: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    category: so.Mapped[ExpectationCategory] = so.mapped_column(
        enum_column(ExpectationCategory, "category")
    )
    statement: so.Mapped[str] = so.mapped_column(sa.Text)
    owner_side: so.Mapped[Side] = so.mapped_column(enum_column(Side, "owner_side"))
    agreed_on: so.Mapped[dt.date]
    revisit_by: so.Mapped[dt.date]

    revisions: so.Mapped[list[ExpectationRevision]] = so.relationship(
        back_populates="expectation",
        cascade="all, delete-orphan",
        order_by="ExpectationRevision.created_at",
    )

    __table_args__ = (sa.CheckConstraint("revisit_by >= agreed_on", name="revisit_after_agreed"),)


class RevisionKind(enum.StrEnum):
    REWORDED = "reworded"
    REVISITED = "revisited"


class ExpectationRevision(Audited, Base):
    """The history of an expectation: earlier wording, and each time it was revisited."""

    __tablename__ = "expectation_revisions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    expectation_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("expectations.id", ondelete="CASCADE"), index=True
    )
    kind: so.Mapped[RevisionKind] = so.mapped_column(enum_column(RevisionKind, "kind"))
    previous_statement: so.Mapped[str | None] = so.mapped_column(sa.Text)
    revisited_on: so.Mapped[dt.date | None]
    next_revisit_by: so.Mapped[dt.date | None]
    note: so.Mapped[str | None] = so.mapped_column(sa.Text)
    author_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    expectation: so.Mapped[Expectation] = so.relationship(back_populates="revisions")
    author: so.Mapped[User | None] = so.relationship()

    @property
    def audit_partnership_id(self) -> int | None:
        return self.expectation.partnership_id if self.expectation else None


class ChangeType(enum.StrEnum):
    TECHNOLOGY = "technology"
    PROCESS = "process"
    ORGANISATION = "organisation"
    CONTENT = "content"
    POLICY = "policy"
    OTHER = "other"


class ChangeStatus(enum.StrEnum):
    PROPOSED = "proposed"
    PLANNED = "planned"
    IN_PROGRESS = "in progress"
    LIVE = "live"
    CANCELLED = "cancelled"


change_regions = sa.Table(
    "change_regions",
    Base.metadata,
    sa.Column("change_id", sa.ForeignKey("changes.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("region_id", sa.ForeignKey("regions.id", ondelete="RESTRICT"), primary_key=True),
)


class Change(Audited, Timestamped, Versioned, Base):
    """An entry of the change-management log."""

    __tablename__ = "changes"
    __audit_exclude__ = ("updated_at", "version")

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    description: so.Mapped[str | None] = so.mapped_column(sa.Text)
    change_type: so.Mapped[ChangeType] = so.mapped_column(enum_column(ChangeType, "change_type"))
    planned_on: so.Mapped[dt.date | None]
    communication_plan: so.Mapped[str | None] = so.mapped_column(sa.Text)
    owner_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    status: so.Mapped[ChangeStatus] = so.mapped_column(
        enum_column(ChangeStatus, "status"), default=ChangeStatus.PLANNED
    )
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    owner: so.Mapped[User | None] = so.relationship(foreign_keys=[owner_id])
    regions: so.Mapped[list[Region]] = so.relationship(secondary=change_regions)


class Win(Audited, Timestamped, Versioned, Base):
    """A success to celebrate."""

    __tablename__ = "wins"
    __audit_exclude__ = ("updated_at", "version")

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    story: so.Mapped[str | None] = so.mapped_column(sa.Text)
    won_on: so.Mapped[dt.date]
    region_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("regions.id", ondelete="SET NULL")
    )
    measurable_impact: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    shareable: so.Mapped[bool] = so.mapped_column(default=False)
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    region: so.Mapped[Region | None] = so.relationship()
