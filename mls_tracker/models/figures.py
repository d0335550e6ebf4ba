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


# A new child object added by foreign key alone (``SlaMeasurement(sla_id=…)``) has no parent
# loaded yet, so its ``audit_partnership_id`` is None: find the partnership through the key.
_PARENT_TABLES = {"sla_id": "slas", "meeting_id": "meetings", "action_item_id": "action_items"}


def _written_partnerships(session: so.Session) -> set[int]:
    """The partnerships owning an audited object this flush wrote — the audit log's own
    ``audit_partnership_id``, so the cache forgets what the log records."""
    ids: set[int] = set()
    parents: dict[str, set[int]] = {}
    with session.no_autoflush:
        for obj in (*session.new, *session.dirty, *session.deleted):
            if not isinstance(obj, Audited):
                continue
            if obj in session.dirty and not session.is_modified(obj):
                continue
            partnership_id = obj.audit_partnership_id
            if partnership_id is not None:
                ids.add(partnership_id)
                continue
            for key, table in _PARENT_TABLES.items():
                parent_id = getattr(obj, key, None)
                if parent_id is not None:
                    parents.setdefault(table, set()).add(parent_id)
    for table_name, parent_ids in parents.items():
        table = Base.metadata.tables[table_name]
        ids.update(
            session.connection().scalars(
                sa.select(table.c.partnership_id).where(table.c.id.in_(sorted(parent_ids)))
            )
        )
    return ids


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
