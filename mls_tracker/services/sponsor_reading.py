"""A sponsor's side of issued scorecards in the app: what waits for them, reading one, and
acknowledging it with a comment — on the same ``ScorecardDelivery`` row the e-mailed link
writes, so the comment reaches the next meeting's agenda exactly as before.

Who is a sponsor of a partnership: a member with the ``sponsor`` role, or a member (of any
role) linked to one of its active Sponsor records by ``user_id`` or e-mail address. Their
delivery row of a scorecard is matched by those Sponsor records or by e-mail. A scorecard that
was never e-mailed to them gets a row when they first open or acknowledge it, marked
``in_app`` (not e-mailed): the lead sees who read it either way, and a later e-mail reuses
that row (as it reuses a failed one), so what was read and acknowledged carries over.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker import access
from mls_tracker.access import Action
from mls_tracker.extensions import db
from mls_tracker.models import (
    DeliveryResult,
    Membership,
    Partnership,
    Review,
    Role,
    Scorecard,
    ScorecardDelivery,
    Sponsor,
    User,
    normalise_email,
)
from mls_tracker.periods import utc_today
from mls_tracker.scorecards import delivery as delivery_service
from mls_tracker.scorecards import issuing
from mls_tracker.services.errors import PermissionDenied

NOT_A_SPONSOR = "Only the partnership's sponsors acknowledge its scorecards."
RECENTLY_ACKNOWLEDGED = 5


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One scorecard on a sponsor's home: plain values read from its snapshot."""

    partnership_id: int
    partnership: str
    scorecard_id: int
    review_id: int
    period: str
    version: int
    issued_at: dt.datetime
    health_score: int | None
    rag: str | None  # "green" | "amber" | "red"
    read_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    comment: str | None


@dataclass(frozen=True, slots=True)
class SponsorInbox:
    waiting: tuple[InboxItem, ...]  # the latest scorecard of each partnership, not acknowledged
    acknowledged: tuple[InboxItem, ...]  # the most recent acknowledgements, newest first


@dataclass(frozen=True, slots=True)
class MyScorecard:
    """A scorecard as a sponsor reads it in the app: its cover, and their own delivery row."""

    scorecard: Scorecard
    summary: delivery_service.ScorecardSummary
    is_sponsor: bool
    may_acknowledge: bool  # a sponsor, and the partnership is not archived
    delivery: ScorecardDelivery | None


# --- who is a sponsor --------------------------------------------------------------------


def _linked_sponsors(user: User, partnership_ids: Iterable[int] | None = None) -> list[Sponsor]:
    """The Sponsor records linked to the user, by ``user_id`` or by e-mail address."""
    query = sa.select(Sponsor).where(
        sa.or_(
            Sponsor.user_id == user.id,
            sa.func.lower(sa.func.trim(Sponsor.email)) == normalise_email(user.email),
        )
    )
    if partnership_ids is not None:
        query = query.where(Sponsor.partnership_id.in_(list(partnership_ids)))
    return list(db.session.scalars(query.order_by(Sponsor.id)))


def sponsored_partnership_ids(user: User) -> list[int]:
    """The partnerships (not archived) the user is a member of and sponsors: with the sponsor
    role, or through an active Sponsor record linked to them."""
    if not getattr(user, "is_authenticated", False):
        return []
    memberships = db.session.execute(
        sa.select(Membership.partnership_id, Membership.role)
        .join(Partnership, Partnership.id == Membership.partnership_id)
        .where(Membership.user_id == user.id, Partnership.archived_at.is_(None))
    ).all()
    if not memberships:
        return []
    member_of = {pid for pid, _ in memberships}
    ids = {pid for pid, role in memberships if role == Role.SPONSOR}
    today = utc_today()
    ids |= {s.partnership_id for s in _linked_sponsors(user, member_of) if s.is_active_on(today)}
    return sorted(ids)


def _is_sponsor(user: User, partnership_id: int) -> bool:
    if access.role_in(user, partnership_id) == Role.SPONSOR:
        return True
    today = utc_today()
    return any(s.is_active_on(today) for s in _linked_sponsors(user, [partnership_id]))


# --- their delivery rows -----------------------------------------------------------------


def _mine(
    user: User, deliveries: Iterable[ScorecardDelivery], sponsors: list[Sponsor]
) -> list[ScorecardDelivery]:
    sponsor_ids = {s.id for s in sponsors}
    emails = {normalise_email(user.email)} | {normalise_email(s.email or "") for s in sponsors}
    emails.discard("")
    return [
        d for d in deliveries if d.sponsor_id in sponsor_ids or normalise_email(d.email) in emails
    ]


def _pick(rows: list[ScorecardDelivery]) -> ScorecardDelivery | None:
    """The row that stands for the sponsor when a scorecard went to them more than once: the
    acknowledged one (its comment is the one to edit), else the newest sent, else the newest."""
    if not rows:
        return None
    return max(
        rows,
        key=lambda d: (d.acknowledged_at is not None, d.result == DeliveryResult.SENT, d.id),
    )


