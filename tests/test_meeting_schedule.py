"""Governance meetings in the daily flow: one per kind and reviewed month (or an extra one, said
so), the schedule in the planner's time zone, approving the minutes after a confirmation (and the
summary e-mailed), forms that return to the meeting, and the filtered list with its CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import Meeting, MeetingState, Sponsor
from mls_tracker.periods import Month
from mls_tracker.services import meetings
from mls_tracker.services.errors import ValidationFailed
from tests import factories
from tests.conftest import csrf_token, page_text, sign_in, sign_out, text_of
from tests.test_agenda import create_action

TODAY = dt.date(2026, 1, 10)
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr("mls_tracker.meetings.routes.utc_today", lambda: TODAY)
    monkeypatch.setattr("mls_tracker.actions.routes.utc_today", lambda: TODAY)


ACTION_FORM = {
    "title": "Send the report",
    "owner_side": "provider",
    "due_on": "2026-01-30",
    "priority": "medium",
    "status": "open",
}


def _base(world) -> str:
    return f"/partnerships/{world.partnership.id}/meetings"


def _plan(world, held_on=dt.date(2026, 1, 15), kind="monthly", month=None, **values) -> Meeting:
    return meetings.plan_meeting(
        world.lead,
        world.partnership,
        held_on=held_on,
        kind=kind,
        reviewed_month=month or Month.of(held_on).previous(),
        today=TODAY,
        **values,
    )


def _form(**values) -> dict[str, str]:
    data = {
        "starts": "2026-01-15 09:00",
        "duration": "60",
        "place": "",
        "kind": "monthly",
        "reviewed_month": "2025-12",
    }
    data.update(values)
    return data


def _post_new(client, world, **values):
    url = f"{_base(world)}/new"
    return client.post(url, data={"csrf_token": csrf_token(client, url), **_form(**values)})


# ----------------------------------------------------------------------------- one per month


def test_a_second_meeting_for_the_same_month_is_refused_next_to_the_field(client, world):
    first = _plan(world)
    sign_in(client, world.lead.email)
    response = _post_new(client, world, starts="22 Jan 2026 09:00")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    field = html[html.index('id="reviewed_month"') :]
    assert "There is already a monthly meeting reviewing Dec 2025 (on 15 Jan 2026)" in field[:2000]
    assert "Tick “This is an extra meeting”" in html
    assert 'value="22 Jan 2026 09:00"' in html, "what was typed stays in the form"
    assert db.session.query(Meeting).count() == 1
    with pytest.raises(ValidationFailed, match="already a monthly meeting") as refused:
        _plan(world, held_on=dt.date(2026, 1, 29))
    assert refused.value.field == "reviewed_month"
    assert first.extra is False


def test_an_extra_meeting_is_accepted_when_ticked_and_shown_as_extra(client, world):
    _plan(world)
    sign_in(client, world.lead.email)
    response = _post_new(client, world, starts="2026-01-22 09:00", extra="y")
    assert response.status_code == 302
    extra = db.session.query(Meeting).filter(Meeting.held_on == dt.date(2026, 1, 22)).one()
    assert extra.extra is True
    assert "Extra meeting" in page_text(client.get(response.headers["Location"]).get_data(True))
    assert "Extra meeting" in page_text(client.get(f"{_base(world)}/").get_data(as_text=True))


def test_a_quarterly_review_of_the_same_month_is_allowed(world):
    _plan(world)
    review = _plan(world, held_on=dt.date(2026, 1, 20), kind="quarterly business review")
    assert review.extra is False and review.reviewed_month == Month(2025, 12)


def test_rescheduling_onto_a_taken_month_is_refused_but_keeping_its_own_month_is_not(world):
    _plan(world)
    other = _plan(world, held_on=dt.date(2026, 2, 10))
    with pytest.raises(ValidationFailed, match="already a monthly meeting"):
        meetings.update_meeting(
            world.lead,
            other,
            held_on=other.held_on,
            kind="monthly",
            reviewed_month=Month(2025, 12),
            expected_version=other.version,
        )
    meetings.update_meeting(
        world.lead,
        other,
        held_on=dt.date(2026, 2, 12),
        kind="monthly",
        reviewed_month=Month(2026, 1),
        expected_version=other.version,
    )
    assert other.held_on == dt.date(2026, 2, 12)


# ----------------------------------------------------------------------------- schedule


def test_a_new_york_start_is_stored_in_utc_and_shown_in_each_viewers_zone(client, world):
    world.lead.time_zone = "America/New_York"
    world.viewer.time_zone = "Europe/London"
    db.session.commit()
    sign_in(client, world.lead.email)
    form = client.get(f"{_base(world)}/new").get_data(as_text=True)
    assert "in your time zone: America/New_York" in form
    response = _post_new(client, world, place="https://meet.example.com/gov")
    assert response.status_code == 302, page_text(response.get_data(as_text=True))
    meeting = db.session.query(Meeting).one()
    assert meeting.starts_at == dt.datetime(2026, 1, 15, 14, 0, tzinfo=dt.UTC)
    assert meeting.duration_minutes == 60
    page = page_text(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "15 Jan 2026 09:00–10:00 EST (America/New_York)" in page
    edit = client.get(f"{response.headers['Location']}/edit").get_data(as_text=True)
    assert 'value="15 Jan 2026 09:00"' in edit, "the start is typed again in the planner's zone"
    sign_out(client)
    sign_in(client, world.viewer.email)
    page = page_text(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "15 Jan 2026 14:00–15:00 GMT (Europe/London)" in page


def test_a_summer_start_follows_daylight_saving(world):
    meeting = _plan(
        world,
        held_on=dt.date(2026, 7, 15),
        schedule=meetings.Schedule(dt.time(9, 0), 90, "Room 4.12", NEW_YORK),
    )
    assert meeting.starts_at == dt.datetime(2026, 7, 15, 13, 0, tzinfo=dt.UTC)
    assert meetings.when_text(meeting, NEW_YORK) == "15 Jul 2026 09:00–10:30 EDT"


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"duration": "10"}, "duration", "from 15 to 480 minutes"),
        ({"duration": "481"}, "duration", "from 15 to 480 minutes"),
        ({"starts": "15 Jan 2026 9am"}, "starts", "like 4 Dec 2026 14:30"),
        ({"starts": "01/15/2026 09:00"}, "starts", "like 4 Dec 2026 14:30"),
        ({"starts": "15 Jan 2026"}, "starts", "Add the time after the date"),
        ({"place": "ftp://files.example.com/x"}, "place", "must start with http:// or https://"),
        ({"place": "javascript://alert(1)"}, "place", "must start with http:// or https://"),
    ],
)
def test_bad_schedule_input_is_shown_next_to_its_field(client, world, values, field, message):
    sign_in(client, world.lead.email)
    html = _post_new(client, world, **values).get_data(as_text=True)
    assert message in html[html.index(f'id="{field}"') :][:1500]
    assert db.session.query(Meeting).count() == 0


def test_a_room_is_free_text_and_a_video_link_is_a_link(client, world):
    room = _plan(world, schedule=meetings.Schedule(dt.time(9), 60, "Room 4.12 <b>", dt.UTC))
    sign_in(client, world.viewer.email)
    html = client.get(f"{_base(world)}/{room.id}").get_data(as_text=True)
    assert "Room 4.12 &lt;b&gt;" in html
    video = _plan(
        world,
        held_on=dt.date(2026, 2, 5),
        schedule=meetings.Schedule(dt.time(9), 60, "https://meet.example.com/x", dt.UTC),
    )
    html = client.get(f"{_base(world)}/{video.id}").get_data(as_text=True)
    assert '<a href="https://meet.example.com/x"' in html


def test_rescheduling_bumps_the_invitation_sequence_only_when_time_or_place_move(world):
    meeting = _plan(world, schedule=meetings.Schedule(dt.time(9), 60, "Room 1", dt.UTC))
    assert meeting.ics_sequence == 0

    def update(**changes):
        values = dict(
            held_on=meeting.held_on,
            kind="monthly",
            reviewed_month=meeting.reviewed_month,
            expected_version=meeting.version,
            schedule=meetings.Schedule(dt.time(9), 60, "Room 1", dt.UTC),
        )
        values.update(changes)
        meetings.update_meeting(world.lead, meeting, **values)

    update(kind="executive steering")
    assert meeting.ics_sequence == 0
    update(schedule=meetings.Schedule(dt.time(10), 60, "Room 1", dt.UTC))
    assert meeting.ics_sequence == 1
    update(held_on=dt.date(2026, 1, 16))
    assert meeting.ics_sequence == 2


# ----------------------------------------------------------------------------- approving


def _held(world) -> Meeting:
    meeting = _plan(world)
    meetings.hold_meeting(
        world.lead,
        meeting,
        attendance={f"user-{world.lead.id}": True},
        minutes="We reviewed December.",
        successes=None,
        challenges=None,
        decisions="Move the QBR to March.",
        expected_version=meeting.version,
    )
    return meeting


def test_approving_asks_first_and_says_the_record_locks(client, world, mailbox):
    meeting = _held(world)
    sign_in(client, world.lead.email)
    show = f"{_base(world)}/{meeting.id}"
    assert "Approve the minutes…" in page_text(client.get(show).get_data(as_text=True))
    confirm = page_text(client.get(f"{show}/approve").get_data(as_text=True))
    assert "This cannot be undone." in confirm and "record locks" in confirm
    # A POST that does not come from the confirmation page approves nothing.
    response = client.post(
        f"{show}/approve",
        data={"csrf_token": csrf_token(client, show), "version": str(meeting.version)},
        follow_redirects=True,
    )
    assert "The minutes were not approved" in page_text(response.get_data(as_text=True))
    db.session.refresh(meeting)
    assert meeting.state is MeetingState.HELD and not mailbox


def test_approved_minutes_are_mailed_to_each_attendee_with_their_own_actions(
    client, world, mailbox
):
    meeting = _held(world)
    create_action(world.partnership, "Provider fixes the export", TODAY, meeting=meeting)
    mine = create_action(world.partnership, "Sponsor briefs EMEA", TODAY, meeting=meeting)
    mine.owner_id = world.sponsor.id
    db.session.commit()
    sign_in(client, world.lead.email)
    show = f"{_base(world)}/{meeting.id}"
    token = csrf_token(client, f"{show}/approve")
    response = client.post(
        f"{show}/approve",
        data={"csrf_token": token, "version": str(meeting.version), "confirm": "approve"},
        follow_redirects=True,
    )
    text = page_text(response.get_data(as_text=True))
    assert "Minutes approved" in text and "Sent to" in text
    db.session.refresh(meeting)
    assert meeting.state is MeetingState.MINUTES_APPROVED
    by_address = {m["To"]: m for m in mailbox}
    sponsor_address = db.session.get(Sponsor, world.ids["sponsor_id"]).email
    assert {world.lead.email, world.provider.email, sponsor_address} <= set(by_address)
    sponsor_mail = text_of(by_address[sponsor_address])
    assert by_address[sponsor_address]["Subject"].startswith("Approved minutes:")
    assert "We reviewed December." in sponsor_mail and "Move the QBR to March." in sponsor_mail
    assert "YOUR ACTION ITEMS (1)" in sponsor_mail and "Sponsor briefs EMEA" in sponsor_mail
    assert "Provider fixes the export" not in sponsor_mail
    lead_mail = text_of(by_address[world.lead.email])
    assert "YOUR ACTION ITEMS (0)" in lead_mail and "Sponsor briefs EMEA" not in lead_mail
    # Approved: no edits and no "Add an action".
    page = page_text(client.get(show).get_data(as_text=True))
    assert "Add an action" not in page and "Edit the record" not in page
    assert "Approve the minutes" not in page


# ----------------------------------------------------------------------------- return to


def test_add_an_action_from_a_meeting_returns_to_the_meeting(client, world):
    meeting = _plan(world)
    sign_in(client, world.lead.email)
    show = f"{_base(world)}/{meeting.id}"
    page = client.get(show).get_data(as_text=True)
    assert "next=" in page[page.index('id="add-action"') :][:400]
    url = f"/partnerships/{world.partnership.id}/actions/new?meeting_id={meeting.id}&next={show}"
    form = client.get(url).get_data(as_text=True)
    cancel = form[form.index("Cancel</a>") - 300 : form.index("Cancel</a>")]
    assert f'href="{show}"' in cancel
    response = client.post(
        url,
        data={"csrf_token": csrf_token(client, url), **ACTION_FORM},
    )
    assert response.status_code == 302 and response.headers["Location"] == show


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "/\\evil.example",
        "javascript:alert(1)",
        "/no/such/page",
    ],
)
def test_a_next_that_is_not_a_path_of_this_app_is_ignored(client, world, target):
    meeting = _plan(world)
    sign_in(client, world.lead.email)
    base = f"/partnerships/{world.partnership.id}/actions"
    url = f"{base}/new?meeting_id={meeting.id}&next={target}"
    form = client.get(url).get_data(as_text=True)
    cancel = form[form.index("Cancel</a>") - 300 : form.index("Cancel</a>")]
    assert f'href="{base}/"' in cancel, "Cancel goes to the actions list, not to the target"
    response = client.post(
        url,
        data={"csrf_token": csrf_token(client, url), **ACTION_FORM},
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"{base}/")
    assert "evil" not in response.headers["Location"]


# ----------------------------------------------------------------------------- the list


def _several(world) -> dict[str, Meeting]:
    held = factories.create_meeting(world.partnership, dt.date(2025, 11, 12))
    held.minutes = "The LMS outage was discussed."
    approved = factories.create_meeting(
        world.partnership, dt.date(2025, 12, 10), state=MeetingState.MINUTES_APPROVED
    )
    db.session.commit()
    planned = _plan(world)
    qbr = _plan(world, held_on=dt.date(2026, 1, 20), kind="quarterly business review")
    meetings.add_item(world.lead, qbr, section=None, title="Renewal of the contract", detail=None)
    return {"held": held, "approved": approved, "planned": planned, "qbr": qbr}


def test_the_list_counts_filters_searches_and_keeps_it_all_in_the_url(client, world):
    made = _several(world)
    sign_in(client, world.viewer.email)
    page = page_text(client.get(f"{_base(world)}/").get_data(as_text=True))
    assert "4 meetings, 2 planned" in page
    page = page_text(client.get(f"{_base(world)}/?state=planned").get_data(as_text=True))
    assert "2 meetings, 2 planned — matching the filters" in page
    html = client.get(f"{_base(world)}/?kind=monthly&from=2025-12&to=2026-01&sort=state").get_data(
        as_text=True
    )
    assert "2 meetings, 1 planned" in page_text(html)
    assert f"/meetings/{made['approved'].id}" in html and f"/meetings/{made['held'].id}" not in html
    # The sort links keep the filters; the CSV link keeps filters and sort.
    assert "kind=monthly" in html[html.index('id="meetings-table"') :]
    csv_link = re.search(r'<a [^>]*id="meetings-csv"[^>]*>', html).group(0)
    assert "kind=monthly" in csv_link and "sort=state" in csv_link and "from=2025-12" in csv_link
    # The months typed as the pages show them ("Dec 2025", "January 2026"), and shown so.
    typed = client.get(
        f"{_base(world)}/?kind=monthly&from=Dec+2025&to=January+2026&sort=state"
    ).get_data(as_text=True)
    assert "2 meetings, 1 planned" in page_text(typed)
    assert 'id="filter-from"' in typed and 'value="Dec 2025"' in typed
    assert 'value="Jan 2026"' in typed
    nonsense = client.get(f"{_base(world)}/?from=13/2025").get_data(as_text=True)
    assert "4 meetings, 2 planned" in page_text(nonsense)  # not a month: no filter
    # ... and it says so beside the field, with what was typed kept in it.
    assert 'value="13/2025"' in nonsense and 'aria-describedby="filter-from-error"' in nonsense
    assert (
        "From month: “13/2025” is not a month. Type it like Nov 2026; until then this filter is "
        "not applied."
    ) in page_text(nonsense)
    assert "filter-to-error" not in nonsense and "Clear filters" in nonsense
    for words, expected in (("renewal", "qbr"), ("lms OUTAGE", "held"), ("quarterly", "qbr")):
        html = client.get(f"{_base(world)}/?q={words}").get_data(as_text=True)
        assert "1 meeting, " in page_text(html), words
        assert f"/meetings/{made[expected].id}" in html, words


def test_the_csv_follows_the_filters_and_the_sort(client, world):
    made = _several(world)
    sign_in(client, world.viewer.email)
    response = client.get(f"{_base(world)}/export.csv?kind=monthly&sort=date")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Date", "Start (UTC)", "Minutes long"]
    assert [r[0] for r in rows[1:]] == ["2026-01-15", "2025-12-10", "2025-11-12"]
    assert rows[1][6] == "2025-12" and rows[1][7] == "Planned"
    response = client.get(f"{_base(world)}/export.csv?state=minutes+approved")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r[0] for r in rows[1:]] == [made["approved"].held_on.isoformat()]


# ----------------------------------------------------------------------------- migration


@pytest.mark.once  # its own SQLite database: the same in both suites
def test_the_migration_marks_duplicates_already_stored_as_extra(make_app, tmp_path):
    """Two monthly meetings reviewing the same month, stored before the rule: the upgrade keeps
    the earliest as the month's meeting and marks the later one extra, and fails on nothing."""
    from flask_migrate import upgrade

    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'meetings.db'}")
    with app.app_context():
        upgrade(revision="19e5c0de0005")
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # no partnership rows needed
            for meeting_id, held_on, kind, month in (
                (1, "2026-02-20", "monthly", "2026-01-01"),
                (2, "2026-02-09", "monthly", "2026-01-01"),
                (3, "2026-02-10", "quarterly business review", "2026-01-01"),
                (4, "2026-03-09", "monthly", "2026-02-01"),
            ):
                connection.execute(
                    sa.text(
                        "INSERT INTO meetings (id, partnership_id, held_on, kind, reviewed_month,"
                        " state, created_at, updated_at, version) VALUES (:id, 1, :held, :kind,"
                        " :month, 'held', '2026-02-01 10:00:00', '2026-02-01 10:00:00', 1)"
                    ),
                    {"id": meeting_id, "held": held_on, "kind": kind, "month": month},
                )
            connection.commit()
        upgrade(revision="20a1c0de0001")
        with db.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT id, extra FROM meetings ORDER BY id")).all()
        assert [(row[0], bool(row[1])) for row in rows] == [
            (1, True),
            (2, False),
            (3, False),
            (4, False),
        ]
        db.engine.dispose()
