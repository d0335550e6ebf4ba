"""The agenda that writes itself: one generator, one section function per source of items.

``generate_agenda(partnership_id, meeting, today)`` builds an ``AgendaContext`` once and calls
every function of ``SECTIONS`` in order; each returns ``AgendaEntry`` values with a stable
``source_key`` ("sla:12", "action:40" …) so that a refresh can replace the generated items the
lead has not edited. To add a source, write ``def section(ctx) -> list[AgendaEntry]`` and add
it to ``SECTIONS``.

Every figure comes from the module that owns it — SLA statuses and early warning from
``sla_figures``, gaps and disengaged sponsors from ``sponsors.coverage_matrix``, expectations
due for review from ``expectations.list_expectations``, satisfaction changes outside the
noise band from ``satisfaction.noise_changes`` — never recomputed here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import (
    CLOSED_STATUSES,
    ActionItem,
    Change,
    ChangeStatus,
    Meeting,
    MeetingState,
    Region,
    Review,
    Scorecard,
    ScorecardDelivery,
    Sponsor,
    Win,
)
from mls_tracker.periods import Month
from mls_tracker.services import expectations as expectations_service
from mls_tracker.services import satisfaction as satisfaction_service
from mls_tracker.services import sla_figures
from mls_tracker.services import sponsors as sponsors_service

DUE_SOON_DAYS = 14
TITLE_LENGTH = 300  # an agenda item's title column
CHANGES_AHEAD_DAYS = 30

# Section titles, in the order the agenda shows them.
SLA_SECTION = "SLA performance"
SATISFACTION_SECTION = "Learner satisfaction"
OVERDUE_SECTION = "Overdue actions"
DUE_SOON_SECTION = "Actions due within 14 days"
SPONSORS_SECTION = "Sponsors"
SCORECARD_COMMENTS_SECTION = "Sponsor comments on scorecards"
EXPECTATIONS_SECTION = "Expectations due for review"
CHANGES_SECTION = "Changes going live"
WINS_SECTION = "Wins"
OTHER_SECTION = "Other business"

SECTION_ORDER = (
    SLA_SECTION,
    SATISFACTION_SECTION,
    OVERDUE_SECTION,
    DUE_SOON_SECTION,
    SPONSORS_SECTION,
    SCORECARD_COMMENTS_SECTION,
    EXPECTATIONS_SECTION,
    CHANGES_SECTION,
    WINS_SECTION,
    OTHER_SECTION,
)


@dataclass(frozen=True, slots=True)
class AgendaEntry:
    section: str
    title: str
    detail: str | None
    source_key: str


@dataclass
class AgendaContext:
    partnership_id: int
    meeting: Meeting
    today: dt.date

    @property
    def reviewed_month(self) -> Month:
        return self.meeting.reviewed_month

    @cached_property
    def previous_held_on(self) -> dt.date | None:
        """The date of the partnership's last held meeting before this one."""
        query = sa.select(sa.func.max(Meeting.held_on)).where(
            Meeting.partnership_id == self.partnership_id,
            Meeting.state.in_((MeetingState.HELD, MeetingState.MINUTES_APPROVED)),
            Meeting.held_on < self.meeting.held_on,
        )
        if self.meeting.id is not None:
            query = query.where(Meeting.id != self.meeting.id)
        return db.session.scalar(query)

    @cached_property
    def open_actions(self) -> list[ActionItem]:
        return list(
            db.session.scalars(
                sa.select(ActionItem)
                .where(
                    ActionItem.partnership_id == self.partnership_id,
                    ActionItem.status.not_in(list(CLOSED_STATUSES)),
                    ActionItem.due_on <= self.today + dt.timedelta(days=DUE_SOON_DAYS),
                )
                .order_by(ActionItem.due_on, ActionItem.id)
            )
        )


