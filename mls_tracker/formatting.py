"""How a figure, a change and a status are written: on the pages, in the PDF and in e-mails.

One set of marks for every judgement, the printed scorecard's, because a scorecard is often
printed in grey where colour is lost; so a status is always colour + symbol + word:

- good ``●``, warning ``◆``, bad ``✖``, nothing to judge ``○`` (the charts' markers are the
  same shapes: circle, diamond, x);
- RAG: ``● Green``, ``◆ Amber``, ``✖ Red``; no score ``○ Not enough data``; the bands in
  words, everywhere (pages and PDFs): ``RAG_BANDS``;
- SLA status: ``● Met``, ``◆ At risk``, ``✖ Breached``, ``○ Missing``, ``– Not applicable``,
  ``◌ Proposed``;
- a change: ``▲`` up, ``▼`` down, ``=`` no change, with the amount (signed, true minus sign),
  its unit, "up"/"down" and whether that is "better" or "worse": ``▲ +9.1 points up · better``.

Numbers are rounded half up (2.25 → 2.3, never banker's 2.2), show a decimal only when there
is one (``75``, ``81.8``), group thousands (``1,146``) and write a negative with the true minus
sign (``−9``). An absent figure is ``—``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mls_tracker.services.health import AMBER_FROM, GREEN_FROM, MIN_WEIGHT_SHARE, NOT_ENOUGH_DATA

MINUS = "\u2212"  # −, not the hyphen-minus
EMPTY = "—"  # no figure

GOOD, WARN, BAD, NONE = "good", "warn", "bad", "none"
SYMBOL = {GOOD: "●", WARN: "◆", BAD: "✖", NONE: "○"}
UP, DOWN, SAME = "▲", "▼", "="
NO_CHANGE = "No change"
NO_EARLIER = "No earlier figure"
NO_FIGURE_NOW = "No figure this period"  # the earlier one exists; this one does not


# --- numbers ---------------------------------------------------------------------------------


def rounded(value: float, digits: int = 1) -> Decimal:
    """``value`` rounded half up to ``digits`` decimals (from its shortest decimal form, so
    80.45 → 80.5 even though the binary float is a hair below)."""
    result = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
    return result if result else Decimal(0).quantize(result)  # no "−0"


def number(value: float | None, digits: int = 1) -> str:
    """``1,146``, ``81.8``, ``−9``; ``digits`` decimals only when the rounded value has any."""
    if value is None:
        return EMPTY
    result = rounded(value, digits)
    text = f"{int(result):,}" if result == result.to_integral_value() else f"{result:,.{digits}f}"
    return text.replace("-", MINUS)


def signed(value: float | None, digits: int = 1) -> str:
    """A figure that can go either way (an NPS, a change): ``+44.6``, ``−8.4``, ``0``."""
    if value is None:
        return EMPTY
    text = number(value, digits)
    return f"+{text}" if rounded(value, digits) > 0 else text


def fixed(value: float | None, digits: int = 1) -> str:
    """Always ``digits`` decimals, rounded half up: a mean of 4.125 is ``4.13`` (``'%.2f'``
    and ``round`` give 4.12), ``72.0``; grouped thousands, true minus; ``—`` for none."""
    if value is None:
        return EMPTY
    return f"{rounded(value, digits):,.{digits}f}".replace("-", MINUS)


def percent(value: float | None) -> str:
    return EMPTY if value is None else f"{number(value)}%"


def money(value: Decimal | str | None, currency: str = "") -> str:
    """An amount with its ISO currency: ``EUR 12,500`` (no cents when whole), ``EUR 133.33``;
    ``—`` for none. Exact: from a Decimal or its text, never through a float."""
    if value is None:
        return EMPTY
    amount = Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP)
    text = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    return f"{currency} {text}".strip().replace("-", MINUS)


# --- statuses --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Badge:
    """A status as colour (``css``: good / warn / bad / none), symbol and word."""

    css: str
    symbol: str
    word: str

    def __str__(self) -> str:
        return f"{self.symbol} {self.word}"


def badge(css: str, word: str) -> Badge:
    """A judgement of one's own ("✖ Overdue", "● Covered") in the common marks."""
    return Badge(css, SYMBOL[css], word)


