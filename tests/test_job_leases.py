"""Issue 16, point 5: a job whose worker dies does not stay "running" (or "waiting") forever.

Real worker processes (``flask jobs worker``) on a temporary instance folder's SQLite queue
and on Redis are killed with SIGKILL in the middle of a job; the job then ends failed with a
clear message within its lease, and a retry with a live worker succeeds. Each test takes a
few seconds (leases of 3 s)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from mls_tracker import jobs
from mls_tracker.extensions import db
from mls_tracker.models import Job
from mls_tracker.services.errors import Unavailable
from tests.conftest import sign_in
from tests.job_plugins import SLOW_KIND

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LEASE = 3  # seconds, for the tests
SETTINGS = {"JOB_LEASE_SECONDS": LEASE, "JOB_SWEEP_SECONDS": 1, "JOB_QUEUED_LEASE_SECONDS": 600}

pytestmark = pytest.mark.workers


def redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")


class Workers:
    """Starts ``flask jobs worker`` processes, each in its own working directory and
    instance folder unless told otherwise, and kills whatever is left at the end."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.started: list[subprocess.Popen] = []

    def start(self, instance: Path, **settings: object) -> subprocess.Popen:
        where = self.tmp_path / f"worker-{len(self.started)}"
        where.mkdir()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "FLASK_APP": "mls_tracker",
            "MLS_ENV": "testing",
            "MLS_INSTANCE_PATH": str(instance),
            "DATABASE_URL": self.database_url,
            "HUEY_IMMEDIATE": "0",
            "JOB_PLUGINS": "tests.job_plugins",
            **{name: str(value) for name, value in {**SETTINGS, **settings}.items()},
        }
        env.pop("REDIS_URL", None)
        if "REDIS_URL" in settings:
            env["REDIS_URL"] = str(settings["REDIS_URL"])
        with (where / "worker.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "jobs", "worker", "--workers", "1"],
                cwd=where,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: SIGKILL reaches its children
            )
        self.started.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(
            (self.tmp_path / f"worker-{n}" / "worker.log").read_text(errors="replace")[-3000:]
            for n in range(len(self.started))
        )

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                self.kill(process)


@pytest.fixture
def workers(tmp_path: Path, database_url: str) -> Iterator[Workers]:
    running = Workers(tmp_path, database_url)
    yield running
    running.close()


def wait_for(condition: Callable[[], bool], seconds: float, what: str, workers: Workers) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {seconds} s; worker logs:\n{workers.logs()}")


def kill_mid_job_then_retry(app, world, workers: Workers, instance: Path, **settings) -> None:
    with app.app_context():
        worker = workers.start(instance, **settings)
        job_id = jobs.submit(
            SLOW_KIND,
            partnership_id=world.partnership.id,
            user_id=world.lead.id,
            params={"rows": 100_000, "pause": 0.1},
        )
        wait_for(
            lambda: jobs.get(job_id).state == "running" and jobs.get(job_id).done >= 5_000,
            15,
            "the job running",
            workers,
        )
        workers.kill(worker)
        killed_at = time.monotonic()
        done = jobs.get(job_id).done

        # No worker is left: reading the job's status is what fails it, within the lease.
        client = app.test_client()
        sign_in(client, world.lead.email)

        def failed() -> bool:
            return client.get(f"/jobs/{job_id}").json["state"] == "failed"

        wait_for(failed, LEASE + 3, "the job failed", workers)
        assert time.monotonic() - killed_at <= LEASE + 3
        answer = client.get(f"/jobs/{job_id}").json
        assert answer["finished"] is True
        assert answer["error"] == (
            f"The worker running this job stopped (at {done:,} of 100,000 rows). "
            "Nothing of it was saved; retry it."
        )

        # Retried with a live worker, it succeeds.
        workers.start(instance, **settings)
        jobs.retry(job_id)
        wait_for(lambda: jobs.get(job_id).state == "succeeded", 15, "the retry", workers)
        assert jobs.get(job_id).result == {"rows": 100_000}


def test_a_job_whose_sqlite_worker_is_killed_fails_clearly_and_can_be_retried(
    make_app, world, workers, tmp_path, monkeypatch
):
    instance = tmp_path / "instance"
    instance.mkdir()
    monkeypatch.setenv("MLS_INSTANCE_PATH", str(instance))  # the queue: instance/huey.db
    app = make_app(HUEY_IMMEDIATE=False, **SETTINGS)
    kill_mid_job_then_retry(app, world, workers, instance)


