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

Pages show progress with the generic partial ``templates/jobs/_progress.html``:
``{% include "jobs/_progress.html" %}`` with ``job`` (a JobView) and ``done_url`` in the
context; its script (static/js/job-progress.js) polls ``url_for('jobs.status', job_id=…)``
(JSON) and loads ``done_url`` when the job has finished (succeeded or failed).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from flask_login import current_user
from flask_security import auth_required
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey

from mls_tracker import access
from mls_tracker.access import Action
from mls_tracker.extensions import db
from mls_tracker.models import Job, JobState, utcnow
from mls_tracker.services.errors import DomainError, NotFound

log = logging.getLogger("mls_tracker.jobs")

Handler = Callable[["JobContext"], dict[str, Any] | None]
_HANDLERS: dict[str, Handler] = {}

GENERIC_FAILURE = "The job stopped on an unexpected error. It has been logged; try again."

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


def _progress_key(job_id: int) -> str:
    return f"mls-job-progress:{job_id}"


def _queue() -> _Queue:
    return current_app.extensions["mls_jobs"]


def _make_huey(app: Flask) -> Huey:
    if app.config.get("HUEY_IMMEDIATE"):
        return MemoryHuey("mls_tracker", immediate=True)
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        return RedisHuey("mls_tracker", url=redis_url)
    path = Path(app.instance_path) / "huey.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("mls_tracker", filename=str(path))


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
    job = Job(kind=kind, partnership_id=partnership_id, user_id=user_id, params=params or {})
    db.session.add(job)
    db.session.commit()
    job_id = job.id
    _queue().task(job_id)
    return job_id


def retry(job_id: int) -> None:
    """Queues a failed job again with the same parameters."""
    job = db.session.get(Job, job_id)
    if job is None or job.state != JobState.FAILED:
        raise JobFailed("Only a failed job can be retried.")
    job.state = JobState.QUEUED
    job.error = None
    job.result = None
    job.finished_at = None
    db.session.commit()
    _queue().huey.delete(_progress_key(job_id))
    _queue().task(job_id)


def get(job_id: int) -> JobView | None:
    job = db.session.get(Job, job_id)
    if job is None:
        return None
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


def _execute(job_id: int) -> None:
    """Runs one job in the current app context: marks it running, calls its handler, and
    records the outcome. Never raises: a failure is the job's state."""
    job = db.session.get(Job, job_id)
    if job is None or job.state not in (JobState.QUEUED, JobState.RUNNING):
        log.warning("job %s skipped: %s", job_id, "missing" if job is None else job.state)
        return
    job.state = JobState.RUNNING
    job.started_at = utcnow()
    job.attempts += 1
    db.session.commit()
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
    job = db.session.get(Job, job_id)
    assert job is not None
    job.state, job.result, job.error, job.finished_at = state, result, error, utcnow()
    db.session.commit()
    _queue().huey.delete(_progress_key(job_id))
    log.info("job %s (%s) %s", job_id, context.kind, state)


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

    app.extensions["mls_jobs"] = _Queue(huey, run_job)
    app.register_blueprint(bp)


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
    queue.huey.create_consumer(workers=workers, worker_type="process").run()
