"""Action items: creating them (on their own or from a meeting), the list with its filters,
sorting and CSV export, the Overdue word, and My actions."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections.abc import Iterator

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import ActionItem, ActionStatus, Priority, Role, Side
from mls_tracker.periods import utc_today
from tests import factories
from tests.conftest import csrf_token, sign_in, sign_out


@contextlib.contextmanager
def counted_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def _today() -> dt.date:
    return utc_today()


def _days(n: int) -> dt.date:
    return _today() + dt.timedelta(days=n)


def _base(world) -> str:
    return f"/partnerships/{world.partnership.id}/actions"


def _form(**values) -> dict:
    data = {
        "title": "Publish the Q3 completion report",
        "description": "",
        "owner_side": "provider",
        "owner_id": "0",
        "due_on": _days(14).isoformat(),
        "priority": "high",
        "status": "open",
        "sla_id": "0",
        "challenge_id": "0",
    }
    data.update(values)
    return data


def _items() -> list[ActionItem]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(ActionItem).order_by(ActionItem.id)))


# ----------------------------------------------------------------------------- creating


def test_a_lead_creates_an_action_with_an_owner_and_an_sla(client, world):
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/new"
    response = client.post(
        url,
        data=_form(
            owner_id=str(world.provider.id),
            sla_id=str(world.ids["sla_id"]),
            csrf_token=csrf_token(client, url),
        ),
    )
    assert response.status_code == 302
    [item] = _items()
    assert (item.title, item.owner_id, item.owner_side, item.priority, item.sla_id) == (
        "Publish the Q3 completion report",
        world.provider.id,
        Side.PROVIDER,
        Priority.HIGH,
        world.ids["sla_id"],
    )
    assert item.created_by_id == world.lead.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Publish the Q3 completion report" in page
    assert "WLD-01" in page


def test_an_action_from_a_meeting_is_linked_to_it(client, world):
    meeting = factories.create_meeting(world.partnership, _days(-3))
    db.session.commit()
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/new?meeting_id={meeting.id}"
    page = client.get(url).get_data(as_text=True)
    assert "action plan of the meeting" in page
    response = client.post(url, data=_form(csrf_token=csrf_token(client, url)))
    assert response.status_code == 302
    [item] = _items()
    assert item.meeting_id == meeting.id


def test_another_partnerships_meeting_is_not_found(client, world):
    meeting = factories.create_meeting(world.other, _days(-3))
    db.session.commit()
    sign_in(client, world.lead.email)
    assert client.get(f"{_base(world)}/new?meeting_id={meeting.id}").status_code == 404


def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(client, world):
    meeting = factories.create_meeting(world.partnership, _days(-3))
    db.session.commit()
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/new?meeting_id={meeting.id}"
    cases = [
        ({"title": "  "}, "title", "Enter a title"),
        ({"due_on": _days(-10).isoformat()}, "due_on", "cannot be before the meeting"),
        ({"owner_id": str(world.outsider.id)}, "owner_id", "member of this partnership"),
        # A sponsor is on the client side: not an owner for a provider-side item.
        ({"owner_id": str(world.sponsor.id)}, "owner_id", "choose an owner of the provider side"),
        ({"sla_id": "999999"}, "sla_id", "Choose one of this partnership&#39;s SLAs"),
    ]
    for values, field, message in cases:
        response = client.post(url, data=_form(**values, csrf_token=csrf_token(client, url)))
        assert response.status_code == 200, values
        html = response.get_data(as_text=True)
        error_at = html.find(f'id="{field}-error"')
        assert error_at > 0, (field, values)
        assert message in html[error_at : error_at + 400], (field, message)
    assert _items() == []


def test_client_side_owner_may_be_a_lead_sponsor_or_viewer(client, world):
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/new"
    for person in (world.lead, world.sponsor, world.viewer):
        response = client.post(
            url,
            data=_form(
                owner_side="client",
                owner_id=str(person.id),
                csrf_token=csrf_token(client, url),
            ),
        )
        assert response.status_code == 302
    assert [item.owner_id for item in _items()] == [
        world.lead.id,
        world.sponsor.id,
        world.viewer.id,
    ]


def test_a_lead_edits_everything_and_a_stale_edit_is_refused(client, world):
    item = factories.create_action(world.partnership, due_on=_days(5), owner=world.provider)
    db.session.commit()
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/{item.id}/edit"
    token = csrf_token(client, url)
    first = _form(title="Renamed", priority="critical", version="1", csrf_token=token)
    assert client.post(url, data=first).status_code == 302
    # A second person saves from the page they opened before the first save.
    second = _form(title="Someone else's title", version="1", csrf_token=token)
    response = client.post(url, data=second)
    assert response.status_code == 200
    assert "Someone else saved this action item" in response.get_data(as_text=True)
    [saved] = _items()
    assert (saved.title, saved.priority, saved.version) == ("Renamed", Priority.CRITICAL, 2)


# ----------------------------------------------------------------------------- the list


def _list_world(world) -> dict[str, ActionItem]:
    items = {
        "late": factories.create_action(
            world.partnership,
            "Fix the LMS login",
            due_on=_days(-4),
            owner=world.provider,
            priority=Priority.CRITICAL,
            times_carried=2,
        ),
        "soon": factories.create_action(
            world.partnership,
            "Agree the survey wording",
            due_on=_days(3),
            owner=world.lead,
            side=Side.CLIENT,
            priority=Priority.LOW,
        ),
        "later": factories.create_action(
            world.partnership,
            "Book the QBR venue",
            due_on=_days(40),
            status=ActionStatus.IN_PROGRESS,
        ),
        "done": factories.create_action(
            world.partnership,
            "Archive the old catalogue",
            due_on=_days(-30),
            owner=world.provider,
            status=ActionStatus.DONE,
        ),
        "elsewhere": factories.create_action(
            world.other, "Item of the other partnership", due_on=_days(-1)
        ),
    }
    db.session.commit()
    return items


def _titles(client, url) -> list[str]:
    html = client.get(url).get_data(as_text=True)
    titles = [
        "Fix the LMS login",
        "Agree the survey wording",
        "Book the QBR venue",
        "Archive the old catalogue",
        "Item of the other partnership",
    ]
    found = [(html.find(f">{title}<"), title) for title in titles if f">{title}<" in html]
    return [title for _, title in sorted(found)]


def test_the_list_filters_and_sorts(client, world):
    _list_world(world)
    sign_in(client, world.viewer.email)
    base = _base(world) + "/"
    # Open work by default; "all" adds the closed items.
    assert _titles(client, base) == [
        "Fix the LMS login",
        "Agree the survey wording",
        "Book the QBR venue",
    ]
    assert _titles(client, base + "?status=all") == [
        "Archive the old catalogue",
        "Fix the LMS login",
        "Agree the survey wording",
        "Book the QBR venue",
    ]
    assert _titles(client, base + "?overdue=y") == ["Fix the LMS login"]
    assert _titles(client, base + "?due_within=7") == ["Agree the survey wording"]
    assert _titles(client, base + "?owner_side=client") == ["Agree the survey wording"]
    assert _titles(client, base + f"?owner_id={world.provider.id}&status=not+closed") == [
        "Fix the LMS login"
    ]
    assert _titles(client, base + "?status=in+progress") == ["Book the QBR venue"]
    assert _titles(client, base + "?sort=priority&status=not+closed") == [
        "Fix the LMS login",
        "Book the QBR venue",
        "Agree the survey wording",
    ]
    assert _titles(client, base + "?sort=title&order=desc")[0] == "Fix the LMS login"
    assert _titles(client, base + "?sort=carried")[0] == "Fix the LMS login"
    # Nonsense in the query string is ignored, never an error.
    assert client.get(base + "?due_within=abc&sort=drop&status=x&owner_id=y").status_code == 200


def test_overdue_is_a_word_and_carried_is_shown(client, world):
    _list_world(world)
    sign_in(client, world.viewer.email)
    html = client.get(_base(world) + "/?overdue=y").get_data(as_text=True)
    assert "Overdue</span>" in html
    assert "Carried 2×" in html
    # A done item long past its date is not overdue.
    done = client.get(_base(world) + "/?status=done").get_data(as_text=True)
    assert "Overdue</span>" not in done


def test_the_csv_export_follows_the_filters(client, world):
    _list_world(world)
    sign_in(client, world.sponsor.email)
    response = client.get(_base(world) + "/export.csv?owner_side=provider&sort=due&status=all")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(row["title"], row["overdue"]) for row in rows] == [
        ("Archive the old catalogue", "no"),
        ("Fix the LMS login", "yes"),
        ("Book the QBR venue", "no"),
    ]
    assert rows[1]["times carried"] == "2"
    assert rows[1]["owner"]


def test_the_csv_export_neutralises_formulas(client, world):
    factories.create_action(world.partnership, "=HYPERLINK(1)", due_on=_days(1))
    db.session.commit()
    sign_in(client, world.lead.email)
    body = client.get(_base(world) + "/export.csv").get_data(as_text=True)
    assert "'=HYPERLINK(1)" in body


def test_the_list_takes_a_fixed_number_of_queries(client, world):
    factories.create_action(world.partnership, "One", due_on=_days(1), owner=world.provider)
    db.session.commit()
    sign_in(client, world.lead.email)
    with counted_queries() as few:
        assert client.get(_base(world) + "/").status_code == 200
    for n in range(8):
        factories.create_action(world.partnership, f"Item {n}", due_on=_days(n), owner=world.lead)
    db.session.commit()
    with counted_queries() as many:
        assert client.get(_base(world) + "/").status_code == 200
    assert len(many) == len(few)


# ----------------------------------------------------------------------------- My actions


def test_my_actions_lists_what_i_own_across_partnerships(client, world):
    factories.add_member(world.provider, world.other, Role.PROVIDER)
    items = _list_world(world)
    elsewhere = items["elsewhere"]
    elsewhere.owner_id = world.provider.id
    elsewhere.owner_side = Side.PROVIDER
    factories.create_action(
        world.partnership, "Unassigned provider task", due_on=_days(9), side=Side.PROVIDER
    )
    factories.create_action(
        world.partnership, "Unassigned client task", due_on=_days(9), side=Side.CLIENT
    )
    db.session.commit()
    sign_in(client, world.provider.email)
    html = client.get("/my-actions").get_data(as_text=True)
    assert "Fix the LMS login" in html
    assert "Item of the other partnership" in html and "Other Programme" in html
    assert "Archive the old catalogue" not in html  # closed
    assert "Agree the survey wording" not in html  # owned by the lead
    assert "Unassigned provider task" in html
    assert "Unassigned client task" not in html
    assert "Overdue</span>" in html
    by_partnership = client.get("/my-actions?sort=partnership").get_data(as_text=True)
    assert by_partnership.index("Global Learning") < by_partnership.index("Other Programme")


def test_my_actions_for_a_lead_has_no_unowned_provider_section(client, world):
    _list_world(world)
    factories.create_action(world.partnership, "Unassigned provider task", due_on=_days(9))
    db.session.commit()
    sign_in(client, world.lead.email)
    html = client.get("/my-actions").get_data(as_text=True)
    assert "Agree the survey wording" in html
    assert "Unassigned provider task" not in html


def test_my_actions_takes_a_fixed_number_of_queries(client, world):
    factories.create_action(world.partnership, "One", due_on=_days(1), owner=world.provider)
    db.session.commit()
    sign_in(client, world.provider.email)
    with counted_queries() as few:
        assert client.get("/my-actions").status_code == 200
    factories.add_member(world.provider, world.other, Role.PROVIDER)
    for n in range(6):
        factories.create_action(
            world.partnership, f"Mine {n}", due_on=_days(n - 3), owner=world.provider
        )
        factories.create_action(world.other, f"There {n}", due_on=_days(n), owner=world.provider)
        factories.create_action(world.partnership, f"Unowned {n}", due_on=_days(n))
    db.session.commit()
    with counted_queries() as many:
        assert client.get("/my-actions").status_code == 200
    assert len(many) == len(few)


def test_my_actions_remembered_page_follows_writes_and_is_each_users_own(client, world):
    """The default view is remembered: an item assigned, closed or renamed after a first view
    shows on the next one, and another user never gets the first one's page."""
    factories.create_action(world.partnership, "First task", due_on=_days(3), owner=world.provider)
    factories.create_action(
        world.partnership, "Task of the lead", due_on=_days(3), owner=world.lead
    )
    db.session.commit()
    sign_in(client, world.provider.email)
    assert "First task" in client.get("/my-actions").get_data(as_text=True)
    second = factories.create_action(
        world.partnership, "Assigned later", due_on=_days(1), owner=world.provider
    )
    db.session.commit()
    html = client.get("/my-actions").get_data(as_text=True)
    assert "Assigned later" in html and "2 open items you own" in html
    second.status = ActionStatus.CANCELLED
    world.partnership.name = "Renamed Programme"
    db.session.commit()
    html = client.get("/my-actions").get_data(as_text=True)
    assert "Assigned later" not in html and "Renamed Programme" in html
    sign_out(client)
    sign_in(client, world.lead.email)
    html = client.get("/my-actions").get_data(as_text=True)
    assert "Task of the lead" in html and "First task" not in html


