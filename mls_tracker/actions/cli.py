"""The ``flask actions`` commands: e-mail reminders of overdue and soon-due action items."""

from __future__ import annotations

import click
from flask import Flask, url_for
from flask.cli import AppGroup

from mls_tracker.periods import utc_today
from mls_tracker.services import actions as service
from mls_tracker.services.mail import external_links, send_templated

actions_cli = AppGroup("actions", help="Action items.")


@actions_cli.command("remind")
@click.option(
    "--base-url",
    default=None,
    help="Where the app is served, for the links in the e-mails "
    "(default: SERVER_NAME if set, else http://localhost:5000).",
)
def remind(base_url: str | None) -> None:
    """E-mail each owner one digest of their overdue items and those due within 7 days."""
    today = utc_today()

    def send(digest: service.Digest) -> None:
        def link(row: service.ActionRow) -> str:
            return url_for(
                "actions.show",
                partnership_id=row.partnership_id,
                action_id=row.id,
                _external=True,
            )

        count = digest.count
        send_templated(
            digest.email,
            f"{count} action item{'' if count == 1 else 's'} need{'s' if count == 1 else ''} "
            "your attention",
            "action_reminder",
            digest=digest,
            link=link,
            today=today,
            my_actions_url=url_for("actions.mine", _external=True),
        )

    def failed(email: str, reason: str) -> None:
        click.echo(f"Could not e-mail {email}: {reason}", err=True)

    with external_links(base_url):
        result = service.send_reminders(today, send, failed)
    click.echo(
        f"{result.sent} owner{'' if result.sent == 1 else 's'} e-mailed, "
        f"{result.items} item{'' if result.items == 1 else 's'}."
    )
    if result.failures:
        click.echo(f"{len(result.failures)} e-mail(s) could not be sent.", err=True)
        raise click.exceptions.Exit(1)


def register_cli(app: Flask) -> None:
    app.cli.add_command(actions_cli)
