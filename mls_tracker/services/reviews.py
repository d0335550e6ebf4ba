"""Partnership reviews: opening one (its figures computed and frozen by
``scorecards.build``), editing its summary and featured wins, refreshing it, the lists and
choices the review pages show, and comparing a review with the previous one."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker import access
from mls_tracker.access import Action
from mls_tracker.audit import acting_as
from mls_tracker.extensions import db
from mls_tracker.models import Review, ReviewKind, Scorecard, User, Win
from mls_tracker.models.base import utcnow
from mls_tracker.models.review import review_featured_wins
from mls_tracker.periods import Month
from mls_tracker.scorecards.build import (
    QUARTER_MONTHS,
    build_scorecard_data,
    period_label,
    period_months,
)
from mls_tracker.scorecards.snapshot import ActionRow, ScorecardData, WinFacts, dump, load
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.locking import check_version, commit_or_conflict
from mls_tracker.services.sla_figures import Status

SUMMARY_MAX = 4000
FEATURED_WINS_MAX = 5

STALE_MESSAGE = (
    "Someone else changed this review while you were editing: the page now shows their "
    "version — your changes were not saved."
)


# ----------------------------------------------------------------------------- reviews


MANAGE_MESSAGE = "Only a lead of the partnership may prepare its reviews."


def _get_review(review_id: int) -> Review:
    review = db.session.get(Review, review_id)
    if review is None:
        raise ValidationFailed("This review no longer exists.")
    return review


def _previous_of(
    partnership_id: int, first_month: Month, kind: ReviewKind, exclude_id: int | None = None
) -> Review | None:
    query = (
        sa.select(Review)
        .where(Review.partnership_id == partnership_id, Review.last_month < first_month)
        .order_by(
            Review.last_month.desc(),
            sa.case((Review.kind == kind, 0), else_=1),
            Review.id.desc(),
        )
        .limit(1)
    )
    if exclude_id is not None:
        query = query.where(Review.id != exclude_id)
    return db.session.scalar(query)


def previous_review(review: Review) -> Review | None:
    """The latest review of the same partnership ending before this one starts (a review
    of the same kind first when two end in the same month)."""
    return _previous_of(review.partnership_id, review.first_month, review.kind, review.id)


def _issued_data(review: Review | None) -> ScorecardData | None:
    """What the executives saw of a review: its latest issued scorecard's snapshot."""
    if review is None:
        return None
    snapshot = db.session.scalar(
        sa.select(Scorecard.snapshot)
        .where(Scorecard.review_id == review.id)
        .order_by(Scorecard.version.desc())
        .limit(1)
    )
    return load(snapshot) if snapshot is not None else None


def _check_period(kind: ReviewKind, first_month: Month, today: dt.date) -> Month:
    if first_month is None:
        raise ValidationFailed("Choose the month the review covers.", "first_month")
    if kind is ReviewKind.QUARTERLY and first_month.month % 3 != 1:
        raise ValidationFailed(
            "A quarterly review starts in January, April, July or October.", "first_month"
        )
    _, last_month = period_months(kind, first_month)
    current = Month.of(today)
    if last_month >= current:
        if kind is ReviewKind.QUARTERLY:
            latest = current.shift(-((current.month - 1) % 3) - QUARTER_MONTHS)
            what, example = "quarter", period_label(kind, *period_months(kind, latest))
        else:
            what, example = "month", period_label(kind, current.previous(), current.previous())
        raise ValidationFailed(
            f"{period_label(kind, first_month, last_month)} is not over yet: a review covers "
            f"a complete {what} (the latest is {example}).",
            "first_month",
        )
    return last_month


def _duplicate_message(kind: ReviewKind, first_month: Month, last_month: Month) -> str:
    return f"{period_label(kind, first_month, last_month)} already has a review: open that one."


