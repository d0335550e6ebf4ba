"""A meeting's calendar invitation: the .ics parsed back with icalendar, and the invitations
e-mailed (through a real SMTP server on loopback) with the .ics attached."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest

from mls_tracker.extensions import db
from mls_tracker.models import Meeting, Sponsor
from mls_tracker.periods import Month
from mls_tracker.services import meetings
from tests.conftest import csrf_token, page_text, sign_in, text_of

TODAY = dt.date(2026, 1, 10)


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr("mls_tracker.meetings.routes.utc_today", lambda: TODAY)


def _planned(world, place="https://meet.example.com/gov") -> Meeting:
    meeting = meetings.plan_meeting(
        world.lead,
        world.partnership,
        held_on=dt.date(2026, 1, 15),
        kind="monthly",
        reviewed_month=Month(2025, 12),
        today=TODAY,
        schedule=meetings.Schedule(dt.time(9, 0), 90, place, ZoneInfo("America/New_York")),
    )
    meetings.add_item(
        world.lead, meeting, section=None, title="Renewal, pricing; and scope", detail=None
    )
    return meeting


def _url(world, meeting) -> str:
    return f"/partnerships/{world.partnership.id}/meetings/{meeting.id}"


def _event(body: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    return calendar, events[0]


def _addresses(event, name: str) -> set[str]:
    values = event.get(name)
    values = values if isinstance(values, list) else [values]
    return {str(v).removeprefix("mailto:") for v in values}


def test_the_ics_parses_back_with_every_field(client, world):
    meeting = _planned(world)
    sign_in(client, world.provider.email)
    response = client.get(f"{_url(world, meeting)}/invite.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "meeting-" in response.headers["Content-Disposition"]
    calendar, event = _event(response.data)
    assert str(calendar["METHOD"]) == "REQUEST" and str(calendar["VERSION"]) == "2.0"
    assert event.decoded("DTSTART") == dt.datetime(2026, 1, 15, 14, 0, tzinfo=dt.UTC)
    assert event.decoded("DTEND") == dt.datetime(2026, 1, 15, 15, 30, tzinfo=dt.UTC)
    assert b"DTSTART:20260115T140000Z" in response.data, "written in UTC"
    assert str(event["SUMMARY"]) == "Global Learning: Monthly meeting (reviews Dec 2025)"
    assert str(event["LOCATION"]) == "https://meet.example.com/gov"
    assert str(event["URL"]) == "https://meet.example.com/gov"
    description = str(event["DESCRIPTION"])
    assert "Renewal, pricing; and scope" in description and "Reviews Dec 2025." in description
    assert _addresses(event, "ORGANIZER") == {world.lead.email}
    sponsor_email = db.session.get(Sponsor, world.ids["sponsor_id"]).email
    attendees = _addresses(event, "ATTENDEE")
    assert {world.lead.email, world.provider.email, world.viewer.email, sponsor_email} <= attendees
    assert world.outsider.email not in attendees
    assert int(event["SEQUENCE"]) == 0
    assert str(event["UID"]).startswith(f"meeting-{meeting.id}@")


def test_the_uid_stays_and_the_sequence_grows_when_the_meeting_moves(client, world):
    meeting = _planned(world, place="Room 4.12")
    sign_in(client, world.lead.email)
    _, before = _event(client.get(f"{_url(world, meeting)}/invite.ics").data)
    assert str(before["LOCATION"]) == "Room 4.12"
    assert str(before["URL"]).endswith(_url(world, meeting)), "a room: the URL is the meeting page"
    url = f"{_url(world, meeting)}/edit"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "starts": "16 Jan 2026 10:00",
            "duration": "60",
            "place": "Room 5.01",
            "kind": "monthly",
            "reviewed_month": "2025-12",
            "version": str(meeting.version),
        },
    )
    assert response.status_code == 302
    _, after = _event(client.get(f"{_url(world, meeting)}/invite.ics").data)
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    # The lead has no time zone of their own: the app's (UTC in the tests).
    assert after.decoded("DTSTART") == dt.datetime(2026, 1, 16, 10, 0, tzinfo=dt.UTC)
    assert str(after["LOCATION"]) == "Room 5.01"


def test_a_meeting_without_a_start_time_has_no_ics_yet(client, world):
    meeting = meetings.plan_meeting(
        world.lead,
        world.partnership,
        held_on=dt.date(2026, 1, 15),
        kind="monthly",
        reviewed_month=Month(2025, 12),
        today=TODAY,
    )
    sign_in(client, world.lead.email)
    response = client.get(f"{_url(world, meeting)}/invite.ics", follow_redirects=True)
    assert "start time and length first" in page_text(response.get_data(True))
    assert "Send invitations" not in page_text(client.get(_url(world, meeting)).get_data(True))


def test_send_invitations_asks_first_then_mails_each_attendee_the_ics(client, world, mailbox):
    meeting = _planned(world)
    world.provider.time_zone = "Asia/Kolkata"
    db.session.commit()
    sign_in(client, world.lead.email)
    url = f"{_url(world, meeting)}/invitations"
    page = page_text(client.get(url).get_data(as_text=True))
    assert "Send the invitations?" in page and world.provider.email in page
    # Without the confirmation page's field nothing is sent.
    response = client.post(url, data={"csrf_token": csrf_token(client, url)})
    assert response.status_code == 200 and not mailbox
    response = client.post(
        url, data={"csrf_token": csrf_token(client, url), "confirm": "send"}, follow_redirects=True
    )
    assert "Invitations: Sent to" in page_text(response.get_data(as_text=True))
    sponsor_email = db.session.get(Sponsor, world.ids["sponsor_id"]).email
    by_address = {m["To"]: m for m in mailbox}
    assert {world.lead.email, world.provider.email, world.viewer.email, sponsor_email} <= set(
        by_address
    )
    assert len(mailbox) == len(by_address), "one invitation per person"
    message = by_address[world.provider.email]
    assert message["Subject"] == "Invitation: Global Learning: Monthly meeting (reviews Dec 2025)"
    assert "When: 15 Jan 2026 19:30–21:00 IST (90 minutes)" in text_of(message)
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    assert parts[0].get_param("method") == "REQUEST"
    assert parts[0].get_filename() == f"meeting-{meeting.id}-2026-01-15.ics"
    _, event = _event(parts[0].get_payload(decode=True))
    assert event.decoded("DTSTART") == dt.datetime(2026, 1, 15, 14, 0, tzinfo=dt.UTC)
    assert str(event["UID"]).startswith(f"meeting-{meeting.id}@")


def test_only_leads_send_invitations(client, world, mailbox):
    meeting = _planned(world)
    sign_in(client, world.provider.email)
    url = f"{_url(world, meeting)}/invitations"
    assert client.get(url).status_code == 403
    assert "Send invitations" not in page_text(client.get(_url(world, meeting)).get_data(True))
    assert not mailbox
