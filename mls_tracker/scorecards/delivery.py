"""E-mailing an issued scorecard to the partnership's sponsors, and their acknowledgement links.

``submit_send`` / ``submit_resend`` queue a ``scorecard_send`` job that runs ``send_scorecard``:
one ``ScorecardDelivery`` per recipient (one per e-mail address), one SMTP connection for the
batch, each recipient's result recorded, a refused address never stopping the others. Each
message carries the PDF (the stored bytes) and a personal link, signed with itsdangerous over
the delivery id and the scorecard's hash, that opens the acknowledgement page without signing
in (``acknowledgements/routes.py``). Sponsors' comments reach the next meeting's agenda
(``services/agenda.scorecard_comments_section``).

Settings: ``SCORECARD_ACK_MAX_AGE_DAYS`` (default 30) — how long a link works.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, url_for
from flask_mail import Message
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from mls_tracker import access, formatting, jobs
from mls_tracker.access import Action
from mls_tracker.audit import acting_as
from mls_tracker.exports import slug as slug_of
from mls_tracker.extensions import db, mail
from mls_tracker.models import (
    DeliveryResult,
    Membership,
    Partnership,
    Region,
    Role,
    Scorecard,
    ScorecardDelivery,
    Sponsor,
    User,
    normalise_email,
    utcnow,
)
from mls_tracker.periods import Month, utc_today
from mls_tracker.scorecards.snapshot import ScorecardData, Tile, load
from mls_tracker.services.errors import DomainError, ValidationFailed
from mls_tracker.services.mail import external_links, templated_message

SEND_JOB = "scorecard_send"
LINK_SALT = "scorecard-acknowledgement"
DEFAULT_MAX_AGE_DAYS = 30
COMMENT_MAX_LENGTH = 2000
# The part of the scorecard's SHA-256 a link carries: enough to tell versions apart.
HASH_PREFIX = 16
TOP_WINS = 3
SEND_MESSAGE = "Only a lead of this partnership can send its scorecard."

Progress = Callable[[int, int, str], None]


class InvalidAcknowledgement(DomainError):
    """An acknowledgement link that cannot be used. ``expired`` (too old) and ``ended`` (the
    sponsorship it was sent for is over) are answered 410, anything else 404."""

    def __init__(self, message: str, *, expired: bool = False, ended: bool = False) -> None:
        super().__init__(message)
        self.expired = expired
        self.ended = ended

    @property
    def gone(self) -> bool:
        """The link was good once: the page says whom to ask rather than "not valid"."""
        return self.expired or self.ended


@dataclass(frozen=True, slots=True)
class Recipient:
    """One e-mail address: the sponsor (first by region order) and every region it covers."""

    email: str
    name: str
    sponsor_id: int
    regions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TileSummary:
    label: str
    value: str  # "87.5%", "No data"
    change: str  # "+2.5 points", "no change", "no earlier figure"


@dataclass(frozen=True, slots=True)
class WinSummary:
    title: str
    impact: str | None
    won_on: dt.date


@dataclass(frozen=True, slots=True)
class ScorecardSummary:
    """What the e-mail and the acknowledgement page say about a scorecard: plain values."""

    partnership: str
    client: str
    provider: str
    period: str
    version: int
    issued_on: dt.date
    health_score: int | None
    rag: str | None  # "green" | "amber" | "red"
    rag_word: str  # "Green", "Not enough data"
    health_change: str
    compared_with: str | None
    tiles: tuple[TileSummary, ...]
    wins: tuple[WinSummary, ...]
    summary_paragraph: str
    filename: str
    # Why the figures are provisional (SLA actuals not confirmed when issued), or None.
    provisional: str | None = None


# --- recipients --------------------------------------------------------------------------


def _scorecard(scorecard_id: int) -> Scorecard:
    # The PDF is read only when attaching it, not to list recipients.
    scorecard = db.session.get(
        Scorecard, scorecard_id, options=[so.joinedload(Scorecard.review), so.defer(Scorecard.pdf)]
    )
    if scorecard is None:
        raise ValidationFailed("This scorecard does not exist.")
    return scorecard


def recipients(partnership_id: int, region_ids: Sequence[int] | None = None) -> list[Recipient]:
    """The partnership's sponsors active today (both sides) with an e-mail address, all or
    those of the given regions; one per address, in region order."""
    today = utc_today()
    query = (
        sa.select(Sponsor)
        .join(Region, Sponsor.region_id == Region.id)
        .options(so.contains_eager(Sponsor.region))
        .where(
            Sponsor.partnership_id == partnership_id,
            Sponsor.email.is_not(None),
            Sponsor.email != "",
            Sponsor.start_date <= today,
            sa.or_(Sponsor.end_date.is_(None), Sponsor.end_date >= today),
        )
        .order_by(Region.position, Region.name, Sponsor.side, Sponsor.name, Sponsor.id)
    )
    if region_ids is not None:
        query = query.where(Sponsor.region_id.in_(list(region_ids)))
    by_email: dict[str, tuple[Sponsor, list[str]]] = {}
    for sponsor in db.session.scalars(query):
        email = normalise_email(sponsor.email or "")
        first, regions = by_email.setdefault(email, (sponsor, []))
        if sponsor.region.name not in regions:
            regions.append(sponsor.region.name)
    return [
        Recipient(email=email, name=sponsor.name, sponsor_id=sponsor.id, regions=tuple(regions))
        for email, (sponsor, regions) in by_email.items()
    ]


# --- the summary -------------------------------------------------------------------------


def _tile_value(tile: Tile) -> str:
    if tile.value is None:
        return "No data"
    # A mean rating scaled to 0–100 is not a share: "82 of 100", not "82%".
    text = (
        formatting.percent(tile.value)
        if tile.unit == "%"
        else f"{formatting.number(tile.value)} of 100"
    )
    return f"{text} (low sample)" if tile.low_sample else text


def _change(value: float | None, previous: float | None) -> str:
    """ "+9.1 points", "no change", "no earlier figure": formatting's words, in a sentence."""
    return formatting.change(value, previous).amount


