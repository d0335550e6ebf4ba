"""The cover's story drafted from the figures: key messages, the health line, the look-ahead
(pure functions, hand-built snapshots; no database)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from mls_tracker.periods import Month
from mls_tracker.scorecards.snapshot import (
    CoverStory,
    HealthFacts,
    LookAheadItem,
    ScorecardData,
    Tile,
    TrendToBreach,
    dump,
    load,
)
from mls_tracker.scorecards.story import (
    MESSAGE_MAX_CHARS,
    UpcomingChange,
    UpcomingExpectation,
    draft_key_messages,
    health_line,
    look_ahead,
)
from tests.scorecard_samples import empty_data, sample_data

WEIGHTS = (
    ("SLA attainment", 40.0),
    ("Learner satisfaction", 25.0),
    ("Action plan health", 20.0),
    ("Sponsor coverage", 15.0),
)
RED_TILES = (
    Tile("sla", "SLA attainment", 61.0, 92.0, "11 of 13 SLAs measured"),
    Tile("satisfaction", "Satisfaction (CSAT)", 84.0, 86.0, "n = 412"),
    Tile("actions", "Action plan health", 50.0, 70.0, "5 of 10 due closed on time"),
    Tile("coverage", "Sponsor coverage", 75.0, 75.0, "3 of 4 regions have a client sponsor"),
)
JARGON = ("×", "computed", "n/a", "SLA-month", "re-normalised", "delta", "RAG")


def red_data(**story: object) -> ScorecardData:
    """A partnership red and down 16: three SLAs breached (sample rows), LATAM without a
    client sponsor, eight actions overdue, one SLA trending to a breach."""
    data = sample_data(
        health=HealthFacts(score=54, rag="red", previous=70, left_out=(), weights=WEIGHTS),
        tiles=RED_TILES,
    )
    rows = tuple(
        dataclasses.replace(row, status="breached" if index < 3 else "met")
        for index, row in enumerate(data.slas.rows)
    )
    data = dataclasses.replace(data, slas=dataclasses.replace(data.slas, rows=rows))
    base = CoverStory(
        since="September 2026",
        trending=(TrendToBreach("TTR", "Time to resolve", Month(2027, 1)),),
    )
    return dataclasses.replace(data, story=dataclasses.replace(base, **story))


def test_health_line_names_the_component_that_moved_the_score_most():
    data = red_data()
    # Weighted: SLA −31 × 40% = −12.4; actions −20 × 20% = −4; satisfaction −2 × 25% = −0.5.
    assert health_line(data, "September 2026") == (
        "Health 54 (red), down 16 since September 2026: SLA attainment fell from 92% "
        "to 61% (3 SLAs breached)."
    )


def test_health_line_weighs_the_change_not_the_size_alone():
    # Actions fell more (−30) but weigh 20%: 30 × 0.2 = 6 < SLA's 16 × 0.4 = 6.4.
    tiles = (
        Tile("sla", "SLA attainment", 76.0, 92.0, ""),
        Tile("satisfaction", "Satisfaction (CSAT)", 86.0, 86.0, ""),
        Tile("actions", "Action plan health", 40.0, 70.0, ""),
        Tile("coverage", "Sponsor coverage", 75.0, 75.0, ""),
    )
    data = dataclasses.replace(red_data(), tiles=tiles)
    assert "SLA attainment fell from 92% to 76%" in health_line(data, "September 2026")
    tiles = (tiles[0], tiles[1], dataclasses.replace(tiles[2], value=38.0), tiles[3])
    tiles = (tiles[0], tiles[1], dataclasses.replace(tiles[2], value=37.0), tiles[3])
    data = dataclasses.replace(data, tiles=tiles)  # 33 × 0.2 = 6.6 > 6.4
    assert "Action plan health fell from 70% to 37% (8 actions overdue)" in health_line(
        data, "September 2026"
    )


def test_health_line_up_unchanged_and_without_history():
    up = sample_data(health=HealthFacts(80, "green", 72, (), WEIGHTS))
    assert health_line(up, "September 2026") == (
        "Health 80 (green), up 8 since September 2026: SLA attainment rose from 73% to 82% "
        "(2 SLAs breached)."
    )
    same = sample_data(health=HealthFacts(72, "amber", 72, (), WEIGHTS))
    assert health_line(same, None).startswith("Health 72 (amber), unchanged")
    first = sample_data(health=HealthFacts(72, "amber", None, (), WEIGHTS))
    assert (
        health_line(first, None) == "Health 72 (amber); there is no earlier score to compare with."
    )
    none = empty_data()
    assert health_line(none, None).startswith("Health: not enough data")


def test_key_messages_most_important_first_at_most_five_plain_words():
    messages = draft_key_messages(red_data())
    assert 3 <= len(messages) <= 5
    assert messages[0] == (
        "The partnership's health score fell from 70 to 54 (red) since September 2026."
    )
    assert messages[1].startswith("Three service levels missed their target in October 2026: ")
    breached = [row.name for row in red_data().slas.rows[:3]]
    assert all(name in messages[1] for name in breached)
    assert messages[2] == "SLA attainment fell from 92% to 61% since September 2026."
    assert messages[3] == "Action plan health fell from 70% to 50% since September 2026."
    assert (
        messages[4] == "Time to resolve is on course to miss its target by Jan 2027 if the "
        "trend continues."
    )
    for message in messages:
        assert len(message) <= MESSAGE_MAX_CHARS
        assert not any(word in message for word in JARGON), message


def test_key_messages_name_coverage_gaps_and_overdue_actions_when_there_is_room():
    data = red_data()
    quiet = dataclasses.replace(
        data,
        tiles=tuple(dataclasses.replace(t, previous=t.value) for t in data.tiles),
        health=dataclasses.replace(data.health, previous=data.health.score),
        story=dataclasses.replace(data.story, trending=()),
    )
    messages = draft_key_messages(quiet)
    assert messages[0] == "The partnership's health score held at 54 since September 2026."
    assert "LATAM has no client sponsor." in messages
    oldest = min(r.due_on for r in quiet.actions.open_items if r.overdue)
    overdue = f"Eight actions are overdue; the oldest was due on {oldest.day} {oldest:%B %Y}."
    assert overdue in messages


def test_a_quiet_month_still_has_three_messages():
    data = sample_data(
        health=HealthFacts(85, "green", 85, (), WEIGHTS),
        tiles=tuple(dataclasses.replace(t, previous=t.value) for t in sample_data().tiles),
        slas=dataclasses.replace(
            sample_data().slas,
            rows=tuple(dataclasses.replace(r, status="met") for r in sample_data().slas.rows),
        ),
        actions=dataclasses.replace(sample_data().actions, overdue=0),
        governance=dataclasses.replace(
            sample_data().governance,
            coverage=tuple(
                dataclasses.replace(c, gap=False) for c in sample_data().governance.coverage
            ),
        ),
    )
    messages = draft_key_messages(data)
    assert messages == (
        "The partnership's health score held at 85.",
        "Every measured service level was within its limits in October 2026.",
        "Every region in scope has a client sponsor.",
    )


def test_long_names_are_listed_briefly_and_messages_kept_short():
    data = red_data()
    rows = tuple(dataclasses.replace(r, status="breached", name="N" * 80) for r in data.slas.rows)
    data = dataclasses.replace(data, slas=dataclasses.replace(data.slas, rows=rows))
    messages = draft_key_messages(data)
    assert all(len(m) <= MESSAGE_MAX_CHARS for m in messages)
    assert messages[1].endswith("…")


END = dt.date(2026, 10, 31)


def test_look_ahead_window_is_ninety_days_from_the_period_end():
    day_89, day_90, day_91 = (END + dt.timedelta(days=n) for n in (89, 90, 91))
    items = look_ahead(
        END,
        changes=[
            UpcomingChange("New LMS goes live", "planned", day_89),
            UpcomingChange("Too late", "planned", day_91),
            UpcomingChange("Already live", "live", day_89),
            UpcomingChange("Cancelled", "cancelled", day_89),
            UpcomingChange("Undated", "planned", None),
        ],
        expectations=[
            UpcomingExpectation("Quarterly refresh of the catalogue", day_90),
            UpcomingExpectation("Past", END),
            UpcomingExpectation("Later", day_91),
        ],
        renewal_date=day_91,
        planned_meetings=[(day_91, "monthly"), (END, "monthly")],
    )
    assert items == (
        LookAheadItem(day_89, "change", "Change goes live: New LMS goes live"),
        LookAheadItem(
            day_90, "expectation", "Expectation to revisit: Quarterly refresh of the catalogue"
        ),
    )


def test_look_ahead_renewal_within_or_overdue_and_the_next_meeting_only():
    items = look_ahead(
        END,
        changes=[],
        expectations=[],
        renewal_date=END - dt.timedelta(days=10),
        planned_meetings=[
            (dt.date(2026, 12, 8), "executive steering"),
            (dt.date(2026, 11, 10), "monthly"),
        ],
    )
    assert items == (
        LookAheadItem(dt.date(2026, 10, 21), "renewal", "Contract renewal — overdue", overdue=True),
        LookAheadItem(dt.date(2026, 11, 10), "meeting", "Next governance meeting (monthly)"),
    )
    within = look_ahead(
        END,
        changes=[],
        expectations=[],
        renewal_date=END + dt.timedelta(days=90),
        planned_meetings=[],
    )
    assert within == (LookAheadItem(END + dt.timedelta(days=90), "renewal", "Contract renewal"),)


def test_the_story_survives_the_snapshot_and_an_old_snapshot_has_none():
    data = red_data(look_ahead=(LookAheadItem(dt.date(2026, 11, 10), "meeting", "Next"),))
    assert load(dump(data)) == data
    old = dump(sample_data())
    del old["story"]
    assert load(old).story is None