def open_review(
    user: User | None, partnership_id: int, *, kind: ReviewKind, first_month: Month, today: dt.date
) -> Review:
    """Open a review of a complete month or calendar quarter (leads), its figures computed
    and frozen now."""
    if user is not None:  # None: the command line (``flask scorecards issue``)
        access.require(user, Action.MANAGE, partnership_id, message=MANAGE_MESSAGE)
    try:
        kind = ReviewKind(kind)
    except ValueError:
        raise ValidationFailed("Choose a monthly or a quarterly review.", "kind") from None
    last_month = _check_period(kind, first_month, today)
    exists = db.session.scalar(
        sa.select(Review.id).where(
            Review.partnership_id == partnership_id,
            Review.first_month == first_month,
            Review.last_month == last_month,
        )
    )
    if exists is not None:
        raise ValidationFailed(_duplicate_message(kind, first_month, last_month), "first_month")
    previous = _issued_data(_previous_of(partnership_id, first_month, kind))
    data = build_scorecard_data(
        partnership_id, kind, first_month, last_month, today, previous=previous
    )
    actor_id = user.id if user is not None else None
    with acting_as(actor_id):
        review = Review(
            partnership_id=partnership_id,
            kind=kind,
            first_month=first_month,
            last_month=last_month,
            snapshot=dump(data),
            created_by_id=actor_id,
        )
        db.session.add(review)
        try:
            db.session.commit()
        except sa.exc.IntegrityError:  # opened by someone else a moment ago
            db.session.rollback()
            raise ValidationFailed(
                _duplicate_message(kind, first_month, last_month), "first_month"
            ) from None
    return review


def update_review(
    user: User,
    review_id: int,
    *,
    executive_summary: str,
    featured_win_ids: Sequence[int],
    expected_version: int,
) -> Review:
    """Save the lead's executive summary and the wins to feature (at most five, of this
    partnership), refusing a save based on an outdated version."""
    review = _get_review(review_id)
    access.require(user, Action.MANAGE, review.partnership_id, message=MANAGE_MESSAGE)
    check_version(review, expected_version, STALE_MESSAGE)
    summary = (executive_summary or "").strip()
    if len(summary) > SUMMARY_MAX:
        raise ValidationFailed(
            f"Keep the executive summary to {SUMMARY_MAX:,} characters (it has {len(summary):,}).",
            "executive_summary",
        )
    ids = list(dict.fromkeys(int(i) for i in featured_win_ids))
    if len(ids) > FEATURED_WINS_MAX:
        raise ValidationFailed(
            f"Feature at most {FEATURED_WINS_MAX} wins on the scorecard.", "featured_win_ids"
        )
    wins = (
        db.session.scalars(
            sa.select(Win).where(Win.id.in_(ids), Win.partnership_id == review.partnership_id)
        ).all()
        if ids
        else []
    )
    if len(wins) != len(ids):
        raise ValidationFailed("Choose wins of this partnership to feature.", "featured_win_ids")
    with acting_as(user.id), db.session.no_autoflush:  # one flush: the version moves once
        review.executive_summary = summary or None
        review.featured_wins = sorted(wins, key=lambda w: ids.index(w.id))
        # The wins live in another table: touch the row so the version moves with them.
        review.updated_at = utcnow()
        commit_or_conflict(STALE_MESSAGE)
    return review


def refresh_review(user: User, review_id: int, today: dt.date) -> Review:
    """Compute the review's figures again from the data as it stands today."""
    review = _get_review(review_id)
    access.require(user, Action.MANAGE, review.partnership_id, message=MANAGE_MESSAGE)
    previous = _issued_data(previous_review(review))
    data = build_scorecard_data(
        review.partnership_id,
        review.kind,
        review.first_month,
        review.last_month,
        today,
        previous=previous,
    )
    with acting_as(user.id):
        review.snapshot = dump(data)
        review.updated_at = utcnow()
        commit_or_conflict(STALE_MESSAGE)
    return review


def review_data(review: Review) -> ScorecardData:
    """The review's frozen figures with the lead's current summary and featured wins: what
    a preview shows and what issuing freezes."""
    if review.snapshot is None:
        raise ValidationFailed("This review has no figures yet: refresh it.")
    data = load(review.snapshot)
    wins = db.session.scalars(
        sa.select(Win)
        .options(so.joinedload(Win.region))
        .join(review_featured_wins, review_featured_wins.c.win_id == Win.id)
        .where(review_featured_wins.c.review_id == review.id)
        .order_by(Win.won_on.desc(), Win.id)
    ).all()
    return dataclasses.replace(
        data,
        executive_summary=review.executive_summary or "",
        featured_wins=tuple(
            WinFacts(
                title=w.title,
                story=w.story,
                won_on=w.won_on,
                region=w.region.name if w.region else None,
                impact=w.measurable_impact,
                shareable=w.shareable,
            )
            for w in wins
        ),
    )


# ----------------------------------------------------------------------------- compare


