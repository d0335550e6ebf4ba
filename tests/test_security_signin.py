"""Signing in under attack (issue 14, findings 2, 5, 7 and 8): every failed credential check
counts whatever its format, a password reset tells nothing and is limited, administrators need
two-factor in production, and nobody can use the limits to lock someone else out."""

from __future__ import annotations

import re
import statistics
import time
import uuid

import pytest
import sqlalchemy as sa
from passlib.totp import TOTP

from mls_tracker.extensions import db, limiter
from mls_tracker.models import Job, User
from tests.conftest import csrf_token, sign_in, text_of
from tests.factories import PASSWORD

ELSEWHERE = "198.51.100.7"
RESET_JOB = "password_reset_mail"


def client_at(app, address: str = "127.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def json_sign_in(client, email: str, password: str = PASSWORD):
    token = csrf_token(client, "/login")
    return client.post(
        "/login", json={"email": email, "password": password}, headers={"X-CSRFToken": token}
    )


def request_reset(client, email: str):
    token = csrf_token(client, "/reset")
    return client.post("/reset", data={"email": email, "csrf_token": token})


def retry_after(response) -> int:
    assert response.status_code == 429
    return int(response.headers["Retry-After"])


def turn_on_two_factor(app, user_id: int) -> str:
    totp = app.extensions["security"]._totp_factory
    secret = totp.generate_totp_secret()
    user = db.session.get(User, user_id)
    user.tf_primary_method = "authenticator"
    user.tf_totp_secret = secret
    db.session.commit()
    return secret


# Finding 2: every failed credential check counts, whatever the request's format.


def test_finding_2_failed_json_sign_ins_count_toward_the_limit(make_app, world):
    app = make_app(LOGIN_RATE_PER_ACCOUNT="3 per 15 minutes")
    client = app.test_client()
    for _ in range(3):
        assert json_sign_in(client, world.lead.email, "wrong-password").status_code == 400
    assert json_sign_in(client, world.lead.email).status_code == 429
    assert client.get("/partnerships/").status_code == 302


def test_finding_2_form_and_json_failures_add_up_per_address(make_app, world):
    app = make_app(LOGIN_RATE_PER_ADDRESS="4 per 15 minutes")
    client = app.test_client()
    assert sign_in(client, "guess1@test.example", "x").status_code == 200
    assert sign_in(client, "guess2@test.example", "x").status_code == 200
    assert json_sign_in(client, "guess3@test.example", "x").status_code == 400
    assert json_sign_in(client, world.lead.email, "x").status_code == 400
    assert sign_in(client, world.viewer.email).status_code == 429


def test_finding_2_failed_two_factor_codes_count_in_every_format(make_app, world):
    app = make_app(LOGIN_RATE_PER_ACCOUNT="3 per 15 minutes")
    secret = turn_on_two_factor(app, world.lead.id)
    client = app.test_client()
    assert "/tf-validate" in sign_in(client, world.lead.email).headers["Location"]
    token = csrf_token(client, "/tf-validate")
    assert (
        client.post("/tf-validate", data={"code": "000000", "csrf_token": token}).status_code == 200
    )
    for _ in range(2):
        wrong = client.post("/tf-validate", json={"code": "000000"}, headers={"X-CSRFToken": token})
        assert wrong.status_code == 400
    code = app.extensions["security"]._totp_factory.generate_totp_password(secret)
    blocked = client.post("/tf-validate", data={"code": code, "csrf_token": token})
    assert retry_after(blocked) > 0
    assert client.get("/partnerships/").status_code == 302


def test_finding_2_failed_reset_tokens_count_toward_the_limit(make_app, world):
    app = make_app(LOGIN_RATE_PER_ADDRESS="3 per 15 minutes")
    client = app.test_client()
    token = csrf_token(client, "/reset")
    new = "brand-new-long-passphrase-77"
    form = {"password": new, "password_confirm": new, "csrf_token": token}
    for guess in ("not-a-token", "still-not-a-token"):
        assert client.post(f"/reset/{guess}", data=form).status_code == 302
    as_json = client.post(
        "/reset/nor-this",
        json={"password": new, "password_confirm": new},
        headers={"X-CSRFToken": token},
    )
    assert as_json.status_code == 400
    assert sign_in(client, world.viewer.email).status_code == 429


def test_a_successful_sign_in_is_not_counted(make_app, world):
    app = make_app(LOGIN_RATE_PER_ACCOUNT="2 per 15 minutes", LOGIN_RATE_PER_ADDRESS="2 per hour")
    for _ in range(3):
        assert sign_in(app.test_client(), world.lead.email).status_code == 302
        assert json_sign_in(app.test_client(), world.viewer.email).status_code == 200


# Finding 5: a reset request does the same work whether the account exists, sends its mail
# from a job, and is limited per address and per account.


def _reset_jobs() -> list[Job]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Job).where(Job.kind == RESET_JOB).order_by(Job.id)))


