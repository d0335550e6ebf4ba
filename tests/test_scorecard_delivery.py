"""E-mailing issued scorecards to sponsors, end to end against a real SMTP server on loopback:
the message, its PDF, the personal acknowledgement link, refused recipients and resending."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import smtplib
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import url_for
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from mls_tracker import jobs
from mls_tracker.extensions import db
from mls_tracker.models import (
    DeliveryResult,
    Partnership,
    Review,
    ReviewKind,
    Scorecard,
    ScorecardDelivery,
    Side,
    User,
)
from mls_tracker.periods import Month
from mls_tracker.scorecards import delivery as delivery_service
from mls_tracker.scorecards.snapshot import dump
from mls_tracker.services.errors import PermissionDenied, ValidationFailed
from tests.conftest import csrf_token, sign_in, text_of
from tests.factories import create_region, create_sponsor
from tests.scorecard_samples import empty_data, sample_data

_PDF: bytes | None = None
OCTOBER = Month(2026, 10)


def small_pdf() -> bytes:
    """A real PDF, made once per run (WeasyPrint takes a moment to start)."""
    global _PDF
    if _PDF is None:
        import weasyprint

        _PDF = weasyprint.HTML(string="<p>Scorecard</p>").write_pdf()
    return _PDF


def issue_scorecard_row(
    partnership: Partnership,
    /,
    *,
    month: Month = OCTOBER,
    version: int = 1,
    issued_by: User | None = None,
    **overrides: Any,
) -> Scorecard:
    """A Review and an issued Scorecard of ``partnership``, as the issuing engine stores them."""
    review = db.session.scalar(
        sa.select(Review).where(
            Review.partnership_id == partnership.id, Review.first_month == month
        )
    )
    if review is None:
        review = Review(
            partnership_id=partnership.id,
            kind=ReviewKind.MONTHLY,
            first_month=month,
            last_month=month,
        )
        db.session.add(review)
        db.session.flush()
    pdf = small_pdf()
    scorecard = Scorecard(
        review_id=review.id,
        version=version,
        issued_by_id=issued_by.id if issued_by else None,
        sha256=hashlib.sha256(pdf).hexdigest(),
        pdf=pdf,
        snapshot=dump(sample_data(**overrides)),
    )
    db.session.add(scorecard)
    db.session.commit()
    return scorecard


def next_agenda_titles(world, today: dt.date) -> list[str]:
    """The titles of the agenda of a monthly meeting the lead plans for three days later."""
    from mls_tracker.services import meetings

    held_on = today + dt.timedelta(days=3)
    meeting = meetings.plan_meeting(
        world.lead,
        world.partnership,
        held_on=held_on,
        kind="monthly",
        reviewed_month=Month.of(held_on).previous(),
        today=today,
    )
    return [item.title for item in meeting.agenda_items]


@pytest.fixture
def sponsors(world):
    """Erika (EMEA client, world's) also sponsors APAC under the same address; Paul is the
    APAC provider sponsor; an ended sponsor and one without an address get nothing."""
    emea, apac = sorted(world.partnership.regions, key=lambda r: r.position)
    erika_apac = create_sponsor(world.partnership, apac, Side.CLIENT, "Erika Sponsor")
    erika_apac.email = "ERIKA@test.example "
    paul = create_sponsor(world.partnership, apac, Side.PROVIDER, "Paul Provider")
    create_sponsor(world.partnership, emea, Side.CLIENT, "Gone Sponsor", end=dt.date(2025, 6, 30))
    silent = create_sponsor(world.partnership, emea, Side.PROVIDER, "Silent Sponsor")
    silent.email = None
    db.session.commit()
    return {"emea": emea, "apac": apac, "paul": paul}


def _link(message: Message) -> str:
    match = re.search(r"https?://\S+/acknowledge/[\w.\-]+", text_of(message))
    assert match, "no acknowledgement link in the message"
    return match.group(0)


def _subject(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def _html_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError("the message has no text/html part")


def _pdf_parts(message: Message) -> list[Message]:
    return [part for part in message.walk() if part.get_content_type() == "application/pdf"]


def _to(messages: list[Message], email: str) -> Message:
    found = [m for m in messages if m["To"] == email]
    assert len(found) == 1, f"{len(found)} messages to {email}"
    return found[0]


def _send_as_lead(app, world, **kwargs) -> jobs.JobView:
    scorecard_id = kwargs.pop("scorecard_id")
    with app.test_request_context(base_url="https://mls.example"):
        job_id = delivery_service.submit_send(world.lead, scorecard_id, **kwargs)
    view = jobs.get(job_id)
    assert view is not None
    return view


# --- recipients ----------------------------------------------------------------------------


def test_one_recipient_per_address_with_every_region_they_sponsor(app, world, sponsors):
    scorecard = issue_scorecard_row(world.partnership)
    everyone = delivery_service.recipients(scorecard.review.partnership_id)
    assert [(r.email, r.name, r.regions) for r in everyone] == [
        ("erika@test.example", "Erika Sponsor", ("EMEA", "APAC")),
        ("paul@test.example", "Paul Provider", ("APAC",)),
    ]
    apac_only = delivery_service.recipients(scorecard.review.partnership_id, [sponsors["apac"].id])
    assert [(r.email, r.regions) for r in apac_only] == [
        ("erika@test.example", ("APAC",)),
        ("paul@test.example", ("APAC",)),
    ]
    assert (
        delivery_service.recipients(scorecard.review.partnership_id, [create_region("LATAM", 3).id])
        == []
    )


# --- the whole journey -----------------------------------------------------------------------


def test_sponsors_receive_the_scorecard_and_acknowledge_it(app, client, world, sponsors, mailbox):
    scorecard = issue_scorecard_row(world.partnership, issued_by=world.lead)
    view = _send_as_lead(app, world, scorecard_id=scorecard.id)
    assert view.state == "succeeded", view.error
    assert view.result == {"sent": 2, "failed": 0}
    assert len(mailbox) == 2

    message = _to(mailbox, "erika@test.example")
    subject = "Scorecard: Northwind Global Learning Partnership — October 2026 (version 1)"
    assert _subject(message) == subject
    text = text_of(message)
    assert "Hello Erika Sponsor," in text
    assert "sponsor for EMEA and APAC" in text
    assert "Health score: 75 / 100 — Amber (+3 points)" in text
    assert "- SLA attainment: 81.8% (+9.1 points)" in text
    assert "- Satisfaction (CSAT): 87.4% (+1.3 points)" in text
    assert "- Action plan health: 58.3% (−8.4 points)" in text
    assert "- Sponsor coverage: 75% (no change)" in text
    assert "- Frontline Manager Onboarding reaches 92% CSAT" in text
    assert "October was the strongest month of the year" in text
    assert "Service levels held" not in text  # the first paragraph only
    assert "ask Lead for a new one" in text
    html = _html_of(message)
    assert "Amber" in html and "81.8%" in html and "+9.1 points" in html

    (attachment,) = _pdf_parts(message)
    assert attachment.get_filename() == "global-learning-scorecard-2026-10-v1.pdf"
    data = attachment.get_payload(decode=True)
    assert data == scorecard.pdf
    assert hashlib.sha256(data).hexdigest() == scorecard.sha256

    link = _link(message)
    assert link.startswith("http://localhost:5000/acknowledge/")  # EXTERNAL_URL, not the Host
    assert link in html
    assert link != _link(_to(mailbox, "paul@test.example"))  # personal

    deliveries = db.session.scalars(
        sa.select(ScorecardDelivery).order_by(ScorecardDelivery.email)
    ).all()
    assert [(d.email, d.result, d.error) for d in deliveries] == [
        ("erika@test.example", DeliveryResult.SENT, None),
        ("paul@test.example", DeliveryResult.SENT, None),
    ]
    assert all(d.sent_at is not None for d in deliveries)

    # The link opens the scorecard without signing in.
    path = urlsplit(link).path
    page = client.get(path)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for expected in ("Northwind Global Learning Partnership", "October 2026", "version 1",
                     "Mark as reviewed", "Download the scorecard"):  # fmt: skip
        assert expected in body
    assert page.headers["Cache-Control"] == "no-store"
    download = client.get(f"{path}/scorecard.pdf")
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert download.data == scorecard.pdf
    assert download.headers["Cache-Control"] == "no-store"
    assert "global-learning-scorecard-2026-10-v1.pdf" in (download.headers["Content-Disposition"])

    answer = client.post(
        path,
        data={"csrf_token": csrf_token(client, path), "comment": "Good month — <b>thanks</b>"},
    )
    assert answer.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "Reviewed on" in page and "thank you" in page
    assert "Good month — &lt;b&gt;thanks&lt;/b&gt;" in page
    erika = db.session.scalar(
        sa.select(ScorecardDelivery).where(ScorecardDelivery.email == "erika@test.example")
    )
    db.session.refresh(erika)
    first_acknowledged = erika.acknowledged_at
    assert first_acknowledged is not None
    assert erika.comment == "Good month — <b>thanks</b>"
    assert erika.commented_at == first_acknowledged

    # The comment may be changed later; the first acknowledgement's time stays, the
    # comment's own time moves (so that it goes on the next agenda again).
    client.post(path, data={"csrf_token": csrf_token(client, path), "comment": "Second view"})
    db.session.refresh(erika)
    assert erika.comment == "Second view"
    assert erika.acknowledged_at == first_acknowledged
    assert erika.commented_at > first_acknowledged

    # …and it is on the next meeting's agenda.
    titles = next_agenda_titles(world, first_acknowledged.date())
    assert "Erika Sponsor (EMEA) on the October 2026 scorecard v1: “Second view”" in titles


def test_user_text_is_escaped_in_the_html_mail(app, world, sponsors, mailbox):
    world.partnership.name = "Learning <i>Co</i>"
    scorecard = issue_scorecard_row(
        world.partnership,
        executive_summary='We <script>alert("x")</script> & <b>bold</b> moved.\n\nMore.',
        partnership=dataclasses.replace(sample_data().partnership, name="Learning <i>Co</i>"),
    )
    assert _send_as_lead(app, world, scorecard_id=scorecard.id).state == "succeeded"
    message = _to(mailbox, "paul@test.example")
    html = _html_of(message)
    assert "<script>" not in html and "<i>Co</i>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "Learning &lt;i&gt;Co&lt;/i&gt;" in html
    # The plain-text body is text: shown as written.
    assert 'We <script>alert("x")</script> & <b>bold</b> moved.' in text_of(message)
    assert _subject(message).startswith("Scorecard: Learning <i>Co</i> — ")
    assert _pdf_parts(message)[0].get_filename() == "learning-i-co-i-scorecard-2026-10-v1.pdf"


def test_sending_to_chosen_regions_only(app, world, sponsors, mailbox):
    scorecard = issue_scorecard_row(world.partnership)
    view = _send_as_lead(app, world, scorecard_id=scorecard.id, region_ids=[sponsors["emea"].id])
    assert view.result == {"sent": 1, "failed": 0}
    assert [m["To"] for m in mailbox] == ["erika@test.example"]
    assert "sponsor for EMEA." in text_of(mailbox[0])


def test_from_the_command_line_links_use_the_configured_address(app, world, sponsors, mailbox):
    scorecard = issue_scorecard_row(world.partnership)
    progress: list[tuple[int, int, str]] = []
    deliveries = delivery_service.send_scorecard(
        None, scorecard, progress=lambda *step: progress.append(step)
    )
    assert len(deliveries) == 2
    assert all(_link(m).startswith("http://localhost:5000/acknowledge/") for m in mailbox)
    assert progress == [(1, 2, "Sent to Erika Sponsor"), (2, 2, "Sent to Paul Provider")]
    mailbox.clear()
    delivery_service.send_scorecard(None, scorecard, base_url="https://tracker.example/")
    assert all(_link(m).startswith("https://tracker.example/acknowledge/") for m in mailbox)


def test_a_job_that_has_nobody_to_send_to_fails_and_says_why(app, world, mailbox):
    scorecard = issue_scorecard_row(world.other)
    job_id = delivery_service.submit_send(world.outsider, scorecard.id)
    view = jobs.get(job_id)
    assert view is not None and view.state == "failed"
    assert "no active sponsor with an e-mail address" in view.error
    assert mailbox == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScorecardDelivery)) == 0


def test_only_a_lead_of_the_partnership_may_send(app, world, sponsors, mailbox):
    scorecard = issue_scorecard_row(world.partnership)
    for user in (world.provider, world.sponsor, world.viewer, world.outsider):
        with pytest.raises(PermissionDenied):
            delivery_service.submit_send(user, scorecard.id)
        with pytest.raises(PermissionDenied):
            delivery_service.send_scorecard(user, scorecard)
    delivery_service.send_scorecard(world.admin, scorecard)
    delivery = db.session.scalars(sa.select(ScorecardDelivery)).first()
    for user in (world.provider, world.outsider):
        with pytest.raises(PermissionDenied):
            delivery_service.submit_resend(user, delivery.id)
    assert len(mailbox) == 2  # the admin's sending only


# --- a recipient the server refuses ------------------------------------------------------------


class _Picky:
    """An SMTP server that refuses some addresses and counts connections."""

    def __init__(self) -> None:
        self.refused: set[str] = set()
        self.messages: list[Message] = []
        self.greetings = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        self.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address in self.refused:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = message_from_bytes(envelope.original_content or envelope.content)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture
def picky_server(app, monkeypatch) -> Iterator[_Picky]:
    handler = _Picky()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setattr(app.extensions["mail"], "port", port)
    try:
        yield handler
    finally:
        controller.stop()


def test_a_refused_recipient_is_recorded_and_can_be_resent(app, world, sponsors, picky_server):
    picky_server.refused = {"erika@test.example"}
    scorecard = issue_scorecard_row(world.partnership)
    view = _send_as_lead(app, world, scorecard_id=scorecard.id)
    assert view.state == "succeeded"
    assert view.result == {"sent": 1, "failed": 1}
    assert picky_server.greetings == 1  # one connection for the batch
    assert [m["To"] for m in picky_server.messages] == ["paul@test.example"]

    failed = db.session.scalar(
        sa.select(ScorecardDelivery).where(ScorecardDelivery.email == "erika@test.example")
    )
    assert failed.result == DeliveryResult.FAILED
    assert failed.sent_at is None
    assert "refused" in failed.error and "550" in failed.error
    assert "Mailbox unavailable" in failed.error

    picky_server.refused = set()
    with app.test_request_context(base_url="https://mls.example"):
        job_id = delivery_service.submit_resend(world.lead, failed.id)
    view = jobs.get(job_id)
    assert view is not None and view.result == {"sent": 1, "failed": 0}
    db.session.refresh(failed)
    assert failed.result == DeliveryResult.SENT and failed.error is None
    assert failed.sent_at is not None
    assert [m["To"] for m in picky_server.messages] == ["paul@test.example", "erika@test.example"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScorecardDelivery)) == 2


def test_when_the_server_refuses_everyone_the_job_fails_with_the_reason(
    app, world, sponsors, picky_server
):
    picky_server.refused = {"erika@test.example", "paul@test.example"}
    scorecard = issue_scorecard_row(world.partnership)
    view = _send_as_lead(app, world, scorecard_id=scorecard.id)
    assert view.state == "failed"
    assert view.error.startswith("Sent to nobody: the mail server refused all 2 messages")
    assert view.result == {"sent": 0, "failed": 2}
    results = db.session.scalars(sa.select(ScorecardDelivery.result)).all()
    assert results == [DeliveryResult.FAILED, DeliveryResult.FAILED]

    # Retrying the job once the server accepts them sends on the same rows, not new ones.
    picky_server.refused = set()
    jobs.retry(view.id)
    retried = jobs.get(view.id)
    assert retried is not None and retried.state == "succeeded"
    assert retried.result == {"sent": 2, "failed": 0}
    rows = db.session.scalars(sa.select(ScorecardDelivery).order_by(ScorecardDelivery.id)).all()
    assert [(d.email, d.result, d.error) for d in rows] == [
        ("erika@test.example", DeliveryResult.SENT, None),
        ("paul@test.example", DeliveryResult.SENT, None),
    ]


def test_an_unreachable_server_fails_each_recipient_with_the_reason(
    app, world, sponsors, monkeypatch
):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(app.extensions["mail"], "port", port)
    scorecard = issue_scorecard_row(world.partnership)
    deliveries = delivery_service.send_scorecard(world.lead, scorecard)
    assert [d.result for d in deliveries] == [DeliveryResult.FAILED] * 2
    assert all(f"Could not reach the mail server 127.0.0.1:{port}" in d.error for d in deliveries)


# --- links -----------------------------------------------------------------------------------


def sent_delivery(world) -> ScorecardDelivery:
    """A scorecard e-mailed to the world's sponsor (recorded as sent), for the link tests."""
    scorecard = issue_scorecard_row(world.partnership)
    delivery = ScorecardDelivery(
        scorecard_id=scorecard.id,
        sponsor_id=world.ids["sponsor_id"],
        email="erika@test.example",
        result=DeliveryResult.SENT,
    )
    db.session.add(delivery)
    db.session.commit()
    return delivery


def _signed(app, payload: Any, *, days_ago: int = 0) -> str:
    class Backdated(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - days_ago * 86400

    serializer = URLSafeTimedSerializer(
        app.config["SECRET_KEY"], salt="scorecard-acknowledgement", signer=Backdated
    )
    return serializer.dumps(payload)


def test_a_tampered_or_unknown_link_is_refused(app, client, world):
    delivery = sent_delivery(world)
    token = delivery_service.acknowledgement_token(delivery.id)
    assert delivery_service.delivery_for_token(token).id == delivery.id
    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    prefix = delivery.scorecard.sha256[:16]
    other_key = URLSafeTimedSerializer("another-secret", salt="scorecard-acknowledgement")
    for bad in (
        tampered,
        "not-a-real-token",
        _signed(app, [delivery.id + 1000, prefix]),  # no such delivery
        _signed(app, [delivery.id, "0" * 16]),  # another file's hash
        _signed(app, {"id": delivery.id}),  # not the shape we sign
        other_key.dumps([delivery.id, prefix]),
    ):
        with pytest.raises(delivery_service.InvalidAcknowledgement, match="This link is not valid"):
            delivery_service.delivery_for_token(bad)
        for url in (f"/acknowledge/{bad}", f"/acknowledge/{bad}/scorecard.pdf"):
            response = client.get(url)
            assert response.status_code == 404
            assert "This link is not valid" in response.get_data(as_text=True)
    token_of_form = csrf_token(client, "/login")
    response = client.post(
        f"/acknowledge/{tampered}", data={"csrf_token": token_of_form, "comment": "x"}
    )
    assert response.status_code == 404
    db.session.refresh(delivery)
    assert delivery.acknowledged_at is None


def test_an_expired_link_is_refused_and_says_whom_to_ask(app, client, world):
    delivery = sent_delivery(world)
    payload = [delivery.id, delivery.scorecard.sha256[:16]]
    assert delivery_service.delivery_for_token(_signed(app, payload, days_ago=29)).id == (
        delivery.id
    )
    old = _signed(app, payload, days_ago=31)
    with pytest.raises(delivery_service.InvalidAcknowledgement) as refused:
        delivery_service.delivery_for_token(old)
    assert refused.value.expired
    assert str(refused.value) == "This link has expired — ask Lead for a new one"
    response = client.get(f"/acknowledge/{old}")
    assert response.status_code == 410
    assert "This link has expired — ask Lead for a new one" in response.get_data(as_text=True)
    assert client.get(f"/acknowledge/{old}/scorecard.pdf").status_code == 410
    app.config["SCORECARD_ACK_MAX_AGE_DAYS"] = 60
    try:
        assert delivery_service.delivery_for_token(old).id == delivery.id
    finally:
        del app.config["SCORECARD_ACK_MAX_AGE_DAYS"]


def test_acknowledging_needs_the_form_token_and_a_short_comment(app, client, world):
    delivery = sent_delivery(world)
    path = f"/acknowledge/{delivery_service.acknowledgement_token(delivery.id)}"
    assert client.post(path, data={"comment": "no CSRF token"}).status_code == 400
    response = client.post(
        path, data={"csrf_token": csrf_token(client, path), "comment": "x" * 2001}
    )
    assert response.status_code == 200
    assert "Keep the comment to 2,000 characters." in response.get_data(as_text=True)
    db.session.refresh(delivery)
    assert delivery.acknowledged_at is None and delivery.comment is None
    with pytest.raises(ValidationFailed) as too_long:
        delivery_service.acknowledge(path.rsplit("/", 1)[1], "y" * 2001)
    assert too_long.value.field == "comment"

    # Without a comment: reviewed, and the page says so.
    assert client.post(path, data={"csrf_token": csrf_token(client, path)}).status_code == 302
    db.session.refresh(delivery)
    assert delivery.acknowledged_at is not None and delivery.comment is None
    assert "Reviewed on" in client.get(path).get_data(as_text=True)


def test_smtp_errors_in_words(app):
    refused = smtplib.SMTPRecipientsRefused({"a@x.example": (550, b"5.1.1 No such user")})
    assert delivery_service._smtp_reason(refused) == (
        "The mail server refused the address — a@x.example: 550 5.1.1 No such user"
    )
    data = smtplib.SMTPDataError(554, b"Message rejected as spam")
    assert delivery_service._smtp_reason(data) == (
        "The mail server answered 554 Message rejected as spam"
    )


def test_the_send_page_lets_only_leads_of_the_partnership_send(app, client, world, sponsors):
    scorecard = issue_scorecard_row(world.partnership)
    with app.test_request_context():
        own = url_for(
            "reviews.send", partnership_id=world.partnership.id, scorecard_id=scorecard.id
        )
        foreign = url_for("reviews.send", partnership_id=world.other.id, scorecard_id=scorecard.id)
    form = {"audience": "all", "send": "1"}
    for who, status in (("provider", 403), ("sponsor", 403), ("viewer", 403), ("outsider", 404)):
        user_client = app.test_client()
        sign_in(user_client, world.user(who).email)
        token = csrf_token(user_client, "/partnerships/")
        assert user_client.post(own, data={**form, "csrf_token": token}).status_code == status
        if who != "outsider":
            answer = user_client.post(foreign, data={**form, "csrf_token": token})
            assert answer.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScorecardDelivery)) == 0
    sign_in(client, world.lead.email)
    sent = client.post(own, data={**form, "csrf_token": csrf_token(client, own)})
    assert sent.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScorecardDelivery)) == 2


def test_a_scorecard_without_figures_says_so(app, world, sponsors, mailbox):
    empty = empty_data()
    scorecard = issue_scorecard_row(
        world.partnership,
        health=empty.health,
        tiles=empty.tiles,
        featured_wins=(),
        executive_summary="",
        previous_label=None,
    )
    assert _send_as_lead(app, world, scorecard_id=scorecard.id).state == "succeeded"
    text = text_of(_to(mailbox, "paul@test.example"))
    assert "Health score: no score this period" in text
    assert "- SLA attainment: No data (no earlier figure)" in text
    assert "Top wins" not in text and "Executive summary" not in text
    assert "No health score this period" in _html_of(_to(mailbox, "paul@test.example"))
