"""Every ``flask`` command, in one place: thin click commands that parse their options and
call a service.

``flask demo load``, ``flask users create-admin``, ``flask figures warm``,
``flask scorecards issue`` / ``verify`` (``scorecards/batch.py``, ``scorecards/issuing.py``),
``flask actions remind`` (``services/actions.send_reminders``; also the webhooks'
``action_item.overdue``), ``flask webhooks deliver`` and ``flask jobs worker``
(``jobs.run_worker``)."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from mls_tracker import jobs
from mls_tracker.contract_imports.cli import partnerships_cli
from mls_tracker.inbox.cli import inbox_cli
from mls_tracker.periods import Month, utc_today
from mls_tracker.scorecards import batch
from mls_tracker.scorecards.issuing import verify_scorecards
from mls_tracker.services import actions as actions_service
from mls_tracker.services import webhooks
from mls_tracker.services.mail import external_links
from mls_tracker.services.users import make_administrator
from mls_tracker.setup.cli import setup_command

demo_cli = AppGroup("demo", help="Demonstration data.")
users_cli = AppGroup("users", help="User administration.")
figures_cli = AppGroup("figures", help="The dashboards' figures cache.")
scorecards_cli = AppGroup("scorecards", help="Issued PDF scorecards.")
actions_cli = AppGroup("actions", help="Action items.")
jobs_cli = click.Group("jobs", help="Background jobs.")
api_cli = AppGroup("api", help="The JSON API: service accounts and their tokens.")
webhooks_cli = AppGroup("webhooks", help="Webhook deliveries.")


@demo_cli.command("load")
@click.option("--reset", is_flag=True, help="Delete every row first, then load the demo.")
@click.option("--seed", default=20260101, show_default=True, help="Random seed.")
@click.option("--if-empty", is_flag=True, help="Load only when the database has no users.")
def demo_load(reset: bool, seed: int, if_empty: bool) -> None:
    """Load the Northwind Health demo: three partnerships with 24 months of history."""
    from mls_tracker.demo import DEMO_PASSWORD, DEMO_USERS, DemoAlreadyLoaded, has_users, load_demo

    if if_empty and has_users():
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
    user = make_administrator(email, display_name, password)
    click.echo(f"{user.email} is an administrator.")


@figures_cli.command("warm")
@click.option("--months", default=12, show_default=True, help="Months back from this one.")
def figures_warm(months: int) -> None:
    """Compute the figures cache of every partnership (e.g. nightly, from cron), so that the
    first visitor of the day does not wait for it."""
    from mls_tracker.services.dashboard import warm_figures

    started = time.perf_counter()
    count = warm_figures(utc_today(), months)
    click.echo(
        f"Figures of {count} partnership(s) × {months + 1} months ready "
        f"in {time.perf_counter() - started:.1f} s."
    )


# --- flask scorecards ---------------------------------------------------------------------


@scorecards_cli.command("issue")
@click.option(
    "--period",
    required=True,
    help="The month, YYYY-MM (a complete month), or 'last' for the last complete month.",
)
@click.option(
    "--partnership", "partnership_ids", type=int, multiple=True, help="A partnership id (repeat)."
)
@click.option("--all", "everyone", is_flag=True, help="Every partnership that has not ended.")
@click.option("--send", is_flag=True, help="E-mail each one to the partnership's sponsors.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, writable=True, path_type=Path),
    help="Also write each PDF into this folder.",
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 32))
@click.option(
    "--missing-only",
    is_flag=True,
    help="Skip partnerships whose month already has an issued scorecard (safe to run again).",
)
@click.option(
    "--base-url",
    default=None,
    help="Where the app is served, for the acknowledgement links in the e-mails "
    "(default: SERVER_NAME if set, else http://localhost:5000).",
)
def issue_command(
    period: str,
    partnership_ids: tuple[int, ...],
    everyone: bool,
    send: bool,
    out: Path | None,
    workers: int,
    missing_only: bool,
    base_url: str | None,
) -> None:
    """Issue a new version of the month's scorecard for each partnership, opening the
    month's review where there is none."""
    today = utc_today()
    try:
        month = Month.of(today).previous() if period == "last" else Month.parse(period)
    except ValueError as error:
        raise click.BadParameter(
            "write the month as YYYY-MM, or 'last' for the last complete month",
            param_hint="--period",
        ) from error
    if month >= Month.of(today):
        raise click.BadParameter(
            f"{month.label} is not over yet: choose {Month.of(today).previous()} or earlier.",
            param_hint="--period",
        )
    if everyone == bool(partnership_ids):
        raise click.UsageError("Give --partnership ID (one or more) or --all.")
    ids = batch.partnerships_to_issue(partnership_ids, everyone)
    if out is not None and ids:
        # Files of scorecards issued earlier that never reached the folder (a full disk, a
        # crash): written now from the archive, nothing issued again for them.
        out.mkdir(parents=True, exist_ok=True)
        repairs = batch.write_missing_files(ids, month, str(out))
    else:
        repairs = []
    if missing_only:
        issued = batch.issued_for(ids, month)
        if issued:
            click.echo(f"Skipping {len(issued)} partnership(s) already issued for {month.label}.")
        ids = [pid for pid in ids if pid not in issued]
        if not ids:
            _repairs_summary(repairs)
            click.echo("Nothing to issue.")
            _files_not_written_hint(sum(1 for r in repairs if r.error), out)
            if any(r.error for r in repairs):
                raise SystemExit(1)
            return
    if not ids:
        raise click.ClickException("No partnership to issue a scorecard for.")
    _repairs_summary(repairs)
    started = time.perf_counter()
    results = batch.issue_month(
        ids,
        month,
        today,
        out=str(out) if out is not None else None,
        send=send,
        base_url=base_url,
        workers=workers,
    )
    outcomes: list[batch.Outcome] = []
    with click.progressbar(
        length=len(ids), label=f"Issuing {month.label} scorecards", show_pos=True
    ) as bar:
        for outcome in results:
            outcomes.append(outcome)
            bar.update(1)
    _issue_summary(outcomes, time.perf_counter() - started, workers)
    not_written = sum(1 for o in outcomes if o.file_error) + sum(1 for r in repairs if r.error)
    _files_not_written_hint(not_written, out)
    if any(outcome.error for outcome in outcomes) or not_written:
        raise SystemExit(1)


