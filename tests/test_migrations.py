"""The migrations build the schema the models describe, and can be undone."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from mls_tracker.config import normalise_database_url
from mls_tracker.extensions import db


def _assert_models_match(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def _exercise(make_app, url: str) -> None:
    app = make_app(SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"partnerships", "sla_measurements", "audit_log", "survey_responses"} <= tables
        _assert_models_match(db.engine)
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        _assert_models_match(db.engine)
        db.engine.dispose()


@pytest.mark.once  # its own SQLite database: the same in both suites
def test_upgrade_check_downgrade_on_sqlite(make_app, tmp_path):
    _exercise(make_app, f"sqlite:///{tmp_path / 'fresh.db'}")


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base or not base.startswith("postgres"):
        pytest.skip("TEST_DATABASE_URL does not point at PostgreSQL")
    url = sa.make_url(normalise_database_url(base))
    name = f"mls_migrations_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_upgrade_check_downgrade_on_postgresql(make_app, fresh_postgres):
    _exercise(make_app, fresh_postgres)


INITIAL_REVISION = "5dabafd4b7dd"


def _upgrade_holding_the_demo(make_app, url: str) -> None:
    """A database holding the demo, taken back to the first release's schema, then through
    every later migration: nothing is lost and the result matches the models. (The demo is
    written by today's models, so it is loaded at the head and the downgrades make the old
    schema; the way up then runs every migration on real rows.)"""
    from mls_tracker.demo import load_demo
    from mls_tracker.models import Region, SlaMeasurement, SurveyResponse, User

    app = make_app(SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        load_demo(seed=7, reviews=False)
        counted = (User, SlaMeasurement, SurveyResponse)
        before = [db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in counted]
        codes = dict(db.session.execute(sa.select(Region.name, Region.code)).all())
        db.session.remove()
        downgrade(revision=INITIAL_REVISION)
        upgrade()
        after = [db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in counted]
        assert after == before and all(before)
        # Region codes are made again from the names, as the model makes them.
        assert dict(db.session.execute(sa.select(Region.name, Region.code)).all()) == codes
        _assert_models_match(db.engine)
        db.session.remove()
        db.engine.dispose()


@pytest.mark.once  # its own SQLite database: the same in both suites
def test_upgrade_a_sqlite_database_holding_the_demo(make_app, tmp_path):
    _upgrade_holding_the_demo(make_app, f"sqlite:///{tmp_path / 'demo.db'}")


@pytest.mark.postgres
def test_upgrade_a_postgresql_database_holding_the_demo(make_app, fresh_postgres):
    _upgrade_holding_the_demo(make_app, fresh_postgres)


@pytest.mark.once  # its own SQLite database: the same in both suites
def test_scorecards_issued_before_get_their_page_count_and_size(make_app, tmp_path):
    """The migration that stores a scorecard's page count and size measures the PDFs
    already stored: a real one's pages and length, and for bytes that are no PDF of ours
    only the length."""
    from mls_tracker.scorecards.pdf import html_to_pdf

    two_pages = html_to_pdf('<p>one</p><p style="break-before: page">two</p>')
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'scorecards.db'}")
    with app.app_context():
        upgrade(revision="7e2730b30008")
        with db.engine.connect() as connection:
            # Only the scorecards table matters here: no review rows behind them.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for scorecard_id, body in ((1, two_pages), (2, b"not a PDF")):
                connection.execute(
                    sa.text(
                        "INSERT INTO scorecards (id, review_id, version, issued_at, sha256, pdf,"
                        " snapshot) VALUES (:id, :id, 1, '2026-11-03 10:00:00', :sha, :pdf, '{}')"
                    ),
                    {"id": scorecard_id, "sha": "0" * 64, "pdf": body},
                )
            connection.commit()
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT id, page_count, size_bytes FROM scorecards ORDER BY id")
            ).all()
        assert [tuple(row) for row in rows] == [(1, 2, len(two_pages)), (2, None, 9)]
        db.engine.dispose()
