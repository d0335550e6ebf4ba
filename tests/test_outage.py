"""Issue 16, point 4: a database outage, for real. A PostgreSQL server of the test's own
(``tests/pg_server.py``), the app under gunicorn (two workers) pointed at it, a signed-in
lead browsing; the server is stopped mid-run. Every answer during the outage is our 503 page
with the security headers — never gunicorn's bare "Internal Server Error", never a stack
trace — and once the server is back the same session works again without signing in."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from flask import Flask

from mls_tracker.extensions import db
from mls_tracker.headers import SECURITY_HEADERS
from tests import factories
from tests.pg_server import PgServer, free_port, pg_server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.outage

ROOT = Path(__file__).resolve().parent.parent
OUTAGE_S = 2.0


class Browser:
    """A client with a cookie jar that never raises on an error status."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def request(self, path: str, data: dict[str, str] | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            response = self.opener.open(self.base + path, data=body, timeout=15)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            return response.status, dict(response.headers), response.read().decode()


@pytest.fixture(scope="module")
def served(
    pg_server: PgServer,  # noqa: F811
    app_factory: Callable[..., Flask],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str, int]]:
    """The migrated database with the test world, served by gunicorn: (base URL, the lead's
    e-mail, the partnership's id)."""
    url = pg_server.create_database("mls_outage")
    setup = app_factory(
        SQLALCHEMY_DATABASE_URI=url.replace("postgresql://", "postgresql+psycopg://")
    )
    with setup.app_context():
        db.create_all()  # the models match the migrations (test_migrations); 10 s faster
        world = factories.build_world()
        lead, pid = world.lead.email, world.partnership.id
        db.session.commit()
        db.session.remove()
        db.engine.dispose()

    port = free_port()
    instance = tmp_path_factory.mktemp("outage-instance")
    log = instance / "gunicorn.log"
    env = {
        **os.environ,
        "MLS_ENV": "development",
        "DATABASE_URL": url,
        "MLS_INSTANCE_PATH": str(instance),
        "SECRET_KEY": "outage-secret",
        "SECURITY_PASSWORD_SALT": setup.config["SECURITY_PASSWORD_SALT"],  # the hashes' HMAC key
        "EXTERNAL_URL": f"http://127.0.0.1:{port}",
        "HUEY_IMMEDIATE": "1",
    }
    env.pop("REDIS_URL", None)
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "30",
                "--preload",  # the app imported once, not once per worker: seconds saved
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, ended whole below
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base, lead, pid
    finally:
        os.killpg(server.pid, signal.SIGKILL)  # the master and its workers; nothing to keep
        server.wait()


def sign_in(browser: Browser, email: str) -> None:
    _, _, page = browser.request("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token, page[:500]
    status, _, page = browser.request(
        "/login",
        {"email": email, "password": factories.PASSWORD, "csrf_token": token.group(1)},
    )
    assert status == 200 and "Portfolio" in page, re.findall(
        r"<(?:title|div class=\"alert)[^>]*>[^<]*", page
    )


def test_a_database_outage_answers_our_503_page_and_the_session_survives_it(
    served,
    pg_server: PgServer,  # noqa: F811
):
    base, lead, pid = served
    browser = Browser(base)
    sign_in(browser, lead)
    pages = ["/portfolio", "/partnerships/", f"/partnerships/{pid}", "/my-actions", "/healthz"]
    for path in pages:
        status, _, body = browser.request(path)
        assert status == 200, (path, body[:300])

    pg_server.stop("immediate")
    answers: list[tuple[str, int, dict[str, str], str]] = []
    try:
        until = time.monotonic() + OUTAGE_S
        while time.monotonic() < until:
            for path in pages:
                answers.append((path, *browser.request(path)))
    finally:
        pg_server.start()

    assert len(answers) >= len(pages)
    for path, status, headers, body in answers:
        where = (path, status, body[:300])
        assert status == 503, where
        assert "Internal Server Error" not in body and "Traceback" not in body, where
        assert "Temporarily unavailable" in body, where
        assert "The service is briefly unavailable" in body, where
        for name in SECURITY_HEADERS:
            assert headers.get(name), (path, name)
        assert headers.get("Cache-Control") == "no-store", where

    # Back: the same session, without signing in again (the pool's stale connections are
    # replaced as they are taken).
    deadline = time.monotonic() + 10
    while browser.request("/healthz")[0] != 200:
        assert time.monotonic() < deadline, "the app did not recover"
        time.sleep(0.2)
    for path in pages:
        status, _, body = browser.request(path)
        assert status == 200, (path, body[:300])
    status, _, body = browser.request("/portfolio")
    assert lead in body  # the user menu: still signed in


def test_a_committed_write_answers_its_page_even_if_the_database_goes_right_after(
    served,
    pg_server: PgServer,  # noqa: F811
    make_app: Callable[..., Flask],
):
    """The security headers decide from the user already loaded: a write that committed is
    not answered 500 because reading the user again (expired by the commit) fails."""
    from flask_login import current_user

    from mls_tracker.extensions import csrf
    from tests.conftest import sign_in as sign_in_client

    base, lead, _ = served
    app = make_app(
        TESTING=False,
        PROPAGATE_EXCEPTIONS=False,
        SQLALCHEMY_DATABASE_URI=pg_server.url("mls_outage").replace(
            "postgresql://", "postgresql+psycopg://"
        ),
    )

    @app.post("/rename-then-outage")
    def rename_then_outage():
        current_user.display_name = "Renamed Lead"
        db.session.commit()  # expires the user
        pg_server.stop("immediate")  # the database goes before the answer is finished
        return "Saved"

    csrf.exempt(rename_then_outage)
    client = app.test_client()
    sign_in_client(client, lead)
    try:
        response = client.post("/rename-then-outage")
    finally:
        pg_server.start()
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.get_data(as_text=True) == "Saved"
    assert response.headers["Cache-Control"] == "no-store"


def test_an_error_page_that_cannot_be_drawn_is_still_our_own_plain_page(make_app, caplog):
    """Whatever breaks while the error page is drawn (here every template's context), the
    answer is our plain page with the security headers, never the server's bare one."""
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.get("/broken")
    def broken():
        raise RuntimeError("the view failed")

    @app.context_processor
    def unavailable_context() -> dict:
        raise RuntimeError("drawing any page fails")

    response = app.test_client().get("/broken")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in body and "The error was logged" in body
    assert "Internal Server Error" not in body and "Traceback" not in body
    for name in SECURITY_HEADERS:
        assert response.headers.get(name), name
