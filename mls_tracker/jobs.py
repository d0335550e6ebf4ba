"""Background jobs on Huey: imports and scorecards run outside the web request.

Storage: a SQLite file in ``instance/huey.db`` by default (``make run`` starts a worker beside
the web server: ``flask jobs worker``), Redis when ``REDIS_URL`` is set so that workers can
run on other machines, and inline in memory when ``TESTING`` or ``HUEY_IMMEDIATE`` is on.

    from mls_tracker import jobs

    @jobs.handler("survey_import")
    def run_import(ctx: jobs.JobContext) -> dict:
        # ctx.job_id, ctx.kind, ctx.partnership_id, ctx.user_id, ctx.params (the dict given
        # to submit). Runs in its own app context and database session (in a worker process,
        # or at once inside submit() when TESTING / HUEY_IMMEDIATE).
        ctx.progress(done, total, "Checking rows")   # seen by pollers at once: it is not
                                                      # part of the database transaction
        ...                                           # do the work; commit it yourself
        return {"rows_added": 10}                     # JSON-able: stored as the job's result

    job_id = jobs.submit("survey_import", partnership_id=pid, user_id=uid, params={...})
    view = jobs.get(job_id)        # JobView(id, kind, partnership_id, user_id, state, done,
                                   #  total, message, result, error, created_at, finished_at)
                                   # or None

A handler that raises ``jobs.JobFailed(message, details=None)`` (or any DomainError) ends
the job as failed with that message (details, JSON-able, become the result); anything else
ends it as failed with a generic message and a logged traceback. Either way the handler's
session is rolled back first.

Leases: a worker beats for the job it runs (a thread, every quarter of the lease, in the
queue's key-value store and in the job's row, each in its own short write so that it never
waits on the job's transaction). A sweeper fails a running job whose worker has not beaten
for ``JOB_LEASE_SECONDS`` (the worker died: "The worker running this job stopped …") and a job
left queued for ``JOB_QUEUED_LEASE_SECONDS`` (its queue message was lost, or taken by a worker
that died before starting it). It runs in the worker every ``JOB_SWEEP_SECONDS`` and whenever
a job's status is read, so a page stops saying "running" even with no worker left. Recording
a job and queueing it succeed or fail together: when the queue cannot be written, the job is
removed again and ``submit`` raises ``Unavailable``. ``JOB_PLUGINS`` (comma-separated module
names) are imported at start-up to register more job kinds (tests use it for a slow job).

Pages show progress with the generic partial ``templates/jobs/_progress.html``:
``{% include "jobs/_progress.html" %}`` with ``job`` (a JobView) and ``done_url`` in the
context; its script (static/js/job-progress.js) polls ``url_for('jobs.status', job_id=…)``
(JSON) and loads ``done_url`` when the job has finished (succeeded or failed).
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Blueprint, Flask, current_app, jsonify
from flask_login import current_user
from flask_security import auth_required
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey

from mls_tracker import access
from mls_tracker.access import Action
from mls_tracker.extensions import db
from mls_tracker.models import Job, JobState, utcnow
from mls_tracker.services.errors import DomainError, NotFound, Unavailable

log = logging.getLogger("mls_tracker.jobs")

Handler = Callable[["JobContext"], dict[str, Any] | None]
_HANDLERS: dict[str, Handler] = {}

GENERIC_FAILURE = "The job stopped on an unexpected error. It has been logged; try again."
QUEUE_UNAVAILABLE = (
    "The job queue cannot be written just now, so nothing was started. Try again in a few "
    "minutes; if it goes on, tell your administrator."
)
# Lease defaults, in seconds (settings or environment variables of the same names).
LEASES = {"JOB_LEASE_SECONDS": 60.0, "JOB_QUEUED_LEASE_SECONDS": 900.0, "JOB_SWEEP_SECONDS": 15.0}

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


class JobFailed(DomainError):
    """Ends a job as failed with a message for the user and optional JSON-able details."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Registers the function that runs jobs of ``kind``."""

    def register(function: Handler) -> Handler:
        if _HANDLERS.get(kind, function) is not function:
            raise RuntimeError(f"a handler for job kind {kind!r} is already registered")
        _HANDLERS[kind] = function
        return function

    return register


