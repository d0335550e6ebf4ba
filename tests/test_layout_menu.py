"""The menu of every page: its "Audit log" link is shown to administrators and leads only,
follows a change of role on the next page, and costs no query of its own (it is read with
the session check); the queues' and inbox's counts beside it cost one query."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import Membership, Role
from tests.conftest import sign_in
from tests.test_changes import counted_queries

AUDIT_LINK = 'href="/audit"'


@pytest.mark.parametrize(
    ("who", "shown"),
    [
        ("admin", True),
        ("lead", True),
        ("outsider", True),  # leads another partnership
        ("provider", False),
        ("sponsor", False),
        ("viewer", False),
    ],
)
def test_the_audit_log_link_is_shown_to_admins_and_leads_only(client, world, who, shown):
    sign_in(client, world.user(who).email)

    for url in ("/account", "/partnerships/"):
        page = client.get(url).get_data(as_text=True)
        assert (AUDIT_LINK in page) is shown, url


def test_the_link_follows_a_change_of_role_on_the_next_page(client, world):
    sign_in(client, world.provider.email)
    assert AUDIT_LINK not in client.get("/account").get_data(as_text=True)

    db.session.execute(
        sa.update(Membership).where(Membership.user_id == world.provider.id).values(role=Role.LEAD)
    )
    db.session.commit()
    assert AUDIT_LINK in client.get("/account").get_data(as_text=True)

    db.session.execute(
        sa.update(Membership)
        .where(Membership.user_id == world.provider.id)
        .values(role=Role.PROVIDER)
    )
    db.session.commit()
    assert AUDIT_LINK not in client.get("/account").get_data(as_text=True)


def test_the_menu_asks_no_query_of_its_own(client, world):
    sign_in(client, world.provider.email)
    client.get("/account")

    with counted_queries() as statements:
        page = client.get("/account").get_data(as_text=True)

    assert "Your account" in page
    # Memberships are read with the session and its user: not again for the menu's links.
    # The one other read is the queues' and the inbox's counts, all in one statement.
    counts = [s for s in statements if "notifications" in s]
    assert len(counts) == 1, counts
    reading_memberships = [s for s in statements if "memberships" in s and s not in counts]
    assert len(reading_memberships) == 1, reading_memberships
    assert "user_sessions" in reading_memberships[0]
