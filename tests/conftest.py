"""Fixtures: one migrated test database per run (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set), emptied before each test; a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import sys
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient

from mls_tracker import create_app
from mls_tracker.extensions import db, limiter
from tests import factories

PASSWORD = factories.PASSWORD

# The browser tests' fixtures (live_server, browser, demo, page) and the API tests' (api_token,
# api_client) live in their own modules.
pytest_plugins = ["tests.browser_fixtures", "tests.api_fixtures"]


# With ONCE_BESIDE_POSTGRES=1 (`make test` running both suites side by side), the tests that use
# no database in these modules run in the PostgreSQL suite instead of the SQLite one, which
# also holds the browser tests: the two suites then end about together (the SQLite suite
# ended ~95 s after the PostgreSQL one on CI's two cores). Slow ones, ~70 s alone.
ONCE_BESIDE_POSTGRES = {
    "test_security_uploads.py",
    "test_scorecard_layouts.py",
    "test_scorecard_print_pdf.py",
    "test_survey_files.py",
    "test_chart_images.py",
}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that uses no database of the run (``database_url`` is not among its fixtures,
    directly or through ``app``, ``session_app``, ``make_app`` …) and is not marked
    ``postgres`` does the same whatever TEST_DATABASE_URL says: it is marked ``once``, so
    that the PostgreSQL suite (`make test-postgres`) leaves it to the SQLite suite — except
    those of ONCE_BESIDE_POSTGRES when both suites run, which the PostgreSQL suite runs
    instead (with those marked ``once`` by hand in these modules)."""
    split = os.environ.get("ONCE_BESIDE_POSTGRES") == "1"
    on_postgres = (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgresql")
    moved: list[pytest.Item] = []
    for item in items:
        if split and item.path.name in ONCE_BESIDE_POSTGRES:
            uses_postgres = item.get_closest_marker("postgres") is not None
            if item.get_closest_marker("once") is not None or (
                "database_url" not in getattr(item, "fixturenames", ()) and not uses_postgres
            ):
                if on_postgres:  # marked `once` by hand: the PostgreSQL suite runs it instead
                    item.own_markers[:] = [m for m in item.own_markers if m.name != "once"]
                else:
                    moved.append(item)
            continue
        uses = getattr(item, "fixturenames", ())
        if "database_url" in uses or item.get_closest_marker("postgres") is not None:
            continue
        item.add_marker(pytest.mark.once)
    if moved:
        config.hook.pytest_deselected(items=moved)
        gone = set(moved)
        items[:] = [item for item in items if item not in gone]


class _Collector:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.original_content or envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, _Collector]]:
    collector = _Collector()
    with socket.socket() as probe:  # aiosmtpd cannot report an OS-chosen port: find one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller, collector
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[Controller, _Collector]) -> list[Message]:
    _, collector = smtp_server
    collector.messages.clear()
    return collector.messages


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("instance")
    os.environ["MLS_INSTANCE_PATH"] = str(path)
    return path


