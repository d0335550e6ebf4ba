"""The demo's service credits: rules on some SLAs, credits in some months, the cap biting."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import Partnership, Sla
from mls_tracker.periods import Month
from mls_tracker.services.service_credits import credits_for
from tests.conftest import DEMO_TODAY


def test_the_demo_credits_breaches_and_the_cap_bites(demo_2026_11):
    last = Month.of(DEMO_TODAY).previous()
    partnerships = db.session.scalars(sa.select(Partnership).order_by(Partnership.id)).all()
    capped = credited = 0
    for partnership in partnerships:
        assert partnership.credit_cap_percent == Decimal("12.00")
        rules = db.session.scalars(
            sa.select(Sla.credit_percent).where(
                Sla.partnership_id == partnership.id, Sla.credit_percent.is_not(None)
            )
        ).all()
        assert 4 <= len(rules) <= 6
        assert len(rules) < db.session.scalar(
            sa.select(sa.func.count()).where(Sla.partnership_id == partnership.id)
        )
        assert all(Decimal(2) <= rule <= Decimal(10) for rule in rules)
        credits = credits_for(partnership.id, last.shift(-23), last)
        assert credits.computable and credits.fee_from_annual_value
        credited += sum(1 for month in credits.months if month.credited > 0)
        capped += credits.capped_months
    assert credited >= 5
    assert capped >= 1
