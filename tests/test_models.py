"""The data model's constraints and types, as the database enforces them."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm.exc import StaleDataError

from mls_tracker.extensions import db
from mls_tracker.models import (
    Direction,
    Expectation,
    ExpectationCategory,
    MeasurementState,
    Side,
    Sla,
    SlaMeasurement,
    SlaTarget,
    SurveyResponse,
    Unit,
    User,
    utcnow,
)
from mls_tracker.periods import Month, month_range
from tests import factories


def _sla(world, code="CMP-01", weight=1) -> Sla:
    expectation = Expectation(
        partnership_id=world.partnership.id,
        category=ExpectationCategory.PERFORMANCE,
        statement="Learners complete what they start",
        owner_side=Side.PROVIDER,
        agreed_on=dt.date(2025, 1, 10),
        revisit_by=dt.date(2026, 1, 10),
    )
    sla = Sla(
        partnership_id=world.partnership.id,
        expectation=expectation,
        code=code,
        name="Course completion rate",
        unit=Unit.PERCENT,
        direction=Direction.HIGHER_IS_BETTER,
        weight=weight,
    )
    sla.targets.append(SlaTarget(effective_from=Month(2025, 1), target=90, at_risk_threshold=85))
    db.session.add(sla)
    db.session.flush()
    return sla


def _measurement(sla: Sla, month: Month, value: float | None = 91) -> SlaMeasurement:
    return SlaMeasurement(
        sla_id=sla.id,
        month=month,
        value=value,
        not_applicable=value is None,
        state=MeasurementState.PROPOSED,
    )


def test_one_measurement_per_sla_and_month(world):
    sla = _sla(world)
    db.session.add(_measurement(sla, Month(2025, 3)))
    db.session.commit()
    db.session.add(_measurement(sla, Month(2025, 3), 80))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_value_or_not_applicable_never_both(world):
    sla = _sla(world)
    bad = _measurement(sla, Month(2025, 4))
    bad.not_applicable = True
    db.session.add(bad)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_confirmed_measurement_needs_confirmation_time(world):
    sla = _sla(world)
    measurement = _measurement(sla, Month(2025, 5))
    measurement.state = MeasurementState.CONFIRMED
    db.session.add(measurement)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_sla_code_is_unique_within_a_partnership_only(world):
    _sla(world, "CMP-01")
    db.session.commit()
    other = Sla(
        partnership_id=world.other.id,
        code="CMP-01",
        name="Same code elsewhere",
        unit=Unit.COUNT,
        direction=Direction.LOWER_IS_BETTER,
    )
    db.session.add(other)
    db.session.commit()
    db.session.add(
        Sla(
            partnership_id=world.partnership.id,
            code="CMP-01",
            name="Duplicate",
            unit=Unit.COUNT,
            direction=Direction.LOWER_IS_BETTER,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_negative_weight_is_refused(world):
    with pytest.raises(IntegrityError):
        _sla(world, weight=-1)
    db.session.rollback()


@pytest.mark.parametrize(
    ("rating", "recommend", "ok"),
    [
        (5, 10, True),
        (1, 0, True),
        (None, 7, True),
        (0, 5, False),
        (6, 5, False),
        (3, 11, False),
        (3, -1, False),
        (None, None, False),
    ],
)
def test_survey_response_ranges(world, rating, recommend, ok):
    db.session.add(
        SurveyResponse(
            partnership_id=world.partnership.id,
            response_key="R_1",
            submitted_at=utcnow(),
            month=Month.current(),
            rating=rating,
            recommend=recommend,
        )
    )
    if ok:
        db.session.commit()
    else:
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_unknown_enumeration_value_is_refused_by_the_database(world):
    with pytest.raises(IntegrityError):
        db.session.execute(
            sa.text("UPDATE partnerships SET status = 'sleeping' WHERE id = :id"),
            {"id": world.partnership.id},
        )
        db.session.commit()
    db.session.rollback()


def test_emails_are_unique_whatever_their_case(world):
    user = factories.create_user("Mixed.Case@Example.COM")
    assert user.email == "mixed.case@example.com"
    db.session.commit()
    with pytest.raises(IntegrityError):
        factories.create_user("MIXED.case@example.com")
        db.session.commit()
    db.session.rollback()


def test_timestamps_are_aware_utc_after_a_round_trip(world):
    user = db.session.get(User, world.lead.id)
    local = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    user.last_login_at = local
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(User, world.lead.id).last_login_at
    assert stored.tzinfo is not None
    assert stored.utcoffset() == dt.timedelta(0)
    assert stored == local


def test_naive_timestamps_are_refused(world):
    user = db.session.get(User, world.lead.id)
    user.last_login_at = dt.datetime(2026, 3, 1, 12, 0)
    with pytest.raises(StatementError):
        db.session.commit()
    db.session.rollback()


def test_months_round_trip_and_order(world):
    sla = _sla(world)
    for month in month_range(Month(2025, 11), Month(2026, 2)):
        db.session.add(_measurement(sla, month))
    db.session.commit()
    months = db.session.scalars(
        sa.select(SlaMeasurement.month)
        .where(SlaMeasurement.sla_id == sla.id)
        .order_by(SlaMeasurement.month.desc())
    ).all()
    assert [str(m) for m in months] == ["2026-02", "2026-01", "2025-12", "2025-11"]
    newer = db.session.scalars(
        sa.select(SlaMeasurement.month).where(
            SlaMeasurement.sla_id == sla.id, SlaMeasurement.month >= Month(2026, 1)
        )
    ).all()
    assert len(newer) == 2


def test_target_in_force_is_effective_dated(world):
    sla = _sla(world)
    sla.targets.append(SlaTarget(effective_from=Month(2026, 1), target=95, at_risk_threshold=92))
    db.session.commit()
    assert sla.target_for(Month(2024, 12)) is None
    assert sla.target_for(Month(2025, 12)).target == decimal.Decimal(90)
    assert sla.target_for(Month(2026, 1)).target == decimal.Decimal(95)
    assert sla.target_for(Month(2026, 7)).target == decimal.Decimal(95)


def test_a_stale_copy_cannot_overwrite_a_newer_save(world, session_app):
    """Optimistic locking: two people saving the same record, the second is refused."""
    partnership_id = world.partnership.id
    first = db.session.get(type(world.partnership), partnership_id)
    with db.engine.connect() as other_connection:
        other_connection.execute(
            sa.text(
                "UPDATE partnerships SET name = 'Renamed', version = version + 1 WHERE id = :id"
            ),
            {"id": partnership_id},
        )
        other_connection.commit()
    first.name = "My edit"
    with pytest.raises(StaleDataError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(type(world.partnership), partnership_id).name == "Renamed"


def test_month_parsing_messages():
    assert str(Month.parse("2026-03")) == "2026-03"
    assert Month(2026, 12).next() == Month(2027, 1)
    assert Month(2026, 1).shift(-13) == Month(2024, 12)
    assert Month(2026, 2).last_day == dt.date(2026, 2, 28)
    for bad in ("2026-13", "26-01", "March", "2026/03"):
        with pytest.raises(ValueError):
            Month.parse(bad)
