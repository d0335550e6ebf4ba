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
    # The health score and SLA attainment's fall behind it are the cover's health line; the
    # messages say what the line does not.
    assert health_line(red_data(), "September 2026").endswith(
        "SLA attainment fell from 92% to 61% (3 SLAs breached)."
    )
    assert not any("health score" in m or "SLA attainment" in m for m in messages)
    assert messages[0].startswith("Three service levels missed their target in October 2026: ")
    breached = [row.name for row in red_data().slas.rows[:3]]
    assert all(name in messages[0] for name in breached)
    assert messages[1] == "Action plan health fell from 70% to 50% since September 2026."
    assert (
        messages[2] == "Time to resolve is on course to miss its target by Jan 2027 if the "
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
    assert not any("health score" in m for m in messages)
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
        "Every measured service level was within its limits in October 2026.",
        "Every region in scope has a client sponsor.",
        "No action is overdue.",
    )


def test_long_names_are_listed_briefly_and_messages_kept_short():
    data = red_data()
    rows = tuple(dataclasses.replace(r, status="breached", name="N" * 80) for r in data.slas.rows)
    data = dataclasses.replace(data, slas=dataclasses.replace(data.slas, rows=rows))
    messages = draft_key_messages(data)
    assert all(len(m) <= MESSAGE_MAX_CHARS for m in messages)
    assert messages[0].endswith("…")


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


def test_key_messages_name_the_credits_due_and_a_contract_nearly_spent():
    from mls_tracker.scorecards.snapshot import (
        CreditLineFacts,
        CreditSection,
        DeliverySection,
    )

    october = Month(2026, 10)
    credits = CreditSection(
        currency="EUR",
        message="",
        monthly_fee="57500.00",
        fee_from_annual_value=True,
        cap_percent="12",
        cap="6900.00",
        rules=5,
        lines=(CreditLineFacts("LOC-01", "Translation turnaround", "8", (october,), "4600.00"),),
        uncapped="4600.00",
        credited="4600.00",
        deducted="0.00",
        capped_months=(),
        year_first=Month(2025, 11),
        year_last=october,
        year_total="12937.50",
        year_breaches=6,
    )
    delivery = DeliverySection(
        currency="EUR",
        learners_trained=2715,
        completions=6714,
        training_hours=2926.0,
        sessions_delivered=45,
        spend="60872.00",
        confirmed_months=1,
        period_months=1,
        cost_months=12,
        cost_per_learner="24.83",
        cost_per_hour="22.37",
        since=Month(2024, 10),
        spent_to_date="1430578.00",
        contract_value="1552500.00",
        contract_months=27,
        spend_share=92.1,
        spend_reason=None,
        proposed_months=(),
        series=(),
    )
    quiet = dataclasses.replace(red_data(), credits=credits, delivery=delivery)
    messages = draft_key_messages(quiet)
    assert len(messages) == 5
    assert messages[0].startswith("Three service levels missed their target")
    assert messages[1] == (
        "Service credits of EUR 4,600 are due for October 2026 (Translation turnaround)."
    )
    assert messages[2] == "92% of the contract value has been invoiced since Oct 2024."
    everything = draft_key_messages(
        dataclasses.replace(quiet, slas=dataclasses.replace(quiet.slas, rows=()))
    )
    assert (
        "Service credits of EUR 4,600 are due for October 2026 (Translation turnaround)."
        in everything
    )
    # 92.1 % shown whole: "92%".
    assert "92% of the contract value has been invoiced since Oct 2024." in draft_key_messages(
        dataclasses.replace(quiet, credits=None, slas=dataclasses.replace(quiet.slas, rows=()))
    )
