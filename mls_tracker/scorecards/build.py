"""Building a scorecard's snapshot: every figure of one partnership's month or quarter, one
builder per section, composed by ``build_scorecard_data``.

The figures come from the modules that own each definition — ``sla_figures`` (statuses,
attainment), ``satisfaction`` (CSAT with Wilson, NPS with its margin, low sample, reported
totals), ``action_figures``, ``sponsors`` (coverage and engagement), ``health`` and the
monthly figures cache of ``dashboard`` — and end as the plain values of ``snapshot``.

Over a quarter:

- **SLA attainment** = Σ met weight ÷ Σ measured weight over the quarter's SLA-months; an SLA
  counts as *measured* when at least one of its months has a confirmed measurement and as
  *missing* when it has none (an applicable month without one is never counted as met);
  each SLA's row shows the quarter's last month;
- **satisfaction** adds up every response of the quarter (never averages of months); with no
  response at all, the reported whole-partnership totals of its months are combined,
  weighted by their n, and marked *reported* (reported and computed are never mixed);
- **action plan health** covers the items due in the quarter; overdue is as of its last day;
- **sponsor coverage** is the coverage on the period's last day.

The tiles' *previous* values are those the executives saw — the latest issued scorecard of
the previous review — or, when there is none, the same figures computed for the preceding
period of the same length; ``previous_label`` says which.

The loaders (``_load_*`` and the figure services) each make a fixed number of queries, so the
number of queries does not depend on the amount of data; the section builders take what was
loaded as plain arguments and return their snapshot dataclass.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker import formatting
from mls_tracker.extensions import db
from mls_tracker.models import (
    CLOSED_STATUSES,
    ActionItem,
    ActionStatus,
    Attendance,
    Logo,
    Meeting,
    MeetingState,
    Partnership,
    ReviewKind,
    Sla,
    SlaTarget,
    SurveyImport,
    SurveyResponse,
    User,
)
from mls_tracker.models.satisfaction import ImportState
from mls_tracker.periods import Month, month_range
from mls_tracker.scorecards.credit_facts import credit_section
from mls_tracker.scorecards.snapshot import (
    ActionRow,
    ActionSection,
    AttainmentPoint,
    ChangeFacts,
    CoverageFacts,
    CoverStory,
    DeliveryMonthFacts,
    DeliverySection,
    ExpectationFacts,
    FlowPoint,
    GovernanceSection,
    HealthFacts,
    HealthPointFacts,
    MeetingFacts,
    PartnershipFacts,
    PeriodFacts,
    SatisfactionFacts,
    SatisfactionSection,
    ScorecardData,
    SlaRow,
    SlaSection,
    SlaTrendPoint,
    SponsorFacts,
    TargetChangeFacts,
    Tile,
    TrendToBreach,
    WinFacts,
)
from mls_tracker.scorecards.story import (
    LOOK_AHEAD_DAYS,
    UpcomingChange,
    UpcomingExpectation,
    draft_key_messages,
    health_line,
    look_ahead,
)
from mls_tracker.services import dashboard
from mls_tracker.services import delivery as delivery_service
from mls_tracker.services import satisfaction as satisfaction_service
from mls_tracker.services.action_figures import (
    ActionFigures,
    MonthFlow,
    action_figures,
    monthly_flow,
)
from mls_tracker.services.changes import ChangeView, list_changes
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.expectations import ExpectationView, list_expectations
from mls_tracker.services.health import (
    ComponentKey,
    compare,
    health_score,
    partnership_weights,
    satisfaction_component,
)
from mls_tracker.services.logos import logo_facts
from mls_tracker.services.sla_figures import (
    Attainment,
    SlaSeries,
    Status,
    attainment,
    early_warning,
    load_sla_series,
    status_of,
)
from mls_tracker.services.slas import rejudged_texts
from mls_tracker.services.sponsors import HELD_STATES, CoverageMatrix, SponsorView, coverage_matrix
from mls_tracker.services.survey_import import scale_note
from mls_tracker.services.wins import WinView, list_wins

SERIES_MONTHS = 12  # the charts' months, up to the period's end
SLA_TREND_MONTHS = 6  # each SLA row's trend
QUARTER_MONTHS = 3

TILE_LABELS = {
    ComponentKey.SLA: "SLA attainment",
    ComponentKey.SATISFACTION: "Satisfaction (CSAT)",
    ComponentKey.ACTIONS: "Action plan health",
    ComponentKey.COVERAGE: "Sponsor coverage",
}
SCALED_MEAN_LABEL = "Satisfaction (mean rating, scaled)"


# ----------------------------------------------------------------------------- periods


def period_months(kind: ReviewKind | str, first_month: Month) -> tuple[Month, Month]:
    """The first and last month of a review period starting at ``first_month``."""
    if ReviewKind(kind) is ReviewKind.QUARTERLY:
        return first_month, first_month.shift(QUARTER_MONTHS - 1)
    return first_month, first_month


def period_label(kind: ReviewKind | str, first_month: Month, last_month: Month) -> str:
    """ "October 2026", or "Q3 2026 (Jul–Sep 2026)"."""
    if ReviewKind(kind) is ReviewKind.QUARTERLY:
        quarter = (first_month.month - 1) // 3 + 1
        return (
            f"Q{quarter} {first_month.year} "
            f"({first_month.first_day:%b}–{last_month.first_day:%b %Y})"
        )
    return f"{first_month.first_day:%B %Y}"


def _round(value: float | Decimal | None, places: int = 1) -> float | None:
    """Rounded half up for display (never banker's ``round``: 72.25 → 72.3)."""
    return None if value is None else float(formatting.rounded(float(value), places))


# ----------------------------------------------------------------------------- SLAs


def _status_text(series: SlaSeries, month: Month) -> str:
    """The status a scorecard prints: a month holding only a proposed measurement is
    "proposed" (still missing for attainment), not applicable is "n/a"."""
    status = status_of(series, month, confirmed_only=True)
    point = series.measurements.get(month)
    if status is Status.MISSING and point is not None and not point.confirmed:
        return "proposed"
    if status is Status.NOT_APPLICABLE:
        return "n/a"
    return status.value


def _confirmed_actual(series: SlaSeries, month: Month) -> float | None:
    point = series.measurements.get(month)
    if point is None or not point.confirmed or point.not_applicable or point.value is None:
        return None
    return float(point.value)


_MEASURED = (Status.MET, Status.AT_RISK, Status.BREACHED)


def _sum_attainment(points: Sequence[Attainment], month: Month) -> Attainment:
    """One period's attainment: Σ met weight ÷ Σ measured weight over its SLA-months."""
    counts = dict.fromkeys(Status, 0)
    for point in points:
        for status, count in point.counts.items():
            counts[status] += count
    return Attainment(
        month,
        sum((p.met_weight for p in points), Decimal(0)),
        sum((p.measured_weight for p in points), Decimal(0)),
        counts,
    )


@dataclass(frozen=True, slots=True)
class _SlaPeriod:
    percent: float | None
    measured: int
    missing: int
    total: int
    breached: int
    at_risk: int
    exact: float | None = None  # unrounded: what the health score is computed from
    proposed: int = 0  # of the SLAs not measured: an actual awaits the lead's confirmation


def _sla_period(
    series: Sequence[SlaSeries], by_month: dict[Month, Attainment], months: Sequence[Month]
) -> _SlaPeriod:
    total = _sum_attainment([by_month[m] for m in months], months[-1])
    measured = missing = proposed = 0
    for one in series:
        statuses = [status_of(one, m, confirmed_only=True) for m in months]
        if any(s in _MEASURED for s in statuses):
            measured += 1
        elif any(
            (point := one.measurements.get(m)) is not None and not point.confirmed for m in months
        ):
            proposed += 1  # issue 15: proposed, not missing
        elif Status.MISSING in statuses:
            missing += 1
    return _SlaPeriod(
        percent=total.percent,
        measured=measured,
        missing=missing,
        total=len(series),
        breached=total.counts[Status.BREACHED],
        at_risk=total.counts[Status.AT_RISK],
        exact=total.exact_percent,
        proposed=proposed,
    )


def sla_section(
    series: Sequence[SlaSeries],
    by_month: dict[Month, Attainment],
    months: Sequence[Month],
    chart_months: Sequence[Month],
) -> tuple[SlaSection, _SlaPeriod]:
    last = months[-1]
    period = _sla_period(series, by_month, months)
    trend_months = month_range(last.shift(-(SLA_TREND_MONTHS - 1)), last)
    rows = []
    for one in series:
        target = one.target_for(last)
        point = one.measurements.get(last)
        rows.append(
            SlaRow(
                code=one.code,
                name=one.name,
                unit=str(one.unit.value),
                direction=str(one.direction.value),
                target=None if target is None else float(target.target),
                at_risk=None if target is None else float(target.at_risk_threshold),
                actual=_confirmed_actual(one, last),
                status=_status_text(one, last),
                weight=float(one.weight),
                note=point.note if point is not None else None,
                trend=tuple(
                    SlaTrendPoint(m, _confirmed_actual(one, m), _status_text(one, m))
                    for m in trend_months
                ),
            )
        )
    chart = tuple(
        AttainmentPoint(
            month=m,
            percent=by_month[m].percent,
            met=by_month[m].counts[Status.MET],
            at_risk=by_month[m].counts[Status.AT_RISK],
            breached=by_month[m].counts[Status.BREACHED],
            missing=by_month[m].counts[Status.MISSING],
        )
        for m in chart_months
    )
    section = SlaSection(
        attainment=period.percent,
        measured=period.measured,
        total=period.total,
        missing=period.missing,
        rows=tuple(rows),
        series=chart,
        proposed=sum(1 for one in series for m in months if _status_text(one, m) == "proposed"),
    )
    return section, period


def with_recovery(
    section: SlaSection, series: Sequence[SlaSeries], recovery: dict[int, ActionRow]
) -> SlaSection:
    """The section with each SLA row's recovery action (its rows follow ``series``)."""
    rows = tuple(
        dataclasses.replace(row, recovery=recovery.get(one.sla_id))
        for row, one in zip(section.rows, series, strict=True)
    )
    return dataclasses.replace(section, rows=rows)


def target_changes(
    partnership_id: int, first_month: Month, last_month: Month
) -> tuple[TargetChangeFacts, ...]:
    """Targets of active SLAs that took over from an earlier one and are in force within
    the SLA trend months, or that were set during the period for a month up to its end
    (those may re-judge months already judged), oldest first; one query."""
    trend_from = last_month.shift(-(SLA_TREND_MONTHS - 1))
    set_since = _start_of(first_month.first_day)
    rows = db.session.execute(
        sa.select(Sla, SlaTarget, User.display_name)
        .join(SlaTarget, SlaTarget.sla_id == Sla.id)
        .outerjoin(User, User.id == SlaTarget.set_by_id)
        .options(so.selectinload(Sla.targets))
        .where(Sla.partnership_id == partnership_id, Sla.active.is_(True))
        .where(SlaTarget.effective_from <= last_month)
        .where(sa.or_(SlaTarget.effective_from >= trend_from, SlaTarget.created_at >= set_since))
        .order_by(SlaTarget.effective_from, Sla.code)
    ).all()
    found = []
    for sla, point, set_by in rows:
        earlier = [t for t in sla.targets if t.effective_from < point.effective_from]
        if not earlier:  # the SLA's first target: nothing changed
            continue
        before = max(earlier, key=lambda t: t.effective_from)
        found.append(
            TargetChangeFacts(
                code=sla.code,
                name=sla.name,
                unit=str(sla.unit.value),
                direction=str(sla.direction.value),
                effective_from=point.effective_from,
                set_on=point.created_at.date() if point.created_at else None,
                set_by=set_by,
                previous_target=float(before.target),
                previous_at_risk=float(before.at_risk_threshold),
                target=float(point.target),
                at_risk=float(point.at_risk_threshold),
                rejudged=rejudged_texts(point.rejudged),
            )
        )
    return tuple(found)


# ----------------------------------------------------------------------------- satisfaction


def _facts(figure: satisfaction_service.SatisfactionFigure, label: str) -> SatisfactionFacts:
    return SatisfactionFacts(
        label=label,
        month=figure.month,
        n_rating=figure.n_rating,
        mean_rating=figure.mean_rating,
        csat=figure.csat,
        csat_low=figure.csat_low,
        csat_high=figure.csat_high,
        n_recommend=figure.n_recommend,
        nps=figure.nps,
        nps_moe=figure.nps_moe,
        low_sample=figure.low_sample,
        source=figure.source,
    )


def _month_facts(figures: dashboard.MonthFigures) -> SatisfactionFacts:
    return SatisfactionFacts(
        label=figures.month.label,
        month=figures.month,
        n_rating=figures.n_rating,
        mean_rating=figures.mean_rating,
        csat=figures.csat,
        csat_low=figures.csat_low,
        csat_high=figures.csat_high,
        n_recommend=figures.n_recommend,
        nps=figures.nps,
        nps_moe=figures.nps_moe,
        low_sample=figures.low_sample,
        source=figures.satisfaction_source or satisfaction_service.COMPUTED,
    )


def _empty_facts(label: str) -> SatisfactionFacts:
    return SatisfactionFacts(
        label, None, 0, None, None, None, None, 0, None, None, False, satisfaction_service.COMPUTED
    )


def _exact_satisfaction(
    months: Sequence[Month], counts: dict[Month, satisfaction_service.Counts]
) -> float | None:
    """The satisfaction component of the period's responses, unrounded (CSAT, else the
    scaled mean); None without responses (reported totals are used as entered)."""
    total = satisfaction_service.Counts()
    for month in months:
        total += counts.get(month, satisfaction_service.Counts())
    if not total.n_rating:
        return None
    return satisfaction_component(
        100 * total.satisfied / total.n_rating, total.rating_sum / total.n_rating
    )


def _weighted(pairs: Iterable[tuple[float | None, int]]) -> Decimal | None:
    known = [(value, n) for value, n in pairs if value is not None and n]
    total = sum(n for _, n in known)
    if not total:
        return None
    return formatting.rounded(sum(float(value) * n for value, n in known) / total, 2)


def _period_satisfaction(
    months: Sequence[Month],
    counts: dict[Month, satisfaction_service.Counts],
    figures: dict[Month, dashboard.MonthFigures],
    label: str,
) -> SatisfactionFacts:
    """The period's satisfaction from every response in it; with none, its reported totals."""
    total = satisfaction_service.Counts()
    for month in months:
        total += counts.get(month, satisfaction_service.Counts())
    if total.n_rating or total.n_recommend:
        return _facts(satisfaction_service.figure_from_counts(total), label)
    reported = [figures[m] for m in months if figures[m].satisfaction_source == "reported"]
    if not reported:
        return _empty_facts(label)
    if len(reported) == 1:
        return dataclasses.replace(_month_facts(reported[0]), label=label, month=None)
    # Several reported months: one reported total, each month weighted by its n.
    view = satisfaction_service.ReportedView(
        id=0,
        month=months[-1],
        region_id=None,
        region_name=None,
        program=None,
        responses=sum(max(f.n_rating, f.n_recommend) for f in reported),
        mean_rating=_weighted((f.mean_rating, f.n_rating) for f in reported),
        csat=_weighted((f.csat, f.n_rating) for f in reported),
        nps=_weighted((f.nps, f.n_recommend) for f in reported),
        superseded=False,
        entered_by_name=None,
        created_at=None,
    )
    figure = satisfaction_service.figure_from_reported(view)
    return dataclasses.replace(_facts(figure, label), month=None)


# ----------------------------------------------------------------------------- actions


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _action_rows(
    partnership_id: int,
    months: Sequence[Month],
    as_of: dt.date,
    next_review_on: dt.date,
    today: dt.date | None = None,
) -> tuple[
    tuple[ActionRow, ...], tuple[ActionRow, ...], tuple[ActionRow, ...], dict[int, ActionRow]
]:
    """Items open at ``as_of`` (overdue first), those of them due before the next review,
    the items done in the period, and per SLA the open item linked to it that is due first
    (its recovery action) — from one query. The recovery action is the one open on ``today``
    (the day the figures are computed) when there is one: a breach of the period is usually
    answered at the meeting after it, which the scorecard is read after.
    Else the one open at ``as_of``."""
    item = ActionItem
    first_day = months[0].first_day
    today = max(today or as_of, as_of)
    period_end = _start_of(as_of + dt.timedelta(days=1))
    rows = db.session.execute(
        sa.select(
            item.title,
            item.owner_side,
            User.display_name,
            item.due_on,
            item.status,
            item.priority,
            item.closed_on,
            item.id,
            item.sla_id,
            item.created_at,
        )
        .outerjoin(User, User.id == item.owner_id)
        .where(
            item.partnership_id == partnership_id,
            item.created_at < _start_of(today + dt.timedelta(days=1)),
            item.closed_on.is_(None) | (item.closed_on >= first_day),
            ~((item.status == ActionStatus.CANCELLED) & item.closed_on.is_(None)),
        )
        .order_by(item.due_on, item.id)
    ).all()
    open_rows: list[ActionRow] = []
    closed: list[tuple[dt.date, int, ActionRow]] = []
    recovery: dict[int, ActionRow] = {}
    recovery_then: dict[int, ActionRow] = {}
    for title, side, owner, due_on, status, priority, closed_on, item_id, sla_id, created in rows:
        if sla_id is not None and (closed_on is None or closed_on > today):
            recovery.setdefault(  # ordered by due date: the first due
                sla_id,
                ActionRow(
                    title=title,
                    owner_side=side.value,
                    owner_name=owner,
                    due_on=due_on,
                    status="open" if status in CLOSED_STATUSES else status.value,
                    priority=priority.value,
                    overdue=due_on < today,
                ),
            )
        if created >= period_end:
            continue  # created after the period: only a recovery action
        is_open = closed_on is None or closed_on > as_of
        row = ActionRow(
            title=title,
            owner_side=side.value,
            owner_name=owner,
            due_on=due_on,
            # An item closed after the period's end was still open at it.
            status="open" if is_open and status in CLOSED_STATUSES else status.value,
            priority=priority.value,
            overdue=is_open and due_on < as_of,
        )
        if is_open:
            open_rows.append(row)
            if sla_id is not None:
                recovery_then.setdefault(sla_id, row)
        elif status is ActionStatus.DONE:
            closed.append((closed_on, item_id, row))
    open_rows.sort(key=lambda row: not row.overdue)  # stable: by due date within each
    due_next = tuple(
        row for row in open_rows if row.due_on is not None and as_of < row.due_on <= next_review_on
    )
    closed.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    recovery = {**recovery_then, **recovery}
    return tuple(open_rows), due_next, tuple(row for _, _, row in closed), recovery


def _next_review_on(partnership_id: int, as_of: dt.date, next_period_end: dt.date) -> dt.date:
    """The next governance meeting after the period, else the end of the next period."""
    planned = db.session.scalar(
        sa.select(sa.func.min(Meeting.held_on)).where(
            Meeting.partnership_id == partnership_id, Meeting.held_on > as_of
        )
    )
    return planned or next_period_end


# ----------------------------------------------------------------------------- governance


def _sponsor_facts(view: SponsorView) -> SponsorFacts:
    engagement = view.engagement
    return SponsorFacts(
        name=view.name,
        title=view.title,
        attended=engagement.attended if engagement else 0,
        held=engagement.held if engagement else 0,
        days_since_attended=engagement.days_since_last_attended if engagement else None,
    )


def _meetings(partnership_id: int, months: Sequence[Month]) -> tuple[MeetingFacts, ...]:
    """The meetings held in the period with their attendance, in one query."""
    present = sa.func.coalesce(sa.func.sum(sa.case((Attendance.present.is_(True), 1), else_=0)), 0)
    rows = db.session.execute(
        sa.select(
            Meeting.held_on, Meeting.kind, Meeting.state, present, sa.func.count(Attendance.id)
        )
        .outerjoin(Attendance, Attendance.meeting_id == Meeting.id)
        .where(
            Meeting.partnership_id == partnership_id,
            Meeting.state.in_(HELD_STATES),
            Meeting.held_on.between(months[0].first_day, months[-1].last_day),
        )
        .group_by(Meeting.id, Meeting.held_on, Meeting.kind, Meeting.state)
        .order_by(Meeting.held_on, Meeting.id)
    ).all()
    return tuple(
        MeetingFacts(held_on, kind.value, state.value, int(n_present), int(invited))
        for held_on, kind, state, n_present, invited in rows
    )


def _win_facts(view: WinView) -> WinFacts:
    return WinFacts(
        title=view.title,
        story=view.story,
        won_on=view.won_on,
        region=view.region_name,
        impact=view.measurable_impact,
        shareable=view.shareable,
    )


# ----------------------------------------------------------------------------- the data


@dataclass(frozen=True, slots=True)
class _Components:
    """A period's four health components and what the tiles say about them."""

    sla: _SlaPeriod
    satisfaction: SatisfactionFacts
    actions: ActionFigures
    coverage: float | None  # 0–100
    regions_in_scope: int = 0
    regions_covered: int = 0
    satisfaction_exact: float | None = None  # unrounded component, from the responses

    def values(self) -> dict[ComponentKey, float | None]:
        """The components unrounded (issue 15: the score is rounded once, for display)."""
        sat = self.satisfaction_exact
        return {
            ComponentKey.SLA: self.sla.percent if self.sla.exact is None else self.sla.exact,
            ComponentKey.SATISFACTION: satisfaction_component(
                self.satisfaction.csat, self.satisfaction.mean_rating
            )
            if sat is None
            else sat,
            ComponentKey.ACTIONS: self.actions.health,
            ComponentKey.COVERAGE: self.coverage,
        }


def tiles(now: _Components, before: dict[str, float | None], quarterly: bool) -> tuple[Tile, ...]:
    """The four tiles: this period's health components, each with its earlier value."""
    values = now.values()
    sla = now.sla
    where = "in the quarter" if quarterly else "this month"
    if sla.measured or sla.missing or sla.proposed:
        sla_detail = f"{sla.measured} of {sla.total} SLAs measured"
        if sla.proposed:
            sla_detail += f" · {sla.proposed} proposed, not yet confirmed"
        if sla.missing:
            sla_detail += f" · {sla.missing} missing"
    else:
        sla_detail = f"No SLA measured {where}"
    sat = now.satisfaction
    if sat.csat is not None:
        sat_label, sat_unit = TILE_LABELS[ComponentKey.SATISFACTION], "%"
        sat_detail = f"n = {sat.n_rating}"
        if sat.nps is not None:
            sat_detail += f" · NPS {sat.nps:+.0f} (n = {sat.n_recommend})"
    elif sat.mean_rating is not None:
        sat_label, sat_unit = SCALED_MEAN_LABEL, ""
        sat_detail = f"Mean rating {formatting.fixed(sat.mean_rating, 2)} of 5 · n = {sat.n_rating}"
    else:
        sat_label, sat_unit = TILE_LABELS[ComponentKey.SATISFACTION], "%"
        sat_detail = f"No ratings {where}"
    if sat.source == satisfaction_service.REPORTED and sat.n_rating + sat.n_recommend:
        sat_detail += " · reported totals"
    act = now.actions
    act_detail = (
        f"{act.closed_on_time} of {act.due} due closed on time · {act.overdue} overdue"
        if act.due
        else f"Nothing due · {act.overdue} overdue"
    )
    cov_detail = (
        f"{now.regions_covered} of {now.regions_in_scope} regions have a client sponsor"
        if now.regions_in_scope
        else "No regions in scope"
    )
    return (
        Tile("sla", TILE_LABELS[ComponentKey.SLA], _round(values[ComponentKey.SLA]),
             before.get("sla"), sla_detail),
        Tile("satisfaction", sat_label, _round(values[ComponentKey.SATISFACTION]),
             before.get("satisfaction"), sat_detail, unit=sat_unit, low_sample=sat.low_sample),
        Tile("actions", TILE_LABELS[ComponentKey.ACTIONS], _round(values[ComponentKey.ACTIONS]),
             before.get("actions"), act_detail),
        Tile("coverage", TILE_LABELS[ComponentKey.COVERAGE], _round(values[ComponentKey.COVERAGE]),
             before.get("coverage"), cov_detail),
    )  # fmt: skip


def health_facts(values: dict[ComponentKey, float | None], weights: dict) -> HealthFacts:
    """The health score of four component values (``previous`` filled in by the caller)."""
    score = health_score(values, weights)
    return HealthFacts(
        score=None if score.score is None else int(score.score),
        rag=None if score.rag is None else score.rag.value,
        previous=None,
        left_out=tuple(c.label for c in score.left_out),
        missing=score.missing_text,
        weights=tuple(
            (c.label, round(c.effective_weight * 100, 1))
            for c in score.components
            if c.effective_weight is not None
        ),
    )


def _with_previous(
    facts: HealthFacts, now: _Components, before: _Before, weights: dict, kind: ReviewKind
) -> HealthFacts:
    """The health facts with the earlier score to compare with, like for like: when the two
    periods do not have the same parts, the change is the one on the parts both have, and
    the note says so (issue 15)."""
    earlier = {key: before.tiles.get(key.value) for key in ComponentKey}
    change = compare(health_score(now.values(), weights), health_score(earlier, weights))
    if not change.partial or change.delta is None or facts.score is None:
        return dataclasses.replace(facts, previous=before.health)
    periods = "quarters" if kind is ReviewKind.QUARTERLY else "months"
    return dataclasses.replace(
        facts,
        previous=int(facts.score - change.delta),
        previous_note=change.note_for(periods),
    )


def _load_partnership(partnership_id: int) -> Partnership:
    partnership = db.session.scalar(
        sa.select(Partnership)
        .options(
            so.joinedload(Partnership.client),
            so.joinedload(Partnership.provider),
            so.joinedload(Partnership.home_region),
            so.selectinload(Partnership.regions),
            so.joinedload(Partnership.logo).undefer(Logo.png),
        )
        .where(Partnership.id == partnership_id)
    )
    if partnership is None:
        raise ValidationFailed("There is no such partnership.")
    return partnership


# ----------------------------------------------------------------------------- sections


def partnership_facts(partnership: Partnership) -> PartnershipFacts:
    """Who the scorecard is about (client, provider, scope), from a loaded partnership."""
    return PartnershipFacts(
        id=partnership.id,
        name=partnership.name,
        client=partnership.client.name,
        provider=partnership.provider.name,
        engagement_model=partnership.engagement_model.value,
        governance_model=partnership.governance_model.value,
        status=partnership.status.value,
        home_region=partnership.home_region.name if partnership.home_region else None,
        regions=tuple(
            r.name for r in sorted(partnership.regions, key=lambda r: (r.position, r.name))
        ),
    )


def period_facts(kind: ReviewKind, first_month: Month, last_month: Month) -> PeriodFacts:
    return PeriodFacts(
        kind=kind.value,
        first_month=first_month,
        last_month=last_month,
        label=period_label(kind, first_month, last_month),
    )


def satisfaction_section(
    total: SatisfactionFacts,
    chart_months: Sequence[Month],
    figures: dict[Month, dashboard.MonthFigures],
    report: satisfaction_service.SatisfactionReport,
) -> SatisfactionSection:
    """The period's total (``_period_satisfaction``), the charted months that have a figure,
    and the period by region and by program."""
    return SatisfactionSection(
        total=total,
        by_month=tuple(
            _month_facts(figures[m])
            for m in chart_months
            if figures[m].satisfaction_source is not None
        ),
        by_region=tuple(_facts(f, f.region_name or "") for f in report.by_region),
        by_program=tuple(_facts(f, f.program or "No program") for f in report.by_program),
    )


def scale_notes(partnership_id: int, first_month: Month, last_month: Month) -> tuple[str, ...]:
    """One line per scale other than 1–5 that the period's counted responses were asked on,
    saying how its answers were mapped to 1–5 ("Satisfaction was asked on a 1–10 scale …")."""
    scales = db.session.scalars(
        sa.select(SurveyImport.rating_scale)
        .where(
            SurveyImport.partnership_id == partnership_id,
            SurveyImport.rating_scale.is_not(None),
            SurveyImport.undone_at.is_(None),
            SurveyImport.state == ImportState.CONFIRMED,
            sa.exists().where(
                SurveyResponse.import_id == SurveyImport.id,
                SurveyResponse.month.between(first_month, last_month),
            ),
        )
        .distinct()
        .order_by(SurveyImport.rating_scale)
    )
    return tuple(note for scale in scales if (note := scale_note(scale)))


def action_section(
    act: ActionFigures,
    rows: tuple[tuple[ActionRow, ...], tuple[ActionRow, ...], tuple[ActionRow, ...]],
    next_review_on: dt.date,
    flows: Sequence[MonthFlow],
) -> ActionSection:
    """The action plan's figures, its open, due-next and done items (``_action_rows``) and
    its monthly flow."""
    open_items, due_next, closed_items = rows
    return ActionSection(
        opened=act.opened,
        closed=act.closed,
        overdue=act.overdue,
        due=act.due,
        closed_on_time=act.closed_on_time,
        health=_round(act.health),
        median_days_to_close=act.median_days_to_close,
        open_items=open_items,
        due_next=due_next,
        next_review_on=next_review_on,
        flow=tuple(FlowPoint(f.month, f.opened, f.closed, f.overdue) for f in flows),
        closed_items=closed_items,
    )


def _period_changes(
    changes: Iterable[ChangeView], first_month: Month, as_of: dt.date
) -> list[ChangeView]:
    """Changes planned from the period on, or logged during it."""
    return [
        view
        for view in changes
        if (view.planned_on is not None and view.planned_on >= first_month.first_day)
        or (
            view.created_at is not None and first_month.first_day <= view.created_at.date() <= as_of
        )
    ]


def governance_section(
    matrix: CoverageMatrix,
    meetings: tuple[MeetingFacts, ...],
    expectations: Sequence[ExpectationView],
    changes: Sequence[ChangeView],
    wins: Sequence[WinView],
    first_month: Month,
    last_month: Month,
    as_of: dt.date,
) -> GovernanceSection:
    """Sponsor coverage and engagement, the period's meetings, the expectations due, the
    period's changes and the wins of the period."""
    coverage_percent = None if matrix.coverage is None else matrix.coverage * 100
    return GovernanceSection(
        coverage_percent=_round(coverage_percent),
        coverage=tuple(
            CoverageFacts(
                region=row.region_name,
                is_home=row.is_home,
                client=tuple(_sponsor_facts(v) for v in row.client),
                provider=tuple(_sponsor_facts(v) for v in row.provider),
                gap=row.is_gap,
            )
            for row in matrix.rows
        ),
        meetings=meetings,
        expectations_due=tuple(
            ExpectationFacts(e.statement, e.category.value, e.owner_side.value, e.revisit_by)
            for e in expectations
        ),
        changes=tuple(
            ChangeFacts(
                title=c.title,
                status=c.status.value,
                planned_on=c.planned_on,
                regions=c.region_names,
                owner=c.owner_name,
            )
            for c in _period_changes(changes, first_month, as_of)
        ),
        wins=tuple(
            _win_facts(view)
            for view in sorted(wins, key=lambda v: (v.won_on, v.id))
            if first_month.first_day <= view.won_on <= last_month.last_day
        ),
    )


def featured_wins(wins: Sequence[WinView], featured_win_ids: Sequence[int]) -> tuple[WinFacts, ...]:
    """The wins the lead chose to feature, in the order chosen (unknown ids left out)."""
    wins_by_id = {view.id: view for view in wins}
    return tuple(
        _win_facts(wins_by_id[win_id]) for win_id in featured_win_ids if win_id in wins_by_id
    )


@dataclass(frozen=True, slots=True)
class _Before:
    """What the tiles and the health score are compared with, and how that is named."""

    tiles: dict[str, float | None]
    health: int | None
    label: str
    period: str  # the earlier period alone, for sentences ("since September 2026")


def _as_issued(previous: ScorecardData) -> _Before:
    return _Before(
        tiles={tile.key: tile.value for tile in previous.tiles},
        health=previous.health.score,
        label=f"Review of {previous.period.label}, as issued",
        period=previous.period.label,
    )


def _computed_before(earlier: _Components, weights: dict, label: str) -> _Before:
    return _Before(
        tiles={key.value: _round(value) for key, value in earlier.values().items()},
        health=health_facts(earlier.values(), weights).score,
        label=f"{label}, from today's data (no scorecard was issued)",
        period=label,
    )


# ----------------------------------------------------------------------------- the cover story


def trends_to_breach(series: Sequence[SlaSeries], month: Month) -> tuple[TrendToBreach, ...]:
    """The SLAs not breached in ``month`` whose trend reaches a breach soon (the early
    warning of ``sla_figures``, as the meeting agenda shows it)."""
    found = []
    for one in series:
        warning = early_warning(one, month)
        if warning is not None:
            found.append(TrendToBreach(one.code, one.name, warning.breach_month))
    return tuple(found)


def _planned_meetings(partnership_id: int, after: dt.date) -> list[tuple[dt.date, str]]:
    rows = db.session.execute(
        sa.select(Meeting.held_on, Meeting.kind)
        .where(
            Meeting.partnership_id == partnership_id,
            Meeting.state == MeetingState.PLANNED,
            Meeting.held_on > after,
        )
        .order_by(Meeting.held_on)
        .limit(5)
    ).all()
    return [(day, str(kind.value)) for day, kind in rows]


def cover_story(
    data: ScorecardData,
    *,
    since: str | None,
    trending: tuple[TrendToBreach, ...],
    look_ahead_items: tuple,
    look_ahead_until: dt.date,
) -> CoverStory:
    """The story's parts that come from the figures; the review's parts are added by
    ``reviews.review_data``."""
    story = CoverStory(
        since=since,
        trending=trending,
        look_ahead=look_ahead_items,
        look_ahead_until=look_ahead_until,
    )
    story = dataclasses.replace(story, health_line=health_line(data, since))
    drafted = draft_key_messages(dataclasses.replace(data, story=story))
    return dataclasses.replace(story, drafted_messages=drafted, key_messages=drafted)


# ----------------------------------------------------------------------------- the snapshot


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def delivery_section(
    partnership: Partnership, first_month: Month, last_month: Month
) -> DeliverySection | None:
    """Delivery and spend for the scorecard: the period's confirmed volumes and spend, cost
    ratios over the 12 months to its end, spend to date; None without any delivery figures."""
    if delivery_service.latest_month(partnership.id) is None:
        return None
    twelve = delivery_service.figures(partnership, last_month, SERIES_MONTHS)
    in_period = [p for p in twelve.series if first_month <= p.month <= last_month and p.confirmed]
    to_date = twelve.spend_to_date
    return DeliverySection(
        currency=partnership.currency,
        learners_trained=sum(p.learners_trained for p in in_period),
        completions=sum(p.completions for p in in_period),
        training_hours=float(sum((p.training_hours for p in in_period), Decimal(0))),
        sessions_delivered=sum(p.sessions_delivered for p in in_period),
        spend=f"{sum((p.invoiced_amount or Decimal(0) for p in in_period), Decimal(0)):.2f}",
        confirmed_months=len(in_period),
        period_months=len(month_range(first_month, last_month)),
        cost_months=twelve.cost_months,
        cost_per_learner=_text(twelve.cost_per_learner),
        cost_per_hour=_text(twelve.cost_per_hour),
        since=to_date.since,
        spent_to_date=_text(to_date.spent) or "0.00",
        contract_value=_text(to_date.contract_value),
        contract_months=to_date.term_months,
        spend_share=None if to_date.share is None else float(to_date.share),
        spend_reason=to_date.reason,
        proposed_months=twelve.proposed_months,
        series=tuple(
            DeliveryMonthFacts(
                month=p.month,
                learners_trained=p.learners_trained,
                completions=p.completions,
                training_hours=float(p.training_hours),
                sessions_delivered=p.sessions_delivered,
                spend=_text(p.invoiced_amount),
                cost_per_learner=_text(p.cost_per_learner),
                confirmed=p.confirmed,
            )
            for p in twelve.series
        ),
    )


def build_scorecard_data(
    partnership_id: int,
    kind: ReviewKind,
    first_month: Month,
    last_month: Month,
    today: dt.date,
    *,
    executive_summary: str = "",
    featured_win_ids: Sequence[int] = (),
    previous: ScorecardData | None = None,
) -> ScorecardData:
    """Every figure of the scorecard of one partnership for ``first_month``–``last_month``
    as plain values (see the module's docstring), in a fixed number of queries."""
    kind = ReviewKind(kind)
    partnership = _load_partnership(partnership_id)
    months = month_range(first_month, last_month)
    length = len(months)
    as_of = min(last_month.last_day, today)
    previous_months = month_range(first_month.shift(-length), first_month.previous())
    chart_months = month_range(last_month.shift(-(SERIES_MONTHS - 1)), last_month)
    loaded_from = min(chart_months[0], previous_months[0])
    weights = partnership_weights(partnership)

    # The cached monthly figures: health, satisfaction and coverage by month.
    figures = {
        f.month: f
        for f in dashboard.month_figures([partnership], loaded_from, last_month, today)[
            partnership_id
        ]
    }
    series = load_sla_series(partnership_id, loaded_from, last_month)
    by_month = {m: attainment(series, m) for m in month_range(loaded_from, last_month)}
    slas, sla_now = sla_section(series, by_month, months, chart_months)
    slas = dataclasses.replace(
        slas, target_changes=target_changes(partnership_id, first_month, last_month)
    )

    counts = satisfaction_service.monthly_counts_many([partnership_id], loaded_from, last_month)[
        partnership_id
    ]
    report = satisfaction_service.load_satisfaction(partnership_id, first_month, last_month)
    total = _period_satisfaction(months, counts, figures, "All")
    satisfaction = dataclasses.replace(
        satisfaction_section(total, chart_months, figures, report),
        scale_notes=scale_notes(partnership_id, first_month, last_month),
    )

    act = action_figures([partnership_id], first_month, last_month, today)[partnership_id]
    next_review_on = _next_review_on(partnership_id, as_of, last_month.shift(length).last_day)
    *action_rows, recovery = _action_rows(partnership_id, months, as_of, next_review_on, today)
    slas = with_recovery(slas, series, recovery)
    actions = action_section(
        act,
        tuple(action_rows),
        next_review_on,
        monthly_flow([partnership_id], chart_months[0], last_month, today)[partnership_id],
    )

    matrix = coverage_matrix(partnership_id, as_of)
    every_expectation = list_expectations(partnership_id, as_of)
    expectations = [e for e in every_expectation if e.revisit_by < as_of]  # due_only's rule
    changes = list_changes(partnership_id, as_of)
    wins = list_wins(partnership_id)
    governance = governance_section(
        matrix,
        _meetings(partnership_id, months),
        expectations,
        changes,
        wins,
        first_month,
        last_month,
        as_of,
    )

    now = _Components(
        sla=sla_now,
        satisfaction=total,
        actions=act,
        coverage=None if matrix.coverage is None else matrix.coverage * 100,
        regions_in_scope=matrix.regions_in_scope,
        regions_covered=matrix.regions_covered,
        satisfaction_exact=_exact_satisfaction(months, counts),
    )
    if previous is not None:
        before = _as_issued(previous)
    else:
        earlier = _Components(
            sla=_sla_period(series, by_month, previous_months),
            satisfaction=_period_satisfaction(previous_months, counts, figures, "All"),
            actions=action_figures(
                [partnership_id], previous_months[0], previous_months[-1], today
            )[partnership_id],
            coverage=figures[previous_months[-1]].coverage,
            satisfaction_exact=_exact_satisfaction(previous_months, counts),
        )
        before = _computed_before(
            earlier, weights, period_label(kind, previous_months[0], previous_months[-1])
        )

    data = ScorecardData(
        partnership=partnership_facts(partnership),
        period=period_facts(kind, first_month, last_month),
        computed_on=today,
        previous_label=before.label,
        health=_with_previous(health_facts(now.values(), weights), now, before, weights, kind),
        tiles=tiles(now, before.tiles, kind is ReviewKind.QUARTERLY),
        executive_summary=executive_summary or "",
        featured_wins=featured_wins(wins, featured_win_ids),
        slas=slas,
        satisfaction=satisfaction,
        actions=actions,
        governance=governance,
        health_series=tuple(HealthPointFacts(m, figures[m].health.score) for m in chart_months),
        credits=credit_section(partnership_id, first_month, last_month),
        logo=logo_facts(partnership.logo),
        delivery=delivery_section(partnership, first_month, last_month),
    )
    period_end = last_month.last_day
    story = cover_story(
        data,
        since=before.period,
        trending=trends_to_breach(series, last_month),
        look_ahead_items=look_ahead(
            period_end,
            changes=[UpcomingChange(c.title, c.status.value, c.planned_on) for c in changes],
            expectations=[
                UpcomingExpectation(e.statement, e.revisit_by) for e in every_expectation
            ],
            renewal_date=partnership.renewal_date,
            planned_meetings=_planned_meetings(partnership_id, period_end),
        ),
        look_ahead_until=period_end + dt.timedelta(days=LOOK_AHEAD_DAYS),
    )
    return dataclasses.replace(data, story=story)
