"""The scorecard's data: frozen dataclasses of plain values, and their JSON form (the snapshot).

A review's figures are computed once (``scorecards/build.py``) into a ``ScorecardData`` and
stored as JSON on the review and, when issued, on the scorecard. The print template and the
charts are pure functions of this value, so an issued scorecard can be rendered again years
later from its snapshot alone, without the database.

Conventions: percentages are 0–100 (floats rounded to one decimal), months are ``Month``,
days are ``datetime.date``, absent figures are ``None``; text is as the user wrote it (escaped
by the template, never trusted).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from dataclasses import dataclass
from typing import Any

from mls_tracker.periods import Month

SCHEMA_VERSION = 1
# How a scorecard is printed (issue 18): its print stylesheets (html.LAYOUT_STYLESHEETS).
# An issued scorecard keeps the layout it was issued with, so rendering its snapshot again gives
# the same PDF; a snapshot stored without one (before issue 18) is layout 1.
FIRST_LAYOUT = 1
LAYOUT_VERSION = 2


@dataclass(frozen=True, slots=True)
class PartnershipFacts:
    id: int
    name: str
    client: str
    provider: str
    engagement_model: str
    governance_model: str
    status: str
    home_region: str | None
    regions: tuple[str, ...]  # in scope, in the regions' order


@dataclass(frozen=True, slots=True)
class PeriodFacts:
    kind: str  # "monthly" | "quarterly"
    first_month: Month
    last_month: Month
    label: str  # "October 2026", "Q3 2026 (Jul–Sep 2026)"


@dataclass(frozen=True, slots=True)
class Tile:
    """One of the four cover tiles: a component of the health score."""

    key: str  # "sla" | "satisfaction" | "actions" | "coverage"
    label: str  # "SLA attainment", "Satisfaction (CSAT)", "Action plan health", "Sponsor coverage"
    value: float | None  # 0–100
    previous: float | None  # the same figure in the previous review (or period)
    detail: str  # one line under the number: "9 of 11 SLAs measured", "n = 212", …
    # Additions (snapshot helper): "%" or "" (a mean rating scaled to 0–100 is not a share),
    # and whether the satisfaction figure rests on fewer than 10 answers.
    unit: str = "%"
    low_sample: bool = False


@dataclass(frozen=True, slots=True)
class HealthFacts:
    score: int | None  # 0–100 whole number, rounded half up
    rag: str | None  # "green" | "amber" | "red"
    previous: int | None
    left_out: tuple[str, ...]  # labels of components without data (weights re-normalised)
    weights: tuple[tuple[str, float], ...]  # (component label, effective share 0–100) used
    # Issue 15: why there is no score ("" with one), and how the change was compared when the
    # two periods do not have the same parts ("compared on the three parts both months have
    # (64 → 54)"; ``previous`` is then the score shown minus that like-for-like change).
    missing: str = ""
    previous_note: str = ""


@dataclass(frozen=True, slots=True)
class WinFacts:
    title: str
    story: str | None
    won_on: dt.date
    region: str | None
    impact: str | None
    shareable: bool


@dataclass(frozen=True, slots=True)
class SlaTrendPoint:
    month: Month
    actual: float | None
    status: str  # "met" | "at risk" | "breached" | "missing" | "n/a" | "proposed"


@dataclass(frozen=True, slots=True)
class SlaRow:
    code: str
    name: str
    unit: str
    direction: str  # "higher is better" | "lower is better"
    target: float | None  # in force at the end of the period
    at_risk: float | None
    actual: float | None  # the period's confirmed actual (last month of a quarter)
    status: str  # as in SlaTrendPoint
    weight: float
    note: str | None
    trend: tuple[SlaTrendPoint, ...]  # the last 6 months up to the period's end, oldest first
    # Addition (issue 19): the open action item linked to this SLA at the period's end (the
    # earliest due), shown as its recovery action when it is breached or at risk.
    recovery: ActionRow | None = None

    @property
    def gap(self) -> float | None:
        """Actual minus target, in the SLA's unit (negative: below the target)."""
        if self.actual is None or self.target is None:
            return None
        return self.actual - self.target

    @property
    def months_out(self) -> int:
        """Months of the trend (the last 6) judged at risk or breached on confirmed actuals."""
        return sum(1 for point in self.trend if point.status in ("at risk", "breached"))

    @property
    def exception(self) -> bool:
        return self.status in ("at risk", "breached")