def _drain(queue) -> None:
    """Runs what a worker would, here and now."""
    while (task := queue.huey.dequeue()) is not None:
        queue.huey.execute(task)


def _same_page(html: str, email: str) -> str:
    html = html.replace(email, "EMAIL")
    return re.sub(r'(value|nonce|content)="[^"]*"', r'\1=""', html)


def test_finding_5_a_reset_request_queues_the_same_job_whether_the_account_exists(
    make_app, world, mailbox
):
    app = make_app(HUEY_IMMEDIATE=False)
    queue = app.extensions["mls_jobs"]
    _drain(queue)  # leftovers of earlier tests' queued jobs
    client = app.test_client()
    unknown = "nobody@test.example"

    known_answer = request_reset(client, world.viewer.email)
    unknown_answer = request_reset(client, unknown)

    # Neither request sent anything itself: each queued one job, with only the address typed.
    assert mailbox == []
    assert [job.params for job in _reset_jobs()] == [
        {"email": world.viewer.email},
        {"email": unknown},
    ]
    assert known_answer.status_code == unknown_answer.status_code == 200
    assert _same_page(known_answer.get_data(as_text=True), world.viewer.email) == _same_page(
        unknown_answer.get_data(as_text=True), unknown
    )

    # The worker sends the one mail there is to send, with a working link.
    _drain(queue)
    assert [job.state for job in _reset_jobs()] == ["succeeded", "succeeded"]
    assert [message["To"] for message in mailbox] == [world.viewer.email]
    assert re.search(r"https?://[^/\s]+/reset/\S+", text_of(mailbox[0]))


def test_finding_5_reset_answers_take_about_the_same_time(make_app, world):
    app = make_app(
        HUEY_IMMEDIATE=False,
        RESET_RATE_PER_ACCOUNT="100 per hour",
        RESET_RATE_PER_ADDRESS="100 per hour",
    )
    queue = app.extensions["mls_jobs"]
    client = app.test_client()
    token = csrf_token(client, "/reset")
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    try:
        for _ in range(6):
            for label, email in (("known", world.viewer.email), ("unknown", "nobody@test.example")):
                started = time.perf_counter()
                response = client.post("/reset", data={"email": email, "csrf_token": token})
                timings[label].append(time.perf_counter() - started)
                assert response.status_code == 200
    finally:
        _drain(queue)
    known, unknown = (statistics.median(timings[k]) for k in ("known", "unknown"))
    print(f"reset request median: known {known * 1000:.0f} ms, unknown {unknown * 1000:.0f} ms")
    # Rough on purpose (shared CPUs): the same code path, so no systematic gap either way.
    assert abs(known - unknown) < 0.3 * max(known, unknown) + 0.02


def test_finding_5_reset_requests_are_limited_per_account(make_app, world, mailbox):
    app = make_app(RESET_RATE_PER_ACCOUNT="2 per hour")
    client = app.test_client()
    assert request_reset(client, world.viewer.email).status_code == 200
    assert request_reset(client, world.viewer.email).status_code == 200
    # The same inbox from another address, however it is spelt, is refused; mail stops.
    blocked = request_reset(client_at(app, ELSEWHERE), world.viewer.email.upper())
    assert 0 < retry_after(blocked) <= 3600
    assert len(mailbox) == 2
    # An unknown address is limited the same way: the 429 tells nothing about accounts.
    for _ in range(2):
        assert request_reset(client, "nobody@test.example").status_code == 200
    assert request_reset(client, "nobody@test.example").status_code == 429
    assert request_reset(client, world.lead.email).status_code == 200


def test_finding_5_reset_requests_are_limited_per_address(make_app, world, mailbox):
    app = make_app(RESET_RATE_PER_ADDRESS="3 per hour")
    client = app.test_client()
    for n in range(3):
        assert request_reset(client, f"someone{n}@test.example").status_code == 200
    assert retry_after(request_reset(client, world.viewer.email)) > 0
    assert mailbox == []
    assert request_reset(client_at(app, ELSEWHERE), world.viewer.email).status_code == 200
    assert len(mailbox) == 1


