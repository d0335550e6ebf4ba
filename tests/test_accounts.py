"""People administration: list and filters, invitations into the product, the last
administrator, deactivation with a saved cookie, two-factor reset, memberships, own account."""

from __future__ import annotations

import re

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import ApiToken, Membership, Role, User, UserSession
from tests.conftest import csrf_token, sign_in, text_of


def _post(client, url, data, page=None):
    token = csrf_token(client, page or url)
    return client.post(url, data={**data, "csrf_token": token})


def _count_statements(app, call):
    statements = []

    def count(*_args, **_kwargs):
        statements.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_list_search_filters_and_csv(client, world):
    sign_in(client, world.admin.email)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "lead@test.example" in page and "outsider@test.example" in page
    found = client.get("/admin/users?q=LEAD").get_data(as_text=True)
    assert "lead@test.example" in found and "viewer@test.example" not in found
    providers = client.get("/admin/users?role=provider").get_data(as_text=True)
    assert "provider@test.example" in providers and "lead@test.example" not in providers
    admins = client.get("/admin/users?role=admin").get_data(as_text=True)
    assert "admin@test.example" in admins and "lead@test.example" not in admins
    never = client.get("/admin/users?signed_in=never").get_data(as_text=True)
    assert f'id="person-{world.viewer.id}"' in never
    assert f'id="person-{world.admin.id}"' not in never
    org = world.lead.organisation_id
    by_org = client.get(f"/admin/users?organisation={org}").get_data(as_text=True)
    assert "sponsor@test.example" in by_org and "provider@test.example" not in by_org
    csv = client.get("/admin/users.csv?role=lead").get_data(as_text=True)
    assert "lead@test.example" in csv and "Global Learning (lead)" in csv
    assert "viewer@test.example" not in csv


def test_list_query_count_does_not_grow_with_rows(app, client, world):
    sign_in(client, world.admin.email)
    client.get("/admin/users")
    few = _count_statements(app, lambda: client.get("/admin/users"))
    for n in range(40):
        user = User(
            email=f"extra{n}@test.example", display_name=f"Extra {n}", fs_uniquifier=f"x{n}"
        )
        db.session.add(user)
        db.session.flush()
        db.session.add(
            Membership(user_id=user.id, partnership_id=world.partnership.id, role=Role.VIEWER)
        )
    db.session.commit()
    client.get("/admin/users")  # the navigation's queue counts, counted again after the writes
    many = _count_statements(app, lambda: client.get("/admin/users"))
    assert many == few


def test_product_invitation_makes_an_admin_without_a_partnership(app, client, world, mailbox):
    sign_in(client, world.admin.email)
    response = _post(
        client,
        "/admin/users/invite",
        {"email": "new.admin@test.example", "display_name": "Nina", "make_admin": "y"},
    )
    assert response.status_code == 302
    assert mailbox[0]["Subject"] == "You are invited to MLS Tracker"
    body = text_of(mailbox[0])
    assert "You will be an administrator" in body
    link = re.search(r"http://localhost:5000(/invitations/\S+)", body).group(1)

    newcomer = app.test_client()
    page = newcomer.get(link).get_data(as_text=True)
    assert "Join MLS Tracker" in page
    response = _post(
        newcomer,
        link,
        {
            "display_name": "Nina Admin",
            "password": "a-good-long-passphrase-1",
            "password_confirm": "a-good-long-passphrase-1",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "new.admin@test.example"))
    assert user.is_admin and user.memberships == []
    assert newcomer.get("/admin/users").status_code == 200


def test_invitation_with_partnership_and_organisation(app, client, world, mailbox):
    sign_in(client, world.admin.email)
    response = _post(
        client,
        "/admin/users/invite",
        {
            "email": "pat@test.example",
            "organisation_id": str(world.lead.organisation_id),
            "partnership_id": str(world.partnership.id),
            "role": "lead",
        },
    )
    assert response.status_code == 302
    assert "Global Learning" in mailbox[0]["Subject"]
    link = re.search(r"http://localhost:5000(/invitations/\S+)", text_of(mailbox[0])).group(1)
    newcomer = app.test_client()
    _post(
        newcomer,
        link,
        {
            "display_name": "Pat",
            "password": "a-good-long-passphrase-1",
            "password_confirm": "a-good-long-passphrase-1",
        },
    )
    user = db.session.scalar(sa.select(User).where(User.email == "pat@test.example"))
    assert user.organisation_id == world.lead.organisation_id
    assert [(m.partnership_id, m.role) for m in user.memberships] == [
        (world.partnership.id, Role.LEAD)
    ]


