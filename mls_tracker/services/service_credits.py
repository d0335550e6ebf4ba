"""Service credits (PRODUCT.md §3): what the provider credits back for confirmed SLA breaches.

An SLA may carry a credit rule, ``Sla.credit_percent``: that share of the partnership's monthly
fee is credited for each month the SLA's *confirmed* actual is breached against the target in
force that month (judged by ``sla_figures``, as everywhere else). At-risk, met, not-applicable,
missing and only-proposed months accrue nothing; a proposed breach is listed as "proposed, not
counted". The monthly fee is ``Partnership.monthly_fee``, else the contract value per year ÷ 12;
without either, credits cannot be computed (and are never shown as 0). A month's credits are
the sum over its SLAs, capped at ``Partnership.credit_cap_percent`` of the fee (None: no cap).
Money is Decimal, rounded half up to cents once per SLA-month and once for the cap. Credits are
computed with the rules as they stand now.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import Direction, Partnership, Sla, Unit
from mls_tracker.periods import Month, month_range
from mls_tracker.services.sla_figures import SlaSeries, Status, load_sla_series, status_of

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
NO_FEE_MESSAGE = (
    "Service credits cannot be computed: the partnership has neither a monthly fee nor a "
    "contract value per year. A lead can enter one in the partnership's settings."
)
RULES_NOW_NOTE = "Credits are computed with the credit rules as they stand now."


def credit_percent_of(value: Decimal) -> Decimal:
    """A credit or cap percentage as stored: two decimals, rounded half up."""
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


def percent_text(value: Decimal | None) -> str:
    """A credit or cap percentage as people write it: "5 %", "2.5 %"."""
    if value is None:
        return ""
    text = f"{Decimal(value):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} %"


def money(value: Decimal) -> Decimal:
    """An amount rounded half up to cents."""
    return value.quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class CreditRule:
    """An SLA's credit rule, as it stands now."""

    sla_id: int
    code: str
    name: str
    credit_percent: Decimal
    active: bool


@dataclass(frozen=True)
class SlaMonthCredit:
    """One SLA with a credit rule in one month."""

    sla_id: int
    code: str
    name: str
    credit_percent: Decimal
    status: Status  # judged on confirmed actuals only
    proposed_breach: bool  # a proposed (unconfirmed) actual would be a breach: not counted
    amount: Decimal  # rounded to cents; 0 unless a confirmed breach
    actual: Decimal | None
    target: Decimal | None
    unit: Unit | None = None
    direction: Direction | None = None

    @property
    def credited(self) -> bool:
        return self.status is Status.BREACHED


@dataclass(frozen=True)
class MonthCredits:
    month: Month
    slas: tuple[SlaMonthCredit, ...]  # every SLA with a rule
    uncapped: Decimal  # the sum of the SLAs' credits
    cap: Decimal | None  # the cap in money (None: no cap)
    credited: Decimal  # min(uncapped, cap)

    @property
    def capped(self) -> bool:
        return self.cap is not None and self.uncapped > self.cap

    @property
    def breaches(self) -> tuple[SlaMonthCredit, ...]:
        return tuple(item for item in self.slas if item.credited)

    @property
    def proposed_breaches(self) -> tuple[SlaMonthCredit, ...]:
        return tuple(item for item in self.slas if item.proposed_breach)


