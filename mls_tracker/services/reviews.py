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

from mls_tracker import access, formatting, jobs
from mls_tracker.access import Action
from mls_tracker.audit import acting_as
from mls_tracker.extensions import db
from mls_tracker.models import (
    CommentaryState,
    DeliveryResult,
    Job,
    Partnership,
    Review,
    ReviewKind,
    Scorecard,
    ScorecardDelivery,
    Sponsor,
    User,
    Win,
    normalise_email,
)
from mls_tracker.models.base import utcnow
from mls_tracker.models.partnership import ReviewCadence
from mls_tracker.models.review import review_featured_wins
from mls_tracker.periods import Month
from mls_tracker.scorecards import story as cover_story
from mls_tracker.scorecards.build import (
    QUARTER_MONTHS,
    build_scorecard_data,
    period_label,
    period_months,
)
from mls_tracker.scorecards.snapshot import (
    ActionRow,
    CoverStory,
    ScorecardData,
    TargetChangeFacts,
    Tile,
    WinFacts,
    dump,
    load,
)
from mls_tracker.services import data_version
from mls_tracker.services.errors import NotFound, ValidationFailed
from mls_tracker.services.locking import check_version, guarded_save
from mls_tracker.services.logos import current_logo_facts
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


def issued_data(review: Review | None) -> tuple[ScorecardData, int] | None:
    """What the executives saw of a review: its latest issued scorecard's figures and version
    number; None for a draft (or no review)."""
    if review is None:
        return None
    row = db.session.execute(
        sa.select(Scorecard.snapshot, Scorecard.version)
        .where(Scorecard.review_id == review.id)
        .order_by(Scorecard.version.desc())
        .limit(1)
    ).first()
    return (load(row[0]), row[1]) if row else None


def _issued_figures(review: Review | None) -> ScorecardData | None:
    issued = issued_data(review)
    return issued[0] if issued is not None else None


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
    previous = _issued_figures(_previous_of(partnership_id, first_month, kind))
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
            key_messages=_drafted(data),
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
    # One definition of the period's wins for the cover and the governance page.
    outside = [w for w in wins if not _in_period(review, w.won_on)]
    if outside:
        label = period_label(review.kind, review.first_month, review.last_month)
        raise ValidationFailed(
            f"Feature wins of {label} only: “{outside[0].title}” was won on "
            f"{outside[0].won_on.day} {outside[0].won_on:%b %Y}.",
            "featured_win_ids",
        )
    # One flush: the version moves once.
    with acting_as(user.id), guarded_save(STALE_MESSAGE), db.session.no_autoflush:
        if not summary:
            review.summary_basis = None
        elif summary != (review.executive_summary or "") or review.summary_basis is None:
            # Written (again) now: for the figures the review shows now.
            data = _stored_data(review)
            review.summary_basis = summary_figures(data) if data is not None else None
        review.executive_summary = summary or None
        review.featured_wins = sorted(wins, key=lambda w: ids.index(w.id))
        # The wins live in another table: touch the row so the version moves with them.
        review.updated_at = utcnow()
    return review


def refresh_review(user: User, review_id: int, today: dt.date) -> Review:
    """Compute the review's figures again from the data as it stands today. A summary
    written from the figures and not edited since is written again from the new ones; an
    edited one is kept, with the figures it was written for (``summary_check`` then says it
    is stale and what changed)."""
    review = _get_review(review_id)
    access.require(user, Action.MANAGE, review.partnership_id, message=MANAGE_MESSAGE)
    old = _stored_data(review)
    summary = review.executive_summary or ""
    untouched = bool(summary) and old is not None and summary == draft_summary(old)
    messages_untouched = review.key_messages is None or (
        old is not None and review.key_messages == _drafted(old)
    )
    previous = _issued_figures(previous_review(review))
    data = build_scorecard_data(
        review.partnership_id,
        review.kind,
        review.first_month,
        review.last_month,
        today,
        previous=previous,
    )
    with acting_as(user.id), guarded_save(STALE_MESSAGE):
        review.snapshot = dump(data)
        if untouched:
            review.executive_summary = draft_summary(data)
            review.summary_basis = summary_figures(data)
        elif summary and review.summary_basis is None and old is not None:
            # Written before the basis was kept: it was written for the figures until now.
            review.summary_basis = summary_figures(old)
        if messages_untouched:  # drafted from the figures and not edited: drafted again
            review.key_messages = _drafted(data)
            review.key_messages_basis = None
        elif review.key_messages_basis is None and old is not None:
            review.key_messages_basis = summary_figures(old)
        review.updated_at = utcnow()
    return review