def _repairs_summary(repairs: list[batch.FileRepair]) -> None:
    for repair in sorted(repairs, key=lambda r: r.name):
        if repair.error is None:
            click.echo(
                f"  file written from the archive  {repair.name} (#{repair.partnership_id}): "
                f"v{repair.version} → {repair.path} (issued before, not issued again)"
            )
        else:
            click.echo(
                f"  file not written: {repair.error}  {repair.name} (#{repair.partnership_id}): "
                f"v{repair.version} → {repair.path} (issued before, in the archive)"
            )


def _files_not_written_hint(count: int, out: Path | None) -> None:
    if count:
        click.echo(
            f"{count} file(s) not written into {out}: the scorecards are issued and in the "
            "archive. Make room, then run the same command with --missing-only: it writes "
            "the missing files from the archive and issues nothing again.",
            err=True,
        )


def _issue_summary(outcomes: list[batch.Outcome], seconds: float, workers: int) -> None:
    issued = [o for o in outcomes if o.error is None]
    failed = [o for o in outcomes if o.error is not None]
    for outcome in sorted(issued, key=lambda o: o.name):
        if outcome.file_error:
            line = (
                f"  issued, file not written: {outcome.file_error}  {outcome.name} "
                f"(#{outcome.partnership_id}): v{outcome.version} is in the archive, "
                f"{outcome.path} was not written"
            )
        else:
            line = f"  issued  {outcome.name} (#{outcome.partnership_id}): v{outcome.version}"
            if outcome.path:
                line += f" → {outcome.path}"
        if outcome.sent:
            line += f"; {outcome.sent}"
        click.echo(line)
    for outcome in sorted(failed, key=lambda o: o.name):
        click.echo(f"  FAILED  {outcome.name} (#{outcome.partnership_id}): {outcome.error}")
    not_written = sum(1 for o in issued if o.file_error)
    rate = len(issued) / seconds * 60 if seconds > 0 else 0.0
    click.echo(
        f"Issued {len(issued)}, failed {len(failed)}"
        + (f", files not written {not_written}" if not_written else "")
        + f" in {seconds:.1f} s "
        f"({rate:.1f} scorecards/min, {workers} worker{'s' if workers != 1 else ''})."
    )


