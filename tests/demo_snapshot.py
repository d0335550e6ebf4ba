"""The demo for the tests that read it: loaded for real once per test session and variant
(its day and issued months), copied aside, then restored from that copy for every other test.

Loading the demo takes half a minute (it issues scorecards); restoring it a second or so on
PostgreSQL (the tables emptied and their rows copied back from a schema of their own), a page
copy of the whole database on SQLite (its backup API). A restore gives a test exactly what a
fresh load gives: every table's rows with the same ids, and the next ids the same (PostgreSQL
sequences as the load left them). The demo writes
nothing outside the database. The tests whose subject is the loader itself (tests/test_demo.py,
the `flask demo load` command) still call ``load_demo``.
"""

from __future__ import annotations

import atexit
import datetime as dt
import shutil
import sqlite3
import tempfile
from pathlib import Path

import sqlalchemy as sa

from mls_tracker.demo import ISSUED_MONTHS, load_demo
from mls_tracker.extensions import db
from tests.conftest import empty_database

# (day, issued months) -> where its copy is: a schema on PostgreSQL, a file on SQLite.
_snapshots: dict[tuple[dt.date, int], str] = {}
# PostgreSQL: each copy's sequences and the value the load left them at.
_sequences: dict[str, list[tuple[str, int]]] = {}
_folder: list[Path] = []


def demo_database(*, today: dt.date | None = None, issued_months: int | None = None) -> None:
    """The database holding exactly the demo ``load_demo(today=…, issued_months=…)`` loads
    into an empty one (every row before replaced), within the current app context."""
    day = today or dt.date.today()
    months = ISSUED_MONTHS if issued_months is None else issued_months
    key = (day, months)
    db.session.rollback()
    if key not in _snapshots:
        empty_database()
        load_demo(today=day, issued_months=months)
        _snapshots[key] = _take(len(_snapshots))
    else:
        _restore(_snapshots[key])
    db.session.expire_all()


def _copy(conn: sa.Connection, source: str, target: str, *, create: bool) -> None:
    """Every table's rows from schema ``source`` to ``target``: into new tables (``create``)
    or into the emptied ones, parents first. The names are our own tables' and columns'."""
    for table in db.metadata.sorted_tables:
        columns = ", ".join(f'"{column.name}"' for column in table.columns)
        into = f'{target}."{table.name}"'
        select = f'SELECT {columns} FROM {source}."{table.name}"'  # noqa: S608
        conn.exec_driver_sql(
            f"CREATE TABLE {into} AS {select}"
            if create
            else f"INSERT INTO {into} ({columns}) {select}"
        )


def _take(number: int) -> str:
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        schema = f"demo_snapshot_{number}"
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
            _copy(conn, "public", schema, create=True)
            # (a sequence the load never used has no last value: TRUNCATE … RESTART IDENTITY
            # leaves it as it was)
            _sequences[schema] = [
                (name, value)
                for name, value in conn.execute(
                    sa.text(
                        "SELECT sequencename, last_value FROM pg_sequences"
                        " WHERE schemaname = 'public'"
                    )
                )
                if value is not None
            ]
        return schema
    if not _folder:
        _folder.append(Path(tempfile.mkdtemp(prefix="demo-snapshots-")))
        atexit.register(shutil.rmtree, _folder[0], ignore_errors=True)
    path = str(_folder[0] / f"demo-{number}.db")
    _sqlite_backup(path, into_copy=True)
    return path


def _restore(where: str) -> None:
    if db.engine.dialect.name == "postgresql":
        empty_database()
        with db.engine.begin() as conn:
            _copy(conn, where, "public", create=False)
            for name, value in _sequences[where]:
                conn.execute(
                    sa.text("SELECT setval(:name, :value)"),
                    {"name": f'public."{name}"', "value": value},
                )
        return
    _sqlite_backup(where, into_copy=False)


def _sqlite_backup(path: str, *, into_copy: bool) -> None:
    """The whole test database copied page by page (SQLite's backup API) into the file at
    ``path``, or back from it: every table, index and next id as they were, in a few
    milliseconds where emptying the tables and copying the rows back took about a second."""
    db.session.remove()  # nothing of the session's open while the pages are replaced
    with db.engine.connect() as conn:
        test_database = conn.connection.driver_connection
        copy = sqlite3.connect(path)
        try:
            if into_copy:
                test_database.backup(copy)
            else:
                copy.backup(test_database)
        finally:
            copy.close()
