"""Optimistic locking for records two people may edit at once (their ``version`` column):
a save based on an outdated copy is refused with a message, never silently applied.

A save is one guarded unit (``guarded_save``): every change it makes and its commit run inside
the guard, because SQLAlchemy's version check fires at *any* flush — an autoflush before a lazy
load (``item.updates.append(…)``) as much as the commit — and a concurrent save may be noticed
at any of them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.extensions import db
from mls_tracker.services.errors import Conflict, ValidationFailed

# PostgreSQL's SQLSTATE of a save that lost a race for a key.
_UNIQUE_VIOLATION = "23505"
# PostgreSQL's SQLSTATEs of transactions that collided: serialization failure, deadlock,
# lock not granted within lock_timeout.
CONTENTION_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
# SQLite's: another connection held the write lock for longer than the busy timeout.
_SQLITE_BUSY = ("database is locked", "database table is locked")


def check_version(
    record: object, expected_version: int | None, message: str, *, optional: bool = False
) -> None:
    """Refuse when the form was filled from another version than the stored one.
    With ``optional``, a form that sent no version is not checked."""
    if optional and expected_version is None:
        return
    if expected_version != record.version:  # type: ignore[attr-defined]
        raise Conflict(message)


def _sqlstate(error: sa.exc.DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


def is_unique_violation(error: sa.exc.DBAPIError) -> bool:
    """A unique constraint refused the row: on PostgreSQL SQLSTATE 23505, on SQLite
    "UNIQUE constraint failed" (a foreign-key or NOT NULL failure is a bug, not a race)."""
    if _sqlstate(error) == _UNIQUE_VIOLATION:
        return True
    return isinstance(error.orig, sqlite3.IntegrityError) and "UNIQUE constraint failed" in str(
        error.orig
    )


def is_contention(error: BaseException) -> bool:
    """Two transactions collided — a PostgreSQL deadlock, serialization failure or lock
    timeout, or SQLite's write lock held past the busy timeout: the database is up, nothing
    of the loser was saved, and doing it again can succeed."""
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if _sqlstate(error) in CONTENTION_SQLSTATES:
        return True
    text = str(error.orig).lower()
    return isinstance(error.orig, sqlite3.Error) and any(m in text for m in _SQLITE_BUSY)


@contextmanager
def guarded_save(
    message: str, *, duplicate_message: str | None = None, duplicate_field: str | None = None
) -> Iterator[None]:
    """Run a save — every change it makes, then the commit — as one unit::

        with guarded_save(STALE_MESSAGE):
            item.status = …
            item.updates.append(…)   # may autoflush: still inside the guard

    When someone else saved the same record first (SQLAlchemy's version check, at the commit
    or at any autoflush inside the block), or held a lock this save needed (deadlock,
    "database is locked"), everything is rolled back and ``Conflict(message)`` is raised.
    A unique violation — a concurrent insert of the same natural key — is rolled back too and
    raised as ``ValidationFailed(duplicate_message, field=duplicate_field)`` when a message is
    given, else as the conflict. Any other error raised inside the block is rolled back and
    raised as it is: nothing of a refused save stays in the session."""
    try:
        yield
        db.session.commit()
    except so.exc.StaleDataError as error:
        db.session.rollback()
        raise Conflict(message) from error
    except sa.exc.IntegrityError as error:
        db.session.rollback()
        if not is_unique_violation(error):
            raise
        if duplicate_message is not None:
            raise ValidationFailed(duplicate_message, field=duplicate_field) from error
        raise Conflict(message) from error
    except sa.exc.OperationalError as error:
        db.session.rollback()
        if not is_contention(error):
            raise
        raise Conflict(message) from error
    except BaseException:
        db.session.rollback()
        raise


def commit_or_conflict(message: str) -> None:
    """Commit; if someone saved the same record between our read and our flush (SQLAlchemy's
    version check), roll back and refuse with ``message``. Prefer ``guarded_save`` around
    the whole save: a flush before this commit is not guarded here."""
    with guarded_save(message):
        pass
