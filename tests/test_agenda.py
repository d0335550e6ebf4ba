"""The agenda that writes itself: one section per source, stable source keys, and refresh."""

from __future__ import annotations

import datetime as dt

import pytest

from mls_tracker.extensions import db
from mls_tracker.models import (
    ActionItem,
    ActionStatus,
    Change,
    ChangeStatus,
    ChangeType,
    Meeting,
    MeetingState,
    Side,
    Win,
)
from mls_tracker.periods import Month
from mls_tracker.services import agenda, meetings
from mls_tracker.services.errors import ValidationFailed
from tests import factories

TODAY = dt.date(2026, 6, 15)
MAY = Month(2026, 5)


def create_action(
    partnership,
    title: str,
    due_on: dt.date,
    *,
    status: ActionStatus = ActionStatus.OPEN,
    meeting: Meeting | None = None,
    times_carried: int = 0,
    created_at: dt.datetime | None = None,
) -> ActionItem:
    action = ActionItem(
        partnership_id=partnership.id,
        meeting_id=meeting.id if meeting else None,
        title=title,
        owner_side=Side.PROVIDER,
        due_on=due_on,
        status=status,
        times_carried=times_carried,
    )
    if created_at is not None:
        action.created_at = created_at
    db.session.add(action)
    db.session.flush()
    return action


def create_change(partnership, title: str, planned_on: dt.date, status=ChangeStatus.PLANNED):
    change = Change(
        partnership_id=partnership.id,
        title=title,
        change_type=ChangeType.TECHNOLOGY,
        planned_on=planned_on,
        status=status,
    )
    db.session.add(change)
    db.session.flush()
    return change


def create_win(partnership, title: str, won_on: dt.date) -> Win:
    win = Win(partnership_id=partnership.id, title=title, won_on=won_on)
    db.session.add(win)
    db.session.flush()
    return win


def planned(partnership, held_on: dt.date = TODAY, reviewed: Month = MAY) -> Meeting:
    meeting = Meeting(
        partnership_id=partnership.id,
        held_on=held_on,
        reviewed_month=reviewed,
        state=MeetingState.PLANNED,
    )
    db.session.add(meeting)
    db.session.flush()
    return meeting


def by_key(entries) -> dict[str, agenda.AgendaEntry]:
    return {entry.source_key: entry for entry in entries}


def test_breached_at_risk_and_trending_slas_come_from_the_reviewed_month(world):
    p = world.partnership
    breached = factories.create_sla(p, None, "BR-01")
    at_risk = factories.create_sla(p, None, "AR-01")
    trending = factories.create_sla(p, None, "TR-01")
    fine = factories.create_sla(p, None, "OK-01")
    proposed_only = factories.create_sla(p, None, "PR-01")
    may = Month(2026, 5)
    factories.add_measurement(breached, may, 70, confirmed_by=world.lead)
    factories.add_measurement(at_risk, may, 87, confirmed_by=world.lead)
    for offset, value in enumerate((99, 95, 91)):  # met in May, falling 4 a month
        factories.add_measurement(trending, may.shift(offset - 2), value, confirmed_by=world.lead)
    factories.add_measurement(fine, may, 95, confirmed_by=world.lead)
    factories.add_measurement(proposed_only, may, 10)  # not confirmed: not judged
    # A breach in June does not concern a meeting reviewing May.
    factories.add_measurement(fine, Month(2026, 6), 10, confirmed_by=world.lead)

    entries = by_key(agenda.generate_agenda(p.id, planned(p), TODAY))

    assert entries[f"sla:{breached.id}"].title == "BR-01 SLA BR-01: breached in May 2026"
    assert entries[f"sla:{at_risk.id}"].title == "AR-01 SLA AR-01: at risk in May 2026"
    assert "trending to breach by Jul 2026" in entries[f"sla:{trending.id}"].title
    assert f"sla:{fine.id}" not in entries
    assert f"sla:{proposed_only.id}" not in entries
    assert {entries[k].section for k in entries if k.startswith("sla:")} == {agenda.SLA_SECTION}


def test_overdue_and_due_soon_actions_show_how_often_they_were_carried(world):
    p = world.partnership
    overdue = create_action(p, "Fix the LMS export", TODAY - dt.timedelta(days=1), times_carried=2)
    soon = create_action(p, "Send the survey", TODAY + dt.timedelta(days=14))
    later = create_action(p, "Plan next year", TODAY + dt.timedelta(days=15))
    done = create_action(p, "Done already", TODAY - dt.timedelta(days=5), status=ActionStatus.DONE)
    blocked = create_action(
        p, "Blocked one", TODAY - dt.timedelta(days=3), status=ActionStatus.BLOCKED
    )
    other = create_action(world.other, "Someone else's", TODAY - dt.timedelta(days=1))

    entries = by_key(agenda.generate_agenda(p.id, planned(p), TODAY))

    assert entries[f"action:{overdue.id}"].section == agenda.OVERDUE_SECTION
    assert "carried 2×" in entries[f"action:{overdue.id}"].detail
    assert "Due 14 Jun 2026" in entries[f"action:{overdue.id}"].detail
    assert entries[f"action:{blocked.id}"].section == agenda.OVERDUE_SECTION
    assert entries[f"action:{soon.id}"].section == agenda.DUE_SOON_SECTION
    assert "not carried over yet" in entries[f"action:{soon.id}"].detail
    for absent in (later, done, other):
        assert f"action:{absent.id}" not in entries