def test_a_job_whose_redis_worker_is_killed_fails_clearly_and_can_be_retried(
    make_app, world, workers, tmp_path
):
    redis_or_skip()
    name = f"mls_test_{uuid.uuid4().hex[:12]}"
    app = make_app(HUEY_IMMEDIATE=False, REDIS_URL=REDIS_URL, HUEY_NAME=name, **SETTINGS)
    try:
        # The worker's instance folder is its own: nothing is shared but Redis and the database.
        kill_mid_job_then_retry(
            app, world, workers, tmp_path / "worker-instance", REDIS_URL=REDIS_URL, HUEY_NAME=name
        )
    finally:
        app.extensions["mls_jobs"].huey.storage.flush_all()


def test_the_sweeping_worker_fails_a_dead_job_without_anyone_looking(
    make_app, world, workers, tmp_path, monkeypatch
):
    """The sweep runs in a live worker too: a job whose worker was killed ends failed in
    the database though no page asks for its status."""
    instance = tmp_path / "instance"
    instance.mkdir()
    monkeypatch.setenv("MLS_INSTANCE_PATH", str(instance))
    app = make_app(HUEY_IMMEDIATE=False, **SETTINGS)
    with app.app_context():
        doomed = workers.start(instance)
        job_id = jobs.submit(
            SLOW_KIND, partnership_id=world.partnership.id, user_id=None, params={"rows": 100_000}
        )
        wait_for(lambda: db.session.get(Job, job_id).state == "running", 15, "running", workers)
        workers.kill(doomed)
        workers.start(instance)  # a live worker, whose sweeper finds the dead job

        def failed_in_the_database() -> bool:
            return db.session.get(Job, job_id).state == "failed"

        wait_for(failed_in_the_database, LEASE + 8, "the sweeper failing it", workers)
        assert db.session.get(Job, job_id).error.startswith("The worker running this job stopped")


def test_a_job_no_worker_ever_starts_ends_failed(make_app, world, tmp_path, monkeypatch):
    """A job left queued (its message lost, or taken by a worker that died before starting
    it) ends after the queued lease instead of "Waiting for a worker…" forever."""
    monkeypatch.setenv("MLS_INSTANCE_PATH", str(tmp_path))
    app = make_app(HUEY_IMMEDIATE=False, **{**SETTINGS, "JOB_QUEUED_LEASE_SECONDS": 1})
    with app.app_context():
        job_id = jobs.submit(
            SLOW_KIND, partnership_id=world.partnership.id, user_id=None, params={"rows": 1}
        )
        assert jobs.get(job_id).message == "Waiting for a worker…"
        time.sleep(1.2)
        view = jobs.get(job_id)
        assert view.state == "failed"
        assert view.error == jobs.NOT_STARTED


def test_a_job_that_cannot_be_queued_is_not_left_waiting(make_app, world):
    """The queue cannot be written (here: no Redis where it is said to be): submit raises
    Unavailable with a message, and no job stays "Waiting for a worker…"."""
    app = make_app(HUEY_IMMEDIATE=False, REDIS_URL="redis://127.0.0.1:1/0", HUEY_NAME="x")
    with app.app_context():
        before = db.session.query(Job).count()
        with pytest.raises(Unavailable) as refused:
            jobs.submit(SLOW_KIND, partnership_id=world.partnership.id, user_id=None, params={})
        assert "nothing was started" in str(refused.value)
        assert db.session.query(Job).count() == before


def test_flask_jobs_sweep_fails_jobs_past_their_lease(make_app, world, tmp_path, monkeypatch):
    monkeypatch.setenv("MLS_INSTANCE_PATH", str(tmp_path))
    app = make_app(HUEY_IMMEDIATE=False, **{**SETTINGS, "JOB_QUEUED_LEASE_SECONDS": 0.001})
    with app.app_context():
        job_id = jobs.submit(
            SLOW_KIND, partnership_id=world.partnership.id, user_id=None, params={"rows": 1}
        )
    with app.app_context():  # as `flask` pushes it (the test runner does not)
        result = app.test_cli_runner().invoke(args=["jobs", "sweep"])
    assert result.exit_code == 0, result.output
    assert "1 job(s) failed by the sweep." in result.output
    with app.app_context():
        assert db.session.get(Job, job_id).error == jobs.NOT_STARTED
