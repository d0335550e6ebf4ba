"""A lead invites a person by e-mail; the one-time link expires after 7 days."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import AuditEntry, Invitation, Membership, Role, User, utcnow
from tests.conftest import csrf_token, sign_in, sign_out, text_of


def _invite(client, world, email="new.person@test.example", role="provider", name="New Person"):
    url = f"/partnerships/{world.partnership.id}/invite"
    token = csrf_token(client, url)
    return client.post(
        url, data={"email": email, "display_name": name, "role": role, "csrf_token": token}
    )


def _link(message) -> str:
    text = text_of(message)
    return re.search(r"http://localhost:5000(/invitations/[A-Za-z0-9_\-]+)", text).group(1)


def test_invitation_email_link_creates_account_and_membership(app, client, world, mailbox):
    sign_in(client, world.lead.email)
    response = _invite(client, world)
    assert response.status_code == 302
    assert len(mailbox) == 1
    message = mailbox[0]
    assert message["To"] == "new.person@test.example"
    assert "Global Learning" in message["Subject"]
    link = _link(message)
    sign_out(client)

    page = client.get(link)
    assert page.status_code == 200
    assert "Global Learning" in page.get_data(as_text=True)
    token = csrf_token(client, link)
    response = client.post(
        link,
        data={
            "display_name": "New Person",
            "password": "a-good-long-passphrase-1",
            "password_confirm": "a-good-long-passphrase-1",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/partnerships/{world.partnership.id}")
    user = db.session.scalar(sa.select(User).where(User.email == "new.person@test.example"))
    membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == user.id))
    assert membership.role is Role.PROVIDER
    assert membership.partnership_id == world.partnership.id
    assert client.get(f"/partnerships/{world.partnership.id}").status_code == 200
    assert db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.object_type == "Membership",
            AuditEntry.partnership_id == world.partnership.id,
        )
    )

    # The link works once.
    again = app.test_client().get(link)
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True).lower() or "already used" in (
        again.get_data(as_text=True).lower()
    )


def test_expired_link_says_what_to_do(app, client, world, mailbox):
    sign_in(client, world.lead.email)
    _invite(client, world)
    link = _link(mailbox[0])
    invitation = db.session.scalar(sa.select(Invitation))
    invitation.expires_at = utcnow() - dt.timedelta(minutes=1)
    db.session.commit()
    page = app.test_client().get(link)
    assert page.status_code == 410
    text = page.get_data(as_text=True).lower()
    assert "expired" in text
    assert "new invitation" in text


def test_invitations_expire_after_seven_days(client, world, mailbox):
    sign_in(client, world.lead.email)
    _invite(client, world)
    invitation = db.session.scalar(sa.select(Invitation))
    lifetime = invitation.expires_at - invitation.created_at
    assert dt.timedelta(days=7) - dt.timedelta(seconds=5) < lifetime <= dt.timedelta(days=7)


def test_unknown_link_gets_a_clear_page(client):
    page = client.get("/invitations/made-up-token")
    assert page.status_code == 404
    assert "not valid" in page.get_data(as_text=True).lower()


def test_existing_account_joins_after_signing_in(app, client, world, mailbox):
    sign_in(client, world.lead.email)
    _invite(client, world, email=world.outsider.email, role="viewer")
    link = _link(mailbox[0])
    other = app.test_client()
    response = other.get(link)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    sign_in(other, world.outsider.email)
    token = csrf_token(other, link)
    assert other.post(link, data={"csrf_token": token}).status_code == 302
    assert other.get(f"/partnerships/{world.partnership.id}").status_code == 200


def test_bad_input_is_shown_next_to_the_field_and_nothing_is_sent(client, world, mailbox):
    sign_in(client, world.lead.email)
    response = _invite(client, world, email="not-an-email")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "not-an-email" in html
    assert "is-invalid" in html
    response = _invite(client, world, email=world.viewer.email)
    assert "already a member" in response.get_data(as_text=True)
    assert mailbox == []
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 0


def test_mail_failure_saves_nothing_and_says_so(make_app, world, mailbox):
    broken = make_app(MAIL_PORT=1)
    client = broken.test_client()
    sign_in(client, world.lead.email)
    response = _invite(client, world)
    assert response.status_code == 200
    assert "could not be sent" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 0


def test_only_leads_invite(client, world):
    sign_in(client, world.provider.email)
    assert _invite_status(client, world) == 403


def _invite_status(client, world) -> int:
    url = f"/partnerships/{world.partnership.id}/invite"
    token = csrf_token(client, "/partnerships/")
    return client.post(
        url, data={"email": "x@test.example", "role": "lead", "csrf_token": token}
    ).status_code


# ----------------------------------------------------------------------------- send again, withdraw


def _people(client, world) -> str:
    return client.get(f"/partnerships/{world.partnership.id}/people").get_data(as_text=True)


def _post_on_people(client, world, action: str, invitation_id: int):
    url = f"/partnerships/{world.partnership.id}/invitations/{invitation_id}/{action}"
    token = csrf_token(client, f"/partnerships/{world.partnership.id}/people")
    return client.post(url, data={"csrf_token": token})


def test_a_lead_sends_an_invitation_again_with_a_new_link(app, client, world, mailbox):
    sign_in(client, world.lead.email)
    _invite(client, world)
    first = _link(mailbox[0])
    invitation = db.session.scalar(sa.select(Invitation))
    invitation.expires_at = utcnow() + dt.timedelta(days=1)  # about to expire
    db.session.commit()
    assert "Send again" in _people(client, world)
    response = _post_on_people(client, world, "send-again", invitation.id)
    assert response.status_code == 302 and response.headers["Location"].endswith("#pending-heading")
    assert len(mailbox) == 2 and mailbox[1]["To"] == "new.person@test.example"
    second = _link(mailbox[1])
    assert second != first
    db.session.refresh(invitation)
    assert invitation.expires_at - utcnow() > dt.timedelta(days=6, hours=23)
    page = _people(client, world)
    assert "Invitation sent again to new.person@test.example" in page
    assert "The earlier link no longer works." in page
    assert f'datetime="{invitation.expires_at.isoformat()}"' in page  # the list shows it
    visitor = app.test_client()
    assert visitor.get(first).status_code == 404  # the earlier link is gone
    assert visitor.get(second).status_code == 200


def test_a_withdrawn_invitation_leaves_the_list_and_its_link_says_so(app, client, world, mailbox):
    sign_in(client, world.lead.email)
    _invite(client, world)
    link = _link(mailbox[0])
    invitation = db.session.scalar(sa.select(Invitation))
    response = _post_on_people(client, world, "withdraw", invitation.id)
    assert response.status_code == 302
    page = _people(client, world)
    assert "Invitation to new.person@test.example withdrawn" in page
    assert "No invitations waiting for an answer." in page
    answer = app.test_client().get(link)
    assert answer.status_code == 410
    text = answer.get_data(as_text=True)
    assert "This invitation was withdrawn" in text and "invite you again" in text
    token = csrf_token(app.test_client(), "/login")
    refused = app.test_client().post(link, data={"display_name": "X", "csrf_token": token})
    assert refused.status_code in (400, 410)
    assert db.session.scalar(sa.select(User).where(User.email == "new.person@test.example")) is None
    entry = db.session.scalar(
        sa.select(AuditEntry)
        .where(AuditEntry.object_type == "Invitation", AuditEntry.changes.isnot(None))
        .order_by(AuditEntry.id.desc())
    )
    assert entry.actor_id == world.lead.id and "withdrawn_at" in entry.changes
    # Withdrawn already: sending it again or withdrawing it again says so, and sends nothing.
    _post_on_people(client, world, "send-again", invitation.id)
    assert "was already withdrawn" in _people(client, world) and len(mailbox) == 1


def test_an_accepted_invitation_cannot_be_withdrawn(app, client, world, mailbox):
    sign_in(client, world.lead.email)
    _invite(client, world)
    invitation = db.session.scalar(sa.select(Invitation))
    invitation.accepted_at = utcnow()
    db.session.commit()
    _post_on_people(client, world, "withdraw", invitation.id)
    assert "has already accepted this invitation" in _people(client, world)
    db.session.refresh(invitation)
    assert invitation.withdrawn_at is None


def test_only_the_partnerships_leads_send_again_or_withdraw(app, client, world, mailbox):
    sign_in(client, world.lead.email)
    _invite(client, world)
    invitation = db.session.scalar(sa.select(Invitation))
    sign_out(client)
    sign_in(client, world.provider.email)
    assert "Send again" not in _people(client, world)
    for action in ("send-again", "withdraw"):
        assert _post_on_people(client, world, action, invitation.id).status_code == 403
    sign_out(client)
    sign_in(client, world.lead.email)
    other = f"/partnerships/{world.other.id}/invitations/{invitation.id}/withdraw"
    token = csrf_token(client, "/partnerships/")
    assert client.post(other, data={"csrf_token": token}).status_code == 404
    no_token = f"/partnerships/{world.partnership.id}/invitations/{invitation.id}/withdraw"
    assert client.post(no_token).status_code == 400  # no CSRF token
    db.session.refresh(invitation)
    assert invitation.withdrawn_at is None and len(mailbox) == 1


def test_an_administrator_sees_every_open_invitation_and_sends_or_withdraws_it(
    app, client, world, mailbox
):
    sign_in(client, world.lead.email)
    _invite(client, world, email="partner.invitee@test.example")
    sign_out(client)
    sign_in(client, world.admin.email)
    url = "/admin/users/invite"
    token = csrf_token(client, url)
    client.post(
        url,
        data={"email": "newcomer@test.example", "display_name": "Nia", "csrf_token": token},
    )
    assert len(mailbox) == 2
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Invitations waiting for an answer" in page and "2 waiting" in page
    assert "to MLS Tracker only" in page and "to Global Learning" in page
    product = db.session.scalar(
        sa.select(Invitation).where(Invitation.email == "newcomer@test.example")
    )
    token = csrf_token(client, "/admin/users")
    again = client.post(
        f"/admin/users/invitations/{product.id}/send-again", data={"csrf_token": token}
    )
    assert again.headers["Location"].endswith("/admin/users#invitations-heading")
    assert len(mailbox) == 3 and mailbox[2]["To"] == "newcomer@test.example"
    assert "Invitation sent again to newcomer@test.example" in client.get("/admin/users").get_data(
        as_text=True
    )
    client.post(f"/admin/users/invitations/{product.id}/withdraw", data={"csrf_token": token})
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Invitation to newcomer@test.example withdrawn" in page and "1 waiting" in page
    assert app.test_client().get(_link(mailbox[2])).status_code == 410
