"""Single sign-on with OpenID Connect, against a real OpenID provider on loopback
(oidc-provider-mock): the flow is driven with the Flask test client and ``requests`` against
the provider's authorization form; every token is the provider's own."""

from __future__ import annotations

import datetime as dt
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import Invitation, Membership, Role, SsoIdentity, User, UserSession, utcnow
from tests.conftest import csrf_token, page_text, sign_in
from tests.factories import PASSWORD

CLIENT_ID = "mls-tracker"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """A real OpenID provider (oidc-provider-mock) in its own process on loopback; its issuer
    URL. Its own process, because it runs code that still warns about Authlib deprecations,
    which this suite's filterwarnings=error would turn into its 500s."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    issuer = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=10)


def sso_settings(issuer: str, **extra: object) -> dict[str, object]:
    return {
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": "client-secret",
        "OIDC_ALLOWED_DOMAINS": ["test.example"],
        **extra,
    }


@pytest.fixture
def sso_app(make_app, world, provider):
    return make_app(**sso_settings(provider, OIDC_BUTTON_LABEL="Sign in with Okta"))


@pytest.fixture
def sso_client(sso_app):
    return sso_app.test_client()


def _set_claims(provider: str, subject: str, **claims: object) -> None:
    response = requests.put(f"{provider}/users/{subject}", json=claims, timeout=10)
    assert response.status_code == 204


def start(client) -> str:
    """Press the sign-in page's single sign-on button: the provider's authorization URL."""
    token = csrf_token(client, "/login")
    response = client.post("/auth/sso/login", data={"csrf_token": token})
    assert response.status_code == 302
    return response.headers["Location"]


def authorize(authorization_url: str, subject: str) -> str:
    """The person authorizes at the provider as ``subject``: our callback URL with the code."""
    response = requests.post(
        authorization_url, data={"sub": subject}, allow_redirects=False, timeout=10
    )
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def come_back(client, callback_url: str):
    parts = urlsplit(callback_url)
    assert parts.path == "/auth/sso/callback"
    return client.get(f"{parts.path}?{parts.query}")


def sign_in_with_sso(client, provider: str, subject: str | None = None, **claims: object):
    subject = subject or uuid.uuid4().hex
    _set_claims(provider, subject, **claims)
    return come_back(client, authorize(start(client), subject))


def refusal(client, response) -> str:
    """The sign-in page the refused person lands on, as text."""
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert client.get("/partnerships/").status_code == 302  # not signed in
    return page_text(client.get("/login").get_data(as_text=True))


def test_sign_in_page_shows_the_button(sso_client):
    page = sso_client.get("/login").get_data(as_text=True)
    assert "Sign in with Okta" in page
    assert 'action="/auth/sso/login"' in page


def test_authorization_request_uses_pkce_state_and_nonce(sso_client, provider):
    query = parse_qs(urlsplit(start(sso_client)).query)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"][0] and query["state"][0] and query["nonce"][0]
    assert "openid" in query["scope"][0].split() and "email" in query["scope"][0].split()
    assert query["redirect_uri"] == ["http://localhost:5000/auth/sso/callback"]


def test_existing_user_signs_in_like_a_password_sign_in(sso_client, world, provider):
    response = sign_in_with_sso(
        sso_client, provider, "okta-lead", email="Lead@Test.Example", email_verified=True
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/portfolio")
    assert "Global Learning" in sso_client.get("/portfolio").get_data(as_text=True)
    with sso_client.application.app_context():
        sessions = db.session.scalars(
            sa.select(UserSession).where(UserSession.user_id == world.lead.id)
        ).all()
        assert len(sessions) == 1 and sessions[0].ended_at is None
        lead = db.session.get(User, world.lead.id)
        assert lead.login_count == 1 and lead.current_login_at is not None
        identity = db.session.scalar(sa.select(SsoIdentity))
        assert (identity.issuer, identity.subject, identity.user_id) == (
            provider,
            "okta-lead",
            world.lead.id,
        )


def test_later_sign_ins_follow_the_subject_not_the_email(sso_client, world, provider):
    sign_in_with_sso(sso_client, provider, "okta-lead", email=world.lead.email, email_verified=True)
    fresh = sso_client.application.test_client()
    # The address changed at the provider (same domain): still the same person here.
    response = sign_in_with_sso(
        fresh, provider, "okta-lead", email="lead.renamed@test.example", email_verified=True
    )
    assert response.status_code == 302
    assert "Global Learning" in fresh.get("/portfolio").get_data(as_text=True)
    # Someone new at the provider who now holds the lead's address does not get the account.
    hijack = sign_in_with_sso(
        sso_client.application.test_client(),
        provider,
        "okta-someone-else",
        email=world.lead.email,
        email_verified=True,
    )
    assert hijack.headers["Location"].endswith("/login")


def _invite_newcomer(sso_client, world, **more) -> None:
    """A pending invitation of newcomer@test.example as a provider (``more``: other columns)."""
    with sso_client.application.app_context():
        db.session.add(
            Invitation(
                partnership_id=world.partnership.id,
                email="newcomer@test.example",
                role=Role.PROVIDER,
                token_hash="x" * 64,
                invited_by_id=world.lead.id,
                expires_at=utcnow() + dt.timedelta(days=3),
                **more,
            )
        )
        db.session.commit()


def test_pending_invitation_creates_the_account(sso_client, world, provider):
    _invite_newcomer(sso_client, world)
    response = sign_in_with_sso(
        sso_client,
        provider,
        email="newcomer@test.example",
        email_verified=True,
        name="Nia Newcomer",
    )
    assert response.status_code == 302
    assert "Global Learning" in sso_client.get("/portfolio").get_data(as_text=True)
    with sso_client.application.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "newcomer@test.example"))
        assert user.display_name == "Nia Newcomer" and user.password is None
        membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == user.id))
        assert membership.partnership_id == world.partnership.id
        assert membership.role is Role.PROVIDER
        assert db.session.scalar(sa.select(Invitation.accepted_by_id)) == user.id


def test_a_withdrawn_invitation_creates_no_account(sso_client, world, provider):
    _invite_newcomer(sso_client, world, withdrawn_at=utcnow())
    response = sign_in_with_sso(
        sso_client, provider, email="newcomer@test.example", email_verified=True
    )
    assert "no account for" in refusal(sso_client, response)
    with sso_client.application.app_context():
        assert (
            db.session.scalar(sa.select(User).where(User.email == "newcomer@test.example")) is None
        )


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"email": "stranger@test.example", "email_verified": True}, "no account for"),
        ({"email": "lead@test.example", "email_verified": False}, "has not verified"),
        ({"email": "lead@test.example"}, "has not verified"),
        ({"email": "lead@elsewhere.example", "email_verified": True}, "not open to elsewhere"),
    ],
    ids=["unknown", "unverified", "verification-absent", "other-domain"],
)
def test_refusals_say_why(sso_client, world, provider, claims, message):
    text = refusal(sso_client, sign_in_with_sso(sso_client, provider, **claims))
    assert message in text
    with sso_client.application.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 6
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SsoIdentity)) == 0


def test_inactive_user_is_refused(sso_client, world, provider):
    with sso_client.application.app_context():
        db.session.get(User, world.viewer.id).active = False
        db.session.commit()
    response = sign_in_with_sso(sso_client, provider, email=world.viewer.email, email_verified=True)
    assert "deactivated" in refusal(sso_client, response)


def test_tampered_state_is_refused(sso_client, world, provider):
    _set_claims(provider, "okta-lead", email=world.lead.email, email_verified=True)
    callback = authorize(start(sso_client), "okta-lead")
    parts = urlsplit(callback)
    query = parse_qs(parts.query)
    query["state"] = ["forged-" + query["state"][0]]
    forged = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
    assert "does not belong to a sign-in started here" in refusal(
        sso_client, come_back(sso_client, forged)
    )
    # Nor may the answer be replayed in another browser that never started a sign-in.
    other = sso_client.application.test_client()
    assert "does not belong" in refusal(other, come_back(other, callback))


def test_another_nonce_or_none_is_refused(sso_client, world, provider, caplog):
    """The provider signs a real ID token for a nonce other than ours (or none): refused."""
    _set_claims(provider, "okta-lead", email=world.lead.email, email_verified=True)
    for nonce, reason in (
        ("someone-elses-nonce", "Invalid claim: 'nonce'"),
        (None, "Missing claim: 'nonce'"),
    ):
        parts = urlsplit(start(sso_client))
        query = parse_qs(parts.query)
        query.pop("nonce")
        if nonce:
            query["nonce"] = [nonce]
        changed = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
        response = come_back(sso_client, authorize(changed, "okta-lead"))
        assert "could not be verified" in refusal(sso_client, response)
        assert any(reason in r.getMessage() for r in caplog.records)


def test_a_code_issued_to_another_client_is_refused(sso_client, world, provider, caplog):
    _set_claims(provider, "okta-lead", email=world.lead.email, email_verified=True)
    parts = urlsplit(start(sso_client))
    query = parse_qs(parts.query)
    query["client_id"] = ["another-application"]
    changed = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
    response = come_back(sso_client, authorize(changed, "okta-lead"))
    assert "could not be verified" in refusal(sso_client, response)
    # The provider refuses to exchange it for tokens (the code was issued to someone else).
    assert any("invalid_grant" in r.getMessage() for r in caplog.records)


def test_provider_refusal_is_a_message(sso_client, provider):
    response = requests.post(
        start(sso_client), data={"action": "deny"}, allow_redirects=False, timeout=10
    )
    assert "cancelled or refused" in refusal(
        sso_client, come_back(sso_client, response.headers["Location"])
    )


def test_unreachable_provider_is_a_friendly_message(make_app, world):
    app = make_app(**sso_settings("http://127.0.0.1:9"))  # the discard port: nothing listens
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/auth/sso/login", data={"csrf_token": token})
    assert response.status_code == 302
    assert "cannot be reached" in page_text(client.get("/login").get_data(as_text=True))


def test_refused_callbacks_count_towards_the_sign_in_limit(make_app, world, provider):
    app = make_app(**sso_settings(provider, LOGIN_RATE_PER_ADDRESS="3 per 15 minutes"))
    client = app.test_client()
    for _ in range(3):
        assert client.get("/auth/sso/callback?code=x&state=guess").status_code == 302
    assert client.get("/auth/sso/callback?code=x&state=guess").status_code == 429
    assert sign_in(client, world.viewer.email).status_code == 429


def _make_sso_only(app, world) -> None:
    with app.app_context():
        db.session.get(User, world.lead.id).organisation.sso_only = True
        db.session.commit()


def test_sso_only_organisation_refuses_password_sign_in(sso_client, world, provider):
    _make_sso_only(sso_client.application, world)
    response = sign_in(sso_client, world.lead.email, PASSWORD)
    assert response.status_code == 200
    assert "signs in with single sign-on" in page_text(response.get_data(as_text=True))
    assert sso_client.get("/partnerships/").status_code == 302
    # Another organisation's people still use their passwords.
    assert sign_in(sso_client.application.test_client(), world.provider.email).status_code == 302
    # Its people come in through the provider.
    sign_in_with_sso(sso_client, provider, email=world.lead.email, email_verified=True)
    assert sso_client.get("/partnerships/").status_code == 200


def test_sso_only_organisation_gets_no_password_reset(sso_client, world, mailbox):
    _make_sso_only(sso_client.application, world)
    for email in (world.lead.email, world.provider.email):
        token = csrf_token(sso_client, "/reset")
        response = sso_client.post("/reset", data={"email": email, "csrf_token": token})
        assert response.status_code in (200, 302)
    assert [m["To"] for m in mailbox] == [world.provider.email]


def test_admin_sets_sso_only_on_the_organisation_page(client, world):
    organisation_id = world.lead.organisation_id
    sign_in(client, world.admin.email)
    url = f"/admin/organisations/{organisation_id}"
    page = client.get(url).get_data(as_text=True)
    assert "Single sign-on only" in page
    token = csrf_token(client, url)
    response = client.post(url, data={"name": "Client Co", "sso_only": "y", "csrf_token": token})
    assert response.status_code == 302
    assert db.session.get(User, world.lead.id).organisation.sso_only is True
    checkbox = re.search(
        r"<input[^>]*name=\"sso_only\"[^>]*>", client.get(url).get_data(as_text=True)
    )
    assert checkbox and "checked" in checkbox.group(0)


def test_without_sso_no_button_and_no_callback(client, world):
    page = client.get("/login").get_data(as_text=True)
    assert "single sign-on" not in page.lower()
    assert client.get("/auth/sso/callback?code=x&state=y").status_code == 404
    token = csrf_token(client, "/login")
    assert client.post("/auth/sso/login", data={"csrf_token": token}).status_code == 404
    # SSO-only means nothing while single sign-on is off: nobody is locked out.
    db.session.get(User, world.lead.id).organisation.sso_only = True
    db.session.commit()
    assert sign_in(client, world.lead.email).status_code == 302


def test_the_identity_provider_does_the_second_factor(make_app, world, provider):
    """Administrators who must use our two-factor sign-in with a password are not asked for
    it after single sign-on (the provider asks for its own); a password sign-in still is."""
    app = make_app(**sso_settings(provider, REQUIRE_ADMIN_2FA=True))
    with_password = app.test_client()
    sign_in(with_password, world.admin.email)
    assert "/tf-setup" in with_password.get("/partnerships/").headers["Location"]

    with_sso = app.test_client()
    sign_in_with_sso(with_sso, provider, email=world.admin.email, email_verified=True)
    assert with_sso.get("/partnerships/").status_code == 200
    # Signing out ends that: a password sign-in in the same browser asks again.
    token = csrf_token(with_sso, "/partnerships/")
    with_sso.post("/logout", data={"csrf_token": token})
    sign_in(with_sso, world.admin.email)
    assert "/tf-setup" in with_sso.get("/partnerships/").headers["Location"]


def test_reset_link_sent_before_sso_only_chooses_no_password(sso_client, world):
    from flask_security.recoverable import generate_reset_password_token

    with sso_client.application.test_request_context():
        link = f"/reset/{generate_reset_password_token(db.session.get(User, world.lead.id))}"
    _make_sso_only(sso_client.application, world)
    token = csrf_token(sso_client, link)
    new = "a-brand-new-passphrase-42"
    response = sso_client.post(
        link, data={"password": new, "password_confirm": new, "csrf_token": token}
    )
    assert "there is no password to choose" in page_text(response.get_data(as_text=True))
    with sso_client.application.app_context():
        assert db.session.get(User, world.lead.id).password == world.lead.password


def test_settings_come_from_the_environment(monkeypatch):
    from mls_tracker.config import ConfigError, single_sign_on

    monkeypatch.delenv("OIDC_ISSUER", raising=False)
    assert single_sign_on()["OIDC_ISSUER"] is None  # off unless set
    monkeypatch.setenv("OIDC_ISSUER", "https://login.example.com/")
    with pytest.raises(ConfigError, match="OIDC_CLIENT_ID"):
        single_sign_on()
    monkeypatch.setenv("OIDC_CLIENT_ID", "tracker")
    monkeypatch.setenv("OIDC_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("OIDC_ALLOWED_DOMAINS", " Example.com, @example.co.uk ,")
    settings = single_sign_on()
    assert settings["OIDC_ISSUER"] == "https://login.example.com"
    assert settings["OIDC_ALLOWED_DOMAINS"] == ["example.com", "example.co.uk"]
    assert settings["OIDC_BUTTON_LABEL"] == "Sign in with single sign-on"
