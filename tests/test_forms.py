"""Forms (issue 20): dates typed as pages show them ("4 Dec 2026", also ISO), moments in the
user's time zone (daylight saving included), every error at once with a summary at the top,
and a character counter on every field with a length limit."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.validators import InputRequired, Optional

from mls_tracker.extensions import db
from mls_tracker.formatting import NoSuchDate, NotADate, day, day_time, read_day, read_day_time
from mls_tracker.formhelp import DayField, DayTimeField
from mls_tracker.models import ActionItem, AuditEntry, Meeting
from mls_tracker.periods import utc_today
from tests.conftest import csrf_token, page_text, sign_in
from tests.test_audit_log import _entry

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
DEC_4 = dt.date(2026, 12, 4)


# ----------------------------------------------------------------------------- reading a date


@pytest.mark.parametrize(
    "text",
    ["4 Dec 2026", "4 December 2026", "04 dec 2026", "4 DEC. 2026", "2026-12-04", " 4 Dec 2026 "],
)
def test_a_date_is_read_as_shown_in_words_or_as_iso(text):
    assert read_day(text) == DEC_4


def test_a_date_is_written_as_pages_show_it_and_reads_back():
    assert day(DEC_4) == "4 Dec 2026"
    assert day(dt.date(2027, 9, 30)) == "30 Sep 2027"
    assert read_day("4 Sept 2027") == dt.date(2027, 9, 4)
    assert day(None) == "—"
    for value in (dt.date(2026, 1, 1), dt.date(2028, 2, 29), dt.date(2026, 12, 31)):
        assert read_day(day(value)) == value


@pytest.mark.parametrize(
    "text", ["12/04/2026", "4/12/2026", "next Tuesday", "4 Dex 2026", "4 Dec 26", "2026-12-04 9:00"]
)
def test_text_that_is_not_one_clear_date_is_refused(text):
    with pytest.raises(NotADate):
        read_day(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("31 Feb 2026", "There is no 31 Feb 2026: February 2026 has 28 days."),
        ("2026-04-31", "There is no 31 Apr 2026: April 2026 has 30 days."),
        ("2026-13-01", "There is no month 13: months go from 1 to 12."),
        ("4 Dec 1899", "Enter a year from 1900 on, like 4 Dec 2026."),
    ],
)
def test_a_day_that_does_not_exist_says_why(text, message):
    with pytest.raises(NoSuchDate) as error:
        read_day(text)
    assert str(error.value) == message
    assert read_day("29 Feb 2028") == dt.date(2028, 2, 29), "a leap day exists"


# ----------------------------------------------------------------------------- moments in a zone


def test_a_moment_is_read_in_the_users_zone_and_stored_in_utc():
    assert read_day_time("4 Dec 2026 14:30", LONDON) == dt.datetime(
        2026, 12, 4, 14, 30, tzinfo=dt.UTC
    )
    assert read_day_time("4 Dec 2026 14:30", NEW_YORK) == dt.datetime(
        2026, 12, 4, 19, 30, tzinfo=dt.UTC
    )
    assert read_day_time("2026-07-04T09:05", NEW_YORK) == dt.datetime(
        2026, 7, 4, 13, 5, tzinfo=dt.UTC
    ), "summer: EDT is UTC−4"
    assert read_day_time("4 December 2026, 9:05", dt.UTC).hour == 9
    assert day_time(dt.datetime(2026, 7, 4, 13, 5, tzinfo=dt.UTC), NEW_YORK) == "4 Jul 2026 09:05"


def test_the_night_the_clocks_go_forward_has_no_0130_in_london():
    # 29 Mar 2026: 01:00 GMT becomes 02:00 BST.
    assert read_day_time("29 Mar 2026 00:59", LONDON) == dt.datetime(
        2026, 3, 29, 0, 59, tzinfo=dt.UTC
    )
    with pytest.raises(NoSuchDate) as error:
        read_day_time("29 Mar 2026 01:30", LONDON)
    assert str(error.value) == (
        "There is no 01:30 on 29 Mar 2026 in Europe/London: the clocks go forward that night. "
        "Did you mean 02:30?"
    )
    assert read_day_time("29 Mar 2026 02:30", LONDON) == dt.datetime(
        2026, 3, 29, 1, 30, tzinfo=dt.UTC
    )


def test_the_night_the_clocks_go_back_takes_the_first_0130():
    # 25 Oct 2026: 01:00–02:00 happens twice in London, first in BST (UTC+1).
    first = read_day_time("25 Oct 2026 01:30", LONDON)
    assert first == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)
    assert day_time(first, LONDON) == "25 Oct 2026 01:30"
    assert read_day_time("25 Oct 2026 02:30", LONDON) == dt.datetime(
        2026, 10, 25, 2, 30, tzinfo=dt.UTC
    )


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("4 Dec 2026", NoSuchDate, "Add the time after the date, like 4 Dec 2026 14:30 (24-hour)."),
        ("4 Dec 2026 25:00", NoSuchDate, "There is no 25:00: enter a time from 00:00 to 23:59"),
        ("4 Dec 2026 2pm", NotADate, None),
        ("31 Nov 2026 10:00", NoSuchDate, "November 2026 has 30 days."),
    ],
)
def test_a_moment_without_a_real_time_is_refused(text, error, message):
    with pytest.raises(error) as raised:
        read_day_time(text, LONDON)
    if message:
        assert message in str(raised.value)


# ----------------------------------------------------------------------------- the fields


class _Dates(Form):
    due = DayField("Due", validators=[InputRequired("Enter the due date.")])
    until = DayField("Until", validators=[Optional()], invalid_message="Enter the end date.")
    starts = DayTimeField("Starts", validators=[Optional()], zone=LONDON)


def _dates(**values) -> _Dates:
    form = _Dates(MultiDict(values))
    form.validate()
    return form


def test_the_date_field_reads_words_and_iso_and_shows_the_one_format():
    form = _dates(due="4 December 2026", until="2026-12-31", starts="2026-07-01T09:00")
    assert form.errors == {}
    assert form.due.data == DEC_4
    assert form.until.data == dt.date(2026, 12, 31)
    assert form.starts.data == dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC), "BST"
    assert 'value="4 Dec 2026"' in form.due()
    assert 'value="31 Dec 2026"' in form.until()
    assert 'value="1 Jul 2026 09:00"' in form.starts()
    assert 'type="text"' in form.due() and 'data-date-input="date"' in form.due()
    assert 'data-date-input="datetime"' in form.starts()
    assert form.due.hint == "e.g. 4 Dec 2026"
    assert form.starts.hint == "e.g. 4 Dec 2026 14:30 (24-hour), in your time zone: Europe/London"


def test_the_date_field_says_what_is_wrong_and_keeps_what_was_typed():
    form = _dates(due="31 Feb 2026", until="02/03/2026", starts="29 Mar 2026 01:15")
    assert form.errors == {
        "due": ["There is no 31 Feb 2026: February 2026 has 28 days."],
        "until": ["Enter the end date."],
        "starts": [
            "There is no 01:15 on 29 Mar 2026 in Europe/London: the clocks go forward that "
            "night. Did you mean 02:15?"
        ],
    }
    assert 'value="31 Feb 2026"' in form.due()
    assert 'value="02/03/2026"' in form.until()
    empty = _dates(due="", until="")
    assert empty.errors == {"due": ["Enter the due date."]}, "one message, not two"
    assert empty.until.data is None and empty.starts.data is None


# ----------------------------------------------------------------------------- pages


def _action_form(**values) -> dict:
    data = {
        "title": "Publish the Q3 completion report",
        "description": "",
        "owner_side": "provider",
        "owner_id": "0",
        "due_on": day(utc_today() + dt.timedelta(days=14)),
        "priority": "high",
        "status": "open",
        "sla_id": "0",
        "challenge_id": "0",
    }
    data.update(values)
    return data


def test_every_problem_is_shown_at_once_with_a_summary_that_links_to_each_field(client, world):
    sign_in(client, world.lead.email)
    url = f"/partnerships/{world.partnership.id}/actions/new"
    data = _action_form(title=" ", due_on="31 Feb 2026", owner_side="")
    response = client.post(url, data={**data, "csrf_token": csrf_token(client, url)})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    summary = html[html.index('id="form-errors"') :]
    summary = summary[: summary.index("</div>")]
    assert "There are 3 problems" in summary
    links = re.findall(r'<a href="#([\w-]+)">([^<]+)</a>', summary)
    assert links == [
        ("title", "Enter a title: what has to be done."),
        ("owner_side-0", "Choose the client or the provider side."),
        ("due_on", "There is no 31 Feb 2026: February 2026 has 28 days."),
    ]
    for field, message in (
        ("title", "Enter a title"),
        ("owner_side", "Choose the client or the provider side."),
        ("due_on", "February 2026 has 28 days."),
    ):
        error = html[html.index(f'id="{field}-error"') :][:300]
        assert message in error, field
    assert 'value="31 Feb 2026"' in html, "the date typed stays, to be corrected"
    assert db.session.query(ActionItem).count() == 0


def test_a_form_shows_the_date_hint_and_counts_characters_of_limited_fields(client, world):
    sign_in(client, world.lead.email)
    url = f"/partnerships/{world.partnership.id}/actions/new"
    html = client.get(url).get_data(as_text=True)
    title = re.search(r"<input[^>]*\bid=\"title\"[^>]*>", html).group(0)
    assert 'maxlength="300"' in title and "data-char-counter" in title
    due = re.search(r"<input[^>]*\bid=\"due_on\"[^>]*>", html).group(0)
    assert 'type="text"' in due and 'data-date-input="date"' in due
    assert 'aria-describedby="due_on-hint"' in due
    assert '<div class="form-text date-hint" id="due_on-hint">e.g. 4 Dec 2026</div>' in html
    assert 'type="date"' not in html
    assert "js/char-counter.js" in html and "js/forms.js" in html

    due_on = utc_today() + dt.timedelta(days=21)
    data = _action_form(due_on=f"{due_on.day} {due_on:%B %Y}")  # "27 December 2026"
    response = client.post(url, data={**data, "csrf_token": csrf_token(client, url)})
    assert response.status_code == 302, page_text(response.get_data(as_text=True))[:500]
    assert db.session.query(ActionItem).one().due_on == due_on


def test_a_meeting_start_the_clocks_skip_is_refused_next_to_the_field(client, world):
    world.lead.time_zone = "Europe/London"
    db.session.commit()
    sign_in(client, world.lead.email)
    url = f"/partnerships/{world.partnership.id}/meetings/new"
    form = client.get(url).get_data(as_text=True)
    assert "in your time zone: Europe/London" in form
    data = {
        "starts": "29 Mar 2026 01:30",
        "duration": "60",
        "kind": "monthly",
        "reviewed_month": "2026-02",
        "csrf_token": csrf_token(client, url),
    }
    html = client.post(url, data=data).get_data(as_text=True)
    error = html[html.index('id="starts-error"') :][:400]
    assert "There is no 01:30 on 29 Mar 2026 in Europe/London" in error
    assert "Did you mean 02:30?" in error
    assert db.session.query(Meeting).count() == 0
    data["starts"] = "29 Mar 2026 02:30"
    assert client.post(url, data=data).status_code == 302
    meeting = db.session.query(Meeting).one()
    assert meeting.starts_at == dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)
    assert meeting.held_on == dt.date(2026, 3, 29)


def test_the_audit_log_filter_takes_dates_as_pages_show_them(client, world):
    db.session.execute(sa.delete(AuditEntry))
    _entry(world, dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC), partnership=world.partnership)
    sign_in(client, world.admin.email)
    page = client.get("/audit?date_from=2+Jul+2026").get_data(as_text=True)
    assert "0 entries match" in page_text(page)
    assert 'value="2 Jul 2026"' in page, "the filter shows the date as pages do"
    assert "1 entry matches" in page_text(client.get("/audit?date_to=1+July+2026").get_data(True))


def test_a_meeting_with_four_problems_shows_all_four_at_once(client, world):
    sign_in(client, world.lead.email)
    url = f"/partnerships/{world.partnership.id}/meetings/new"
    data = {
        "starts": "31 Jun 2026 10:00",
        "duration": "10",
        "place": "ftp://files.example.com/minutes",
        "kind": "monthly",
        "reviewed_month": "May",
        "csrf_token": csrf_token(client, url),
    }
    html = client.post(url, data=data).get_data(as_text=True)
    assert "There are 4 problems" in html
    for field, message in (
        ("starts", "There is no 31 Jun 2026: June 2026 has 30 days."),
        ("duration", "A meeting lasts from 15 to 480 minutes (8 hours)."),
        ("place", "A video link must start with http:// or https://"),
        ("reviewed_month", "Enter the reviewed month like 2026-05."),
    ):
        assert f'<a href="#{field}">{message}' in html, field
        assert message in html[html.index(f'id="{field}-error"') :][:400], field
    assert 'value="31 Jun 2026 10:00"' in html
    assert db.session.query(Meeting).count() == 0
