"""Job kinds for tests that run a real worker process: the worker imports this module when
started with ``JOB_PLUGINS=tests.job_plugins`` (see ``mls_tracker.jobs``)."""

from __future__ import annotations

import time

from mls_tracker import jobs
from mls_tracker.extensions import db
from mls_tracker.models import Job

SLOW_KIND = "test_slow_import"


@jobs.handler(SLOW_KIND)
def slow_import(ctx: jobs.JobContext) -> dict:
    """Counts ``rows`` in steps of 1,000: slowly on the first attempt (so that a test can
    kill the worker in the middle), at once when retried."""
    job = db.session.get(Job, ctx.job_id)
    first = job is not None and job.attempts == 1
    total = int(ctx.params["rows"])
    for done in range(0, total + 1, 1000):
        ctx.progress(done, total, f"Importing: {done:,} rows read")
        if first:
            time.sleep(float(ctx.params.get("pause", 0.05)))
    return {"rows": total}
