"""Every list keeps its sort, filters and page in its URL (issue 20), on the demo data: the
sort links and the pager keep the filters, the CSV link exports what is filtered, and a row's
object leads back (breadcrumb, "Back to …" or Cancel) to the same filtered, sorted page."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask

from mls_tracker.demo import DEMO_PASSWORD
from mls_tracker.extensions import db, limiter
from mls_tracker.models import Partnership
from mls_tracker.scorecards import chart_images
from tests.conftest import empty_database, sign_in
from tests.demo_snapshot import demo_database

TODAY = dt.date(2026, 11, 15)  # the day tests/test_demo.py loads the demo for
HREF = re.compile(r'href="([^"]+)"')


@dataclass(frozen=True)
class ListCase:
    who: str  # the demo sign-in that uses the list
    path: str  # the list, "{pid}" for the Global Learning Services partnership
    filters: dict[str, str]
    order: dict[str, str]  # sort (and order)
    row: str  # the start of a row's object path
    export: str | None = None  # the start of its CSV's path
    page: dict[str, str] = field(default_factory=dict)
    partnership: str = "Global Learning Services"  # the one "{pid}" stands for


CASES = {
    "actions": ListCase(
        "lead",
        "/partnerships/{pid}/actions/",
        {"status": "all", "owner_side": "provider"},
        {"sort": "title", "order": "desc"},
        "/partnerships/{pid}/actions/",
        export="/partnerships/{pid}/actions/export.csv",
    ),
    "meetings": ListCase(
        "lead",
        "/partnerships/{pid}/meetings/",
        {"kind": "monthly", "state": "minutes approved"},
        {"sort": "reviewed"},
        "/partnerships/{pid}/meetings/",
        export="/partnerships/{pid}/meetings/export.csv",
    ),
    "changes": ListCase(
        "lead",
        "/partnerships/{pid}/changes/",
        {"status": "live"},
        {"sort": "title"},
        "/partnerships/{pid}/changes/",
        export="/partnerships/{pid}/changes/export.csv",
    ),
    "wins": ListCase(
        "lead",
        "/partnerships/{pid}/wins/",
        {"shareable": "1"},
        {"sort": "title"},
        "/partnerships/{pid}/wins/",
        export="/partnerships/{pid}/wins/export.csv",
    ),
    "reviews": ListCase(
        "lead",
        "/partnerships/{pid}/reviews/",
        {},
        {"sort": "kind"},
        "/partnerships/{pid}/reviews/",
        export="/partnerships/{pid}/reviews/export.csv",
    ),
    "expectations": ListCase(
        "lead",
        "/partnerships/{pid}/expectations/",
        {"side": "provider"},
        {},
        "/partnerships/{pid}/expectations/",
        export="/partnerships/{pid}/expectations/export.csv",
    ),
    "slas": ListCase(
        "lead",
        "/partnerships/{pid}/slas/",
        {"to": "2026-08"},
        {},
        "/partnerships/{pid}/slas/",
        export="/partnerships/{pid}/slas/export.csv",
    ),
    "survey imports": ListCase(
        "lead",
        "/partnerships/{pid}/satisfaction/imports/",
        {},
        {"sort": "file"},
        "/partnerships/{pid}/satisfaction/imports/",
        export="/partnerships/{pid}/satisfaction/imports/export.csv",
    ),
    "verification queue": ListCase(
        "lead",
        "/queues/verification",
        {"partnership": "{pid}"},
        {"sort": "title", "order": "desc"},
        "/partnerships/{pid}/actions/",
        export="/queues/verification/export.csv",
        page={"page": "1"},
        partnership="Sales Enablement",  # the demo's done items waiting for a lead
    ),
    "my actions": ListCase(
        "provider", "/my-actions", {}, {"sort": "partnership"}, "/partnerships/", page={"page": "1"}
    ),
    "partnerships": ListCase(
        "lead", "/partnerships/", {}, {"sort": "renewal"}, "/partnerships/", page={"page": "1"}
    ),
    "people": ListCase(
        "admin",
        "/admin/users",
        {"role": "lead"},
        {"sort": "email"},
        "/admin/users/",
        export="/admin/users.csv",
        page={"page": "1"},
    ),
    "organisations": ListCase(
        "admin",
        "/admin/organisations",
        {"kind": "provider"},
        {},
        "/admin/organisations/",
        export="/admin/organisations.csv",
    ),
}


@pytest.fixture(scope="module")
def demo(session_app: Flask) -> Iterator[Flask]:
    """The demo, loaded once for the module: these tests only read."""
    with session_app.app_context():
        demo_database(today=TODAY)
        yield session_app
        empty_database()
        db.session.remove()
    chart_images.shutdown()


def _links(page: str) -> list[str]:
    return [html.unescape(href) for href in HREF.findall(page)]


def _args(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def _signed_in(demo: Flask, who: str, partnership: str = "Global Learning Services"):
    """A client signed in as the demo's ``who``, and the id of ``partnership``."""
    limiter.reset()
    pid = db.session.scalar(sa.select(Partnership.id).where(Partnership.name == partnership))
    client = demo.test_client()
    assert sign_in(client, f"{who}@example.com", DEMO_PASSWORD).status_code == 302
    return client, pid


