"""The set-up checklist on a new partnership's overview: what it still lacks, each step a
link to the form that does it, and the workbook import offered beside (issue 13)."""

from __future__ import annotations

import datetime as dt
import html as html_module
import re

from mls_tracker.extensions import db
from mls_tracker.models import MeetingState, ReportedSatisfaction, Role, Side
from mls_tracker.periods import Month
from tests import factories
from tests.conftest import page_text, sign_in


def _steps(html: str) -> dict[str, bool]:
    """Each step's label → done, as the checklist shows it."""
    section = html.split('id="setup-checklist"', 1)[1].split("</section>", 1)[0]
    steps = {}
    for item in re.findall(r"<li.*?</li>", section, re.S):
        words = html_module.unescape(page_text(item))
        label = words.split(" (")[0].split(" ", 1)[1]  # after the ✓ or ○
        steps[label] = "(done)" in words
    return steps


def _to_do(html: str) -> list[str]:
    return [label for label, done in _steps(html).items() if not done]


def test_a_new_partnership_shows_every_step_to_do_with_its_link(client, world):
    # The second partnership of the world has nothing but its lead (the outsider).
    sign_in(client, world.outsider.email)
    pid = world.other.id
    html = client.get(f"/partnerships/{pid}").get_data(as_text=True)
    assert _steps(html) == {
        "Invite the provider's people": False,
        "Add a client sponsor for each region": False,
        "Record what was agreed": False,
        "Define the SLAs": False,
        "Plan the first governance meeting": False,
        "Bring in the first survey data": False,
    }
    text = page_text(html)
    assert "0 of 6 steps done." in text
    assert "0 of 1 region in scope have one" in text
    # No score, tile or chart while there is nothing to compute them from.
    assert "No figures yet" in text
    assert 'id="tile-health"' not in html and 'class="chart"' not in html
    for url in (
        f"/partnerships/{pid}/invite",
        f"/partnerships/{pid}/sponsors/new",
        f"/partnerships/{pid}/expectations/new",
        f"/partnerships/{pid}/slas/new",
        f"/partnerships/{pid}/meetings/new",
        f"/partnerships/{pid}/satisfaction/imports/new",
        f"/partnerships/{pid}/import",
        "/import/template.xlsx",
    ):
        assert f'href="{url}"' in html, url
        assert client.get(url).status_code == 200, url


def test_steps_are_ticked_as_records_arrive_and_the_checklist_goes_when_all_are(client, world):
    # The world's first partnership has its provider's people, a client sponsor for EMEA but
    # none for APAC, an expectation and an SLA: it has figures, and three steps to do.
    sign_in(client, world.lead.email)
    url = f"/partnerships/{world.partnership.id}"
    html = client.get(url).get_data(as_text=True)
    assert _to_do(html) == [
        "Add a client sponsor for each region",
        "Plan the first governance meeting",
        "Bring in the first survey data",
    ]
    assert "1 of 2 regions in scope have one" in page_text(html)
    assert 'id="tile-health"' in html and "No figures yet" not in html

    apac = next(r for r in world.partnership.regions if r.code == "APAC")
    # A provider's sponsor, or a client's who has left, does not cover the region.
    factories.create_sponsor(world.partnership, apac, Side.PROVIDER, "Pat Provider")
    factories.create_sponsor(
        world.partnership, apac, Side.CLIENT, "Len Left", end=dt.date(2025, 6, 30)
    )
    factories.create_meeting(world.partnership, dt.date(2026, 12, 10), state=MeetingState.PLANNED)
    db.session.commit()
    html = client.get(url).get_data(as_text=True)
    assert _to_do(html) == [
        "Add a client sponsor for each region",
        "Bring in the first survey data",
    ]

    factories.create_sponsor(world.partnership, apac, Side.CLIENT, "Cleo Client")
    db.session.add(
        ReportedSatisfaction(
            partnership_id=world.partnership.id, month=Month(2026, 10), responses=40, csat=82
        )
    )
    db.session.commit()
    assert 'id="setup-checklist"' not in client.get(url).get_data(as_text=True)


def test_only_those_who_manage_the_partnership_see_the_checklist(client, world):
    factories.add_member(world.viewer, world.other, Role.VIEWER)
    db.session.commit()
    sign_in(client, world.viewer.email)
    html = client.get(f"/partnerships/{world.other.id}").get_data(as_text=True)
    assert 'id="setup-checklist"' not in html
    assert 'id="import-link"' not in html
    assert "Its leads are setting it up." in page_text(html)
