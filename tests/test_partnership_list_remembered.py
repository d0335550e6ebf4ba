"""The partnership list's default view remembered per user, day and newest audit entry of the
installation (data_version.remembered_across): a revisit reads that entry and nothing of the
list, any audited write shows at once, each user sees their own partnerships and roles, and
views with query arguments are computed each time."""

from __future__ import annotations

from mls_tracker.extensions import db
from mls_tracker.models import Membership, Organisation, Region, Role
from tests import factories
from tests.conftest import page_text, sign_in
from tests.test_detail_pages_remembered import pages_of
from tests.test_partnerships import _first_view_and_revisit

URL = "/partnerships/"


def _text(client, url: str = URL) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return page_text(response.get_data(as_text=True))


def test_writes_to_partnerships_memberships_and_reference_data_show_on_the_revisit(client, world):
    sign_in(client, world.lead.email)
    assert "Global Learning" in _text(client) and "Other Programme" not in _text(client)

    world.partnership.name = "Global Learning Renamed"
    db.session.commit()
    assert "Global Learning Renamed" in _text(client)

    factories.add_member(world.lead, world.other, Role.VIEWER)
    db.session.commit()
    assert "Other Programme" in _text(client)

    db.session.get(Organisation, world.partnership.client_id).name = "Client Renamed Co"
    db.session.commit()
    assert "Client Renamed Co" in _text(client)

    apac = db.session.query(Region).filter_by(name="APAC").one()
    apac.name = "Asia Pacific"
    db.session.commit()
    assert "Asia Pacific" in _text(client)

    membership = (
        db.session.query(Membership)
        .filter_by(user_id=world.lead.id, partnership_id=world.other.id)
        .one()
    )
    db.session.delete(membership)
    db.session.commit()
    assert "Other Programme" not in _text(client)


def test_each_user_sees_their_own_partnerships_and_no_other_sessions_token(client, world):
    cases = (
        (world.lead, "Global Learning", "Other Programme"),
        (world.outsider, "Other Programme", "Global Learning"),
        (world.admin, "Other Programme", None),
        (world.lead, "Global Learning", "Other Programme"),
    )
    pages = pages_of(client, URL, [case[0] for case in cases])
    for (who, shown, hidden), html in zip(cases, pages, strict=True):
        assert shown in html, who.email
        if hidden:
            assert hidden not in html, who.email
        assert ("New partnership" in html) is (who is world.admin), who.email


def test_views_with_query_arguments_are_computed_each_time(client, world):
    sign_in(client, world.lead.email)
    client.get(URL + "?sort=renewal")  # the navigation's queue counts, remembered since
    first, revisit = _first_view_and_revisit(client, URL + "?sort=renewal")
    assert revisit == first
    first, revisit = _first_view_and_revisit(client, URL)
    assert revisit < first
