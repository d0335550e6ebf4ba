"""The satisfaction pages: what each role sees, figures matching the service, CSV exports,
comment search, reported totals entered, corrected and deleted with messages beside the
fields, escaping, no inline script, and a query count that does not grow with the data."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import ReportedSatisfaction
from mls_tracker.periods import Month
from mls_tracker.services import satisfaction as service
from tests.conftest import csrf_token, sign_in
from tests.test_satisfaction_figures import add_responses, counted_queries, reported

MAR, APR = Month(2026, 3), Month(2026, 4)
PERIOD = {"from": "2025-05", "to": "2026-04"}


def _url(world, suffix=""):
    return f"/partnerships/{world.partnership.id}/satisfaction/{suffix}"


def _page(client, world, **args):
    response = client.get(_url(world), query_string={**PERIOD, **args})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _csv(response) -> list[list[str]]:
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _post(client, url, data):
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


@pytest.fixture
def data(app, world):
    emea = next(r for r in world.partnership.regions if r.name == "EMEA")
    add_responses(
        world.partnership,
        MAR,
        [5] * 8 + [2] * 2,
        [10] * 5 + [8] * 2 + [3] * 3,
        region=emea,
        program="Leaders",
        comment="Great facilitator",
    )
    add_responses(
        world.partnership,
        APR,
        [4] * 3 + [1] * 2,
        region=emea,
        program="Sales",
        comment="Too long <b>really</b>",
    )
    db.session.commit()
    return {"emea": emea}


@pytest.mark.parametrize("who", ["lead", "provider", "sponsor", "viewer", "admin"])
def test_everyone_who_may_view_reads_the_page(client, world, data, who):
    sign_in(client, world.user(who).email)
    html = _page(client, world)
    assert "Learner satisfaction" in html
    assert 'id="month-table"' in html and 'id="region-table"' in html
    manages = who in ("lead", "admin")
    assert ("Enter reported totals" in html) is manages
    may_upload = who in ("lead", "admin", "provider")
    from flask import current_app

    has_import = "survey_imports.new" in current_app.view_functions
    assert ("Import responses" in html) is (may_upload and has_import)


def test_figures_on_the_page_match_the_service(client, world, data):
    sign_in(client, world.viewer.email)
    html = _page(client, world)
    report = service.load_satisfaction(world.partnership.id, Month(2025, 5), APR)
    latest = report.latest
    # April: 5 ratings, 3 of 4–5 → 60.0%, Wilson [23.1, 88.2]; a low sample.
    assert latest.month == APR and latest.csat == 60.0
    assert re.search(r'id="tile-csat">60\.0%<', html)
    assert f"95% interval {latest.csat_low:.1f}–{latest.csat_high:.1f}%" in html
    assert "Low sample" in html
    # The noise-band rule needs n ≥ 10 in both months: no verdict on a change.
    assert "Too few answers to judge a change from Mar 2026" in html
    march = report.month_figure(MAR)
    # March NPS: 5 promoters, 3 detractors of 10 → +20.0 ± 54.0
    assert (march.nps, march.nps_moe) == (20.0, 54.0)
    assert "+20.0" in html and "± 54.0" in html
    assert 'data-chart="csat-chart-data"' in html and 'id="nps-chart-data"' in html


def test_the_page_has_no_inline_script_and_loads_plotly_from_the_app(client, world, data):
    sign_in(client, world.lead.email)
    response = client.get(_url(world), query_string=PERIOD)
    html = response.get_data(as_text=True)
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert " style=" not in html and "<style" not in html
    assert re.search(r'<script src="/assets/plotly-[0-9a-f]{16}\.min\.js">', html)
    assert "cdn" not in html.lower()
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_comment_text_is_escaped(client, world, data):
    add_responses(world.partnership, APR, [1], comment='<script>alert("x")</script>')
    db.session.commit()
    sign_in(client, world.viewer.email)
    html = _page(client, world)
    assert '<script>alert("x")' not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "Too long &lt;b&gt;really&lt;/b&gt;" in html


def test_comments_search_filter_and_pages(client, world, data):
    add_responses(world.partnership, APR, [3] * 30, comment="Room was cold", day=20)
    db.session.commit()
    sign_in(client, world.viewer.email)
    html = _page(client, world, q="facilitator")
    assert html.count('class="comment"') == 10 and "Room was cold" not in html
    html = _page(client, world, rating="1")
    assert html.count('class="comment"') == 2
    html = _page(client, world)
    # 10 + 5 + 30 comments, 25 a page, newest first: the 30 of 20 April come first.
    assert html.count('class="comment"') == 25 and "Page 1 of 2" in html
    assert "Too long" not in html
    html = _page(client, world, page="2")
    assert html.count('class="comment"') == 20
    assert html.index("Room was cold") < html.index("Too long") < html.index("Great facil")
    # A percent sign is text, not a wildcard.
    assert _page(client, world, q="%").count('class="comment"') == 0


def test_every_table_exports_as_csv(client, world, data):
    sign_in(client, world.sponsor.email)
    months = _csv(client.get(_url(world, "export.csv"), query_string={**PERIOD}))
    assert months[0][:4] == ["Month", "n (ratings)", "Mean rating", "CSAT %"]
    assert [row[0] for row in months[1:]] == ["2026-03", "2026-04"]
    assert months[1][3] == "80.0" and months[2][9] == "yes"  # April: low sample
    regions = _csv(
        client.get(_url(world, "export.csv"), query_string={**PERIOD, "table": "regions"})
    )
    assert regions[1][:2] == ["EMEA", "15"]
    programs = _csv(
        client.get(_url(world, "export.csv"), query_string={**PERIOD, "table": "programs"})
    )
    assert [row[0] for row in programs[1:]] == ["Leaders", "Sales"]
    comments = _csv(
        client.get(
            _url(world, "export.csv"), query_string={**PERIOD, "table": "comments", "q": "long"}
        )
    )
    assert len(comments) == 6 and comments[1][6] == "Too long <b>really</b>"
    response = client.get(_url(world, "export.csv"), query_string={"table": "nothing"})
    assert response.status_code == 404


def test_empty_state_invites_an_import(app, client, world):
    sign_in(client, world.lead.email)
    html = client.get(_url(world)).get_data(as_text=True)
    assert "No survey responses yet" in html
    assert "Enter reported totals" in html
    sponsor = app.test_client()
    sign_in(sponsor, world.sponsor.email)
    html = sponsor.get(_url(world)).get_data(as_text=True)
    assert "No survey responses yet" in html and "import a file" not in html
    assert "Enter reported totals" not in html


def test_a_lead_enters_corrects_and_deletes_reported_totals(client, world):
    sign_in(client, world.lead.email)
    url = _url(world, "reported/new")
    response = _post(client, url, {"month": "2026-03", "responses": "0", "csat": "86"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'id="responses-error"><div>Enter the number of responses', html)
    response = _post(client, url, {"month": "2026-03", "responses": "120", "csat": "186"})
    assert 'id="csat-error"><div>CSAT is a percentage between 0 and 100.' in response.get_data(
        as_text=True
    )
    response = _post(client, url, {"month": "March", "responses": "120", "csat": "86"})
    assert 'id="month-error"><div>Enter the month as YYYY-MM' in response.get_data(as_text=True)
    response = _post(
        client, url, {"month": "2026-03", "responses": "120", "csat": "86", "nps": "30"}
    )
    assert response.status_code == 302
    row = db.session.scalar(sa.select(ReportedSatisfaction))
    assert (row.month, row.responses, row.csat, row.nps) == (
        MAR,
        120,
        Decimal("86.00"),
        Decimal("30.0"),
    )

    html = client.get(_url(world), query_string=PERIOD).get_data(as_text=True)
    assert f'id="reported-{row.id}"' in html and "badge-reported" in html

    edit = _url(world, f"reported/{row.id}/edit")
    assert 'value="2026-03"' in client.get(edit).get_data(as_text=True)
    response = _post(client, edit, {"month": "2026-03", "responses": "100", "mean_rating": "4.2"})
    assert response.status_code == 302
    db.session.refresh(row)
    assert (row.responses, row.csat, row.mean_rating) == (100, None, Decimal("4.20"))

    delete = _url(world, f"reported/{row.id}/delete")
    assert "Delete these reported totals?" in client.get(delete).get_data(as_text=True)
    assert _post(client, delete, {}).status_code == 200  # not confirmed: nothing deleted
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportedSatisfaction)) == 1
    assert _post(client, delete, {"confirm": "yes"}).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportedSatisfaction)) == 0


def test_a_superseded_reported_total_is_flagged(client, world, data):
    reported(world.partnership, MAR, 300, csat=Decimal(99))
    db.session.commit()
    sign_in(client, world.viewer.email)
    html = _page(client, world)
    assert "Superseded by responses" in html
    assert "Edit<span" not in html  # viewers do not manage


def test_index_query_count_does_not_grow_with_the_data(client, world, data):
    sign_in(client, world.lead.email)
    url = _url(world)
    client.get(url, query_string=PERIOD)
    with counted_queries() as small:
        client.get(url, query_string=PERIOD)
    for index in range(12):
        month = Month(2025, 5).shift(index)
        add_responses(
            world.partnership,
            month,
            [5, 4, 1] * 4,
            [9, 7, 0] * 4,
            region=data["emea"],
            program=f"P{index}",
            comment="More",
        )
        reported(world.partnership, month, 30, region_id=data["emea"].id, nps=10)
    db.session.commit()
    # Warmed again as before the first count: the navigation's queue counts, remembered until
    # the next write, are read afresh once after the writes above (one query, whatever the data).
    client.get(url, query_string=PERIOD)
    with counted_queries() as large:
        html = client.get(url, query_string=PERIOD).get_data(as_text=True)
    assert "P11" in html
    assert len(large) == len(small)
