"""Learner satisfaction: imported survey responses, import history and mappings, and
totals reported by hand."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.models.base import Audited, Base, enum_column, utcnow
from mls_tracker.models.people import Region, User
from mls_tracker.periods import Month


class SurveyFormat(enum.StrEnum):
    GENERIC = "generic"
    QUALTRICS = "qualtrics"
    SURVEYMONKEY = "surveymonkey"
    MICROSOFT_FORMS = "microsoft forms"
    GOOGLE_FORMS = "google forms"


class ImportState(enum.StrEnum):
    """An import made by a provider is proposed until a lead confirms it (the rule of SLA
    actuals); only the responses of confirmed imports count in any figure."""

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"


class SurveyImport(Audited, Base):
    """One uploaded file of survey responses; undoing it removes its responses."""

    __tablename__ = "survey_imports"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    file_name: so.Mapped[str] = so.mapped_column(sa.String(255))
    file_format: so.Mapped[SurveyFormat] = so.mapped_column(enum_column(SurveyFormat, "format"))
    file_sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    uploaded_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    rows_added: so.Mapped[int] = so.mapped_column(default=0)
    rows_skipped: so.Mapped[int] = so.mapped_column(default=0)
    # The scale the satisfaction question was asked on when it was not 1–5 ("1-10"): its
    # answers were mapped linearly to 1–5, and the scorecard says so.
    rating_scale: so.Mapped[str | None] = so.mapped_column(sa.String(8))
    undone_at: so.Mapped[dt.datetime | None]
    undone_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # Imports written without a state (the demo, older code) are a lead's: confirmed.
    state: so.Mapped[ImportState] = so.mapped_column(
        enum_column(ImportState, "state"), default=ImportState.CONFIRMED
    )
    confirmed_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    confirmed_at: so.Mapped[dt.datetime | None]

    uploaded_by: so.Mapped[User | None] = so.relationship(foreign_keys=[uploaded_by_id])

    __table_args__ = (
        sa.CheckConstraint("rows_added >= 0 AND rows_skipped >= 0", name="counts_not_negative"),
    )


def _counted(import_id: so.InstrumentedAttribute[int | None]) -> sa.ColumnElement[bool]:
    proposed = sa.select(SurveyImport.id).where(SurveyImport.state == ImportState.PROPOSED)
    return sa.or_(import_id.is_(None), import_id.not_in(proposed))


class SurveyResponse(Base):
    """One learner's response. Not audited row by row: its import is."""

    __tablename__ = "survey_responses"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE")
    )
    import_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("survey_imports.id", ondelete="CASCADE"), index=True
    )
    # The survey tool's response id, or a hash of the row where the export has none.
    response_key: so.Mapped[str] = so.mapped_column(sa.String(128))
    submitted_at: so.Mapped[dt.datetime]
    month: so.Mapped[Month]
    program: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    region_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("regions.id", ondelete="SET NULL")
    )
    rating: so.Mapped[int | None] = so.mapped_column(sa.SmallInteger)
    recommend: so.Mapped[int | None] = so.mapped_column(sa.SmallInteger)
    comment: so.Mapped[str | None] = so.mapped_column(sa.Text)

    region: so.Mapped[Region | None] = so.relationship()

    @classmethod
    def counted(cls) -> sa.ColumnElement[bool]:
        """The responses that count in figures: those of no import or of a confirmed one
        (a provider's import waiting for a lead's confirmation does not count yet)."""
        return _counted(cls.import_id)

    __table_args__ = (
        sa.UniqueConstraint("partnership_id", "response_key"),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
        sa.CheckConstraint(
            "recommend IS NULL OR recommend BETWEEN 0 AND 10", name="recommend_range"
        ),
        sa.CheckConstraint(
            "rating IS NOT NULL OR recommend IS NOT NULL", name="rating_or_recommend"
        ),
        sa.Index("ix_survey_responses_partnership_month", "partnership_id", "month"),
    )


class SatisfactionMonth(Base):
    """The sums of the responses of one import (or of those written without an import) for
    one month, region and program: every satisfaction figure is computed from them, never
    from the responses one by one. Derived data, written only by
    ``services/satisfaction_months`` in the transaction that changes the responses, so it
    always equals a recomputation from ``survey_responses``. A cell may be split over several
    rows (one per import): readers add them up."""

    __tablename__ = "satisfaction_months"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE")
    )
    import_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("survey_imports.id", ondelete="CASCADE"), index=True
    )
    month: so.Mapped[Month]
    program: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    # No foreign key: a region is deleted only while nothing refers to it
    # (services/reference_data), and the responses summed here refer to it; a key of its
    # own would list these rows beside the responses in "cannot be deleted" messages.
    region_id: so.Mapped[int | None]
    responses: so.Mapped[int]
    n_rating: so.Mapped[int]  # answers on the 1–5 scale
    rating_sum: so.Mapped[int]
    satisfied: so.Mapped[int]  # ratings of 4 or 5
    n_recommend: so.Mapped[int]  # answers on the 0–10 scale
    promoters: so.Mapped[int]  # 9–10
    detractors: so.Mapped[int]  # 0–6

    @classmethod
    def counted(cls) -> sa.ColumnElement[bool]:
        """The sums that count in figures (as ``SurveyResponse.counted``)."""
        return _counted(cls.import_id)

    __table_args__ = (
        sa.Index("ix_satisfaction_months_partnership_month", "partnership_id", "month"),
    )


class ImportMapping(Audited, Base):
    """The column mapping last used for a partnership and survey format."""

    __tablename__ = "import_mappings"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE")
    )
    file_format: so.Mapped[SurveyFormat] = so.mapped_column(enum_column(SurveyFormat, "format"))
    mapping: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.UniqueConstraint("partnership_id", "file_format"),)


class ReportedSatisfaction(Audited, Base):
    """Totals the provider reported for a month without individual responses."""

    __tablename__ = "reported_satisfaction"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    month: so.Mapped[Month]
    program: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    region_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("regions.id", ondelete="SET NULL")
    )
    responses: so.Mapped[int]
    mean_rating: so.Mapped[decimal.Decimal | None] = so.mapped_column(sa.Numeric(4, 2))
    csat: so.Mapped[decimal.Decimal | None] = so.mapped_column(sa.Numeric(5, 2))
    nps: so.Mapped[decimal.Decimal | None] = so.mapped_column(sa.Numeric(5, 1))
    entered_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("responses > 0", name="responses_positive"),
        sa.CheckConstraint(
            "mean_rating IS NULL OR mean_rating BETWEEN 1 AND 5", name="mean_rating_range"
        ),
        sa.CheckConstraint("csat IS NULL OR csat BETWEEN 0 AND 100", name="csat_range"),
        sa.CheckConstraint("nps IS NULL OR nps BETWEEN -100 AND 100", name="nps_range"),
    )
