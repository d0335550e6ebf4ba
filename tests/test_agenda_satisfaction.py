"""The agenda's satisfaction section: changes outside the noise band, overall and by region,
with stable source keys; a low-sample note; nothing when the change is within the band."""

from __future__ import annotations

import datetime as dt

from mls_tracker.extensions import db
from mls_tracker.models import Meeting, MeetingState
from mls_tracker.periods import Month
from mls_tracker.services import agenda
from tests.test_satisfaction_figures import add_responses

TODAY = dt.date(2026, 6, 15)
APR, MAY = Month(2026, 4), Month(2026, 5)


def _meeting(partnership) -> Meeting:
    meeting = Meeting(
        partnership_id=partnership.id,
        held_on=TODAY,
        reviewed_month=MAY,
        state=MeetingState.PLANNED,
    )
    db.session.add(meeting)
    db.session.flush()
    return meeting


def _entries(world):
    return [
        entry
        for entry in agenda.generate_agenda(
            world.partnership.id, _meeting(world.partnership), TODAY
        )
        if entry.section == agenda.SATISFACTION_SECTION
    ]


def test_the_section_comes_right_after_the_slas():
    assert agenda.SECTION_ORDER.index(agenda.SATISFACTION_SECTION) == 1
    assert agenda.SECTIONS[1] is agenda.satisfaction_section


def test_a_fall_outside_the_noise_band_is_on_the_agenda(app, world):
    emea = next(r for r in world.partnership.regions if r.name == "EMEA")
    # Apr 86/100 satisfied, May 67/95 ≈ 70.5%: threshold 1.96·√(.86·.14/100 + .705·.295/95)
    # = 0.116; |Δ| = 0.155 → outside, overall and (same responses) for EMEA.
    add_responses(world.partnership, APR, [5] * 86 + [2] * 14, region=emea)
    add_responses(world.partnership, MAY, [5] * 67 + [2] * 28, region=emea)
    entries = {entry.source_key: entry for entry in _entries(world)}
    assert set(entries) == {"satisfaction:csat:all", f"satisfaction:csat:region:{emea.id}"}
    overall = entries["satisfaction:csat:all"]
    assert overall.title == "CSAT fell from 86% to 71% (n 100 → 95)"
    assert "outside the noise band" in overall.detail
    assert entries[f"satisfaction:csat:region:{emea.id}"].title.startswith("EMEA: CSAT fell")


def test_a_change_within_the_band_is_not(app, world):
    add_responses(world.partnership, APR, [5] * 86 + [2] * 14)
    add_responses(world.partnership, MAY, [5] * 80 + [2] * 20)
    assert _entries(world) == []


def test_an_nps_rise(app, world):
    add_responses(world.partnership, APR, recommends=[10] * 10 + [0] * 10)
    add_responses(world.partnership, MAY, recommends=[10] * 20)
    (entry,) = _entries(world)
    assert entry.source_key == "satisfaction:nps:all"
    assert entry.title == "NPS rose from +0 to +100 (n 20 → 20)"


def test_a_low_sample_month_gets_a_note(app, world):
    add_responses(world.partnership, APR, [5] * 40)
    add_responses(world.partnership, MAY, [1] * 6)
    (entry,) = _entries(world)
    assert entry.source_key == "satisfaction:low-sample"
    assert entry.title == "Low sample in May 2026: n 6 — not to be read as a trend"


def test_no_survey_data_no_entries(app, world):
    assert _entries(world) == []
