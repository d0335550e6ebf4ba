"""The work queues: what waits for a lead and for a provider across their partnerships, each
shown only to the role that uses it, with its count in the navigation and its CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from mls_tracker.extensions import db
from mls_tracker.models import ActionStatus, ActionUpdate, Role, Side, SurveyImport, utcnow
from mls_tracker.models.satisfaction import ImportState, SurveyFormat
from mls_tracker.periods import utc_today
from mls_tracker.services import actions as actions_service
from tests.conftest import csrf_token, page_text, sign_in
from tests.factories import add_member, create_action

TODAY = utc_today()
TODAY_FROM_THE_CLOCK = True  # read again as each test starts (tests/conftest.py)


def _rows(html: str) -> list[str]:
    return re.findall(r'id="queue-row-(\d+)"', html)


def _count(html: str, which: str) -> int | None:
    found = re.search(rf'id="nav-{which}-count">(\d+)<', html)
    return int(found.group(1)) if found else None


@pytest.fixture
def queued(world):
    """Hand-made queue contents in both partnerships."""
    p, other = world.partnership, world.other
    done = create_action(
        p, "Publish the Q3 report", due_on=TODAY, owner=world.provider, status=ActionStatus.DONE
    )
    verified = create_action(
        p, "Already verified", due_on=TODAY, owner=world.provider, status=ActionStatus.DONE
    )
    verified.verified_at, verified.verified_by_id = utcnow(), world.lead.id
    create_action(other, "Other's done item", due_on=TODAY, status=ActionStatus.DONE)
    due_soon = create_action(
        p, "Book the trainers", due_on=TODAY + dt.timedelta(days=3), owner=world.provider
    )
    overdue = create_action(p, "Late one", due_on=TODAY - dt.timedelta(days=2))
    create_action(p, "Far away", due_on=TODAY + dt.timedelta(days=30), owner=world.provider)
    create_action(p, "Client side", due_on=TODAY, side=Side.CLIENT, owner=world.lead)
    returned = create_action(
        p, "Fix the LMS export", due_on=TODAY + dt.timedelta(days=20), owner=world.provider
    )
    returned.updates.append(
        ActionUpdate(
            author_id=world.lead.id,
            text="Reopened: the export still fails",
            old_status=ActionStatus.DONE,
            new_status=ActionStatus.OPEN,
        )
    )
    db.session.add(
        SurveyImport(
            partnership_id=p.id,
            file_name="october.csv",
            file_format=SurveyFormat.GENERIC,
            file_sha256="0" * 64,
            uploaded_by_id=world.provider.id,
            rows_added=120,
            state=ImportState.PROPOSED,
        )
    )
    db.session.commit()
    return {"done": done, "due": due_soon, "overdue": overdue, "returned": returned}


def test_the_lead_sees_their_three_queues_with_counts(client, world, queued):
    sign_in(client, world.lead.email)
    html = client.get("/queues/verification").get_data(as_text=True)
    assert _rows(html) == [str(queued["done"].id)]  # not the verified one, not the other's
    assert "Publish the Q3 report" in html and "Global Learning" in html
    # 1 to verify, 1 proposed actual (the world's), 1 proposed import
    assert _count(html, "queues") == 3
    text = page_text(html)
    assert "Awaiting my verification 1" in text
    assert "Actuals to confirm 1" in text
    assert "Survey imports to confirm 1" in text
    assert "Returned to me" not in text  # a provider's queue
    # On a phone the menu's button shows the waiting count alone (the inbox has its own).
    assert 'aria-label="Show navigation (3 waiting' in html
    toggler = html[html.index('class="navbar-toggler"') : html.index("</button>")]
    assert re.findall(r'toggler-count" aria-hidden="true">(\d+)<', toggler)[0] == "3"
    actuals = page_text(client.get("/queues/actuals").get_data(as_text=True))
    assert "WLD-01 — SLA WLD-01" in actuals and "Jun 2025" in actuals and "92%" in actuals
    imports = page_text(client.get("/queues/imports").get_data(as_text=True))
    assert "october.csv" in imports and "120" in imports
    assert client.get("/queues/").headers["Location"].endswith("/queues/verification")


def test_the_provider_sees_returned_and_due_this_week(client, world, queued):
    sign_in(client, world.provider.email)
    html = client.get("/queues/returned").get_data(as_text=True)
    assert _rows(html) == [str(queued["returned"].id)]
    row = page_text(html.split(f'id="queue-row-{queued["returned"].id}"')[1].split("</tr>")[0])
    assert world.lead.display_name in row  # returned by
    assert f"{TODAY.day} {TODAY:%b %Y}" in row  # returned on
    due = client.get("/queues/due").get_data(as_text=True)
    assert sorted(_rows(due)) == sorted([str(queued["due"].id), str(queued["overdue"].id)])
    assert "Overdue" in due
    assert _count(due, "queues") == 3  # 1 returned + 2 due
    assert "Awaiting my verification" not in page_text(due)
    # the lead's queue is empty for a provider: they lead no partnership
    assert _rows(client.get("/queues/verification").get_data(as_text=True)) == []
    assert client.get("/queues/").headers["Location"].endswith("/queues/returned")


def test_due_filter_partnership_filter_and_sort_stay_in_the_url(client, world, queued):
    sign_in(client, world.provider.email)
    overdue = client.get("/queues/due?due=overdue").get_data(as_text=True)
    assert _rows(overdue) == [str(queued["overdue"].id)]
    week = client.get("/queues/due?due=week").get_data(as_text=True)
    assert _rows(week) == [str(queued["due"].id)]
    by_title = client.get("/queues/due?sort=title&due=").get_data(as_text=True)
    assert _rows(by_title) == [str(queued["due"].id), str(queued["overdue"].id)]  # B < L
    assert "sort=title" in by_title or 'value="title"' in by_title
    elsewhere = client.get(f"/queues/due?partnership={world.other.id}").get_data(as_text=True)
    assert _rows(elsewhere) == []


def test_sponsors_viewers_and_outsiders_have_no_queues(client, world, queued):
    for who in (world.sponsor, world.viewer):
        other = client.application.test_client()
        sign_in(other, who.email)
        html = other.get("/partnerships/").get_data(as_text=True)
        assert 'href="/queues/"' not in html
        assert "No queue for you" in other.get("/queues/").get_data(as_text=True)
        assert _rows(other.get("/queues/verification").get_data(as_text=True)) == []
    sign_in(client, world.outsider.email)  # leads the other partnership
    html = client.get("/queues/verification").get_data(as_text=True)
    assert len(_rows(html)) == 1 and "Other&#39;s done item" in html


def test_an_archived_partnership_is_left_out(client, world, queued):
    world.partnership.archived_at = utcnow()
    db.session.commit()
    sign_in(client, world.lead.email)
    html = client.get("/queues/verification").get_data(as_text=True)
    assert _rows(html) == []
    assert _count(html, "queues") is None


def test_csv_export_of_a_queue(client, world, queued):
    sign_in(client, world.provider.email)
    response = client.get("/queues/due?due=overdue".replace("/due?", "/due/export.csv?"))
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["Partnership", "Action item", "Owner", "Due", "Status", "Overdue", "Link"]
    assert rows[1][:2] == ["Global Learning", "Late one"]
    assert rows[1][5] == "yes"
    assert rows[1][6].endswith(
        f"/partnerships/{world.partnership.id}/actions/{queued['overdue'].id}"
    )
    assert len(rows) == 2


def test_verifying_takes_the_item_out_of_the_queue(client, world, queued):
    sign_in(client, world.lead.email)
    item = queued["done"]
    url = f"/partnerships/{world.partnership.id}/actions/{item.id}"
    token = csrf_token(client, url)
    client.post(
        f"{url}/verify", data={"csrf_token": token, "version": item.version, "confirm": "yes"}
    )
    html = client.get("/queues/verification").get_data(as_text=True)
    assert _rows(html) == []
    assert _count(html, "queues") == 2


def test_a_reopened_item_is_returned_to_its_owner(client, world):
    item = create_action(
        world.partnership,
        "Run the pilot",
        due_on=TODAY,
        owner=world.provider,
        status=ActionStatus.DONE,
    )
    db.session.commit()
    actions_service.reopen_action(
        world.lead, item, reason="Only half the cohort", expected_version=item.version
    )
    sign_in(client, world.provider.email)
    html = client.get("/queues/returned").get_data(as_text=True)
    assert _rows(html) == [str(item.id)]


def test_the_navigation_counts_take_one_query(client, world, queued):
    from tests.test_partnerships import count_queries

    sign_in(client, world.lead.email)
    client.get("/my-actions")
    with count_queries() as statements:
        client.get("/my-actions")
    assert sum("notifications" in s for s in statements) == 1


def test_a_second_lead_role_adds_their_queue(client, world, queued):
    add_member(world.provider, world.other, Role.LEAD)
    db.session.commit()
    sign_in(client, world.provider.email)
    text = page_text(client.get("/queues/due").get_data(as_text=True))
    assert "Awaiting my verification 1" in text  # the other partnership's done item