def test_inviting_an_existing_account_says_what_to_do(client, world, mailbox):
    sign_in(client, world.admin.email)
    response = _post(client, "/admin/users/invite", {"email": "Lead@test.example"})
    assert response.status_code == 200
    assert "already has an account" in response.get_data(as_text=True)
    assert mailbox == []


def test_last_active_admin_cannot_remove_own_role_or_deactivate(client, world):
    sign_in(client, world.admin.email)
    url = f"/admin/users/{world.admin.id}"
    response = _post(client, f"{url}/admin", {"value": "off"}, page=url)
    assert response.status_code == 302
    assert "only active administrator" in client.get(url).get_data(as_text=True)
    _post(client, f"{url}/active", {"value": "off"}, page=url)
    db.session.refresh(world.admin)
    assert world.admin.is_admin and world.admin.active

    # With a second administrator, it may.
    world.lead.is_admin = True
    db.session.commit()
    _post(client, f"{url}/admin", {"value": "off"}, page=url)
    db.session.refresh(world.admin)
    assert not world.admin.is_admin


def test_deactivation_signs_out_a_saved_cookie_and_revokes_tokens(app, client, world):
    victim = app.test_client()
    sign_in(victim, world.lead.email)
    assert victim.get("/partnerships/").status_code == 200
    db.session.add(ApiToken(user_id=world.lead.id, name="script", token_hash="h" * 64))
    db.session.commit()

    sign_in(client, world.admin.email)
    url = f"/admin/users/{world.lead.id}"
    response = _post(client, f"{url}/active", {"value": "off"}, page=url)
    assert response.status_code == 302
    response = victim.get("/partnerships/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert db.session.scalar(sa.select(ApiToken.revoked_at)) is not None

    # Reactivating revives no old session: the saved cookie stays signed out.
    _post(client, f"{url}/active", {"value": "on"}, page=url)
    db.session.expire_all()
    assert world.lead.active
    assert victim.get("/partnerships/").status_code == 302
    open_sessions = db.session.scalar(
        sa.select(sa.func.count(UserSession.id)).where(
            UserSession.user_id == world.lead.id, UserSession.ended_at.is_(None)
        )
    )
    assert open_sessions == 0


def test_reset_two_factor(client, world):
    world.viewer.tf_primary_method = "authenticator"
    world.viewer.tf_totp_secret = "secret"
    db.session.commit()
    sign_in(client, world.admin.email)
    url = f"/admin/users/{world.viewer.id}"
    _post(client, f"{url}/two-factor", {"submit": "Confirm"}, page=url)
    db.session.refresh(world.viewer)
    assert world.viewer.tf_primary_method is None and world.viewer.tf_totp_secret is None


def test_memberships_add_change_remove(client, world):
    sign_in(client, world.admin.email)
    url = f"/admin/users/{world.viewer.id}"
    _post(
        client,
        f"{url}/memberships",
        {"partnership_id": str(world.other.id), "role": "provider"},
        page=url,
    )
    added = db.session.scalar(
        sa.select(Membership).where(
            Membership.user_id == world.viewer.id, Membership.partnership_id == world.other.id
        )
    )
    assert added.role is Role.PROVIDER
    _post(
        client,
        f"{url}/memberships/change",
        {"membership_id": str(added.id), "role": "lead", "save": "Change role"},
        page=url,
    )
    db.session.refresh(added)
    assert added.role is Role.LEAD
    added_id = added.id
    _post(
        client,
        f"{url}/memberships/change",
        {"membership_id": str(added.id), "role": "lead", "remove": "Remove"},
        page=url,
    )
    db.session.expunge_all()
    assert db.session.get(Membership, added_id) is None


def test_a_membership_of_someone_else_is_not_found(client, world):
    sign_in(client, world.admin.email)
    other = db.session.scalar(sa.select(Membership).where(Membership.user_id == world.lead.id))
    url = f"/admin/users/{world.viewer.id}"
    response = _post(
        client,
        f"{url}/memberships/change",
        {"membership_id": str(other.id), "remove": "Remove"},
        page=url,
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Membership, other.id) is not None


def test_own_account_name_and_time_zone(client, world):
    sign_in(client, world.viewer.email)
    response = _post(client, "/account", {"display_name": "Vera", "time_zone": "Europe/London"})
    assert response.status_code == 302
    db.session.refresh(world.viewer)
    assert (world.viewer.display_name, world.viewer.time_zone) == ("Vera", "Europe/London")
    response = _post(client, "/account", {"display_name": "Vera", "time_zone": "Mars/Base"})
    assert response.status_code == 200
    assert "Choose a time zone from the list." in response.get_data(as_text=True)
    db.session.refresh(world.viewer)
    assert world.viewer.time_zone == "Europe/London"
