"""The satisfaction page's default view remembered per data version, day and viewer rights
(satisfaction/routes.index): a revisit reads the version and nothing of the figures, every
audited write — a survey import, its confirmation, reported totals — shows at once, each viewer
sees the buttons of their own rights, and views with query arguments are computed each time."""

from __future__ import annotations

import datetime as dt

import pytest

from mls_tracker.periods import Month
from mls_tracker.services import survey_import as service
from tests.conftest import csrf_token, page_text, sign_in
from tests.test_detail_pages_remembered import pages_of
from tests.test_page_parts import first_view_and_revisit
from tests.test_survey_proposed import LEAD_OCT, PROVIDER_NOV, _file, _import

OCT = Month(2026, 10)


@pytest.fixture(autouse=True)
def _after_the_files(monkeypatch):
    monkeypatch.setattr(service, "clock", lambda: dt.datetime(2027, 1, 15, tzinfo=dt.UTC))


def _url(world, suffix: str = "") -> str:
    return f"/partnerships/{world.partnership.id}/satisfaction/{suffix}"


def _text(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return page_text(response.get_data(as_text=True))


def test_imports_their_confirmation_and_reported_totals_show_on_the_revisit(client, world):
    _import(world, world.lead, LEAD_OCT, "lead-october.csv")
    sign_in(client, world.lead.email)
    url = _url(world)
    page = _text(client, url)
    assert "Oct 2026" in page and "80.0%" in page and "still proposed" not in page
    assert _text(client, url) == page

    record = _import(world, world.provider, PROVIDER_NOV, "provider-november.csv")
    page = _text(client, url)
    assert "12 responses still proposed (in 1 import by a provider)" in page

    history = _url(world, "imports/")
    response = client.post(
        f"{history}{record.id}/confirm", data={"csrf_token": csrf_token(client, history)}
    )
    assert response.status_code == 302
    page = _text(client, url)
    assert "still proposed" not in page and "75.0%" in page  # November now counts

    new = _url(world, "reported/new")
    response = client.post(
        new,
        data={
            "csrf_token": csrf_token(client, new),
            "month": "2026-09",
            "responses": "40",
            "csat": "61",
        },
    )
    assert response.status_code == 302
    assert "61.0%" in _text(client, url)


def test_each_viewer_sees_the_buttons_of_their_own_rights(client, world):
    _import(world, world.lead, LEAD_OCT, "lead-october.csv")
    url = _url(world)
    cases = (
        (world.lead, True, True),
        (world.sponsor, False, False),
        (world.provider, False, True),
        (world.lead, True, True),
    )
    pages = pages_of(client, url, [case[0] for case in cases])
    for (who, manages, uploads), html in zip(cases, pages, strict=True):
        assert "80.0%" in page_text(html)
        assert ("Enter reported totals" in html) is manages, who.email
        assert ("Import responses" in html) is uploads, who.email


def test_views_with_query_arguments_are_computed_each_time(client, world):
    _import(world, world.lead, LEAD_OCT, "lead-october.csv")
    sign_in(client, world.lead.email)
    url = _url(world, "?rating=1")
    client.get(url)  # the navigation's queue counts, remembered since
    first, revisit = first_view_and_revisit(client, url)
    assert revisit == first
    assert "Said by L" not in _text(client, url)  # the comment is on a rating of 5


def test_queries_first_view_and_revisit_do_not_grow_with_the_responses(client, world):
    sign_in(client, world.lead.email)
    url = _url(world)
    _import(world, world.lead, LEAD_OCT, "lead-october.csv")
    few = first_view_and_revisit(client, url)
    for month in range(1, 10):
        _import(
            world,
            world.lead,
            _file(Month(2026, month), [5, 4, 3] * 9, f"M{month}-"),
            f"m{month}.csv",
        )
    many = first_view_and_revisit(client, url)
    assert "Jan 2026" in _text(client, url)
    assert many == few
    assert few[1] < few[0]
