"""Issue 18: the monthly satisfaction sums (``satisfaction_months``) equal a recomputation
from the responses after every write that adds, changes or removes responses — a lead's file
import, a provider's push (proposed), its confirmation, an undo, responses written through
the ORM, deletions, the demo loader, the migration's backfill — and the figures read them."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from mls_tracker.extensions import db
from mls_tracker.models import SurveyImport, SurveyResponse
from mls_tracker.models.satisfaction import ImportState, SatisfactionMonth
from mls_tracker.periods import Month
from mls_tracker.services import satisfaction as figures
from mls_tracker.services import satisfaction_months, survey_push
from mls_tracker.services import survey_import as service
from tests import factories
from tests.conftest import sign_in
from tests.demo_snapshot import demo_database
from tests.test_migrations import fresh_postgres  # noqa: F401 (a fixture)
from tests.test_satisfaction_figures import counted_queries
from tests.test_survey_push import responses as pushed_responses

OCT, NOV = Month(2026, 10), Month(2026, 11)

# What the sums of a cell are, recomputed from the responses. Keys: (partnership, import,
# month, region, program); values: responses, n_rating, rating_sum, satisfied (4–5),
# n_recommend, promoters (9–10), detractors (0–6).
Sums = dict[tuple, tuple[int, ...]]


def _key(row) -> tuple:
    partnership_id, import_id, month, region_id, program, *_ = row
    return (partnership_id, import_id, Month.of(month), region_id, program)


def recomputed(connection: sa.Connection | None = None) -> Sums:
    r = SurveyResponse
    key = (r.partnership_id, r.import_id, r.month, r.region_id, r.program)

    def ones(condition):
        return sa.func.sum(sa.case((condition, 1), else_=0))

    query = (
        sa.select(
            *key,
            sa.func.count(),
            sa.func.count(r.rating),
            sa.func.coalesce(sa.func.sum(r.rating), 0),
            ones(r.rating >= 4),
            sa.func.count(r.recommend),
            ones(r.recommend >= 9),
            ones(r.recommend <= 6),
        )
        .group_by(*key)
        .order_by(*key)
    )
    rows = (connection or db.session).execute(query)
    return {_key(row): tuple(int(v) for v in row[5:]) for row in rows}


def stored(connection: sa.Connection | None = None) -> Sums:
    """The stored sums, rows of one cell added up (a cell may be split over several rows)."""
    s = SatisfactionMonth
    key = (s.partnership_id, s.import_id, s.month, s.region_id, s.program)
    sums = (s.responses, s.n_rating, s.rating_sum, s.satisfied, s.n_recommend)
    sums += (s.promoters, s.detractors)
    query = sa.select(*key, *(sa.func.sum(c) for c in sums)).group_by(*key).order_by(*key)
    rows = (connection or db.session).execute(query)
    return {_key(row): tuple(int(v) for v in row[5:]) for row in rows}


def assert_consistent() -> Sums:
    expected = recomputed()
    assert stored() == expected
    return expected


@pytest.fixture(autouse=True)
def _after_the_responses(monkeypatch):
    monkeypatch.setattr(service, "clock", lambda: dt.datetime(2027, 1, 15, tzinfo=dt.UTC))


# The lead's file: October and November, two regions, two programs, every kind of answer.
LEAD_FILE = (
    b"response_id,submitted_at,region,program,rating,recommend,comment\n"
    b"L1,2026-10-03T10:00:00,EMEA,Onboarding,5,10,Great\n"
    b"L2,2026-10-04T10:00:00,EMEA,Onboarding,4,9,\n"
    b"L3,2026-10-05T10:00:00,APAC,Onboarding,2,3,\n"
    b"L4,2026-10-06T10:00:00,APAC,Leadership,3,,\n"
    b"L5,2026-11-02T10:00:00,EMEA,Leadership,,7,\n"
    b"L6,2026-11-03T10:00:00,,Leadership,1,0,Poor\n"
    b"L7,2026-11-04T10:00:00,EMEA,,5,8,\n"
)


def _import(world, actor, data: bytes, name: str) -> SurveyImport:
    staged = service.stage_upload(actor, world.partnership.id, io.BytesIO(data), name)
    mapping = service.default_mapping(service.open_staged(staged), None)
    return service.commit_upload(actor, staged, mapping)


def _november(world):
    return figures.load_satisfaction(world.partnership.id, OCT, NOV).month_figure(NOV)


def test_imports_pushes_confirmation_and_undo_keep_the_sums_equal_to_the_responses(world):
    pid = world.partnership.id
    emea = next(r.id for r in world.partnership.regions if r.name == "EMEA")

    lead_import = _import(world, world.lead, LEAD_FILE, "lead.csv")
    sums = assert_consistent()
    # Hand-worked: October EMEA Onboarding holds L1 (5, 10) and L2 (4, 9).
    assert sums[(pid, lead_import.id, OCT, emea, "Onboarding")] == (2, 2, 9, 2, 2, 2, 0)
    assert sum(v[0] for v in sums.values()) == 7
    october = figures.load_satisfaction(pid, OCT, NOV).month_figure(OCT)
    assert (october.n_rating, october.csat, october.mean_rating) == (4, 50.0, 3.5)

    # The same file again adds nothing, to the responses or the sums.
    again = _import(world, world.lead, LEAD_FILE, "lead-again.csv")
    assert again.rows_added == 0
    assert assert_consistent() == sums

    # A provider's push is proposed: summed at once, counted nowhere until confirmed.
    pushed = survey_push.push_responses(world.provider, pid, pushed_responses(10))
    assert pushed.state is ImportState.PROPOSED
    assert_consistent()
    november = _november(world)
    assert (november.n_rating, november.n_recommend) == (2, 3)  # L6, L7 | L5, L6, L7
    assert service.proposed_responses(pid).responses == 10

    service.confirm_import(world.lead, pid, pushed.import_id)
    assert_consistent()
    november = _november(world)
    assert (november.n_rating, november.n_recommend) == (12, 13)
    assert not service.proposed_responses(pid)

    # Undoing the lead's file removes its sums with its responses; the push's stay.
    service.undo_import(world.lead, pid, lead_import.id)
    sums = assert_consistent()
    assert {key[1] for key in sums} == {pushed.import_id}
    assert figures.load_satisfaction(pid, OCT, NOV).month_figure(OCT) is None
    assert _november(world).n_rating == 10


def test_a_refused_import_leaves_no_sums(world):
    bad = LEAD_FILE + b"L8,2026-11-05T10:00:00,EMEA,,9,,\n"  # rating outside 1-5
    with pytest.raises(service.ImportRefused):
        _import(world, world.lead, bad, "bad.csv")
    assert stored() == {} == recomputed()


def test_responses_written_through_the_orm_are_summed_at_the_flush(world):
    pid = world.partnership.id
    record = _import(world, world.lead, LEAD_FILE, "lead.csv")
    db.session.commit()

    def response(key: str, month: Month, rating: int | None, recommend: int | None):
        return SurveyResponse(
            partnership_id=pid,
            response_key=key,
            submitted_at=dt.datetime(month.year, month.month, 9, 12, tzinfo=dt.UTC),
            month=month,
            rating=rating,
            recommend=recommend,
        )

    # Added without an import, to a new cell and to a cell of no import.
    added = [response("H1", OCT, 5, 10), response("H2", OCT, 4, None), response("H3", NOV, 1, 2)]
    db.session.add_all(added)
    db.session.flush()
    sums = assert_consistent()
    assert sums[(pid, None, OCT, None, None)] == (2, 2, 9, 2, 1, 1, 0)

    # Changed: one moves month, one changes answers; one of the file's is changed too.
    added[0].month = NOV
    added[1].rating = 2
    imported = db.session.scalar(
        sa.select(SurveyResponse).where(SurveyResponse.response_key == "L1")
    )
    imported.recommend = 0
    db.session.flush()
    sums = assert_consistent()
    assert sums[(pid, None, OCT, None, None)] == (1, 1, 2, 0, 0, 0, 0)

    # Deleted.
    db.session.delete(added[2])
    db.session.delete(imported)
    db.session.commit()
    assert_consistent()

    # A rolled-back flush leaves nothing pending for the next one.
    db.session.add(response("H4", OCT, 3, 3))
    db.session.flush()
    db.session.rollback()
    assert "satisfaction_months_cells" not in db.session.info
    assert_consistent()

    # UPDATE and DELETE statements through the session: the months they touch are summed
    # again.
    db.session.execute(
        sa.update(SurveyResponse)
        .where(SurveyResponse.response_key.in_(["L2", "L3"]))
        .values(rating=1, import_id=None)
    )
    assert_consistent()
    db.session.execute(sa.delete(SurveyResponse).where(SurveyResponse.response_key == "L4"))
    db.session.commit()
    assert_consistent()

    # Deleting an import (and so its responses) deletes its sums.
    db.session.delete(db.session.get(SurveyImport, record.id))
    db.session.commit()
    sums = assert_consistent()
    assert {key[1] for key in sums} == {None}


def test_rebuild_sums_rows_written_past_the_services(world):
    pid = world.partnership.id
    _import(world, world.lead, LEAD_FILE, "lead.csv")
    db.session.execute(sa.delete(SatisfactionMonth))
    db.session.execute(
        sa.insert(SurveyResponse).values(
            partnership_id=pid,
            response_key="RAW",
            submitted_at=dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC),
            month=OCT,
            rating=4,
        )
    )
    assert stored() != recomputed()
    satisfaction_months.rebuild([world.other.id])
    assert stored() == {}
    satisfaction_months.rebuild([pid])
    assert_consistent()
    db.session.execute(sa.delete(SatisfactionMonth))
    satisfaction_months.rebuild()
    assert_consistent()


def test_the_demo_is_loaded_with_its_sums(session_app):
    with session_app.app_context():
        demo_database(today=dt.date(2026, 11, 15))  # the day tests/test_demo.py loads
        sums = assert_consistent()
        assert sum(v[0] for v in sums.values()) == db.session.scalar(
            sa.select(sa.func.count()).select_from(SurveyResponse)
        )
        assert sums
        db.session.remove()


def _backfilled(make_app, url: str) -> None:
    """Responses stored before the table existed are summed by the upgrade."""
    app = make_app(SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        world = factories.build_world()
        _import(world, world.lead, LEAD_FILE, "lead.csv")
        survey_push.push_responses(world.provider, world.partnership.id, pushed_responses(12))
        db.session.commit()
        expected = recomputed()
        assert len(expected) > 5
        db.session.remove()
        downgrade(revision="18a1c0de0001")
        assert "satisfaction_months" not in sa.inspect(db.engine).get_table_names()
        upgrade()
        assert stored() == expected
        db.session.remove()
        db.engine.dispose()


@pytest.mark.once  # its own SQLite database: the same in both suites
def test_the_upgrade_sums_the_responses_already_stored_on_sqlite(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("MLS_INSTANCE_PATH", str(tmp_path))
    _backfilled(make_app, f"sqlite:///{tmp_path / 'upgraded.db'}")


@pytest.mark.postgres
def test_the_upgrade_sums_the_responses_already_stored_on_postgresql(
    make_app,
    fresh_postgres: str,  # noqa: F811
) -> None:
    _backfilled(make_app, fresh_postgres)


def test_the_page_reads_the_sums_not_the_responses(client, world):
    """The satisfaction page never reads ``survey_responses`` for its figures: only the
    comments (a page of them and their count) come from the responses."""
    _import(world, world.lead, LEAD_FILE, "lead.csv")
    db.session.commit()
    sign_in(client, "lead@test.example")
    url = f"/partnerships/{world.partnership.id}/satisfaction/"
    client.get(url)
    # An audited write: the page is computed again (a revisit reads what it remembered).
    world.partnership.annual_value = 750_000
    db.session.commit()
    with counted_queries() as statements:
        assert client.get(url).status_code == 200
    reading = [s for s in statements if "survey_responses" in s]
    assert len(reading) == 2, reading
    assert all("comment" in s for s in reading)
    assert any("satisfaction_months" in s for s in statements)
