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
