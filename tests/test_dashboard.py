"""The portfolio page: figures, filters, sort, read-only for sponsors, the CSV export, the
constant number of queries (cold and warm cache), and "needs attention"."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import (
    ActionItem,
    MeetingState,
    OrganisationKind,
    PartnershipMonthFigures,
    PartnershipStatus,
    Role,
    Side,
    Sla,
    SurveyResponse,
)
from mls_tracker.periods import Month, utc_today
from mls_tracker.services import dashboard
from tests import factories
from tests.conftest import sign_in
from tests.test_partnerships import count_queries

TODAY = utc_today()
TODAY_FROM_THE_CLOCK = True  # read again as each test starts (tests/conftest.py)
REVIEWED = Month.of(TODAY).previous()
_keys = iter(range(1, 10**9))


def furnish(partnership, lead, region) -> None:
    """A partnership with an SLA measured for the reviewed month, survey answers, an overdue
    action, a client sponsor in its first region only, and a planned meeting."""
    expectation = factories.create_expectation(partnership)
    sla = factories.create_sla(partnership, expectation, since=REVIEWED.shift(-8))
    for back in range(7):
        factories.add_measurement(sla, REVIEWED.shift(-back), 95 - back, confirmed_by=lead)
    submitted = dt.datetime(REVIEWED.year, REVIEWED.month, 5, 12, tzinfo=dt.UTC)
    for rating, recommend in ((5, 10), (4, 9), (2, 3)) * 4:
        db.session.add(
            SurveyResponse(
                partnership_id=partnership.id,
                response_key=f"K{next(_keys)}",
                submitted_at=submitted,
                month=REVIEWED,
                rating=rating,
                recommend=recommend,
            )
        )
    action = factories.create_action(partnership, due_on=TODAY - dt.timedelta(days=3))
    action.created_at = dt.datetime.combine(TODAY - dt.timedelta(days=40), dt.time(9), dt.UTC)
    factories.create_sponsor(partnership, region, Side.CLIENT, "Pat Client")
    factories.create_meeting(partnership, TODAY + dt.timedelta(days=9), state=MeetingState.PLANNED)
    db.session.flush()


@pytest.fixture
def furnished(world):
    emea = next(r for r in world.partnership.regions if r.name == "EMEA")
    db.session.delete(db.session.get(Sla, world.ids["sla_id"]))
    furnish(world.partnership, world.lead, emea)
    db.session.commit()
    return world


def test_the_rows_carry_the_reviewed_month_figures(app, furnished):
    world = furnished
    rows = dashboard.portfolio(world.lead, TODAY)
    assert [r.name for r in rows] == ["Global Learning"]
    row = rows[0]
    assert row.month == REVIEWED
    assert row.sla_attainment == 100.0
    assert (row.csat, row.n_rating, row.n_recommend) == (pytest.approx(66.7), 12, 12)
    assert row.nps == pytest.approx(33.3)
    assert row.overdue_actions == 1
    assert row.coverage_gaps == ("APAC",)
    assert row.next_meeting_on == TODAY + dt.timedelta(days=9)
    assert len(row.trend) == dashboard.TREND_MONTHS
    assert [m for m, _ in row.trend] == [REVIEWED.shift(-i) for i in range(5, -1, -1)]
    figures = dashboard.month_figures([world.partnership], REVIEWED, REVIEWED, TODAY)
    assert row.health == figures[world.partnership.id][0].health
    assert row.health.score is not None and row.health.rag is not None
    assert row.health_change is not None
    # the admin sees every partnership; the outsider only theirs
    assert len(dashboard.portfolio(world.admin, TODAY)) == 2
    assert [r.name for r in dashboard.portfolio(world.outsider, TODAY)] == ["Other Programme"]


def test_filters_and_sorts(app, furnished):
    world = furnished
    admin = world.admin
    other = world.other
    other.status = PartnershipStatus.UNDER_REVIEW
    db.session.commit()
    names = lambda rows: [r.name for r in rows]  # noqa: E731
    both = ["Global Learning", "Other Programme"]
    assert names(dashboard.portfolio(admin, TODAY, sort="name")) == both
    # no SLA, no satisfaction: the other partnership sorts last on those figures
    assert names(dashboard.portfolio(admin, TODAY, sort="sla")) == both
    assert names(dashboard.portfolio(admin, TODAY, sort="overdue")) == both
    # Other Programme: APAC only, no sponsor → one gap, like Global Learning
    assert names(dashboard.portfolio(admin, TODAY, sort="meeting")) == both
    apac = next(r for r in other.regions if r.name == "APAC")
    emea = next(r for r in world.partnership.regions if r.name == "EMEA")
    assert names(dashboard.portfolio(admin, TODAY, region_id=emea.id)) == ["Global Learning"]
    assert names(dashboard.portfolio(admin, TODAY, region_id=apac.id, sort="name")) == both
    assert names(dashboard.portfolio(admin, TODAY, provider_id=other.provider_id)) == [
        "Other Programme"
    ]
    assert names(dashboard.portfolio(admin, TODAY, status="under review")) == ["Other Programme"]
    assert dashboard.portfolio(admin, TODAY, status="ended") == []
    # health: weakest first; a partnership without any score goes last
    rows = dashboard.portfolio(admin, TODAY, sort="health")
    scores = [r.health.score for r in rows if r.health.score is not None]
    assert scores == sorted(scores)


def test_the_page_as_lead_and_as_sponsor_is_read_only(client, furnished):
    world = furnished
    for who in ("lead", "sponsor"):
        client = client.application.test_client()
        sign_in(client, world.user(who).email)
        response = client.get("/portfolio")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "Global Learning" in html and "Other Programme" not in html
        assert REVIEWED.label in html
        assert '<svg class="spark"' in html and "style=" not in html
        assert "rag rag-" in html
        assert (
            "/edit" not in html
            and "/new" not in html
            and 'method="post"' not in html.split("<main")[-1].split("</main>")[0]
        )
        assert "/meetings/" in html  # the next meeting links to its page
    # the sign-in lands here
    assert client.get("/").headers["Location"].endswith("/portfolio")


def test_the_page_filters_sorts_and_has_an_empty_state(client, furnished, app):
    world = furnished
    sign_in(client, world.admin.email)
    html = client.get("/portfolio?sort=name&status=ended").get_data(as_text=True)
    assert "No partnership matches these filters" in html
    html = client.get("/portfolio?sort=nonsense&provider=abc").get_data(as_text=True)
    assert "Global Learning" in html and "Other Programme" in html
    nobody = factories.create_user("nobody@test.example")
    db.session.commit()
    fresh = app.test_client()
    sign_in(fresh, nobody.email)
    assert "No partnerships yet" in fresh.get("/portfolio").get_data(as_text=True)


def test_the_csv_export(client, furnished):
    world = furnished
    sign_in(client, world.sponsor.email)
    response = client.get("/portfolio/export.csv?sort=name")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Partnership", "Client", "Provider"]
    assert len(rows) == 2
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["Partnership"] == "Global Learning"
    assert record["Reviewed month"] == str(REVIEWED)
    assert record["Overdue actions"] == "1"
    assert record["Coverage gaps"] == "APAC"
    assert record["RAG"] in ("Green", "Amber", "Red")


def _portfolio_of(count: int):
    """A lead of ``count`` furnished partnerships."""
    client_org = factories.create_organisation("Client", OrganisationKind.CLIENT)
    provider = factories.create_organisation("Provider", OrganisationKind.PROVIDER)
    regions = [factories.create_region("North", 1), factories.create_region("South", 2)]
    lead = factories.create_user("many@test.example")
    for i in range(count):
        partnership = factories.create_partnership(f"P{i:03d}", client_org, provider, regions)
        factories.add_member(lead, partnership, Role.LEAD)
        furnish(partnership, lead, regions[0])
    db.session.commit()
    return lead


def _queries_of_the_page(app, lead) -> tuple[int, int]:
    client = app.test_client()
    sign_in(client, lead.email)
    db.session.execute(sa.delete(PartnershipMonthFigures))
    db.session.commit()
    with count_queries() as cold:
        assert client.get("/portfolio").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PartnershipMonthFigures))
    with count_queries() as warm:
        assert client.get("/portfolio").status_code == 200
    return len(cold), len(warm)


def test_the_page_makes_as_many_queries_for_1_as_for_50_partnerships(app):
    one = _queries_of_the_page(app, _portfolio_of(1))
    from tests.conftest import empty_database

    empty_database()
    fifty = _queries_of_the_page(app, _portfolio_of(50))
    assert one == fifty
    cold, warm = fifty
    assert warm < cold
    assert warm <= 16


def test_needs_attention_is_the_agenda_linked(app, furnished):
    world = furnished
    with app.test_request_context():
        items = dashboard.needs_attention(world.partnership.id, TODAY)
    sections = {item.section for item in items}
    assert "Overdue actions" in sections
    action_id = db.session.scalar(sa.select(ActionItem.id))
    pid = world.partnership.id
    urls = {item.url for item in items}
    assert f"/partnerships/{pid}/actions/{action_id}" in urls
    assert f"/partnerships/{pid}/sponsors/" in urls  # the APAC gap
    assert all(item.url.startswith(f"/partnerships/{pid}/") for item in items)
    # nothing was added to the session or written
    assert not db.session.new
    assert db.session.scalar(sa.select(sa.func.count()).select_from(dashboard.Meeting)) == 1


def test_attention_urls_for_every_source(app, world):
    pid = world.partnership.id
    with app.test_request_context():
        url = dashboard._attention_url
        assert url(pid, "sla:3") == f"/partnerships/{pid}/slas/3"
        assert url(pid, "expectation:4").endswith("/expectations/4")
        assert url(pid, "change:5").endswith("/changes/5")
        assert url(pid, "win:6").endswith("/wins/6")
        assert url(pid, "gap:2").endswith("/sponsors/")
        assert url(pid, "sponsor:2").endswith("/sponsors/")
        assert url(pid, "satisfaction:csat:all").endswith("/satisfaction/")


def test_pages_of_the_portfolio(app):
    lead = _portfolio_of(5)
    first = dashboard.portfolio_page(lead, TODAY, sort="name", per_page=2)
    assert (first.matching, first.pages, first.number) == (5, 3, 1)
    assert [r.name for r in first.rows] == ["P000", "P001"]
    last = dashboard.portfolio_page(lead, TODAY, sort="name", per_page=2, page=99)
    assert (last.number, [r.name for r in last.rows]) == (3, ["P004"])
    assert len(last.rows[0].trend) == dashboard.TREND_MONTHS
    assert len(dashboard.portfolio(lead, TODAY)) == 5  # the API: every row


def test_a_page_number_too_small_or_unreadable_is_the_first_page(app, client):
    lead = _portfolio_of(3)
    for page in (0, -2, "x", None):
        window = dashboard.portfolio_page(lead, TODAY, sort="name", per_page=2, page=page)
        assert (window.number, window.pages, [r.name for r in window.rows]) == (
            1,
            2,
            ["P000", "P001"],
        )
    sign_in(client, lead.email)
    assert client.get("/portfolio?page=abc&provider=x").status_code == 200
