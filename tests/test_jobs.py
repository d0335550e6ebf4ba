"""Background jobs: outcomes, progress, the status endpoint and a real Huey worker."""

from __future__ import annotations

import signal
import time

import pytest

from mls_tracker import jobs
from mls_tracker.extensions import db
from mls_tracker.models import Job, JobState
from mls_tracker.services.errors import ValidationFailed
from tests.conftest import sign_in

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
SEEN_PROGRESS: list[tuple[int, int | None, str | None]] = []


@jobs.handler("test_count")
def _count(ctx: jobs.JobContext) -> dict:
    total = ctx.params["upto"]
    for done in range(0, total + 1, 5):
        ctx.progress(done, total, "Counting")
        view = jobs.get(ctx.job_id)
        SEEN_PROGRESS.append((view.done, view.total, view.message))
    return {"counted": total}


@jobs.handler("test_refuse")
def _refuse(ctx: jobs.JobContext) -> dict:
    raise jobs.JobFailed("Row 3: the rating 7 is outside 1–5.", details={"rows": [3]})


@jobs.handler("test_invalid")
def _invalid(ctx: jobs.JobContext) -> dict:
    raise ValidationFailed("The file is empty.")


@jobs.handler("test_crash")
def _crash(ctx: jobs.JobContext) -> dict:
    job = db.session.get(Job, ctx.job_id)
    job.params = {"changed": "by the crashing handler"}  # rolled back
    raise ZeroDivisionError("boom")


@jobs.handler("test_who")
def _who(ctx: jobs.JobContext) -> dict:
    return {"user": ctx.acting_user().email}


def test_a_job_knows_who_started_it_and_fails_when_they_are_gone(app, world):
    started = jobs.submit("test_who", partnership_id=None, user_id=world.lead.id)
    assert jobs.get(started).result == {"user": world.lead.email}
    # A deleted user's jobs lose their user_id (ON DELETE SET NULL): they must not run as
    # nobody, whose rights nothing checks.
    gone = jobs.submit("test_who", partnership_id=None, user_id=None)
    view = jobs.get(gone)
    assert view.state == "failed"
    assert view.error == "The person who started this job no longer exists."


def test_a_job_reports_progress_and_its_result(app, world):
    SEEN_PROGRESS.clear()
    job_id = jobs.submit(
        "test_count", partnership_id=world.partnership.id, user_id=None, params={"upto": 10}
    )
    view = jobs.get(job_id)
    assert (view.state, view.result, view.error, view.percent) == (
        "succeeded",
        {"counted": 10},
        None,
        100,
    )
    assert view.finished and view.finished_at is not None
    # While it ran, readers saw its progress.
    assert SEEN_PROGRESS == [(0, 10, "Counting"), (5, 10, "Counting"), (10, 10, "Counting")]


def test_a_refusal_ends_the_job_failed_with_its_message(app, world):
    job_id = jobs.submit("test_refuse", partnership_id=world.partnership.id, user_id=None)
    view = jobs.get(job_id)
    assert view.state == "failed"
    assert view.error == "Row 3: the rating 7 is outside 1–5."
    assert view.result == {"rows": [3]}
    job_id = jobs.submit("test_invalid", partnership_id=world.partnership.id, user_id=None)
    assert jobs.get(job_id).error == "The file is empty."


def test_a_crash_is_logged_rolled_back_and_retryable(app, world, caplog):
    job_id = jobs.submit("test_crash", partnership_id=world.partnership.id, user_id=None)
    view = jobs.get(job_id)
    assert (view.state, view.error) == ("failed", jobs.GENERIC_FAILURE)
    assert "ZeroDivisionError" in caplog.text
    assert db.session.get(Job, job_id).params == {}
    jobs.retry(job_id)
    job = db.session.get(Job, job_id)
    assert (job.state, job.attempts) == (JobState.FAILED, 2)
    with pytest.raises(jobs.JobFailed):
        jobs.retry(jobs.submit("test_count", partnership_id=None, user_id=None, params={"upto": 0}))


def test_the_status_endpoint_answers_members_only(app, world, client):
    job_id = jobs.submit(
        "test_count", partnership_id=world.partnership.id, user_id=None, params={"upto": 5}
    )
    other_job = jobs.submit(
        "test_count",
        partnership_id=world.other.id,
        user_id=None,
        params={"upto": 5},
    )
    assert client.get(f"/jobs/{job_id}").status_code == 302
    sign_in(client, world.user("viewer").email)
    response = client.get(f"/jobs/{job_id}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json["state"] == "succeeded"
    assert response.json["finished"] is True
    assert client.get(f"/jobs/{other_job}").status_code == 404


def test_a_real_worker_runs_queued_jobs(make_app, world):
    """SqliteHuey storage and a consumer, as ``make run`` uses them."""
    worker_app = make_app(HUEY_IMMEDIATE=False)
    queue = worker_app.extensions["mls_jobs"]
    assert not queue.huey.immediate
    consumer = queue.huey.create_consumer(workers=1, worker_type="thread", periodic=False)
    # The consumer installs signal handlers for its process; keep pytest's.
    saved = {number: signal.getsignal(number) for number in SIGNALS}
    with worker_app.app_context():
        job_id = jobs.submit(
            "test_count", partnership_id=world.partnership.id, user_id=None, params={"upto": 20}
        )
        assert jobs.get(job_id).state == "queued"
        consumer.start()
        try:
            deadline = time.monotonic() + 20
            while not jobs.get(job_id).finished and time.monotonic() < deadline:
                db.session.rollback()
                time.sleep(0.05)
            view = jobs.get(job_id)
            assert view.state == "succeeded", view
            assert view.result == {"counted": 20}
        finally:
            consumer.stop(graceful=True)
            for number, handler in saved.items():
                signal.signal(number, handler)


def test_a_forked_worker_warms_up_before_its_first_job(app, monkeypatch, caplog):
    """Huey runs its start-up hooks in each worker process after the fork: the registered
    warm-ups run there (the scorecards' among them), and one that fails is logged without
    keeping the worker from starting."""
    from mls_tracker.scorecards import issuing

    assert issuing.warm_up in jobs._warm_ups
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("no fonts")

    monkeypatch.setattr(
        jobs, "_warm_ups", [lambda: ran.append("first"), broken, lambda: ran.append("last")]
    )
    hooks = list(app.extensions["mls_jobs"].huey._startup.values())
    for hook in hooks:  # in the parent process: nothing to warm, nothing disposed
        hook()
    assert ran == []
    real_pid = jobs.os.getpid()
    monkeypatch.setattr(jobs.os, "getpid", lambda: real_pid + 1)  # as in a forked worker
    # A forked worker drops its parent's pooled connections unclosed (they are the parent's to
    # close); this process is the parent, whose connections must stay closable: record it.
    disposed: list[bool] = []
    monkeypatch.setattr(db.engine, "dispose", lambda close=True: disposed.append(close))
    with caplog.at_level("ERROR", logger="mls_tracker.jobs"):
        for hook in hooks:
            hook()
    assert disposed == [False]
    assert ran == ["first", "last"]
    assert "warming up" in caplog.text and "no fonts" in caplog.text
