"""Service accounts: made by an administrator (``flask api service-account``), never signed
in on the web, acting through API tokens with the roles of their memberships."""

from __future__ import annotations

import re

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import AuditEntry, User
from tests.api_fixtures import API
from tests.conftest import PASSWORD, sign_in


def _create(app, world, *args: str):
    runner = app.test_cli_runner()
    return runner.invoke(
        args=["api", "service-account", "--name", "Reporting bot", "--by", world.admin.email, *args]
    )


def test_a_service_account_acts_with_its_memberships_role(app, world, api_client):
    result = _create(app, world, "--member", f"{world.partnership.id}:viewer", "--scope", "write")
    assert result.exit_code == 0, result.output
    raw = re.search(r"token \(shown once, keep it secret\): (\S+)", result.output).group(1)
    account = db.session.scalar(sa.select(User).where(User.is_service_account.is_(True)))
    assert account.password is None and account.display_name == "Reporting bot"
    client = api_client(raw)
    assert [p["role"] for p in client.get(f"{API}/partnerships").json] == ["viewer"]
    # A viewer: reads, may not create (403), and the other partnership is not there (404).
    actions = f"{API}/partnerships/{world.partnership.id}/actions"
    assert client.get(actions).status_code == 200
    body = {"title": "X", "owner_side": "client", "due_on": "2026-05-01"}
    assert client.post(actions, json=body).status_code == 403
    assert client.get(f"{API}/partnerships/{world.other.id}").status_code == 404
    # The administrator who made it is who the audit log names.
    actors = db.session.scalars(
        sa.select(AuditEntry.actor_id).where(AuditEntry.object_type == "ApiToken")
    ).all()
    assert actors == [world.admin.id]


def test_only_an_administrator_makes_service_accounts(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["api", "service-account", "--name", "Bot", "--by", world.lead.email]
    )
    assert result.exit_code != 0
    assert db.session.scalar(sa.select(User).where(User.is_service_account.is_(True))) is None


def test_a_service_account_never_signs_in_on_the_web(app, world, client):
    _create(app, world)
    account = db.session.scalar(sa.select(User).where(User.is_service_account.is_(True)))
    # Even were a password set on it somehow, the sign-in form refuses it.
    account.password = world.lead.password
    db.session.commit()
    response = sign_in(client, account.email, PASSWORD)
    assert response.status_code == 200
    assert client.get("/partnerships/").status_code == 302