@dataclass(frozen=True, slots=True)
class JobView:
    id: int
    kind: str
    partnership_id: int | None
    user_id: int | None
    state: str
    done: int
    total: int | None
    message: str | None
    result: dict[str, Any] | None
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @property
    def finished(self) -> bool:
        return self.state in (JobState.SUCCEEDED, JobState.FAILED)

    @property
    def percent(self) -> int | None:
        if self.state == JobState.SUCCEEDED:
            return 100
        if not self.total:
            return None
        return max(0, min(100, round(100 * self.done / self.total)))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "finished": self.finished,
            "done": self.done,
            "total": self.total,
            "percent": self.percent,
            "message": self.message,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class JobContext:
    job_id: int
    kind: str
    partnership_id: int | None
    user_id: int | None
    params: dict[str, Any]

    def acting_user(self) -> Any:
        """The user who started the job. JobFailed when there is none any more: deleting a
        user empties ``user_id``, and a job must never run with nobody's rights checked."""
        from mls_tracker.models import User

        user = db.session.get(User, self.user_id) if self.user_id is not None else None
        if user is None:
            raise JobFailed("The person who started this job no longer exists.")
        return user

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Publishes progress at once, outside the job's database transaction (which on
        SQLite would hold the write lock a separate progress commit needs)."""
        _queue().huey.put(_progress_key(self.job_id), json.dumps([int(done), total, message]))


class _Queue:
    def __init__(self, huey: Huey, task: Any) -> None:
        self.huey = huey
        self.task = task
        self.webhook_task: Any = None  # set by services.webhooks.init_app


def _progress_key(job_id: int) -> str:
    return f"mls-job-progress:{job_id}"


def _beat_key(job_id: int) -> str:
    return f"mls-job-beat:{job_id}"


def setting(app: Flask, name: str) -> float:
    """A lease setting (LEASES): the app's config, else the environment, else the default."""
    value = app.config.get(name) or os.environ.get(name) or LEASES[name]
    return float(value)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def _queue() -> _Queue:
    return current_app.extensions["mls_jobs"]


def _make_huey(app: Flask) -> Huey:
    if app.config.get("HUEY_IMMEDIATE"):
        return MemoryHuey("mls_tracker", immediate=True)
    redis_url = app.config.get("REDIS_URL")
    # HUEY_NAME keeps apart several installations (or test runs) sharing one Redis.
    name = app.config.get("HUEY_NAME") or os.environ.get("HUEY_NAME") or "mls_tracker"
    if redis_url:
        return RedisHuey(name, url=redis_url)
    path = Path(app.instance_path) / "huey.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path))


def submit(
    kind: str,
    *,
    partnership_id: int | None,
    user_id: int | None,
    params: dict[str, Any] | None = None,
) -> int:
    """Records a job, commits, and queues it. In immediate mode it has run on return."""
    if kind not in _HANDLERS:
        raise KeyError(f"no handler for job kind {kind!r}")
    job = Job(
        kind=kind,
        partnership_id=partnership_id,
        user_id=user_id,
        params=params or {},
        queued_at=utcnow(),
    )
    db.session.add(job)
    db.session.commit()
    job_id = job.id
    try:
        _queue().task(job_id)
    except Exception as error:
        # The row must not stay "Waiting for a worker…" for a message that was never queued.
        log.exception("job %s (%s) could not be queued; removed", job_id, kind)
        db.session.rollback()
        _forget(job_id)
        raise Unavailable(QUEUE_UNAVAILABLE) from error
    return job_id


def _forget(job_id: int) -> None:
    try:
        with db.engine.begin() as connection:
            connection.execute(sa.delete(Job).where(Job.id == job_id))
    except Exception:  # the database is failing too: the sweeper ends the row later
        log.exception("job %s could not be removed after its queueing failed", job_id)


def retry(job_id: int) -> None:
    """Queues a failed job again with the same parameters."""
    job = db.session.get(Job, job_id)
    if job is None or job.state != JobState.FAILED:
        raise JobFailed("Only a failed job can be retried.")
    previous = job.error, job.result, job.finished_at
    job.state = JobState.QUEUED
    job.error = None
    job.result = None
    job.finished_at = None
    job.queued_at = utcnow()
    job.worker = None
    job.heartbeat_at = None
    db.session.commit()
    queue = _queue()
    try:
        queue.huey.delete(_progress_key(job_id))
        queue.task(job_id)
    except Exception as error:
        log.exception("job %s could not be queued again", job_id)
        db.session.rollback()
        job = db.session.get(Job, job_id)
        if job is not None and job.state == JobState.QUEUED:
            job.state = JobState.FAILED
            job.error, job.result, job.finished_at = previous
            db.session.commit()
        raise Unavailable(QUEUE_UNAVAILABLE) from error


