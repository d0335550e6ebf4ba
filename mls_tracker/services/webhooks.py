"""Webhooks: endpoints a lead registers, events written to an outbox in the transaction of the
change they announce, and their signed delivery with retries (README "Webhooks").

    webhooks.emit("actual.confirmed", partnership_id, {...})   # before the service's commit

``emit`` only adds delivery rows to the session: a rolled-back change announces nothing, a
committed one is never lost. After the commit the rows' ids are queued on the job queue;
whatever the queue lost, and every retry, is sent by ``deliver_due`` (run by the worker's
sweeper every JOB_SWEEP_SECONDS and by ``flask webhooks deliver``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
import sqlalchemy.orm as so
from cryptography.fernet import Fernet, InvalidToken
from flask import Flask, current_app
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from mls_tracker import access, jobs
from mls_tracker.access import Action
from mls_tracker.extensions import db
from mls_tracker.models import (
    CLOSED_STATUSES,
    ActionItem,
    DeliveryState,
    Partnership,
    SurveyImport,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from mls_tracker.services import inbox
from mls_tracker.services.errors import NotFound, ValidationFailed

log = logging.getLogger("mls_tracker.webhooks")

EVENTS = {
    "scorecard.issued": "A scorecard is issued",
    "action_item.overdue": "An action item becomes overdue",
    "actual.proposed": "An SLA actual is proposed",
    "actual.confirmed": "An SLA actual is confirmed",
    "survey_import.committed": "A survey import is committed",
    "survey_import.confirmed": "A lead confirms a provider's survey import",
}
PING = "ping"
# Attempt n (1-based) that fails is retried after BACKOFF[n-1]; the MAX_ATTEMPTS-th failure
# is final.
BACKOFF = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=6),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
MAX_RETRY_AFTER = dt.timedelta(hours=6)
# A delivery being sent is hidden from other senders for this long (a worker that dies
# mid-send is retried after it).
IN_FLIGHT = dt.timedelta(minutes=2)
DISABLE_AFTER_FAILURES = 20
TIMEOUT = (5, 10)  # connect, read (seconds)
PAGE_SIZE = 25


# ----------------------------------------------------------------------------- secrets


def _fernet() -> Fernet:
    # Derived from SECRET_KEY, so a database dump alone does not reveal the secrets; the
    # secrets must be readable (we sign with them), so they cannot be hashed.
    key = hashlib.sha256(b"mls-webhook-secret:" + current_app.config["SECRET_KEY"].encode())
    return Fernet(base64.urlsafe_b64encode(key.digest()))


def _new_secret() -> tuple[str, str]:
    secret = "whsec_" + secrets.token_urlsafe(32)
    return secret, _fernet().encrypt(secret.encode()).decode()


def _secret_of(endpoint: WebhookEndpoint) -> str:
    try:
        return _fernet().decrypt(endpoint.secret_encrypted.encode()).decode()
    except InvalidToken:
        raise DeliveryRefused(
            "The secret cannot be read (SECRET_KEY changed?): rotate the secret."
        ) from None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "timestamp.body">``, the X-MLS-Signature header."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


# ----------------------------------------------------------------------------- URL safety


class DeliveryRefused(Exception):
    """The delivery must not be attempted (unsafe address, unreadable secret)."""


def _allowed(name: str) -> bool:
    return bool(current_app.config.get(name))


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an endpoint, or None."""
    parts = urlsplit(url.strip())
    schemes = {"https", "http"} if _allowed("WEBHOOK_ALLOW_HTTP") else {"https"}
    if parts.scheme not in schemes or not parts.hostname:
        return "Enter an https:// address, for example https://hooks.example.com/mls."
    if parts.username or parts.password:
        return "Leave the user name and password out of the address."
    if len(url) > 500:
        return "The address is longer than 500 characters."
    try:
        parts.port  # noqa: B018 (reading it checks it: "https://host:99999/" raises)
    except ValueError:
        return "The port in the address is not a number from 1 to 65535."
    return None


def _check_host(url: str) -> None:
    """Refuses a host that resolves to a loopback, private, link-local, multicast or reserved
    address (unless WEBHOOK_ALLOW_PRIVATE_HOSTS): the server must not be made to call
    inside its own network."""
    problem = url_problem(url)
    if problem:
        raise DeliveryRefused(problem)
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:  # UnicodeError: a label IDNA refuses (too long …)
        log.warning("webhook host %r not resolved: %s", parts.hostname, error)
        raise DeliveryRefused("The host name could not be resolved.") from None
    if _allowed("WEBHOOK_ALLOW_PRIVATE_HOSTS"):
        return
    for info in infos:
        _refuse_private(info[4][0], parts.hostname)


