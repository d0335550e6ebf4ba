"""The scorecard's service credits section, as plain values (issue 19)."""

from __future__ import annotations

from decimal import Decimal

from mls_tracker.periods import Month
from mls_tracker.scorecards.snapshot import CreditLineFacts, CreditSection
from mls_tracker.services.service_credits import Credits, credits_for, percent_text

YEAR_MONTHS = 12


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def _percent(value: Decimal | None) -> str | None:
    return None if value is None else percent_text(value).removesuffix(" %")


def credit_section(
    partnership_id: int, first_month: Month, last_month: Month
) -> CreditSection | None:
    """The period's credits per breached SLA, the cap applied, and the 12 months up to the
    period's end; None when no SLA carries a credit rule (the section is left out)."""
    year_first = min(first_month, last_month.shift(-(YEAR_MONTHS - 1)))
    credits = credits_for(partnership_id, year_first, last_month)
    if not credits.rules:
        return None
    return section_of(credits, first_month, last_month)


def section_of(credits: Credits, first_month: Month, last_month: Month) -> CreditSection:
    period = [m for m in credits.months if first_month <= m.month <= last_month]
    year = [m for m in credits.months if m.month >= last_month.shift(-(YEAR_MONTHS - 1))]
    lines: dict[int, list] = {}
    for month in period:
        for item in month.breaches:
            line = lines.setdefault(item.sla_id, [item, [], Decimal("0.00")])
            line[1].append(month.month)
            line[2] += item.amount
    computable = credits.computable
    uncapped = sum((m.uncapped for m in period), Decimal("0.00"))
    credited = sum((m.credited for m in period), Decimal("0.00"))
    return CreditSection(
        currency=credits.currency,
        message=credits.message or "",
        monthly_fee=_text(credits.fee_shown),
        fee_from_annual_value=credits.fee_from_annual_value,
        cap_percent=_percent(credits.cap_percent),
        cap=_text(credits.cap),
        rules=len(credits.rules),
        lines=tuple(
            CreditLineFacts(
                code=item.code,
                name=item.name,
                credit_percent=_percent(item.credit_percent) or "",
                months=tuple(months),
                amount=_text(amount) or "0.00",
            )
            for item, months, amount in sorted(lines.values(), key=lambda line: line[0].code)
        ),
        uncapped=_text(uncapped) if computable else None,
        credited=_text(credited) if computable else None,
        deducted=_text(uncapped - credited) if computable else None,
        capped_months=tuple(m.month for m in period if m.capped),
        year_first=year[0].month if year else last_month.shift(-(YEAR_MONTHS - 1)),
        year_last=last_month,
        year_total=_text(sum((m.credited for m in year), Decimal("0.00"))) if computable else None,
        year_breaches=sum(len(m.breaches) for m in year),
        proposed=tuple(
            f"{item.code}, {m.month.label}" for m in period for item in m.proposed_breaches
        ),
    )
