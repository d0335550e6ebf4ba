"""The ``flask`` commands: demo data and user administration."""

from __future__ import annotations

import uuid

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup
from flask_security import hash_password

from mls_tracker.extensions import db
from mls_tracker.models import User, normalise_email, utcnow

demo_cli = AppGroup("demo", help="Demonstration data.")
users_cli = AppGroup("users", help="User administration.")
figures_cli = AppGroup("figures", help="The dashboards' figures cache.")


@demo_cli.command("load")
@click.option("--reset", is_flag=True, help="Delete every row first, then load the demo.")
@click.option("--seed", default=20260101, show_default=True, help="Random seed.")
@click.option("--if-empty", is_flag=True, help="Load only when the database has no users.")
def demo_load(reset: bool, seed: int, if_empty: bool) -> None:
    """Load the Northwind Health demo: three partnerships with 24 months of history."""
    from mls_tracker.demo import DEMO_PASSWORD, DEMO_USERS, DemoAlreadyLoaded, load_demo

    if if_empty and db.session.scalar(sa.select(sa.func.count(User.id))):
        click.echo("The database already has users; demo not loaded.")
        return
    try:
        summary = load_demo(reset=reset, seed=seed, progress=click.echo)
    except DemoAlreadyLoaded as error:
        raise click.ClickException(str(error)) from error
    click.echo(summary)
    click.echo(f"\nDemo sign-ins (password: {DEMO_PASSWORD}):")
    for email, what in DEMO_USERS:
        click.echo(f"  {email:<24} {what}")


@users_cli.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", "display_name", prompt="Display name")
@click.password_option()
def create_admin(email: str, display_name: str, password: str) -> None:
    """Create an administrator (or make an existing user one)."""
    email = normalise_email(email)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        user = User(
            email=email,
            display_name=display_name,
            password=hash_password(password),
            fs_uniquifier=uuid.uuid4().hex,
            confirmed_at=utcnow(),
        )
        db.session.add(user)
    user.is_admin = True
    user.active = True
    db.session.commit()
    click.echo(f"{email} is an administrator.")


@figures_cli.command("warm")
@click.option("--months", default=12, show_default=True, help="Months back from this one.")
def figures_warm(months: int) -> None:
    """Compute the figures cache of every partnership (e.g. nightly, from cron), so that the
    first visitor of the day does not wait for it."""
    import time

    from mls_tracker.models import Partnership
    from mls_tracker.periods import Month, utc_today
    from mls_tracker.services.dashboard import month_figures

    started = time.perf_counter()
    today = utc_today()
    partnerships = db.session.scalars(sa.select(Partnership).order_by(Partnership.id)).all()
    current = Month.of(today)
    month_figures(partnerships, current.shift(-months), current, today)
    db.session.commit()
    click.echo(
        f"Figures of {len(partnerships)} partnership(s) × {months + 1} months ready "
        f"in {time.perf_counter() - started:.1f} s."
    )


def register_commands(app: Flask) -> None:
    from mls_tracker.actions.cli import register_cli as register_actions_cli
    from mls_tracker.reviews.cli import register_cli as register_scorecards_cli

    app.cli.add_command(demo_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(figures_cli)
    register_actions_cli(app)
    register_scorecards_cli(app)