RAG_BADGES = {
    "green": badge(GOOD, "Green"),
    "amber": badge(WARN, "Amber"),
    "red": badge(BAD, "Red"),
}
NO_RAG = badge(NONE, NOT_ENOUGH_DATA)  # no score: too little of the weight has data
NO_STATUS = badge(NONE, "No data")
# The RAG bands in words: one wording on every page, chart and PDF (the score is a whole
# number, so "60–79" leaves nothing out): "Green ≥ 80 · Amber 60–79 · Red below 60".
RAG_BAND_RANGES = {
    "green": f"≥ {GREEN_FROM:.0f}",
    "amber": f"{AMBER_FROM:.0f}–{GREEN_FROM - 1:.0f}",
    "red": f"below {AMBER_FROM:.0f}",
}
RAG_BAND_WORDS = {key: f"{RAG_BADGES[key].word} {text}" for key, text in RAG_BAND_RANGES.items()}
RAG_BANDS = " · ".join(RAG_BAND_WORDS.values())
MIN_WEIGHT_PERCENT = f"{MIN_WEIGHT_SHARE * 100:.0f}"

SLA_BADGES = {
    "met": badge(GOOD, "Met"),
    "at risk": badge(WARN, "At risk"),
    "breached": badge(BAD, "Breached"),
    "missing": badge(NONE, "Missing"),
    "not applicable": Badge(NONE, "–", "Not applicable"),
    "proposed": Badge(NONE, "◌", "Proposed"),
}
SLA_BADGES["n/a"] = SLA_BADGES["not applicable"]  # the snapshot's spelling


def _key(status: Any) -> str:
    """A status enum (``RAG.GREEN``, ``Status.MET``) or its value, as its value."""
    return str(getattr(status, "value", status) or "")


def rag_badge(rag: Any) -> Badge:
    """``rag`` is "green" / "amber" / "red" (or ``health.RAG``); anything else: no data."""
    return RAG_BADGES.get(_key(rag), NO_RAG)


def sla_badge(status: Any) -> Badge:
    """An SLA's status ("met" … or ``sla_figures.Status``); unknown ones: no data."""
    return SLA_BADGES.get(_key(status), NO_STATUS)


# --- changes ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """A figure against its earlier value. ``delta`` is rounded half up to one decimal, None
    when either figure is missing; ``unit`` follows the amount ("points", "" for a count)."""

    delta: Decimal | None
    unit: str = "points"
    higher_is_better: bool = True
    # this period has no figure while the earlier one had ``previous`` (not "no earlier")
    previous: Decimal | None = None

    @property
    def missing_now(self) -> bool:
        return self.delta is None and self.previous is not None

    @property
    def direction(self) -> str | None:
        """ "up", "down", "same", or None when there is nothing to compare."""
        if self.delta is None:
            return None
        return "up" if self.delta > 0 else "down" if self.delta < 0 else "same"

    @property
    def arrow(self) -> str:
        return {"up": UP, "down": DOWN, "same": SAME}.get(self.direction or "", "")

    @property
    def verdict(self) -> str | None:
        """ "better" or "worse"; None when unchanged or not comparable."""
        if self.direction not in ("up", "down"):
            return None
        return "better" if (self.direction == "up") == self.higher_is_better else "worse"

    @property
    def css(self) -> str:
        """better / worse / same / none: for a colour that agrees with the words."""
        return self.verdict or ("same" if self.direction == "same" else "none")

    @property
    def amount(self) -> str:
        """ "+9.1 points", "−8 points", "+5" — or "no change" / "no earlier figure", to be read
        inside a sentence."""
        if self.missing_now:
            return f"{NO_FIGURE_NOW.lower()} (was {number(self.previous)})"
        if self.delta is None:
            return NO_EARLIER.lower()
        if not self.delta:
            return NO_CHANGE.lower()
        return f"{signed(self.delta)} {self.unit}".rstrip()

    def words(self, since: str | None = None) -> str:
        """Everything after the arrow: "+9.1 points up since Sep 2026 · better"."""
        tail = f" since {since}" if since else ""
        if self.missing_now:
            where = f" in {since}" if since else ""
            return f"{NO_FIGURE_NOW} · was {number(self.previous)}{where}"
        if self.delta is None:
            return NO_EARLIER
        if not self.delta:
            return f"{NO_CHANGE}{tail}"
        return f"{self.amount} {self.direction}{tail} · {self.verdict}"

    def text(self, since: str | None = None) -> str:
        """The arrow and the words: "▲ +9.1 points up since Sep 2026 · better"."""
        return f"{self.arrow} {self.words(since)}".lstrip()

    def __str__(self) -> str:
        return self.text()


def change(
    value: float | None,
    previous: float | None,
    unit: str = "points",
    *,
    higher_is_better: bool = True,
) -> Change:
    """``value`` against ``previous``; a percentage's change is in (percentage) points. With
    no ``value`` but a ``previous``, the change says this period has no figure (not that
    there is no earlier one)."""
    if value is None and previous is not None:
        return Change(None, unit, higher_is_better, previous=rounded(float(previous)))
    if value is None or previous is None:
        return Change(None, unit, higher_is_better)
    return Change(rounded(float(value) - float(previous)), unit, higher_is_better)


def change_of(delta: float | None, unit: str = "points", *, higher_is_better: bool = True):
    """A change already computed as a difference (rounded again here, half up)."""
    return Change(None if delta is None else rounded(delta), unit, higher_is_better)


# --- times ---------------------------------------------------------------------------------


def zone_named(name: str | None) -> dt.tzinfo:
    """The IANA zone ``name``; UTC for none or a name this system does not know."""
    try:
        return ZoneInfo(name) if name else dt.UTC
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def viewer_zone(user: Any = None) -> dt.tzinfo:
    """The zone times are shown in: the user's own (``User.time_zone``; the signed-in user by
    default), else the app's DISPLAY_TIME_ZONE, else UTC."""
    from flask import current_app, has_app_context, has_request_context

    if user is None and has_request_context():
        from flask_login import current_user

        user = current_user
    own = getattr(user, "time_zone", None) if getattr(user, "is_authenticated", False) else None
    default = current_app.config.get("DISPLAY_TIME_ZONE") if has_app_context() else None
    return zone_named(own or default)


