"""The monthly figures cache: one row of plain figures per partnership and month, dropped by
any audited write of the partnership (``services/dashboard.py`` computes and reads it)."""

from __future__ import annotations

import datetime as dt
import weakref
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.models.base import Audited, Base
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


def _written_partnerships(session: so.Session) -> set[int]:
    """The partnerships owning an audited object this flush writes — found as the audit log
    finds them, so the cache forgets what the log records."""
    from mls_tracker.audit import partnerships_of

    with session.no_autoflush:
        written = [
            obj
            for obj in (*session.new, *session.dirty, *session.deleted)
            if isinstance(obj, Audited)
            and not (obj in session.dirty and not session.is_modified(obj))
        ]
        owners = partnerships_of(session, written)
    return {pid for pid in owners.values() if pid is not None}


# Engines whose database is known to hold the table. A database still on an older schema
# (the demo loaded before this migration, a deploy between code and migration) must not
# refuse every write; it is looked at again on each flush until the table exists.
_HAS_TABLE: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def _has_table(connection: sa.Connection) -> bool:
    if connection.engine in _HAS_TABLE:
        return True
    if sa.inspect(connection).has_table(PartnershipMonthFigures.__tablename__):
        _HAS_TABLE.add(connection.engine)
        return True
    return False


def _forget_figures(session: so.Session, _flush_context: Any) -> None:
    ids = _written_partnerships(session)
    if ids and _has_table(session.connection()):
        session.connection().execute(
            sa.delete(PartnershipMonthFigures).where(
                PartnershipMonthFigures.partnership_id.in_(sorted(ids))
            )
        )


def install_figures_listener() -> None:
    """Idempotent: drop a partnership's cached figures in the transaction that writes it."""
    if not sa.event.contains(so.Session, "after_flush", _forget_figures):
        sa.event.listen(so.Session, "after_flush", _forget_figures)


install_figures_listener()