def _stored_data(review: Review) -> ScorecardData | None:
    if review.snapshot is None:
        return None
    try:
        return load(review.snapshot)
    except (ValueError, KeyError, TypeError):  # an older snapshot schema
        return None


# ----------------------------------------------------------------------------- the summary


def _whole_percent(tile: Tile | None) -> str:
    if tile is None or tile.value is None:
        return "not measured"
    return f"{formatting.number(tile.value, 0)}{tile.unit}"


def draft_summary(data: ScorecardData) -> str:
    """An executive summary written from the figures, two short paragraphs as a lead would
    write them; refreshing the figures writes it again as long as nobody edited it."""
    health = data.health
    tiles = {tile.key: tile for tile in data.tiles}
    closed = (
        f"with a health score of {health.score}{f' ({health.rag})' if health.rag else ''}"
        if health.score is not None
        else "without enough data for a health score"
    )
    first = (
        f"{data.partnership.name} closed {data.period.label} {closed}. "
        f"SLA attainment was {_whole_percent(tiles.get('sla'))}, "
        f"learner satisfaction {_whole_percent(tiles.get('satisfaction'))} and action plan "
        f"health {_whole_percent(tiles.get('actions'))}."
    )
    # Names, not codes: the sponsors read it (issue 19, plain words).
    breached = [row.name for row in data.slas.rows if row.status == Status.BREACHED.value]
    gaps = [row.region for row in data.governance.coverage if row.gap]
    asks = []
    if breached:
        asks.append(f"agree recovery plans for {', '.join(breached)}")
    if data.actions.overdue == 1:
        asks.append("close the overdue action before the next meeting")
    elif data.actions.overdue:
        asks.append(f"close the {data.actions.overdue} overdue actions before the next meeting")
    if gaps:
        asks.append(f"name a client sponsor for {', '.join(gaps)}")
    second = (
        "For the sponsors: " + "; ".join(asks) + "."
        if asks
        else "Nothing needs the sponsors' decision this month."
    )
    return f"{first}\n\n{second}"


def summary_figures(data: ScorecardData) -> dict[str, str]:
    """The figures a summary speaks of, as words: what it was written for."""
    health = data.health
    figures = {
        "Health score": "not enough data"
        if health.score is None
        else f"{health.score}{f' ({health.rag})' if health.rag else ''}"
    }
    for tile in data.tiles:
        figures[tile.label] = _whole_percent(tile)
    breached = [row.code for row in data.slas.rows if row.status == Status.BREACHED.value]
    figures["Breached SLAs"] = ", ".join(breached) or "none"
    figures["Overdue actions"] = str(data.actions.overdue)
    gaps = [row.region for row in data.governance.coverage if row.gap]
    figures["Regions without a client sponsor"] = ", ".join(gaps) or "none"
    return figures


@dataclass(frozen=True, slots=True)
class FigureWas:
    label: str
    written_for: str  # the figure when the summary was written
    now: str


@dataclass(frozen=True, slots=True)
class SummaryCheck:
    """Whether the executive summary still speaks of the review's figures."""

    stale: bool
    changes: tuple[FigureWas, ...]  # old → new, for the figures that moved

    @property
    def text(self) -> str:
        return "; ".join(f"{c.label}: {c.written_for} → {c.now}" for c in self.changes)


