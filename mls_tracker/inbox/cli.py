"""``flask inbox digest``: the daily e-mail of each user's unread notifications."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from mls_tracker.services import inbox
from mls_tracker.services.mail import external_links

inbox_cli = AppGroup("inbox", help="The in-app inbox's e-mails.")


@inbox_cli.command("digest")
@click.option(
    "--base-url",
    default=None,
    help="Where the app is served, for the links in the e-mails (default: EXTERNAL_URL).",
)
def digest(base_url: str | None) -> None:
    """E-mail each user who chose the daily digest their unread notifications not e-mailed
    yet (each goes out once). Run it once a day, from cron."""
    with external_links(base_url):
        result = inbox.send_digests()
    for email, reason in result.failures:
        click.echo(f"Could not e-mail {email}: {reason}", err=True)
    click.echo(
        f"{result.sent} digest{'' if result.sent == 1 else 's'} sent, "
        f"{result.notifications} notification{'' if result.notifications == 1 else 's'}."
    )
    if result.failures:
        raise click.exceptions.Exit(1)
