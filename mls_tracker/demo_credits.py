"""The demo's service credit rules (issue 19): a credit on five SLAs of each partnership, the
monthly fee from the contract value per year, a 12 % cap that bites in a month of several
breaches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import Partnership, Sla
from mls_tracker.periods import Month
from mls_tracker.services.sla_figures import Status, load_sla_series, status_of

CAP_PERCENT = Decimal("12")
RULES_PER_PARTNERSHIP = 5
# The SLAs breached together in the busiest month credit enough to reach the cap; the others
# carry smaller credits, as contracts weight their key SLAs.
KEY_PERCENTS = (Decimal("8"), Decimal("6"), Decimal("5"))
OTHER_PERCENTS = (Decimal("2"), Decimal("3"), Decimal("4"), Decimal("2.5"))


def add_credit_rules(partnerships: Iterable[Partnership], first: Month, last: Month) -> None:
    """Credit rules on each partnership's SLAs, chosen from their confirmed actuals from
    ``first`` to ``last``: the SLAs breached in the last three months first, then the most
    breached. The fee is left to the contract value ÷ 12."""
    db.session.flush()
    for partnership in partnerships:
        partnership.monthly_fee = None
        partnership.credit_cap_percent = CAP_PERCENT
        series = load_sla_series(partnership.id, first, last)
        breached: dict[str, set[Month]] = {
            one.code: {
                month
                for month in one.measurements
                if status_of(one, month, confirmed_only=True) is Status.BREACHED
            }
            for one in series
        }
        counts = Counter({code: len(months) for code, months in breached.items()})
        recent = {
            code
            for code, months in breached.items()
            if max(months, default=first) >= last.shift(-2)
        }
        chosen = sorted(breached, key=lambda code: (code not in recent, -counts[code], code))[
            :RULES_PER_PARTNERSHIP
        ]
        busiest = max(
            {month for code in chosen for month in breached[code]},
            key=lambda month: (sum(month in breached[code] for code in chosen), month),
            default=None,
        )
        key, other = iter(KEY_PERCENTS), iter(OTHER_PERCENTS)
        by_code = {
            sla.code: sla
            for sla in db.session.scalars(
                sa.select(Sla).where(Sla.partnership_id == partnership.id)
            )
        }
        for code in sorted(chosen):
            percent = next(key, None) if busiest in breached[code] else None
            by_code[code].credit_percent = percent or next(other, Decimal("2"))
