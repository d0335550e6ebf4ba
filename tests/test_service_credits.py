"""Service credits: the arithmetic pinned to hand-worked numbers (PRODUCT.md §3)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mls_tracker.extensions import db
from mls_tracker.models import Sla, SlaTarget
from mls_tracker.periods import Month
from mls_tracker.services.service_credits import NO_FEE_MESSAGE, credits_for
from mls_tracker.services.sla_figures import Status
from tests.factories import add_measurement, create_sla

JAN = Month(2026, 1)
FEB = Month(2026, 2)
MAR = Month(2026, 3)


@pytest.fixture
def contract(world):
    """Fee 10,000.00 a month, no cap; SLA WLD-01 (target 90, at risk from 85) credits 5 %."""
    partnership = world.partnership
    partnership.monthly_fee = Decimal("10000.00")
    partnership.credit_cap_percent = None
    sla = db.session.get(Sla, world.ids["sla_id"])
    sla.credit_percent = Decimal("5.00")
    db.session.commit()
    return world, sla


def _rule(partnership, code: str, percent: str, **kwargs):
    sla = create_sla(partnership, None, code, **kwargs)
    sla.credit_percent = Decimal(percent)
    return sla


def test_one_confirmed_breach_credits_five_percent_of_the_fee(contract):
    world, sla = contract
    add_measurement(sla, JAN, 80, confirmed_by=world.lead)  # below 85: breached
    db.session.commit()

    credits = credits_for(world.partnership.id, JAN, JAN)

    month = credits.month(JAN)
    assert month.credited == Decimal("500.00")
    assert [(item.code, item.status, item.amount) for item in month.breaches] == [
        ("WLD-01", Status.BREACHED, Decimal("500.00"))
    ]
    assert not month.capped
    assert credits.total == Decimal("500.00")
    assert credits.currency == "USD"


def test_two_breaches_under_the_cap_add_up(contract):
    world, sla = contract
    world.partnership.credit_cap_percent = Decimal("12.00")
    other = _rule(world.partnership, "WLD-02", "4.00")
    add_measurement(sla, JAN, 80, confirmed_by=world.lead)
    add_measurement(other, JAN, 70, confirmed_by=world.lead)
    db.session.commit()

    month = credits_for(world.partnership.id, JAN, JAN).month(JAN)

    assert month.uncapped == Decimal("900.00")
    assert month.cap == Decimal("1200.00")
    assert month.credited == Decimal("900.00")
    assert not month.capped


def test_the_cap_bites_when_three_breaches_exceed_it(contract):
    world, sla = contract
    world.partnership.credit_cap_percent = Decimal("12.00")
    second = _rule(world.partnership, "WLD-02", "5.00")
    third = _rule(world.partnership, "WLD-03", "4.00")
    for each in (sla, second, third):
        add_measurement(each, JAN, 50, confirmed_by=world.lead)
    add_measurement(sla, FEB, 95, confirmed_by=world.lead)
    db.session.commit()

    credits = credits_for(world.partnership.id, JAN, FEB)

    january = credits.month(JAN)
    assert january.uncapped == Decimal("1400.00")
    assert january.credited == Decimal("1200.00")
    assert january.capped
    assert credits.month(FEB).credited == Decimal("0.00")
    assert credits.total == Decimal("1200.00")
    assert credits.capped_months == 1


def test_at_risk_not_applicable_missing_and_met_months_accrue_nothing(contract):
    world, sla = contract
    add_measurement(sla, JAN, 85, confirmed_by=world.lead)  # exactly the at-risk threshold
    add_measurement(sla, FEB, None, confirmed_by=world.lead)  # not applicable
    # March: no actual at all.
    db.session.commit()

    credits = credits_for(world.partnership.id, JAN, MAR)

    statuses = [(m.month, m.slas[0].status, m.credited) for m in credits.months]
    assert statuses == [
        (JAN, Status.AT_RISK, Decimal("0.00")),
        (FEB, Status.NOT_APPLICABLE, Decimal("0.00")),
        (MAR, Status.MISSING, Decimal("0.00")),
    ]
    assert credits.total == Decimal("0.00")


def test_a_proposed_breach_is_listed_but_not_counted(contract):
    world, sla = contract
    add_measurement(sla, JAN, 10)  # proposed only
    db.session.commit()

    credits = credits_for(world.partnership.id, JAN, JAN)

    month = credits.month(JAN)
    assert month.credited == Decimal("0.00")
    assert month.breaches == ()
    assert [item.code for item in month.proposed_breaches] == ["WLD-01"]
    assert credits.proposed_breaches == 1


def test_an_sla_without_a_rule_credits_nothing(contract):
    world, sla = contract
    plain = create_sla(world.partnership, None, "NORULE")
    add_measurement(plain, JAN, 10, confirmed_by=world.lead)
    db.session.commit()

    credits = credits_for(world.partnership.id, JAN, JAN)

    assert credits.month(JAN).credited == Decimal("0.00")
    assert [item.code for item in credits.month(JAN).slas] == ["WLD-01"]
    assert [rule.code for rule in credits.rules] == ["WLD-01"]


def test_a_breach_is_judged_against_the_target_in_force_that_month(contract):
    world, sla = contract
    # From February the target is 70 (at risk from 60): 80 is met then, breached before.
    sla.targets.append(SlaTarget(effective_from=FEB, target=70, at_risk_threshold=60))
    add_measurement(sla, JAN, 80, confirmed_by=world.lead)
    add_measurement(sla, FEB, 80, confirmed_by=world.lead)
    add_measurement(sla, MAR, 55, confirmed_by=world.lead)
    db.session.commit()

    credits = credits_for(world.partnership.id, JAN, MAR)

    assert [(m.slas[0].status, m.credited) for m in credits.months] == [
        (Status.BREACHED, Decimal("500.00")),
        (Status.MET, Decimal("0.00")),
        (Status.BREACHED, Decimal("500.00")),
    ]
    assert credits.month(FEB).slas[0].target == Decimal("70")


def test_the_fee_defaults_to_the_annual_value_over_twelve_rounded_once(contract):
    world, sla = contract
    world.partnership.monthly_fee = None
    world.partnership.annual_value = Decimal("100000.00")  # 8,333.333… a month
    sla.credit_percent = Decimal("2.50")
    world.partnership.credit_cap_percent = Decimal("1.00")
    add_measurement(sla, JAN, 10, confirmed_by=world.lead)
    db.session.commit()

    credits = credits_for(world.partnership.id, JAN, JAN)

    assert credits.fee_from_annual_value
    month = credits.month(JAN)
    assert month.uncapped == Decimal("208.33")  # 208.3333… half up
    assert month.cap == Decimal("83.33")  # 83.3333… half up
    assert month.credited == Decimal("83.33")


def test_half_a_cent_rounds_up(contract):
    world, sla = contract
    world.partnership.monthly_fee = Decimal("1000.10")
    sla.credit_percent = Decimal("2.50")  # 25.0025 → 25.00; 1000.20 × 2.5 % = 25.005 → 25.01
    add_measurement(sla, JAN, 10, confirmed_by=world.lead)
    db.session.commit()
    assert credits_for(world.partnership.id, JAN, JAN).total == Decimal("25.00")

    world.partnership.monthly_fee = Decimal("1000.20")
    db.session.commit()
    assert credits_for(world.partnership.id, JAN, JAN).total == Decimal("25.01")


def test_without_a_fee_or_an_annual_value_credits_cannot_be_computed(contract):
    world, sla = contract
    world.partnership.monthly_fee = None
    world.partnership.annual_value = None
    add_measurement(sla, JAN, 10, confirmed_by=world.lead)
    db.session.commit()

    credits = credits_for(world.partnership.id, JAN, JAN)

    assert not credits.computable
    assert credits.total is None
    assert credits.months == ()
    assert credits.message == NO_FEE_MESSAGE
    assert "neither a monthly fee nor a contract value" in credits.message


def test_queries_do_not_grow_with_months_or_slas(contract, app):
    import sqlalchemy as sa

    world, sla = contract
    for code in ("Q-1", "Q-2", "Q-3"):
        extra = _rule(world.partnership, code, "3")
        for offset in range(12):
            add_measurement(extra, JAN.shift(offset), 10, confirmed_by=world.lead)
    db.session.commit()
    partnership_id = world.partnership.id
    db.session.expire_all()

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        credits = credits_for(partnership_id, JAN, JAN.shift(11))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert credits.breaches == 36
    assert len(statements) == 5  # fee, rules, SLAs, their targets, their actuals
