"""First run: `flask setup` prints a one-time link on an empty database; the link creates the
first administrator, signs them in and leads to the administration home; the link is useless
afterwards, forged or expired; the sign-in page says how to set up; `make run DEMO=0`."""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from mls_tracker.extensions import db
from mls_tracker.models import AuditEntry, User
from mls_tracker.services import setup as service
from mls_tracker.services.errors import NotFound
from mls_tracker.setup.cli import setup_command
from tests import factories
from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"https?://\S+/setup/\S+")
GOOD = {
    "display_name": "Ada Admin",
    "email": "Ada@Example.com",
    "password": "violet-kettle-mountain-42",
    "password_confirm": "violet-kettle-mountain-42",
}


def _printed_link(app, *args: str) -> str:
    result = app.test_cli_runner().invoke(setup_command, list(args))
    assert result.exit_code == 0, result.output
    match = LINK.search(result.output)
    assert match, result.output
    return match.group(0)


def _path(link: str) -> str:
    return urlsplit(link).path


def _submit(client, path: str, **changes: str):
    return client.post(path, data={**GOOD, **changes, "csrf_token": csrf_token(client, path)})


def test_the_printed_link_creates_the_first_administrator_and_signs_them_in(app, client):
    link = _printed_link(app)
    assert link.startswith(app.config["EXTERNAL_URL"].rstrip("/") + "/setup/")
    page = client.get(_path(link))
    assert page.status_code == 200
    assert "Create the first administrator" in page.get_data(as_text=True)

    response = _submit(client, _path(link))
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/admin"
    home = client.get("/admin").get_data(as_text=True)
    assert "Getting started" in home and "Add the organisations" in home

    user = db.session.scalar(sa.select(User))
    assert (user.email, user.display_name) == ("ada@example.com", "Ada Admin")
    assert user.is_admin and user.active and user.confirmed_at is not None
    # Recorded in the audit log like every other account.
    assert db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.object_type == "User", AuditEntry.object_id == str(user.id)
        )
    )


def test_the_link_is_one_time(app, client):
    link = _printed_link(app)
    assert _submit(client, _path(link)).status_code == 302
    other = app.test_client()
    assert other.get(_path(link)).status_code == 404
    token = csrf_token(other, "/login")
    assert other.post(_path(link), data={**GOOD, "csrf_token": token}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_with_users_the_command_prints_no_link_and_succeeds(app, world):
    result = app.test_cli_runner().invoke(setup_command, [])
    assert result.exit_code == 0
    assert "already set up" in result.output
    assert not LINK.search(result.output)


def test_base_url_option_names_the_server(app):
    link = _printed_link(app, "--base-url", "https://mls.example.org/")
    assert link.startswith("https://mls.example.org/setup/")


@pytest.mark.parametrize(
    "token",
    [
        "not-a-real-token",
        URLSafeTimedSerializer("another-secret", salt=service.SETUP_SALT).dumps(
            {"purpose": service.SETUP_PURPOSE}
        ),
        URLSafeTimedSerializer("test-secret", salt="another-salt").dumps(
            {"purpose": service.SETUP_PURPOSE}
        ),
    ],
    ids=["garbage", "other-key", "other-salt"],
)
def test_a_forged_link_is_404(app, client, token):
    assert client.get(f"/setup/{token}").status_code == 404


def test_an_expired_link_is_404(app, client, monkeypatch):
    path = _path(_printed_link(app))
    monkeypatch.setattr(service, "TOKEN_MAX_AGE_SECONDS", -1)
    assert client.get(path).status_code == 404


def test_setup_is_never_an_open_page(app, client):
    assert client.get("/setup/").status_code == 404
    assert client.get("/setup").status_code in (308, 404)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"display_name": "  "}, "display_name", "Enter your name."),
        ({"email": "not-an-address"}, "email", "Enter an e-mail address like name@company.com."),
        ({"password": "short", "password_confirm": "short"}, "password", "at least 8"),
        ({"password": "password123", "password_confirm": "password123"}, "password", "common"),
        ({"password_confirm": "something-else-entirely"}, "password_confirm", "passwords differ"),
    ],
)
def test_mistakes_are_shown_next_to_the_field(app, client, changes, field, message):
    path = _path(_printed_link(app))
    response = _submit(client, path, **changes)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    errors = re.search(rf'id="{field}-error">(.*?)</div>\s*</div>', html, re.S)
    assert errors, html
    assert message.lower() in errors.group(1).lower()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_two_racing_submissions_make_one_administrator(app):
    token = urlsplit(_printed_link(app)).path.rsplit("/", 1)[1]
    db.session.remove()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create(number: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                service.create_first_admin(
                    token,
                    display_name=f"Admin {number}",
                    email=f"admin{number}@example.com",
                    password=GOOD["password"],
                )
            except NotFound:
                outcomes.append("refused")
            else:
                outcomes.append("created")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=create, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["created", "refused"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_the_sign_in_page_says_how_to_set_up_an_empty_database(app, client):
    html = client.get("/login").get_data(as_text=True)
    assert "MLS Tracker is not set up yet" in html
    assert "flask setup" in html


def test_the_sign_in_page_says_nothing_of_set_up_once_users_exist(app, client, world):
    assert "not set up yet" not in client.get("/login").get_data(as_text=True)


def test_other_pages_do_not_ask_whether_the_app_is_set_up(app, client, world):
    """The notice's query is made by the sign-in template only."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    client.post(
        "/login",
        data={
            "email": world.lead.email,
            "password": factories.PASSWORD,
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get("/partnerships/").status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert not any("LIMIT" in s and "FROM users" in s and "WHERE" not in s for s in statements)


def _make_dry_run(*args: str) -> str:
    return subprocess.run(
        ["make", "-n", "--no-print-directory", "run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def test_make_run_demo_0_loads_no_demo_and_prints_the_setup_link():
    commands = _make_dry_run("DEMO=0")
    assert "db upgrade" in commands
    assert "flask --app wsgi setup" in commands
    assert "demo load" not in commands
    assert "scorecards issue" not in commands
    assert "flask --app wsgi run" in commands
    # The upgrade comes first, the link before the server starts.
    assert commands.index("db upgrade") < commands.index(" setup") < commands.index(" run ")


def test_make_run_keeps_loading_the_demo_by_default():
    commands = _make_dry_run()
    assert "demo load --if-empty" in commands
    assert "scorecards issue" in commands
    assert "flask --app wsgi setup" not in commands
