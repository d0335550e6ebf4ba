"""The monthly figures cache (``partnership_month_figures``): the one place that reads, fills,
commits and forgets it — and forgets and stores the portfolio rows made from it
(``partnership_portfolio_rows``, computed by ``services/dashboard.py``) by the same rules.

One row per partnership and month holds that month's plain figures as JSON; what they are
and how they are computed is the caller's (``services/dashboard.month_figures`` passes
``compute_month_figures``). Rules:

- any audited write of a partnership (anything the audit log records with its
  ``audit_partnership_id``) deletes that partnership's rows in the same transaction, so a
  rolled-back write keeps them (``install_listeners``, called once by ``create_app``);
- a row of the previous month, the current month or later is recomputed when it was
  computed before today (overdue actions and sponsor coverage depend on the day);
- a row written by an older version of the figures (``CACHE_VERSION``, stored in the row's
  data under ``VERSION_KEY``) is recomputed — bump the version when what is stored changes
  meaning (version 2: exact, unrounded components, issue 15);
- what is missing is computed for every missing (partnership, month) at once and upserted,
  in one statement, in a fixed order (partnership, then month);
- filling the cache never waits on another transaction for long, so readers cannot deadlock
  (issue 16): on PostgreSQL the upsert runs in a savepoint with a short ``lock_timeout``; when
  another transaction holds those rows (it is filling them too, or a use case holds them in
  its open transaction) the savepoint is rolled back and the figures are returned without
  being stored — the next reader stores them;
- the rows filled are committed here at once, unless the session's transaction holds a write
  of the caller (a use case that reads figures and will commit later): then they stay in that
  transaction, committed or rolled back with it, since they may be computed from it.

Writes that bypass the session (SQL on a raw connection) bypass the audit log and this cache
alike; survey responses are written so, but always with their audited ``SurveyImport``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.audit import partnerships_of
from mls_tracker.extensions import db
from mls_tracker.models import PartnershipMonthFigures, PartnershipPortfolioRow
from mls_tracker.models.base import Audited, Base
from mls_tracker.periods import Month, month_range
from mls_tracker.services.locking import is_contention

log = logging.getLogger("mls_tracker.figures_cache")

Data = dict[str, Any]
Compute = Callable[[Sequence[int], Month, Month, dt.date], Mapping[int, Mapping[Month, Data]]]

# The version of what the rows hold; a row of another version (or none) is recomputed.
CACHE_VERSION = 2
VERSION_KEY = "_cache_version"

# How long filling the cache waits for rows another transaction holds before leaving them
# out; PostgreSQL's SQLSTATEs of such a collision (lock not available, deadlock detected,
# serialization failure).
LOCK_TIMEOUT_MS = 200

# session.info key: the session's transaction holds a write that is not the cache's own.
_CALLER_WROTE = "figures_cache_caller_wrote"
# execution option marking the cache's own statements, which are not the caller's writes
_OWN = "figures_cache_own"


def cached_figures(
    partnership_ids: Sequence[int],
    first: Month,
    last: Month,
    today: dt.date,
    compute: Compute,
) -> dict[tuple[int, Month], Data]:
    """The plain figures of every (partnership, month) ``first``…``last``: read in one query,
    what is missing or stale computed by ``compute(ids, first, last, today)`` for all the
    partnerships at once, stored, and committed when the transaction is the cache's alone."""
    months = month_range(first, last)
    ids = sorted(set(partnership_ids))
    if not ids or not months:
        return {}
    table = PartnershipMonthFigures
    found: dict[tuple[int, Month], Data] = {}
    # Read as text and decode here: the portfolio reads thousands of rows, and the column
    # types' result processing costs more than the decoding itself.
    by_day = {m.first_day.isoformat(): m for m in months}
    fresh_from = Month.of(today).previous()
    today_text = today.isoformat()
    for pid, month_text, computed_text, data in db.session.execute(
        sa.select(
            table.partnership_id,
            sa.cast(table.month, sa.String),
            sa.cast(table.computed_on, sa.String),
            sa.cast(table.data, sa.Text),
        ).where(table.partnership_id.in_(ids), table.month >= first, table.month <= last)
    ):
        month = by_day.get(month_text[:10])
        if month is None or (computed_text[:10] < today_text and month >= fresh_from):
            continue  # time-dependent figures computed before today: recompute
        decoded = json.loads(data)
        if decoded.pop(VERSION_KEY, None) != CACHE_VERSION:
            continue  # written by an older version of the figures: recompute
        found[(pid, month)] = decoded
    missing = [(pid, m) for pid in ids for m in months if (pid, m) not in found]
    if missing:
        computed = compute(
            sorted({pid for pid, _ in missing}),
            min(m for _, m in missing),
            max(m for _, m in missing),
            today,
        )
        rows = [
            {
                "partnership_id": pid,
                "month": month,
                "computed_on": today,
                "data": {**computed[pid][month], VERSION_KEY: CACHE_VERSION},
            }
            for pid, month in missing
        ]
        store(PartnershipMonthFigures, rows, ("partnership_id", "month"))
        for pid, month in missing:
            found[(pid, month)] = dict(computed[pid][month])
    return found


