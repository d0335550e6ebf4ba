"""Meetings: planning, the agenda pages, holding (attendance, challenges, carry forward) and
approving the minutes."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    Attendance,
    Challenge,
    Meeting,
    MeetingState,
    Sponsor,
)
from mls_tracker.periods import Month
from mls_tracker.services import agenda, meetings
from mls_tracker.services.errors import Conflict, PermissionDenied, ValidationFailed
from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.test_agenda import create_action

TODAY = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr("mls_tracker.meetings.routes.utc_today", lambda: TODAY)


def _base(world) -> str:
    return f"/partnerships/{world.partnership.id}/meetings"


def _plan(world, held_on=TODAY) -> Meeting:
    return meetings.plan_meeting(
        world.lead,
        world.partnership,
        held_on=held_on,
        kind="monthly",
        reviewed_month=Month.of(held_on).previous(),
        today=TODAY,
    )


def _hold(world, meeting, **values) -> int | None:
    data = dict(
        attendance={},
        minutes=None,
        successes=None,
        challenges=None,
        decisions=None,
        expected_version=meeting.version,
    )
    data.update(values)
    return meetings.hold_meeting(world.lead, meeting, **data)


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


# ----------------------------------------------------------------------------- carry forward


def test_holding_a_meeting_carries_every_older_open_action_forward(world):
    p = world.partnership
    earlier = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    open_one = create_action(p, "Open", TODAY, created_at=earlier, times_carried=1)
    blocked = create_action(p, "Blocked", TODAY, status=ActionStatus.BLOCKED, created_at=earlier)
    done = create_action(p, "Done", TODAY, status=ActionStatus.DONE, created_at=earlier)
    cancelled = create_action(
        p, "Cancelled", TODAY, status=ActionStatus.CANCELLED, created_at=earlier
    )
    same_day = create_action(
        p, "Created on the day", TODAY, created_at=dt.datetime(2026, 6, 15, 9, tzinfo=dt.UTC)
    )
    other = create_action(world.other, "Elsewhere", TODAY, created_at=earlier)
    meeting = _plan(world)
    own = create_action(p, "Of this meeting", TODAY, meeting=meeting, created_at=earlier)
    db.session.commit()

    carried = _hold(world, meeting)

    assert carried == 2
    counts = {a.title: a.times_carried for a in db.session.scalars(sa.select(ActionItem))}
    assert counts == {
        "Open": 2,
        "Blocked": 1,
        "Done": 0,
        "Cancelled": 0,
        "Created on the day": 0,
        "Elsewhere": 0,
        "Of this meeting": 0,
    }
    del open_one, blocked, done, cancelled, same_day, other, own

    # Saving the record again while held does not carry anything a second time.
    assert _hold(world, meeting, minutes="Corrected") is None
    assert (
        db.session.scalar(sa.select(ActionItem.times_carried).where(ActionItem.title == "Open"))
        == 2
    )


def test_the_next_agenda_shows_the_carried_item(world):
    p = world.partnership
    action = create_action(
        p,
        "Fix the LMS export",
        dt.date(2026, 6, 30),
        created_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
    )
    _hold(world, _plan(world))
    nxt = meetings.plan_meeting(
        world.lead,
        p,
        held_on=dt.date(2026, 7, 15),
        kind="monthly",
        reviewed_month=Month(2026, 6),
        today=dt.date(2026, 7, 10),
    )
    item = next(i for i in nxt.agenda_items if i.source_key == f"action:{action.id}")
    assert item.section == agenda.OVERDUE_SECTION
    assert "carried 1×" in item.detail


# ----------------------------------------------------------------------------- service rules


def test_a_reviewed_month_after_the_meeting_month_is_refused(world):
    with pytest.raises(ValidationFailed) as error:
        meetings.plan_meeting(
            world.lead,
            world.partnership,
            held_on=TODAY,
            kind="monthly",
            reviewed_month=Month(2026, 7),
            today=TODAY,
        )
    assert error.value.field == "reviewed_month"
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0


def test_only_leads_write(world):
    with pytest.raises(PermissionDenied):
        meetings.plan_meeting(
            world.provider,
            world.partnership,
            held_on=TODAY,
            kind="monthly",
            reviewed_month=Month(2026, 5),
            today=TODAY,
        )


def test_approving_needs_a_held_meeting_and_sets_who_and_when(world):
    meeting = _plan(world)
    with pytest.raises(ValidationFailed, match="held meeting"):
        meetings.approve_minutes(world.lead, meeting, expected_version=meeting.version)
    assert meeting.state is MeetingState.PLANNED and meeting.approved_at is None
    _hold(world, meeting)
    meetings.approve_minutes(world.lead, meeting, expected_version=meeting.version)
    assert meeting.state is MeetingState.MINUTES_APPROVED
    assert meeting.approved_by_id == world.lead.id and meeting.approved_at is not None
    with pytest.raises(ValidationFailed, match="approved"):
        _hold(world, meeting, minutes="Change after approval")


def test_a_stale_version_is_a_conflict(world):
    meeting = _plan(world)
    with pytest.raises(Conflict):
        meetings.update_meeting(
            world.lead,
            meeting,
            held_on=TODAY,
            kind="monthly",
            reviewed_month=Month(2026, 5),
            expected_version=meeting.version - 1,
        )


def test_moving_items_within_a_section(world):
    meeting = _plan(world)
    first = meetings.add_item(world.lead, meeting, section=None, title="One", detail=None)
    second = meetings.add_item(world.lead, meeting, section=None, title="Two", detail=None)
    assert meetings.move_item(world.lead, second, "up")
    other = [i for i in meeting.agenda_items if i.section == agenda.OTHER_SECTION]
    assert [i.title for i in sorted(other, key=lambda i: i.position)] == ["Two", "One"]
    assert not meetings.move_item(world.lead, second, "up")  # already first
    del first


# ----------------------------------------------------------------------------- pages


def test_plan_a_meeting_page_and_see_the_overdue_item(client, world):
    create_action(world.partnership, "Fix the LMS export", TODAY - dt.timedelta(days=3))
    db.session.commit()
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/new"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "starts": "15 Jun 2026 10:00",
            "duration": "60",
            "kind": "monthly",
            "reviewed_month": "2026-05",
        },
        follow_redirects=True,
    )
    text = _text(response)
    assert "Meeting planned" in text
    assert "Overdue actions" in text
    assert re.search(r"Overdue Fix the LMS export", text)
    assert "Monthly meeting, 15 Jun 2026" in text


@pytest.mark.parametrize(
    ("held_on", "month", "message"),
    [
        ("15/06/2026", "2026-05", "Enter the meeting&#39;s date and start time, like 4 Dec 2026"),
        ("31 Jun 2026", "2026-05", "There is no 31 Jun 2026: June 2026 has 30 days."),
        ("2026-06-15", "2026-07", "The reviewed month cannot be after the meeting&#39;s month"),
        ("2026-06-15", "May", "Enter the reviewed month like 2026-05."),
    ],
)
def test_bad_meeting_input_is_shown_next_to_the_field(client, world, held_on, month, message):
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/new"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "starts": f"{held_on} 10:00",
            "duration": "60",
            "kind": "monthly",
            "reviewed_month": month,
        },
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0


def test_index_highlights_the_next_meeting(client, world):
    factories.create_meeting(world.partnership, dt.date(2026, 5, 12))
    later = _plan(world, dt.date(2026, 7, 15))
    nxt = _plan(world, dt.date(2026, 6, 20))
    sign_in(client, world.viewer.email)
    html = client.get(f"{_base(world)}/").get_data(as_text=True)
    block = html.split('id="next-meeting"')[1].split("</tr>")[0]
    assert f"/meetings/{nxt.id}" in block and "Next meeting" in block
    assert f"/meetings/{later.id}" in html
    assert "Held" in html


def test_agenda_items_can_be_added_edited_and_removed(client, world):
    meeting = _plan(world)
    sign_in(client, world.lead.email)
    new_url = f"{_base(world)}/{meeting.id}/agenda/new"
    response = client.post(
        new_url,
        data={
            "csrf_token": csrf_token(client, new_url),
            "section": "Other business",
            "title": "  ",
        },
    )
    assert "Enter the agenda item&#39;s title." in response.get_data(as_text=True)
    hand_added = sa.select(AgendaItem).where(AgendaItem.source_key.is_(None))
    assert db.session.scalars(hand_added).all() == []
    client.post(
        new_url,
        data={
            "csrf_token": csrf_token(client, new_url),
            "section": "Other business",
            "title": "Budget for 2027",
        },
    )
    item = db.session.scalars(hand_added).one()
    edit_url = f"{_base(world)}/{meeting.id}/agenda/{item.id}/edit"
    client.post(
        edit_url,
        data={
            "csrf_token": csrf_token(client, edit_url),
            "section": "Other business",
            "title": "Budget for 2027 and 2028",
            "detail": "Finance joins",
        },
    )
    db.session.refresh(item)
    assert item.title == "Budget for 2027 and 2028" and item.edited
    show = f"{_base(world)}/{meeting.id}"
    response = client.post(
        f"{show}/agenda/{item.id}/delete",
        data={"csrf_token": csrf_token(client, show), "confirm": "yes"},
        follow_redirects=True,
    )
    assert "removed from the agenda" in _text(response)
    assert db.session.scalars(hand_added).all() == []


def test_hold_records_attendance_minutes_and_challenges(client, world):
    meeting = _plan(world)
    erika = db.session.get(Sponsor, world.ids["sponsor_id"])
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/{meeting.id}/hold"
    form = client.get(url).get_data(as_text=True)
    assert "Erika Sponsor" in form and "Record as held" in form
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "version": str(meeting.version),
            f"present-user-{world.lead.id}": "y",
            f"present-sponsor-{erika.id}": "y",
            "minutes": "We reviewed May.",
            "successes": "Completion up",
            "challenges": "Slow LMS\n\n  Budget freeze  \n",
            "decisions": "Escalate the LMS",
        },
        follow_redirects=True,
    )
    assert "Meeting recorded as held" in _text(response)
    db.session.refresh(meeting)
    assert meeting.state is MeetingState.HELD
    assert meeting.minutes == "We reviewed May."
    rows = db.session.scalars(sa.select(Attendance).where(Attendance.meeting_id == meeting.id))
    present = {(a.user_id, a.sponsor_id): a.present for a in rows}
    assert present[(world.lead.id, None)] is True
    assert present[(None, erika.id)] is True
    assert present[(world.provider.id, None)] is False
    # The sponsor member signs in as Erika: listed once, as the sponsor.
    assert (world.sponsor.id, None) not in present
    assert len(present) == 4
    titles = db.session.scalars(
        sa.select(Challenge.title).where(Challenge.meeting_id == meeting.id).order_by(Challenge.id)
    ).all()
    assert titles == ["Slow LMS", "Budget freeze"]
    text = _text(client.get(f"{_base(world)}/{meeting.id}"))
    assert "Slow LMS" in text and "Present" in text and "Absent" in text


def test_hold_with_a_stale_version_says_so_and_saves_nothing(client, world):
    meeting = _plan(world)
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/{meeting.id}/hold"
    response = client.post(
        url,
        data={"csrf_token": csrf_token(client, url), "version": "0", "minutes": "Mine"},
    )
    assert "Someone else changed this meeting" in response.get_data(as_text=True)
    db.session.refresh(meeting)
    assert meeting.state is MeetingState.PLANNED and meeting.minutes is None


def test_refresh_page_is_refused_once_held(client, world):
    meeting = _plan(world)
    _hold(world, meeting)
    sign_in(client, world.lead.email)
    show = f"{_base(world)}/{meeting.id}"
    response = client.post(
        f"{show}/agenda/refresh",
        data={"csrf_token": csrf_token(client, show)},
        follow_redirects=True,
    )
    assert "cannot be refreshed once the meeting is held" in _text(response)


def test_approving_a_planned_meeting_is_refused_with_a_message(client, world):
    meeting = _plan(world)
    sign_in(client, world.lead.email)
    show = f"{_base(world)}/{meeting.id}"
    response = client.post(
        f"{show}/approve",
        data={"csrf_token": csrf_token(client, show), "version": str(meeting.version)},
        follow_redirects=True,
    )
    assert "Only the minutes of a held meeting can be approved" in _text(response)
    db.session.refresh(meeting)
    assert meeting.state is MeetingState.PLANNED


def test_approved_minutes_are_read_only_but_their_actions_stay_alive(client, world):
    meeting = _plan(world)
    action = create_action(world.partnership, "Follow up", TODAY, meeting=meeting)
    item = meetings.add_item(world.lead, meeting, section=None, title="AOB", detail=None)
    _hold(world, meeting, minutes="Done")
    sign_in(client, world.lead.email)
    show = f"{_base(world)}/{meeting.id}"
    response = client.post(
        f"{show}/approve",
        data={
            "csrf_token": csrf_token(client, show),
            "version": str(meeting.version),
            "confirm": "approve",
        },
        follow_redirects=True,
    )
    assert "Minutes approved" in _text(response)
    for url in (f"{show}/hold", f"{show}/agenda/new", f"{show}/agenda/{item.id}/edit"):
        response = client.get(url, follow_redirects=True)
        assert "minutes of this meeting are approved" in _text(response), url
    assert "Hold the meeting" not in _text(client.get(show))
    # Its action items can still be worked on.
    action.status = ActionStatus.DONE
    db.session.commit()
    assert "Follow up" in _text(client.get(show))


def test_readers_see_the_meeting_without_edit_buttons(client, world):
    meeting = _plan(world)
    meetings.add_item(world.lead, meeting, section=None, title="AOB", detail=None)
    sign_in(client, world.provider.email)
    text = _text(client.get(f"{_base(world)}/{meeting.id}"))
    assert "AOB" in text
    assert "Refresh from the data" not in text and "Hold the meeting" not in text
    assert "Remove" not in text


def test_reschedule_a_planned_meeting_with_optimistic_locking(client, world):
    meeting = _plan(world)
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/{meeting.id}/edit"
    token = csrf_token(client, url)
    stale = str(meeting.version)
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "starts": "2026-06-22 10:00",
            "duration": "60",
            "kind": "quarterly business review",
            "reviewed_month": "2026-05",
            "version": stale,
        },
        follow_redirects=True,
    )
    assert "Meeting saved" in _text(response)
    db.session.refresh(meeting)
    assert meeting.held_on == dt.date(2026, 6, 22)
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "starts": "2026-06-29 10:00",
            "duration": "60",
            "kind": "monthly",
            "reviewed_month": "2026-05",
            "version": stale,
        },
    )
    assert "Someone else changed this meeting" in response.get_data(as_text=True)
    db.session.refresh(meeting)
    assert meeting.held_on == dt.date(2026, 6, 22)
    _hold(world, meeting)
    response = client.get(url, follow_redirects=True)
    assert "Only a planned meeting can be rescheduled" in _text(response)


def test_move_buttons_reorder_the_agenda_and_the_page_links_to_new_actions(client, world):
    meeting = _plan(world)
    meetings.add_item(world.lead, meeting, section=None, title="Alpha item", detail=None)
    second = meetings.add_item(world.lead, meeting, section=None, title="Beta item", detail=None)
    sign_in(client, world.lead.email)
    show = f"{_base(world)}/{meeting.id}"
    client.post(
        f"{show}/agenda/{second.id}/move",
        data={"csrf_token": csrf_token(client, show), "direction": "up"},
    )
    html = client.get(show).get_data(as_text=True)
    assert html.index("Beta item") < html.index("Alpha item")
    assert f"/actions/new?meeting_id={meeting.id}" in html