def _my_delivery(user: User, scorecard: Scorecard, *, create: bool) -> ScorecardDelivery | None:
    partnership_id = scorecard.review.partnership_id
    sponsors = _linked_sponsors(user, [partnership_id])
    rows = db.session.scalars(
        sa.select(ScorecardDelivery).where(ScorecardDelivery.scorecard_id == scorecard.id)
    )
    found = _pick(_mine(user, rows, sponsors))
    if found is not None or not create:
        return found
    today = utc_today()
    sponsor = next((s for s in sponsors if s.is_active_on(today) and s.email), None)
    found = ScorecardDelivery(
        scorecard_id=scorecard.id,
        sponsor_id=sponsor.id if sponsor else None,
        email=normalise_email(sponsor.email if sponsor and sponsor.email else user.email),
        result=DeliveryResult.PENDING,
        in_app=True,
    )
    db.session.add(found)
    return found


# --- the home ----------------------------------------------------------------------------


def sponsor_inbox(user: User) -> SponsorInbox | None:
    """What a sponsor's home starts with; None for a user who sponsors no partnership. A
    handful of queries, whatever the number of partnerships; the snapshots' few figures are
    read in SQL, never the snapshots themselves."""
    partnership_ids = sponsored_partnership_ids(user)
    if not partnership_ids:
        return None
    newest = (
        sa.select(
            Scorecard.id.label("scorecard_id"),
            sa.func.row_number()
            .over(
                partition_by=Review.partnership_id,
                order_by=(Scorecard.issued_at.desc(), Scorecard.id.desc()),
            )
            .label("rank"),
        )
        .join(Review, Review.id == Scorecard.review_id)
        .where(Review.partnership_id.in_(partnership_ids))
        .subquery()
    )
    latest_ids = list(
        db.session.scalars(sa.select(newest.c.scorecard_id).where(newest.c.rank == 1))
    )
    sponsors = _linked_sponsors(user, partnership_ids)
    emails = {normalise_email(user.email)} | {normalise_email(s.email or "") for s in sponsors}
    candidates = db.session.scalars(
        sa.select(ScorecardDelivery)
        .join(Scorecard, Scorecard.id == ScorecardDelivery.scorecard_id)
        .join(Review, Review.id == Scorecard.review_id)
        .where(
            Review.partnership_id.in_(partnership_ids),
            sa.or_(
                ScorecardDelivery.scorecard_id.in_(latest_ids),
                ScorecardDelivery.acknowledged_at.is_not(None),
            ),
            sa.or_(
                ScorecardDelivery.sponsor_id.in_([s.id for s in sponsors]),
                ScorecardDelivery.email.in_(sorted(e for e in emails if e)),
            ),
        )
    )
    by_scorecard: dict[int, list[ScorecardDelivery]] = {}
    for delivery in _mine(user, candidates, sponsors):
        by_scorecard.setdefault(delivery.scorecard_id, []).append(delivery)
    mine = {sid: _pick(rows) for sid, rows in by_scorecard.items()}
    acknowledged_ids = sorted(
        (sid for sid, d in mine.items() if d is not None and d.acknowledged_at is not None),
        key=lambda sid: mine[sid].acknowledged_at,  # type: ignore[union-attr]
        reverse=True,
    )[:RECENTLY_ACKNOWLEDGED]
    waiting_ids = [
        sid for sid in latest_ids if mine.get(sid) is None or mine[sid].acknowledged_at is None
    ]
    facts = _scorecard_facts([*waiting_ids, *acknowledged_ids])

    def item(scorecard_id: int) -> InboxItem:
        delivery = mine.get(scorecard_id)
        return InboxItem(
            **facts[scorecard_id],
            read_at=delivery.read_at if delivery else None,
            acknowledged_at=delivery.acknowledged_at if delivery else None,
            comment=delivery.comment if delivery else None,
        )

    waiting = sorted((item(sid) for sid in waiting_ids), key=_newest_first, reverse=True)
    return SponsorInbox(
        waiting=tuple(waiting), acknowledged=tuple(item(sid) for sid in acknowledged_ids)
    )


def _newest_first(item: InboxItem) -> tuple[dt.datetime, int]:
    return (item.issued_at, item.scorecard_id)


