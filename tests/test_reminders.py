"""``flask actions remind``: one digest per owner through a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt

from mls_tracker.cli import actions_cli
from mls_tracker.extensions import db
from mls_tracker.models import ActionStatus, Role, Side
from mls_tracker.periods import utc_today
from tests import factories
from tests.conftest import text_of


def _days(n: int) -> dt.date:
    return utc_today() + dt.timedelta(days=n)


def _items(world) -> None:
    factories.add_member(world.provider, world.other, Role.PROVIDER)
    factories.create_action(
        world.partnership, "Fix the LMS login", due_on=_days(-3), owner=world.provider
    )
    factories.create_action(
        world.other, "Send the APAC figures", due_on=_days(6), owner=world.provider
    )
    factories.create_action(world.partnership, "Far away", due_on=_days(30), owner=world.provider)
    factories.create_action(
        world.partnership,
        "Already done",
        due_on=_days(-5),
        owner=world.provider,
        status=ActionStatus.DONE,
    )
    factories.create_action(
        world.partnership, "Agree the survey", due_on=_days(1), owner=world.lead, side=Side.CLIENT
    )
    factories.create_action(world.partnership, "Nobody owns this", due_on=_days(-1))
    # The viewer owns only something far away: no e-mail.
    factories.create_action(
        world.partnership, "Viewer later", due_on=_days(20), owner=world.viewer, side=Side.CLIENT
    )
    db.session.commit()


def _by_recipient(mailbox) -> dict[str, object]:
    return {message["X-Envelope-To"]: message for message in mailbox}


def test_each_owner_gets_one_digest_of_overdue_and_soon_due_items(app, world, mailbox):
    _items(world)
    result = app.test_cli_runner().invoke(
        actions_cli, ["remind", "--base-url", "https://mls.example.com"]
    )
    assert result.exit_code == 0, result.output
    assert "2 owners e-mailed, 3 items." in result.output
    messages = _by_recipient(mailbox)
    assert set(messages) == {world.provider.email, world.lead.email}
    provider = text_of(messages[world.provider.email])
    assert "Fix the LMS login" in provider and "Overdue" in provider
    assert "Send the APAC figures" in provider and "Other Programme" in provider
    assert "Far away" not in provider and "Already done" not in provider
    assert "https://mls.example.com/partnerships/" in provider
    assert messages[world.provider.email]["Subject"] == "2 action items need your attention"
    lead = text_of(messages[world.lead.email])
    assert "Agree the survey" in lead and "Fix the LMS login" not in lead


def test_the_default_link_is_localhost(app, world, mailbox):
    _items(world)
    result = app.test_cli_runner().invoke(actions_cli, ["remind"])
    assert result.exit_code == 0, result.output
    assert "http://localhost:5000/partnerships/" in text_of(mailbox[0])


def test_nothing_due_sends_nothing(app, world, mailbox):
    factories.create_action(world.partnership, "Later", due_on=_days(30), owner=world.provider)
    db.session.commit()
    result = app.test_cli_runner().invoke(actions_cli, ["remind"])
    assert result.exit_code == 0
    assert "0 owners e-mailed, 0 items." in result.output
    assert mailbox == []


def test_a_failure_is_reported_per_recipient_and_exits_1(make_app, world, mailbox):
    _items(world)
    broken = make_app(MAIL_PORT=1)  # nothing listens on port 1
    with broken.app_context():
        result = broken.test_cli_runner().invoke(actions_cli, ["remind"])
    assert result.exit_code == 1
    assert f"Could not e-mail {world.provider.email}" in result.output
    assert f"Could not e-mail {world.lead.email}" in result.output
    assert "0 owners e-mailed" in result.output
    assert mailbox == []
