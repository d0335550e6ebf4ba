"""Issue 14, findings 1, 3, 9 and 10: links in e-mails and trusted hosts, no token sign-in,
deactivation ends every session, and the headers of every kind of response."""

from __future__ import annotations

import http.client
import re
import threading

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from mls_tracker import headers
from mls_tracker.assets import plotly_asset
from mls_tracker.extensions import db
from mls_tracker.models import Role, User, UserSession
from tests.conftest import csrf_token, sign_in, text_of

EVIL = {"Host": "evil.example"}


def _reset_link(message) -> str:
    return re.search(r"(\S+/reset/[^\s\"<]+)", text_of(message)).group(1)


def _request_reset(client, email: str, headers: dict[str, str] | None = None):
    """The form fetched and posted with the same Host (the test client keeps cookies per
    host), as an attacker would."""
    page = client.get("/reset", headers=headers)
    if page.status_code != 200:
        return page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    return client.post("/reset", data={"email": email, "csrf_token": token}, headers=headers)


# Finding 1: links in e-mails come from configuration; unknown hosts are refused.


def test_finding_1_reset_link_ignores_the_host_header(client, world, mailbox):
    response = _request_reset(client, world.viewer.email, headers=EVIL)
    assert response.status_code == 400
    assert all("evil.example" not in text_of(m) for m in mailbox)

    # A host the installation trusts still gets links to the configured address.
    response = _request_reset(client, world.viewer.email, headers={"Host": "127.0.0.1:8000"})
    assert response.status_code in (200, 302)
    assert len(mailbox) == 1
    assert _reset_link(mailbox[0]).startswith("http://localhost:5000/reset/")


def test_finding_1_links_come_from_the_external_url(make_app, world, mailbox):
    app = make_app(EXTERNAL_URL="https://tracker.example")
    client = app.test_client()
    assert _request_reset(client, world.viewer.email).status_code in (200, 302)
    assert _reset_link(mailbox[0]).startswith("https://tracker.example/reset/")

    mailbox.clear()
    sign_in(client, world.lead.email)
    url = f"/partnerships/{world.partnership.id}/invite"
    response = client.post(
        url,
        data={
            "email": "new.person@test.example",
            "display_name": "New Person",
            "role": str(Role.PROVIDER),
            "csrf_token": csrf_token(client, url),
        },
    )
    assert response.status_code in (200, 302)
    assert "https://tracker.example/invitations/" in text_of(mailbox[0])


def test_finding_1_an_unknown_host_gets_a_400_page(client, world):
    page = client.get("/login", headers=EVIL)
    assert page.status_code == 400
    assert "Bad request" in page.get_data(as_text=True)
    assert "evil.example" not in page.get_data(as_text=True)
    as_json = client.get("/healthz", headers={**EVIL, "Accept": "application/json"})
    assert as_json.status_code == 400
    assert as_json.get_json()["error"]["status"] == 400
    assert client.get("/", headers={"Host": "evil example<>"}).status_code == 400
    # The test client keeps cookies per host: each trusted host is asked anonymously.
    for trusted in ("localhost", "127.0.0.1", "localhost:5000", "127.0.0.1:5000"):
        assert client.get("/login", headers={"Host": trusted}).status_code == 200, trusted
    sign_in(client, world.lead.email)
    assert client.get("/partnerships/").status_code == 200