@dataclass(frozen=True, slots=True)
class AttainmentPoint:
    month: Month
    percent: float | None
    met: int
    at_risk: int
    breached: int
    missing: int


@dataclass(frozen=True, slots=True)
class TargetChangeFacts:
    """A target that took over from another one, in force within the SLAs' trend months or
    set during the period (then it may re-judge months already judged)."""

    code: str
    name: str
    unit: str
    direction: str
    effective_from: Month | None  # None: seen only as a difference between two scorecards
    set_on: dt.date | None
    set_by: str | None
    previous_target: float | None
    previous_at_risk: float | None
    target: float
    at_risk: float
    rejudged: tuple[str, ...] = ()  # "Sep 2026: breached → met", as the lead confirmed them


@dataclass(frozen=True, slots=True)
class SlaSection:
    attainment: float | None  # the period's, 0–100
    measured: int  # SLAs with a confirmed measurement in the period
    total: int
    missing: int
    rows: tuple[SlaRow, ...]
    series: tuple[AttainmentPoint, ...]  # 12 months up to the period's end, for the chart
    # Addition (issue 15): targets changed in the trend months or set during the period.
    target_changes: tuple[TargetChangeFacts, ...] = ()
    # Addition (issue 15): SLA-months of the period holding only a proposed actual (left out
    # of attainment): a scorecard issued with any is provisional.
    proposed: int = 0


@dataclass(frozen=True, slots=True)
class SatisfactionFacts:
    label: str  # "Oct 2026", "EMEA", "Leadership Essentials", "All"
    month: Month | None
    n_rating: int
    mean_rating: float | None
    csat: float | None
    csat_low: float | None
    csat_high: float | None
    n_recommend: int
    nps: float | None
    nps_moe: float | None
    low_sample: bool
    source: str  # "computed" | "reported"


@dataclass(frozen=True, slots=True)
class SatisfactionSection:
    total: SatisfactionFacts  # the period as a whole
    by_month: tuple[SatisfactionFacts, ...]  # 12 months up to the period's end, for the chart
    by_region: tuple[SatisfactionFacts, ...]  # within the period
    by_program: tuple[SatisfactionFacts, ...]  # within the period
    # How answers asked on another scale than 1–5 were mapped, one line per scale used by the
    # period's confirmed imports (issue 15, point 17).
    scale_notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ActionRow:
    title: str
    owner_side: str
    owner_name: str | None
    due_on: dt.date | None
    status: str
    priority: str
    overdue: bool


@dataclass(frozen=True, slots=True)
class FlowPoint:
    month: Month
    opened: int
    closed: int
    overdue: int


@dataclass(frozen=True, slots=True)
class ActionSection:
    opened: int  # in the period
    closed: int
    overdue: int  # at the period's end
    due: int
    closed_on_time: int
    health: float | None  # closed on time ÷ due, 0–100
    median_days_to_close: float | None
    open_items: tuple[ActionRow, ...]  # open at the period's end, overdue first
    due_next: tuple[ActionRow, ...]  # due before the next review
    next_review_on: dt.date | None
    flow: tuple[FlowPoint, ...]  # 12 months up to the period's end, for the chart
    # Addition: the items done in the period, newest first (the compare page lists them).
    closed_items: tuple[ActionRow, ...] = ()


@dataclass(frozen=True, slots=True)
class SponsorFacts:
    name: str
    title: str | None
    attended: int  # governance meetings of the last 3 months
    held: int
    days_since_attended: int | None


@dataclass(frozen=True, slots=True)
class CoverageFacts:
    region: str
    is_home: bool
    client: tuple[SponsorFacts, ...]
    provider: tuple[SponsorFacts, ...]
    gap: bool  # no active client sponsor


@dataclass(frozen=True, slots=True)
class MeetingFacts:
    held_on: dt.date
    kind: str
    state: str
    present: int
    invited: int


@dataclass(frozen=True, slots=True)
class ExpectationFacts:
    statement: str
    category: str
    owner_side: str
    revisit_by: dt.date


@dataclass(frozen=True, slots=True)
class ChangeFacts:
    title: str
    status: str
    planned_on: dt.date | None
    regions: tuple[str, ...]
    owner: str | None


