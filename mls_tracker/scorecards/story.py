"""The cover's story in plain words: the health line, the key messages drafted from the
figures, and the 90-day look-ahead — pure functions of plain values (no database, no clock).

The key messages are short sentences a sponsor reads in a minute, most important first:
the change of the health score, the SLAs breached, the components that moved most, the SLAs
heading for a breach (``sla_figures.early_warning``, computed when the figures are), the
regions without a client sponsor and the overdue actions. The lead edits them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from mls_tracker import formatting
from mls_tracker.scorecards.snapshot import (
    LookAheadItem,
    ScorecardData,
    Tile,
    TrendToBreach,
)
from mls_tracker.services.health import ComponentKey

MESSAGES_MIN = 3
MESSAGES_MAX = 5
MESSAGE_MAX_CHARS = 200
LOOK_AHEAD_DAYS = 90
# A component change smaller than this is not a message of its own (it is noise).
NOTABLE_CHANGE = 3.0
NAMES_LISTED = 3

# The components in the words of a sentence.
PLAIN_NAMES = {
    "sla": "SLA attainment",
    "satisfaction": "Learner satisfaction",
    "actions": "Action plan health",
    "coverage": "Sponsor coverage",
}


def _value(tile: Tile, value: float | None) -> str:
    return "no figure" if value is None else f"{formatting.number(value, 0)}{tile.unit}"


def _listed(names: Sequence[str]) -> str:
    """ "A", "A and B", "A, B and C", "A, B, C and 2 more"."""
    names = list(names)
    if len(names) > NAMES_LISTED:
        rest = len(names) - NAMES_LISTED
        return f"{', '.join(names[:NAMES_LISTED])} and {rest} more"
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _count(number: int, one: str, many: str | None = None, *, first: bool = False) -> str:
    """ "3 SLAs"; at the start of a sentence small numbers are words: "Three SLAs"."""
    amount = str(number)
    if first and 0 <= number < len(NUMBER_WORDS):
        amount = NUMBER_WORDS[number].capitalize()
    return f"{amount} {one if number == 1 else (many or one + 's')}"


def _shorten(text: str) -> str:
    if len(text) <= MESSAGE_MAX_CHARS:
        return text
    return text[: MESSAGE_MAX_CHARS - 1].rstrip(" ,;:") + "…"


# ----------------------------------------------------------------------------- health line


@dataclass(frozen=True, slots=True)
class _Move:
    tile: Tile
    delta: float  # points
    weighted: float  # points of health it moved


def _moves(data: ScorecardData) -> list[_Move]:
    """The components that have a figure now and before, with their change weighted by their
    share of the health score."""
    shares = dict(data.health.weights)
    moves = []
    for tile in data.tiles:
        if tile.value is None or tile.previous is None:
            continue
        label = ComponentKey(tile.key).label if tile.key in PLAIN_NAMES else tile.label
        share = shares.get(label, shares.get(tile.label, 0.0))
        delta = tile.value - tile.previous
        moves.append(_Move(tile, delta, delta * share / 100))
    return moves


def _detail(data: ScorecardData, key: str) -> str:
    """What stands behind a component's figure, in a few words (or nothing)."""
    if key == "sla":
        breached = [row for row in data.slas.rows if row.status == "breached"]
        return f" ({_count(len(breached), 'SLA')} breached)" if breached else ""
    if key == "actions" and data.actions.overdue:
        return f" ({_count(data.actions.overdue, 'action')} overdue)"
    if key == "coverage":
        gaps = [row.region for row in data.governance.coverage if row.gap]
        return f" (no client sponsor in {_listed(gaps)})" if gaps else ""
    return ""


def _moved(move: _Move) -> str:
    verb = "rose" if move.delta > 0 else "fell"
    tile = move.tile
    return (
        f"{PLAIN_NAMES.get(tile.key, tile.label)} {verb} from {_value(tile, tile.previous)} "
        f"to {_value(tile, tile.value)}"
    )


def health_line(data: ScorecardData, since: str | None) -> str:
    """ "Health 54 (red), down 16 since September 2026: SLA attainment fell from 92% to 61%
    (3 SLAs breached)." — the component that moved the score most (its change times its
    weight) in the direction the score moved."""
    health = data.health
    if health.score is None:
        return f"Health: not enough data. {health.missing}".strip()
    head = f"Health {health.score}" + (f" ({health.rag})" if health.rag else "")
    if health.previous is None:
        return f"{head}; there is no earlier score to compare with."
    change = health.score - health.previous
    when = f" since {since}" if since else ""
    if change == 0:
        head = f"{head}, unchanged{when}"
    else:
        head = f"{head}, {'up' if change > 0 else 'down'} {abs(change)}{when}"
    biggest = _health_reason(data)
    if biggest is None:
        return f"{head}."
    return f"{head}: {_moved(biggest)}{_detail(data, biggest.tile.key)}."


def _health_reason(data: ScorecardData) -> _Move | None:
    """The component that moved the health score most (its change times its weight) in the
    direction the score moved, or None."""
    health = data.health
    if health.score is None or health.previous is None:
        return None
    change = health.score - health.previous
    moves = [m for m in _moves(data) if m.delta and (change == 0 or (m.delta > 0) == (change > 0))]
    return max(moves, key=lambda m: abs(m.weighted)) if moves else None


