"""Delivery volumes and spend: provider proposes, lead confirms, and the figures of
PRODUCT.md §3 pinned to hand-worked numbers (proposed months left out)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import AuditEntry, DeliveryMonth, MeasurementState
from mls_tracker.periods import Month
from mls_tracker.services import delivery as service
from mls_tracker.services.errors import Conflict, PermissionDenied, ValidationFailed

TODAY = dt.date(2025, 7, 10)


def _values(learners, hours, spend, completions=0, sessions=1, note=""):
    return service.DeliveryInput(
        learners_trained=str(learners),
        completions=str(completions),
        training_hours=str(hours),
        sessions_delivered=str(sessions),
        invoiced_amount="" if spend is None else str(spend),
        note=note,
    )


def _record(user, world, month, values, seen=0):
    return service.record_month(user, world.partnership, month, values, seen, today=TODAY)


@pytest.fixture
def three_months(world):
    """Mar (confirmed, not invoiced), Apr and May confirmed, Jun proposed."""
    lead = world.lead
    _record(lead, world, Month(2025, 3), _values(40, "100", None))
    _record(lead, world, Month(2025, 4), _values(100, "250.00", "12000.00", completions=90))
    _record(lead, world, Month(2025, 5), _values(50, "150", "8000", completions=45))
    _record(world.provider, world, Month(2025, 6), _values(1000, "1", "99999"))
    return world


def test_cost_per_learner_and_hour_use_only_confirmed_invoiced_months(three_months):
    world = three_months
    figures = service.figures(world.partnership, Month(2025, 6), months=12)
    # Volumes: the three confirmed months; June (proposed) is left out everywhere.
    assert figures.learners_trained == 40 + 100 + 50
    assert figures.completions == 135
    assert figures.training_hours == Decimal("500.00")
    assert figures.spend == Decimal("20000.00")
    assert figures.confirmed_months == 3
    assert figures.proposed_months == (Month(2025, 6),)
    # Costs over April and May only (March has no invoice): 20,000 ÷ 150 and 20,000 ÷ 400.
    assert figures.cost_months == 2
    assert figures.cost_per_learner == Decimal("133.33")
    assert figures.cost_per_hour == Decimal("50.00")
    assert [p.month for p in figures.series] == [Month(2025, m) for m in (3, 4, 5, 6)]
    assert figures.series[-1].confirmed is False


def test_spend_to_date_against_the_contract_value(three_months):
    world = three_months
    # 1,200,000 a year from 1 Jan 2025 to 31 Dec 2027: 36 months → 3,600,000.
    to_date = service.spend_to_date(world.partnership, Month(2025, 6))
    assert to_date.term_months == 36
    assert to_date.contract_value == Decimal("3600000.00")
    assert to_date.spent == Decimal("20000.00")
    assert to_date.share == Decimal("0.6")  # 0.5555…% rounded half up
    world.partnership.renewal_date = None
    to_date = service.spend_to_date(world.partnership, Month(2025, 6))
    assert to_date.contract_value == Decimal("1200000")
    assert to_date.share == Decimal("1.7")  # 1.666…%
    world.partnership.annual_value = None
    to_date = service.spend_to_date(world.partnership, Month(2025, 6))
    assert to_date.share is None
    assert to_date.reason == "no annual contract value is recorded"


def test_spend_before_the_contract_start_does_not_count(three_months):
    world = three_months
    world.partnership.start_date = dt.date(2025, 5, 1)
    assert service.spend_to_date(world.partnership, Month(2025, 6)).spent == Decimal("8000.00")


@pytest.mark.parametrize(
    ("start", "renewal", "months"),
    [
        (dt.date(2025, 1, 1), dt.date(2028, 1, 1), 36),
        (dt.date(2025, 1, 1), dt.date(2027, 12, 31), 36),
        (dt.date(2025, 1, 15), dt.date(2025, 2, 13), 0),
        (dt.date(2025, 1, 15), dt.date(2025, 2, 14), 1),
    ],
)
def test_contract_months(start, renewal, months):
    assert service.contract_months(start, renewal) == months


def test_a_provider_proposes_and_a_lead_confirms(world):
    month = Month(2025, 6)
    row = _record(world.provider, world, month, _values(10, "20", "500"))
    assert row.state is MeasurementState.PROPOSED and row.confirmed_at is None
    with pytest.raises(PermissionDenied):
        service.confirm_month(world.provider, world.partnership, month, row.version)
    with pytest.raises(PermissionDenied):
        service.confirm_all(world.provider, world.partnership)
    confirmed = service.confirm_month(world.lead, world.partnership, month, row.version)
    assert confirmed.state is MeasurementState.CONFIRMED
    assert confirmed.confirmed_by_id == world.lead.id
    # A confirmed month is the lead's to change.
    with pytest.raises(ValidationFailed, match="only a lead"):
        _record(world.provider, world, month, _values(11, "20", "500"), seen=confirmed.version)
    entries = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.object_type == "DeliveryMonth")
    ).all()
    assert entries and all(e.partnership_id == world.partnership.id for e in entries)


def test_a_lead_entry_is_confirmed_at_once_and_confirm_all(world):
    row = _record(world.lead, world, Month(2025, 5), _values(1, "1", None))
    assert row.state is MeasurementState.CONFIRMED
    _record(world.provider, world, Month(2025, 6), _values(1, "1", None))
    _record(world.provider, world, Month(2025, 7), _values(1, "1", None))
    assert service.confirm_all(world.lead, world.partnership) == 2
    assert not service.months_of(world.partnership.id, MeasurementState.PROPOSED)


def test_others_cannot_enter_and_other_partnerships_are_hidden(world):
    with pytest.raises(PermissionDenied) as denied:
        _record(world.viewer, world, Month(2025, 6), _values(1, "1", None))
    assert not denied.value.hidden
    with pytest.raises(PermissionDenied) as denied:
        _record(world.outsider, world, Month(2025, 6), _values(1, "1", None))
    assert denied.value.hidden


def test_validation_names_each_field(world):
    bad = service.DeliveryInput("-3", "x", "1.234", "", "12.5.1")
    with pytest.raises(ValidationFailed) as error:
        _record(world.lead, world, Month(2025, 6), bad)
    assert set(error.value.problems) == {
        "learners_trained",
        "completions",
        "training_hours",
        "sessions_delivered",
        "invoiced_amount",
    }
    with pytest.raises(ValidationFailed, match="future"):
        _record(world.lead, world, Month(2025, 8), _values(1, "1", None))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DeliveryMonth)) == 0


def test_a_stale_save_is_refused(world):
    month = Month(2025, 6)
    row = _record(world.provider, world, month, _values(10, "20", "500"))
    seen = row.version
    _record(world.provider, world, month, _values(12, "20", "500"), seen=seen)
    with pytest.raises(Conflict):
        _record(world.provider, world, month, _values(14, "20", "500"), seen=seen)
    with pytest.raises(Conflict):  # the form saw no row, but one was saved meanwhile
        _record(world.lead, world, Month(2025, 6), _values(1, "1", None), seen=0)


def test_money_is_written_exactly_with_its_currency():
    from mls_tracker.formatting import money

    assert money(Decimal("1234.5"), "EUR") == "EUR 1,234.50"
    assert money("12500.00", "USD") == "USD 12,500"
    assert money(Decimal("0.005"), "GBP") == "GBP 0.01"  # half up, never to even
    assert money(None, "USD") == "—"