def first_paragraph(text: str) -> str:
    """The executive summary's first paragraph, its lines joined."""
    for paragraph in re.split(r"\n\s*\n", (text or "").strip()):
        if paragraph.strip():
            return " ".join(line.strip() for line in paragraph.strip().splitlines())
    return ""


def period_slug(first: Month, last: Month) -> str:
    """ "2026-10" for a month, "2026-Q3" for a calendar quarter, else "2026-07-to-2026-09"."""
    if first == last:
        return str(first)
    if first.month % 3 == 1 and first.shift(2) == last:
        return f"{first.year}-Q{(first.month + 2) // 3}"
    return f"{first}-to-{last}"


def scorecard_filename(partnership_name: str, first: Month, last: Month, version: int) -> str:
    return f"{slug_of(partnership_name)}-scorecard-{period_slug(first, last)}-v{version}.pdf"


def summarise(scorecard: Scorecard) -> ScorecardSummary:
    """The scorecard's cover in a few plain values, from its snapshot."""
    data: ScorecardData = load(scorecard.snapshot)
    health = data.health
    return ScorecardSummary(
        partnership=data.partnership.name,
        client=data.partnership.client,
        provider=data.partnership.provider,
        period=data.period.label,
        version=scorecard.version,
        issued_on=scorecard.issued_at.date(),
        health_score=health.score,
        rag=health.rag,
        rag_word=health.rag.capitalize() if health.rag else "Not enough data",
        health_change=_change(
            None if health.score is None else float(health.score),
            None if health.previous is None else float(health.previous),
        ),
        compared_with=data.previous_label,
        tiles=tuple(
            TileSummary(tile.label, _tile_value(tile), _change(tile.value, tile.previous))
            for tile in data.tiles
        ),
        wins=tuple(
            WinSummary(win.title, win.impact, win.won_on) for win in data.featured_wins[:TOP_WINS]
        ),
        summary_paragraph=first_paragraph(data.executive_summary),
        # The archive's download (reviews.download_scorecard) names the file the same way.
        filename=scorecard_filename(
            db.session.get_one(Partnership, scorecard.review.partnership_id).name,
            scorecard.review.first_month,
            scorecard.review.last_month,
            scorecard.version,
        ),
        provisional=data.provisional,
    )