def test_the_navbar_links_to_my_actions(client, world):
    sign_in(client, world.viewer.email)
    html = client.get("/partnerships/").get_data(as_text=True)
    assert 'href="/my-actions"' in html


def _many_mine(world, n: int) -> None:
    """``n`` open items owned by the provider, "Mine 00".. due one a day from 5 days ago."""
    for i in range(n):
        factories.create_action(
            world.partnership, f"Mine {i:02d}", due_on=_days(i - 5), owner=world.provider
        )
    db.session.commit()


def test_my_actions_is_paginated_with_totals_and_group_counts(client, world):
    _many_mine(world, 30)  # 5 overdue, 8 due within 7 days (0..7), 17 later
    sign_in(client, world.provider.email)
    first = client.get("/my-actions").get_data(as_text=True)
    assert "30 open items you own" in first and "<strong>5 overdue</strong>" in first
    assert "Showing 1–25 of 30" in first
    assert "Mine 00" in first and "Mine 24" in first and "Mine 25" not in first
    for heading in ("Overdue", "Due in the next 7 days", "Later"):
        assert heading in first
    assert "(5)</span>" in first and "(8)</span>" in first and "(17)</span>" in first
    second = client.get("/my-actions?page=2").get_data(as_text=True)
    assert "Showing 26–30 of 30" in second
    assert "Mine 25" in second and "Mine 29" in second and "Mine 24" not in second
    # Only the groups present on the page get a heading, with the group's full count.
    assert "Later <span" in second and "(17)</span>" in second
    assert "Overdue <span" not in second and "Due in the next 7 days" not in second
    assert "<strong>5 overdue</strong>" in second


