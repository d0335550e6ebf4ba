"""``flask partnerships import FILE --partnership ID [--as EMAIL] [--dry-run]``: the workbook
import from the command line, with the same checks as the pages."""

from __future__ import annotations

import time
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from mls_tracker.extensions import db
from mls_tracker.models import Membership, Partnership, Role, User, normalise_email
from mls_tracker.services import contract_import as service
from mls_tracker.services.contract_workbook import read_workbook
from mls_tracker.services.errors import DomainError
from mls_tracker.services.survey_files import FileRejected

partnerships_cli = AppGroup("partnerships", help="Partnerships.")


def _acting_user(partnership_id: int, email: str | None) -> User:
    if email:
        user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
        if user is None:
            raise click.ClickException(f"No user has the e-mail address {email}.")
        return user
    user = db.session.scalar(  # the partnership's first lead, else the first administrator
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.partnership_id == partnership_id, Membership.role == Role.LEAD)
        .where(User.active.is_(True))
        .order_by(User.id)
    ) or db.session.scalar(
        sa.select(User).where(User.is_admin.is_(True), User.active.is_(True)).order_by(User.id)
    )
    if user is None:
        raise click.ClickException("Give --as EMAIL: the partnership has no lead.")
    return user


@partnerships_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partnership", "partnership_id", type=int, required=True, help="Its id.")
@click.option("--as", "email", help="Import as this user (default: the first lead).")
@click.option("--dry-run", is_flag=True, help="Check the file and say what would be added.")
def import_workbook(file: Path, partnership_id: int, email: str | None, dry_run: bool) -> None:
    """Import a partnership workbook (the template of the Import page) into a partnership:
    every row or none. Problems are printed by sheet and row; the exit code is 1 when there
    are any. Unknown regions are problems here (map them in the browser, or use codes);
    unknown action owners are left unassigned."""
    if db.session.get(Partnership, partnership_id) is None:
        raise click.ClickException(f"There is no partnership {partnership_id}.")
    actor = _acting_user(partnership_id, email)
    started = time.perf_counter()
    try:
        book = read_workbook(file, file.name)
        plan = service.check(partnership_id, book, service.Decisions())
    except FileRejected as error:
        click.echo(f"File: {error}", err=True)
        raise click.exceptions.Exit(1) from error
    for problem in plan.problems:
        click.echo(f"{problem.where}: {problem.message}", err=True)
    if plan.problems:
        click.echo(f"{len(plan.problems):,} problem(s): nothing imported.", err=True)
        raise click.exceptions.Exit(1)
    summary = ", ".join(
        f"{name} {plan.new.get(name, 0):,} new / {plan.existing.get(name, 0):,} already there"
        for name in ("SLAs", "Targets", "Sponsors", "Expectations", "Actions", "Actuals")
    )
    checked = time.perf_counter() - started
    if dry_run:
        click.echo(f"No problems ({checked:.1f} s). Would import: {summary}.")
        return
    try:
        service.import_workbook(actor, partnership_id, book, service.Decisions())
    except DomainError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Imported ({time.perf_counter() - started:.1f} s): {summary}.")
