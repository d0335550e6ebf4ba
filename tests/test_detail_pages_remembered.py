"""Detail pages whose body is remembered per data version, day and viewer rights
(page_parts.default_view, or data_version.remembered beside live forms): an SLA's, a change's,
an expectation's, a win's, an action item's and a meeting's page, and a month's actuals (forms
remembered without the session's CSRF token, page_parts.tokenless). A revisit reads the version
and nothing of the body, every audited write shows at once, each viewer sees the buttons and
forms of their own rights and no other session's token, a form of a remembered page posts, and
the queries of the first view and the revisit do not grow with the data."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from mls_tracker.extensions import db
from mls_tracker.models import (
    ActionUpdate,
    AgendaItem,
    Change,
    ChangeStatus,
    ChangeType,
    Win,
    utcnow,
)
from mls_tracker.periods import Month
from tests import factories
from tests.conftest import page_text, sign_in
from tests.test_page_parts import first_view_and_revisit

_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def pages_of(client, url: str, users) -> Iterator[str]:
    """The page at ``url`` as each of ``users`` sees it, each signed in with a session of their
    own: no page holds another session's CSRF token (nothing remembered carries one)."""
    seen: set[str] = set()
    for user in users:
        other = client.application.test_client()
        sign_in(other, user.email)
        html = other.get(url).get_data(as_text=True)
        tokens = set(_TOKEN.findall(html))
        assert tokens and not tokens & seen, user.email
        seen |= tokens
        yield html


