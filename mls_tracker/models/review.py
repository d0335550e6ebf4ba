"""Partnership reviews, their issued scorecards and each scorecard's distribution."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.models.base import Audited, Base, Timestamped, Versioned, enum_column, utcnow
from mls_tracker.models.partnership import Sponsor, Win
from mls_tracker.models.people import User
from mls_tracker.periods import Month


class ReviewKind(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class CommentaryState(enum.StrEnum):
    """The provider's commentary on a review: only an approved one reaches the scorecard."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


review_featured_wins = sa.Table(
    "review_featured_wins",
    Base.metadata,
    sa.Column("review_id", sa.ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("win_id", sa.ForeignKey("wins.id", ondelete="CASCADE"), primary_key=True),
)


class Review(Audited, Timestamped, Versioned, Base):
    __tablename__ = "reviews"
    __audit_exclude__ = ("updated_at", "version")
    __audit_digest__ = ("snapshot",)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    kind: so.Mapped[ReviewKind] = so.mapped_column(enum_column(ReviewKind, "kind"))
    first_month: so.Mapped[Month]
    last_month: so.Mapped[Month]
    executive_summary: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # The figures the summary was written for ({"Health score": "66 (amber)", …}), so a
    # refresh that changes them marks an edited summary as stale. None: no summary.
    summary_basis: so.Mapped[dict[str, str] | None] = so.mapped_column(sa.JSON)
    # The figures frozen when the review was opened or last refreshed.
    snapshot: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # Issue 19, the cover's story. The key messages the lead edits (None: not drafted yet),
    # with the figures they were written for (as ``summary_basis``), the lead's decisions and
    # asks of the sponsors, and the provider's commentary with its approval.
    key_messages: so.Mapped[list[str] | None] = so.mapped_column(sa.JSON)
    key_messages_basis: so.Mapped[dict[str, str] | None] = so.mapped_column(sa.JSON)
    decisions_asks: so.Mapped[str | None] = so.mapped_column(sa.Text)
    provider_commentary: so.Mapped[str | None] = so.mapped_column(sa.Text)
    commentary_state: so.Mapped[CommentaryState | None] = so.mapped_column(
        enum_column(CommentaryState, "commentary_state")
    )
    commentary_submitted_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    commentary_submitted_at: so.Mapped[dt.datetime | None]
    commentary_approved_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    commentary_approved_at: so.Mapped[dt.datetime | None]
    commentary_return_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)

    featured_wins: so.Mapped[list[Win]] = so.relationship(secondary=review_featured_wins)
    scorecards: so.Mapped[list[Scorecard]] = so.relationship(
        back_populates="review", order_by="Scorecard.version"
    )
    commentary_submitted_by: so.Mapped[User | None] = so.relationship(
        foreign_keys=[commentary_submitted_by_id]
    )
    commentary_approved_by: so.Mapped[User | None] = so.relationship(
        foreign_keys=[commentary_approved_by_id]
    )

    __table_args__ = (
        sa.CheckConstraint("last_month >= first_month", name="period_order"),
        sa.UniqueConstraint("partnership_id", "first_month", "last_month"),
    )


def _pdf_size(context: Any) -> int:
    return len(context.get_current_parameters()["pdf"])


class Scorecard(Audited, Base):
    """An issued PDF of a review. Never changes once written; re-issuing adds a version."""

    __tablename__ = "scorecards"
    __audit_exclude__ = ("pdf",)  # its SHA-256 is a column
    __audit_digest__ = ("snapshot",)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    review_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("reviews.id", ondelete="RESTRICT"), index=True
    )
    version: so.Mapped[int]
    issued_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    issued_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    pdf: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    # Stored at issue time so that listing versions never reads the PDFs themselves.
    size_bytes: so.Mapped[int] = so.mapped_column(default=_pdf_size)
    page_count: so.Mapped[int | None]  # None: a PDF this application did not lay out
    snapshot: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)

    review: so.Mapped[Review] = so.relationship(back_populates="scorecards")
    issued_by: so.Mapped[User | None] = so.relationship()
    deliveries: so.Mapped[list[ScorecardDelivery]] = so.relationship(back_populates="scorecard")

    __table_args__ = (
        sa.UniqueConstraint("review_id", "version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    @property
    def audit_partnership_id(self) -> int | None:
        return self.review.partnership_id if self.review else None


class DeliveryResult(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class ScorecardDelivery(Audited, Base):
    """One recipient of a scorecard: when it was sent, how that went, and their acknowledgement."""

    __tablename__ = "scorecard_deliveries"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    scorecard_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("scorecards.id", ondelete="CASCADE"), index=True
    )
    sponsor_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("sponsors.id", ondelete="SET NULL")
    )
    email: so.Mapped[str] = so.mapped_column(sa.String(255))
    result: so.Mapped[DeliveryResult] = so.mapped_column(
        enum_column(DeliveryResult, "result"), default=DeliveryResult.PENDING
    )
    error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    sent_at: so.Mapped[dt.datetime | None]
    acknowledged_at: so.Mapped[dt.datetime | None]
    comment: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # When the comment was last written: an edited comment goes on the next agenda again.
    commented_at: so.Mapped[dt.datetime | None]
    # When the sponsor first opened it: the in-app page or PDF, or the e-mailed link's.
    read_at: so.Mapped[dt.datetime | None]
    # Recorded in the app for a sponsor it was never e-mailed to (an e-mail sent later
    # reuses the row, as it does a failed one, so read and acknowledged carry over).
    in_app: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())

    scorecard: so.Mapped[Scorecard] = so.relationship(back_populates="deliveries")
    sponsor: so.Mapped[Sponsor | None] = so.relationship()

    @property
    def audit_partnership_id(self) -> int | None:
        scorecard = self.scorecard
        if scorecard is None and self.scorecard_id is not None:
            # A new row made by key alone (a send, a sponsor's first read): its scorecard is
            # not loaded while it is pending, and its partnership's pages must still see it.
            session = so.object_session(self)
            scorecard = session.get(Scorecard, self.scorecard_id) if session else None
        return scorecard.audit_partnership_id if scorecard else None
