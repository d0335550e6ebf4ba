"""The agenda's "Sponsor comments on scorecards" section: comments on this partnership's
scorecards written (or edited) since the previous held meeting, up to this meeting's day."""

from __future__ import annotations

import datetime as dt

from mls_tracker.extensions import db
from mls_tracker.models import (
    DeliveryResult,
    Meeting,
    MeetingState,
    ScorecardDelivery,
    Side,
)
from mls_tracker.periods import Month
from mls_tracker.scorecards.snapshot import PeriodFacts
from mls_tracker.services import agenda
from tests.factories import create_meeting, create_sponsor
from tests.test_scorecard_delivery import issue_scorecard_row

PREVIOUS = dt.date(2026, 10, 14)
MEETING = dt.date(2026, 11, 18)


def _at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def _acknowledged(scorecard, sponsor, when: dt.datetime, comment: str | None):
    delivery = ScorecardDelivery(
        scorecard_id=scorecard.id,
        sponsor_id=sponsor.id if sponsor else None,
        email=sponsor.email if sponsor else "former@test.example",
        result=DeliveryResult.SENT,
        sent_at=when - dt.timedelta(days=1),
        acknowledged_at=when,
        comment=comment,
        commented_at=when if comment else None,
    )
    db.session.add(delivery)
    db.session.flush()
    return delivery


def _planned(partnership, held_on: dt.date = MEETING) -> Meeting:
    meeting = Meeting(
        partnership_id=partnership.id,
        held_on=held_on,
        reviewed_month=Month.of(held_on).previous(),
        state=MeetingState.PLANNED,
    )
    db.session.add(meeting)
    db.session.flush()
    return meeting


def _section(partnership, meeting: Meeting) -> list[agenda.AgendaEntry]:
    return [
        entry
        for entry in agenda.generate_agenda(partnership.id, meeting, MEETING)
        if entry.section == agenda.SCORECARD_COMMENTS_SECTION
    ]


def test_the_section_follows_the_sponsors():
    position = agenda.SECTION_ORDER.index(agenda.SCORECARD_COMMENTS_SECTION)
    assert agenda.SECTION_ORDER[position - 1] == agenda.SPONSORS_SECTION
    assert agenda.scorecard_comments_section in agenda.SECTIONS


def test_comments_since_the_previous_meeting_are_on_the_agenda(app, world):
    p = world.partnership
    emea, apac = sorted(p.regions, key=lambda r: r.position)
    erika = create_sponsor(p, emea, Side.CLIENT, "Erika Lindqvist")
    paul = create_sponsor(p, apac, Side.PROVIDER, "Paul Okafor")
    create_meeting(p, PREVIOUS)
    october = issue_scorecard_row(p)
    october_v2 = issue_scorecard_row(p, version=2)
    september = issue_scorecard_row(
        p,
        month=Month(2026, 9),
        period=PeriodFacts("monthly", Month(2026, 9), Month(2026, 9), "September 2026"),
    )

    _acknowledged(september, erika, _at(PREVIOUS, 9), "Too early")
    _acknowledged(september, paul, _at(PREVIOUS, 18), "On the previous meeting's day")
    kept = _acknowledged(october, erika, _at(dt.date(2026, 11, 4)), "Great progress on CSAT.")
    later = _acknowledged(october_v2, paul, _at(MEETING, 8), "LATAM sponsor: agreed")
    _acknowledged(october, paul, _at(dt.date(2026, 11, 5)), None)  # reviewed, no comment
    _acknowledged(october, paul, _at(MEETING + dt.timedelta(days=1)), "After the meeting")
    former = _acknowledged(october_v2, None, _at(dt.date(2026, 11, 6)), "From a former sponsor")
    other = issue_scorecard_row(world.other)
    _acknowledged(other, None, _at(dt.date(2026, 11, 7)), "Another partnership")
    db.session.commit()

    entries = _section(p, _planned(p))
    assert [(e.title, e.source_key) for e in entries] == [
        (
            "Erika Lindqvist (EMEA) on the October 2026 scorecard v1: “Great progress on CSAT.”",
            f"scorecard-comment:{kept.id}",
        ),
        (
            "former@test.example on the October 2026 scorecard v2: “From a former sponsor”",
            f"scorecard-comment:{former.id}",
        ),
        (
            "Paul Okafor (APAC) on the October 2026 scorecard v2: “LATAM sponsor: agreed”",
            f"scorecard-comment:{later.id}",
        ),
    ]
    assert entries[0].detail == "Reviewed on 4 Nov 2026."


def test_without_a_previous_meeting_every_comment_up_to_the_meeting_counts(app, world):
    p = world.partnership
    emea = sorted(p.regions, key=lambda r: r.position)[0]
    erika = create_sponsor(p, emea, Side.CLIENT, "Erika Lindqvist")
    scorecard = issue_scorecard_row(p)
    old = _acknowledged(scorecard, erika, _at(dt.date(2026, 1, 5)), "Long ago")
    db.session.commit()
    assert [e.source_key for e in _section(p, _planned(p))] == [f"scorecard-comment:{old.id}"]


def test_a_long_comment_is_shortened_in_the_title_and_whole_in_the_detail(app, world):
    p = world.partnership
    emea = sorted(p.regions, key=lambda r: r.position)[0]
    erika = create_sponsor(p, emea, Side.CLIENT, "Erika Lindqvist")
    comment = "word " * 300
    _acknowledged(issue_scorecard_row(p), erika, _at(dt.date(2026, 11, 2)), comment.strip())
    db.session.commit()
    (entry,) = _section(p, _planned(p))
    assert len(entry.title) <= agenda.TITLE_LENGTH
    assert entry.title.endswith("…”")
    assert comment.strip() in entry.detail


def test_a_comment_edited_after_a_meeting_is_on_the_next_agenda_again(app, world):
    p = world.partnership
    emea = sorted(p.regions, key=lambda r: r.position)[0]
    erika = create_sponsor(p, emea, Side.CLIENT, "Erika Lindqvist")
    create_meeting(p, PREVIOUS)
    scorecard = issue_scorecard_row(p)
    delivery = _acknowledged(scorecard, erika, _at(PREVIOUS - dt.timedelta(days=3)), "Fine.")
    assert _section(p, _planned(p)) == []  # discussed at the previous meeting
    delivery.comment = "On reflection: the LATAM gap needs a name by December."
    delivery.commented_at = _at(dt.date(2026, 11, 2))
    db.session.flush()
    (entry,) = _section(p, _planned(p, dt.date(2026, 11, 19)))
    assert "the LATAM gap needs a name by December" in entry.title
    assert "Reviewed on 11 Oct 2026; comment written on 2 Nov 2026." in entry.detail