@dataclass(frozen=True)
class Credits:
    """A partnership's service credits over a range of months."""

    partnership_id: int
    currency: str
    first_month: Month
    last_month: Month
    monthly_fee: Decimal | None  # unrounded (annual value ÷ 12 may not be whole cents)
    fee_from_annual_value: bool  # the fee is the contract value per year ÷ 12
    cap_percent: Decimal | None
    cap: Decimal | None  # in money, rounded
    rules: tuple[CreditRule, ...]
    months: tuple[MonthCredits, ...]  # oldest first; empty when not computable

    @property
    def computable(self) -> bool:
        return self.monthly_fee is not None

    @property
    def message(self) -> str | None:
        """Why no credits are shown, or None."""
        return None if self.computable else NO_FEE_MESSAGE

    @property
    def total(self) -> Decimal | None:
        if not self.computable:
            return None
        return sum((month.credited for month in self.months), Decimal("0.00"))

    @property
    def breaches(self) -> int:
        return sum(len(month.breaches) for month in self.months)

    @property
    def proposed_breaches(self) -> int:
        return sum(len(month.proposed_breaches) for month in self.months)

    @property
    def capped_months(self) -> int:
        return sum(1 for month in self.months if month.capped)

    def per_breach(self, rule: CreditRule) -> Decimal | None:
        """What one breach of ``rule``'s SLA credits."""
        if self.monthly_fee is None:
            return None
        return sla_credit(self.monthly_fee, rule.credit_percent)

    @property
    def fee_shown(self) -> Decimal | None:
        """The monthly fee to the cent, for display."""
        return None if self.monthly_fee is None else money(self.monthly_fee)

    def breaches_by_sla(self) -> list[tuple[SlaMonthCredit, tuple[Month, ...], Decimal]]:
        """Each SLA credited in the range: (its first credit, the months, their sum before any
        cap), by code."""
        found: dict[int, tuple[SlaMonthCredit, list[Month], Decimal]] = {}
        for month in self.months:
            for item in month.breaches:
                first, months, amount = found.get(item.sla_id, (item, [], Decimal("0.00")))
                found[item.sla_id] = (first, [*months, month.month], amount + item.amount)
        return [
            (first, tuple(months), amount)
            for first, months, amount in sorted(found.values(), key=lambda row: row[0].code)
        ]

    def month(self, month: Month) -> MonthCredits | None:
        for item in self.months:
            if item.month == month:
                return item
        return None


def monthly_fee_of(
    monthly_fee: Decimal | None, annual_value: Decimal | None
) -> tuple[Decimal | None, bool]:
    """The fee credits are a share of, and whether it comes from the annual value ÷ 12."""
    if monthly_fee is not None:
        return Decimal(monthly_fee), False
    if annual_value is not None:
        return Decimal(annual_value) / 12, True
    return None, False


def sla_credit(fee: Decimal, percent: Decimal) -> Decimal:
    """One breach's credit: ``percent`` of the monthly fee, rounded half up to cents."""
    return money(fee * percent / HUNDRED)


def month_credits(
    month: Month,
    rules: dict[int, CreditRule],
    series_list: list[SlaSeries],
    fee: Decimal,
    cap: Decimal | None,
) -> MonthCredits:
    """One month's credits from plain values."""
    items = []
    for series in series_list:
        rule = rules.get(series.sla_id)
        if rule is None:
            continue
        status = status_of(series, month, confirmed_only=True)
        point = series.measurements.get(month)
        proposed_breach = (
            point is not None
            and not point.confirmed
            and status_of(series, month) is Status.BREACHED
        )
        target = series.target_for(month)
        items.append(
            SlaMonthCredit(
                sla_id=rule.sla_id,
                code=rule.code,
                name=rule.name,
                credit_percent=rule.credit_percent,
                status=status,
                proposed_breach=proposed_breach,
                amount=(
                    sla_credit(fee, rule.credit_percent)
                    if status is Status.BREACHED
                    else Decimal("0.00")
                ),
                actual=None if point is None else point.value,
                target=None if target is None else target.target,
                unit=series.unit,
                direction=series.direction,
            )
        )
    uncapped = sum((item.amount for item in items), Decimal("0.00"))
    credited = uncapped if cap is None else min(uncapped, cap)
    return MonthCredits(month, tuple(items), uncapped, cap, credited)


def credit_rules(partnership_id: int) -> tuple[CreditRule, ...]:
    """The partnership's SLAs that carry a credit rule, by code (inactive ones too)."""
    rows = db.session.execute(
        sa.select(Sla.id, Sla.code, Sla.name, Sla.credit_percent, Sla.active)
        .where(Sla.partnership_id == partnership_id, Sla.credit_percent.is_not(None))
        .order_by(Sla.code)
    )
    return tuple(CreditRule(*row) for row in rows)


