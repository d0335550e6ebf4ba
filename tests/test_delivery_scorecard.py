"""The scorecard's "Delivery and spend" section: built from confirmed months with hand-worked
figures, kept in the snapshot, rendered in the PDF (pdftotext), and absent from old snapshots."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from mls_tracker.models import ReviewKind
from mls_tracker.periods import Month
from mls_tracker.scorecards import chart_images
from mls_tracker.scorecards import issuing as scorecards
from mls_tracker.scorecards.build import build_scorecard_data
from mls_tracker.scorecards.charts import scorecard_figures
from mls_tracker.scorecards.html import render_scorecard_html
from mls_tracker.scorecards.snapshot import dump, load
from mls_tracker.services import delivery as service
from tests.scorecard_samples import ISSUED_META, sample_data

TODAY = dt.date(2026, 11, 5)
SEP, OCT = Month(2026, 9), Month(2026, 10)


@pytest.fixture(scope="module", autouse=True)
def _forget_the_charts():
    yield  # the server draws on for the next module (tests/conftest.py)
    chart_images.clear_cache()


def _month(user, world, month, learners, hours, spend):
    values = service.DeliveryInput(str(learners), str(learners), str(hours), "4", spend, "")
    service.record_month(user, world.partnership, month, values, 0, today=TODAY)


@pytest.fixture
def delivered(world):
    _month(world.lead, world, Month(2026, 8), 100, "200", "10000")
    _month(world.lead, world, SEP, 300, "600", "20000")
    _month(world.provider, world, OCT, 999, "1", "99999.99")  # proposed: left out
    return world


def test_the_section_counts_confirmed_months_only(delivered):
    data = build_scorecard_data(
        delivered.partnership.id, ReviewKind.QUARTERLY, Month(2026, 8), OCT, TODAY
    )
    d = data.delivery
    assert (d.learners_trained, d.training_hours, d.spend) == (400, 800.0, "30000.00")
    assert (d.confirmed_months, d.period_months) == (2, 3)
    # 30,000 ÷ 400 learners and ÷ 800 hours, over the two confirmed months.
    assert (d.cost_per_learner, d.cost_per_hour, d.cost_months) == ("75.00", "37.50", 2)
    # 30,000 of 1,200,000 × 36 ÷ 12 = 3,600,000 → 0.8333…% → 0.8.
    assert (d.spent_to_date, d.contract_value, d.contract_months) == ("30000.00", "3600000.00", 36)
    assert d.spend_share == 0.8
    assert d.proposed_months == (OCT,)
    assert [p.confirmed for p in d.series] == [True, True, False]
    assert load(dump(data)) == data
    assert "delivery_spend" in {chart.name for chart in scorecard_figures(data)}


def test_a_partnership_without_delivery_has_no_section(world):
    data = build_scorecard_data(world.partnership.id, ReviewKind.MONTHLY, OCT, OCT, TODAY)
    assert data.delivery is None


def test_an_old_snapshot_without_delivery_renders_as_before():
    data = sample_data()
    stored = dump(data)
    del stored["delivery"]  # written before issue 19
    old = load(stored)
    assert old.delivery is None and old == data
    html = render_scorecard_html(old, ISSUED_META, {})
    assert 'id="delivery"' not in html and "Delivery and spend" not in html


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "scorecard.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    )
    return " ".join(out.stdout.split())


def test_the_pdf_shows_delivery_and_spend(delivered, tmp_path):
    data = build_scorecard_data(
        delivered.partnership.id, ReviewKind.QUARTERLY, Month(2026, 8), OCT, TODAY
    )
    text = _pdf_text(scorecards.render_pdf(data, ISSUED_META), tmp_path)
    assert "Delivery and spend" in text
    assert "400 400 800 8 USD 30,000 learners trained completions training hours" in text
    assert "2 of 3 months confirmed by the client" in text
    assert (
        "Spend to date 0.8% USD 30,000 invoiced since Jan 2025 of a contract value of "
        "USD 3,600,000 (36 months at the annual value)" in text
    )
    assert "Cost per learner USD 75" in text
    assert "Cost per training hour USD 37.50" in text
    assert "Still proposed by the provider, not counted: Oct 2026 (1 month)." in text
    assert "Invoiced spend and cost per learner, last 12 months" in text  # the chart