@dataclass(frozen=True, slots=True)
class GovernanceSection:
    coverage_percent: float | None
    coverage: tuple[CoverageFacts, ...]
    meetings: tuple[MeetingFacts, ...]  # held in the period
    expectations_due: tuple[ExpectationFacts, ...]
    changes: tuple[ChangeFacts, ...]  # planned in or after the period, or changed in it
    wins: tuple[WinFacts, ...]  # in the period


@dataclass(frozen=True, slots=True)
class DeliveryMonthFacts:
    """One month of delivery for the trend chart; ``spend`` as exact decimal text."""

    month: Month
    learners_trained: int
    completions: int
    training_hours: float
    sessions_delivered: int
    spend: str | None  # "12500.00"; None: not invoiced
    cost_per_learner: str | None
    confirmed: bool


@dataclass(frozen=True, slots=True)
class DeliverySection:
    """Delivery volumes and spend (issue 19). Period sums and cost ratios count confirmed
    months only; money is exact decimal text in ``currency``."""

    currency: str
    # The review's period (its first to last month), confirmed months only.
    learners_trained: int
    completions: int
    training_hours: float
    sessions_delivered: int
    spend: str
    confirmed_months: int
    period_months: int
    # The 12 months to the period's end: cost per learner and per hour over the months with
    # a confirmed invoice and volumes (``cost_months`` of them).
    cost_months: int
    cost_per_learner: str | None
    cost_per_hour: str | None
    # Confirmed invoiced spend since the contract start against the contract value.
    since: Month
    spent_to_date: str
    contract_value: str | None
    contract_months: int | None  # None: no renewal date, the annual value is the contract
    spend_share: float | None  # 0–100
    spend_reason: str | None  # why there is no share
    proposed_months: tuple[Month, ...]  # of the 12 months, still proposed (not counted)
    series: tuple[DeliveryMonthFacts, ...]  # the 12 months, for the chart


@dataclass(frozen=True, slots=True)
class HealthPointFacts:
    month: Month
    score: float | None


@dataclass(frozen=True, slots=True)
class CreditLineFacts:
    """An SLA breached (confirmed) in the period, with the credit rule behind its credits."""

    code: str
    name: str
    credit_percent: str  # "5", "2.5": % of the monthly fee per breach, as the rule stands
    months: tuple[Month, ...]  # the breached months of the period
    amount: str  # "1000.00": its credits before any cap, exact


@dataclass(frozen=True, slots=True)
class CreditSection:
    """Service credits (issue 19): amounts are exact decimal strings ("1200.00") in
    ``currency``; None where credits cannot be computed (``message`` says why)."""

    currency: str
    message: str  # "" when computable
    monthly_fee: str | None
    fee_from_annual_value: bool
    cap_percent: str | None  # "12"; None: no cap
    cap: str | None  # the cap per month in money
    rules: int  # SLAs carrying a credit rule
    lines: tuple[CreditLineFacts, ...]
    uncapped: str | None  # the period's credits before the cap
    credited: str | None  # the period's credits after the cap
    deducted: str | None  # what the cap took off in the period
    capped_months: tuple[Month, ...]
    year_first: Month
    year_last: Month
    year_total: str | None  # the 12 months up to the period's end
    year_breaches: int
    proposed: tuple[str, ...] = ()  # "WLD-02, Oct 2026": proposed breaches, not counted


@dataclass(frozen=True, slots=True)
class LogoFacts:
    """The client's logo (issue 19): the stored PNG, base64, and its size in pixels."""

    png_base64: str
    width: int
    height: int

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + self.png_base64


@dataclass(frozen=True, slots=True)
class LookAheadItem:
    """Something due in the 90 days after the period's end (or overdue, for a renewal)."""

    on: dt.date
    kind: str  # "change" | "expectation" | "renewal" | "meeting"
    text: str
    overdue: bool = False


@dataclass(frozen=True, slots=True)
class TrendToBreach:
    """An SLA met or at risk now whose trend reaches a breach soon (``sla_figures``)."""

    code: str
    name: str
    breach_month: Month


@dataclass(frozen=True, slots=True)
class CoverStory:
    """Issue 19: what page 1 tells an executive. ``health_line``, ``drafted_messages``,
    ``trending`` and ``look_ahead`` come from the figures; ``key_messages`` (the lead's,
    else the drafted ones), ``decisions_asks`` and the approved provider commentary are
    filled in from the review when it is previewed or issued."""

    health_line: str = ""
    since: str | None = None  # the period the changes are measured against, plainly
    drafted_messages: tuple[str, ...] = ()
    key_messages: tuple[str, ...] = ()
    decisions_asks: str = ""
    provider_commentary: str = ""
    commentary_author: str | None = None
    commentary_organisation: str | None = None
    look_ahead: tuple[LookAheadItem, ...] = ()
    look_ahead_until: dt.date | None = None
    trending: tuple[TrendToBreach, ...] = ()


