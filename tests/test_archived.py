"""An archived partnership: left out of the lists and the portfolio unless asked for, marked
where it is shown, read-only with a banner saying so (issue 13)."""

from __future__ import annotations

from mls_tracker.extensions import db
from mls_tracker.models import utcnow
from mls_tracker.scorecards.batch import partnerships_to_issue
from tests.conftest import page_text, sign_in


def _archive(partnership) -> None:
    partnership.archived_at = utcnow()
    db.session.commit()


def test_the_partnerships_list_leaves_archived_ones_out_unless_asked(client, world):
    _archive(world.other)
    sign_in(client, world.admin.email)

    listed = client.get("/partnerships/").get_data(as_text=True)
    assert "Global Learning" in listed
    assert "Other Programme" not in listed
    assert "1 archived partnership not shown." in page_text(listed)
    assert "1 partnership in this installation." in page_text(listed)

    asked = client.get("/partnerships/?archived=1").get_data(as_text=True)
    assert "Other Programme" in asked
    assert "Archived partnerships (1) are included." in page_text(asked)
    assert "2 partnerships in this installation." in page_text(asked)
    # Sorting keeps the choice.
    assert "/partnerships/?sort=status&amp;archived=1" in asked


def test_the_portfolio_leaves_archived_ones_out_unless_asked(client, world):
    _archive(world.other)
    sign_in(client, world.admin.email)

    page = client.get("/portfolio").get_data(as_text=True)
    assert "Other Programme" not in page
    assert "1 archived partnership not shown." in page_text(page)
    assert "Other Programme" not in client.get("/portfolio/export.csv").get_data(as_text=True)

    asked = client.get("/portfolio?archived=1").get_data(as_text=True)
    assert "Other Programme" in asked
    assert "Archived" in page_text(asked)
    csv = client.get("/portfolio/export.csv?archived=1").get_data(as_text=True)
    assert "Other Programme" in csv


def test_a_member_sees_the_archived_banner_and_no_edit_buttons(client, world):
    _archive(world.partnership)
    sign_in(client, world.lead.email)
    pid = world.partnership.id

    overview = client.get(f"/partnerships/{pid}")
    assert overview.status_code == 200
    text = page_text(overview.get_data(as_text=True))
    assert "This partnership is closed: everything can be read and exported" in text
    assert "An administrator can reopen it." in text
    assert 'id="settings-link"' not in overview.get_data(as_text=True)
    assert 'id="setup-checklist"' not in overview.get_data(as_text=True)
    # Every section carries the banner.
    assert "This partnership is closed" in page_text(
        client.get(f"/partnerships/{pid}/slas/").get_data(as_text=True)
    )


def test_an_admin_is_offered_reopen_on_an_archived_partnership(client, world):
    _archive(world.partnership)
    sign_in(client, world.admin.email)
    html = client.get(f"/partnerships/{world.partnership.id}").get_data(as_text=True)
    assert f'href="/partnerships/{world.partnership.id}/reopen" id="reopen-link"' in html
    assert 'id="archive-link"' not in html


def test_a_lead_is_not_offered_archive(client, world):
    sign_in(client, world.lead.email)
    html = client.get(f"/partnerships/{world.partnership.id}").get_data(as_text=True)
    assert 'id="archive-link"' not in html
    assert 'id="settings-link"' in html
    assert 'id="history-link"' in html


def test_scorecards_for_everyone_leave_archived_partnerships_out(app, world):
    assert partnerships_to_issue([], everyone=True) == [world.partnership.id, world.other.id]
    _archive(world.other)
    assert partnerships_to_issue([], everyone=True) == [world.partnership.id]