def get(job_id: int) -> JobView | None:
    """A job's state and progress. A job whose lease has run out is failed first (see
    ``sweep``), so that a page never says "running" for a job no worker runs any more."""
    job = db.session.get(Job, job_id)
    if job is None:
        return None
    db.session.refresh(job)
    if job.state in (JobState.QUEUED, JobState.RUNNING):
        try:
            swept = _sweep_row(current_app, job)
        except sa.exc.SQLAlchemyError:  # a status read must not fail on the sweep: next time
            log.warning("job %s: the sweep on reading it failed", job_id, exc_info=True)
            swept = False
        if swept:
            db.session.refresh(job)
    done, total, message = 0, None, None
    if job.state == JobState.RUNNING:
        raw = _queue().huey.get(_progress_key(job_id), peek=True)
        if raw:
            done, total, message = json.loads(raw)
    elif job.state == JobState.QUEUED:
        message = "Waiting for a worker…"
    return JobView(
        id=job.id,
        kind=job.kind,
        partnership_id=job.partnership_id,
        user_id=job.user_id,
        state=str(job.state),
        done=done,
        total=total,
        message=message,
        result=job.result,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


# ----------------------------------------------------------------------------- leases


class _Heartbeat:
    """Says, while a job runs, that its worker is alive: a thread writing the time to the
    queue's key-value store and to the job's row every quarter of the lease. Each write is
    its own short one on its own connection; a row write that has to wait (SQLite's write
    lock held by the job's own transaction) is skipped, the key-value beat still counts."""

    def __init__(self, app: Flask, job_id: int, attempt: int) -> None:
        self.huey = app.extensions["mls_jobs"].huey
        with app.app_context():
            self.engine = db.engine
        self.job_id, self.attempt = job_id, attempt
        self.interval = max(0.2, setting(app, "JOB_LEASE_SECONDS") / 4)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"job-{job_id}-beat", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            now = utcnow()
            try:
                self.huey.put(_beat_key(self.job_id), now.isoformat())
            except Exception:
                log.warning("job %s: heartbeat not stored in the queue", self.job_id)
            try:
                with self.engine.connect() as connection:
                    if connection.dialect.name == "sqlite":
                        connection.exec_driver_sql("PRAGMA busy_timeout = 50")
                    connection.execute(
                        sa.update(Job)
                        .where(Job.id == self.job_id, Job.attempts == self.attempt)
                        .values(heartbeat_at=now)
                    )
                    connection.commit()
            except Exception:
                log.debug("job %s: heartbeat not written to its row", self.job_id)


def _kv_beat(job_id: int) -> dt.datetime | None:
    try:
        raw = _queue().huey.get(_beat_key(job_id), peek=True)
        return dt.datetime.fromisoformat(raw) if raw else None
    except Exception:
        return None


def _last_alive(job: Job) -> dt.datetime | None:
    """When the worker running ``job`` was last known alive."""
    times = [t for t in (job.started_at, job.heartbeat_at, _kv_beat(job.id)) if t is not None]
    return max(times) if times else None


def stopped_message(job_id: int, kind: str) -> str:
    """The error of a job whose worker died, with how far it had got."""
    where = ""
    try:
        raw = _queue().huey.get(_progress_key(job_id), peek=True)
        done, total, _message = json.loads(raw) if raw else (0, None, None)
    except Exception:
        done, total = 0, None
    unit = " rows" if "import" in kind else ""
    if total:
        where = f" (at {int(done):,} of {int(total):,}{unit})"
    elif done:
        where = f" (at {int(done):,}{unit})"
    return f"The worker running this job stopped{where}. Nothing of it was saved; retry it."


NOT_STARTED = (
    "No worker started this job: the job queue lost it, or no worker is running. Nothing of "
    "it was saved; retry it."
)


def _sweep_row(app: Flask, job: Job) -> bool:
    """``_sweep_job`` for a job row as loaded."""
    return _sweep_job(
        app,
        job.id,
        job.state,
        job.attempts,
        job.kind,
        job.queued_at or job.created_at,
        _last_alive(job),
    )


def _sweep_job(
    app: Flask,
    job_id: int,
    state: str,
    attempt: int,
    kind: str,
    queued_at: dt.datetime,
    alive_at: dt.datetime | None,
) -> bool:
    """Fails one job whose lease has run out; True when it did. The write is conditional
    (same state, same attempt) and on its own connection, apart from the caller's session."""
    now = utcnow()
    if state == JobState.RUNNING:
        lease = dt.timedelta(seconds=setting(app, "JOB_LEASE_SECONDS"))
        if alive_at is not None and alive_at > now - lease:
            return False
        error = stopped_message(job_id, kind)
    else:
        lease = dt.timedelta(seconds=setting(app, "JOB_QUEUED_LEASE_SECONDS"))
        if queued_at > now - lease:
            return False
        error = NOT_STARTED
    with db.engine.begin() as connection:
        swept = connection.execute(
            sa.update(Job)
            .where(Job.id == job_id, Job.state == state, Job.attempts == attempt)
            .values(state=JobState.FAILED, error=error, finished_at=now)
        ).rowcount
    if swept:
        log.warning("job %s (%s) failed by the sweeper: %s", job_id, kind, error)
    return bool(swept)


def sweep() -> int:
    """Fails every job whose lease has run out (``flask jobs sweep``, and every
    JOB_SWEEP_SECONDS in the worker); returns how many."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    rows = db.session.scalars(
        sa.select(Job).where(Job.state.in_((JobState.QUEUED, JobState.RUNNING)))
    ).all()
    swept = 0
    for job in rows:
        swept += _sweep_row(app, job)
    db.session.rollback()
    return swept


_PERIODIC: list[Callable[[], Any]] = []


def every_sweep(task: Callable[[], Any]) -> None:
    """Runs ``task`` in the worker beside the sweeper, every JOB_SWEEP_SECONDS (webhook
    retries)."""
    if task not in _PERIODIC:
        _PERIODIC.append(task)


def _sweep_every(app: Flask, stopped: threading.Event) -> None:
    interval = setting(app, "JOB_SWEEP_SECONDS")
    while not stopped.wait(interval):
        for task in (sweep, *_PERIODIC):
            try:
                with app.app_context():
                    task()
            except Exception:
                log.exception("%s failed in the sweeper; it runs again in %s s", task, interval)


# ----------------------------------------------------------------------------- running


def _execute(job_id: int) -> None:
    """Runs one job in the current app context: marks it running, calls its handler, and
    records the outcome. Never raises: a failure is the job's state."""
    now, me = utcnow(), worker_name()
    # Claimed with one conditional write: a second message for the same job (a retry while
    # the first one still waited), or a job the sweeper has failed meanwhile, is skipped.
    claimed = db.session.execute(
        sa.update(Job)
        .where(Job.id == job_id, Job.state == JobState.QUEUED)
        .values(
            state=JobState.RUNNING,
            started_at=now,
            attempts=Job.attempts + 1,
            worker=me,
            heartbeat_at=now,
        )
    )
    db.session.commit()
    job = db.session.get(Job, job_id)
    if claimed.rowcount != 1 or job is None:
        log.warning("job %s skipped: %s", job_id, "missing" if job is None else job.state)
        return
    attempt = job.attempts
    beating = _Heartbeat(current_app._get_current_object(), job_id, attempt)  # type: ignore[attr-defined]
    beating.start()
    context = JobContext(
        job_id=job.id,
        kind=job.kind,
        partnership_id=job.partnership_id,
        user_id=job.user_id,
        params=dict(job.params or {}),
    )
    state, result, error = JobState.SUCCEEDED, None, None
    try:
        result = _HANDLERS[context.kind](context)
        db.session.commit()
    except JobFailed as failure:
        db.session.rollback()
        state, result, error = JobState.FAILED, failure.details, str(failure)
    except DomainError as failure:
        db.session.rollback()
        state, error = JobState.FAILED, str(failure)
    except Exception:
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, context.kind)
        state, error = JobState.FAILED, GENERIC_FAILURE
    finally:
        beating.stop()
    # Written even when a sweeper failed the job meanwhile (this worker was slow, not dead):
    # what the handler did is the truth. Not when the job has been retried since.
    db.session.execute(
        sa.update(Job)
        .where(Job.id == job_id, Job.attempts == attempt)
        .values(state=state, result=result, error=error, finished_at=utcnow())
    )
    db.session.commit()
    _queue().huey.delete(_progress_key(job_id))
    _queue().huey.delete(_beat_key(job_id))
    log.info("job %s (%s) %s", job_id, context.kind, state)


