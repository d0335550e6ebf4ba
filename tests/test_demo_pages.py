"""Every partnership tab answers for every demo sign-in, against the realistic demo data:
a smoke test of the pages, and of the 404 for a partnership someone is not part of."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask, url_for

from mls_tracker.access import visible_partnerships
from mls_tracker.demo import DEMO_PASSWORD, DEMO_USERS
from mls_tracker.extensions import db, limiter
from mls_tracker.models import Partnership, User
from mls_tracker.scorecards import chart_images
from tests.conftest import empty_database, sign_in
from tests.demo_snapshot import demo_database

TODAY = dt.date(2026, 11, 15)  # the day tests/test_demo.py loads the demo for
TABS = (
    "partnerships.show",
    "partnerships.people",
    "sponsors.index",
    "expectations.index",
    "slas.index",
    "meetings.index",
    "actions.index",
    "changes.index",
    "wins.index",
    "reviews.index",
)


@pytest.fixture(scope="module", autouse=True)
def _forget_the_charts() -> Iterator[None]:
    yield  # the server draws on for the next module (tests/conftest.py)
    chart_images.clear_cache()


@pytest.fixture(scope="module")
def demo(session_app: Flask) -> Iterator[Flask]:
    """The demo, loaded once for the module."""
    with session_app.app_context():
        demo_database(today=TODAY)
        yield session_app
        empty_database()
        db.session.remove()


def _tabs(app: Flask) -> list[str]:
    return [endpoint for endpoint in TABS if endpoint in app.view_functions]


def _urls(app: Flask, partnership_id: int) -> list[str]:
    with app.test_request_context():
        return [url_for(endpoint, partnership_id=partnership_id) for endpoint in _tabs(app)]


@pytest.mark.parametrize("email", [email for email, _ in DEMO_USERS])
def test_every_tab_of_every_visible_partnership_answers(demo, email):
    limiter.reset()
    user = db.session.scalars(sa.select(User).where(User.email == email)).one()
    visible = list(db.session.scalars(visible_partnerships(user).order_by(Partnership.id)))
    assert visible, f"{email} sees no partnership"
    client = demo.test_client()
    assert sign_in(client, email, DEMO_PASSWORD).status_code == 302
    failures = []
    for partnership in visible:
        for url in _urls(demo, partnership.id):
            response = client.get(url)
            if response.status_code != 200:
                failures.append(f"{url}: {response.status_code}")
    assert not failures, f"{email}:\n" + "\n".join(failures)
    assert len(_tabs(demo)) >= 4


@pytest.mark.parametrize(
    "email", [email for email, _ in DEMO_USERS if not email.startswith("admin")]
)
def test_another_partnerships_tabs_are_not_found(demo, email):
    limiter.reset()
    user = db.session.scalars(sa.select(User).where(User.email == email)).one()
    visible = set(db.session.scalars(sa.select(visible_partnerships(user).subquery().c.id)))
    hidden = db.session.scalars(
        sa.select(Partnership.id).where(Partnership.id.not_in(visible)).order_by(Partnership.id)
    ).first()
    if hidden is None:  # this sign-in sees every partnership: use one that does not exist
        hidden = (db.session.scalar(sa.select(sa.func.max(Partnership.id))) or 0) + 1
    client = demo.test_client()
    assert sign_in(client, email, DEMO_PASSWORD).status_code == 302
    statuses = {url: client.get(url).status_code for url in _urls(demo, hidden)}
    assert set(statuses.values()) == {404}, statuses
