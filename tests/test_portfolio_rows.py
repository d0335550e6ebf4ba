"""The portfolio's rows, sorted and paginated in SQL (issue 18): every sort gives the order the
page gave when it sorted every row in Python (the reference below is that code), ties and
rows without the figure included; a row that another transaction holds is still listed in its
place; an edit forgets the partnership's row and the next view stores it again."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import (
    MeetingState,
    OrganisationKind,
    Partnership,
    PartnershipPortfolioRow,
    Role,
    Side,
    SurveyResponse,
)
from mls_tracker.periods import Month, utc_today
from mls_tracker.services import dashboard, figures_cache
from tests import factories

TODAY = utc_today()
TODAY_FROM_THE_CLOCK = True  # read again as each test starts (tests/conftest.py)
REVIEWED = Month.of(TODAY).previous()
# Names that differ by case only, sort differently by case, and tie on everything else.
NAMES = ["beta", "Alpha", "alpha", "Gamma", "delta", "Beta two", "epsilon", "Zeta", "eta", "Theta"]

# How the portfolio sorted before issue 18: every row in Python, by the row's attribute.
REFERENCE_SORTS = {
    "health": ("health_score", False),
    "name": ("name", False),
    "sla": ("sla_attainment", False),
    "csat": ("csat", False),
    "nps": ("nps", False),
    "overdue": ("overdue_actions", True),
    "gaps": ("gap_count", True),
    "meeting": ("next_meeting_on", False),
}


def reference_sorted(rows, sort):
    attribute, descending = REFERENCE_SORTS[sort]
    with_value = [r for r in rows if getattr(r, attribute) is not None]
    without = [r for r in rows if getattr(r, attribute) is None]

    def key(row):
        value = getattr(row, attribute)
        return value.lower() if isinstance(value, str) else value

    with_value.sort(key=lambda r: r.name.lower())
    with_value.sort(key=key, reverse=descending)
    return with_value + sorted(without, key=lambda r: r.name.lower())


@pytest.fixture
def varied():
    """Ten partnerships whose figures differ, tie and are missing in turn; their lead."""
    client_org = factories.create_organisation("Client", OrganisationKind.CLIENT)
    provider = factories.create_organisation("Provider", OrganisationKind.PROVIDER)
    regions = [factories.create_region("North", 1), factories.create_region("South", 2)]
    lead = factories.create_user("varied@test.example")
    keys = iter(range(1, 10**6))
    for i, name in enumerate(NAMES):
        p = factories.create_partnership(name, client_org, provider, regions[: 1 + i % 2])
        factories.add_member(lead, p, Role.LEAD)
        if i % 5 == 4:
            continue  # no figures at all: last on every figure
        for n in range(1 + i % 3):  # SLA attainment 100, 50 or 33.3 %, ties among them
            sla = factories.create_sla(p, None, f"S-{n}", since=REVIEWED.shift(-3))
            factories.add_measurement(sla, REVIEWED, 95 if n == 0 else 80, confirmed_by=lead)
        submitted = dt.datetime(REVIEWED.year, REVIEWED.month, 5, 12, tzinfo=dt.UTC)
        for rating, recommend in [(5, 10), (4, 9), (2 + i % 3, 3 + i % 4)] * (1 + i % 2):
            db.session.add(
                SurveyResponse(
                    partnership_id=p.id,
                    response_key=f"K{next(keys)}",
                    submitted_at=submitted,
                    month=REVIEWED,
                    rating=rating,
                    recommend=recommend,
                )
            )
        for _ in range(i % 3):  # overdue actions: 0, 1 or 2
            factories.create_action(p, due_on=TODAY - dt.timedelta(days=3))
        if i % 3:
            factories.create_sponsor(p, regions[0], Side.CLIENT, f"Sponsor {i}")
        if i % 4:
            factories.create_meeting(
                p, TODAY + dt.timedelta(days=i % 3 + 1), state=MeetingState.PLANNED
            )
    db.session.commit()
    return lead


def _names(rows):
    return [r.name for r in rows]


def test_every_sort_gives_the_order_of_the_python_sort(app, varied):
    rows = dashboard.portfolio(varied, TODAY, sort="name")
    assert sorted(_names(rows)) == sorted(NAMES)
    assert len({r.health_score for r in rows}) > 2  # the figures do differ
    for sort in dashboard.SORTS:
        expected = _names(reference_sorted(rows, sort))
        assert _names(dashboard.portfolio(varied, TODAY, sort=sort)) == expected, sort
        # cut into pages, in the same order
        pages = [
            dashboard.portfolio_page(varied, TODAY, sort=sort, per_page=3, page=n)
            for n in range(1, 5)
        ]
        assert [name for page in pages for name in _names(page.rows)] == expected, sort
        assert {page.pages for page in pages} == {4}


def test_filters_are_sql_and_give_the_rows_that_match(app, varied):
    rows = dashboard.portfolio(varied, TODAY)
    south = next(r for r in rows if len(r.region_names) == 2).region_ids[1]
    in_south = dashboard.portfolio_page(varied, TODAY, region_id=south, sort="name")
    assert _names(in_south.rows) == _names(
        reference_sorted([r for r in rows if south in r.region_ids], "name")
    )
    assert (in_south.total, in_south.matching) == (len(NAMES), len(in_south.rows))
    assert [o.label for o in in_south.regions] == ["North", "South"]  # the choices stay
    nothing = dashboard.portfolio_page(varied, TODAY, status="no such status")
    assert (nothing.rows, nothing.matching, nothing.total) == ((), 0, len(NAMES))


def test_a_row_another_transaction_holds_is_listed_in_its_place(app, varied, monkeypatch):
    expected = {s: _names(dashboard.portfolio(varied, TODAY, sort=s)) for s in dashboard.SORTS}
    db.session.execute(sa.delete(PartnershipPortfolioRow))
    db.session.commit()
    # the rows cannot be stored (as when another transaction holds them): computed, not kept
    monkeypatch.setattr(figures_cache, "store", lambda model, rows, keys: False)
    for sort, names in expected.items():
        assert _names(dashboard.portfolio(varied, TODAY, sort=sort)) == names, sort
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PartnershipPortfolioRow)) == 0


def test_an_edit_forgets_the_row_and_the_next_view_stores_it(app, varied):
    first = dashboard.portfolio(varied, TODAY, sort="name")[0]
    assert db.session.get(PartnershipPortfolioRow, first.id).computed_on == TODAY
    partnership = db.session.get(Partnership, first.id)
    factories.create_action(partnership, due_on=TODAY - dt.timedelta(days=1))
    db.session.commit()
    assert db.session.get(PartnershipPortfolioRow, first.id) is None
    again = dashboard.portfolio(varied, TODAY, sort="name")[0]
    assert again.overdue_actions == first.overdue_actions + 1
    assert db.session.get(PartnershipPortfolioRow, first.id).overdue_actions == (
        again.overdue_actions
    )