def test_gaps_disengaged_sponsors_and_expectations_due_for_review(world):
    p = world.partnership
    emea = next(r for r in p.regions if r.name == "EMEA")
    apac = next(r for r in p.regions if r.name == "APAC")
    erika = db.session.get(factories.Sponsor, world.ids["sponsor_id"])
    for day in (dt.date(2026, 3, 10), dt.date(2026, 4, 10), dt.date(2026, 5, 10)):
        factories.create_meeting(p, day, absent=(erika,))
    due = factories.create_expectation(p, "Reports arrive on time", revisit_by=TODAY.replace(day=1))
    not_yet = factories.create_expectation(p, "Later", revisit_by=TODAY)

    entries = by_key(agenda.generate_agenda(p.id, planned(p), TODAY))

    assert entries[f"gap:{apac.id}"].title == "Coverage gap: no client sponsor for APAC"
    assert f"gap:{emea.id}" not in entries
    assert entries[f"sponsor:{erika.id}"].title.startswith("Disengaged sponsor: Erika Sponsor")
    assert entries[f"expectation:{due.id}"].title == "Reports arrive on time"
    assert entries[f"expectation:{due.id}"].section == agenda.EXPECTATIONS_SECTION
    assert f"expectation:{not_yet.id}" not in entries


def test_changes_in_the_next_30_days_and_wins_since_the_last_meeting(world):
    p = world.partnership
    soon = create_change(p, "New LMS release", TODAY + dt.timedelta(days=30))
    too_late = create_change(p, "Far away", TODAY + dt.timedelta(days=31))
    live = create_change(p, "Already live", TODAY + dt.timedelta(days=3), ChangeStatus.LIVE)
    cancelled = create_change(p, "Dropped", TODAY + dt.timedelta(days=3), ChangeStatus.CANCELLED)
    factories.create_meeting(p, dt.date(2026, 5, 12))
    factories.create_meeting(p, dt.date(2026, 6, 20), state=MeetingState.PLANNED)
    old_win = create_win(p, "Old win", dt.date(2026, 5, 12))
    new_win = create_win(p, "Leadership cohort launched", dt.date(2026, 5, 13))

    entries = by_key(agenda.generate_agenda(p.id, planned(p), TODAY))

    assert entries[f"change:{soon.id}"].detail == "Planned for 15 Jul 2026 (planned)"
    for absent in (too_late, live, cancelled):
        assert f"change:{absent.id}" not in entries
    assert entries[f"win:{new_win.id}"].title == "Leadership cohort launched"
    assert f"win:{old_win.id}" not in entries


def test_without_a_previous_meeting_every_win_is_listed(world):
    p = world.partnership
    win = create_win(p, "First win", dt.date(2025, 2, 1))
    assert f"win:{win.id}" in by_key(agenda.generate_agenda(p.id, planned(p), TODAY))


def test_the_generator_is_one_tuple_of_section_functions():
    assert agenda.SECTIONS[0] is agenda.sla_section
    assert len(agenda.SECTIONS) == 9
    assert all(callable(section) for section in agenda.SECTIONS)


def _plan(world, today=TODAY):
    return meetings.plan_meeting(
        world.lead,
        world.partnership,
        held_on=today,
        kind="monthly",
        reviewed_month=Month.of(today).previous(),
        today=today,
    )


def test_refresh_replaces_untouched_items_and_keeps_edited_and_hand_added_ones(world):
    p = world.partnership
    first = create_action(p, "First", TODAY - dt.timedelta(days=2))
    second = create_action(p, "Second", TODAY - dt.timedelta(days=1))
    meeting = _plan(world)
    items = {item.source_key: item for item in meeting.agenda_items}
    meetings.update_item(
        world.lead,
        items[f"action:{first.id}"],
        section=agenda.OVERDUE_SECTION,
        title="First — owner to explain",
        detail=None,
    )
    meetings.add_item(world.lead, meeting, section=None, title="Any other business", detail=None)
    second.status = ActionStatus.DONE  # no longer on the agenda once refreshed
    third = create_action(p, "Third", TODAY + dt.timedelta(days=3))
    db.session.commit()

    generated, kept = meetings.refresh_agenda(world.lead, meeting, TODAY)

    titles = {item.source_key: item.title for item in meeting.agenda_items}
    assert titles[f"action:{first.id}"] == "First — owner to explain"
    assert titles[None] == "Any other business"
    assert f"action:{second.id}" not in titles
    assert titles[f"action:{third.id}"] == "Third"
    assert kept == 2 and generated == len(meeting.agenda_items) - 2
    assert [k for k in titles if k == f"action:{first.id}"] == [f"action:{first.id}"]


def test_refresh_is_refused_once_the_meeting_is_held(world):
    meeting = _plan(world)
    meetings.hold_meeting(
        world.lead,
        meeting,
        attendance={},
        minutes="m",
        successes=None,
        challenges=None,
        decisions=None,
        expected_version=meeting.version,
    )
    with pytest.raises(ValidationFailed, match="cannot be refreshed once the meeting is held"):
        meetings.refresh_agenda(world.lead, meeting, TODAY)
