"""The demo's delivery volumes and spend: every month from the contract's start (the 24 months
of history and the few before them, so that spend to date is whole), entered by the provider
and confirmed by a lead, with the seasons of corporate training (quiet in August and December,
busy in the first quarter and the autumn); the last month of a partnership that leaves its
actuals waiting (``confirms_last_month``) is left proposed too."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from mls_tracker.extensions import db
from mls_tracker.models import DeliveryMonth, MeasurementState
from mls_tracker.periods import Month, month_range


@dataclass(frozen=True)
class _Profile:
    """How a partnership delivers: per month at a season factor of 1."""

    learners: int
    completions_per_learner: float
    hours_per_learner: float
    learners_per_session: int
    fixed_share: float  # of the monthly fee that does not follow the volumes


_PROFILES = {
    # Global Learning Services: instructor-led and virtual classrooms across four regions.
    "gls": _Profile(1550, 1.6, 3.4, 14, 0.65),
    # Sales Enablement: small cohorts, long programmes.
    "se": _Profile(380, 1.3, 5.2, 11, 0.7),
    # Compliance Academy: mostly e-learning, many learners, short modules.
    "ca": _Profile(2100, 2.4, 1.1, 60, 0.55),
}
_DEFAULT = _Profile(500, 1.5, 3.0, 15, 0.6)
_SEASON = {1: 1.1, 2: 1.12, 3: 1.15, 4: 1.0, 5: 1.02, 6: 0.95, 7: 0.82, 8: 0.68, 9: 1.08,
           10: 1.15, 11: 1.06, 12: 0.72}  # fmt: skip
_NOTES = {
    8: "Summer holidays: fewer sessions scheduled.",
    12: "Year-end freeze on classroom sessions.",
}
_CENT = Decimal("0.01")


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def add_delivery(builder: Any) -> None:
    """Add the months of every demo partnership (``builder``: demo._Builder, after its SLAs)."""
    for ctx in builder.ctxs:
        spec = ctx.spec
        rng: random.Random = builder.rng("delivery", spec.key)
        profile = _PROFILES.get(spec.key, _DEFAULT)
        lead, provider = builder.users[spec.leads[0]], builder.users[spec.providers[0]]
        fee = Decimal(spec.annual_value) / 12
        first = min(builder.months[0], Month.of(ctx.partnership.start_date))
        for index, month in enumerate(month_range(first, builder.last)):
            growth = 1 + 0.006 * index
            season = _SEASON[month.month] * growth * rng.uniform(0.94, 1.06)
            learners = round(profile.learners * season)
            hours = Decimal(str(learners * profile.hours_per_learner * rng.uniform(0.95, 1.05)))
            variable = Decimal(str(season / growth))
            spend = fee * (
                Decimal(str(profile.fixed_share))
                + (1 - Decimal(str(profile.fixed_share))) * variable
            )
            entered = min(
                builder.today, month.next().first_day + dt.timedelta(days=rng.randint(3, 6))
            )
            confirmed_on = month.next().first_day + dt.timedelta(days=rng.randint(7, 10))
            proposed = month == builder.last and not spec.confirms_last_month
            if month == builder.last and confirmed_on >= builder.today:
                confirmed_on = builder.today
            db.session.add(
                DeliveryMonth(
                    partnership_id=ctx.partnership.id,
                    month=month,
                    learners_trained=learners,
                    completions=round(
                        learners * profile.completions_per_learner * rng.uniform(0.9, 1.05)
                    ),
                    training_hours=hours.quantize(Decimal("0.5"), ROUND_HALF_UP).quantize(_CENT),
                    sessions_delivered=max(1, round(learners / profile.learners_per_session)),
                    invoiced_amount=spend.quantize(Decimal(100), ROUND_HALF_UP).quantize(_CENT),
                    note=_NOTES.get(month.month),
                    state=MeasurementState.PROPOSED if proposed else MeasurementState.CONFIRMED,
                    entered_by_id=provider.id,
                    entered_at=_at(entered, 9),
                    confirmed_by_id=None if proposed else lead.id,
                    confirmed_at=None if proposed else _at(confirmed_on, 15),
                )
            )