# Finding 7: two-factor is required for administrators in production.


def test_finding_7_production_requires_two_factor_for_administrators(monkeypatch, tmp_path):
    from mls_tracker.config import load_settings

    monkeypatch.delenv("REQUIRE_ADMIN_2FA", raising=False)
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("SECURITY_PASSWORD_SALT", "y" * 40)
    monkeypatch.setenv("EXTERNAL_URL", "https://tracker.example")  # required in production
    for env, required in (("production", True), ("development", False), ("testing", False)):
        monkeypatch.setenv("MLS_ENV", env)
        assert load_settings(tmp_path)["REQUIRE_ADMIN_2FA"] is required, env


def test_finding_7_an_admin_without_two_factor_is_sent_to_set_it_up(make_app, world):
    app = make_app(REQUIRE_ADMIN_2FA=True)
    admin = app.test_client()
    assert sign_in(admin, world.admin.email).status_code == 302
    for url in ("/partnerships/", "/portfolio", f"/partnerships/{world.partnership.id}"):
        response = admin.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].endswith("/tf-setup"), url
    token = csrf_token(admin, "/tf-setup")
    invite = f"/partnerships/{world.partnership.id}/invite"
    assert admin.post(invite, data={"csrf_token": token}).status_code == 302
    assert admin.get("/partnerships/", headers={"Accept": "application/json"}).status_code == 403

    # Members who are not administrators are not held up.
    lead = app.test_client()
    sign_in(lead, world.lead.email)
    assert lead.get("/partnerships/").status_code == 200

    # The set-up pages work; once two-factor is on, so does everything else.
    page = admin.post("/tf-setup", data={"setup": "authenticator", "csrf_token": token})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    key = re.search(r'class="totp-key">\s*([^<]+?)\s*<', html).group(1).replace(" ", "")
    action = re.search(r'action="(/tf-setup/[^"]+)"', html).group(1)
    code = TOTP(key=key, format="base32").generate().token
    done = admin.post(action, data={"code": code, "csrf_token": token})
    assert done.status_code == 302, done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, world.admin.id).tf_primary_method == "authenticator"
    assert admin.get("/partnerships/").status_code == 200


def test_an_admin_waiting_for_two_factor_can_still_sign_out(make_app, world):
    app = make_app(REQUIRE_ADMIN_2FA=True)
    admin = app.test_client()
    sign_in(admin, world.admin.email)
    token = csrf_token(admin, "/tf-setup")
    assert admin.post("/logout", data={"csrf_token": token}).status_code == 302
    assert admin.get("/partnerships/").headers["Location"].startswith("/login")


def test_two_factor_is_not_forced_on_admins_in_testing(client, world):
    sign_in(client, world.admin.email)
    assert client.get("/partnerships/").status_code == 200


# Finding 8: the strict limit is per account and address, with a looser ceiling per account;
# every 429 says when to retry; counters live in Redis when REDIS_URL is set.


def test_finding_8_wrong_passwords_from_elsewhere_do_not_lock_the_owner_out(make_app, world):
    app = make_app(LOGIN_RATE_PER_ACCOUNT="3 per 15 minutes")
    attacker = client_at(app, ELSEWHERE)
    for _ in range(3):
        assert sign_in(attacker, world.lead.email, "wrong-password").status_code == 200
    assert sign_in(attacker, world.lead.email, "wrong-password").status_code == 429
    assert sign_in(attacker, world.lead.email).status_code == 429
    assert sign_in(app.test_client(), world.lead.email).status_code == 302


def test_finding_8_a_looser_ceiling_holds_per_account_across_addresses(make_app, world):
    app = make_app(
        LOGIN_RATE_PER_ACCOUNT="3 per 15 minutes", LOGIN_RATE_ACCOUNT_CEILING="6 per hour"
    )
    for address in ("198.51.100.1", "198.51.100.2"):
        for _ in range(2):
            assert sign_in(client_at(app, address), world.lead.email, "x").status_code == 200
    assert sign_in(app.test_client(), world.lead.email).status_code == 302
    for _ in range(2):
        assert sign_in(client_at(app, "198.51.100.3"), world.lead.email, "x").status_code == 200
    blocked = sign_in(client_at(app, "198.51.100.4"), world.lead.email)
    assert 0 < retry_after(blocked) <= 3600
    assert sign_in(client_at(app, "198.51.100.4"), world.viewer.email).status_code == 302