def store(model: type[Base], rows: list[dict[str, Any]], keys: Sequence[str]) -> bool:
    """Upsert rows of a cache table (unique on ``keys``) without waiting on another
    transaction for long, and commit them when the transaction is the cache's alone; False
    when they were left out because another transaction holds some of them."""
    if not rows:
        return True
    if _store(model, rows, keys):
        _commit_if_alone()
        return True
    return False


def _store(model: type[Base], rows: list[dict[str, Any]], keys: Sequence[str]) -> bool:
    session = db.session()
    if session.get_bind().dialect.name != "postgresql":
        # SQLite has one writer at a time (its busy timeout waits for it): no deadlock.
        _upsert(model, rows, keys)
        return True
    own = {_OWN: True}
    try:
        with session.begin_nested():
            previous = session.execute(
                sa.text(
                    "SELECT current_setting('lock_timeout'), set_config('lock_timeout', :t, true)"
                ),
                {"t": f"{LOCK_TIMEOUT_MS}ms"},
                execution_options=own,
            ).scalar_one()
            _upsert(model, rows, keys)
            # back to what the caller's transaction had (a use case's own waits are its own)
            session.execute(
                sa.text("SELECT set_config('lock_timeout', :t, true)"),
                {"t": previous},
                execution_options=own,
            )
    except sa.exc.DBAPIError as error:
        if not is_contention(error):
            raise
        log.info(
            "figures cache: %d row(s) left unstored, another transaction holds them (%s)",
            len(rows),
            getattr(error.orig, "sqlstate", None) or error.orig,
        )
        return False
    return True


def _upsert(model: type[Base], rows: list[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert or replace cache rows; two requests computing the same row do not collide."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(model)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: statement.excluded[name] for name in rows[0] if name not in keys},
    ).execution_options(**{_OWN: True})
    db.session.execute(statement, rows)


def _has_pending_changes(session: so.Session) -> bool:
    return bool(
        session.new or session.deleted or any(session.is_modified(o) for o in session.dirty)
    )


def _commit_if_alone() -> None:
    """Commit the rows just stored when nothing else is written in this transaction: a
    read-only page keeps them at once, a use case's half-done write is never committed."""
    session = db.session()
    if (
        session.info.get(_CALLER_WROTE)
        or session.in_nested_transaction()
        or _has_pending_changes(session)
    ):
        return  # the caller's commit keeps the rows with its write, its rollback drops both
    # Nothing the ORM holds was written: expiring it would only cost the caller a query per
    # object read again, and would refresh the version a use case has read to check later.
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


# ----------------------------------------------------------------------------- listeners


def _written_partnerships(session: so.Session) -> set[int]:
    """The partnerships owning an audited object this flush writes — found as the audit log
    finds them, so the cache forgets what the log records."""
    with session.no_autoflush:
        written = [
            obj
            for obj in (*session.new, *session.dirty, *session.deleted)
            if isinstance(obj, Audited)
            and not (obj in session.dirty and not session.is_modified(obj))
        ]
        owners = partnerships_of(session, written)
    return {pid for pid in owners.values() if pid is not None}


# The caches of a partnership's figures, forgotten together: the monthly figures, and the
# portfolio row made from them.
PARTNERSHIP_CACHES: tuple[type[Base], ...] = (PartnershipMonthFigures, PartnershipPortfolioRow)

# The cache tables each engine's database is known to hold. A database still on an older
# schema (the demo loaded before a migration, a deploy between code and migration) must not
# refuse every write; it is looked at again on each flush until the table exists.
_HAS_TABLES: weakref.WeakKeyDictionary[sa.Engine, set[str]] = weakref.WeakKeyDictionary()


def _tables(connection: sa.Connection) -> list[sa.Table]:
    known = _HAS_TABLES.setdefault(connection.engine, set())
    wanted = [model.__table__ for model in PARTNERSHIP_CACHES]
    if len(known) < len(wanted):
        inspector = sa.inspect(connection)
        known.update(t.name for t in wanted if inspector.has_table(t.name))
    return [t for t in wanted if t.name in known]


def _after_flush(session: so.Session, _flush_context: Any) -> None:
    """Forget the written partnerships' rows, and remember that the caller wrote."""
    if _has_pending_changes(session):
        session.info[_CALLER_WROTE] = True
    ids = _written_partnerships(session)
    if ids:
        connection = session.connection()
        for table in _tables(connection):
            connection.execute(sa.delete(table).where(table.c.partnership_id.in_(sorted(ids))))


def _on_execute(state: so.ORMExecuteState) -> None:
    """A write through ``session.execute`` (bulk update, delete, insert) is the caller's."""
    if (state.is_insert or state.is_update or state.is_delete) and not state.execution_options.get(
        _OWN
    ):
        state.session.info[_CALLER_WROTE] = True


def _after_transaction_end(session: so.Session, transaction: so.SessionTransaction) -> None:
    if transaction.parent is None:  # the whole transaction, committed or rolled back
        session.info.pop(_CALLER_WROTE, None)


_LISTENERS = (
    ("after_flush", _after_flush),
    ("do_orm_execute", _on_execute),
    ("after_transaction_end", _after_transaction_end),
)


def install_listeners() -> None:
    """Idempotent, global to every session: drop a partnership's rows in the transaction that
    writes it, and know whether a transaction holds the caller's writes."""
    for name, listener in _LISTENERS:
        if not sa.event.contains(so.Session, name, listener):
            sa.event.listen(so.Session, name, listener)