def credits_for(partnership_id: int, first_month: Month, last_month: Month) -> Credits:
    """The partnership's service credits from ``first_month`` to ``last_month``, in a fixed
    number of queries whatever the number of months and SLAs."""
    fee_row = db.session.execute(
        sa.select(
            Partnership.currency,
            Partnership.monthly_fee,
            Partnership.annual_value,
            Partnership.credit_cap_percent,
        ).where(Partnership.id == partnership_id)
    ).one()
    currency, monthly_fee, annual_value, cap_percent = fee_row
    fee, from_annual = monthly_fee_of(monthly_fee, annual_value)
    rules = credit_rules(partnership_id)
    cap = None if fee is None or cap_percent is None else sla_credit(fee, cap_percent)
    months: tuple[MonthCredits, ...] = ()
    if fee is not None:
        by_id = {rule.sla_id: rule for rule in rules}
        series_list = []
        if rules:
            series_list = [
                series
                for series in load_sla_series(
                    partnership_id, first_month, last_month, include_inactive=True
                )
                if series.sla_id in by_id
            ]
        months = tuple(
            month_credits(month, by_id, series_list, fee, cap)
            for month in month_range(first_month, last_month)
        )
    return Credits(
        partnership_id=partnership_id,
        currency=currency,
        first_month=first_month,
        last_month=last_month,
        monthly_fee=fee,
        fee_from_annual_value=from_annual,
        cap_percent=cap_percent,
        cap=cap,
        rules=rules,
        months=months,
    )


# ----------------------------------------------------------------------------- pages


MAX_MONTHS = 36  # the longest range a page or an export shows
SORTS = ("month", "credited")

CSV_HEADER = (
    "month",
    "row",
    "sla_code",
    "sla_name",
    "credit_percent",
    "status",
    "actual",
    "target",
    "credit",
    "sum_before_cap",
    "cap",
    "credited",
    "currency",
)


def default_range(today_month: Month) -> tuple[Month, Month]:
    """The last 12 complete months."""
    last = today_month.previous()
    return last.shift(-11), last


def clamp_range(first: Month | None, last: Month | None, today_month: Month) -> tuple[Month, Month]:
    """A range a person asked for, made sensible: never after the current month, first not
    after last, at most ``MAX_MONTHS`` long; missing ends from the default range."""
    default_first, default_last = default_range(today_month)
    last = min(last or default_last, today_month)
    first = first or (default_first if last == default_last else last.shift(-11))
    if first > last:
        first = last
    if first < last.shift(-(MAX_MONTHS - 1)):
        first = last.shift(-(MAX_MONTHS - 1))
    return first, last


def sorted_months(credits: Credits, sort: str) -> list[MonthCredits]:
    """Newest first, or the largest credits first (then newest)."""
    months = sorted(credits.months, key=lambda m: m.month, reverse=True)
    if sort == "credited":
        months.sort(key=lambda m: m.credited, reverse=True)
    return months


def export_rows(credits: Credits) -> list[list]:
    """One row per SLA-month credited and one total per month, oldest first; amounts as plain
    numbers with two decimals."""
    rows: list[list] = []
    for month in credits.months:
        for item in month.breaches:
            rows.append(
                [
                    str(month.month),
                    "SLA credit",
                    item.code,
                    item.name,
                    item.credit_percent,
                    str(item.status),
                    item.actual,
                    item.target,
                    item.amount,
                    None,
                    None,
                    None,
                    credits.currency,
                ]
            )
        rows.append(
            [
                str(month.month),
                "Month total (capped)" if month.capped else "Month total",
                None,
                None,
                None,
                f"{len(month.breaches)} confirmed breach(es)"
                + (
                    f", {len(month.proposed_breaches)} proposed, not counted"
                    if month.proposed_breaches
                    else ""
                ),
                None,
                None,
                None,
                month.uncapped,
                month.cap,
                month.credited,
                credits.currency,
            ]
        )
    return rows