def summary_check(review: Review) -> SummaryCheck:
    """An edited summary is stale when the figures it was written for are not the review's
    figures any more (after "Refresh figures")."""
    return _basis_check(bool(review.executive_summary), review.summary_basis, review)


def key_messages_check(review: Review) -> SummaryCheck:
    """Edited key messages are stale, as an edited summary is, when the figures they were
    written for are not the review's figures any more."""
    return _basis_check(bool(review.key_messages), review.key_messages_basis, review)


def _basis_check(written: bool, basis: dict[str, str] | None, review: Review) -> SummaryCheck:
    data = _stored_data(review)
    if not written or not basis or data is None:
        return SummaryCheck(False, ())
    now = summary_figures(data)
    changes = tuple(
        FigureWas(label, basis.get(label, "—"), value)
        for label, value in now.items()
        if basis.get(label, value) != value
    )
    return SummaryCheck(bool(changes), changes)


STALE_SUMMARY_MESSAGE = (
    "The executive summary was written for other figures ({changes}). Edit it, or confirm "
    "that it may be issued as it is."
)


def check_summary_before_issue(review: Review, *, confirmed: bool) -> None:
    """Refuses to issue a stale summary unless the lead confirmed it."""
    check = summary_check(review)
    if check.stale and not confirmed:
        raise ValidationFailed(
            STALE_SUMMARY_MESSAGE.format(changes=check.text), "confirm_stale_summary"
        )