def _text(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return page_text(response.get_data(as_text=True))


def _sla_url(world, sla) -> str:
    return f"/partnerships/{world.partnership.id}/slas/{sla.id}"


def test_an_slas_page_shows_each_write_on_the_revisit(client, world):
    sla = factories.create_sla(world.partnership, None, "REV-01")
    db.session.commit()
    sign_in(client, world.lead.email)
    url = _sla_url(world, sla)
    before = _text(client, url)
    factories.add_measurement(
        sla, Month.current().previous(), 77.5, entered_by=world.provider, confirmed_by=world.lead
    )
    db.session.commit()
    after = _text(client, url)
    assert "77.5" not in before and "77.5" in after and "confirmed by Lead" in after
    sla.name = "Renamed service level"
    db.session.commit()
    assert "Renamed service level" in _text(client, url)
    world.provider.display_name = "Pat Provider"  # reference data: a person's name
    db.session.commit()
    assert "Pat Provider" in _text(client, url)


def test_an_slas_page_shows_each_viewer_their_own_buttons(client, world):
    sla = factories.create_sla(world.partnership, None, "REV-02")
    db.session.commit()
    url = _sla_url(world, sla)
    cases = ((world.lead, True), (world.viewer, False), (world.lead, True))
    pages = pages_of(client, url, [case[0] for case in cases])
    for (who, manages), html in zip(cases, pages, strict=True):
        assert "SLA REV-02" in html
        assert ("Change target" in html) is manages, who.email
        assert ('id="history-link"' in html) is manages, who.email


def test_an_slas_page_queries_do_not_grow_with_its_months(client, world):
    sla = factories.create_sla(world.partnership, None, "REV-03", since=Month(2024, 1))
    db.session.commit()
    sign_in(client, world.lead.email)
    url = _sla_url(world, sla)
    client.get(url)
    factories.add_measurement(sla, Month.current().previous(), 95, confirmed_by=world.lead)
    db.session.commit()
    few = first_view_and_revisit(client, url)
    for back in range(2, 24):
        factories.add_measurement(
            sla, Month.current().shift(-back), 80 + back % 10, confirmed_by=world.lead
        )
    db.session.commit()
    many = first_view_and_revisit(client, url)
    assert many == few
    assert few[1] < few[0]


def _change(world, title: str) -> Change:
    change = Change(
        partnership_id=world.partnership.id,
        title=title,
        change_type=ChangeType.TECHNOLOGY,
        status=ChangeStatus.PLANNED,
        created_by_id=world.lead.id,
    )
    db.session.add(change)
    db.session.commit()
    return change


def test_a_changes_page_shows_each_write_and_each_viewers_own_buttons(client, world):
    change = _change(world, "Move to the new LMS")
    url = f"/partnerships/{world.partnership.id}/changes/{change.id}"
    sign_in(client, world.lead.email)
    assert "Move to the new LMS" in _text(client, url)
    change.title = "Move to the newer LMS"
    change.status = ChangeStatus.LIVE
    db.session.commit()
    page = _text(client, url)
    assert "Move to the newer LMS" in page and "Live" in page
    cases = ((world.lead, True), (world.sponsor, False), (world.lead, True))
    pages = pages_of(client, url, [case[0] for case in cases])
    for (who, manages), html in zip(cases, pages, strict=True):
        assert "Move to the newer LMS" in html
        assert ("/delete" in html) is manages, who.email


def test_a_changes_page_reads_only_the_version_on_a_revisit(client, world):
    change = _change(world, "Counted")
    url = f"/partnerships/{world.partnership.id}/changes/{change.id}"
    sign_in(client, world.lead.email)
    client.get(url)
    change.description = "Written"
    db.session.commit()
    few = first_view_and_revisit(client, url)
    for n in range(12):
        _change(world, f"Other change {n}")
    change.description = "Written again"
    db.session.commit()
    many = first_view_and_revisit(client, url)
    assert many == few
    assert few[1] < few[0]


def test_an_expectations_page_shows_each_write_and_each_viewers_own_buttons(client, world):
    expectation = factories.create_expectation(world.partnership, "Courses start on time")
    db.session.commit()
    url = f"/partnerships/{world.partnership.id}/expectations/{expectation.id}"
    sign_in(client, world.lead.email)
    assert "Courses start on time" in _text(client, url)
    expectation.statement = "Courses start within a week of the request"
    db.session.commit()
    first, revisit = first_view_and_revisit(client, url)
    assert revisit < first
    assert "Courses start within a week of the request" in _text(client, url)
    cases = ((world.lead, True), (world.viewer, False), (world.lead, True))
    pages = pages_of(client, url, [case[0] for case in cases])
    for (who, manages), html in zip(cases, pages, strict=True):
        assert "Courses start within a week" in html
        assert ("Mark revisited" in html) is manages, who.email


def test_a_wins_page_shows_each_write_and_each_viewers_own_buttons(client, world):
    win = Win(partnership_id=world.partnership.id, title="Award", won_on=dt.date(2026, 3, 1))
    db.session.add(win)
    db.session.commit()
    url = f"/partnerships/{world.partnership.id}/wins/{win.id}"
    sign_in(client, world.lead.email)
    assert "Award" in _text(client, url)
    win.title = "Learning award of the year"
    win.measurable_impact = "Completion up 12 points"
    db.session.commit()
    first, revisit = first_view_and_revisit(client, url)
    assert revisit < first
    page = _text(client, url)
    assert "Learning award of the year" in page and "Completion up 12 points" in page
    world.lead.display_name = "Lee Lead"  # reference data: who logged it
    win.created_by_id = world.lead.id
    db.session.commit()
    assert "Lee Lead" in _text(client, url)
    cases = ((world.lead, True), (world.viewer, False), (world.lead, True))
    pages = pages_of(client, url, [case[0] for case in cases])
    for (who, manages), html in zip(cases, pages, strict=True):
        assert "Learning award of the year" in html
        assert ("/delete" in html) is manages, who.email


def test_an_action_items_page_shows_each_update_and_each_viewers_own_forms(client, world):
    item = factories.create_action(world.partnership, "Send the report", due_on=dt.date(2099, 1, 1))
    db.session.commit()
    url = f"/partnerships/{world.partnership.id}/actions/{item.id}"
    sign_in(client, world.provider.email)
    assert "No update yet." in _text(client, url)
    html = client.get(url).get_data(as_text=True)
    response = client.post(
        f"{url}/update",
        data={
            "csrf_token": _TOKEN.search(html).group(1),
            "status": "done",
            "note": "Sent on Friday.",
            "evidence_url": "",
            "version": "1",
        },
    )
    assert response.status_code == 302
    page = _text(client, url)
    assert "Sent on Friday." in page and "No update yet." not in page
    cases = (
        (world.lead, True, True),
        (world.sponsor, False, False),
        (world.provider, False, True),
        (world.lead, True, True),
    )
    pages = pages_of(client, url, [case[0] for case in cases])
    for (who, manages, updates), html in zip(cases, pages, strict=True):
        assert "Sent on Friday." in html
        assert ('id="verify-link"' in html) is manages, who.email
        assert ('id="history-link"' in html) is manages, who.email
        assert ('id="update-form"' in html) is updates, who.email


def test_an_action_items_page_reads_only_the_version_on_a_revisit(client, world):
    item = factories.create_action(world.partnership, "Counted", due_on=dt.date(2099, 1, 1))
    db.session.commit()
    url = f"/partnerships/{world.partnership.id}/actions/{item.id}"
    sign_in(client, world.lead.email)
    client.get(url)
    item.title = "Counted once"
    db.session.commit()
    few = first_view_and_revisit(client, url)
    for n in range(12):
        db.session.add(
            ActionUpdate(action_item_id=item.id, author_id=world.lead.id, text=f"Note {n}")
        )
    item.title = "Counted again"
    db.session.commit()
    many = first_view_and_revisit(client, url)
    assert "Note 11" in _text(client, url)
    assert many == few
    assert few[1] < few[0]


def test_a_meetings_remembered_forms_carry_each_sessions_own_token(client, world):
    meeting = factories.create_meeting(world.partnership, dt.date(2026, 3, 4))
    # An agenda item: its move and remove buttons are the page's forms.
    meeting.agenda_items.append(AgendaItem(position=0, section="Other business", title="AOB"))
    db.session.commit()
    url = f"/partnerships/{world.partnership.id}/meetings/{meeting.id}"
    cases = ((world.lead, True), (world.sponsor, False), (world.lead, True))
    pages = pages_of(client, url, [case[0] for case in cases])
    for (who, manages), html in zip(cases, pages, strict=True):
        assert ('id="approve-button"' in html) is manages, who.email
    sign_in(client, world.lead.email)
    client.get(url)
    html = client.get(url).get_data(as_text=True)  # as remembered by the first lead's view
    # Approving is confirmed on its own page; the remembered page's token serves this session.
    response = client.post(
        f"{url}/approve",
        data={
            "csrf_token": _TOKEN.search(html).group(1),
            "version": str(meeting.version),
            "confirm": "approve",
        },
    )
    assert response.status_code == 302
    page = _text(client, url)
    assert "Minutes approved on" in page and "read-only" in page


def test_a_meetings_page_reads_only_the_version_on_a_revisit(client, world):
    meeting = factories.create_meeting(world.partnership, dt.date(2026, 3, 4))
    db.session.commit()
    url = f"/partnerships/{world.partnership.id}/meetings/{meeting.id}"
    sign_in(client, world.lead.email)
    client.get(url)
    meeting.decisions = "Keep going"
    db.session.commit()
    few = first_view_and_revisit(client, url)
    for n in range(8):
        factories.create_action(
            world.partnership, f"Follow-up {n}", due_on=dt.date(2026, 4, 1), meeting=meeting
        )
    meeting.decisions = "Keep going, with eight follow-ups"
    db.session.commit()
    many = first_view_and_revisit(client, url)
    assert "Follow-up 7" in _text(client, url)
    assert many == few
    assert few[1] < few[0]


def test_a_months_actuals_form_remembered_posts_and_shows_each_save(client, world):
    sla_id = world.ids["sla_id"]
    url = f"/partnerships/{world.partnership.id}/slas/actuals/2025-08"
    cases = ((world.lead, True), (world.provider, False), (world.lead, True))
    pages = pages_of(client, url, [case[0] for case in cases])
    for (who, manages), html in zip(cases, pages, strict=True):
        assert f'name="value-{sla_id}"' in html
        assert ("Your entries are <strong>confirmed</strong>" in html) is manages, who.email
    sign_in(client, world.lead.email)
    html = client.get(url).get_data(as_text=True)  # as remembered by another session's view
    response = client.post(
        url,
        data={
            "csrf_token": _TOKEN.search(html).group(1),
            f"value-{sla_id}": "93.5",
            f"note-{sla_id}": "From the LMS",
            f"version-{sla_id}": "0",
        },
    )
    assert response.status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert f'name="value-{sla_id}" value="93.5"' in html and "From the LMS" in html


def test_a_months_actuals_read_only_the_version_on_a_revisit(client, world):
    url = f"/partnerships/{world.partnership.id}/slas/actuals/2025-08"
    sign_in(client, world.lead.email)
    client.get(url)
    factories.create_sla(world.partnership, None, "FIRST-01")
    db.session.commit()
    few = first_view_and_revisit(client, url)
    for n in range(10):
        factories.create_sla(world.partnership, None, f"MORE-{n:02d}")
    db.session.commit()
    many = first_view_and_revisit(client, url)
    assert "MORE-09" in _text(client, url)
    assert many == few
    assert few[1] < few[0]


def test_remembered_tabs_offer_reopen_to_an_administrator_only(client, world):
    meeting = factories.create_meeting(world.partnership, dt.date(2026, 3, 4))
    world.partnership.archived_at = utcnow()
    db.session.commit()
    base = f"/partnerships/{world.partnership.id}"
    reopen = f'href="{base}/reopen"'
    for url in (f"{base}/meetings/{meeting.id}", f"{base}/satisfaction/"):
        cases = ((world.lead, False), (world.admin, True), (world.lead, False))
        pages = pages_of(client, url, [case[0] for case in cases])
        for (who, offered), html in zip(cases, pages, strict=True):
            assert "This partnership is closed" in page_text(html)
            assert (reopen in html) is offered, (url, who.email)
