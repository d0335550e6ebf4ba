"""``flask setup``: print the one-time link that creates the first administrator."""

from __future__ import annotations

import click

from mls_tracker.services import setup as service


@click.command("setup")
@click.option(
    "--base-url",
    default=None,
    help="Where the app is served, for the link (default: EXTERNAL_URL).",
)
def setup_command(base_url: str | None) -> None:
    """Print the one-time set-up link that creates the first administrator.

    Only on a database with no users: the link is valid for 24 hours and stops working as soon
    as anyone has an account. When users exist it says the app is already set up and exits
    with status 0 (nothing to do), so that start-up scripts may always run it.
    """
    link = service.setup_link(base_url)
    if link is None:
        click.echo(
            "MLS Tracker is already set up: sign in, or ask an administrator for an invitation."
        )
        return
    click.echo("MLS Tracker is not set up yet. Open this link to create the first administrator")
    click.echo("(it works once, for 24 hours):")
    click.echo()
    click.echo(f"    {link}")
    click.echo()
