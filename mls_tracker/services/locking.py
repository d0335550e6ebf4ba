"""Optimistic locking for records two people may edit at once (their ``version`` column):
a save based on an outdated copy is refused with a message, never silently applied."""

from __future__ import annotations

import sqlalchemy.orm as so

from mls_tracker.extensions import db
from mls_tracker.services.errors import Conflict


def check_version(
    record: object, expected_version: int | None, message: str, *, optional: bool = False
) -> None:
    """Refuse when the form was filled from another version than the stored one.
    With ``optional``, a form that sent no version is not checked."""
    if optional and expected_version is None:
        return
    if expected_version != record.version:  # type: ignore[attr-defined]
        raise Conflict(message)


def commit_or_conflict(message: str) -> None:
    """Commit; if someone saved the same record between our read and our flush (SQLAlchemy's
    version check), roll back and refuse with ``message``."""
    try:
        db.session.commit()
    except so.exc.StaleDataError as error:
        db.session.rollback()
        raise Conflict(message) from error