_warm_ups: list[Callable[[], None]] = []


def warm_up(function: Callable[[], None]) -> Callable[[], None]:
    """Registers something a worker does once when it starts, after the fork, so that its
    first job does not wait for it (the scorecards start Chromium and load WeasyPrint's fonts:
    seconds). Used as a decorator by the modules that own the work."""
    _warm_ups.append(function)
    return function


def warm_up_worker() -> None:
    """Runs every registered warm-up (in an app context); one that fails is logged and the
    worker starts anyway — its first job then does the work itself."""
    for function in _warm_ups:
        try:
            function()
        except Exception:
            log.exception("warming up %s failed", getattr(function, "__qualname__", function))


# ----------------------------------------------------------------------------- after a commit

_AFTER_COMMIT_KEY = "mls_jobs_after_commit"


def queue_after_commit(session: so.Session, task: str, ids: Iterable[int], lost: str) -> None:
    """Queues ``task`` (a task the job queue holds as an attribute: ``webhook_task`` …) for
    each of ``ids`` once the session's transaction commits, never when it rolls back: rows
    written in a transaction are handed to the worker only once they exist. ``lost`` says,
    in the log, what becomes of ids the queue could not take."""
    ids = list(ids)
    if ids:
        pending = session.info.setdefault(_AFTER_COMMIT_KEY, {})
        pending.setdefault((task, lost), []).extend(ids)