def subject_of(summary: ScorecardSummary) -> str:
    # A line break in a name would be a header injection: Flask-Mail refuses such messages.
    subject = f"Scorecard: {summary.partnership} — {summary.period} (version {summary.version})"
    if summary.provisional:
        subject = f"Provisional scorecard: {summary.partnership} — {summary.period} " + (
            f"(version {summary.version})"
        )
    return " ".join(subject.split())


# --- links -------------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=LINK_SALT)


def max_age_days() -> int:
    return int(current_app.config.get("SCORECARD_ACK_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS))


def acknowledgement_token(delivery_id: int) -> str:
    """The signed token of a delivery's acknowledgement link."""
    delivery = db.session.get(ScorecardDelivery, delivery_id)
    if delivery is None:
        raise ValidationFailed("This delivery does not exist.")
    return _token(delivery.id, delivery.scorecard.sha256)


def _token(delivery_id: int, scorecard_sha256: str) -> str:
    return _serializer().dumps([delivery_id, scorecard_sha256[:HASH_PREFIX]])


def lead_name(partnership_id: int) -> str:
    """Whom a sponsor asks for a new link: the partnership's first lead."""
    name = db.session.scalar(
        sa.select(User.display_name)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.partnership_id == partnership_id,
            Membership.role == Role.LEAD,
            User.active.is_(True),
        )
        .order_by(Membership.id)
        .limit(1)
    )
    return name or "the partnership's lead"


def _delivery_of(payload: Any) -> ScorecardDelivery | None:
    if not (
        isinstance(payload, list)
        and len(payload) == 2
        and isinstance(payload[0], int)
        and isinstance(payload[1], str)
    ):
        return None
    delivery = db.session.get(
        ScorecardDelivery,
        payload[0],
        options=[
            so.joinedload(ScorecardDelivery.scorecard)
            .defer(Scorecard.pdf)
            .joinedload(Scorecard.review)
        ],
    )
    if delivery is None or delivery.scorecard.sha256[:HASH_PREFIX] != payload[1]:
        return None
    return delivery


def delivery_for_token(token: str) -> ScorecardDelivery:
    """The delivery a link belongs to; ``InvalidAcknowledgement`` if it was altered, names
    nothing that exists, or has expired."""
    serializer = _serializer()
    invalid = InvalidAcknowledgement("This link is not valid")
    try:
        payload = serializer.loads(token, max_age=max_age_days() * 86400)
    except SignatureExpired as expired:
        # The signature is good, only old: the payload can be trusted to name the lead.
        try:
            delivery = _delivery_of(serializer.load_payload(expired.payload))
        except BadData:
            delivery = None
        if delivery is None:
            raise invalid from None
        lead = lead_name(delivery.scorecard.review.partnership_id)
        raise InvalidAcknowledgement(
            f"This link has expired — ask {lead} for a new one", expired=True
        ) from None
    except BadData:
        raise invalid from None
    delivery = _delivery_of(payload)
    if delivery is None:
        raise invalid
    _require_active_sponsor(delivery, utc_today())
    return delivery


def _require_active_sponsor(delivery: ScorecardDelivery, day: dt.date) -> None:
    """Refuse a link once the person it was sent to no longer sponsors the partnership on
    ``day``: neither the delivery's sponsorship nor another one of the same address in the
    same partnership (one e-mail covers every region a person sponsors) is active then."""
    partnership_id = delivery.scorecard.review.partnership_id
    email = normalise_email(delivery.email)
    sponsorships = [
        sponsor
        for sponsor in db.session.scalars(
            sa.select(Sponsor).where(Sponsor.partnership_id == partnership_id)
        )
        if sponsor.id == delivery.sponsor_id or normalise_email(sponsor.email or "") == email
    ]
    if any(sponsor.is_active_on(day) for sponsor in sponsorships):
        return
    ends = [s.end_date for s in sponsorships if s.end_date is not None and s.end_date < day]
    what = f"ended on {max(ends).day} {max(ends):%B %Y}" if ends else "is no longer active"
    lead = lead_name(partnership_id)
    raise InvalidAcknowledgement(
        f"This link has ended — the sponsorship it was sent for {what}; "
        f"ask {lead} if you still need this scorecard",
        ended=True,
    )


def mark_read(delivery: ScorecardDelivery) -> ScorecardDelivery:
    """Notes when the sponsor first opened the scorecard (the link's page or PDF, or the
    app's): later openings change nothing."""
    if delivery.read_at is None:
        delivery.read_at = utcnow()
        db.session.commit()
    return delivery


def acknowledge(token: str, comment: str | None) -> ScorecardDelivery:
    """Marks the delivery reviewed (the first time counts) and keeps the latest comment."""
    return record_acknowledgement(delivery_for_token(token), comment)


def record_acknowledgement(delivery: ScorecardDelivery, comment: str | None) -> ScorecardDelivery:
    """The acknowledgement itself, through the e-mailed link or in the app: the first one
    counts, the latest comment is kept and an edited one is dated again (so it goes on the
    next agenda again); acknowledging implies having read it."""
    text = (comment or "").strip()
    if len(text) > COMMENT_MAX_LENGTH:
        raise ValidationFailed(
            f"Keep the comment to {COMMENT_MAX_LENGTH:,} characters (it has {len(text):,}).",
            field="comment",
        )
    now = utcnow()
    if delivery.acknowledged_at is None:
        delivery.acknowledged_at = now
    if delivery.read_at is None:
        delivery.read_at = now
    if (text or None) != delivery.comment:
        delivery.comment = text or None
        delivery.commented_at = now if text else None
    db.session.commit()
    return delivery


# --- sending -----------------------------------------------------------------------------


def _smtp_reason(error: Exception) -> str:
    """An SMTP failure in words, for the delivery list."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        parts = [
            f"{address}: {code} {_text(message)}"
            for address, (code, message) in error.recipients.items()
        ]
        return "The mail server refused the address — " + "; ".join(parts)
    if isinstance(error, smtplib.SMTPResponseException):
        return f"The mail server answered {error.smtp_code} {_text(error.smtp_error)}"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"The mail server closed the connection: {error}"
    if isinstance(error, smtplib.SMTPException):  # a subclass of OSError: tested first
        return f"The message could not be sent: {error}"
    if isinstance(error, OSError):
        state = current_app.extensions["mail"]
        return (
            f"Could not reach the mail server {state.server}:{state.port}: "
            f"{error.strerror or error}"
        )
    return f"The message could not be sent: {error}"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class _Batch:
    """One SMTP connection for the batch, opened lazily and opened again after the server
    drops it, so that one failure does not fail every recipient after it."""

    def __init__(self) -> None:
        self._connection: Any = None

    def send(self, message: Message) -> None:
        if self._connection is None:
            connection = mail.connect()
            connection.__enter__()
            self._connection = connection
        try:
            self._connection.send(message)
        except smtplib.SMTPServerDisconnected:
            self._drop()
            raise
        except smtplib.SMTPException:
            raise  # a refusal: smtplib has reset the session, the connection goes on
        except OSError:  # the socket itself failed
            self._drop()
            raise

    def _drop(self) -> None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            if self._connection is not None and self._connection.host is not None:
                self._connection.host.close()
        self._connection = None

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._connection.__exit__(None, None, None)
            self._connection = None


def _message(
    delivery: ScorecardDelivery,
    summary: ScorecardSummary,
    recipient: Recipient,
    scorecard: Scorecard,
    lead: str,
) -> Message:
    link = url_for(
        "acknowledgements.show", token=_token(delivery.id, scorecard.sha256), _external=True
    )
    context = {
        "summary": summary,
        "recipient_name": recipient.name,
        "regions": recipient.regions,
        "link": link,
        "valid_days": max_age_days(),
        "lead": lead,
    }
    message = templated_message(delivery.email, subject_of(summary), "scorecard", **context)
    message.attach(summary.filename, "application/pdf", scorecard.pdf)
    return message


def _resend_targets(
    scorecard: Scorecard, delivery_ids: Sequence[int]
) -> list[tuple[ScorecardDelivery, Recipient]]:
    deliveries = list(
        db.session.scalars(
            sa.select(ScorecardDelivery)
            .where(
                ScorecardDelivery.id.in_(list(delivery_ids)),
                ScorecardDelivery.scorecard_id == scorecard.id,
            )
            .order_by(ScorecardDelivery.id)
        )
    )
    if len(deliveries) != len(set(delivery_ids)):
        raise ValidationFailed("Some of these deliveries do not belong to this scorecard.")
    current = {r.email: r for r in recipients(scorecard.review.partnership_id)}
    targets = []
    for delivery in deliveries:
        recipient = current.get(normalise_email(delivery.email))
        if recipient is None:  # no longer an active sponsor: say who it was
            sponsor = delivery.sponsor
            recipient = Recipient(
                email=delivery.email,
                name=sponsor.name if sponsor else delivery.email,
                sponsor_id=sponsor.id if sponsor else 0,
                regions=(sponsor.region.name,) if sponsor else (),
            )
        targets.append((delivery, recipient))
    return targets


def send_scorecard(
    user: User | None,
    scorecard: Scorecard,
    *,
    region_ids: Sequence[int] | None = None,
    delivery_ids: Sequence[int] | None = None,
    progress: Progress | None = None,
    base_url: str | None = None,
) -> list[ScorecardDelivery]:
    """E-mails the scorecard to each recipient (or again to ``delivery_ids``) and records how
    each went: the stored scorecard (issuing's output) goes out as it is. ``user`` None: the
    command line, which has no one to check."""
    partnership_id = scorecard.review.partnership_id
    if user is not None:
        access.require(user, Action.MANAGE, partnership_id, message=SEND_MESSAGE)
    if delivery_ids:
        targets = _resend_targets(scorecard, delivery_ids)
        for delivery, _ in targets:
            delivery.result, delivery.error = DeliveryResult.PENDING, None
    else:
        chosen = recipients(partnership_id, region_ids)
        if not chosen:
            where = " in the chosen regions" if region_ids is not None else ""
            raise ValidationFailed(
                "Sent to nobody: this partnership has no active sponsor with an e-mail "
                f"address{where}. Add their e-mail addresses on the Sponsors page."
            )
        # A recipient whose earlier attempt failed keeps their row (sending again, e.g. a
        # retried job, must not list them twice); one already sent to gets a new row.
        unsent = {
            normalise_email(d.email): d
            for d in db.session.scalars(
                sa.select(ScorecardDelivery)
                .where(
                    ScorecardDelivery.scorecard_id == scorecard.id,
                    ScorecardDelivery.result != DeliveryResult.SENT,
                )
                .order_by(ScorecardDelivery.id)
            )
        }
        targets = []
        for recipient in chosen:
            delivery = unsent.get(recipient.email) or ScorecardDelivery(
                scorecard_id=scorecard.id, email=recipient.email
            )
            delivery.sponsor_id = recipient.sponsor_id
            delivery.result, delivery.error = DeliveryResult.PENDING, None
            db.session.add(delivery)
            targets.append((delivery, recipient))
    # The pending rows are committed before talking to the mail server: SQLite's write lock
    # is not held across network calls, and a worker that dies mid-batch leaves a visible
    # "pending" rather than nothing.
    db.session.commit()
    summary = summarise(scorecard)
    lead = lead_name(partnership_id)
    batch = _Batch()
    outcomes: list[tuple[ScorecardDelivery, str | None]] = []
    try:
        with external_links(base_url):
            for done, (delivery, recipient) in enumerate(targets, start=1):
                try:
                    batch.send(_message(delivery, summary, recipient, scorecard, lead))
                except (smtplib.SMTPException, OSError) as error:
                    reason = _smtp_reason(error)
                    current_app.logger.warning(
                        "Scorecard %s to %s failed: %s", scorecard.id, delivery.email, reason
                    )
                    outcomes.append((delivery, reason))
                    note = f"Could not send to {recipient.name}"
                else:
                    outcomes.append((delivery, None))
                    note = f"Sent to {recipient.name}"
                if progress is not None:
                    progress(done, len(targets), note)
    finally:
        batch.close()
    now = utcnow()
    for delivery, reason in outcomes:
        if reason is None:
            delivery.result, delivery.sent_at, delivery.error = DeliveryResult.SENT, now, None
        else:
            delivery.result, delivery.error = DeliveryResult.FAILED, reason
    db.session.commit()
    return [delivery for delivery, _ in targets]


def submit_send(user: User, scorecard_id: int, *, region_ids: Sequence[int] | None = None) -> int:
    """Queues the e-mailing of a scorecard; the job's id."""
    scorecard = _scorecard(scorecard_id)
    access.require(user, Action.MANAGE, scorecard.review.partnership_id, message=SEND_MESSAGE)
    return jobs.submit(
        SEND_JOB,
        partnership_id=scorecard.review.partnership_id,
        user_id=user.id,
        params={
            "scorecard_id": scorecard.id,
            "region_ids": None if region_ids is None else [int(r) for r in region_ids],
            "delivery_ids": None,
            "base_url": None,  # links from EXTERNAL_URL, never the request's Host
        },
    )


def submit_resend(user: User, delivery_id: int) -> int:
    """Queues sending a scorecard again to one recipient (after a failure, or a lost mail)."""
    delivery = db.session.get(ScorecardDelivery, delivery_id)
    if delivery is None:
        raise ValidationFailed("This delivery does not exist.")
    return _submit_resend(user, delivery.scorecard, [delivery.id])


def submit_resend_failed(user: User, scorecard_id: int) -> int:
    """Queues sending a scorecard again to every recipient it failed to reach."""
    scorecard = _scorecard(scorecard_id)
    failed = db.session.scalars(
        sa.select(ScorecardDelivery.id)
        .where(
            ScorecardDelivery.scorecard_id == scorecard.id,
            ScorecardDelivery.result == DeliveryResult.FAILED,
        )
        .order_by(ScorecardDelivery.id)
    ).all()
    if not failed:
        raise ValidationFailed("Every recipient has this scorecard: nothing to send again.")
    return _submit_resend(user, scorecard, list(failed))


def _submit_resend(user: User, scorecard: Scorecard, delivery_ids: list[int]) -> int:
    partnership_id = scorecard.review.partnership_id
    access.require(user, Action.MANAGE, partnership_id, message=SEND_MESSAGE)
    return jobs.submit(
        SEND_JOB,
        partnership_id=partnership_id,
        user_id=user.id,
        params={
            "scorecard_id": scorecard.id,
            "region_ids": None,
            "delivery_ids": delivery_ids,
            "base_url": None,  # links from EXTERNAL_URL, never the request's Host
        },
    )


@jobs.handler(SEND_JOB)
def run_send(ctx: jobs.JobContext) -> dict[str, Any]:
    user = ctx.acting_user()
    with acting_as(ctx.user_id):
        deliveries = send_scorecard(
            user,
            _scorecard(ctx.params["scorecard_id"]),
            region_ids=ctx.params.get("region_ids"),
            delivery_ids=ctx.params.get("delivery_ids"),
            progress=ctx.progress,
            base_url=ctx.params.get("base_url"),
        )
    sent = sum(1 for d in deliveries if d.result == DeliveryResult.SENT)
    failed = len(deliveries) - sent
    if sent == 0:
        reasons = sorted({d.error for d in deliveries if d.error})
        raise jobs.JobFailed(
            f"Sent to nobody: the mail server refused all {failed} message"
            f"{'' if failed == 1 else 's'} — {reasons[0] if reasons else 'no reason given'}",
            details={"sent": 0, "failed": failed},
        )
    return {"sent": sent, "failed": failed}
