"""Webhooks end to end, against a real receiver on loopback: each event fired by the real
service or page, the signature checked as the README tells a customer to, retries with
backoff (time moved by the test), no retry on 4xx, disabled endpoints, rolled-back changes,
SSRF refusals, and the endpoint pages."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from mls_tracker.cli import actions_cli, webhooks_cli
from mls_tracker.extensions import db
from mls_tracker.models import (
    AuditEntry,
    DeliveryState,
    MeasurementState,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from mls_tracker.periods import Month, utc_today
from mls_tracker.scorecards import chart_images
from mls_tracker.scorecards import issuing as scorecards
from mls_tracker.services import slas, webhooks
from mls_tracker.services import survey_import as surveys
from mls_tracker.services.errors import PermissionDenied, ValidationFailed
from tests import factories, webhook_receiver
from tests.conftest import csrf_token, page_text, sign_in, text_of
from tests.webhook_receiver import verify

JUNE, JULY = Month(2025, 6), Month(2025, 7)
ALL = list(webhooks.EVENTS)


@pytest.fixture
def receiver():
    receiver, server = webhook_receiver.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback(app):
    """Lets deliveries reach the loopback receiver (http, private host), as only tests may."""
    app.config.update(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOW_PRIVATE_HOSTS=True)
    yield
    app.config.update(WEBHOOK_ALLOW_HTTP=False, WEBHOOK_ALLOW_PRIVATE_HOSTS=False)


def _endpoint(world, receiver, events=ALL) -> tuple[int, str]:
    endpoint, secret = webhooks.create_endpoint(
        world.lead, world.partnership.id, receiver.url, events, "Our ERP"
    )
    return endpoint.id, secret


def _deliveries(endpoint_id: int) -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id)
        )
    )


def _propose(world, value: str = "93.5", month: Month = JULY, version: int = 0):
    return slas.save_month_actuals(
        world.provider,
        world.partnership,
        month,
        [slas.ActualInput(world.ids["sla_id"], value, False, "From LMS", version)],
    )


# ----------------------------------------------------------------------------- events


def test_a_proposed_actual_arrives_signed_with_its_figures(world, receiver, loopback):
    endpoint_id, secret = _endpoint(world, receiver)
    before = utcnow()
    outcome = _propose(world)
    assert outcome.saved == 1
    [request] = receiver.requests
    assert verify(secret, request.headers, request.body)
    assert not verify(secret + "x", request.headers, request.body)
    assert request.headers["X-MLS-Event"] == "actual.proposed"
    assert request.headers["Content-Type"] == "application/json"
    [delivery] = _deliveries(endpoint_id)
    assert request.headers["X-MLS-Delivery"] == str(delivery.id)
    body = request.json
    assert body["type"] == "actual.proposed"
    assert body["partnership"] == {"id": world.partnership.id, "name": "Global Learning"}
    assert dt.datetime.fromisoformat(body["created_at"]) >= before.replace(microsecond=0)
    assert body["data"]["sla"]["id"] == world.ids["sla_id"]
    assert body["data"]["sla"]["code"] == "WLD-01"
    assert body["data"]["month"] == "2025-07"
    assert body["data"]["value"] in ("93.5", "93.50", "93.5000")
    assert body["data"]["state"] == "proposed"
    assert delivery.state is DeliveryState.DELIVERED and delivery.attempts == 1
    assert delivery.last_status == 200 and delivery.last_duration_ms is not None


def test_a_lead_confirming_on_the_page_sends_actual_confirmed(client, world, receiver, loopback):
    _endpoint(world, receiver, ["actual.confirmed"])
    sla_id = world.ids["sla_id"]
    sign_in(client, world.lead.email)
    url = f"/partnerships/{world.partnership.id}/slas/actuals/{JUNE}"
    page = client.get(url).get_data(as_text=True)
    rows = dict(re.findall(r'name="((?:value|note|version)-\d+)" value="([^"]*)"', page))
    response = client.post(
        url, data={**rows, f"confirm-{sla_id}": "1", "csrf_token": csrf_token(client, url)}
    )
    assert response.status_code == 302
    [request] = receiver.requests
    data = request.json["data"]
    assert request.headers["X-MLS-Event"] == "actual.confirmed"
    assert (data["month"], data["state"], data["confirmed_by_id"]) == (
        "2025-06",
        "confirmed",
        world.lead.id,
    )
    assert data["value"].startswith("92")


def test_an_endpoint_gets_only_the_events_it_chose(world, receiver, loopback):
    _endpoint(world, receiver, ["actual.confirmed"])
    _propose(world)
    assert receiver.requests == []


def test_issuing_a_scorecard_sends_scorecard_issued(world, receiver, loopback):
    from tests.test_scorecards import make_review

    _endpoint(world, receiver, ["scorecard.issued"])
    review = make_review(world)
    try:
        scorecard = scorecards.issue_scorecard(world.lead, review)
    finally:
        chart_images.clear_cache()  # the server draws on for the next test (conftest.py)
    [request] = receiver.of("scorecard.issued")
    data = request.json["data"]
    assert data["scorecard_id"] == scorecard.id and data["version"] == 1
    assert data["period"]["first_month"] == data["period"]["last_month"] == "2026-10"
    assert data["sha256"] == scorecard.sha256
    path = data["download_path"]
    assert path == f"/partnerships/{world.partnership.id}/reviews/scorecards/{scorecard.id}.pdf"


def test_committing_a_survey_import_sends_survey_import_committed(
    world, receiver, loopback, monkeypatch
):
    from tests.test_survey_import import AFTER_THE_SAMPLES, SAMPLES, import_file

    monkeypatch.setattr(surveys, "clock", lambda: AFTER_THE_SAMPLES)
    for name in ("North America", "LATAM", "India"):
        world.partnership.regions.append(factories.create_region(name, len(name)))
    db.session.commit()
    _endpoint(world, receiver, ["survey_import.committed"])
    record = import_file(world, SAMPLES / "generic.csv")
    [request] = receiver.requests
    data = request.json["data"]
    assert data["survey_import_id"] == record.id
    assert data["rows_added"] == record.rows_added > 0
    assert data["state"] == "confirmed"


def test_the_daily_job_announces_an_overdue_item_once(app, world, receiver, loopback):
    _endpoint(world, receiver, ["action_item.overdue"])
    today = utc_today()
    due_yesterday = factories.create_action(
        world.partnership, "Fix the LMS login", due_on=today - dt.timedelta(days=1)
    )
    factories.create_action(world.partnership, "Due today", due_on=today)
    # Overdue long before the endpoint existed: not news to it.
    factories.create_action(world.partnership, "Ancient", due_on=today - dt.timedelta(days=40))
    db.session.commit()
    for _ in range(2):  # the daily job may run twice
        result = app.test_cli_runner().invoke(actions_cli, ["remind"])
        assert result.exit_code == 0, result.output
    [request] = receiver.requests
    data = request.json["data"]
    assert data["action_item_id"] == due_yesterday.id
    assert data["due_on"] == (today - dt.timedelta(days=1)).isoformat()
    assert data["overdue_since"] == today.isoformat()
    # Moved to today, the item is not overdue; when that new due date passes, it is again.
    due_yesterday.due_on = today
    db.session.commit()
    assert webhooks.announce_overdue_actions(today) == 0
    tomorrow = today + dt.timedelta(days=1)
    assert webhooks.announce_overdue_actions(tomorrow) == 2  # it, and "Due today"
    assert webhooks.announce_overdue_actions(tomorrow) == 0
    assert {r.json["data"]["title"] for r in receiver.requests[1:]} == {
        "Fix the LMS login",
        "Due today",
    }


# ----------------------------------------------------------------------------- retries


def test_5xx_is_retried_with_backoff_until_it_fails(world, receiver, loopback):
    endpoint_id, _ = _endpoint(world, receiver)
    receiver.answers = [(503, {})] * webhooks.MAX_ATTEMPTS
    _propose(world)
    [delivery] = _deliveries(endpoint_id)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 1, 503)
    first = delivery.last_attempt_at
    assert delivery.next_attempt_at == first + dt.timedelta(minutes=1)
    assert webhooks.deliver_due(first + dt.timedelta(seconds=59)) == 0
    now = first
    for attempt, wait in enumerate(webhooks.BACKOFF, start=2):
        now += wait
        assert webhooks.deliver_due(now) == 1
        [delivery] = _deliveries(endpoint_id)
        assert delivery.attempts == attempt
    assert delivery.state is DeliveryState.FAILED and delivery.next_attempt_at is None
    assert len(receiver.requests) == webhooks.MAX_ATTEMPTS == 6
    assert len({r.headers["X-MLS-Delivery"] for r in receiver.requests}) == 1
    assert webhooks.deliver_due(now + dt.timedelta(days=1)) == 0


def test_429_waits_as_long_as_retry_after_says(world, receiver, loopback):
    endpoint_id, _ = _endpoint(world, receiver)
    receiver.answers = [(429, {"Retry-After": "600"})]
    _propose(world)
    [delivery] = _deliveries(endpoint_id)
    assert delivery.next_attempt_at == delivery.last_attempt_at + dt.timedelta(seconds=600)
    assert webhooks.deliver_due(delivery.last_attempt_at + dt.timedelta(minutes=5)) == 0
    assert webhooks.deliver_due(delivery.last_attempt_at + dt.timedelta(minutes=10)) == 1
    assert _deliveries(endpoint_id)[0].state is DeliveryState.DELIVERED


def test_a_network_error_is_retried(world, receiver, loopback):
    endpoint_id, _ = _endpoint(world, receiver)
    url = receiver.url
    db.session.get(WebhookEndpoint, endpoint_id).url = "http://127.0.0.1:9/closed"
    db.session.commit()
    _propose(world)
    [delivery] = _deliveries(endpoint_id)
    assert delivery.state == "pending" and delivery.last_status is None
    assert delivery.last_error == "Could not connect to the host"
    db.session.get(WebhookEndpoint, endpoint_id).url = url
    db.session.commit()
    assert webhooks.deliver_due(delivery.last_attempt_at + dt.timedelta(minutes=1)) == 1
    assert len(receiver.requests) == 1


def test_4xx_fails_at_once_and_redeliver_sends_it_again(client, world, receiver, loopback):
    endpoint_id, _ = _endpoint(world, receiver)
    receiver.answers = [(410, {})]
    _propose(world)
    [delivery] = _deliveries(endpoint_id)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("failed", 1, 410)
    assert webhooks.deliver_due(utcnow() + dt.timedelta(days=2)) == 0
    sign_in(client, world.lead.email)
    show = f"/partnerships/{world.partnership.id}/webhooks/{endpoint_id}"
    page = client.get(show).get_data(as_text=True)
    assert "HTTP 410" in page_text(page) and "Redeliver" in page
    response = client.post(
        f"{show}/deliveries/{delivery.id}/redeliver", data={"csrf_token": csrf_token(client, show)}
    )
    assert response.status_code == 302
    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body
    assert _deliveries(endpoint_id)[0].state is DeliveryState.DELIVERED


def test_a_disabled_endpoint_receives_nothing(world, receiver, loopback):
    endpoint_id, _ = _endpoint(world, receiver)
    webhooks.set_enabled(world.lead, world.partnership.id, endpoint_id, False)
    _propose(world)
    assert receiver.requests == [] and _deliveries(endpoint_id) == []


def test_a_rolled_back_change_announces_nothing(world, receiver, loopback):
    endpoint_id, _ = _endpoint(world, receiver)
    assert webhooks.emit("actual.proposed", world.partnership.id, {"x": 1}) == 1
    db.session.flush()
    db.session.rollback()
    db.session.commit()  # a later commit must not send what was rolled back
    assert receiver.requests == [] and _deliveries(endpoint_id) == []


def test_a_committed_event_is_not_lost_when_the_queue_cannot_take_it(
    app, world, receiver, loopback
):
    endpoint_id, _ = _endpoint(world, receiver)
    queue = app.extensions["mls_jobs"]
    task = queue.webhook_task

    def broken(_delivery_id):
        raise ConnectionError("queue down")

    queue.webhook_task = broken
    try:
        _propose(world)
    finally:
        queue.webhook_task = task
    assert receiver.requests == []
    assert _deliveries(endpoint_id)[0].state is DeliveryState.PENDING
    # What the worker's sweeper runs (webhooks.deliver_due), here through its command.
    result = app.test_cli_runner().invoke(webhooks_cli, ["deliver"])
    assert "1 webhook delivery attempt(s)." in result.output
    assert len(receiver.requests) == 1


def test_endpoints_disable_themselves_after_repeated_failures(world, receiver, loopback, mailbox):
    endpoint_id, _ = _endpoint(world, receiver)
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    endpoint.consecutive_failures = webhooks.DISABLE_AFTER_FAILURES - 1
    db.session.commit()
    receiver.answers = [(400, {})]
    _propose(world)
    db.session.expire_all()
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    assert not endpoint.enabled and "20 failed deliveries" in endpoint.disabled_reason
    [message] = mailbox
    assert message["To"] == world.lead.email and receiver.url in text_of(message)


# ----------------------------------------------------------------------------- safety


def test_private_hosts_and_plain_http_are_refused_without_the_settings(world, receiver):
    with pytest.raises(ValidationFailed) as refused:
        webhooks.create_endpoint(world.lead, world.partnership.id, receiver.url, ALL)
    assert refused.value.field == "url"
    https_loopback = receiver.url.replace("http://", "https://")
    endpoint, _ = webhooks.create_endpoint(world.lead, world.partnership.id, https_loopback, ALL)
    _propose(world)
    [delivery] = _deliveries(endpoint.id)
    assert delivery.state is DeliveryState.FAILED and delivery.last_status is None
    assert "private address (127.0.0.1)" in delivery.last_error
    result = webhooks.send_test(world.lead, world.partnership.id, endpoint.id)
    assert result.state == "failed" and "private address" in result.error
    assert receiver.requests == []


def test_a_name_that_turns_private_after_the_check_is_refused_when_connecting(
    app, world, receiver, monkeypatch
):
    """DNS rebinding: the endpoint's name answers a public address when it is checked and the
    loopback (where the receiver listens) when the POST connects. Plain http is allowed here
    to reach the receiver; private hosts are not."""
    app.config.update(WEBHOOK_ALLOW_HTTP=True)
    port = urlsplit(receiver.url).port
    real = socket.getaddrinfo
    public = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    def at_the_check(host, *args, **kwargs):
        return public if host == "rebind.example" else real(host, *args, **kwargs)

    def at_the_connection(host, *args, **kwargs):
        return real("127.0.0.1" if host == "rebind.example" else host, *args, **kwargs)

    checking = SimpleNamespace(getaddrinfo=at_the_check, SOCK_STREAM=socket.SOCK_STREAM)
    monkeypatch.setattr(webhooks, "socket", checking)
    monkeypatch.setattr(socket, "getaddrinfo", at_the_connection)
    try:
        endpoint, _ = webhooks.create_endpoint(
            world.lead, world.partnership.id, f"http://rebind.example:{port}/hook", ALL
        )
        _propose(world)
    finally:
        app.config.update(WEBHOOK_ALLOW_HTTP=False)
    [delivery] = _deliveries(endpoint.id)
    assert delivery.state is DeliveryState.FAILED and delivery.last_status is None
    assert "rebind.example resolves to a private address (127.0.0.1)" in delivery.last_error
    assert receiver.requests == []


def test_only_leads_and_admins_manage_endpoints(world, receiver):
    for who in (world.provider, world.sponsor, world.viewer):
        with pytest.raises(PermissionDenied) as denied:
            webhooks.create_endpoint(who, world.partnership.id, "https://example.com/", ALL)
        assert not denied.value.hidden
    with pytest.raises(PermissionDenied) as hidden:
        webhooks.list_endpoints(world.outsider, world.partnership.id)
    assert hidden.value.hidden
    endpoint, _ = webhooks.create_endpoint(
        world.admin, world.partnership.id, "https://example.com/", ALL
    )
    assert [e.id for e in webhooks.list_endpoints(world.lead, world.partnership.id)] == [
        endpoint.id
    ]


# ----------------------------------------------------------------------------- pages


def test_a_lead_adds_an_endpoint_sees_the_secret_once_and_tests_it(
    client, world, receiver, loopback
):
    sign_in(client, world.lead.email)
    base = f"/partnerships/{world.partnership.id}/webhooks"
    token = csrf_token(client, f"{base}/new")
    refused = client.post(
        f"{base}/new", data={"csrf_token": token, "url": "ftp://x.example", "description": "ERP"}
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200
    assert re.search(r'id="url-error"[^>]*>\s*<div>Enter an https:// address', page)
    assert re.search(r'id="events-error"', page) is None  # one problem at a time, by field
    assert 'value="ERP"' in page, "what was typed is kept"
    response = client.post(
        f"{base}/new",
        data={"csrf_token": token, "url": receiver.url, "events": ["actual.proposed"]},
    )
    page = response.get_data(as_text=True)
    secret = re.search(r'id="secret"[^>]*>(whsec_[^<]+)<', page).group(1)
    endpoint = db.session.scalar(sa.select(WebhookEndpoint))
    assert endpoint.events == ["actual.proposed"] and secret not in endpoint.secret_encrypted
    show = f"{base}/{endpoint.id}"
    assert secret not in client.get(show).get_data(as_text=True)
    response = client.post(f"{show}/test", data={"csrf_token": token}, follow_redirects=True)
    assert "Test event delivered: HTTP 200" in page_text(response.get_data(as_text=True))
    [ping] = receiver.requests
    assert ping.headers["X-MLS-Event"] == "ping" and verify(secret, ping.headers, ping.body)
    # Rotating: a new secret signs, the old one no longer verifies.
    page = client.post(f"{show}/rotate", data={"csrf_token": token}).get_data(as_text=True)
    new_secret = re.search(r'id="secret"[^>]*>(whsec_[^<]+)<', page).group(1)
    client.post(f"{show}/test", data={"csrf_token": token})
    last = receiver.requests[-1]
    assert verify(new_secret, last.headers, last.body)
    assert not verify(secret, last.headers, last.body)
    # The audit log records the endpoint, never its secret.
    entries = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.object_type == "WebhookEndpoint")
    ).all()
    assert entries
    logged = json.dumps([entry.changes for entry in entries])
    assert "secret" not in logged and secret not in logged and receiver.url in logged


def test_the_delivery_log_is_newest_first_and_paginated(client, world, receiver, loopback):
    endpoint_id, _ = _endpoint(world, receiver)
    start = utcnow()
    for n in range(webhooks.PAGE_SIZE + 2):
        db.session.add(
            WebhookDelivery(
                endpoint_id=endpoint_id,
                event_type="actual.proposed",
                payload={"n": n},
                state=DeliveryState.DELIVERED,
                attempts=1,
                created_at=start + dt.timedelta(seconds=n),
                last_status=200 + n,
            )
        )
    db.session.commit()
    sign_in(client, world.lead.email)
    show = f"/partnerships/{world.partnership.id}/webhooks/{endpoint_id}"
    first = page_text(client.get(show).get_data(as_text=True))
    assert first.index(f"HTTP {200 + webhooks.PAGE_SIZE + 1}") < first.index("HTTP 202")
    assert "HTTP 201" not in first
    second = page_text(client.get(f"{show}?page=2").get_data(as_text=True))
    assert "HTTP 201" in second and "HTTP 200" in second


def test_disabling_and_deleting_from_the_pages(client, world, receiver, loopback):
    endpoint_id, _ = _endpoint(world, receiver)
    sign_in(client, world.lead.email)
    show = f"/partnerships/{world.partnership.id}/webhooks/{endpoint_id}"
    token = csrf_token(client, show)
    client.post(f"{show}/disable", data={"csrf_token": token})
    assert "Disabled by a lead." in client.get(show).get_data(as_text=True)
    _propose(world)
    assert receiver.requests == []
    client.post(f"{show}/enable", data={"csrf_token": token})
    _propose(world, "94", version=1)
    assert len(receiver.requests) == 1
    assert client.post(f"{show}/delete", data={"csrf_token": token}).status_code == 200
    response = client.post(f"{show}/delete", data={"csrf_token": token, "confirm": "delete"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(WebhookEndpoint.id))) == 0
    assert client.get(show).status_code == 404


def test_the_partnership_tabs_show_webhooks_to_leads_only(client, world):
    url = f"/partnerships/{world.partnership.id}/wins/"
    sign_in(client, world.lead.email)
    assert "Webhooks</a>" in client.get(url).get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, url)})
    sign_in(client, world.provider.email)
    assert "Webhooks</a>" not in client.get(url).get_data(as_text=True)


def test_payload_is_plain_json_of_the_documented_shape(world, receiver, loopback):
    _endpoint(world, receiver)
    _propose(world)
    body = receiver.requests[0].json
    assert set(body) == {"id", "type", "created_at", "partnership", "data"}
    assert body["data"]["state"] == MeasurementState.PROPOSED
    assert set(body["partnership"]) == {"id", "name"}