def local_time(value: dt.datetime | None, fmt: str | None = None, zone: Any = None) -> str:
    """A stored (UTC) time in the viewer's zone, with the zone: "5 Dec 2026 14:03 GMT" (the
    one format of ``day_time``, named);
    ``fmt`` (strftime) for another shape. A naive time is taken as UTC; none is ``—``."""
    if value is None:
        return EMPTY
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(zone if zone is not None else viewer_zone())
    if fmt:
        return local.strftime(fmt)
    return f"{day_time(local, local.tzinfo)} {local:%Z}"


# --- dates, written and read in one format --------------------------------------------------
#
# A date is written "4 Dec 2026" on every page and typed the same way in every form (also
# "4 December 2026", and ISO "2026-12-04" for pasting and for scripts); a moment is "4 Dec 2026
# 14:30" in the user's time zone. The JSON API keeps ISO 8601.

DAY_EXAMPLE = "4 Dec 2026"
DAY_TIME_EXAMPLE = "4 Dec 2026 14:30"
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTHS = {
    **{name.lower(): number for number, name in enumerate(MONTH_ABBR, 1)},
    **{name.lower(): number for number, name in enumerate(MONTH_NAMES, 1)},
    "sept": 9,
}
_WORDS_DAY = re.compile(r"(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{4})")
_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_TIME = re.compile(r"(\d{1,2})[:.](\d{2})(?::(\d{2}))?")
FIRST_YEAR = 1900


class NotADate(ValueError):
    """Text that is not a date in any of the accepted shapes (the field says what to type)."""


class NoSuchDate(ValueError):
    """A date or time in the right shape that does not exist: its message says why."""


def day(value: dt.date | None) -> str:
    """ "4 Dec 2026": a date (or a datetime's date) as pages show it and forms take it; "—"
    for none."""
    if value is None:
        return EMPTY
    return f"{value.day} {MONTH_ABBR[value.month - 1]} {value.year}"


def day_time(value: dt.datetime | None, zone: dt.tzinfo | None = None) -> str:
    """ "4 Dec 2026 14:30": a stored (UTC) moment in ``zone`` (the viewer's by default), as a
    date-time field takes it; "—" for none."""
    if value is None:
        return EMPTY
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(zone if zone is not None else viewer_zone())
    return f"{day(local)} {local:%H:%M}"


def _date_of(year: int, month: int, number: int) -> dt.date:
    if year < FIRST_YEAR:
        raise NoSuchDate(f"Enter a year from {FIRST_YEAR} on, like {DAY_EXAMPLE}.")
    if not 1 <= month <= 12:
        raise NoSuchDate(f"There is no month {month}: months go from 1 to 12.")
    try:
        return dt.date(year, month, number)
    except ValueError:
        last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
        raise NoSuchDate(
            f"There is no {number} {MONTH_ABBR[month - 1]} {year}: "
            f"{MONTH_NAMES[month - 1]} {year} has {last} days."
        ) from None