def not_after_commit(session: so.Session, task: str, ids: Iterable[int]) -> None:
    """Takes ``ids`` back from what ``queue_after_commit`` would queue for ``task``."""
    dropped = set(ids)
    for (name, _lost), pending in session.info.get(_AFTER_COMMIT_KEY, {}).items():
        if name == task:
            pending[:] = [row_id for row_id in pending if row_id not in dropped]


@sa.event.listens_for(so.Session, "after_rollback")
def _forget_after_commit(session: so.Session) -> None:
    session.info.pop(_AFTER_COMMIT_KEY, None)


@sa.event.listens_for(so.Session, "after_commit")
def _queue_committed(session: so.Session) -> None:
    pending = session.info.pop(_AFTER_COMMIT_KEY, None)
    for (task, lost), ids in (pending or {}).items():
        try:
            queue = getattr(current_app.extensions["mls_jobs"], task)
            for row_id in ids:
                queue(row_id)
        except Exception:  # the rows are committed: ``lost`` says what becomes of them
            log.warning("%s %s not queued; %s", task, ids, lost)


def runs_inline() -> bool:
    """Whether jobs run in the process that submits them (no worker; tests, some demos)."""
    return bool(_queue().huey.immediate)


def init_app(app: Flask) -> None:
    huey = _make_huey(app)

    @huey.task(name="mls_tracker.run_job")
    def run_job(job_id: int) -> None:
        with app.app_context():
            _execute(job_id)

    parent_pid = os.getpid()

    @huey.on_startup()
    def _after_fork() -> None:
        # A forked worker process must not share its parent's database connections.
        if os.getpid() != parent_pid:
            with app.app_context():
                db.engine.dispose(close=False)
                warm_up_worker()  # before the worker takes its first job

    app.extensions["mls_jobs"] = _Queue(huey, run_job)
    app.register_blueprint(bp)
    plugins = app.config.get("JOB_PLUGINS") or os.environ.get("JOB_PLUGINS") or ""
    for module in filter(None, (name.strip() for name in plugins.split(","))):
        importlib.import_module(module)


@bp.get("/<int:job_id>")
@auth_required()
def status(job_id: int):
    """A job's state and progress as JSON, for the progress bar."""
    view = get(job_id)
    if view is None:
        raise NotFound()
    if view.partnership_id is not None:
        access.require(current_user, Action.VIEW, view.partnership_id)
    elif not (current_user.is_admin or view.user_id == current_user.id):
        raise NotFound()
    response = jsonify(view.as_json())
    response.headers["Cache-Control"] = "no-store"
    return response


def run_worker(workers: int, announce: Callable[[str], None]) -> None:
    """Runs the job worker (``flask jobs worker``) until interrupted; JobFailed when jobs run
    inline in this configuration."""
    queue = _queue()
    if queue.huey.immediate:
        raise JobFailed("Jobs run inline in this configuration; no worker needed.")
    announce(f"Job worker: {workers} process(es), storage {type(queue.huey).__name__}")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    stopped = threading.Event()
    sweeper = threading.Thread(
        target=_sweep_every, args=(app, stopped), name="job-sweeper", daemon=True
    )
    sweeper.start()
    try:
        queue.huey.create_consumer(workers=workers, worker_type="process").run()
    finally:
        stopped.set()
