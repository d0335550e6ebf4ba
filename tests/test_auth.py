"""Signing in and out, sessions, password changes and resets, CSRF, and the security headers."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.extensions import db
from mls_tracker.models import User, UserSession, utcnow
from tests.conftest import csrf_token, sign_in, sign_out, text_of
from tests.factories import PASSWORD


def test_sign_in_lands_on_the_portfolio(client, world):
    response = sign_in(client, world.lead.email)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/portfolio")
    assert client.get("/").headers["Location"].endswith("/portfolio")
    page = client.get("/portfolio").get_data(as_text=True)
    assert "Global Learning" in page
    assert "Other Programme" not in page


def test_wrong_password_and_unknown_email_get_the_same_message(client, world):
    wrong = sign_in(client, world.lead.email, "not-the-password").get_data(as_text=True)
    unknown = sign_in(client, "nobody@test.example", PASSWORD).get_data(as_text=True)

    def messages(html: str) -> list[str]:
        return re.findall(
            r'class="[^"]*(?:invalid-feedback|fs-error-msg|alert)[^"]*"[^>]*>\s*([^<]+)', html
        )

    assert messages(wrong) and messages(wrong) == messages(unknown)
    assert "lead@test.example" in wrong  # what was typed is kept


def test_email_is_case_insensitive_at_sign_in(client, world):
    assert sign_in(client, "LEAD@Test.Example").status_code == 302


def test_the_session_cookie_changes_at_sign_in(client, world):
    client.get("/login")
    before = client.get_cookie("mls_session")
    sign_in(client, world.lead.email)
    after = client.get_cookie("mls_session")
    assert after is not None and (before is None or before.value != after.value)


def test_a_cookie_saved_before_sign_out_is_refused_after_it(app, world):
    client = app.test_client()
    sign_in(client, world.lead.email)
    assert client.get("/partnerships/").status_code == 200
    saved = client.get_cookie("mls_session").value

    assert sign_out(client).status_code == 302

    replay = app.test_client()
    replay.set_cookie("mls_session", saved)
    response = replay.get("/partnerships/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_sign_out_needs_post_and_csrf(client, world):
    sign_in(client, world.lead.email)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/partnerships/").status_code == 200


def test_a_deactivated_user_is_out_at_the_next_request(client, world):
    sign_in(client, world.lead.email)
    assert client.get("/partnerships/").status_code == 200
    db.session.execute(sa.update(User).where(User.id == world.lead.id).values(active=False))
    db.session.commit()
    assert client.get("/partnerships/").status_code == 302


def test_idle_and_absolute_timeouts_end_the_session(client, world):
    sign_in(client, world.lead.email)
    record = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == world.lead.id))
    record.last_seen_at = utcnow() - dt.timedelta(hours=2)
    db.session.commit()
    assert client.get("/partnerships/").status_code == 302

    sign_in(client, world.lead.email)
    newest = db.session.scalars(
        sa.select(UserSession).order_by(UserSession.id.desc()).limit(1)
    ).one()
    newest.created_at = utcnow() - dt.timedelta(hours=13)
    db.session.commit()
    assert client.get("/partnerships/").status_code == 302


def test_a_form_without_csrf_token_is_refused(client, world):
    response = client.post("/login", data={"email": world.lead.email, "password": PASSWORD})
    assert response.status_code in (200, 400)
    assert client.get("/partnerships/").status_code == 302


def test_next_redirects_stay_on_the_site(client, world):
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=https://evil.example/steal",
        data={"email": world.lead.email, "password": PASSWORD, "csrf_token": token},
    )
    # Flask-Security refuses the off-site target: the form comes back, or we stay on the site.
    assert "evil.example" not in response.headers.get("Location", "")
    assert client.get("/partnerships/").status_code in (200, 302)


def test_change_password(client, world):
    sign_in(client, world.lead.email)
    token = csrf_token(client, "/change")
    new = "a-much-longer-pass-phrase-2026"
    response = client.post(
        "/change",
        data={
            "password": PASSWORD,
            "new_password": new,
            "new_password_confirm": new,
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    fresh = client.application.test_client()
    assert sign_in(fresh, world.lead.email, PASSWORD).status_code == 200
    assert sign_in(fresh, world.lead.email, new).status_code == 302


def test_common_and_short_passwords_are_refused(client, world):
    sign_in(client, world.lead.email)
    for weak in ("short", "password123"):
        token = csrf_token(client, "/change")
        response = client.post(
            "/change",
            data={
                "password": PASSWORD,
                "new_password": weak,
                "new_password_confirm": weak,
                "csrf_token": token,
            },
        )
        assert response.status_code == 200, weak


def test_reset_password_by_email(client, world, mailbox):
    token = csrf_token(client, "/reset")
    response = client.post("/reset", data={"email": world.viewer.email, "csrf_token": token})
    assert response.status_code in (200, 302)
    assert len(mailbox) == 1
    message = mailbox[0]
    assert message["To"] == world.viewer.email
    body = text_of(message)
    link = re.search(r"http://localhost:5000(/reset/[^\s\"<]+)", body).group(1)
    form_token = csrf_token(client, link)
    new = "brand-new-long-passphrase-77"
    response = client.post(
        link, data={"password": new, "password_confirm": new, "csrf_token": form_token}
    )
    assert response.status_code == 302
    fresh = client.application.test_client()
    assert sign_in(fresh, world.viewer.email, new).status_code == 302


def test_security_headers_and_no_store(client, world):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert "max-age" in response.headers["Strict-Transport-Security"]
    sign_in(client, world.lead.email)
    assert client.get("/partnerships/").headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_lax(client, world):
    sign_in(client, world.lead.email)
    cookie = client.get_cookie("mls_session")
    assert cookie.http_only
    assert cookie.same_site == "Lax"


def test_production_requires_a_secret_key(monkeypatch, tmp_path):
    import pytest

    from mls_tracker.config import ConfigError, load_settings

    monkeypatch.setenv("MLS_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings(tmp_path)
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("SECURITY_PASSWORD_SALT", "y" * 40)
    monkeypatch.setenv("EXTERNAL_URL", "https://tracker.example")
    settings = load_settings(tmp_path)
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "secret_key").exists()


def test_development_generates_and_keeps_a_secret_key(monkeypatch, tmp_path):
    from mls_tracker.config import load_settings

    monkeypatch.setenv("MLS_ENV", "development")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_settings(tmp_path)["SECRET_KEY"]
    assert len(first) >= 40
    assert load_settings(tmp_path)["SECRET_KEY"] == first


def test_two_factor_sign_in_asks_for_the_authenticator_code(app, client, world):
    totp = app.extensions["security"]._totp_factory
    secret = totp.generate_totp_secret()
    user = db.session.get(User, world.lead.id)
    user.tf_primary_method = "authenticator"
    user.tf_totp_secret = secret
    db.session.commit()

    response = sign_in(client, world.lead.email)
    assert response.status_code == 302
    assert "/tf-validate" in response.headers["Location"]
    assert client.get("/partnerships/").status_code == 302  # not signed in yet

    token = csrf_token(client, "/tf-validate")
    wrong = client.post("/tf-validate", data={"code": "000000", "csrf_token": token})
    assert wrong.status_code == 200
    assert client.get("/partnerships/").status_code == 302

    token = csrf_token(client, "/tf-validate")
    code = totp.generate_totp_password(secret)
    response = client.post("/tf-validate", data={"code": code, "csrf_token": token})
    assert response.status_code == 302
    assert client.get("/partnerships/").status_code == 200


def test_repeated_failed_sign_ins_are_slowed_down_per_account(make_app, world):
    app = make_app(LOGIN_RATE_PER_ACCOUNT="3 per 15 minutes")
    client = app.test_client()
    for _ in range(3):
        assert sign_in(client, world.lead.email, "wrong-password").status_code == 200
    blocked = sign_in(client, world.lead.email, PASSWORD)
    assert blocked.status_code == 429
    assert "wait" in blocked.get_data(as_text=True).lower()
    # Another account from the same address is not locked out by this one.
    assert sign_in(app.test_client(), world.viewer.email).status_code == 302


def test_repeated_failed_sign_ins_are_slowed_down_per_address(make_app, world):
    app = make_app(LOGIN_RATE_PER_ADDRESS="4 per 15 minutes")
    client = app.test_client()
    for n in range(4):
        assert sign_in(client, f"guess{n}@test.example", "x").status_code == 200
    assert sign_in(client, world.viewer.email).status_code == 429


def test_sign_ins_and_denials_are_logged(client, world, caplog):
    import logging

    caplog.set_level(logging.INFO)
    sign_in(client, world.viewer.email)
    client.get(f"/partnerships/{world.partnership.id}/invite")
    client.get(f"/partnerships/{world.other.id}")
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith(f"sign-in: user={world.viewer.id}") for m in messages)
    assert any(m.startswith("denied 403") and f"user={world.viewer.id}" in m for m in messages)
    assert any(
        m.startswith("denied 404") and f"partnership={world.other.id}" in m for m in messages
    )


def test_a_timed_out_session_stays_out_even_if_its_user_was_loaded_first(client, world):
    """Ending a timed-out session commits, and a flush listener may ask who is acting (the
    inbox does): the user it loads must not keep that request signed in."""
    from flask_login import current_user

    sign_in(client, world.lead.email)
    record = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == world.lead.id))
    record.last_seen_at = utcnow() - dt.timedelta(hours=2)
    db.session.commit()
    asked = []

    def who_is_acting(_session, _context):
        asked.append(current_user.is_authenticated)

    sa.event.listen(so.Session, "after_flush", who_is_acting)
    try:
        assert client.get("/partnerships/").status_code == 302
    finally:
        sa.event.remove(so.Session, "after_flush", who_is_acting)
    assert asked == [True]  # the user was loaded while the session was being ended
