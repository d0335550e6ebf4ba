"""The monthly figures cache's table: one row of plain figures per partnership and month
(``services/figures_cache.py`` reads, fills, commits and forgets it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.models.base import Base
from mls_tracker.periods import Month


class PartnershipMonthFigures(Base):
    """A partnership's figures for one month as computed on ``computed_on`` (JSON of plain
    values). Not audited: it is derived data, rebuilt on demand."""

    __tablename__ = "partnership_month_figures"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE")
    )
    month: so.Mapped[Month]
    computed_on: so.Mapped[dt.date]
    data: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)

    __table_args__ = (sa.UniqueConstraint("partnership_id", "month"),)


class PartnershipPortfolioRow(Base):
    """A partnership's row on the portfolio, as computed on ``computed_on`` for the month
    reviewed that day: the values the page sorts on as plain columns (sorted and cut into
    pages in SQL), and the figures of the trend months plus the regions without a client
    sponsor as JSON text in ``data``. Derived like ``PartnershipMonthFigures``, forgotten with
    it (``services/figures_cache.py``) and rebuilt on demand (``services/dashboard.py``)."""

    __tablename__ = "partnership_portfolio_rows"

    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), primary_key=True
    )
    computed_on: so.Mapped[dt.date]
    version: so.Mapped[int]
    # the partnership's name in lower case: the sort on names, and ties of every other sort
    sort_name: so.Mapped[str] = so.mapped_column(sa.Text)
    health_score: so.Mapped[float | None] = so.mapped_column(sa.Float)
    sla_attainment: so.Mapped[float | None] = so.mapped_column(sa.Float)
    csat: so.Mapped[float | None] = so.mapped_column(sa.Float)
    nps: so.Mapped[float | None] = so.mapped_column(sa.Float)
    overdue_actions: so.Mapped[int]
    gap_count: so.Mapped[int]
    next_meeting_on: so.Mapped[dt.date | None]
    next_meeting_id: so.Mapped[int | None]
    data: so.Mapped[str] = so.mapped_column(sa.Text)