@pytest.mark.parametrize("name", list(CASES))
def test_sort_filters_and_page_survive_the_round_trip(demo, name):
    case = CASES[name]
    client, pid = _signed_in(demo, case.who, case.partnership)
    filters = {key: value.format(pid=pid) for key, value in case.filters.items()}
    asked = {**filters, **case.order, **case.page}
    path = case.path.format(pid=pid)
    url = f"{path}?{urlencode(asked)}"
    response = client.get(url)
    assert response.status_code == 200, url
    links = _links(response.get_data(as_text=True))

    # Sort links (another sort) and pager links (another page) keep the filters.
    for link in links:
        if urlsplit(link).path != path:
            continue
        args = _args(link)
        other_sort = "sort" in args and args["sort"] != asked.get("sort")
        other_page = "page" in args and args["page"] != asked.get("page", "1")
        if other_sort or other_page:
            assert filters.items() <= args.items(), f"{link} drops the filters of {url}"
        if other_page:
            assert case.order.items() <= args.items(), f"{link} drops the sort of {url}"

    # The CSV exports what is filtered, in the same order.
    if case.export:
        export = case.export.format(pid=pid)
        csv_links = [link for link in links if urlsplit(link).path == export]
        assert csv_links, f"no CSV link on {url}"
        for link in csv_links:
            assert {**filters, **case.order}.items() <= _args(link).items(), link

    # A row's object carries the list's address, and leads back to it.
    prefix = case.row.format(pid=pid)
    rows = [
        link
        for link in links
        if urlsplit(link).path.startswith(prefix) and _args(link).get("next") == url
    ]
    assert rows, f"no row of {url} links to its object with next="
    shown = client.get(rows[0])
    assert shown.status_code == 200, rows[0]
    back = _links(shown.get_data(as_text=True))
    assert url in back, f"{rows[0]} does not lead back to {url}"


def test_a_next_that_is_not_a_path_of_this_app_is_ignored(demo):
    client, pid = _signed_in(demo, "lead")
    actions = client.get(f"/partnerships/{pid}/actions/?status=all").get_data(as_text=True)
    item = next(
        link
        for link in _links(actions)
        if re.fullmatch(rf"/partnerships/{pid}/actions/\d+", urlsplit(link).path)
    )
    item_path = urlsplit(item).path
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        page = client.get(item_path, query_string={"next": evil}).get_data(as_text=True)
        assert "evil.example" not in " ".join(_links(page)), evil
        assert f'href="/partnerships/{pid}/actions/"' in page  # the breadcrumb as usual


def test_an_edit_opened_from_a_filtered_list_leads_back_the_same_way(demo):
    client, pid = _signed_in(demo, "lead")
    url = f"/partnerships/{pid}/changes/?{urlencode({'status': 'live', 'sort': 'title'})}"
    item = next(
        link for link in _links(client.get(url).get_data(as_text=True)) if _args(link).get("next")
    )
    edit = next(
        link
        for link in _links(client.get(item).get_data(as_text=True))
        if urlsplit(link).path.endswith("/edit")
    )
    assert _args(edit)["next"] == url
    form = client.get(edit).get_data(as_text=True)
    # Cancel goes to the change, which still leads back to the list; saving posts to the
    # same address, so that its redirect keeps the way back too.
    assert any(
        urlsplit(link).path == urlsplit(item).path and _args(link).get("next") == url
        for link in _links(form)
    )
    assert f'action="{html.escape(edit)}"' in form