def _refuse_private(address: str, host: str) -> None:
    ip = ipaddress.ip_address(address.split("%")[0])
    if not ip.is_global or ip.is_multicast:
        raise DeliveryRefused(f"Refused: {host} resolves to a private address ({ip}).")


# The name is resolved again when the POST connects, and a name can answer a public address to
# the check above and a private one a moment later (DNS rebinding): the address the connection
# is made to is checked too, before a byte is sent. (Through an outgoing proxy, set by the
# environment, the proxy connects instead: these checks are then the proxy's.)
class _PublicPeer:
    host: str

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        try:
            _refuse_private(sock.getpeername()[0], self.host)
        except DeliveryRefused:
            sock.close()
            raise
        return sock


class _PublicHTTPConnection(_PublicPeer, HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicPeer, HTTPSConnection):
    pass


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class _PublicOnly(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PublicHTTPPool,
            "https": _PublicHTTPSPool,
        }


def _session() -> requests.Session:
    """A session for one delivery: connecting only to public addresses unless
    WEBHOOK_ALLOW_PRIVATE_HOSTS."""
    session = requests.Session()
    if not _allowed("WEBHOOK_ALLOW_PRIVATE_HOSTS"):
        session.mount("http://", _PublicOnly())
        session.mount("https://", _PublicOnly())
    return session


# ----------------------------------------------------------------------------- emission


def _payload(
    event_type: str, partnership: Partnership, data: dict[str, Any], now: dt.datetime
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "created_at": now.isoformat().replace("+00:00", "Z"),
        "partnership": {"id": partnership.id, "name": partnership.name},
        "data": data,
    }


def emit(
    event_type: str,
    partnership_id: int,
    data: dict[str, Any],
    dedupe_key: str | None = None,
    created_before: dt.datetime | None = None,
) -> int:
    """Writes one delivery per enabled endpoint of the partnership subscribed to the event,
    in the caller's transaction (the caller commits); how many. With ``dedupe_key``, an
    endpoint that has had a delivery with that key gets none again; with ``created_before``,
    only endpoints registered before then get it."""
    inbox.on_event(event_type, partnership_id, data)  # the in-app notifications it brings
    query = sa.select(WebhookEndpoint).where(
        WebhookEndpoint.partnership_id == partnership_id, WebhookEndpoint.enabled.is_(True)
    )
    if created_before is not None:
        query = query.where(WebhookEndpoint.created_at < created_before)
    endpoints = db.session.scalars(query).all()
    endpoints = [e for e in endpoints if event_type in (e.events or [])]
    if not endpoints:
        return 0
    if dedupe_key is not None:
        done = set(
            db.session.scalars(
                sa.select(WebhookDelivery.endpoint_id).where(
                    WebhookDelivery.endpoint_id.in_([e.id for e in endpoints]),
                    WebhookDelivery.dedupe_key == dedupe_key,
                )
            )
        )
        endpoints = [e for e in endpoints if e.id not in done]
    partnership = db.session.get(Partnership, partnership_id)
    now = utcnow()
    payload = _payload(event_type, partnership, data, now)  # type: ignore[arg-type]
    for endpoint in endpoints:
        db.session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event_type=event_type,
                payload=payload,
                dedupe_key=dedupe_key,
                created_at=now,
                next_attempt_at=now,
            )
        )
    return len(endpoints)


@sa.event.listens_for(so.Session, "after_flush")
def _collect(session: so.Session, _context: Any) -> None:
    new = [obj.id for obj in session.new if isinstance(obj, WebhookDelivery)]
    jobs.queue_after_commit(session, "webhook_task", new, "the sweeper sends them")


# ----------------------------------------------------------------------------- delivery


@dataclass(frozen=True, slots=True)
class Attempt:
    state: str
    status: int | None
    error: str | None
    duration_ms: int


def _retry_after(response: requests.Response, now: dt.datetime) -> dt.timedelta | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        wait = dt.timedelta(seconds=int(value))
    else:
        try:
            wait = parsedate_to_datetime(value) - now
        except (TypeError, ValueError):
            return None
    return max(dt.timedelta(0), min(wait, MAX_RETRY_AFTER))