@dataclass(frozen=True, slots=True)
class ScorecardData:
    """Everything a scorecard shows. ``executive_summary`` and ``featured_wins`` are the lead's."""

    partnership: PartnershipFacts
    period: PeriodFacts
    computed_on: dt.date  # the day the figures were computed
    previous_label: str | None  # the review the changes are measured against
    health: HealthFacts
    tiles: tuple[Tile, ...]
    executive_summary: str
    featured_wins: tuple[WinFacts, ...]
    slas: SlaSection
    satisfaction: SatisfactionSection
    actions: ActionSection
    governance: GovernanceSection
    health_series: tuple[HealthPointFacts, ...]  # 12 months up to the period's end
    schema: int = SCHEMA_VERSION
    credits: CreditSection | None = None  # issue 19; None in older snapshots
    # Addition (issue 19): the client's logo on the cover; None without one (and in
    # snapshots stored before it).
    logo: LogoFacts | None = None
    # Addition (issue 19): delivery volumes and spend; None in older snapshots and for a
    # partnership without delivery figures (the section is then left out).
    delivery: DeliverySection | None = None
    # Addition (issue 19): the cover's story; None in snapshots taken before it.
    story: CoverStory | None = None
    # Addition (issue 18): the print layout (``LAYOUT_VERSION`` when built; ``load`` gives
    # ``FIRST_LAYOUT`` to a snapshot stored without one).
    layout: int = LAYOUT_VERSION

    @property
    def provisional(self) -> str | None:
        """Why the figures are provisional (SLA actuals of the period not confirmed when
        they were computed), or None."""
        count = self.slas.proposed
        if not count:
            return None
        return (
            f"Provisional: {count} SLA actual{'s' if count != 1 else ''} of "
            f"{self.period.label} {'were' if count != 1 else 'was'} not confirmed when these "
            "figures were computed; attainment and health leave "
            f"{'them' if count != 1 else 'it'} out."
        )

    @property
    def provisional_mark(self) -> str | None:
        """The provisional mark in a few words, for the PDF's cover band and running footer."""
        count = self.slas.proposed
        if not count:
            return None
        return (
            f"PROVISIONAL · {count} SLA actual{'s' if count != 1 else ''} of "
            f"{self.period.label} not confirmed"
        )


@dataclass(frozen=True, slots=True)
class ScorecardMeta:
    """What the archive adds to the data when a scorecard is issued (a draft has none)."""

    version: int | None  # None: a draft, previewed before issuing
    issued_at: dt.datetime | None  # aware UTC
    issued_by: str | None  # the issuer's display name


# --- JSON form -----------------------------------------------------------------------------


def to_json(value: Any) -> Any:
    """A dataclass tree as JSON-ready values: months "YYYY-MM", days ISO, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Month):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    return value


def from_json(cls: type, data: Any) -> Any:
    """The inverse of ``to_json`` for the dataclasses of this module."""
    return _convert(cls, data)


def _convert(kind: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return _convert(options[0], data)
    if origin is tuple:
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], item) for item in data)
        return tuple(_convert(arg, item) for arg, item in zip(args, data, strict=True))
    if dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        return kind(**{name: _convert(hints[name], data[name]) for name in hints if name in data})
    if kind is Month:
        return Month.parse(data)
    if kind is dt.datetime:
        return dt.datetime.fromisoformat(data)
    if kind is dt.date:
        return dt.date.fromisoformat(data)
    if kind is float:
        return float(data)
    return data


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def load(data: dict[str, Any]) -> ScorecardData:
    """A stored snapshot as ``ScorecardData``."""
    if data.get("schema") != SCHEMA_VERSION:
        raise ValueError(f"unknown scorecard snapshot schema {data.get('schema')!r}")
    if "layout" not in data:  # stored before issue 18: printed as it was then
        data = {**data, "layout": FIRST_LAYOUT}
    return from_json(ScorecardData, data)


def dump(data: ScorecardData) -> dict[str, Any]:
    return to_json(data)
