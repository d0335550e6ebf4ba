"""Issue 16, point 2: filling the figures cache from several transactions at once never
deadlocks on PostgreSQL, and a deadlock that happens all the same is not answered as the
database being down. Real threads, each with its own session and connection."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from mls_tracker.extensions import csrf, db
from mls_tracker.models import Partnership, PartnershipMonthFigures
from mls_tracker.periods import Month
from mls_tracker.services import dashboard
from tests import factories

pytestmark = pytest.mark.postgres

TODAY = dt.date(2025, 8, 15)
FIRST, LAST = Month(2024, 9), Month(2025, 8)


@pytest.fixture(autouse=True)
def _postgres_only(app: Flask) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's row locks (TEST_DATABASE_URL)")


def _partnerships(world, count: int) -> list[int]:
    """The world's two partnerships and ``count - 2`` more."""
    for i in range(count - 2):
        factories.create_partnership(f"Extra {i}", world.partnership.client, world.other.provider)
    db.session.commit()
    return list(db.session.scalars(sa.select(Partnership.id).order_by(Partnership.id)))


def _run_threads(app: Flask, work: list[Callable[[], Any]]) -> tuple[list[Any], list[str]]:
    """Run each callable in its own thread with its own app context (session, connection)."""
    results: list[Any] = [None] * len(work)
    errors: list[str] = []

    def run(index: int) -> None:
        with app.app_context():
            try:
                results[index] = work[index]()
            except Exception as error:  # reported by the test, with the error's text
                errors.append(f"thread {index}: {type(error).__name__}: {error}"[:400])
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread is still waiting"
    return results, errors


def _figures(ids: list[int]) -> dict[int, list]:
    partnerships = db.session.scalars(sa.select(Partnership).where(Partnership.id.in_(ids))).all()
    return dashboard.month_figures(partnerships, FIRST, LAST, TODAY)


def _rows() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(PartnershipMonthFigures))


def test_use_cases_filling_the_same_partnerships_in_both_orders_do_not_deadlock(app, world):
    """Two transactions that hold a write of their own (so the rows they fill stay in their
    transaction until it commits) fill partnership A then B, and B then A. The old code
    deadlocked ("deadlock detected", which the edge answered 503)."""
    ids = _partnerships(world, 4)
    first, second, own_a, own_b = ids
    expected = _figures([first, second])
    db.session.execute(sa.delete(PartnershipMonthFigures))
    db.session.commit()
    both_filled_one = threading.Barrier(2, timeout=30)

    def use_case(own: int, order: tuple[int, int]) -> dict[int, list]:
        # a write of the use case's own, in another partnership: it commits at the end
        db.session.get(Partnership, own).name = f"Renamed {own}"
        db.session.flush()
        got = _figures([order[0]])
        both_filled_one.wait()  # each holds its first partnership's rows, uncommitted
        got |= _figures([order[1]])
        db.session.commit()
        return got

    results, errors = _run_threads(
        app,
        [
            lambda: use_case(own_a, (first, second)),
            lambda: use_case(own_b, (second, first)),
        ],
    )
    assert not errors, errors
    for got in results:
        assert got == expected  # the figures are right, stored or not
    # Each use case's first partnership was stored with its commit.
    assert _rows() >= 2 * len(expected[first])


def test_readers_filling_the_same_months_at_once_in_both_orders_all_answer(app, world):
    ids = _partnerships(world, 6)
    expected = _figures(ids)
    for _ in range(3):
        db.session.execute(sa.delete(PartnershipMonthFigures))
        db.session.commit()
        start = threading.Barrier(6, timeout=30)

        def reader(order: list[int], start: threading.Barrier = start) -> dict[int, list]:
            start.wait()
            return _figures(order)

        work = [
            (lambda o=order: reader(o))
            for order in [ids, ids[::-1], ids, ids[::-1], ids[:3], ids[3:][::-1]]
        ]
        results, errors = _run_threads(app, work)
        assert not errors, errors
        for got in results:
            assert all(got[pid] == expected[pid] for pid in got)
        assert _rows() == len(ids) * len(expected[ids[0]])  # every row stored once


# ------------------------------------------------------------------- the edge's answer


@pytest.fixture
def colliding_app(make_app: Callable[..., Flask], world) -> tuple[Flask, dict[str, int]]:
    """A route that runs into a real deadlock the first time it is called: it holds one row
    lock while another connection holds a second and waits for the first, then asks for the
    second. Its own deadlock_timeout is the shorter, so it is the transaction aborted."""
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    calls = {"count": 0}
    one, two = world.partnership.client_id, world.partnership.provider_id
    lock = "UPDATE organisations SET name = name WHERE id = :id"

    def other_connection(holding: threading.Event) -> None:
        with app.app_context(), db.engine.connect() as connection:
            connection.execute(sa.text(lock), {"id": two})
            holding.set()
            connection.execute(sa.text(lock), {"id": one})  # waits for the route
            connection.commit()

    @csrf.exempt
    @app.route("/collide", methods=["GET", "POST"])
    def collide():
        calls["count"] += 1
        if calls["count"] == 1:
            db.session.execute(sa.text("SET LOCAL deadlock_timeout = '100ms'"))
            db.session.execute(sa.text(lock), {"id": one})
            holding = threading.Event()
            other = threading.Thread(target=other_connection, args=(holding,))
            other.start()
            try:
                assert holding.wait(10)
                threading.Event().wait(0.2)  # the other connection is waiting for us now
                db.session.execute(sa.text(lock), {"id": two})  # deadlock detected here
            finally:
                db.session.rollback()  # lets the other one finish (also after the error)
                other.join(10)
        return "Done"

    return app, calls


def test_a_deadlocked_read_is_run_again_not_answered_as_an_outage(colliding_app, caplog):
    app, calls = colliding_app
    response = app.test_client().get("/collide")
    assert calls["count"] == 2  # the first ran into the deadlock, the second answered
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.get_data(as_text=True) == "Done"
    assert "deadlock" in caplog.text.lower() or "collided" in caplog.text.lower()


def test_a_deadlocked_write_says_nothing_was_saved_not_that_the_service_is_down(
    colliding_app,
):
    app, calls = colliding_app
    response = app.test_client().post("/collide")
    body = response.get_data(as_text=True)
    assert calls["count"] == 1
    assert response.status_code == 409, body[:300]
    assert "at the same moment" in body and "nothing was saved" in body
    assert "Temporarily unavailable" not in body and "briefly unavailable" not in body