def delivery_error(error: requests.RequestException) -> str:
    """What the delivery log says of a failed request, in plain words: the exception's own
    text (addresses, library internals) goes to the server log only."""
    if isinstance(error, requests.exceptions.SSLError):
        if "certificate" in str(error).lower():
            return "TLS certificate not accepted"
        return "TLS connection failed"
    if isinstance(error, requests.ConnectTimeout):
        return f"Timed out after {TIMEOUT[0]} s connecting to the host"
    if isinstance(error, requests.ReadTimeout):
        return f"Timed out after {TIMEOUT[1]} s waiting for the answer"
    if isinstance(error, requests.ConnectionError):
        return "Could not connect to the host"
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema):
        return "The address is not a valid URL"
    if isinstance(
        error, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        return "The answer was cut off or could not be read"
    return "The request failed"


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: dt.datetime):
    """One POST; (status or None, error or None, retry-after or None, milliseconds)."""
    started = time.perf_counter()
    try:
        _check_host(endpoint.url)
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        timestamp = str(int(now.timestamp()))
        with _session() as session:
            response = session.post(
                endpoint.url,
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": "MLS-Tracker-Webhooks/1",
                    "X-MLS-Event": delivery.event_type,
                    "X-MLS-Delivery": str(delivery.id),
                    "X-MLS-Timestamp": timestamp,
                    "X-MLS-Signature": signature(_secret_of(endpoint), timestamp, body),
                },
                timeout=TIMEOUT,
                allow_redirects=False,
            )
            response.close()
    except DeliveryRefused as refused:
        return None, str(refused), None, _ms(started), True
    except requests.RequestException as error:
        log.warning(
            "webhook delivery %s to %s: %s: %s", delivery.id, endpoint.url,
            type(error).__name__, error,
        )  # fmt: skip
        return None, delivery_error(error), None, _ms(started), False
    return response.status_code, None, _retry_after(response, now), _ms(started), False


def _ms(started: float) -> int:
    return math.ceil((time.perf_counter() - started) * 1000)


def deliver(delivery_id: int, now: dt.datetime | None = None) -> Attempt | None:
    """Sends one pending delivery that is due, records the attempt, and schedules a retry or
    ends it; None when it is not due (or another sender has it)."""
    now = now or utcnow()
    claimed = db.session.execute(
        sa.update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.state == DeliveryState.PENDING,
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + IN_FLIGHT, attempts=WebhookDelivery.attempts + 1)
    ).rowcount
    db.session.commit()
    if claimed != 1:
        return None
    delivery = db.session.get(WebhookDelivery, delivery_id)
    assert delivery is not None
    endpoint = delivery.endpoint
    if not endpoint.enabled:  # disabled since it was queued: sent when enabled again
        delivery.attempts -= 1
        delivery.next_attempt_at = now
        db.session.commit()
        return None
    status, error, retry_after, duration, refused = _post(endpoint, delivery, now)
    delivery.last_attempt_at = now
    delivery.last_status = status
    delivery.last_error = error
    delivery.last_duration_ms = duration
    if status is not None and 200 <= status < 300:
        delivery.state = DeliveryState.DELIVERED
        delivery.next_attempt_at = None
        endpoint.consecutive_failures = 0
    else:
        retryable = not refused and (status is None or status >= 500 or status == 429)
        if retryable and delivery.attempts < MAX_ATTEMPTS:
            wait = BACKOFF[delivery.attempts - 1]
            delivery.next_attempt_at = now + (retry_after if retry_after is not None else wait)
        else:
            delivery.state = DeliveryState.FAILED
            delivery.next_attempt_at = None
        if delivery.event_type != PING:
            endpoint.consecutive_failures += 1
            if endpoint.consecutive_failures >= DISABLE_AFTER_FAILURES and endpoint.enabled:
                _auto_disable(endpoint)
    db.session.commit()
    log.info(
        "webhook delivery %s (%s) attempt %s: %s", delivery.id, delivery.event_type,
        delivery.attempts, status or error,
    )  # fmt: skip
    return Attempt(str(delivery.state), status, error, duration)


def _auto_disable(endpoint: WebhookEndpoint) -> None:
    from mls_tracker.services.mail import send_templated

    endpoint.enabled = False
    endpoint.disabled_reason = (
        f"Disabled after {DISABLE_AFTER_FAILURES} failed deliveries in a row."
    )
    owner = db.session.get(User, endpoint.created_by_id) if endpoint.created_by_id else None
    if owner is None or not owner.active:
        return
    try:
        send_templated(
            owner.email,
            "A webhook endpoint was disabled",
            "webhook_disabled",
            endpoint_url=endpoint.url,
            failures=DISABLE_AFTER_FAILURES,
        )
    except Exception:  # noqa: BLE001 — the endpoint is disabled either way; the page says so
        log.warning("could not e-mail %s about disabled endpoint %s", owner.email, endpoint.id)