def test_finding_8_every_429_says_when_to_retry(make_app, world):
    app = make_app(LOGIN_RATE_PER_ACCOUNT="1 per 15 minutes", RESET_RATE_PER_ADDRESS="1 per hour")
    client = app.test_client()
    sign_in(client, world.lead.email, "wrong-password")
    as_form = sign_in(client, world.lead.email)
    assert 0 < retry_after(as_form) <= 900
    assert "wait" in as_form.get_data(as_text=True).lower()
    token = csrf_token(client, "/login")
    as_json = client.post(
        "/login",
        json={"email": world.lead.email, "password": PASSWORD},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert 0 < retry_after(as_json) <= 900
    assert as_json.json["error"]["status"] == 429
    request_reset(client, "someone@test.example")
    assert 0 < retry_after(request_reset(client, "someone@test.example")) <= 3600


def test_the_limit_counters_follow_redis_url(monkeypatch, tmp_path):
    from mls_tracker.config import load_settings

    monkeypatch.setenv("MLS_ENV", "development")
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert load_settings(tmp_path)["RATELIMIT_STORAGE_URI"] == "memory://"
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")
    assert load_settings(tmp_path)["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"


@pytest.fixture
def redis_for_limits(app):
    """Redis on 127.0.0.1 (a database and key prefix of this test's own, emptied afterwards);
    the shared limiter is put back on the test app's memory storage at the end."""
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/11"
    connection = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"mls-test-{uuid.uuid4().hex[:12]}"
    saved_prefix, saved_options = limiter._key_prefix, dict(limiter._storage_options)
    try:
        yield url, prefix, connection
    finally:
        for key in connection.scan_iter(match=f"*{prefix}*"):
            connection.delete(key)
        limiter._key_prefix, limiter._storage_options = saved_prefix, saved_options
        limiter.init_app(app)  # back to the memory storage of the test configuration
        connection.close()


def test_finding_8_counters_live_in_redis_when_redis_url_is_set(
    make_app, world, monkeypatch, redis_for_limits
):
    url, prefix, connection = redis_for_limits
    monkeypatch.setenv("REDIS_URL", url)
    app = make_app(RATELIMIT_KEY_PREFIX=prefix, LOGIN_RATE_PER_ACCOUNT="2 per 15 minutes")
    assert app.config["RATELIMIT_STORAGE_URI"] == url
    client = app.test_client()
    for _ in range(2):
        assert json_sign_in(client, world.lead.email, "wrong-password").status_code == 400
    assert json_sign_in(client, world.lead.email).status_code == 429
    keys = list(connection.scan_iter(match=f"*{prefix}*"))
    assert keys
    # The counters are in Redis, not in this process: gone from Redis, the block is gone.
    connection.delete(*keys)
    assert json_sign_in(client, world.lead.email).status_code == 200


# Behind a reverse proxy (PROXY_HOPS), the per-address limits count the client, not the proxy.


def test_behind_a_proxy_each_client_address_is_counted_on_its_own(make_app, world):
    app = make_app(PROXY_HOPS=1, LOGIN_RATE_PER_ADDRESS="3 per 15 minutes")

    def from_client(address: str):
        client = client_at(app, "127.0.0.1")  # every request comes through the proxy
        client.environ_base["HTTP_X_FORWARDED_FOR"] = address
        return client

    attacker = from_client("192.0.2.10")
    for n in range(3):
        assert sign_in(attacker, f"guess{n}@test.example", "x").status_code == 200
    assert sign_in(attacker, "guess9@test.example", "x").status_code == 429
    # Another client behind the same proxy is not slowed down by the first one's failures.
    assert sign_in(from_client("192.0.2.11"), world.viewer.email).status_code == 302


def test_without_proxy_hops_a_forwarded_address_is_not_believed(make_app, world):
    app = make_app(LOGIN_RATE_PER_ADDRESS="3 per 15 minutes")
    for n in range(3):
        client = client_at(app, "127.0.0.1")
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"192.0.2.{20 + n}"
        assert sign_in(client, f"guess{n}@test.example", "x").status_code == 200
    forged = client_at(app, "127.0.0.1")
    forged.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.99"
    assert sign_in(forged, world.viewer.email).status_code == 429
