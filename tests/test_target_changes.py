"""A target made effective from a past month re-judges months already judged (issue 15,
point 9): the lead confirms the months and statuses that change, the audit log keeps them,
and the scorecard and the review compare page show the target change."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import (
    AuditEntry,
    Direction,
    Review,
    ReviewKind,
    Scorecard,
    Sla,
    SlaTarget,
    Unit,
)
from mls_tracker.periods import Month
from mls_tracker.scorecards.html import render_scorecard_html
from mls_tracker.scorecards.snapshot import ScorecardMeta, dump
from mls_tracker.services import reviews
from mls_tracker.services import slas as service
from mls_tracker.services.errors import ValidationFailed
from tests import factories
from tests.conftest import csrf_token, sign_in

SEP, OCT = Month(2026, 9), Month(2026, 10)
TODAY = dt.date(2026, 12, 5)
CHANGE = "Sep 2026: breached → met"


@pytest.fixture
def days_sla(world) -> Sla:
    """Time to hire, ≤ 30 days (at risk ≤ 40) since January 2026; September's confirmed
    actual is 44 days: a breach."""
    sla = factories.create_sla(
        world.partnership,
        None,
        "TTH-01",
        direction=Direction.LOWER_IS_BETTER,
        unit=Unit.DAYS,
        target=30,
        at_risk=40,
        since=Month(2026, 1),
    )
    factories.add_measurement(sla, SEP, 44, confirmed_by=world.lead)
    factories.add_measurement(sla, OCT, 38, confirmed_by=world.lead)
    db.session.commit()
    return sla


def _targets(sla: Sla) -> list[tuple[str, Decimal]]:
    db.session.expire_all()
    return [
        (str(t.effective_from), t.target)
        for t in db.session.scalars(
            sa.select(SlaTarget).where(SlaTarget.sla_id == sla.id).order_by(SlaTarget.id)
        )
    ]


def _grid_status(sla: Sla, month: Month) -> str:
    grid = service.month_grid(sla.partnership_id, month, months=1)
    row = next(r for r in grid.rows if r.series.code == sla.code)
    return str(row.cells[0].status)


def _set_from_september(world, sla: Sla, confirmed=()):
    return service.set_target(
        world.lead,
        sla,
        target=Decimal(45),
        at_risk_threshold=Decimal(60),
        applies_from=SEP,
        confirmed_changes=confirmed,
        today=TODAY,
    )


# ----------------------------------------------------------------------------- the service


def test_a_past_target_that_rejudges_a_confirmed_breach_needs_confirmation(world, days_sla):
    assert _grid_status(days_sla, SEP) == "breached"
    with pytest.raises(service.RejudgementNeeded) as refused:
        _set_from_september(world, days_sla)
    assert [c.text for c in refused.value.changes] == [CHANGE, "Oct 2026: at risk → met"]
    assert "Sep 2026: breached → met" in str(refused.value)
    assert _targets(days_sla) == [("2026-01", 30)], "nothing saved"
    assert _grid_status(days_sla, SEP) == "breached"


def test_a_confirmation_of_other_changes_is_refused(world, days_sla):
    with pytest.raises(ValidationFailed):
        _set_from_september(world, days_sla, confirmed=[CHANGE])  # October left out
    assert _targets(days_sla) == [("2026-01", 30)]


def test_the_confirmed_rejudgement_is_saved_and_audited(world, days_sla):
    point = _set_from_september(world, days_sla, confirmed=[CHANGE, "Oct 2026: at risk → met"])
    assert _targets(days_sla) == [("2026-01", 30), ("2026-09", 45)]
    assert _grid_status(days_sla, SEP) == "met"
    assert service.rejudged_texts(point.rejudged) == (CHANGE, "Oct 2026: at risk → met")
    entry = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.object_type == "SlaTarget", AuditEntry.object_id == str(point.id)
        )
    ).one()
    assert entry.actor_id == world.lead.id
    assert entry.partnership_id == world.partnership.id
    assert entry.changes["rejudged"][1][0] == {
        "month": "2026-09",
        "before": "breached",
        "after": "met",
        "state": "confirmed",
    }
    history = service.target_history(days_sla, TODAY)
    assert history[0].rejudged == (CHANGE, "Oct 2026: at risk → met")


def test_a_proposed_actual_is_named_as_such(world, days_sla):
    factories.add_measurement(days_sla, Month(2026, 11), 35)  # proposed: at risk today
    db.session.commit()
    with pytest.raises(service.RejudgementNeeded) as refused:
        _set_from_september(world, days_sla)
    assert refused.value.changes[-1].text == "Nov 2026: at risk → met (proposed actual)"


def test_a_target_from_a_future_month_or_changing_no_status_needs_no_confirmation(world, days_sla):
    service.set_target(
        world.lead,
        days_sla,
        target=Decimal(45),
        at_risk_threshold=Decimal(60),
        applies_from=Month(2027, 1),
        today=TODAY,
    )
    # 44 days stays breached and 38 at risk against ≤ 35 (at risk ≤ 40).
    point = service.set_target(
        world.lead,
        days_sla,
        target=Decimal(35),
        at_risk_threshold=Decimal(40),
        applies_from=SEP,
        today=TODAY,
    )
    assert point.rejudged is None
    assert _targets(days_sla) == [("2026-01", 30), ("2027-01", 45), ("2026-09", 35)]


# ----------------------------------------------------------------------------- the page


def test_the_target_page_names_the_months_and_asks_for_confirmation(client, world, days_sla):
    sign_in(client, world.lead.email)
    url = f"/partnerships/{world.partnership.id}/slas/{days_sla.id}/target"
    form = {
        "target": "45",
        "at_risk_threshold": "60",
        "applies_from": "2026-09",
        "version": str(days_sla.version),
    }
    asked = client.post(url, data={**form, "csrf_token": csrf_token(client, url)})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "Sep 2026: breached → met" in page and "Oct 2026: at risk → met" in page
    assert 'name="confirm_rejudged"' in page
    assert _targets(days_sla) == [("2026-01", 30)]
    shown = re.search(r'name="rejudged" type="hidden" value="([^"]*)"', page)
    assert shown, "the changes shown travel with the confirmation"
    listed = shown.group(1).replace("&#10;", "\n").replace("&gt;", ">")
    # The box left unticked: still refused.
    again = client.post(
        url, data={**form, "rejudged": listed, "csrf_token": csrf_token(client, url)}
    )
    assert again.status_code == 200 and _targets(days_sla) == [("2026-01", 30)]
    done = client.post(
        url,
        data={
            **form,
            "rejudged": listed,
            "confirm_rejudged": "y",
            "csrf_token": csrf_token(client, url),
        },
        follow_redirects=True,
    )
    text = done.get_data(as_text=True)
    assert _targets(days_sla) == [("2026-01", 30), ("2026-09", 45)]
    assert "re-judged: Sep 2026: breached → met; Oct 2026: at risk → met" in text
    assert "Re-judged (confirmed when set): Sep 2026: breached → met" in text


# ----------------------------------------------------------------------------- scorecard


def _plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_the_scorecard_shows_the_target_change_and_what_it_rejudged(world, days_sla):
    _set_from_september(world, days_sla, confirmed=[CHANGE, "Oct 2026: at risk → met"])
    review = reviews.open_review(
        world.lead, world.partnership.id, kind=ReviewKind.MONTHLY, first_month=OCT, today=TODAY
    )
    data = reviews.review_data(review)
    (change,) = data.slas.target_changes
    assert (change.code, change.effective_from, change.previous_target, change.target) == (
        "TTH-01",
        SEP,
        30.0,
        45.0,
    )
    html = _plain(render_scorecard_html(data, ScorecardMeta(None, None, None), {}))
    assert "Target changes" in html
    assert "≤ 30 d · at risk ≤ 40 d → ≤ 45 d · at risk ≤ 60 d, from Sep 2026" in html
    assert "Re-judged: Sep 2026: breached → met; Oct 2026: at risk → met." in html


def test_the_compare_page_shows_the_target_change_behind_a_resolved_breach(client, world, days_sla):
    september = reviews.open_review(
        world.lead, world.partnership.id, kind=ReviewKind.MONTHLY, first_month=SEP, today=TODAY
    )
    data = reviews.review_data(september)
    assert {r.code: r.status for r in data.slas.rows}["TTH-01"] == "breached"
    pdf = b"%PDF-1.7 test"
    db.session.add(
        Scorecard(
            review_id=september.id,
            version=1,
            issued_by_id=world.lead.id,
            sha256=hashlib.sha256(pdf).hexdigest(),
            pdf=pdf,
            snapshot=dump(data),
        )
    )
    db.session.commit()
    _set_from_september(world, days_sla, confirmed=[CHANGE, "Oct 2026: at risk → met"])
    october = reviews.open_review(
        world.lead, world.partnership.id, kind=ReviewKind.MONTHLY, first_month=OCT, today=TODAY
    )
    sign_in(client, world.lead.email)
    page = client.get(
        f"/partnerships/{world.partnership.id}/reviews/{october.id}/compare"
    ).get_data(as_text=True)
    resolved = _plain(
        page[page.index('id="resolved-breaches"') : page.index('id="actions-closed"')]
    )
    assert "TTH-01" in resolved and "was breached · its target changed meanwhile" in resolved
    section = _plain(page[page.index('id="target-changes"') : page.index('id="sponsors-changed"')])
    assert "TTH-01" in section
    assert "≤ 30 d · at risk ≤ 40 d → ≤ 45 d · at risk ≤ 60 d" in section
    assert "from Sep 2026" in section
    assert "Re-judged with the new target: Sep 2026: breached → met" in section
    assert db.session.get(Review, october.id) is not None
