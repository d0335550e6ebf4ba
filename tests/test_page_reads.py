"""What every page reads on a revisit, and the pages remembered for issue 18's throughput bar:
the partnership, the viewer's role and the data version in one query; the navigation's queue
counts remembered under the installation's data version, the unread notifications read each
time; a review's page, a partnership's People tab and the portfolio remembered, each showing
every write at once and each viewer their own; the account page's time zones rendered once."""

from __future__ import annotations

import datetime as dt
import re

from wtforms.widgets import Select

from mls_tracker import access
from mls_tracker.accounts.forms import AccountForm
from mls_tracker.extensions import db
from mls_tracker.models import (
    ActionStatus,
    DeliveryResult,
    Invitation,
    Notification,
    NotificationKind,
    Role,
    ScorecardDelivery,
    utcnow,
)
from mls_tracker.periods import utc_today
from mls_tracker.services import data_version
from mls_tracker.services import partnerships as partnerships_service
from mls_tracker.services import reviews as reviews_service
from tests import factories
from tests.conftest import csrf_token, page_text, sign_in
from tests.routes_reviews import issued_review
from tests.test_detail_pages_remembered import pages_of
from tests.test_partnerships import count_queries

TODAY = utc_today()
TODAY_FROM_THE_CLOCK = True  # read again as each test starts (tests/conftest.py)


def _revisit(client, url: str) -> list[str]:
    client.get(url)
    with count_queries() as statements:
        assert client.get(url).status_code == 200
    return statements


def _count(html: str, which: str) -> int | None:
    found = re.search(rf'id="nav-{which}-count">(\d+)<', html)
    return int(found.group(1)) if found else None


# ----------------------------------------------------------------------------- every page


def test_a_partnership_page_reads_partnership_role_and_version_in_one_query(client, world):
    sign_in(client, world.lead.email)
    statements = _revisit(client, f"/partnerships/{world.partnership.id}/sponsors/")

    # The session (with its user), the partnership with the role and the data version, the
    # navigation's unread notifications with the installation's version: nothing else.
    assert len(statements) == 3, statements
    [read] = [s for s in statements if "FROM partnerships" in s]
    assert "memberships" in read and "audit_log" in read
    assert not [s for s in statements if s.lstrip().startswith("SELECT memberships.role")]


def test_a_write_in_the_request_forgets_the_version_it_noted(app, world):
    pid = world.partnership.id
    with app.test_request_context():
        assert access.role_in(world.lead, pid) is Role.LEAD  # reads and notes the version
        noted = data_version.partnership_version(pid)
        with count_queries() as statements:
            assert data_version.partnership_version(pid) == noted
        assert statements == []  # as noted
        factories.create_action(world.partnership, "Written in the request", due_on=TODAY)
        db.session.flush()
        assert data_version.partnership_version(pid) != noted
        db.session.rollback()


def test_the_noted_version_is_the_one_read_on_its_own(app, world):
    pid = world.partnership.id
    with app.test_request_context():
        alone = data_version.partnership_version(pid)
        access.role_in(world.lead, pid)
        assert data_version.partnership_version(pid) == alone
        assert alone[0] is not None and alone[1] is not None


def test_the_queue_counts_follow_each_write_and_the_inbox_count_each_notification(client, world):
    sign_in(client, world.lead.email)
    url = f"/partnerships/{world.partnership.id}/sponsors/"
    html = client.get(url).get_data(as_text=True)
    assert _count(html, "queues") == 1  # the proposed actual of the world
    assert _count(html, "inbox") is None

    factories.create_action(world.partnership, "Done", due_on=TODAY, status=ActionStatus.DONE)
    db.session.commit()
    assert _count(client.get(url).get_data(as_text=True), "queues") == 2

    # Not audited: the queues' counts come from memory, the unread count is read again.
    db.session.add(
        Notification(user_id=world.lead.id, kind=NotificationKind.UPDATE, text="Something")
    )
    db.session.commit()
    with count_queries() as statements:
        html = client.get(url).get_data(as_text=True)
    assert _count(html, "inbox") == 1 and _count(html, "queues") == 2
    assert not [s for s in statements if "action_items" in s]


def test_the_queue_counts_are_each_users_own(client, world):
    factories.create_action(world.partnership, "Due soon", due_on=TODAY, owner=world.provider)
    db.session.commit()
    url = f"/partnerships/{world.partnership.id}/sponsors/"
    counts = []
    for who in (world.lead, world.provider, world.viewer, world.lead):
        other = client.application.test_client()
        sign_in(other, who.email)
        counts.append(_count(other.get(url).get_data(as_text=True), "queues"))
    assert counts == [1, 1, None, 1]


# ----------------------------------------------------------------------------- a review


def _review_url(world, review) -> str:
    return f"/partnerships/{world.partnership.id}/reviews/{review.id}"


def test_a_reviews_page_shows_each_write_on_the_revisit(client, world):
    review, scorecard = issued_review(world.partnership, world.lead)
    db.session.commit()
    sign_in(client, world.lead.email)
    url = _review_url(world, review)
    assert "A calm quarter." not in client.get(url).get_data(as_text=True)

    reviews_service.update_review(
        world.lead,
        review.id,
        executive_summary="A calm quarter.",
        featured_win_ids=[],
        expected_version=review.version,
    )
    assert "A calm quarter." in page_text(client.get(url).get_data(as_text=True))

    db.session.add(
        ScorecardDelivery(
            scorecard_id=scorecard.id,
            sponsor_id=world.ids["sponsor_id"],
            email="erika@test.example",
            result=DeliveryResult.SENT,
            sent_at=scorecard.issued_at,
        )
    )
    db.session.commit()
    assert "0 of 1 acknowledged" in page_text(client.get(url).get_data(as_text=True))


