"""The service accounts' pages of the administration: create one with a partnership and a
role, give it tokens (the value shown once), revoke them, change its partnerships, deactivate
and reactivate it — administrators only, every change audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import sqlalchemy as sa
from flask import g

from mls_tracker.extensions import db
from mls_tracker.models import ApiToken, AuditAction, AuditEntry, Membership, Role, User, utcnow
from mls_tracker.services import api_tokens
from tests.api_fixtures import API
from tests.conftest import csrf_token, page_text, sign_in

NEW = "/admin/service-accounts/new"


def _account(world, name: str = "Power BI refresh", role: Role = Role.VIEWER) -> User:
    admin = db.session.get(User, world.admin.id)
    return api_tokens.create_service_account(admin, name, [(world.partnership.id, role)])


def _post(client, url: str, **data):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, url.rsplit("/", 1)[0])})


def _create_token(client, account_id: int, **fields) -> str:
    page = f"/admin/service-accounts/{account_id}"
    data = {"name": "Nightly export", "scope": "read", "expires_in_days": "30", **fields}
    response = client.post(f"{page}/tokens", data={**data, "csrf_token": csrf_token(client, page)})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _confirm(client, url: str):
    return client.post(url, data={"csrf_token": csrf_token(client, url), "submit": "Confirm"})


def _raw(html: str) -> str:
    return re.search(r'id="token-value">([^<]+)<', html).group(1)


def test_an_admin_creates_one_with_its_partnership_and_role(client, world):
    sign_in(client, world.admin.email)
    response = client.post(
        NEW,
        data={
            "name": "Reporting bot",
            "partnership_id": str(world.partnership.id),
            "role": "provider",
            "csrf_token": csrf_token(client, NEW),
        },
    )
    assert response.status_code == 302
    account = db.session.scalar(sa.select(User).where(User.is_service_account.is_(True)))
    assert response.headers["Location"].endswith(f"/admin/service-accounts/{account.id}")
    assert (account.display_name, account.password, account.active) == ("Reporting bot", None, True)
    assert [(m.partnership_id, m.role) for m in account.memberships] == [
        (world.partnership.id, Role.PROVIDER)
    ]
    # Audited as the administrator's doing, like a person's account and membership.
    entries = db.session.execute(
        sa.select(AuditEntry.object_type, AuditEntry.actor_id)
        .where(
            sa.or_(
                sa.and_(AuditEntry.object_type == "User", AuditEntry.object_id == str(account.id)),
                sa.and_(
                    AuditEntry.object_type == "Membership",
                    AuditEntry.object_id == str(account.memberships[0].id),
                ),
            )
        )
        .order_by(AuditEntry.id)
    ).all()
    assert entries == [("User", world.admin.id), ("Membership", world.admin.id)]
    text = page_text(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Reporting bot" in text and "Global Learning Provider" in text


def test_what_is_missing_is_said_next_to_each_field_and_nothing_is_created(client, world):
    sign_in(client, world.admin.email)
    html = client.post(
        NEW,
        data={
            "name": "  ",
            "partnership_id": "0",
            "role": "lead",
            "csrf_token": csrf_token(client, NEW),
        },
    ).get_data(as_text=True)
    assert re.search(r'id="name-error"[^>]*>\s*<div>Name the service account', html)
    assert re.search(r'id="partnership_id-error"[^>]*>\s*<div>Choose the partnership', html)
    assert re.search(r'<option selected value="lead">|<option value="lead" selected', html)
    assert db.session.scalar(sa.select(User).where(User.is_service_account.is_(True))) is None


def test_a_token_is_shown_once_then_only_its_prefix_and_it_works(client, world, api_client):
    account = _account(world)
    sign_in(client, world.admin.email)
    html = _create_token(client, account.id)
    raw = _raw(html)
    assert raw.startswith("mls_")
    answer = api_client(raw).get(f"{API}/partnerships")
    assert answer.status_code == 200
    assert [(p["name"], p["role"]) for p in answer.json] == [("Global Learning", "viewer")]
    page = client.get(f"/admin/service-accounts/{account.id}").get_data(as_text=True)
    assert raw not in page and "token-value" not in page
    assert raw[:12] in page_text(page) and "Nightly export" in page
    # The list counts it as live and says when it was used.
    row = page_text(client.get("/admin/service-accounts").get_data(as_text=True))
    assert "Power BI refresh" in row and "Never" not in row.split("Power BI refresh", 1)[1]


def test_a_token_with_no_name_is_refused_next_to_the_field(client, world):
    account = _account(world)
    sign_in(client, world.admin.email)
    html = _create_token(client, account.id, name="", scope="write")
    assert 'id="name-error"' in html and "Give the token a name" in html
    assert "token-value" not in html
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0


def test_revoke_asks_first_then_the_api_answers_401(client, world, api_client):
    account = _account(world)
    sign_in(client, world.admin.email)
    raw = _raw(_create_token(client, account.id))
    page = client.get(f"/admin/service-accounts/{account.id}").get_data(as_text=True)
    url = re.search(r'href="(/admin/service-accounts/\d+/tokens/\d+/revoke)"', page).group(1)
    assert "Revoke the token “Nightly export”?" in client.get(url).get_data(as_text=True)
    assert api_client(raw).get(f"{API}/partnerships").status_code == 200  # not yet
    # Without the CSRF token, nothing happens.
    assert client.post(url, data={"submit": "Confirm"}).status_code in (200, 400)
    assert api_client(raw).get(f"{API}/partnerships").status_code == 200
    assert _confirm(client, url).status_code == 302
    assert api_client(raw).get(f"{API}/partnerships").status_code == 401
    assert "Revoked" in client.get(f"/admin/service-accounts/{account.id}").get_data(as_text=True)
    token = db.session.scalar(sa.select(ApiToken))
    actor = db.session.scalar(
        sa.select(AuditEntry.actor_id)
        .where(AuditEntry.object_type == "ApiToken", AuditEntry.object_id == str(token.id))
        .where(AuditEntry.changes["revoked_at"].isnot(None))
        .order_by(AuditEntry.id.desc())
    )
    assert actor == world.admin.id


def test_someone_elses_token_is_not_there_under_a_service_account(client, world, api_token):
    account = _account(world)
    api_token(world.admin)
    own = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == world.admin.id))
    sign_in(client, world.admin.email)
    url = f"/admin/service-accounts/{account.id}/tokens/{own}/revoke"
    assert client.get(url).status_code == 404
    # A person is not a service account either.
    assert client.get(f"/admin/service-accounts/{world.lead.id}").status_code == 404


def test_deactivating_stops_its_tokens_at_once_and_reactivating_revives_none(
    client, world, api_client
):
    account = _account(world)
    sign_in(client, world.admin.email)
    raw = _raw(_create_token(client, account.id))
    url = f"/admin/service-accounts/{account.id}/deactivate"
    assert "Every token of it is revoked at once" in client.get(url).get_data(as_text=True)
    assert api_client(raw).get(f"{API}/partnerships").status_code == 200
    assert _confirm(client, url).status_code == 302
    assert api_client(raw).get(f"{API}/partnerships").status_code == 401
    page = client.get(f"/admin/service-accounts/{account.id}").get_data(as_text=True)
    assert "Deactivated" in page and "new-token-form" not in page
    listed = client.get("/admin/service-accounts?status=inactive").get_data(as_text=True)
    assert "Power BI refresh" in listed
    back = f"/admin/service-accounts/{account.id}/reactivate"
    response = client.post(back, data={"csrf_token": csrf_token(client, back.rsplit("/", 1)[0])})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, account.id).active is True
    assert api_client(raw).get(f"{API}/partnerships").status_code == 401
    changes = db.session.scalars(
        sa.select(AuditEntry.changes)
        .where(AuditEntry.object_type == "User", AuditEntry.object_id == str(account.id))
        .where(AuditEntry.actor_id == world.admin.id, AuditEntry.action == AuditAction.UPDATE)
        .order_by(AuditEntry.id)
    ).all()
    assert [c["active"] for c in changes if "active" in c] == [[True, False], [False, True]]


def test_memberships_are_added_and_removed_with_a_confirmation(client, world, api_client):
    account = _account(world)
    raw = api_tokens.create_token(
        db.session.get(User, world.admin.id), account, name="t", scope="read"
    ).raw
    sign_in(client, world.admin.email)
    page = f"/admin/service-accounts/{account.id}"
    response = client.post(
        f"{page}/memberships",
        data={
            "partnership_id": str(world.other.id),
            "role": "viewer",
            "csrf_token": csrf_token(client, page),
        },
    )
    assert response.status_code == 302
    assert api_client(raw).get(f"{API}/partnerships/{world.other.id}").status_code == 200
    # Adding it where it is already is said next to the partnership field.
    html = client.post(
        f"{page}/memberships",
        data={
            "partnership_id": str(world.other.id),
            "role": "lead",
            "csrf_token": csrf_token(client, page),
        },
    ).get_data(as_text=True)
    assert re.search(r'id="partnership_id-error"[^>]*>\s*<div>Power BI refresh is already in', html)
    membership_id = db.session.scalar(
        sa.select(Membership.id).where(
            Membership.user_id == account.id, Membership.partnership_id == world.other.id
        )
    )
    url = f"{page}/memberships/{membership_id}/remove"
    assert "Remove it from Other Programme?" in client.get(url).get_data(as_text=True)
    assert _confirm(client, url).status_code == 302
    # The test's requests share its app context, hence ``g`` and the roles cached there.
    g.pop("_membership_roles", None)
    assert api_client(raw).get(f"{API}/partnerships/{world.other.id}").status_code == 404
    db.session.expire_all()
    assert db.session.get(Membership, membership_id) is None
    # Another user's membership is not there under this account.
    lead_membership = db.session.scalar(
        sa.select(Membership.id).where(Membership.user_id == world.lead.id)
    )
    assert client.get(f"{page}/memberships/{lead_membership}/remove").status_code == 404


def test_the_list_filters_sorts_and_downloads(client, world, api_client):
    admin = db.session.get(User, world.admin.id)
    used = _account(world, "Zeta sync")
    idle = _account(world, "Alpha reports")
    raw = api_tokens.create_token(admin, used, name="z").raw
    api_tokens.create_token(admin, idle, name="a1")
    expired = api_tokens.create_token(admin, idle, name="a2").token
    expired.expires_at = utcnow() - dt.timedelta(days=1)
    db.session.commit()
    api_client(raw).get(f"{API}/partnerships")
    sign_in(client, world.admin.email)
    by_name = page_text(client.get("/admin/service-accounts").get_data(as_text=True))
    assert by_name.index("Alpha reports") < by_name.index("Zeta sync")
    by_use = page_text(client.get("/admin/service-accounts?sort=last_used").get_data(as_text=True))
    assert by_use.index("Zeta sync") < by_use.index("Alpha reports")
    found = page_text(client.get("/admin/service-accounts?q=zeta").get_data(as_text=True))
    assert "Zeta sync" in found and "Alpha reports" not in found
    response = client.get("/admin/service-accounts.csv?sort=name")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == list(api_tokens.SERVICE_ACCOUNT_CSV_COLUMNS)
    # The expired token is not live; the idle account was never used.
    assert [row[:5] for row in rows[1:]] == [
        ["Alpha reports", "active", "Global Learning (viewer)", "1", "never"],
        ["Zeta sync", "active", "Global Learning (viewer)", "1", rows[2][4]],
    ]
    assert rows[2][4] != "never"


def test_nobody_but_an_admin_reaches_them(app, world):
    account = _account(world)
    for who in (world.lead, world.viewer):
        client = app.test_client()
        sign_in(client, who.email)
        assert client.get("/admin/service-accounts").status_code == 404
        assert client.get(f"/admin/service-accounts/{account.id}").status_code == 404
        token = csrf_token(client, "/account/tokens")
        response = client.post(
            NEW,
            data={
                "name": "Mine",
                "partnership_id": str(world.partnership.id),
                "role": "lead",
                "csrf_token": token,
            },
        )
        assert response.status_code == 404
        response = client.post(
            f"/admin/service-accounts/{account.id}/tokens",
            data={"name": "Mine", "scope": "write", "expires_in_days": "30", "csrf_token": token},
        )
        assert response.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.is_service_account)) == 1
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0


def test_the_admin_home_and_the_people_page_link_to_them(client, world):
    account = _account(world)
    sign_in(client, world.admin.email)
    assert 'href="/admin/service-accounts"' in client.get("/admin").get_data(as_text=True)
    assert 'href="/admin/service-accounts"' in client.get("/admin/users").get_data(as_text=True)
    # Its person page leads to its own page (no sign-in, no administrator role there).
    response = client.get(f"/admin/users/{account.id}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/service-accounts/{account.id}")


def _statements(call) -> int:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    return len(seen)


def test_the_list_page_makes_as_many_queries_for_one_account_as_for_six(client, world):
    admin = db.session.get(User, world.admin.id)
    first = _account(world, "First")
    api_tokens.create_token(admin, first, name="t")
    sign_in(client, world.admin.email)

    def page() -> None:
        assert client.get("/admin/service-accounts").status_code == 200

    page()  # warm: the session row, the admin
    one = _statements(page)
    for n in range(5):
        account = _account(world, f"Bot {n}")
        api_tokens.add_service_membership(admin, account.id, world.other.id, Role.LEAD)
        api_tokens.create_token(admin, account, name="t")
    page()  # warm again: the navigation's counts are read afresh once after a write
    assert _statements(page) == one


def test_a_service_account_is_never_an_administrator_nor_listed_as_a_person(client, world):
    account = _account(world, "Warehouse sync")
    sign_in(client, world.admin.email)
    person = f"/admin/users/{account.id}"
    # The people page's role form, posted by hand for the account: refused, nothing changed.
    response = client.post(
        f"{person}/admin",
        data={"value": "on", "csrf_token": csrf_token(client, "/admin/users")},
    )
    assert response.status_code == 302
    db.session.refresh(account)
    assert not account.is_admin
    followed = client.get(response.headers["Location"], follow_redirects=True)
    assert "cannot be an administrator" in page_text(followed.get_data(as_text=True))

    people = page_text(client.get("/admin/users").get_data(as_text=True))
    assert "Warehouse sync" not in people and world.lead.display_name in people
    people_csv = client.get("/admin/users.csv").get_data(as_text=True)
    assert "Warehouse sync" not in people_csv