@dataclass(frozen=True, slots=True)
class FigureChange:
    key: str  # "health", "sla", "satisfaction", "actions", "coverage", "csat", "nps", "overdue"
    label: str
    current: float | None
    previous: float | None
    change: float | None  # current − previous
    direction: str | None  # "up" | "down" | "same"; None when either side has no figure
    better: bool | None  # None when unchanged or unknown
    unit: str  # "%", " points", ""


@dataclass(frozen=True, slots=True)
class SlaChange:
    code: str
    name: str
    status: str  # now
    previous_status: str | None  # None: the SLA was not on the previous scorecard


@dataclass(frozen=True, slots=True)
class SponsorChange:
    region: str
    side: str  # "client" | "provider"
    name: str
    title: str | None


@dataclass(frozen=True, slots=True)
class Comparison:
    current_label: str
    previous_label: str
    figures: tuple[FigureChange, ...]
    new_breaches: tuple[SlaChange, ...]  # breached now, not before
    resolved_breaches: tuple[SlaChange, ...]  # breached before, not now
    actions_closed: int  # in the current period
    closed_items: tuple[ActionRow, ...]
    sponsors_added: tuple[SponsorChange, ...]
    sponsors_removed: tuple[SponsorChange, ...]


def _figure_change(
    key: str,
    label: str,
    current: float | None,
    previous: float | None,
    *,
    higher_is_better: bool = True,
    unit: str = "%",
) -> FigureChange:
    if current is None or previous is None:
        return FigureChange(key, label, current, previous, None, None, None, unit)
    change = round(float(current) - float(previous), 1)
    if change == 0:
        return FigureChange(key, label, current, previous, 0.0, "same", None, unit)
    up = change > 0
    return FigureChange(
        key, label, current, previous, change, "up" if up else "down",
        up == higher_is_better, unit,
    )  # fmt: skip


def _sponsors(data: ScorecardData) -> dict[tuple[str, str, str], SponsorChange]:
    found = {}
    for row in data.governance.coverage:
        for side, people in (("client", row.client), ("provider", row.provider)):
            for person in people:
                found[(row.region, side, person.name)] = SponsorChange(
                    row.region, side, person.name, person.title
                )
    return found


def compare(current: ScorecardData, previous: ScorecardData) -> Comparison:
    """This review against the previous one: figures up or down (and whether that is
    better), new and resolved breaches, actions closed, sponsors added and removed."""
    tiles_now = {tile.key: tile for tile in current.tiles}
    tiles_before = {tile.key: tile for tile in previous.tiles}
    figures = [
        _figure_change(
            "health", "Health score", current.health.score, previous.health.score, unit=""
        )
    ]
    for key, tile in tiles_now.items():
        before = tiles_before.get(key)
        figures.append(
            _figure_change(
                key, tile.label, tile.value, before.value if before else None, unit=tile.unit
            )
        )
    now_sat, before_sat = current.satisfaction.total, previous.satisfaction.total
    figures.append(_figure_change("csat", "CSAT", now_sat.csat, before_sat.csat))
    figures.append(_figure_change("nps", "NPS", now_sat.nps, before_sat.nps, unit=" points"))
    figures.append(
        _figure_change(
            "overdue",
            "Overdue actions",
            current.actions.overdue,
            previous.actions.overdue,
            higher_is_better=False,
            unit="",
        )
    )
    before_status = {row.code: row.status for row in previous.slas.rows}
    new_breaches, resolved = [], []
    for row in current.slas.rows:
        was = before_status.get(row.code)
        if row.status == Status.BREACHED.value and was != Status.BREACHED.value:
            new_breaches.append(SlaChange(row.code, row.name, row.status, was))
        elif was == Status.BREACHED.value and row.status != Status.BREACHED.value:
            resolved.append(SlaChange(row.code, row.name, row.status, was))
    sponsors_now, sponsors_before = _sponsors(current), _sponsors(previous)
    return Comparison(
        current_label=current.period.label,
        previous_label=previous.period.label,
        figures=tuple(figures),
        new_breaches=tuple(new_breaches),
        resolved_breaches=tuple(resolved),
        actions_closed=current.actions.closed,
        closed_items=current.actions.closed_items,
        sponsors_added=tuple(v for k, v in sponsors_now.items() if k not in sponsors_before),
        sponsors_removed=tuple(v for k, v in sponsors_before.items() if k not in sponsors_now),
    )