def deliver_due(now: dt.datetime | None = None) -> int:
    """Sends every pending delivery that is due (retries, and any the queue lost); how many
    were attempted."""
    now = now or utcnow()
    ids = db.session.scalars(
        sa.select(WebhookDelivery.id)
        .join(WebhookEndpoint)
        .where(
            WebhookDelivery.state == DeliveryState.PENDING,
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.enabled.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(500)
    ).all()
    db.session.rollback()
    return sum(deliver(delivery_id, now) is not None for delivery_id in ids)


def init_app(app: Flask) -> None:
    """Registers the delivery task on the job queue and the periodic retry in the worker."""
    queue = app.extensions["mls_jobs"]

    @queue.huey.task(name="mls_tracker.deliver_webhook")
    def deliver_webhook(delivery_id: int) -> None:
        with app.app_context():
            try:
                deliver(delivery_id)
            except Exception:
                db.session.rollback()
                log.exception("webhook delivery %s: the attempt failed", delivery_id)

    queue.webhook_task = deliver_webhook
    jobs.every_sweep(deliver_due)


# ----------------------------------------------------------------------------- events


def announce_overdue_actions(today: dt.date) -> int:
    """``action_item.overdue`` for each open item past its due date (once per item and due
    date: the daily job may run twice); items that were overdue before an endpoint existed
    are not announced to it. Commits; how many deliveries were written."""
    rows = db.session.scalars(
        sa.select(ActionItem).where(
            ActionItem.status.not_in(CLOSED_STATUSES),
            ActionItem.due_on < today,
            ActionItem.partnership_id.in_(
                sa.select(WebhookEndpoint.partnership_id).where(WebhookEndpoint.enabled.is_(True))
            ),
        )
    ).all()
    written = 0
    for item in rows:
        overdue_since = item.due_on + dt.timedelta(days=1)
        written += _emit_overdue(item, overdue_since)
    db.session.commit()
    return written


def emit_survey_import(event_type: str, record: SurveyImport) -> int:
    """``survey_import.committed`` or ``survey_import.confirmed`` for an import (before the
    caller's commit, as every ``emit``)."""
    return emit(
        event_type,
        record.partnership_id,
        {
            "survey_import_id": record.id,
            "file_name": record.file_name,
            "file_format": str(record.file_format),
            "file_sha256": record.file_sha256,
            "rows_added": record.rows_added,
            "rows_skipped": record.rows_skipped,
            "state": str(record.state),
            "uploaded_by_id": record.uploaded_by_id,
            "confirmed_by_id": record.confirmed_by_id,
        },
    )


def _emit_overdue(item: ActionItem, overdue_since: dt.date) -> int:
    return emit(
        "action_item.overdue",
        item.partnership_id,
        {
            "action_item_id": item.id,
            "title": item.title,
            "due_on": item.due_on.isoformat(),
            "overdue_since": overdue_since.isoformat(),
            "status": str(item.status),
            "owner_side": str(item.owner_side),
            "owner_id": item.owner_id,
        },
        dedupe_key=f"action_item.overdue:{item.id}:{item.due_on.isoformat()}",
        created_before=dt.datetime.combine(overdue_since + dt.timedelta(days=1), dt.time(), dt.UTC),
    )


# ----------------------------------------------------------------------------- endpoints


@dataclass(frozen=True, slots=True)
class LogPage:
    rows: list[WebhookDelivery]
    page: int
    pages: int
    total: int


def _endpoint(actor: User, partnership_id: int, endpoint_id: int) -> WebhookEndpoint:
    access.require(actor, Action.MANAGE, partnership_id)
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.partnership_id != partnership_id:
        raise NotFound()
    return endpoint


def list_endpoints(actor: User, partnership_id: int) -> list[WebhookEndpoint]:
    access.require(actor, Action.MANAGE, partnership_id)
    return list(
        db.session.scalars(
            sa.select(WebhookEndpoint)
            .where(WebhookEndpoint.partnership_id == partnership_id)
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
    )


def get_endpoint(actor: User, partnership_id: int, endpoint_id: int) -> WebhookEndpoint:
    return _endpoint(actor, partnership_id, endpoint_id)


def _clean(url: str, events: list[str], description: str | None) -> tuple[str, list[str], str]:
    url = (url or "").strip()
    problem = url_problem(url)
    if problem:
        raise ValidationFailed(problem, field="url")
    chosen = [name for name in EVENTS if name in set(events or [])]
    if not chosen:
        raise ValidationFailed("Choose at least one event to receive.", field="events")
    return url, chosen, (description or "").strip()[:200]


def create_endpoint(
    actor: User, partnership_id: int, url: str, events: list[str], description: str | None = None
) -> tuple[WebhookEndpoint, str]:
    """Registers an endpoint; it and its secret, which is shown this once."""
    access.require(actor, Action.MANAGE, partnership_id)
    url, chosen, description = _clean(url, events, description)
    secret, encrypted = _new_secret()
    endpoint = WebhookEndpoint(
        partnership_id=partnership_id,
        url=url,
        description=description or None,
        events=chosen,
        secret_encrypted=encrypted,
        created_by_id=actor.id,
    )
    db.session.add(endpoint)
    db.session.commit()
    return endpoint, secret


def update_endpoint(
    actor: User,
    partnership_id: int,
    endpoint_id: int,
    url: str,
    events: list[str],
    description: str | None = None,
) -> WebhookEndpoint:
    endpoint = _endpoint(actor, partnership_id, endpoint_id)
    endpoint.url, endpoint.events, description = _clean(url, events, description)
    endpoint.description = description or None
    db.session.commit()
    return endpoint


def rotate_secret(actor: User, partnership_id: int, endpoint_id: int) -> str:
    """A new secret (shown once); the old one stops signing at once."""
    endpoint = _endpoint(actor, partnership_id, endpoint_id)
    secret, endpoint.secret_encrypted = _new_secret()
    db.session.commit()
    return secret


def set_enabled(actor: User, partnership_id: int, endpoint_id: int, enabled: bool) -> None:
    endpoint = _endpoint(actor, partnership_id, endpoint_id)
    endpoint.enabled = enabled
    endpoint.disabled_reason = None if enabled else "Disabled by a lead."
    if enabled:
        endpoint.consecutive_failures = 0
    db.session.commit()


def delete_endpoint(actor: User, partnership_id: int, endpoint_id: int) -> None:
    endpoint = _endpoint(actor, partnership_id, endpoint_id)
    db.session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.commit()


def send_test(actor: User, partnership_id: int, endpoint_id: int) -> Attempt:
    """Sends a ``ping`` at once (whether or not the endpoint is enabled) and says how it went;
    a ping is never retried."""
    endpoint = _endpoint(actor, partnership_id, endpoint_id)
    partnership = db.session.get(Partnership, partnership_id)
    now = utcnow()
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        event_type=PING,
        payload=_payload(PING, partnership, {"endpoint_id": endpoint.id}, now),  # type: ignore[arg-type]
        state=DeliveryState.PENDING,
        created_at=now,
        next_attempt_at=None,  # sent here, not by the queue
    )
    db.session.add(delivery)
    db.session.flush()
    jobs.not_after_commit(db.session, "webhook_task", [delivery.id])  # sent here, now
    status, error, _retry, duration, _refused = _post(endpoint, delivery, now)
    ok = status is not None and 200 <= status < 300
    delivery.attempts = 1
    delivery.state = DeliveryState.DELIVERED if ok else DeliveryState.FAILED
    delivery.last_attempt_at = now
    delivery.last_status, delivery.last_error, delivery.last_duration_ms = status, error, duration
    db.session.commit()
    return Attempt(str(delivery.state), status, error, duration)


def redeliver(actor: User, partnership_id: int, endpoint_id: int, delivery_id: int) -> None:
    """Queues a failed delivery again, as a fresh series of attempts."""
    endpoint = _endpoint(actor, partnership_id, endpoint_id)
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound()
    if delivery.state is not DeliveryState.FAILED or delivery.event_type == PING:
        raise ValidationFailed("Only a failed event delivery can be sent again.")
    delivery.state = DeliveryState.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    db.session.commit()
    task = current_app.extensions["mls_jobs"].webhook_task
    try:
        task(delivery.id)
    except Exception:  # pending and due: the sweeper sends it
        log.warning("webhook delivery %s not queued; the sweeper sends it", delivery_id)


def delivery_log(actor: User, partnership_id: int, endpoint_id: int, page: int = 1) -> LogPage:
    """The endpoint's deliveries, newest first, a page at a time."""
    endpoint = _endpoint(actor, partnership_id, endpoint_id)
    total = db.session.scalar(
        sa.select(sa.func.count(WebhookDelivery.id)).where(
            WebhookDelivery.endpoint_id == endpoint.id
        )
    )
    pages = max(1, math.ceil((total or 0) / PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = db.session.scalars(
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return LogPage(list(rows), page, pages, total or 0)
