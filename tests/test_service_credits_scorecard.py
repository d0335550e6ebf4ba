"""Service credits on the scorecard: the section's figures, its JSON form, its rendering, and
older snapshots without it (issue 19)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from mls_tracker.extensions import db
from mls_tracker.models import ReviewKind, Sla
from mls_tracker.periods import Month
from mls_tracker.scorecards.build import build_scorecard_data
from mls_tracker.scorecards.html import render_scorecard_html
from mls_tracker.scorecards.snapshot import dump, load
from tests.conftest import page_text
from tests.factories import add_measurement, create_sla
from tests.scorecard_samples import DRAFT_META, sample_data

JUL, AUG, SEP = Month(2026, 7), Month(2026, 8), Month(2026, 9)
TODAY = SEP.next().first_day.replace(day=20)


@pytest.fixture
def credited(world):
    """Fee 10,000.00, cap 12 %. Q3 2026: WLD-01 (5 %) breached in July and September, WLD-02
    (5 %) and WLD-03 (4 %) in September (1,400.00 capped to 1,200.00); WLD-02's August
    breach only proposed. February 2026: WLD-03 breached (in the 12 months, not the quarter)."""
    first = db.session.get(Sla, world.ids["sla_id"])
    partnership = world.partnership
    partnership.monthly_fee = Decimal("10000")
    partnership.credit_cap_percent = Decimal("12")
    first.credit_percent = Decimal("5")
    second = create_sla(partnership, None, "WLD-02")
    second.credit_percent = Decimal("5")
    third = create_sla(partnership, None, "WLD-03")
    third.credit_percent = Decimal("4")
    add_measurement(first, JUL, 10, confirmed_by=world.lead)
    add_measurement(second, AUG, 10)  # proposed
    for sla in (first, second, third):
        add_measurement(sla, SEP, 10, confirmed_by=world.lead)
    add_measurement(third, Month(2026, 2), 10, confirmed_by=world.lead)
    db.session.commit()
    return world


def _build(world, kind=ReviewKind.QUARTERLY, first=JUL, last=SEP):
    return build_scorecard_data(world.partnership.id, kind, first, last, TODAY)


def test_the_quarters_credits_per_breached_sla_with_the_cap_and_the_year(credited):
    credits = _build(credited).credits

    assert [
        (line.code, line.credit_percent, line.months, line.amount) for line in credits.lines
    ] == [
        ("WLD-01", "5", (JUL, SEP), "1000.00"),
        ("WLD-02", "5", (SEP,), "500.00"),
        ("WLD-03", "4", (SEP,), "400.00"),
    ]
    assert credits.uncapped == "1900.00"  # July 500 + September 1,400
    assert credits.credited == "1700.00"  # July 500 + September capped at 1,200
    assert credits.deducted == "200.00"
    assert credits.capped_months == (SEP,)
    assert (credits.cap_percent, credits.cap, credits.monthly_fee) == ("12", "1200.00", "10000.00")
    assert credits.year_total == "2100.00"  # + February's 400
    assert credits.year_breaches == 5
    assert (credits.year_first, credits.year_last) == (Month(2025, 10), SEP)
    assert credits.proposed == ("WLD-02, Aug 2026",)
    assert credits.message == ""


def test_without_a_fee_the_section_says_so(credited):
    credited.partnership.monthly_fee = None
    credited.partnership.annual_value = None
    db.session.commit()

    credits = _build(credited).credits

    assert credits.credited is None and credits.year_total is None
    assert "cannot be computed" in credits.message
    html = render_scorecard_html(_build(credited), DRAFT_META, {})
    assert "Service credits cannot be computed" in page_text(html)


def test_no_credit_rule_leaves_the_section_out(world):
    assert _build(world).credits is None


def test_the_section_survives_json_and_renders(credited):
    data = _build(credited)
    assert load(json.loads(json.dumps(dump(data)))) == data

    text = page_text(render_scorecard_html(data, DRAFT_META, {}))

    section = text.split("Service credits", 1)[1]
    assert "USD 1,700 credited, Q3 2026" in section
    assert "WLD-01 SLA WLD-01 5 % Jul 2026, Sep 2026 USD 1,000" in section
    assert "Before the cap USD 1,900" in section
    assert "Cap of 12 % of the monthly fee ( USD 1,200 a month) applied in Sep 2026 − USD 200" in (
        section
    )
    assert "USD 2,100 credited, Oct 2025 – Sep 2026 (5 breaches)" in section
    assert "Proposed breaches, not counted until a lead confirms them: WLD-02, Aug 2026." in section


def test_an_older_snapshot_without_credits_renders_as_before(app):
    stored = dump(sample_data())
    del stored["credits"]
    old = load(stored)

    assert old.credits is None
    html = render_scorecard_html(old, DRAFT_META, {})
    assert 'id="service-credits"' not in html
    assert html == render_scorecard_html(sample_data(), DRAFT_META, {})
