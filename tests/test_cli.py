"""The small ``flask`` commands: an administrator made from the command line, and the demo
loaded only into an empty database."""

from __future__ import annotations

import sqlalchemy as sa

from mls_tracker.cli import demo_cli, users_cli
from mls_tracker.extensions import db
from mls_tracker.models import User
from tests.conftest import sign_in


def test_create_admin_makes_a_new_user_who_can_sign_in(app):
    result = app.test_cli_runner().invoke(
        users_cli,
        ["create-admin", "--email", " Root@Test.Example ", "--name", "Root"],
        input="a-long-passphrase-9\na-long-passphrase-9\n",
    )
    assert result.exit_code == 0, result.output
    assert "root@test.example is an administrator." in result.output
    user = db.session.scalar(sa.select(User).where(User.email == "root@test.example"))
    assert user.is_admin and user.active and user.display_name == "Root"
    response = sign_in(app.test_client(), "root@test.example", "a-long-passphrase-9")
    assert response.status_code == 302


def test_create_admin_promotes_an_existing_user_and_keeps_their_password(app, world):
    world.viewer.active = False
    db.session.commit()
    result = app.test_cli_runner().invoke(
        users_cli,
        ["create-admin", "--email", world.viewer.email, "--name", "Ignored"],
        input="another-passphrase-1\nanother-passphrase-1\n",
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    viewer = db.session.get(User, world.viewer.id)
    assert viewer.is_admin and viewer.active and viewer.display_name != "Ignored"
    assert sign_in(app.test_client(), world.viewer.email).status_code == 302


def test_demo_load_if_empty_leaves_a_database_with_users_alone(app, world):
    before = db.session.scalar(sa.select(sa.func.count(User.id)))
    result = app.test_cli_runner().invoke(demo_cli, ["load", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "already has users; demo not loaded" in result.output
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == before