def _in_period(review: Review, day: dt.date) -> bool:
    return review.first_month.first_day <= day <= review.last_month.last_day


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
        .where(
            review_featured_wins.c.review_id == review.id,
            # Featured before wins had to be of the period: the period's only, as page 5 lists.
            Win.won_on.between(review.first_month.first_day, review.last_month.last_day),
        )
        .order_by(Win.won_on.desc(), Win.id)
    ).all()
    return dataclasses.replace(
        data,
        logo=current_logo_facts(review.partnership_id),
        story=_story_of(review, data),
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


# ----------------------------------------------------------------------------- the cover story

KEY_MESSAGES_MAX = cover_story.MESSAGES_MAX
KEY_MESSAGE_CHARS = cover_story.MESSAGE_MAX_CHARS
# The cover is one page: these lengths were laid out at their longest (tests/test_cover_story_pdf).
DECISIONS_MAX = 600
COMMENTARY_MAX = 600
RETURN_REASON_MAX = 500
COMMENTARY_MESSAGE = "Only the provider's members of the partnership write its commentary."


def _drafted(data: ScorecardData) -> list[str] | None:
    return list(data.story.drafted_messages) if data.story is not None else None


def _story_of(review: Review, data: ScorecardData) -> CoverStory | None:
    """The figures' story with the review's parts: the lead's key messages (else the drafted
    ones), decisions and asks, and the provider's commentary once a lead approved it."""
    if data.story is None:  # figures computed before the cover told a story: refresh them
        return None
    approved = review.commentary_state is CommentaryState.APPROVED and bool(
        review.provider_commentary
    )
    author = review.commentary_submitted_by if approved else None
    return dataclasses.replace(
        data.story,
        key_messages=tuple(
            review.key_messages if review.key_messages is not None else data.story.drafted_messages
        ),
        decisions_asks=review.decisions_asks or "",
        provider_commentary=(review.provider_commentary or "") if approved else "",
        commentary_author=author.display_name if author is not None else None,
        commentary_organisation=data.partnership.provider if approved else None,
    )


def update_story(
    user: User,
    review_id: int,
    *,
    key_messages: str,
    decisions_asks: str,
    expected_version: int,
) -> Review:
    """Save the lead's key messages (one a line, at most five, each at most 200 characters)
    and the decisions and asks of the sponsors."""
    review = _get_review(review_id)
    access.require(user, Action.MANAGE, review.partnership_id, message=MANAGE_MESSAGE)
    check_version(review, expected_version, STALE_MESSAGE)
    messages = cover_story.clean_messages((key_messages or "").splitlines())
    if len(messages) > KEY_MESSAGES_MAX:
        raise ValidationFailed(
            f"Keep to {KEY_MESSAGES_MAX} key messages, one a line (there are {len(messages)}).",
            "key_messages",
        )
    long = [i for i, m in enumerate(messages, 1) if len(m) > KEY_MESSAGE_CHARS]
    if long:
        raise ValidationFailed(
            f"Keep each key message to {KEY_MESSAGE_CHARS} characters: message {long[0]} has "
            f"{len(messages[long[0] - 1])}.",
            "key_messages",
        )
    asks = (decisions_asks or "").strip()
    if len(asks) > DECISIONS_MAX:
        raise ValidationFailed(
            f"Keep the decisions and asks to {DECISIONS_MAX:,} characters (it has {len(asks):,}).",
            "decisions_asks",
        )
    with acting_as(user.id), guarded_save(STALE_MESSAGE):
        if messages != (review.key_messages or []):
            data = _stored_data(review)
            review.key_messages_basis = summary_figures(data) if data is not None else None
        review.key_messages = messages
        review.decisions_asks = asks or None
    return review


def redraft_key_messages(user: User, review_id: int) -> Review:
    """The key messages drafted again from the review's figures (the lead's edits dropped)."""
    review = _get_review(review_id)
    access.require(user, Action.MANAGE, review.partnership_id, message=MANAGE_MESSAGE)
    data = _stored_data(review)
    if data is None or data.story is None:
        raise ValidationFailed("Refresh the figures first: they were computed without a story.")
    with acting_as(user.id), guarded_save(STALE_MESSAGE):
        review.key_messages = list(cover_story.draft_key_messages(data))
        review.key_messages_basis = None
    return review


def get_review_for_commentary(user: User, partnership_id: int, review_id: int) -> Review:
    """A review of the partnership whose commentary ``user`` (a provider member) may write,
    issued or not; another partnership's review is NotFound."""
    access.require(user, Action.WRITE_PROVIDER_COMMENTARY, partnership_id, COMMENTARY_MESSAGE)
    review = db.session.get(Review, review_id)
    if review is None or review.partnership_id != partnership_id:
        raise NotFound()
    return review


def save_commentary(
    user: User, partnership_id: int, review_id: int, *, text: str, submit: bool
) -> Review:
    """The provider's commentary saved as a draft, or submitted for a lead's approval. Any
    change after approval takes the approval back (the scorecard shows approved text only)."""
    review = get_review_for_commentary(user, partnership_id, review_id)
    text = (text or "").strip()
    if len(text) > COMMENTARY_MAX:
        raise ValidationFailed(
            f"Keep the commentary to {COMMENTARY_MAX:,} characters (it has {len(text):,}).",
            "text",
        )
    if submit and not text:
        raise ValidationFailed("Write the commentary before submitting it.", "text")
    with acting_as(user.id), guarded_save(STALE_MESSAGE):
        review.provider_commentary = text or None
        review.commentary_state = CommentaryState.SUBMITTED if submit else CommentaryState.DRAFT
        review.commentary_approved_by_id = None
        review.commentary_approved_at = None
        if submit:
            review.commentary_submitted_by_id = user.id
            review.commentary_submitted_at = utcnow()
            review.commentary_return_reason = None
    return review


def decide_commentary(user: User, review_id: int, *, approve: bool, reason: str = "") -> Review:
    """A lead approves the submitted commentary (it goes into the scorecard) or returns it to
    the provider with a reason."""
    review = _get_review(review_id)
    access.require(user, Action.MANAGE, review.partnership_id, message=MANAGE_MESSAGE)
    if review.commentary_state is not CommentaryState.SUBMITTED:
        raise ValidationFailed("There is no submitted commentary to approve or return.")
    reason = (reason or "").strip()
    if not approve and not reason:
        raise ValidationFailed("Say why the commentary goes back to the provider.", "reason")
    if len(reason) > RETURN_REASON_MAX:
        raise ValidationFailed(
            f"Keep the reason to {RETURN_REASON_MAX} characters (it has {len(reason)}).", "reason"
        )
    with acting_as(user.id), guarded_save(STALE_MESSAGE):
        if approve:
            review.commentary_state = CommentaryState.APPROVED
            review.commentary_approved_by_id = user.id
            review.commentary_approved_at = utcnow()
            review.commentary_return_reason = None
        else:
            review.commentary_state = CommentaryState.RETURNED
            review.commentary_return_reason = reason
    return review


# ----------------------------------------------------------------------------- the pages


SORTS = ("period", "issued", "kind")
# How far back the "open a review" form offers periods.
MONTHS_OFFERED = 24
QUARTERS_OFFERED = 8
# The jobs the review pages follow.
JOB_KINDS = ("scorecard_issue", "scorecard_send")


@dataclass(frozen=True, slots=True)
class PeriodChoice:
    value: str  # "monthly:2026-10"
    label: str
    kind: ReviewKind
    first_month: Month


def _quarter_start(month: Month) -> Month:
    return Month(month.year, (month.month - 1) // 3 * 3 + 1)


def period_choices(partnership: Partnership, today: dt.date) -> list[PeriodChoice]:
    """Complete months and quarters, newest first, since the partnership started and not
    reviewed yet; the kind of the partnership's review cadence first."""
    reviewed = set(
        db.session.execute(
            sa.select(Review.first_month, Review.last_month).where(
                Review.partnership_id == partnership.id
            )
        )
    )
    this_month = Month.of(today)
    start = Month.of(partnership.start_date)
    months = []
    month = this_month.previous()
    while month >= start and len(months) < MONTHS_OFFERED:
        if (month, month) not in reviewed:
            months.append(
                PeriodChoice(
                    f"monthly:{month}",
                    period_label(ReviewKind.MONTHLY, month, month),
                    ReviewKind.MONTHLY,
                    month,
                )
            )
        month = month.previous()
    quarters = []
    first = _quarter_start(this_month).shift(-3)
    while first.shift(2) >= start and len(quarters) < QUARTERS_OFFERED:
        last = first.shift(2)
        if (first, last) not in reviewed:
            quarters.append(
                PeriodChoice(
                    f"quarterly:{first}",
                    period_label(ReviewKind.QUARTERLY, first, last),
                    ReviewKind.QUARTERLY,
                    first,
                )
            )
        first = first.shift(-3)
    if partnership.review_cadence == ReviewCadence.QUARTERLY:
        return quarters + months
    return months + quarters


@dataclass(frozen=True, slots=True)
class ReviewRow:
    id: int
    kind: str
    first_month: Month
    last_month: Month
    label: str
    computed_on: dt.date | None
    version: int | None  # the latest issued version, None for a draft
    issued_at: dt.datetime | None
    issued_by: str | None
    sent: int
    failed: int
    acknowledged: int

    @property
    def issued(self) -> bool:
        return self.version is not None


def review_rows(partnership_id: int, *, issued_only: bool, sort: str) -> list[ReviewRow]:
    """Every review of the partnership with its latest scorecard and that scorecard's
    delivery counts, in one query whatever the number of reviews."""
    latest = (
        sa.select(Scorecard.review_id, sa.func.max(Scorecard.version).label("version"))
        .group_by(Scorecard.review_id)
        .subquery()
    )
    counts = (
        sa.select(
            ScorecardDelivery.scorecard_id,
            sa.func.sum(
                sa.case((ScorecardDelivery.result == DeliveryResult.SENT, 1), else_=0)
            ).label("sent"),
            sa.func.sum(
                sa.case((ScorecardDelivery.result == DeliveryResult.FAILED, 1), else_=0)
            ).label("failed"),
            sa.func.count(ScorecardDelivery.acknowledged_at).label("acknowledged"),
        )
        .group_by(ScorecardDelivery.scorecard_id)
        .subquery()
    )
    query = (
        sa.select(
            Review.id,
            Review.kind,
            Review.first_month,
            Review.last_month,
            Review.snapshot["computed_on"].as_string(),
            Scorecard.version,
            Scorecard.issued_at,
            User.display_name,
            counts.c.sent,
            counts.c.failed,
            counts.c.acknowledged,
        )
        .outerjoin(latest, latest.c.review_id == Review.id)
        .outerjoin(
            Scorecard,
            sa.and_(Scorecard.review_id == Review.id, Scorecard.version == latest.c.version),
        )
        .outerjoin(User, User.id == Scorecard.issued_by_id)
        .outerjoin(counts, counts.c.scorecard_id == Scorecard.id)
        .where(Review.partnership_id == partnership_id)
    )
    if issued_only:
        query = query.where(latest.c.version.is_not(None))
    rows = [
        ReviewRow(
            id=row[0],
            kind=str(row[1]),
            first_month=row[2],
            last_month=row[3],
            label=period_label(row[1], row[2], row[3]),
            computed_on=dt.date.fromisoformat(row[4]) if row[4] else None,
            version=row[5],
            issued_at=row[6],
            issued_by=row[7],
            sent=row[8] or 0,
            failed=row[9] or 0,
            acknowledged=row[10] or 0,
        )
        for row in db.session.execute(query)
    ]
    return _sorted(rows, sort)


def _sorted(rows: list[ReviewRow], sort: str) -> list[ReviewRow]:
    newest_period = sorted(rows, key=lambda row: (row.last_month, row.first_month), reverse=True)
    if sort == "issued":
        # Issued ones by issue time, newest first; drafts after them.
        never = dt.datetime.min.replace(tzinfo=dt.UTC)
        return sorted(
            newest_period,
            key=lambda row: (row.issued_at is not None, row.issued_at or never),
            reverse=True,
        )
    if sort == "kind":
        return sorted(newest_period, key=lambda row: row.kind)
    return newest_period


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    scorecard_id: int
    name: str
    email: str
    region: str | None
    side: str | None
    sent_at: dt.datetime | None
    result: str
    error: str | None
    acknowledged_at: dt.datetime | None
    comment: str | None
    mine: bool  # the signed-in user is this sponsor
    read_at: dt.datetime | None = None  # when the sponsor first opened it
    in_app: bool = False  # recorded in the app, never e-mailed


@dataclass(frozen=True, slots=True)
class ScorecardView:
    id: int
    version: int
    issued_at: dt.datetime
    issued_by: str | None
    sha256: str
    size: int
    pages: int | None
    deliveries: tuple[DeliveryView, ...]

    @property
    def sent(self) -> int:
        return sum(1 for d in self.deliveries if d.result == DeliveryResult.SENT)

    @property
    def failed(self) -> int:
        return sum(1 for d in self.deliveries if d.result == DeliveryResult.FAILED)

    @property
    def acknowledged(self) -> int:
        return sum(1 for d in self.deliveries if d.acknowledged_at is not None)

    @property
    def read(self) -> int:
        return sum(1 for d in self.deliveries if d.read_at is not None)

    @property
    def recipients(self) -> int:
        """Everyone it went to: sent, failed or waiting, and those who opened it in the app."""
        return len(self.deliveries)


def scorecard_versions(
    review: Review, user_id: int | None, user_email: str | None = None
) -> list[ScorecardView]:
    """The review's issued versions, newest first, with their deliveries (``mine``: those to
    the sponsor who is ``user_id``, or to ``user_email``), in two queries; the PDFs themselves
    are not read (their size and page count were stored when they were issued)."""
    rows = db.session.execute(
        sa.select(
            Scorecard.id,
            Scorecard.version,
            Scorecard.issued_at,
            User.display_name,
            Scorecard.sha256,
            Scorecard.size_bytes,
            Scorecard.page_count,
        )
        .outerjoin(User, User.id == Scorecard.issued_by_id)
        .where(Scorecard.review_id == review.id)
        .order_by(Scorecard.version.desc())
    ).all()
    deliveries: dict[int, list[DeliveryView]] = {}
    if rows:
        found = db.session.scalars(
            sa.select(ScorecardDelivery)
            .where(ScorecardDelivery.scorecard_id.in_([row[0] for row in rows]))
            .options(so.selectinload(ScorecardDelivery.sponsor).selectinload(Sponsor.region))
            .order_by(ScorecardDelivery.id)
        )
        for delivery in found:
            sponsor = delivery.sponsor
            deliveries.setdefault(delivery.scorecard_id, []).append(
                DeliveryView(
                    id=delivery.id,
                    scorecard_id=delivery.scorecard_id,
                    name=sponsor.name if sponsor else delivery.email,
                    email=delivery.email,
                    region=sponsor.region.name if sponsor else None,
                    side=str(sponsor.side) if sponsor else None,
                    sent_at=delivery.sent_at,
                    result=str(delivery.result),
                    error=delivery.error,
                    acknowledged_at=delivery.acknowledged_at,
                    comment=delivery.comment,
                    mine=(sponsor is not None and sponsor.user_id == user_id)
                    or (user_email is not None and delivery.email == normalise_email(user_email)),
                    read_at=delivery.read_at,
                    in_app=delivery.in_app and delivery.result != DeliveryResult.SENT,
                )
            )
    return [
        ScorecardView(
            id=row[0],
            version=row[1],
            issued_at=row[2],
            issued_by=row[3],
            sha256=row[4],
            size=row[5],
            pages=row[6],
            deliveries=tuple(deliveries.get(row[0], ())),
        )
        for row in rows
    ]


def get_review(user: User, partnership_id: int, review_id: int, action: Action) -> Review:
    """A review of the partnership that ``user`` may ``action``. Drafts (never issued) are
    the leads': anyone else is refused (403), as for any page they may not use; another
    partnership's review, or a missing one, is NotFound."""
    access.require(user, action, partnership_id)
    review = db.session.get(Review, review_id)
    if review is None or review.partnership_id != partnership_id:
        raise NotFound()
    if action is Action.VIEW:
        review_facts(user, partnership_id, review_id)  # drafts are the leads' (remembered)
    return review


@dataclass(frozen=True, slots=True)
class ReviewFacts:
    """What a review's page needs before its remembered body: its period and whether it is
    issued (else it is a lead's draft)."""

    id: int
    kind: ReviewKind
    first_month: Month
    last_month: Month
    issued: bool


def review_facts(user: User, partnership_id: int, review_id: int) -> ReviewFacts:
    """``get_review(..., Action.VIEW)`` for a page whose body is remembered: the same checks
    and answers, from facts remembered per partnership data version (issuing adds an audited
    scorecard, so a draft stays a draft until the version that issued it) instead of loading
    the review."""
    access.require(user, Action.VIEW, partnership_id)

    def read() -> ReviewFacts | None:
        row = db.session.execute(
            sa.select(Review.id, Review.kind, Review.first_month, Review.last_month).where(
                Review.id == review_id, Review.partnership_id == partnership_id
            )
        ).first()
        return None if row is None else ReviewFacts(*row, issued=is_issued(review_id))

    facts = data_version.remembered("reviews.facts", partnership_id, review_id, read)
    if facts is None:
        raise NotFound()
    if not facts.issued:
        access.require(user, Action.MANAGE, partnership_id)
    return facts


def is_issued(review_id: int) -> bool:
    """Whether the review has at least one issued scorecard (else it is a lead's draft)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Scorecard)
            .where(Scorecard.review_id == review_id)
        )
        > 0
    )


def win_choices(review: Review) -> list[tuple[int, str]]:
    """Wins to feature: those of the period — the wins the scorecard's governance page
    lists, so that the cover's top wins are among them."""
    wins = db.session.scalars(
        sa.select(Win)
        .where(
            Win.partnership_id == review.partnership_id,
            Win.won_on.between(review.first_month.first_day, review.last_month.last_day),
        )
        .order_by(Win.won_on.desc(), Win.id.desc())
    )
    return [(win.id, f"{win.title} · {win.won_on.day} {win.won_on:%b %Y}") for win in wins]


def review_as_stored(review: Review) -> Review:
    """After a ``Conflict``: the review as it is stored now (someone else's version), this
    session's unsaved changes dropped."""
    db.session.rollback()
    db.session.refresh(review)
    return review


@dataclass(frozen=True, slots=True)
class ReviewJob:
    """A scorecard job as its progress page shows it: the job, the review it issued or sent
    a scorecard of (None when gone), and the scorecard it issued (None until it has)."""

    job: jobs.JobView
    review: Review | None
    scorecard: Scorecard | None


def scorecard_job(partnership_id: int, job_id: int) -> jobs.JobView:
    """A scorecard job (issuing or sending) of the partnership; NotFound for anything else."""
    view = jobs.get(job_id)
    if view is None or view.partnership_id != partnership_id or view.kind not in JOB_KINDS:
        raise NotFound()
    return view


def _job_review(view: jobs.JobView) -> Review | None:
    """The review a job issued or sent a scorecard of, from its parameters or result."""
    record = db.session.get(Job, view.id)
    params, result = (record.params if record else None) or {}, view.result or {}
    review_id = params.get("review_id") or result.get("review_id")
    if review_id is None:
        scorecard_id = result.get("scorecard_id") or params.get("scorecard_id")
        if scorecard_id is None and (delivery_ids := params.get("delivery_ids")):
            delivery = db.session.get(ScorecardDelivery, delivery_ids[0])
            scorecard_id = delivery.scorecard_id if delivery else None
        if scorecard_id is None and (delivery_id := params.get("delivery_id")):
            delivery = db.session.get(ScorecardDelivery, delivery_id)
            scorecard_id = delivery.scorecard_id if delivery else None
        scorecard = db.session.get(Scorecard, scorecard_id) if scorecard_id else None
        review_id = scorecard.review_id if scorecard else None
    review = db.session.get(Review, review_id) if review_id else None
    return review if review is not None and review.partnership_id == view.partnership_id else None


def review_job(partnership_id: int, job_id: int) -> ReviewJob:
    """A scorecard job of the partnership with its review and, once issued, its scorecard."""
    view = scorecard_job(partnership_id, job_id)
    review = _job_review(view)
    result = view.result or {}
    scorecard = None
    if view.state == "succeeded" and result.get("scorecard_id"):
        scorecard = db.session.get(Scorecard, result["scorecard_id"])
    return ReviewJob(view, review, scorecard)


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


def _target_changes(
    current: ScorecardData, previous: ScorecardData
) -> tuple[TargetChangeFacts, ...]:
    """Target changes this scorecard reports that the previous one did not, and any SLA
    whose target differs between the two without a recorded change (older scorecards)."""

    def key(change: TargetChangeFacts) -> tuple:
        return (change.code, change.effective_from, change.target, change.at_risk)

    seen = {key(change) for change in previous.slas.target_changes}
    found = [change for change in current.slas.target_changes if key(change) not in seen]
    explained = {change.code for change in current.slas.target_changes}
    before = {row.code: row for row in previous.slas.rows}
    for row in current.slas.rows:
        was = before.get(row.code)
        if (
            was is None
            or row.code in explained
            or row.target is None
            or row.at_risk is None
            or (was.target, was.at_risk) == (row.target, row.at_risk)
        ):
            continue
        found.append(
            TargetChangeFacts(
                code=row.code,
                name=row.name,
                unit=row.unit,
                direction=row.direction,
                effective_from=None,
                set_on=None,
                set_by=None,
                previous_target=was.target,
                previous_at_risk=was.at_risk,
                target=row.target,
                at_risk=row.at_risk,
            )
        )
    return tuple(found)


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
    # Targets changed since the previous review; a breach "resolved" by a lower bar shows here.
    target_changes: tuple[TargetChangeFacts, ...] = ()


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
        target_changes=_target_changes(current, previous),
    )