def test_a_reviews_page_shows_each_viewer_their_own(client, world):
    review, scorecard = issued_review(world.partnership, world.lead)
    db.session.add(
        ScorecardDelivery(
            scorecard_id=scorecard.id,
            sponsor_id=world.ids["sponsor_id"],
            email="sponsor@test.example",
            result=DeliveryResult.SENT,
            sent_at=scorecard.issued_at,
        )
    )
    db.session.commit()
    url = _review_url(world, review)
    cases = ((world.lead, True), (world.sponsor, False), (world.provider, False))
    users = [who for who, _ in cases] + [world.lead]
    pages = list(pages_of(client, url, users))
    for (who, manages), html in zip(cases, pages, strict=False):
        assert ('id="summary-form"' in html) is manages, who.email
        assert ("you have not acknowledged it yet" in html) is (who is world.sponsor), who.email
    assert 'id="summary-form"' in pages[-1]


def test_the_summary_form_of_a_remembered_review_page_saves(client, world):
    review, _ = issued_review(world.partnership, world.lead)
    db.session.commit()
    sign_in(client, world.lead.email)
    url = _review_url(world, review)
    client.get(url)  # remembered by this visit, with the mark in place of the token
    response = client.post(
        f"{url}/edit",
        data={
            "csrf_token": csrf_token(client, url),
            "executive_summary": "Saved from a remembered page.",
            "version": str(review.version),
        },
    )
    assert response.status_code == 302
    assert "Saved from a remembered page." in client.get(url).get_data(as_text=True)


# ----------------------------------------------------------------------------- people


def _people_url(world) -> str:
    return f"/partnerships/{world.partnership.id}/people"


def _invite(world, email: str, expires_in: dt.timedelta) -> Invitation:
    invitation = Invitation(
        partnership_id=world.partnership.id,
        email=email,
        role=Role.VIEWER,
        token_hash=email.ljust(64, "0")[:64],
        invited_by_id=world.lead.id,
        expires_at=utcnow() + expires_in,
    )
    db.session.add(invitation)
    db.session.commit()
    return invitation


def test_the_people_tab_shows_each_write_and_drops_an_invitation_once_expired(
    client, world, monkeypatch
):
    sign_in(client, world.lead.email)
    url = _people_url(world)
    assert "newcomer@test.example" not in client.get(url).get_data(as_text=True)
    invitation = _invite(world, "newcomer@test.example", dt.timedelta(days=7))
    assert "newcomer@test.example" in client.get(url).get_data(as_text=True)

    world.viewer.display_name = "Vera Viewer"  # reference data: a person's name
    db.session.commit()
    assert "Vera Viewer" in page_text(client.get(url).get_data(as_text=True))

    # Time passes (no write, nothing audited): the expired invitation is gone, though the
    # list was remembered under a version that has not changed.
    later = invitation.expires_at + dt.timedelta(minutes=1)
    monkeypatch.setattr(partnerships_service, "utcnow", lambda: later)
    assert "newcomer@test.example" not in client.get(url).get_data(as_text=True)


def test_the_people_tab_shows_each_viewer_their_own(client, world):
    _invite(world, "pending@test.example", dt.timedelta(days=7))
    url = _people_url(world)
    for who in (world.lead, world.provider, world.lead):
        other = client.application.test_client()
        sign_in(other, who.email)
        html = other.get(url).get_data(as_text=True)
        text = page_text(html)
        assert f"{who.display_name} You" in text, who.email
        assert ("pending@test.example" in html) is (who is world.lead), who.email
        assert ("Invite someone" in html) is (who is world.lead), who.email


def test_the_people_tab_revisit_reads_no_member_again(client, world):
    sign_in(client, world.provider.email)
    statements = _revisit(client, _people_url(world))
    assert not [s for s in statements if "FROM memberships JOIN users" in s]
    assert len(statements) == 3, statements


# ----------------------------------------------------------------------------- the portfolio


def test_the_portfolio_shows_each_write_and_each_users_partnerships(client, world):
    sign_in(client, world.lead.email)
    assert "Global Learning" in client.get("/portfolio").get_data(as_text=True)
    world.partnership.name = "Renamed Programme"
    db.session.commit()
    html = client.get("/portfolio").get_data(as_text=True)
    assert "Renamed Programme" in html and "Global Learning" not in html

    outsider = client.application.test_client()
    sign_in(outsider, world.outsider.email)
    html = outsider.get("/portfolio").get_data(as_text=True)
    assert "Other Programme" in html and "Renamed Programme" not in html


# ----------------------------------------------------------------------------- the account


def test_the_time_zone_select_is_the_one_wtforms_renders(app, world):
    with app.test_request_context():
        form = AccountForm(formdata=None)
        form.time_zone.choices = [("", "Not set: times in UTC"), ("Europe/Paris", "Europe/Paris")]
        for chosen in ("Europe/Paris", "", "Europe/Paris"):
            form.time_zone.data = chosen
            remembered = form.time_zone(class_="form-select")
            assert remembered == Select()(form.time_zone, class_="form-select")
            assert f'selected value="{chosen}"' in remembered


def test_the_account_page_shows_the_zone_chosen(client, world):
    sign_in(client, world.lead.email)
    assert 'selected value="Europe/Paris"' not in client.get("/account").get_data(as_text=True)
    world.lead.time_zone = "Europe/Paris"
    db.session.commit()
    assert 'selected value="Europe/Paris"' in client.get("/account").get_data(as_text=True)
