"""Webhook deliveries that fail say why in plain words (the library's text stays in the server
log), an address the delivery code cannot even try is a refusal rather than a 500, and a lead
confirming a provider's survey import announces it (``survey_import.confirmed``)."""

from __future__ import annotations

import datetime as dt
import io
import logging
import socket
import ssl
import threading

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mls_tracker.extensions import db
from mls_tracker.models import WebhookDelivery, WebhookEndpoint
from mls_tracker.services import survey_import, webhooks
from tests import webhook_receiver
from tests.conftest import csrf_token, page_text, sign_in


@pytest.fixture
def loopback(app):
    app.config.update(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOW_PRIVATE_HOSTS=True)
    yield
    app.config.update(WEBHOOK_ALLOW_HTTP=False, WEBHOOK_ALLOW_PRIVATE_HOSTS=False)


def _endpoint(world, url: str, events=("actual.proposed",)) -> WebhookEndpoint:
    endpoint, _secret = webhooks.create_endpoint(
        world.lead, world.partnership.id, url, list(events), "ERP"
    )
    return endpoint


def _send_test(client, world, endpoint_id: int) -> str:
    """The lead presses "Send test event"; the page they land on, as text."""
    show = f"/partnerships/{world.partnership.id}/webhooks/{endpoint_id}"
    response = client.post(
        f"{show}/test", data={"csrf_token": csrf_token(client, show)}, follow_redirects=True
    )
    assert response.status_code == 200
    return page_text(response.get_data(as_text=True))


def _last_error(endpoint_id: int) -> str:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(WebhookDelivery.last_error)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc())
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_connection_is_said_plainly_and_detailed_in_the_log_only(
    client, world, loopback, caplog
):
    port = _closed_port()
    endpoint = _endpoint(world, f"http://127.0.0.1:{port}/hooks")
    sign_in(client, world.lead.email)
    with caplog.at_level(logging.WARNING, logger="mls_tracker.webhooks"):
        page = _send_test(client, world, endpoint.id)
    assert "Test event not delivered: Could not connect to the host." in page
    assert _last_error(endpoint.id) == "Could not connect to the host"
    log_page = page_text(
        client.get(f"/partnerships/{world.partnership.id}/webhooks/{endpoint.id}").get_data(
            as_text=True
        )
    )
    assert "Could not connect to the host" in log_page
    for raw in ("ConnectionError", "HTTPConnectionPool", "Errno", "Max retries"):
        assert raw not in log_page
    assert any("ConnectionError" in r.getMessage() for r in caplog.records)


def test_a_host_that_never_answers_times_out_in_words(world, loopback, monkeypatch):
    monkeypatch.setattr(webhooks, "TIMEOUT", (5, 0.3))
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        endpoint = _endpoint(world, f"http://127.0.0.1:{silent.getsockname()[1]}/hooks")
        attempt = webhooks.send_test(world.lead, world.partnership.id, endpoint.id)
    assert (attempt.state, attempt.status) == ("failed", None)
    assert attempt.error == "Timed out after 0.3 s waiting for the answer"


def _self_signed() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def test_a_certificate_nobody_vouches_for_is_said_plainly(world, loopback, tmp_path):
    cert, key = _self_signed()
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)

        def handshake() -> None:
            connection, _ = server.accept()
            try:
                context.wrap_socket(connection, server_side=True).close()
            except (ssl.SSLError, OSError):
                connection.close()  # the client refused our certificate: as expected

        thread = threading.Thread(target=handshake, daemon=True)
        thread.start()
        endpoint = _endpoint(world, f"https://127.0.0.1:{server.getsockname()[1]}/hooks")
        attempt = webhooks.send_test(world.lead, world.partnership.id, endpoint.id)
        thread.join(5)
    assert attempt.error == "TLS certificate not accepted"


def test_an_address_with_an_impossible_port_is_refused_not_a_500(client, world):
    sign_in(client, world.lead.email)
    new = f"/partnerships/{world.partnership.id}/webhooks/new"
    page = client.post(
        new,
        data={
            "csrf_token": csrf_token(client, new),
            "url": "https://hooks.example.com:99999/mls",
            "events": ["actual.proposed"],
        },
    ).get_data(as_text=True)
    assert 'id="url-error"' in page and "The port in the address is not a number" in page
    assert db.session.scalar(sa.select(sa.func.count(WebhookEndpoint.id))) == 0
    # One stored before this check existed: the test event says why, the page answers.
    endpoint = _endpoint(world, "https://hooks.example.com/mls")
    endpoint.url = "https://hooks.example.com:99999/mls"
    db.session.commit()
    page = _send_test(client, world, endpoint.id)
    assert "Test event not delivered: The port in the address is not a number" in page


def test_a_host_name_idna_refuses_is_a_refusal_not_a_500(client, world, caplog):
    endpoint = _endpoint(world, "https://" + "a" * 64 + ".example.com/mls")
    sign_in(client, world.lead.email)
    with caplog.at_level(logging.WARNING, logger="mls_tracker.webhooks"):
        page = _send_test(client, world, endpoint.id)
    assert "Test event not delivered: The host name could not be resolved." in page
    assert any("label" in r.getMessage() for r in caplog.records)  # the detail, logged


PROVIDER_FILE = (
    b"response_id,submitted_at,rating,comment\n"
    b"P1,2026-11-02T10:00:00,5,\n"
    b"P2,2026-11-03T10:00:00,4,\n"
)


def test_a_lead_confirming_a_providers_import_sends_survey_import_confirmed(
    client, world, loopback, monkeypatch
):
    monkeypatch.setattr(survey_import, "clock", lambda: dt.datetime(2027, 1, 15, tzinfo=dt.UTC))
    receiver, server = webhook_receiver.start()
    try:
        confirmed = _endpoint(world, receiver.url, ["survey_import.confirmed"])
        staged = survey_import.stage_upload(
            world.provider, world.partnership.id, io.BytesIO(PROVIDER_FILE), "november.csv"
        )
        mapping = survey_import.default_mapping(survey_import.open_staged(staged), None)
        record = survey_import.commit_upload(world.provider, staged, mapping)
        assert receiver.requests == []  # proposed: nothing confirmed yet
        sign_in(client, world.lead.email)
        history = f"/partnerships/{world.partnership.id}/satisfaction/imports/"
        response = client.post(
            f"{history}{record.id}/confirm", data={"csrf_token": csrf_token(client, history)}
        )
        assert response.status_code == 302
        [request] = receiver.requests
    finally:
        server.shutdown()
        server.server_close()
    assert request.headers["X-MLS-Event"] == "survey_import.confirmed"
    assert request.json["data"] == {
        "survey_import_id": record.id,
        "file_name": "november.csv",
        "file_format": "generic",
        "file_sha256": record.file_sha256,
        "rows_added": 2,
        "rows_skipped": 0,
        "state": "confirmed",
        "uploaded_by_id": world.provider.id,
        "confirmed_by_id": world.lead.id,
    }
    assert db.session.get(WebhookEndpoint, confirmed.id).events == ["survey_import.confirmed"]


def test_the_endpoint_form_offers_the_confirmed_event(client, world):
    sign_in(client, world.lead.email)
    page = client.get(f"/partnerships/{world.partnership.id}/webhooks/new").get_data(as_text=True)
    assert 'value="survey_import.confirmed"' in page
    assert "A lead confirms a provider&#39;s survey import" in page
