"""The monthly figures cache: hit, miss, invalidation by every kind of audited write, the
recompute of time-dependent months on a new day, and equality with the single-partnership
figure functions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import (
    ActionItem,
    ActionStatus,
    PartnershipMonthFigures,
    ReportedSatisfaction,
    Side,
    Sla,
    SlaMeasurement,
    SlaTarget,
    Sponsor,
    SurveyImport,
    SurveyResponse,
)
from mls_tracker.periods import Month
from mls_tracker.services import dashboard
from mls_tracker.services.action_figures import action_figures
from mls_tracker.services.health import ComponentKey, Rag
from mls_tracker.services.satisfaction import load_satisfaction
from mls_tracker.services.sla_figures import attainment, load_sla_series
from mls_tracker.services.sponsors import coverage_history
from tests import factories
from tests.test_partnerships import count_queries

TODAY = dt.date(2025, 8, 15)
MAY, JUN, JUL, AUG = Month(2025, 5), Month(2025, 6), Month(2025, 7), Month(2025, 8)
MAY_FIRST = dt.datetime(2025, 5, 1, 9, tzinfo=dt.UTC)
_keys = iter(range(1, 10**9))


def add_responses(partnership, month: Month, ratings=(), recommends=(), region=None) -> None:
    count = max(len(ratings), len(recommends))
    submitted = dt.datetime(month.year, month.month, 10, 12, tzinfo=dt.UTC)
    for i in range(count):
        db.session.add(
            SurveyResponse(
                partnership_id=partnership.id,
                response_key=f"R{next(_keys)}",
                submitted_at=submitted,
                month=month,
                region_id=region.id if region else None,
                rating=ratings[i] if i < len(ratings) else None,
                recommend=recommends[i] if i < len(recommends) else None,
            )
        )
    db.session.flush()


def populate(world) -> None:
    """A partnership with SLAs, satisfaction (computed and reported), actions, sponsors."""
    p = world.partnership
    sla = db.session.get(Sla, world.ids["sla_id"])
    second = factories.create_sla(p, None, "WLD-02", weight=3, target=5, at_risk=8)
    second.direction = second.direction.LOWER_IS_BETTER
    for month, a, b in ((MAY, 95, 4), (JUN, 86, 9), (JUL, 80, 6)):
        if month != JUN:
            factories.add_measurement(sla, month, a, confirmed_by=world.lead)
        factories.add_measurement(second, month, b, confirmed_by=world.lead)
    db.session.get(SlaMeasurement, world.ids["measurement_id"]).value = 88
    emea = next(r for r in p.regions if r.name == "EMEA")
    add_responses(p, MAY, [5, 4, 3, 2, 5, 5, 4, 4, 1, 5, 4], [10, 9, 6, 8, 7, 0], region=emea)
    add_responses(p, JUL, [4, 4, 5], [9])
    db.session.add(
        ReportedSatisfaction(
            partnership_id=p.id, month=JUN, responses=40, csat=Decimal("81.5"), nps=12
        )
    )
    factories.create_action(p, "A", due_on=dt.date(2025, 6, 10), status=ActionStatus.DONE)
    factories.create_action(p, "B", due_on=dt.date(2025, 7, 3))
    factories.create_action(p, "C", due_on=dt.date(2025, 7, 30), status=ActionStatus.DONE)
    factories.create_action(p, "D", due_on=dt.date(2025, 8, 30))
    for item in db.session.scalars(sa.select(ActionItem)):
        item.created_at = MAY_FIRST
        if item.closed_on:
            item.closed_on = item.due_on - dt.timedelta(days=1)
    # APAC loses its only client sponsor on 20 June
    apac = next(r for r in p.regions if r.name == "APAC")
    factories.create_sponsor(p, apac, Side.CLIENT, "Ann Apac", end=dt.date(2025, 6, 20))
    db.session.commit()


def cached_rows(partnership_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(PartnershipMonthFigures)
        .where(PartnershipMonthFigures.partnership_id == partnership_id)
    )


def test_figures_equal_the_single_partnership_functions(app, world):
    populate(world)
    p = world.partnership
    figures = dashboard.month_figures([p, world.other], MAY, AUG, TODAY)
    assert [f.month for f in figures[p.id]] == [MAY, JUN, JUL, AUG]
    series = load_sla_series(p.id, MAY, AUG)
    report = load_satisfaction(p.id, MAY, AUG)
    cover = coverage_history([p.id], [m.last_day for m in (MAY, JUN, JUL)] + [TODAY])[p.id]
    for f in figures[p.id]:
        att = attainment(series, f.month)
        assert f.sla_attainment == att.percent
        assert f.sla_measured_weight == float(att.measured_weight)
        assert f.sla_met_weight == float(att.met_weight)
        sat = report.month_figure(f.month)
        if sat is None:
            assert (f.csat, f.nps, f.n_rating, f.satisfaction_source) == (None, None, 0, None)
        else:
            assert (f.mean_rating, f.csat, f.csat_low, f.csat_high, f.n_rating) == (
                sat.mean_rating,
                sat.csat,
                sat.csat_low,
                sat.csat_high,
                sat.n_rating,
            )
            assert (f.nps, f.nps_moe, f.n_recommend, f.low_sample) == (
                sat.nps,
                sat.nps_moe,
                sat.n_recommend,
                sat.low_sample,
            )
            assert f.satisfaction_source == sat.source
        act = action_figures([p.id], f.month, f.month, TODAY)[p.id]
        assert (f.action_health, f.actions_due, f.actions_on_time) == (
            act.health,
            act.due,
            act.closed_on_time,
        )
        assert (f.actions_opened, f.actions_closed, f.actions_overdue) == (
            act.opened,
            act.closed,
            act.overdue,
        )
        day = min(f.month.last_day, TODAY)
        assert f.coverage == pytest.approx(cover[day] * 100)
    may, jun, jul, aug = figures[p.id]
    assert jun.satisfaction_source == "reported" and jun.csat == 81.5
    assert may.satisfaction_source == "computed" and may.n_rating == 11
    assert jul.low_sample
    assert (may.regions_in_scope, may.regions_covered, may.coverage) == (2, 2, 100.0)
    assert (jul.regions_covered, jul.coverage) == (1, 50.0)
    assert (jul.slas_breached, jul.slas_at_risk) == (1, 1)
    assert aug.slas_missing == 2
    # the health score, from the components and the partnership's weights
    assert jul.health.component(ComponentKey.SLA).value == jul.sla_attainment
    assert jul.health.component(ComponentKey.SATISFACTION).value == jul.csat
    assert may.health.score is not None and may.health.rag in set(Rag)
    # coverage only (15 % of the weight): not enough data for a score (issue 15)
    other = figures[world.other.id][0].health
    assert other.score is None and other.not_enough_data
    assert other.component(ComponentKey.COVERAGE).value == 0.0
    assert figures[world.other.id][0].sla_attainment is None


def test_a_hit_reads_one_query_and_a_miss_computes_only_what_is_missing(app, world):
    populate(world)
    p = world.partnership
    first = dashboard.month_figures([p], JUN, JUL, TODAY)
    db.session.commit()
    assert cached_rows(p.id) == 2
    with count_queries() as statements:
        again = dashboard.month_figures([p], JUN, JUL, TODAY)
    assert len(statements) == 1
    assert again == first
    wider = dashboard.month_figures([p], MAY, JUL, TODAY)
    db.session.commit()
    assert cached_rows(p.id) == 3
    assert wider[p.id][1:] == first[p.id]


def test_weights_are_read_now_not_cached(app, world):
    populate(world)
    p = world.partnership
    before = dashboard.month_figures([p], JUL, JUL, TODAY)[p.id][0].health
    db.session.commit()
    # write the weights behind the ORM's back: the cached rows stay, the score moves anyway
    db.session.execute(
        sa.update(type(p)).where(type(p).id == p.id).values(weight_sla=0, weight_actions=0)
    )
    db.session.commit()
    db.session.refresh(p)
    assert cached_rows(p.id) == 1
    after = dashboard.month_figures([p], JUL, JUL, TODAY)[p.id][0].health
    assert after.component(ComponentKey.SLA).weight == 0
    assert after.score != before.score


def test_time_dependent_months_are_recomputed_on_a_new_day(app, world):
    populate(world)
    p = world.partnership
    dashboard.month_figures([p], MAY, AUG, TODAY)
    db.session.commit()
    computed_on = dict(
        db.session.execute(
            sa.select(PartnershipMonthFigures.month, PartnershipMonthFigures.computed_on)
        ).all()
    )
    assert set(computed_on.values()) == {TODAY}
    tomorrow = TODAY + dt.timedelta(days=1)
    factories.create_action(p, "E", due_on=dt.date(2025, 8, 15)).created_at = MAY_FIRST
    db.session.commit()  # (this write drops the rows anyway: put them back as of today)
    dashboard.month_figures([p], MAY, AUG, TODAY)
    db.session.commit()
    assert dashboard.month_figures([p], AUG, AUG, TODAY)[p.id][0].actions_overdue == 1
    figures = dashboard.month_figures([p], MAY, AUG, tomorrow)
    db.session.commit()
    computed_on = dict(
        db.session.execute(
            sa.select(PartnershipMonthFigures.month, PartnershipMonthFigures.computed_on)
        ).all()
    )
    assert computed_on == {MAY: TODAY, JUN: TODAY, JUL: tomorrow, AUG: tomorrow}
    assert figures[p.id][3].actions_overdue == 2


def _write_measurement(world):
    sla = db.session.get(Sla, world.ids["sla_id"])
    factories.add_measurement(sla, Month(2025, 4), 91, confirmed_by=world.lead)


def _confirm_measurement(world):
    from mls_tracker.models import MeasurementState, utcnow

    m = db.session.get(SlaMeasurement, world.ids["measurement_id"])
    m.state = MeasurementState.CONFIRMED
    m.confirmed_at = utcnow()


def _new_target(world):
    db.session.add(
        SlaTarget(sla_id=world.ids["sla_id"], effective_from=JUL, target=99, at_risk_threshold=95)
    )


def _sla_weight(world):
    db.session.get(Sla, world.ids["sla_id"]).weight = 7


def _sla_deleted(world):
    db.session.delete(db.session.get(Sla, world.ids["sla_id"]))


def _new_action(world):
    factories.create_action(world.partnership, "New", due_on=dt.date(2025, 7, 1))


def _action_done(world):
    item = db.session.scalar(sa.select(ActionItem).where(ActionItem.title == "B"))
    item.status = ActionStatus.DONE
    item.closed_on = dt.date(2025, 7, 2)


def _sponsor_ended(world):
    db.session.get(Sponsor, world.ids["sponsor_id"]).end_date = dt.date(2025, 5, 1)


def _new_sponsor(world):
    apac = next(r for r in world.partnership.regions if r.name == "APAC")
    factories.create_sponsor(world.partnership, apac, Side.CLIENT, "New Sponsor")


def _meeting(world):
    factories.create_meeting(world.partnership, dt.date(2025, 7, 20))


def _survey_import(world):
    record = SurveyImport(
        partnership_id=world.partnership.id,
        file_name="x.csv",
        file_format="generic",
        file_sha256="0" * 64,
    )
    db.session.add(record)


def _import_undone(world):
    from mls_tracker.models import utcnow

    record = db.session.scalar(sa.select(SurveyImport))
    db.session.execute(sa.delete(SurveyResponse).where(SurveyResponse.import_id == record.id))
    record.undone_at = utcnow()


def _reported_added(world):
    db.session.add(
        ReportedSatisfaction(partnership_id=world.partnership.id, month=MAY, responses=3, csat=50)
    )


def _reported_changed(world):
    db.session.scalar(sa.select(ReportedSatisfaction)).csat = Decimal(10)


def _reported_deleted(world):
    db.session.delete(db.session.scalar(sa.select(ReportedSatisfaction)))


def _regions_changed(world):
    world.partnership.regions = world.partnership.regions[:1]


def _weights_changed(world):
    world.partnership.weight_sla = Decimal(10)


WRITES: dict[str, Callable] = {
    "measurement added": _write_measurement,
    "measurement confirmed": _confirm_measurement,
    "target changed": _new_target,
    "SLA weight": _sla_weight,
    "SLA deleted": _sla_deleted,
    "action added": _new_action,
    "action done": _action_done,
    "sponsor ended": _sponsor_ended,
    "sponsor added": _new_sponsor,
    "meeting": _meeting,
    "reported added": _reported_added,
    "reported changed": _reported_changed,
    "reported deleted": _reported_deleted,
    "regions in scope": _regions_changed,
    "weights": _weights_changed,
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_an_audited_write_drops_the_partnership_rows_only(app, world, write):
    populate(world)
    p, other = world.partnership, world.other
    dashboard.month_figures([p, other], MAY, JUL, TODAY)
    db.session.commit()
    assert (cached_rows(p.id), cached_rows(other.id)) == (3, 3)
    write(world)
    db.session.commit()
    assert (cached_rows(p.id), cached_rows(other.id)) == (0, 3)


def test_a_survey_import_and_its_undo_drop_the_rows(app, world):
    populate(world)
    p = world.partnership
    dashboard.month_figures([p], MAY, JUL, TODAY)
    db.session.commit()
    _survey_import(world)
    db.session.flush()
    record = db.session.scalar(sa.select(SurveyImport))
    add_responses(p, JUL, [1, 1, 1, 1])
    db.session.execute(
        sa.update(SurveyResponse)
        .where(SurveyResponse.partnership_id == p.id, SurveyResponse.month == JUL)
        .values(import_id=record.id)
    )
    db.session.commit()
    assert cached_rows(p.id) == 0
    assert dashboard.month_figures([p], JUL, JUL, TODAY)[p.id][0].n_rating == 7
    db.session.commit()
    assert cached_rows(p.id) == 1
    _import_undone(world)
    db.session.commit()
    assert cached_rows(p.id) == 0
    assert dashboard.month_figures([p], JUL, JUL, TODAY)[p.id][0].n_rating == 0


def test_a_rolled_back_write_keeps_the_rows(app, world):
    p = world.partnership
    dashboard.month_figures([p], JUL, JUL, TODAY)
    db.session.commit()
    _new_action(world)
    db.session.rollback()
    assert cached_rows(p.id) == 1


def test_the_service_writes_drop_the_rows(app, world):
    """Through the real use cases, as the pages call them."""
    from mls_tracker.services import satisfaction

    p = world.partnership
    dashboard.month_figures([p], JUL, JUL, TODAY)
    db.session.commit()
    satisfaction.add_reported(
        world.lead,
        p,
        TODAY,
        month=JUL,
        region_id=None,
        program=None,
        responses=30,
        mean_rating=None,
        csat=Decimal(70),
        nps=None,
    )
    assert cached_rows(p.id) == 0
    assert dashboard.month_figures([p], JUL, JUL, TODAY)[p.id][0].csat == 70.0


def test_flask_figures_warm_fills_the_cache_for_every_partnership(app, world):
    from mls_tracker.cli import figures_cli
    from mls_tracker.models import PartnershipMonthFigures, PartnershipPortfolioRow
    from mls_tracker.periods import utc_today

    partnerships = 2  # the world's partnership and the other one
    result = app.test_cli_runner().invoke(figures_cli, ["warm", "--months", "3"])
    assert result.exit_code == 0, result.output
    assert "Figures of 2 partnership(s) × 4 months ready" in result.output
    db.session.rollback()
    current = Month.of(utc_today())
    table = PartnershipMonthFigures
    rows = db.session.scalar(
        sa.select(sa.func.count()).where(table.month >= current.shift(-3), table.month <= current)
    )
    assert rows == partnerships * 4
    # and the portfolio rows, so that the first view of the portfolio computes nothing
    portfolio_rows = db.session.scalars(
        sa.select(PartnershipPortfolioRow.computed_on).order_by(
            PartnershipPortfolioRow.partnership_id
        )
    ).all()
    assert portfolio_rows == [utc_today()] * partnerships


# ----------------------------------------------------------------------------- transactions


def test_a_read_commits_the_rows_it_filled(app, world):
    p = world.partnership
    dashboard.month_figures([p], JUN, JUL, TODAY)
    db.session.rollback()  # nothing of the caller's to keep: the cache committed its rows
    assert cached_rows(p.id) == 2


def test_the_commit_leaves_what_the_caller_loaded_as_it_was(app, world):
    """No refresh query afterwards, and a version read for a later check stays the one read."""
    p = world.partnership
    version, name, weight = p.version, p.name, p.weight_sla
    with count_queries() as statements:
        dashboard.month_figures([p], JUN, JUL, TODAY)
    committed = len(statements)
    with count_queries() as statements:
        assert (p.version, p.name, p.weight_sla) == (version, name, weight)
    assert not statements
    assert committed > 1 and cached_rows(p.id) == 2


def _rename_pending(world):
    world.partnership.name = "Renamed"  # flushed by the cache's first query (autoflush)


def _rename_flushed(world):
    world.partnership.name = "Renamed"
    db.session.flush()


def _rename_in_bulk(world):
    p = world.partnership
    db.session.execute(sa.update(type(p)).where(type(p).id == p.id).values(name="Renamed"))


def _action_flushed(world):
    factories.create_action(world.partnership, "Half done", due_on=JUL.last_day)
    db.session.flush()


def _survey_import_flushed(world):
    _survey_import(world)
    db.session.flush()


CALLER_WRITES: dict[str, Callable] = {
    "pending": _rename_pending,
    "flushed": _rename_flushed,
    "bulk update": _rename_in_bulk,
    "audited child": _action_flushed,
    "import": _survey_import_flushed,
}


@pytest.mark.parametrize("write", CALLER_WRITES.values(), ids=CALLER_WRITES.keys())
def test_a_callers_half_done_write_is_never_committed(app, world, write):
    p = world.partnership
    name = p.name
    write(world)
    dashboard.month_figures([p, world.other], JUN, JUL, TODAY)
    db.session.rollback()  # the use case fails after reading figures
    assert db.session.scalar(sa.select(type(p).name).where(type(p).id == p.id)) == name
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ActionItem)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyImport)) == 0
    # the rows filled in the caller's transaction went with it
    assert (cached_rows(p.id), cached_rows(world.other.id)) == (0, 0)


def test_a_pending_change_the_cache_did_not_flush_is_not_committed(app, world):
    p = world.partnership
    name = p.name
    with db.session.no_autoflush:
        p.name = "Renamed"
        dashboard.month_figures([p], JUL, JUL, TODAY)
    db.session.rollback()
    assert db.session.scalar(sa.select(type(p).name).where(type(p).id == p.id)) == name
    assert cached_rows(p.id) == 0


def test_rows_filled_in_a_use_case_are_committed_with_its_write(app, world):
    p = world.partnership
    dashboard.month_figures([p], JUL, JUL, TODAY)
    factories.create_action(p, "Late", due_on=dt.date(2025, 7, 3)).created_at = MAY_FIRST
    db.session.flush()  # drops the partnership's rows in this transaction
    figures = dashboard.month_figures([p], JUL, JUL, TODAY)[p.id][0]
    assert figures.actions_due == 1
    db.session.commit()  # the use case's one commit keeps the write and the rows
    assert cached_rows(p.id) == 1
    db.session.rollback()
    with count_queries() as statements:
        again = dashboard.month_figures([p], JUL, JUL, TODAY)[p.id][0]
    assert len(statements) == 2  # the weights (expired by the commit) and the cached row
    assert again == figures


def test_after_a_callers_write_is_committed_the_next_read_commits_again(app, world):
    p = world.partnership
    _rename_flushed(world)
    db.session.commit()
    dashboard.month_figures([p], JUL, JUL, TODAY)
    db.session.rollback()
    assert cached_rows(p.id) == 1


def test_the_pages_keep_the_figures_they_filled_and_no_view_commits(client, world):
    import inspect

    from mls_tracker.dashboard import routes as dashboard_routes
    from mls_tracker.partnerships import routes as partnership_routes
    from tests.conftest import sign_in

    for module in (dashboard_routes, partnership_routes, dashboard):
        assert "commit(" not in inspect.getsource(module), module.__name__
    sign_in(client, world.lead.email)
    pid = world.partnership.id
    for url in (f"/partnerships/{pid}", f"/partnerships/{pid}/charts/health.csv", "/portfolio"):
        db.session.execute(sa.delete(PartnershipMonthFigures))
        db.session.commit()
        assert client.get(url).status_code == 200
        assert cached_rows(pid), url
