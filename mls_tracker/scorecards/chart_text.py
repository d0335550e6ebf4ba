"""Each scorecard chart said in one sentence drawn from its data: the alternative text of the
tagged PDF's figures and the preview's ``aria-label`` (issue 19).

"Health score by month, Nov 2025 to Oct 2026: from 61 to 72, lowest 54 in Jun 2026." A pure
function of the snapshot, like the charts themselves; a chart this module does not know is
described by its title.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mls_tracker import formatting
from mls_tracker.periods import Month
from mls_tracker.scorecards.snapshot import ScorecardData

Point = tuple[Month, float | None]


def trend_sentence(
    what: str,
    points: Sequence[Point],
    show: Callable[[float], str],
    *,
    lead: str = "",
    extra: str = "",
) -> str:
    """``what`` by month over ``points``: first and last figure, the lowest and highest with
    their months, and how many months have none (``lead`` names the figure when ``what`` is
    wider, ``extra`` adds a clause)."""
    known = [(month, value) for month, value in points if value is not None]
    head = f"{what} by month"
    if points:
        head += f", {points[0][0].label} to {points[-1][0].label}"
    if not known:
        return f"{head}: no figures."
    (first_month, first), (last_month, last) = known[0], known[-1]
    low_month, low = min(known, key=lambda point: point[1])
    high_month, high = max(known, key=lambda point: point[1])
    if len(known) == 1:
        said = f"{lead}only {last_month.label}, {show(last)}"
    else:
        said = (
            f"{lead}from {show(first)} in {first_month.label} to {show(last)} in {last_month.label}"
        )
        if low < min(first, last):
            said += f", lowest {show(low)} in {low_month.label}"
        if high > max(first, last):
            said += f", highest {show(high)} in {high_month.label}"
    gaps = len(points) - len(known)
    if gaps:
        said += f"; no figure for {gaps} month{'s' if gaps != 1 else ''}"
    return f"{head}: {said}{extra}."


def _whole(value: float) -> str:
    return formatting.number(value, 0)


def _health(data: ScorecardData) -> str:
    points = [(p.month, p.score) for p in data.health_series]
    return trend_sentence("Health score (0–100)", points, _whole)


def _sla_attainment(data: ScorecardData) -> str:
    series = data.slas.series
    points = [(p.month, p.percent) for p in series]
    extra = ""
    if series:
        last = series[-1]
        extra = (
            f"; {last.month.label}: {last.met} met, {last.at_risk} at risk, "
            f"{last.breached} breached, {last.missing} missing"
        )
    return trend_sentence("SLA attainment", points, formatting.percent, extra=extra)


def _satisfaction(data: ScorecardData) -> str:
    months = [f for f in data.satisfaction.by_month if f.month is not None]
    low = sum(1 for f in months if f.low_sample and f.csat is not None)
    extra = f"; {low} month{'s' if low != 1 else ''} with a low sample" if low else ""
    points = [(f.month, f.csat) for f in months]
    return trend_sentence("CSAT", points, formatting.percent, extra=extra)


def _nps(data: ScorecardData) -> str:
    points = [(f.month, f.nps) for f in data.satisfaction.by_month if f.month is not None]
    return trend_sentence("Net Promoter Score", points, formatting.signed)


def _action_flow(data: ScorecardData) -> str:
    flow = data.actions.flow
    opened = sum(p.opened for p in flow)
    closed = sum(p.closed for p in flow)
    points = [(p.month, float(p.overdue)) for p in flow]
    extra = f"; {_whole(opened)} items opened and {_whole(closed)} closed over these months"
    return trend_sentence(
        "Action items opened, closed and overdue",
        points,
        _whole,
        lead="overdue at month end ",
        extra=extra,
    )


DESCRIBE: dict[str, Callable[[ScorecardData], str]] = {
    "health_trend": _health,
    "sla_attainment": _sla_attainment,
    "satisfaction_trend": _satisfaction,
    "nps_trend": _nps,
    "action_flow": _action_flow,
}


def chart_text(name: str, title: str, data: ScorecardData) -> str:
    """The sentence for chart ``name``; its title when this module does not know it."""
    describe = DESCRIBE.get(name)
    return describe(data) if describe else f"{title}."