def _read_day_part(text: str) -> tuple[dt.date, str]:
    """The date at the start of ``text`` and what follows it."""
    if match := _ISO_DAY.match(text):
        year, month, number = (int(part) for part in match.groups())
        return _date_of(year, month, number), text[match.end() :]
    if match := _WORDS_DAY.match(text):
        month = _MONTHS.get(match.group(2).lower())
        if month is None:
            raise NotADate(text)
        return _date_of(int(match.group(3)), month, int(match.group(1))), text[match.end() :]
    raise NotADate(text)


def read_day(text: str) -> dt.date:
    """A typed date: "4 Dec 2026", "4 December 2026" or "2026-12-04". Raises ``NotADate`` for
    anything else (11/12/2026 is refused: it means two different days) and ``NoSuchDate``,
    with a message, for a day that does not exist ("31 Feb 2026")."""
    found, rest = _read_day_part(text.strip())
    if rest.strip():
        raise NotADate(text)
    return found


_WORDS_MONTH = re.compile(r"([A-Za-z]+)\.?,?\s+(\d{4})")
_ISO_MONTH = re.compile(r"(\d{4})-(\d{1,2})")


def read_month(text: str) -> tuple[int, int]:
    """A typed month as (year, month): "Nov 2026", "November 2026" (as pages show months) or
    "2026-11". Raises ``NotADate`` for anything else."""
    text = text.strip()
    words, iso = _WORDS_MONTH.fullmatch(text), _ISO_MONTH.fullmatch(text)
    if words and words.group(1).lower() in _MONTHS:
        return int(words.group(2)), _MONTHS[words.group(1).lower()]
    if iso and 1 <= int(iso.group(2)) <= 12:
        return int(iso.group(1)), int(iso.group(2))
    raise NotADate(text)


def read_day_time(text: str, zone: dt.tzinfo) -> dt.datetime:
    """A typed moment in ``zone``, "4 Dec 2026 14:30" (or ISO "2026-12-04T14:30"), as an aware
    UTC datetime. Besides the errors of ``read_day``: ``NoSuchDate`` for a missing or impossible
    time and for a time the clocks skip (a spring-forward night). A time that happens twice (the
    night the clocks go back) is the first one."""
    found, rest = _read_day_part(text.strip())
    rest = rest.strip().removeprefix("T").removeprefix(",").strip()
    if not rest:
        raise NoSuchDate(f"Add the time after the date, like {DAY_TIME_EXAMPLE} (24-hour).")
    match = _TIME.fullmatch(rest)
    if match is None:
        raise NotADate(text)
    hour, minute, second = (int(part or 0) for part in match.groups())
    if hour > 23 or minute > 59 or second > 59:
        raise NoSuchDate(f"There is no {rest}: enter a time from 00:00 to 23:59 (24-hour).")
    local = dt.datetime.combine(found, dt.time(hour, minute, second), zone)
    moment = local.astimezone(dt.UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        later = moment.astimezone(zone)
        raise NoSuchDate(
            f"There is no {local:%H:%M} on {day(found)} in {zone}: the clocks go forward that "
            f"night. Did you mean {later:%H:%M}?"
        )
    return moment


# --- registration ----------------------------------------------------------------------------

FILTERS = {
    "number": number,
    "signed": signed,
    "fixed": fixed,
    "percent": percent,
    "money": money,
    "local_time": local_time,
    "day": day,
    "day_time": day_time,
}
GLOBALS = {
    "change": change,
    "change_of": change_of,
    "rag_badge": rag_badge,
    "sla_badge": sla_badge,
    "badge_of": badge,
    "SYMBOL": SYMBOL,
    "RAG_BANDS": RAG_BANDS,
    "RAG_BAND_RANGES": RAG_BAND_RANGES,
    "MIN_WEIGHT_PERCENT": MIN_WEIGHT_PERCENT,
}


def register(env: Any) -> None:
    """Make the filters and globals above available to a Jinja environment."""
    env.filters.update(FILTERS)
    env.globals.update(GLOBALS)


def init_app(app: Any) -> None:
    register(app.jinja_env)
