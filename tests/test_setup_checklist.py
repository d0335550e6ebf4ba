"""The set-up checklist on a new partnership's overview: what it still lacks, each step a
link to the form that does it, and the workbook import offered beside (issue 13)."""

from __future__ import annotations

import datetime as dt
import html as html_module
import re

from mls_tracker.extensions import db
from mls_tracker.models import MeetingState, Role
from tests import factories
from tests.conftest import page_text, sign_in, sign_out


def _steps(html: str) -> dict[str, bool]:
    """Each step's label → done, as the checklist shows it."""
    section = html.split('id="setup-checklist"', 1)[1].split("</section>", 1)[0]
    steps = {}
    for item in re.findall(r"<li.*?</li>", section, re.S):
        words = html_module.unescape(page_text(item))
        label = words.split(" (")[0].split(" ", 1)[1]  # after the ✓ or ○
        steps[label] = "(done)" in words
    return steps


def test_a_new_partnership_shows_every_step_to_do_with_its_link(client, world):
    # The second partnership of the world has nothing but its lead (the outsider).
    sign_in(client, world.outsider.email)
    pid = world.other.id
    html = client.get(f"/partnerships/{pid}").get_data(as_text=True)
    assert _steps(html) == {
        "Invite the provider's people": False,
        "Add the executive sponsors": False,
        "Record what was agreed": False,
        "Define the SLAs": False,
        "Plan the first governance meeting": False,
    }
    assert "0 of 5 steps done." in page_text(html)
    for url in (
        f"/partnerships/{pid}/invite",
        f"/partnerships/{pid}/sponsors/new",
        f"/partnerships/{pid}/expectations/new",
        f"/partnerships/{pid}/slas/new",
        f"/partnerships/{pid}/meetings/new",
        f"/partnerships/{pid}/import",
        "/import/template.xlsx",
    ):
        assert f'href="{url}"' in html, url
        assert client.get(url).status_code == 200, url


def test_steps_are_ticked_as_records_arrive_and_the_checklist_goes_when_all_are(client, world):
    sign_in(client, world.outsider.email)
    pid = world.other.id
    factories.add_member(world.provider, world.other, Role.PROVIDER)
    db.session.commit()
    html = client.get(f"/partnerships/{pid}").get_data(as_text=True)
    assert _steps(html)["Invite the provider's people"] is True
    assert "1 of 5 steps done." in page_text(html)

    # The world's first partnership has people, sponsors, expectations and SLAs: only its
    # first meeting is to do, and once it is planned the checklist is gone.
    sign_out(client)
    sign_in(client, world.lead.email)
    url = f"/partnerships/{world.partnership.id}"
    html = client.get(url).get_data(as_text=True)
    assert [label for label, done in _steps(html).items() if not done] == [
        "Plan the first governance meeting"
    ]
    factories.create_meeting(world.partnership, dt.date(2026, 12, 10), state=MeetingState.PLANNED)
    db.session.commit()
    assert 'id="setup-checklist"' not in client.get(url).get_data(as_text=True)


def test_only_those_who_manage_the_partnership_see_the_checklist(client, world):
    factories.add_member(world.viewer, world.other, Role.VIEWER)
    db.session.commit()
    sign_in(client, world.viewer.email)
    html = client.get(f"/partnerships/{world.other.id}").get_data(as_text=True)
    assert 'id="setup-checklist"' not in html
    assert 'id="import-link"' not in html