def _money_messages(data: ScorecardData) -> list[str]:
    """Service credits earned in the period, and a contract close to spent (issue 19)."""
    found = []
    credits = data.credits
    if credits is not None and credits.credited and Decimal(credits.credited) > 0:
        names = _listed([line.name for line in credits.lines])
        amount = formatting.money(credits.credited, credits.currency)
        found.append(f"Service credits of {amount} are due for {data.period.label} ({names}).")
    delivery = data.delivery
    if delivery is not None and delivery.spend_share is not None and delivery.spend_share >= 90:
        found.append(
            f"{delivery.spend_share:.0f}% of the contract value has been invoiced since "
            f"{delivery.since.label}."
        )
    return found


# ----------------------------------------------------------------------------- key messages


def _oldest_overdue(data: ScorecardData) -> dt.date | None:
    days = [row.due_on for row in data.actions.open_items if row.overdue and row.due_on]
    return min(days) if days else None


def draft_key_messages(data: ScorecardData) -> tuple[str, ...]:
    """3–5 short sentences from the figures, most important first (see the module)."""
    story = data.story
    since = story.since if story is not None else None
    trending: Sequence[TrendToBreach] = story.trending if story is not None else ()
    when = f" since {since}" if since else ""
    period = data.period.label
    first: list[str] = []
    rest: list[str] = []
    # The health score, its change and the component behind it are the cover's health line:
    # the messages say what it does not.
    named = _health_reason(data)
    breached = [row.name for row in data.slas.rows if row.status == "breached"]
    if breached:
        first.append(
            f"{_count(len(breached), 'service level', first=True)} missed "
            f"{'its' if len(breached) == 1 else 'their'} target in {period}: "
            f"{_listed(breached)}."
        )
    first.extend(_money_messages(data))  # what the breaches cost, and the contract's spend
    moves = sorted(
        (
            m
            for m in _moves(data)
            if abs(m.delta) >= NOTABLE_CHANGE and (named is None or m.tile.key != named.tile.key)
        ),
        key=lambda m: abs(m.delta),
        reverse=True,
    )
    for move in moves[:2]:
        first.append(f"{_moved(move)}{when}.")
    if trending:
        names = [t.name for t in trending]
        soonest = min(t.breach_month for t in trending)
        first.append(
            f"{_listed(names)} {'is' if len(names) == 1 else 'are'} on course to miss "
            f"{'its' if len(names) == 1 else 'their'} target by {soonest.label} if the "
            "trend continues."
        )
    gaps = [row.region for row in data.governance.coverage if row.gap]
    if gaps:
        first.append(f"{_listed(gaps)} {'has' if len(gaps) == 1 else 'have'} no client sponsor.")
    overdue = data.actions.overdue
    if overdue:
        oldest = _oldest_overdue(data)
        tail = f"; the oldest was due on {oldest.day} {oldest:%B %Y}" if oldest else ""
        verb = "is" if overdue == 1 else "are"
        first.append(f"{_count(overdue, 'action', first=True)} {verb} overdue{tail}.")
    # Good news fills a short list, so that a quiet month still has its three messages.
    if not breached and data.slas.measured:
        rest.append(f"Every measured service level was within its limits in {period}.")
    if not gaps and data.governance.coverage:
        rest.append("Every region in scope has a client sponsor.")
    if not overdue:
        rest.append("No action is overdue.")
    messages = first[:MESSAGES_MAX]
    for extra in rest:
        if len(messages) >= MESSAGES_MIN:
            break
        messages.append(extra)
    return tuple(_shorten(m) for m in messages)


def clean_messages(text_lines: Iterable[str]) -> list[str]:
    """The lead's messages, one a line, blank lines dropped."""
    return [line.strip() for line in text_lines if line.strip()]


# ----------------------------------------------------------------------------- look-ahead


@dataclass(frozen=True, slots=True)
class UpcomingChange:
    title: str
    status: str
    planned_on: dt.date | None


@dataclass(frozen=True, slots=True)
class UpcomingExpectation:
    statement: str
    revisit_by: dt.date


OPEN_CHANGE_STATUSES = ("proposed", "planned", "in progress")


def _short(text: str, room: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= room else text[: room - 1].rstrip(" ,;:") + "…"


def look_ahead(
    period_end: dt.date,
    *,
    changes: Iterable[UpcomingChange],
    expectations: Iterable[UpcomingExpectation],
    renewal_date: dt.date | None,
    planned_meetings: Iterable[tuple[dt.date, str]],
) -> tuple[LookAheadItem, ...]:
    """What falls in the 90 days after the period's end, by date: changes going live (planned
    dates), expectations to revisit, the contract renewal (also when overdue) and the next
    planned governance meeting."""
    until = period_end + dt.timedelta(days=LOOK_AHEAD_DAYS)

    def within(day: dt.date | None) -> bool:
        return day is not None and period_end < day <= until

    items = [
        LookAheadItem(c.planned_on, "change", f"Change goes live: {_short(c.title)}")
        for c in changes
        if c.status in OPEN_CHANGE_STATUSES and within(c.planned_on)
    ]
    items += [
        LookAheadItem(e.revisit_by, "expectation", f"Expectation to revisit: {_short(e.statement)}")
        for e in expectations
        if within(e.revisit_by)
    ]
    if renewal_date is not None and renewal_date <= until:
        overdue = renewal_date <= period_end
        items.append(
            LookAheadItem(
                renewal_date,
                "renewal",
                "Contract renewal — overdue" if overdue else "Contract renewal",
                overdue=overdue,
            )
        )
    upcoming = sorted((day, kind) for day, kind in planned_meetings if within(day))
    if upcoming:
        day, kind = upcoming[0]
        items.append(LookAheadItem(day, "meeting", f"Next governance meeting ({kind})"))
    return tuple(sorted(items, key=lambda item: (item.on, item.kind, item.text)))
