"""Provider updates of action items, the timeline, verification and reopening, and what a
provider may NOT change."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import (
    ActionItem,
    ActionStatus,
    ActionUpdate,
    AuditEntry,
    Priority,
    Side,
)
from mls_tracker.periods import utc_today
from tests import factories
from tests.conftest import csrf_token, sign_in


def _days(n: int) -> dt.date:
    return utc_today() + dt.timedelta(days=n)


def _url(world, item, what: str = "") -> str:
    base = f"/partnerships/{item.partnership_id}/actions/{item.id}"
    return f"{base}/{what}" if what else base


def _reload(item_id: int) -> ActionItem:
    db.session.expire_all()
    return db.session.get(ActionItem, item_id)


def _timeline(item_id: int) -> list[ActionUpdate]:
    return list(
        db.session.scalars(
            sa.select(ActionUpdate)
            .where(ActionUpdate.action_item_id == item_id)
            .order_by(ActionUpdate.id)
        )
    )


def _provider_item(world, **kwargs) -> ActionItem:
    item = factories.create_action(
        world.partnership,
        "Send the completion report",
        due_on=_days(5),
        owner=world.provider,
        **kwargs,
    )
    db.session.commit()
    return item


def _client_of(client, user):
    """A new client signed in as ``user``: a second person at another desk."""
    other = client.application.test_client()
    sign_in(other, user.email)
    return other


def _post(client, world, item, what: str, **data):
    page = _url(world, item)
    data.setdefault("csrf_token", csrf_token(client, page))
    return client.post(_url(world, item, what), data=data)


def test_the_provider_posts_an_update_that_lands_on_the_timeline(client, world):
    item = _provider_item(world)
    sign_in(client, world.provider.email)
    page = client.get(_url(world, item)).get_data(as_text=True)
    assert 'id="update-form"' in page
    assert 'id="verify-link"' not in page
    response = _post(
        client,
        world,
        item,
        "update",
        status="in progress",
        note="Draft shared with the L&D team.",
        evidence_url="https://docs.example.com/report-draft",
        version="1",
    )
    assert response.status_code == 302
    saved = _reload(item.id)
    assert saved.status is ActionStatus.IN_PROGRESS
    assert saved.evidence_url == "https://docs.example.com/report-draft"
    [update] = _timeline(item.id)
    assert (update.author_id, update.old_status, update.new_status, update.text) == (
        world.provider.id,
        ActionStatus.OPEN,
        ActionStatus.IN_PROGRESS,
        "Draft shared with the L&D team.",
    )
    html = client.get(_url(world, item)).get_data(as_text=True)
    assert "Draft shared with the L&amp;D team." in html
    assert "https://docs.example.com/report-draft" in html


def test_marking_done_closes_today_then_a_lead_verifies(client, world):
    item = _provider_item(world)
    sign_in(client, world.provider.email)
    _post(client, world, item, "update", status="done", note="Sent.", version="1")
    saved = _reload(item.id)
    assert (saved.status, saved.closed_on, saved.verified_at) == (
        ActionStatus.DONE,
        utc_today(),
        None,
    )
    # The provider cannot verify their own work.
    assert _post(client, world, item, "verify", version=str(saved.version)).status_code == 403

    client = _client_of(client, world.lead)
    assert 'id="verify-link"' in client.get(_url(world, item)).get_data(as_text=True)
    response = _post(client, world, item, "verify", version=str(saved.version), confirm="yes")
    assert response.status_code == 302
    verified = _reload(item.id)
    assert verified.verified_by_id == world.lead.id
    assert verified.verified_at is not None
    assert "Verified" in client.get(_url(world, item)).get_data(as_text=True)


def test_a_verified_item_stays_done_whatever_the_provider_posts(client, world):
    item = _provider_item(world)
    sign_in(client, world.provider.email)
    _post(client, world, item, "update", status="done", note="Sent.", version="1")
    lead = _client_of(client, world.lead)
    version = str(_reload(item.id).version)
    _post(lead, world, item, "verify", version=version, confirm="yes")
    verified = _reload(item.id)
    assert verified.verified_at is not None

    provider = _client_of(client, world.provider)
    page = provider.get(_url(world, item)).get_data(as_text=True)
    assert "the status stays done; a lead can reopen it" in page
    response = _post(
        provider,
        world,
        item,
        "update",
        status="in progress",
        note="One more fix.",
        version=str(verified.version),
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="status-error"' in html and "its status stays done" in html
    kept = _reload(item.id)
    assert (kept.status, kept.verified_by_id) == (ActionStatus.DONE, world.lead.id)
    assert [u.text for u in _timeline(item.id)] == ["Sent.", "Verified as done."]
    # A note is still welcome, and leaves the verification alone.
    _post(
        provider,
        world,
        item,
        "update",
        status="done",
        note="Slides attached.",
        version=str(kept.version),
    )
    after = _reload(item.id)
    assert after.verified_at == kept.verified_at
    assert [u.text for u in _timeline(item.id)][-1] == "Slides attached."


def test_a_lead_reopens_with_a_reason(client, world):
    item = _provider_item(world, status=ActionStatus.DONE)
    sign_in(client, world.lead.email)
    no_reason = _post(client, world, item, "reopen", reason=" ", version="1")
    assert no_reason.status_code == 200
    assert 'id="reason-error"' in no_reason.get_data(as_text=True)
    assert _reload(item.id).status is ActionStatus.DONE

    response = _post(client, world, item, "reopen", reason="The report misses APAC.", version="1")
    assert response.status_code == 302
    saved = _reload(item.id)
    assert (saved.status, saved.closed_on, saved.verified_at) == (ActionStatus.OPEN, None, None)
    [entry] = _timeline(item.id)
    assert entry.text == "Reopened: The report misses APAC."
    assert (entry.old_status, entry.new_status) == (ActionStatus.DONE, ActionStatus.OPEN)
    assert "The report misses APAC." in client.get(_url(world, item)).get_data(as_text=True)


def test_an_open_item_cannot_be_verified(client, world):
    item = _provider_item(world)
    sign_in(client, world.lead.email)
    response = _post(client, world, item, "verify", version="1", confirm="yes")
    assert response.status_code == 200
    assert "Only a done item can be verified." in response.get_data(as_text=True)
    assert _reload(item.id).verified_at is None


def test_a_provider_posting_other_fields_changes_nothing_else(client, world):
    item = _provider_item(world)
    other_item = factories.create_action(world.other, "Theirs", due_on=_days(2))
    db.session.commit()
    before = _reload(item.id)
    original = (before.title, before.due_on, before.owner_id, before.priority, before.owner_side)
    sign_in(client, world.provider.email)
    response = _post(
        client,
        world,
        item,
        "update",
        status="blocked",
        note="Waiting for data.",
        version="1",
        title="Hijacked",
        due_on=_days(300).isoformat(),
        owner_id=str(world.lead.id),
        owner_side="client",
        priority="low",
        partnership_id=str(world.other.id),
        id=str(other_item.id),
        action_item_id=str(other_item.id),
        times_carried="0",
        verified_by_id=str(world.provider.id),
    )
    assert response.status_code == 302
    saved = _reload(item.id)
    assert saved.status is ActionStatus.BLOCKED
    assert (
        saved.title,
        saved.due_on,
        saved.owner_id,
        saved.priority,
        saved.owner_side,
    ) == original
    assert saved.partnership_id == world.partnership.id
    assert saved.verified_by_id is None
    assert db.session.get(ActionItem, other_item.id).status is ActionStatus.OPEN
    assert _timeline(other_item.id) == []

    # The edit page (every field) is for leads only, and another partnership's item is a 404.
    edit = _url(world, item, "edit")
    token = csrf_token(client, _url(world, item))
    assert client.post(edit, data={"title": "Hijacked", "csrf_token": token}).status_code == 403
    foreign = f"/partnerships/{world.partnership.id}/actions/{other_item.id}/update"
    assert client.post(foreign, data={"status": "done", "csrf_token": token}).status_code == 404
    assert _reload(item.id).title == "Send the completion report"


def test_a_provider_cannot_update_a_client_side_item(client, world):
    item = factories.create_action(
        world.partnership, "Nominate pilot learners", due_on=_days(3), side=Side.CLIENT
    )
    db.session.commit()
    sign_in(client, world.provider.email)
    assert 'id="update-form"' not in client.get(_url(world, item)).get_data(as_text=True)
    response = _post(client, world, item, "update", status="done", version="1")
    assert response.status_code == 403
    assert _reload(item.id).status is ActionStatus.OPEN


def test_sponsors_and_viewers_may_not_update(client, world):
    item = _provider_item(world)
    for who in (world.sponsor, world.viewer):
        client = _client_of(client, who)
        assert 'id="update-form"' not in client.get(_url(world, item)).get_data(as_text=True)
        response = _post(client, world, item, "update", status="done", version="1")
        assert response.status_code == 403
    assert _reload(item.id).status is ActionStatus.OPEN


def test_a_lead_updates_a_client_side_item(client, world):
    item = factories.create_action(
        world.partnership, "Nominate pilot learners", due_on=_days(3), side=Side.CLIENT
    )
    db.session.commit()
    sign_in(client, world.lead.email)
    response = _post(
        client, world, item, "update", status="open", note="Names collected.", version="1"
    )
    assert response.status_code == 302
    assert _timeline(item.id)[0].text == "Names collected."


def test_an_evidence_link_must_be_http(client, world):
    item = _provider_item(world)
    sign_in(client, world.provider.email)
    for bad in ("javascript:alert(1)", "ftp://files.example.com/x", "file:///etc/passwd", "docs"):
        response = _post(
            client, world, item, "update", status="done", evidence_url=bad, version="1"
        )
        assert response.status_code == 200, bad
        html = response.get_data(as_text=True)
        assert 'id="evidence_url-error"' in html
        assert "starts with http:// or https://" in html
    saved = _reload(item.id)
    assert (saved.status, saved.evidence_url) == (ActionStatus.OPEN, None)
    assert _timeline(item.id) == []


def test_an_empty_update_is_refused(client, world):
    item = _provider_item(world)
    sign_in(client, world.provider.email)
    response = _post(client, world, item, "update", status="open", note="", version="1")
    assert response.status_code == 200
    assert 'id="note-error"' in response.get_data(as_text=True)
    assert _timeline(item.id) == []


def test_two_updates_from_the_same_page_the_second_is_refused(client, world):
    item = _provider_item(world)
    sign_in(client, world.provider.email)
    first = _post(client, world, item, "update", status="in progress", note="A", version="1")
    assert first.status_code == 302
    client = _client_of(client, world.lead)
    second = _post(client, world, item, "update", status="blocked", note="B", version="1")
    assert second.status_code == 200
    html = second.get_data(as_text=True)
    assert "Someone else saved this action item" in html
    # Nothing is lost: the note typed is still in the form, and the first update stands.
    assert "\nB</textarea>" in html
    saved = _reload(item.id)
    assert saved.status is ActionStatus.IN_PROGRESS
    assert [entry.text for entry in _timeline(item.id)] == ["A"]


def test_updates_are_audited_with_the_actor(client, world):
    item = _provider_item(world)
    sign_in(client, world.provider.email)
    _post(client, world, item, "update", status="in progress", note="Started.", version="1")
    entries = list(
        db.session.scalars(
            sa.select(AuditEntry).where(
                AuditEntry.object_type == "ActionItem", AuditEntry.object_id == str(item.id)
            )
        )
    )
    assert entries[-1].actor_id == world.provider.id
    assert entries[-1].changes["status"] == ["open", "in progress"]


def test_the_detail_page_shows_overdue_and_carried(client, world):
    item = factories.create_action(
        world.partnership,
        "Fix the LMS login",
        due_on=_days(-2),
        owner=world.provider,
        priority=Priority.CRITICAL,
        times_carried=3,
    )
    db.session.commit()
    sign_in(client, world.viewer.email)
    html = client.get(_url(world, item)).get_data(as_text=True)
    assert "Overdue</span>" in html
    assert "3 meetings" in html


def test_a_note_the_page_allows_is_saved_its_line_breaks_counted_once(client, world):
    # 500 lines of 9 letters: 5,000 characters as the page's maxlength and counter count
    # them (a line break is one), 5,500 as the browser sends them (CR LF).
    item = _provider_item(world)
    sign_in(client, world.provider.email)
    lines = ["x" * 9] * 500
    sent = "\r\n".join(lines) + "\r\n"
    assert len(sent) == 5500 and len(sent.replace("\r\n", "\n")) == 5000
    response = _post(client, world, item, "update", status="open", note=sent, version="1")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    [entry] = _timeline(item.id)
    assert entry.text == "\n".join(lines)
    too_long = _post(client, world, item, "update", status="open", note="y" * 5001, version="2")
    assert too_long.status_code == 200
    assert 'id="note-error"' in too_long.get_data(as_text=True)