def test_my_actions_by_partnership_keeps_the_sort_across_pages(client, world):
    factories.add_member(world.provider, world.other, Role.PROVIDER)
    for i in range(20):
        factories.create_action(
            world.other, f"Other {i:02d}", due_on=_days(i), owner=world.provider
        )
        factories.create_action(
            world.partnership, f"Here {i:02d}", due_on=_days(i), owner=world.provider
        )
    db.session.commit()
    sign_in(client, world.provider.email)
    # "Global Learning" sorts before "Other Programme": its 20 items, then 5 of the other's.
    first = client.get("/my-actions?sort=partnership").get_data(as_text=True)
    assert "Here 19" in first and "Other 04" in first and "Other 05" not in first
    assert 'href="/my-actions?page=2&amp;sort=partnership"' in first
    second = client.get("/my-actions?sort=partnership&page=2").get_data(as_text=True)
    assert "Other 05" in second and "Other 19" in second and "Here " not in second
    assert "Showing 26–40 of 40" in second
    assert "All my open items" in second


def test_my_actions_out_of_range_pages_are_the_first_or_the_last(client, world):
    _many_mine(world, 30)
    sign_in(client, world.provider.email)
    for url, shown in (
        ("/my-actions?page=0", "Showing 1–25 of 30"),
        ("/my-actions?page=abc", "Showing 1–25 of 30"),
        ("/my-actions?page=99", "Showing 26–30 of 30"),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert shown in response.get_data(as_text=True)


def test_the_default_list_is_remembered_until_a_write_or_a_renamed_owner(client, world):
    factories.create_action(
        world.partnership, "Book the venue", due_on=_days(5), owner=world.provider
    )
    db.session.commit()
    sign_in(client, world.viewer.email)
    url = f"{_base(world)}/"
    assert "Book the venue" in client.get(url).get_data(as_text=True)
    with counted_queries() as first:
        client.get(url)
    factories.create_action(
        world.partnership, "Print the badges", due_on=_days(6), owner=world.provider
    )
    db.session.commit()
    assert "Print the badges" in client.get(url).get_data(as_text=True)
    world.provider.display_name = "Renamed Provider"
    db.session.commit()
    assert "Renamed Provider" in client.get(url).get_data(as_text=True)
    with counted_queries() as revisit:
        client.get(url)
    assert len(revisit) == len(first)
    filtered = client.get(f"{url}?status=all&sort=title").get_data(as_text=True)
    assert filtered.index("Book the venue") < filtered.index("Print the badges")


def test_my_actions_download_holds_every_page_in_the_pages_order(client, world):
    _many_mine(world, 30)
    sign_in(client, world.provider.email)
    page = client.get("/my-actions").get_data(as_text=True)
    assert 'href="/my-actions/export.csv"' in page
    response = client.get("/my-actions/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["partnership", "id", "title"]
    titles = [row[2] for row in rows[1:]]
    assert titles == [f"Mine {i:02d}" for i in range(30)]  # all 30, soonest due first
    assert [row[7] for row in rows[1:6]] == ["yes"] * 5 and rows[6][7] == "no"  # 5 overdue
    # Another user's items are not in it.
    sign_out(client)
    sign_in(client, world.lead.email)
    theirs = client.get("/my-actions/export.csv").get_data(as_text=True)
    assert "Mine 00" not in theirs
