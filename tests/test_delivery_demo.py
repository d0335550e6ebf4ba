"""The demo's delivery volumes and spend: every month of every partnership from its contract
start, in its currency, with the seasons; Compliance Academy's last month still proposed."""

from __future__ import annotations

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import DeliveryMonth, MeasurementState, Partnership
from mls_tracker.periods import Month
from mls_tracker.services import delivery as service
from tests.conftest import DEMO_TODAY

TODAY = DEMO_TODAY  # the `demo` fixture's (tests/conftest.py)
LAST_MONTH = Month(2026, 10)


def test_every_partnership_has_its_months_from_the_contract_start(demo_2026_11):
    for partnership in db.session.scalars(sa.select(Partnership)):
        rows = service.months_of(partnership.id, newest_first=False)
        months = [row.month for row in rows]
        assert months[0] == Month.of(partnership.start_date)
        assert months[-1] == LAST_MONTH and len(months) >= 24
        assert len(set(months)) == len(months)
        assert all(row.invoiced_amount and row.learners_trained > 0 for row in rows)
        # Quiet Augusts and Decembers against the busy autumn.
        by_month = {row.month: row.learners_trained for row in rows}
        assert by_month[Month(2026, 8)] < by_month[Month(2026, 10)]
        assert by_month[Month(2025, 12)] < by_month[Month(2025, 10)]
        # Spend is about the annual value a year, in the partnership's currency.
        year = service.figures(partnership, LAST_MONTH)
        assert 0.8 < float(year.spend / partnership.annual_value) < 1.15
        assert year.cost_per_learner and year.cost_per_hour


def test_only_compliance_academys_last_month_is_proposed(demo_2026_11):
    proposed = db.session.execute(
        sa.select(Partnership.name, DeliveryMonth.month)
        .join(Partnership, Partnership.id == DeliveryMonth.partnership_id)
        .where(DeliveryMonth.state == MeasurementState.PROPOSED)
    ).all()
    assert proposed == [("Compliance Academy", LAST_MONTH)]
    compliance = db.session.scalar(sa.select(Partnership).where(Partnership.currency == "EUR"))
    assert compliance.name == "Compliance Academy"
