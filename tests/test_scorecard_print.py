"""The scorecard in print (issue 19): service levels exceptions first — breached and at-risk
SLAs with their gap, months out of target and recovery action, the met ones folded into one
compact table — from hand-made snapshots and from the database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from mls_tracker.extensions import db
from mls_tracker.models import ActionStatus, Side
from mls_tracker.periods import Month
from mls_tracker.scorecards.build import build_scorecard_data
from mls_tracker.scorecards.html import render_scorecard_html
from mls_tracker.scorecards.snapshot import ActionRow, SlaRow, SlaTrendPoint, dump, load
from tests.factories import add_measurement, create_action, create_sla, create_user
from tests.scorecard_samples import ISSUED_META, MONTHS_6, sample_data
from tests.test_reports import text_of

OCT = Month(2026, 10)
TODAY = dt.date(2026, 11, 15)


def _trend(*statuses: str) -> tuple[SlaTrendPoint, ...]:
    return tuple(
        SlaTrendPoint(month, None if status == "missing" else 80.0, status)
        for month, status in zip(MONTHS_6, statuses, strict=True)
    )


FIX = ActionRow(
    title="Retrain help-desk agents on the new ticket categories",
    owner_side="provider",
    owner_name="Priya Patel",
    due_on=dt.date(2026, 11, 20),
    status="in progress",
    priority="high",
    overdue=False,
)


def _row(code: str, name: str, status: str, actual: float | None, **changes) -> SlaRow:
    values = dict(
        code=code,
        name=name,
        unit="%",
        direction="higher is better",
        target=90.0,
        at_risk=85.0,
        actual=actual,
        status=status,
        weight=1.0,
        note=None,
        trend=_trend("met", "met", "met", "met", "met", status),
    )
    values.update(changes)
    return SlaRow(**values)


def hand_made():
    """Met first in the data's order, then an at-risk SLA without a recovery action, then a
    breach with one, out of target in 4 of the last 6 months."""
    rows = (
        _row("M-01", "Course launch on schedule", "met", 96.0),
        _row("R-01", "Learner completion rate", "at risk", 87.5),
        _row(
            "B-01",
            "Help-desk first-contact resolution",
            "breached",
            72.75,
            trend=_trend("met", "at risk", "breached", "met", "at risk", "breached"),
            recovery=FIX,
        ),
        _row(
            "L-01",
            "Content localisation turnaround",
            "breached",
            16.2,
            unit="days",
            direction="lower is better",
            target=10.0,
            at_risk=14.0,
            trend=_trend("met", "met", "met", "met", "breached", "breached"),
        ),
        _row("X-01", "Invoice accuracy", "missing", None),
        _row("P-01", "Enrolment processing time", "proposed", None),
    )
    data = sample_data()
    return dataclasses.replace(data, slas=dataclasses.replace(data.slas, rows=rows))


def render(data) -> str:
    return render_scorecard_html(data, ISSUED_META, {})


def _section(html: str) -> str:
    text = text_of(html)
    return text[text.index("2 Service levels") : text.index("3 Learner satisfaction")]


def test_breached_then_at_risk_come_first_and_the_met_ones_fold_into_one_table():
    text = _section(render(hand_made()))
    order = [text.index(code) for code in ("B-01", "L-01", "R-01", "Met: 1 SLA", "M-01", "P-01")]
    assert order == sorted(order)
    assert "Needs attention: 2 breached, 1 at risk" in text
    assert (
        "Missing: no actual entered (never counted as met) — 1 SLA: X-01 Invoice accuracy" in text
    )
    assert (
        "Proposed by the provider, awaiting the lead's confirmation — 1 SLA: "
        "P-01 Enrolment processing time"
    ) in text


def test_an_exception_shows_target_threshold_actual_gap_months_out_and_recovery():
    text = _section(render(hand_made()))
    assert (
        "B-01 Help-desk first-contact resolution ✖ Breached Target At risk Actual Gap to target "
        "Out of target Last 6 months ≥ 90% ≥ 85% 72.8% −17.3 pts below target 4 of 6 months "
        "Recovery action: Retrain help-desk agents on the new ticket categories — Priya Patel "
        "(provider side), due 20 Nov 2026, in progress"
    ) in text
    # lower is better: the gap is above the target, in the SLA's unit
    assert "≤ 10 d ≤ 14 d 16.2 d +6.2 d above target 2 of 6 months" in text
    at_risk = text[text.index("R-01") : text.index("Met:")]
    assert "−2.5 pts below target 1 of 6 months" in at_risk
    assert "Recovery action: No recovery action recorded." in at_risk


def test_the_met_table_is_compact_code_name_target_actual_and_trend():
    html = render(hand_made())
    met = html[html.index('<table class="slas met-slas">') :]
    met = met[: met.index("</table>")]
    assert re.findall(r"<th[^>]*>([^<]*)</th>", met) == ["SLA", "Target", "Actual", "Last 6 months"]
    assert "M-01" in met and "96%" in met and met.count('<svg class="spark"') == 1


def test_with_nothing_confirmed_the_section_says_nothing_can_be_judged_yet():
    data = hand_made()
    rows = tuple(dataclasses.replace(row, status="proposed") for row in data.slas.rows)
    text = _section(
        render(dataclasses.replace(data, slas=dataclasses.replace(data.slas, rows=rows)))
    )
    assert "No SLA can be judged yet: none has a confirmed actual for October 2026." in text
    assert "No SLA breached or at risk" not in text
    assert "awaiting the lead's confirmation — 6 SLAs:" in text


def test_a_snapshot_without_recovery_actions_loads_and_renders():
    """A snapshot stored before issue 19 has no ``recovery`` on its SLA rows."""
    stored = dump(sample_data())
    for row in stored["slas"]["rows"]:
        del row["recovery"]
    data = load(stored)
    assert all(row.recovery is None for row in data.slas.rows)
    text = _section(render(data))
    assert "Needs attention: 2 breached, 2 at risk" in text
    assert text.count("No recovery action recorded.") == 4


def test_the_build_links_each_sla_to_its_open_recovery_action_and_counts_months_out(world):
    p, lead = world.partnership, world.lead
    owner = create_user("owner@provider.example", "Olu Owner", organisation=p.provider)
    late = create_sla(p, None, "LATE-01")
    calm = create_sla(p, None, "CALM-01")
    # LATE-01 ≥ 90, at risk ≥ 85: May met, Jun at risk, Jul breached, Aug proposed (not
    # counted), Sep met, Oct breached → 3 of 6 months out of target.
    for month, value in ((5, 95), (6, 86), (7, 70), (9, 91), (10, 80)):
        add_measurement(late, Month(2026, month), value, confirmed_by=lead)
    add_measurement(late, Month(2026, 8), 60)
    add_measurement(calm, OCT, 88, confirmed_by=lead)  # at risk, no action
    later = create_action(p, "Second fix", due_on=dt.date(2026, 12, 1))
    first = create_action(
        p, "Fix the queue", due_on=dt.date(2026, 11, 5), owner=owner, side=Side.PROVIDER
    )
    done = create_action(p, "Old fix", due_on=dt.date(2026, 9, 1), status=ActionStatus.DONE)
    for item in (later, first, done):
        item.sla_id = late.id
        item.created_at = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
    done.closed_on = dt.date(2026, 9, 1)
    db.session.commit()

    data = build_scorecard_data(p.id, "monthly", OCT, OCT, TODAY)
    rows = {row.code: row for row in data.slas.rows}
    row = rows["LATE-01"]
    assert (row.status, row.actual, row.gap, row.months_out) == ("breached", 80.0, -10.0, 3)
    # Overdue on the day the figures were computed (15 Nov), which the reader sees.
    assert row.recovery == ActionRow(
        "Fix the queue", "provider", "Olu Owner", dt.date(2026, 11, 5), "open", "medium", True
    )
    assert rows["CALM-01"].status == "at risk" and rows["CALM-01"].recovery is None
    again = load(dump(data))
    assert again.slas.rows == data.slas.rows


def test_a_recovery_action_agreed_after_the_period_is_the_one_the_scorecard_shows(world):
    """October's breach is answered at the meeting in November, before the review is issued:
    that item is the recovery action; it is not an item of October's action plan."""
    p, lead = world.partnership, world.lead
    late = create_sla(p, None, "LATE-01")
    add_measurement(late, OCT, 70, confirmed_by=lead)
    agreed = create_action(p, "Recover the queue", due_on=dt.date(2026, 11, 30))
    agreed.sla_id = late.id
    agreed.created_at = dt.datetime(2026, 11, 6, 15, tzinfo=dt.UTC)
    db.session.commit()

    data = build_scorecard_data(p.id, "monthly", OCT, OCT, TODAY)
    row = {row.code: row for row in data.slas.rows}["LATE-01"]
    assert row.recovery is not None and row.recovery.title == "Recover the queue"
    assert not row.recovery.overdue
    assert "Recover the queue" not in {item.title for item in data.actions.open_items}