@scorecards_cli.command("verify")
def verify_command() -> None:
    """Check every stored scorecard's bytes against its SHA-256; exit 1 on any mismatch."""
    results = verify_scorecards()
    bad = [result for result in results if not result.ok]
    for result in bad:
        click.echo(
            f"MISMATCH scorecard #{result.scorecard_id} ({result.partnership_name}, "
            f"review #{result.review_id}, v{result.version}): stored {result.stored_sha256}, "
            f"file hashes to {result.actual_sha256}"
        )
    click.echo(f"Checked {len(results)} scorecards: {len(results) - len(bad)} ok, {len(bad)} bad.")
    if bad:
        raise SystemExit(1)


# --- flask actions -------------------------------------------------------------------------


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

    def failed(email: str, reason: str) -> None:
        click.echo(f"Could not e-mail {email}: {reason}", err=True)

    announced = webhooks.announce_overdue_actions(today)
    if announced:
        click.echo(f"{announced} action_item.overdue webhook event(s) queued.")
    with external_links(base_url):
        result = actions_service.send_reminders(today, failed)
    click.echo(
        f"{result.sent} owner{'' if result.sent == 1 else 's'} e-mailed, "
        f"{result.items} item{'' if result.items == 1 else 's'}."
    )
    if result.failures:
        click.echo(f"{len(result.failures)} e-mail(s) could not be sent.", err=True)
        raise click.exceptions.Exit(1)


# --- flask jobs ----------------------------------------------------------------------------


@jobs_cli.command("worker")
@click.option("--workers", default=2, show_default=True, help="Worker processes.")
def worker(workers: int) -> None:
    """Run the job worker (imports, scorecards) until interrupted."""
    try:
        jobs.run_worker(workers, click.echo)
    except jobs.JobFailed as error:
        raise click.ClickException(str(error)) from error


@jobs_cli.command("sweep")
def sweep_jobs() -> None:
    """Fail the jobs whose worker stopped (or that no worker started) within their lease."""
    click.echo(f"{jobs.sweep()} job(s) failed by the sweep.")


@api_cli.command("service-account")
@click.option("--name", required=True, help="What the account is for, e.g. 'Reporting bot'.")
@click.option("--by", "admin_email", required=True, help="The administrator creating it.")
@click.option(
    "--member",
    "members",
    multiple=True,
    metavar="PARTNERSHIP_ID:ROLE",
    help="A membership, e.g. 3:viewer (repeatable).",
)
@click.option("--scope", type=click.Choice(["read", "write"]), default="read", show_default=True)
@click.option("--days", type=int, default=90, show_default=True, help="Token lifetime.")
def api_service_account(
    name: str, admin_email: str, members: tuple[str, ...], scope: str, days: int
) -> None:
    """Create a service account with its memberships and a first token (shown once)."""
    from mls_tracker.extensions import security
    from mls_tracker.services import api_tokens
    from mls_tracker.services.errors import DomainError

    admin = security.datastore.find_user(case_insensitive=True, email=admin_email)
    if admin is None:
        raise click.ClickException(f"No user {admin_email}.")
    memberships = []
    for member in members:
        partnership_id, _, role = member.partition(":")
        if not partnership_id.isdigit() or not role:
            raise click.ClickException(f"Write a membership as PARTNERSHIP_ID:ROLE, not {member}.")
        memberships.append((int(partnership_id), role))
    try:
        account = api_tokens.create_service_account(admin, name, memberships)
        created = api_tokens.create_token(
            admin, account, name=f"{name} token", scope=scope, expires_in_days=days
        )
    except DomainError as error:
        raise click.ClickException(str(error) or "Not allowed.") from error
    click.echo(f"Service account {account.display_name} <{account.email}> created.")
    click.echo(f"Its {scope} token (shown once, keep it secret): {created.raw}")


@webhooks_cli.command("deliver")
def deliver_webhooks() -> None:
    """Send the webhook deliveries that are due (retries, and any the job queue lost)."""
    click.echo(f"{webhooks.deliver_due()} webhook delivery attempt(s).")


def register_commands(app: Flask) -> None:
    app.cli.add_command(api_cli)
    groups = (demo_cli, users_cli, figures_cli, actions_cli, scorecards_cli, jobs_cli, webhooks_cli)
    for group in groups:
        app.cli.add_command(group)
    app.cli.add_command(setup_command)
    app.cli.add_command(partnerships_cli)
    app.cli.add_command(inbox_cli)