def day_text(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def _carried(action: ActionItem) -> str:
    if not action.times_carried:
        return "not carried over yet"
    return f"carried {action.times_carried}×"


def sla_section(ctx: AgendaContext) -> list[AgendaEntry]:
    """Breached and at-risk SLAs in the reviewed month (confirmed figures only), and those
    trending to breach as of that month."""
    month = ctx.reviewed_month
    entries = []
    for series in sla_figures.load_sla_series(ctx.partnership_id, month.shift(-6), month):
        status = sla_figures.status_of(series, month, confirmed_only=True)
        if status in (sla_figures.Status.BREACHED, sla_figures.Status.AT_RISK):
            entries.append(
                AgendaEntry(
                    SLA_SECTION,
                    f"{series.code} {series.name}: {status} in {month.label}",
                    None,
                    f"sla:{series.sla_id}",
                )
            )
            continue
        warning = sla_figures.early_warning(series, month)
        if warning is not None:
            entries.append(
                AgendaEntry(
                    SLA_SECTION,
                    f"{series.code} {series.name}: trending to breach by "
                    f"{warning.breach_month.label}",
                    None,
                    f"sla:{series.sla_id}",
                )
            )
    return entries


def _satisfaction_value(measure: str, value: float) -> str:
    """A whole number, halves rounded away from zero (70.5% → 71%, as people round)."""
    whole = int(Decimal(str(value)).quantize(Decimal(1), ROUND_HALF_UP))
    return f"{whole}%" if measure == "csat" else f"{whole:+d}"


def satisfaction_section(ctx: AgendaContext) -> list[AgendaEntry]:
    """CSAT and NPS changes outside the noise band from the month before to the reviewed
    month (the rule of ``services.satisfaction``), overall and per region; and a note when
    the reviewed month's overall figure rests on a low sample."""
    month = ctx.reviewed_month
    report = satisfaction_service.load_satisfaction(ctx.partnership_id, month.previous(), month)
    entries = []
    for change in satisfaction_service.noise_changes(report, month):
        label = "CSAT" if change.measure == "csat" else "NPS"
        where = f"{change.region_name}: " if change.region_id is not None else ""
        scope = f"region:{change.region_id}" if change.region_id is not None else "all"
        entries.append(
            AgendaEntry(
                SATISFACTION_SECTION,
                f"{where}{label} {change.direction} from "
                f"{_satisfaction_value(change.measure, change.previous)} to "
                f"{_satisfaction_value(change.measure, change.current)} "
                f"(n {change.n_previous} → {change.n_current})",
                f"{month.previous().label} → {month.label}: a change of "
                f"{abs(change.delta):.1f} points, outside the noise band of "
                f"±{change.threshold:.1f}.",
                f"satisfaction:{change.measure}:{scope}",
            )
        )
    current = report.month_figure(month)
    if current is not None and current.low_sample:
        entries.append(
            AgendaEntry(
                SATISFACTION_SECTION,
                f"Low sample in {month.label}: n {current.n} — not to be read as a trend",
                f"Fewer than {satisfaction_service.LOW_SAMPLE_N} answers; "
                "ask the provider to raise the survey response rate.",
                "satisfaction:low-sample",
            )
        )
    return entries


def overdue_actions_section(ctx: AgendaContext) -> list[AgendaEntry]:
    return [
        AgendaEntry(
            OVERDUE_SECTION,
            action.title,
            f"Due {day_text(action.due_on)}, {action.owner_side} side · {_carried(action)}",
            f"action:{action.id}",
        )
        for action in ctx.open_actions
        if action.due_on < ctx.today
    ]


def due_soon_actions_section(ctx: AgendaContext) -> list[AgendaEntry]:
    return [
        AgendaEntry(
            DUE_SOON_SECTION,
            action.title,
            f"Due {day_text(action.due_on)}, {action.owner_side} side · {_carried(action)}",
            f"action:{action.id}",
        )
        for action in ctx.open_actions
        if action.due_on >= ctx.today
    ]


def sponsors_section(ctx: AgendaContext) -> list[AgendaEntry]:
    matrix = sponsors_service.coverage_matrix(ctx.partnership_id, ctx.today)
    entries = [
        AgendaEntry(
            SPONSORS_SECTION,
            f"Coverage gap: no client sponsor for {row.region_name}",
            None,
            f"gap:{row.region_id}",
        )
        for row in matrix.gaps
    ]
    entries += [
        AgendaEntry(
            SPONSORS_SECTION,
            f"Disengaged sponsor: {view.name} ({view.region_name}, {view.side} side)",
            "Attended none of the last 3 meetings.",
            f"sponsor:{view.id}",
        )
        for view in matrix.disengaged
    ]
    return entries


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _quoted(text: str, room: int) -> str:
    """The comment in quotes, shortened with an ellipsis to fit ``room`` characters."""
    text = " ".join(text.split())
    if len(text) + 2 > room:
        text = text[: max(room - 3, 0)].rstrip() + "…"
    return f"“{text}”"


def scorecard_comments_section(ctx: AgendaContext) -> list[AgendaEntry]:
    """Sponsors' comments on this partnership's scorecards written (or last edited) since the
    previous held meeting, up to this meeting's day (``services/scorecard_delivery.py``)."""
    period = Scorecard.snapshot["period"]["label"].as_string()
    query = (
        sa.select(ScorecardDelivery, Scorecard.version, period, Sponsor.name, Region.name)
        .join(Scorecard, ScorecardDelivery.scorecard_id == Scorecard.id)
        .join(Review, Scorecard.review_id == Review.id)
        .outerjoin(Sponsor, ScorecardDelivery.sponsor_id == Sponsor.id)
        .outerjoin(Region, Sponsor.region_id == Region.id)
        .where(
            Review.partnership_id == ctx.partnership_id,
            ScorecardDelivery.comment.is_not(None),
            ScorecardDelivery.commented_at < _day_start(ctx.meeting.held_on + dt.timedelta(1)),
        )
        .order_by(ScorecardDelivery.commented_at, ScorecardDelivery.id)
    )
    if ctx.previous_held_on is not None:
        query = query.where(
            ScorecardDelivery.commented_at >= _day_start(ctx.previous_held_on + dt.timedelta(1))
        )
    entries = []
    for delivery, version, label, sponsor, region in db.session.execute(query):
        who = f"{sponsor or delivery.email}{f' ({region})' if region else ''}"
        head = f"{who} on the {label} scorecard v{version}: "
        comment = delivery.comment or ""
        title = head + _quoted(comment, TITLE_LENGTH - len(head))
        reviewed, written = delivery.acknowledged_at.date(), delivery.commented_at.date()
        detail = f"Reviewed on {day_text(reviewed)}."
        if written != reviewed:
            detail = f"Reviewed on {day_text(reviewed)}; comment written on {day_text(written)}."
        if len(" ".join(comment.split())) + 2 > TITLE_LENGTH - len(head):
            detail += f" The whole comment: “{comment}”"
        entries.append(
            AgendaEntry(
                SCORECARD_COMMENTS_SECTION, title, detail, f"scorecard-comment:{delivery.id}"
            )
        )
    return entries


def expectations_section(ctx: AgendaContext) -> list[AgendaEntry]:
    return [
        AgendaEntry(
            EXPECTATIONS_SECTION,
            view.statement,
            f"Revisit by {day_text(view.revisit_by)} ({view.days_past_revisit} days ago)",
            f"expectation:{view.id}",
        )
        for view in expectations_service.list_expectations(
            ctx.partnership_id, ctx.today, due_only=True
        )
    ]


def changes_section(ctx: AgendaContext) -> list[AgendaEntry]:
    changes = db.session.scalars(
        sa.select(Change)
        .where(
            Change.partnership_id == ctx.partnership_id,
            Change.planned_on >= ctx.today,
            Change.planned_on <= ctx.today + dt.timedelta(days=CHANGES_AHEAD_DAYS),
            Change.status.not_in([ChangeStatus.LIVE, ChangeStatus.CANCELLED]),
        )
        .order_by(Change.planned_on, Change.id)
    )
    return [
        AgendaEntry(
            CHANGES_SECTION,
            change.title,
            f"Planned for {day_text(change.planned_on)} ({change.status})",
            f"change:{change.id}",
        )
        for change in changes
        if change.planned_on is not None
    ]


def wins_section(ctx: AgendaContext) -> list[AgendaEntry]:
    query = sa.select(Win).where(Win.partnership_id == ctx.partnership_id)
    if ctx.previous_held_on is not None:
        query = query.where(Win.won_on > ctx.previous_held_on)
    return [
        AgendaEntry(WINS_SECTION, win.title, f"Won on {day_text(win.won_on)}", f"win:{win.id}")
        for win in db.session.scalars(query.order_by(Win.won_on, Win.id))
    ]


SECTIONS: tuple[Callable[[AgendaContext], list[AgendaEntry]], ...] = (
    sla_section,
    satisfaction_section,
    overdue_actions_section,
    due_soon_actions_section,
    sponsors_section,
    scorecard_comments_section,
    expectations_section,
    changes_section,
    wins_section,
)


def generate_agenda(partnership_id: int, meeting: Meeting, today: dt.date) -> list[AgendaEntry]:
    """Every generated agenda entry for the meeting, section by section."""
    ctx = AgendaContext(partnership_id, meeting, today)
    return [entry for section in SECTIONS for entry in section(ctx)]


def section_rank(section: str) -> int:
    try:
        return SECTION_ORDER.index(section)
    except ValueError:
        return len(SECTION_ORDER)
