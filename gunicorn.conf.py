"""gunicorn's settings for MLS Tracker (read by default when gunicorn starts in this folder;
``-c gunicorn.conf.py`` names it explicitly). Options on the command line override these.

Workers start warm: each one, right after it has loaded the app (after the fork, so nothing
is shared between processes that must not be), computes what its first requests would
otherwise wait for — plotly.js compressed once per process, its stylesheet, the report assets —
and, when background jobs run inside the web workers (``HUEY_IMMEDIATE``; normally they run in
``flask jobs worker``, which warms up the same way), WeasyPrint for scorecards, with Chromium
booting in the background (the worker answers requests meanwhile).
"""

from __future__ import annotations

import logging

log = logging.getLogger("mls_tracker.gunicorn")


def post_worker_init(worker) -> None:
    from mls_tracker import assets, jobs
    from mls_tracker.scorecards import issuing

    app = worker.wsgi
    try:
        assets.warm_up()
        with app.app_context():
            if jobs.runs_inline():  # scorecards are issued in this process
                issuing.warm_up(wait_for_chromium=False)  # the worker answers meanwhile
    except Exception:  # a worker that could not warm up still serves; its first request waits
        log.exception("warming up worker %s failed", worker.pid)