def test_finding_1_production_needs_an_external_url(monkeypatch, tmp_path):
    from mls_tracker.config import ConfigError, load_settings

    monkeypatch.setenv("MLS_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("SECURITY_PASSWORD_SALT", "y" * 40)
    monkeypatch.delenv("EXTERNAL_URL", raising=False)
    monkeypatch.delenv("SERVER_NAME", raising=False)
    monkeypatch.delenv("TRUSTED_HOSTS", raising=False)
    with pytest.raises(ConfigError, match="EXTERNAL_URL"):
        load_settings(tmp_path)
    monkeypatch.setenv("EXTERNAL_URL", "tracker.example")
    with pytest.raises(ConfigError, match="EXTERNAL_URL"):
        load_settings(tmp_path)
    monkeypatch.setenv("EXTERNAL_URL", "https://tracker.example/")
    monkeypatch.setenv("TRUSTED_HOSTS", "tracker.internal, 10.0.0.5:8000")
    settings = load_settings(tmp_path)
    assert settings["EXTERNAL_URL"] == "https://tracker.example"
    assert settings["TRUSTED_HOSTS"] == ["tracker.example", "tracker.internal", "10.0.0.5:8000"]


def test_finding_1_development_defaults(monkeypatch, tmp_path):
    from mls_tracker.config import load_settings

    monkeypatch.setenv("MLS_ENV", "development")
    monkeypatch.delenv("EXTERNAL_URL", raising=False)
    monkeypatch.delenv("SERVER_NAME", raising=False)
    monkeypatch.delenv("TRUSTED_HOSTS", raising=False)
    settings = load_settings(tmp_path)
    assert settings["EXTERNAL_URL"] == "http://localhost:5000"
    assert {"localhost", "127.0.0.1"} <= set(settings["TRUSTED_HOSTS"])


# Finding 3: no token sign-in, and never a token from a query string.


def test_finding_3_auth_tokens_are_refused_in_the_header_and_the_query(app, client, world):
    user = db.session.get(User, world.lead.id)
    token = user.get_auth_token()
    as_json = {"Accept": "application/json"}
    for kwargs in (
        {"query_string": {"auth_token": token}},
        {"headers": {"Authentication-Token": token}},
        {"query_string": {"auth_token": token}, "headers": as_json},
        {"headers": {"Authentication-Token": token, **as_json}},
    ):
        assert client.get("/partnerships/", **kwargs).status_code in (302, 401), kwargs
        # Flask-Security's own JSON endpoints, which accept a token by default.
        assert client.get("/change", **kwargs).status_code in (302, 401), kwargs
        assert client.get("/tf-setup", **kwargs).status_code != 200, kwargs
    assert app.config["SECURITY_API_ENABLED_METHODS"] == ["session"]


# Finding 9: deactivation ends every session at once.


def _ended(user_id: int) -> bool:
    rows = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user_id)).all()
    return bool(rows) and all(row.ended_at is not None for row in rows)


def test_finding_9_reactivating_a_user_revives_none_of_their_sessions(app, client, world):
    sign_in(client, world.lead.email)
    assert client.get("/partnerships/").status_code == 200
    user = db.session.get(User, world.lead.id)
    user.active = False
    db.session.commit()
    assert _ended(world.lead.id)
    user.active = True
    db.session.commit()
    response = client.get("/partnerships/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_finding_9_a_bulk_deactivation_ends_sessions_too(app, client, world):
    sign_in(client, world.provider.email)
    assert client.get("/partnerships/").status_code == 200
    db.session.execute(sa.update(User).where(User.id == world.provider.id).values(active=False))
    db.session.commit()
    assert _ended(world.provider.id)
    db.session.execute(sa.update(User).where(User.id == world.provider.id).values(active=True))
    db.session.commit()
    assert client.get("/partnerships/").status_code == 302
    # Signing in again works as before.
    assert sign_in(client, world.provider.email).status_code == 302
    assert client.get("/partnerships/").status_code == 200


# Finding 10: headers.

SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Strict-Transport-Security",
    "X-Frame-Options",
)


def test_finding_10_login_sends_a_valid_no_store(client, world):
    response = client.get("/login")
    assert response.headers["Cache-Control"] == "no-store"
    response = client.get("/reset")
    assert response.headers["Cache-Control"] == "no-store"


def test_finding_10_assets_have_the_security_headers(client):
    response = client.get(plotly_asset().path)
    assert response.status_code == 200
    for name in SECURITY_HEADERS:
        assert response.headers.get(name), name
    assert "immutable" in response.headers["Cache-Control"]


def test_finding_10_errors_and_healthz_are_not_cached(client, world):
    for url in ("/healthz", "/no-such-page", "/partnerships/999999"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "no-store", url
        for name in SECURITY_HEADERS:
            assert response.headers.get(name), (url, name)
    assert client.get("/healthz", headers=EVIL).headers["Cache-Control"] == "no-store"


def test_finding_10_the_server_header_names_no_versions(app):
    assert "Server" not in app.test_client().get("/healthz").headers
    headers.hide_server_version()
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        connection.close()
    finally:
        server.shutdown()
        server.server_close()
    assert response.status == 200
    value = response.getheader("Server") or ""
    assert "Werkzeug" not in value and "Python" not in value and "/" not in value, value