class FreshContextClient(FlaskClient):
    """Gives every request its own app context (fresh ``g`` and database session), as in
    production, even while the test itself holds one open to use the database."""

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app_factory(
    database_url: str, instance_path: Path, smtp_server: tuple[Controller, _Collector]
) -> Callable[..., Flask]:
    controller, _ = smtp_server

    def make(**overrides: Any) -> Flask:
        config = {
            "MLS_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SECURITY_PASSWORD_SALT": "test-salt",
            "SQLALCHEMY_DATABASE_URI": database_url.replace(
                "postgresql://", "postgresql+psycopg://"
            ),
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": controller.port,
            "SERVER_NAME": None,
            # Jobs run inline, in memory (tests/test_jobs.py also runs a real worker).
            "HUEY_IMMEDIATE": True,
            # Still argon2id, with the least work it allows: production's parameters (64 MB,
            # 3 passes, 4 lanes) cost 0.15–1.1 s a sign-in on the test machines, and the
            # suite signs in over a thousand times. Passwords are checked exactly as before.
            "SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS": {
                "argon2__memory_cost": 8,
                "argon2__rounds": 1,
                "argon2__parallelism": 1,
            },
        }
        config.update(overrides)
        if str(config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
            # Commits wait for no disk flush on the shared server (fsync stays on): they are
            # as atomic and as visible as before; only a crash of the server could lose the
            # last of them, and no test crashes it (the outage test has a server of its own).
            config.setdefault(
                "SQLALCHEMY_ENGINE_OPTIONS",
                {
                    "pool_pre_ping": True,
                    "connect_args": {"options": "-c synchronous_commit=off"},
                },
            )
        app = create_app(config)
        app.test_client_class = FreshContextClient
        return app

    return make


@pytest.fixture
def make_app(app_factory: Callable[..., Flask]) -> Iterator[Callable[..., Flask]]:
    """An app with its own settings, for one test; its connections are closed afterwards."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        made.append(app_factory(**overrides))
        return made[-1]

    yield make
    for extra in made:
        with extra.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def _migrated(app_factory: Callable[..., Flask]) -> None:
    """Build the schema once per run through the migrations, as production does."""
    from flask_migrate import downgrade, upgrade

    app = app_factory()
    with app.app_context():
        downgrade(revision="base")
        upgrade()
        db.engine.dispose()


def empty_database() -> None:
    """Every table emptied, children first, and (PostgreSQL) every sequence back at its start:
    what ``TRUNCATE … RESTART IDENTITY`` does. On PostgreSQL the rows are deleted rather than
    truncated, in one round trip: truncating the 39 tables (a new file for each table and
    index, synced at commit) took 0.3–0.9 s, once before every test; deleting takes ~0.05 s."""
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        statements = [f'DELETE FROM "{table.name}"' for table in tables]  # noqa: S608
        statements.append(
            "SELECT setval(quote_ident(schemaname) || '.' || quote_ident(sequencename),"
            " start_value, false) FROM pg_sequences WHERE schemaname = current_schema()"
        )
        # Several statements in one call: psycopg sends a query without parameters as is.
        db.session.connection().exec_driver_sql("; ".join(statements))
    else:
        # Through the connection: the session's statement machinery and listeners have
        # nothing to do for these statements, before every test.
        connection = db.session.connection()
        for table in tables:
            connection.exec_driver_sql(f'DELETE FROM "{table.name}"')  # noqa: S608
    db.session.commit()


@pytest.fixture(scope="session")
def session_app(app_factory: Callable[..., Flask], _migrated: None) -> Iterator[Flask]:
    app = app_factory()
    yield app
    with app.app_context():
        db.engine.dispose()  # closed here rather than by the garbage collector, warning


@pytest.fixture
def app(session_app: Flask, mailbox: list[Message]) -> Iterator[Flask]:
    with session_app.app_context():
        limiter.reset()
        empty_database()
        yield session_app
        db.session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def world(app: Flask) -> factories.World:
    """Two partnerships with a member of every role in the first, and an outsider who is
    a lead of the second."""
    return factories.build_world()


_CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# The day tests/test_demo.py and its neighbours load the demo for (its history ends Oct 2026).
DEMO_TODAY = dt.date(2026, 11, 15)


@pytest.fixture(autouse=True)
def _the_day_each_test_runs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """A module that reads today's date from the clock when it is imported (``TODAY``, and
    ``REVIEWED``, the month before, where it has one) and says so (``TODAY_FROM_THE_CLOCK``)
    gets them again as each of its tests starts: a run that crosses midnight UTC would
    otherwise compare rows written after midnight with figures as of the day before (the
    portfolio counts an item only from the day it was created)."""
    module = request.module
    if getattr(module, "TODAY_FROM_THE_CLOCK", False):
        from mls_tracker.periods import Month, utc_today

        today = utc_today()
        monkeypatch.setattr(module, "TODAY", today)
        if hasattr(module, "REVIEWED"):
            monkeypatch.setattr(module, "REVIEWED", Month.of(today).previous())


@pytest.fixture(scope="session", autouse=True)
def _chart_server_stopped_at_the_end() -> Iterator[None]:
    """One Chromium draws the scorecards' charts for the whole run (starting one costs
    5–12 s); the modules that draw charts forget them after themselves instead."""
    yield
    chart_images = sys.modules.get("mls_tracker.scorecards.chart_images")
    if chart_images is not None:  # (not imported: no chart was drawn)
        chart_images.shutdown()


@pytest.fixture(scope="module")
def _charts_forgotten_after_the_module() -> Iterator[None]:
    yield  # the demo issues scorecards: the next module draws its charts afresh
    from mls_tracker.scorecards import chart_images

    chart_images.clear_cache()


@pytest.fixture
def demo_2026_11(session_app: Flask, _charts_forgotten_after_the_module: None) -> Iterator[Flask]:
    """The demo as ``load_demo(today=DEMO_TODAY)`` loads it: loaded once per session,
    restored for every test (tests/demo_snapshot.py). Not named ``demo``: the browser
    fixtures' ``demo`` (a plugin, which a conftest fixture of that name would override) is
    another one."""
    from tests.demo_snapshot import demo_database

    with session_app.app_context():
        demo_database(today=DEMO_TODAY)
        yield session_app
        db.session.remove()


def csrf_token(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    match = _CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({response.status_code})"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def sign_out(client: FlaskClient):
    token = csrf_token(client, "/partnerships/")
    return client.post("/logout", data={"csrf_token": token})


def page_text(html: str) -> str:
    """A page's words as a reader sees them: tags dropped, runs of white space made one."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def text_of(message: Message) -> str:
    """The plain-text body of an e-mail, however it is nested."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError("the message has no text/plain part")
