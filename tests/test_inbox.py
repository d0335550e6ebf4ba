"""The in-app inbox: each kind of notification made by the real action, read and unread, a
user's own only, and the e-mail each user chose (immediate, daily digest, none)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import (
    ActionStatus,
    Notification,
    NotificationDelivery,
    NotificationKind,
    NotificationSetting,
    Side,
)
from mls_tracker.periods import Month, utc_today
from mls_tracker.scorecards import delivery as scorecard_delivery
from mls_tracker.scorecards.issuing import _announce
from mls_tracker.services import actions, inbox, slas
from mls_tracker.services.data_version import partnership_version
from tests.conftest import csrf_token, page_text, sign_in, text_of
from tests.factories import create_action
from tests.test_scorecard_delivery import issue_scorecard_row, sent_delivery

TODAY = utc_today()
TODAY_FROM_THE_CLOCK = True  # read again as each test starts (tests/conftest.py)


def _of(user) -> list[Notification]:
    return list(
        db.session.scalars(
            sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def _assign(world, owner=None, title="Send the completion report"):
    return actions.create_action(
        world.lead,
        world.partnership,
        today=TODAY,
        title=title,
        owner_side=Side.PROVIDER,
        owner_id=(owner or world.provider).id,
        due_on=TODAY + dt.timedelta(days=5),
    )


def _choose(user, delivery: NotificationDelivery) -> None:
    inbox.set_delivery(user, delivery.value)


# ----------------------------------------------------------------------------- each kind


def test_an_item_assigned_to_someone_tells_them(world):
    item = _assign(world)
    [note] = _of(world.provider)
    assert note.kind is NotificationKind.ASSIGNED
    assert note.partnership_id == world.partnership.id
    assert note.text.startswith(f"{world.lead.display_name} assigned “Send the completion report”")
    assert note.link_path == f"/partnerships/{world.partnership.id}/actions/{item.id}"
    assert _of(world.lead) == []  # nobody is told of their own doing


def test_a_new_owner_in_an_edit_is_told(world):
    item = create_action(world.partnership, "Unowned", due_on=TODAY)
    db.session.commit()
    actions.edit_action(
        world.lead,
        item,
        today=TODAY,
        title=item.title,
        description=None,
        owner_side=Side.PROVIDER,
        owner_id=world.provider.id,
        due_on=item.due_on,
        priority=item.priority,
        status=item.status,
        sla_id=None,
        challenge_id=None,
        expected_version=item.version,
    )
    assert [n.kind for n in _of(world.provider)] == [NotificationKind.ASSIGNED]


def test_an_update_on_an_item_tells_its_owner(world):
    item = create_action(world.partnership, "Owned", due_on=TODAY, owner=world.provider)
    db.session.commit()
    actions.post_update(
        world.lead,
        item,
        today=TODAY,
        status=ActionStatus.BLOCKED,
        note="Waiting for the venue",
        evidence_url=None,
        expected_version=item.version,
    )
    [note] = _of(world.provider)
    assert note.kind is NotificationKind.UPDATE
    assert "status open → blocked" in note.text and "Waiting for the venue" in note.text
    # the owner's own update tells nobody
    actions.post_update(
        world.provider,
        item,
        today=TODAY,
        status=ActionStatus.IN_PROGRESS,
        note=None,
        evidence_url=None,
        expected_version=item.version,
    )
    assert len(_of(world.provider)) == 1


def test_a_reopened_item_tells_its_owner(world):
    item = create_action(
        world.partnership, "Done", due_on=TODAY, owner=world.provider, status=ActionStatus.DONE
    )
    db.session.commit()
    actions.reopen_action(world.lead, item, reason="Half done", expected_version=item.version)
    [note] = _of(world.provider)
    assert note.kind is NotificationKind.REOPENED
    assert note.text == f"{world.lead.display_name} reopened “Done” — Half done"


def _actual(world, actor, value: str, *, seen: int = 0, confirm: bool = False):
    return slas.save_month_actuals(
        actor,
        world.partnership,
        Month(2025, 7),
        [slas.ActualInput(world.ids["sla_id"], value, False, "", seen, confirm)],
    )


def test_a_proposed_actual_tells_the_leads_and_its_confirmation_the_proposer(world):
    assert _actual(world, world.provider, "93").ok
    [note] = _of(world.lead)
    assert note.kind is NotificationKind.ACTUAL_PROPOSED
    assert (
        note.text == f"{world.provider.display_name} proposed WLD-01 SLA WLD-01 for Jul 2025: 93."
    )
    assert note.link_path == f"/partnerships/{world.partnership.id}/slas/actuals/2025-07"
    assert _of(world.provider) == []
    assert _actual(world, world.lead, "93", seen=1, confirm=True).ok
    [confirmed] = _of(world.provider)
    assert confirmed.kind is NotificationKind.ACTUAL_CONFIRMED
    assert confirmed.text.startswith(f"{world.lead.display_name} confirmed your WLD-01")
    assert [n.kind for n in _of(world.outsider)] == []  # a lead of another partnership


def test_an_issued_scorecard_asks_linked_sponsors_to_acknowledge(world):
    scorecard = issue_scorecard_row(world.partnership, issued_by=world.lead)
    _announce(scorecard, None)  # what issuing does in the transaction that stores it
    db.session.commit()
    [note] = _of(world.sponsor)
    assert note.kind is NotificationKind.SCORECARD_TO_ACKNOWLEDGE
    assert "Oct 2026" in note.text and "acknowledge" in note.text
    assert note.link_path == (f"/partnerships/{world.partnership.id}/reviews/{scorecard.review_id}")
    assert _of(world.lead) == [] and _of(world.viewer) == []


def test_a_sponsors_comment_tells_the_leads(world):
    delivery = sent_delivery(world)
    token = scorecard_delivery.acknowledgement_token(delivery.id)
    scorecard_delivery.acknowledge(token, "Great progress on <b>completion</b>")
    [note] = _of(world.lead)
    assert note.kind is NotificationKind.SPONSOR_COMMENT
    assert (
        note.text
        == "Erika Sponsor commented on the scorecard: “Great progress on <b>completion</b>”"
    )
    scorecard_delivery.acknowledge(token, "Great progress on <b>completion</b>")  # unchanged
    assert len(_of(world.lead)) == 1


def test_a_notification_leaves_the_partnership_data_version_alone(world):
    item = create_action(world.partnership, "Owned", due_on=TODAY, owner=world.provider)
    db.session.commit()
    before = partnership_version(world.partnership.id)
    db.session.add(
        Notification(
            user_id=world.provider.id,
            partnership_id=world.partnership.id,
            kind=NotificationKind.UPDATE,
            text="x",
        )
    )
    db.session.commit()
    inbox.mark_all_read(world.provider)
    assert partnership_version(world.partnership.id) == before
    assert item.id


# ----------------------------------------------------------------------------- the page


def test_the_inbox_newest_first_unread_bold_opened_and_marked_read(client, world):
    first = _assign(world, title="First item")
    _assign(world, title="Second item")
    sign_in(client, world.provider.email)
    html = client.get("/inbox/").get_data(as_text=True)
    assert html.index("Second item") < html.index("First item")
    assert html.count("inbox-item inbox-unread") == 2
    assert re.search(r'id="nav-inbox-count">2<', html)
    [older] = [n for n in _of(world.provider) if "First item" in n.text]
    token = csrf_token(client, "/inbox/")
    response = client.post(f"/inbox/{older.id}/open", data={"csrf_token": token})
    assert response.headers["Location"].endswith(
        f"/partnerships/{world.partnership.id}/actions/{first.id}"
    )
    db.session.expire_all()
    assert db.session.get(Notification, older.id).read_at is not None
    html = client.get("/inbox/").get_data(as_text=True)
    assert html.count("inbox-item inbox-unread") == 1
    assert re.search(r'id="nav-inbox-count">1<', html)
    assert "First item" not in client.get("/inbox/?unread=1").get_data(as_text=True)
    client.post("/inbox/read-all", data={"csrf_token": token})
    html = client.get("/inbox/").get_data(as_text=True)
    assert "inbox-unread" not in html and 'id="nav-inbox-count"' not in html


def test_the_kind_filter(client, world):
    _assign(world)
    item = create_action(
        world.partnership, "Done", due_on=TODAY, owner=world.provider, status=ActionStatus.DONE
    )
    db.session.commit()
    actions.reopen_action(world.lead, item, reason="Not yet", expected_version=item.version)
    sign_in(client, world.provider.email)
    text = page_text(client.get("/inbox/?kind=reopened").get_data(as_text=True))
    assert "reopened" in text and "assigned" not in text


def test_another_users_notification_is_not_found(client, world):
    _assign(world)
    [note] = _of(world.provider)
    sign_in(client, world.lead.email)
    token = csrf_token(client, "/inbox/")
    assert client.post(f"/inbox/{note.id}/open", data={"csrf_token": token}).status_code == 404
    assert "Send the completion report" not in client.get("/inbox/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Notification, note.id).read_at is None


def test_opening_needs_a_post_with_a_token(client, world):
    _assign(world)
    [note] = _of(world.provider)
    sign_in(client, world.provider.email)
    assert client.get(f"/inbox/{note.id}/open").status_code == 405
    assert client.post(f"/inbox/{note.id}/open").status_code == 400


# ----------------------------------------------------------------------------- e-mail


def test_the_default_is_the_daily_digest_sent_once(app, world, mailbox):
    _assign(world, title="First item")
    _assign(world, title="Second item")
    assert mailbox == []  # nothing at once
    result = inbox.send_digests()
    assert (result.sent, result.notifications) == (1, 2)
    [message] = mailbox
    assert message["To"] == world.provider.email
    body = text_of(message)
    assert "First item" in body and "Second item" in body
    assert f"/partnerships/{world.partnership.id}/actions/" in body
    assert inbox.send_digests().sent == 0
    assert len(mailbox) == 1
    setting = db.session.get(NotificationSetting, world.provider.id)
    assert setting.last_digest_at is not None


def test_the_digest_command(app, world, mailbox):
    _assign(world)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["inbox", "digest", "--base-url", "https://mls.example.com"])
    assert result.exit_code == 0, result.output
    assert "1 digest sent, 1 notification." in result.output
    assert "https://mls.example.com/partnerships/" in text_of(mailbox[0])


def test_immediate_e_mail_after_the_commit(app, world, mailbox):
    _choose(world.provider, NotificationDelivery.IMMEDIATE)
    _assign(world)
    [message] = mailbox
    assert message["To"] == world.provider.email
    assert "Send the completion report" in text_of(message)
    [note] = _of(world.provider)
    assert note.emailed_at is not None
    assert inbox.send_digests().sent == 0  # not again in a digest


def test_a_failed_immediate_e_mail_loses_nothing(app, world, mailbox, monkeypatch):
    _choose(world.provider, NotificationDelivery.IMMEDIATE)
    monkeypatch.setitem(app.extensions["mail"].__dict__, "port", 1)  # nothing listens there
    _assign(world)
    assert mailbox == []
    [note] = _of(world.provider)
    assert note.emailed_at is None and note.read_at is None


def test_none_means_no_e_mail(app, world, mailbox):
    _choose(world.provider, NotificationDelivery.NONE)
    _assign(world)
    assert inbox.send_digests().sent == 0
    assert mailbox == [] and len(_of(world.provider)) == 1


def test_the_settings_page(client, world):
    sign_in(client, world.provider.email)
    html = client.get("/account/notifications").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="digest"', html)
    token = csrf_token(client, "/account/notifications")
    response = client.post(
        "/account/notifications", data={"csrf_token": token, "delivery": "immediate"}
    )
    assert response.status_code == 302
    assert inbox.delivery_of(world.provider.id) is NotificationDelivery.IMMEDIATE
    refused = client.post("/account/notifications", data={"csrf_token": token, "delivery": "x"})
    assert refused.status_code == 200
    assert inbox.delivery_of(world.provider.id) is NotificationDelivery.IMMEDIATE


@pytest.mark.parametrize("who", ["lead", "sponsor", "admin"])
def test_every_signed_in_user_has_an_inbox(client, world, who):
    sign_in(client, world.user(who).email)
    assert client.get("/inbox/").status_code == 200