def _scorecard_facts(scorecard_ids: list[int]) -> dict[int, dict]:
    if not scorecard_ids:
        return {}
    snapshot = Scorecard.snapshot
    rows = db.session.execute(
        sa.select(
            Scorecard.id,
            Review.partnership_id,
            Partnership.name,
            Scorecard.review_id,
            snapshot["period"]["label"].as_string(),
            Scorecard.version,
            Scorecard.issued_at,
            snapshot["health"]["score"].as_integer(),
            snapshot["health"]["rag"].as_string(),
        )
        .join(Review, Review.id == Scorecard.review_id)
        .join(Partnership, Partnership.id == Review.partnership_id)
        .where(Scorecard.id.in_(scorecard_ids))
    ).all()
    return {
        row[0]: {
            "scorecard_id": row[0],
            "partnership_id": row[1],
            "partnership": row[2],
            "review_id": row[3],
            "period": row[4] or "",
            "version": row[5],
            "issued_at": row[6],
            "health_score": row[7],
            "rag": row[8] or None,
        }
        for row in rows
    }


# --- reading and acknowledging -----------------------------------------------------------


def my_scorecard(user: User, partnership_id: int, scorecard_id: int) -> MyScorecard:
    """An issued scorecard for any member (404 for anyone else), with the signed-in sponsor's
    delivery row; opening it records when a sponsor first read it."""
    scorecard = issuing.scorecard_for_download(user, partnership_id, scorecard_id)
    is_sponsor = _is_sponsor(user, partnership_id)
    delivery = record_read(user, scorecard) if is_sponsor else None
    return MyScorecard(
        scorecard=scorecard,
        summary=delivery_service.summarise(scorecard),
        is_sponsor=is_sponsor,
        may_acknowledge=is_sponsor
        and access.can(user, Action.ACKNOWLEDGE_SCORECARD, partnership_id),
        delivery=delivery,
    )


def record_read(user: User, scorecard: Scorecard) -> ScorecardDelivery | None:
    """Notes when a sponsor first opened a scorecard (its page or its PDF), on their delivery
    row (an in-app one if it was never sent to them). Nothing for anyone else, nor in an
    archived partnership (read-only: their row, if any, is only read)."""
    partnership_id = scorecard.review.partnership_id
    if not _is_sponsor(user, partnership_id):
        return None
    if access.is_archived(partnership_id):
        return _my_delivery(user, scorecard, create=False)
    delivery = _my_delivery(user, scorecard, create=True)
    if delivery is not None and delivery.read_at is None:
        delivery_service.mark_read(delivery)
    return delivery


def acknowledge(
    user: User, partnership_id: int, scorecard_id: int, comment: str | None
) -> ScorecardDelivery:
    """A sponsor marks the scorecard reviewed in the app, with an optional comment: the same
    row, fields and rules as the e-mailed link (the first acknowledgement counts, an edited
    comment goes on the next agenda again)."""
    access.require(user, Action.ACKNOWLEDGE_SCORECARD, partnership_id, message=NOT_A_SPONSOR)
    scorecard = issuing.scorecard_for_download(user, partnership_id, scorecard_id)
    if not _is_sponsor(user, partnership_id):  # a lead or an administrator
        raise PermissionDenied(NOT_A_SPONSOR)
    delivery = _my_delivery(user, scorecard, create=True)
    assert delivery is not None
    return delivery_service.record_acknowledgement(delivery, comment)


# --- the lead's distribution -------------------------------------------------------------


def distribution(user: User, partnership_id: int, scorecard_id: int) -> tuple[str, list[list]]:
    """The scorecard's distribution as a CSV file name and rows, for a lead."""
    access.require(user, Action.MANAGE, partnership_id)
    scorecard = issuing.scorecard_for_download(user, partnership_id, scorecard_id)
    deliveries = db.session.scalars(
        sa.select(ScorecardDelivery)
        .where(ScorecardDelivery.scorecard_id == scorecard.id)
        .options(so.selectinload(ScorecardDelivery.sponsor).selectinload(Sponsor.region))
        .order_by(ScorecardDelivery.id)
    )

    def when(value: dt.datetime | None) -> str:
        return value.strftime("%Y-%m-%d %H:%M") if value else ""

    review = scorecard.review
    name = delivery_service.scorecard_filename(
        db.session.get_one(Partnership, partnership_id).name,
        review.first_month,
        review.last_month,
        scorecard.version,
    ).removesuffix(".pdf")
    return f"{name}-distribution.csv", [
        [
            scorecard.version,
            d.sponsor.name if d.sponsor else d.email,
            d.email,
            d.sponsor.region.name if d.sponsor else "",
            str(d.sponsor.side) if d.sponsor else "",
            "opened in the app (not e-mailed)"
            if d.in_app and d.result != DeliveryResult.SENT
            else str(d.result),
            when(d.sent_at),
            when(d.read_at),
            when(d.acknowledged_at),
            d.comment or "",
            when(d.commented_at),
        ]
        for d in deliveries
    ]


DISTRIBUTION_COLUMNS = (
    "Version",
    "Recipient",
    "E-mail",
    "Region",
    "Side",
    "Result",
    "Sent at (UTC)",
    "Read at (UTC)",
    "Acknowledged at (UTC)",
    "Comment",
    "Comment written at (UTC)",
)
