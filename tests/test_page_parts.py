"""The remembered default views of the partnership's list pages (mls_tracker/page_parts.py):
a revisit reads the data version and nothing else of the list, a write shows at once, a
viewer sees the buttons of their own rights, and filtered views are rendered each time."""

from __future__ import annotations

import datetime as dt

from mls_tracker.extensions import db
from mls_tracker.models import Change, ChangeStatus, ChangeType, Side, Win
from tests import factories
from tests.conftest import sign_in
from tests.test_partnerships import count_queries


def _add_change(world, title: str) -> None:
    db.session.add(
        Change(
            partnership_id=world.partnership.id,
            title=title,
            change_type=ChangeType.TECHNOLOGY,
            status=ChangeStatus.PLANNED,
            created_by_id=world.lead.id,
        )
    )
    db.session.commit()


def _add_win(world, title: str) -> None:
    db.session.add(
        Win(
            partnership_id=world.partnership.id,
            title=title,
            won_on=dt.date(2026, 1, 5),
            created_by_id=world.provider.id,
        )
    )
    db.session.commit()


def _add_sponsor(world, name: str) -> None:
    region = world.partnership.regions[0]
    factories.create_sponsor(world.partnership, region, Side.PROVIDER, name)
    db.session.commit()


def _add_meeting(world, title: str) -> None:
    """A meeting held on a day told by the title's first word ("First" → 6 Jan 2026)."""
    day = dt.date(2026, 1, 6) + dt.timedelta(days=7 * len(title.split()[0]))
    factories.create_meeting(world.partnership, day)
    db.session.commit()


# page, how to add an item, what a viewer who may manage sees (a sponsor does not)
PAGES = (
    ("changes", _add_change, "Log a change"),
    ("wins", _add_win, "Log a win"),
    ("sponsors", _add_sponsor, "Add a sponsor"),
    ("meetings", _add_meeting, "Plan a meeting"),
)
SORTED_BY_TITLE = ("changes", "wins")


def _queries(client, url: str) -> int:
    with count_queries() as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def first_view_and_revisit(client, url: str) -> tuple[int, int]:
    """Queries of the first view after a write (the page computed) and of the revisit (the
    page as remembered)."""
    return _queries(client, url), _queries(client, url)


def test_a_revisit_reads_nothing_again_and_a_write_shows_at_once(client, world):
    sign_in(client, world.lead.email)
    for page, add, _ in PAGES:
        url = f"/partnerships/{world.partnership.id}/{page}/"
        add(world, "First of its kind")
        first = _queries(client, url)
        revisit = _queries(client, url)
        assert revisit < first, page
        add(world, "Second of its kind")
        html = client.get(url).get_data(as_text=True)
        if page == "meetings":
            assert html.count('<tr class="meeting-row') == 2
        else:
            assert "First of its kind" in html and "Second of its kind" in html, page
        assert _queries(client, url) == revisit, page
        if page in SORTED_BY_TITLE:
            by_title = client.get(f"{url}?sort=title").get_data(as_text=True)
            assert by_title.index("First of its kind") < by_title.index("Second of its kind")


def test_each_viewer_sees_the_buttons_of_their_own_rights(client, world):
    for page, add, button in PAGES:
        add(world, "Shown to all")
        url = f"/partnerships/{world.partnership.id}/{page}/"
        for who, sees in ((world.lead, True), (world.sponsor, False), (world.lead, True)):
            other = client.application.test_client()
            sign_in(other, who.email)
            html = other.get(url).get_data(as_text=True)
            if page != "meetings":
                assert "Shown to all" in html
            assert (button in html) is sees, (page, who.email)
