"""Issue 16, point 6: staged uploads live in the database, so that a check or an import runs
on any worker, on any machine: two ``flask jobs worker`` processes, each in its own working
directory and instance folder (neither the web app's), on Redis and the test database."""

from __future__ import annotations

import io
import os
import uuid

import pytest
import sqlalchemy as sa

from mls_tracker import jobs
from mls_tracker.extensions import db
from mls_tracker.models import Job, StagedFile, SurveyImport
from mls_tracker.services import survey_import as service
from tests.conftest import sign_in
from tests.test_job_leases import REDIS_URL, Workers, redis_or_skip, wait_for
from tests.test_survey_import import GENERIC

pytestmark = pytest.mark.workers


def test_a_check_and_an_import_run_on_workers_of_other_machines(
    make_app, world, tmp_path, database_url
):
    redis_or_skip()
    name = f"mls_test_{uuid.uuid4().hex[:12]}"
    app = make_app(HUEY_IMMEDIATE=False, REDIS_URL=REDIS_URL, HUEY_NAME=name)
    workers = Workers(tmp_path, database_url)
    folders = [tmp_path / "machine-a", tmp_path / "machine-b"]
    try:
        with app.app_context():
            for folder in folders:
                workers.start(folder, REDIS_URL=REDIS_URL, HUEY_NAME=name)
            pid = world.partnership.id
            staged = service.stage_upload(world.lead, pid, io.BytesIO(GENERIC.encode()), "a.csv")
            mapping = service.proposed_mapping(staged, service.open_staged(staged))

            check_id = service.submit_check(world.lead, pid, staged.token, mapping, None)
            wait_for(lambda: jobs.get(check_id).finished, 20, "the check", workers)
            assert jobs.get(check_id).state == "succeeded", jobs.get(check_id)

            # The preview the person sees was written by the worker: every row checked.
            client = app.test_client()
            sign_in(client, world.lead.email)
            page = client.get(
                f"/partnerships/{pid}/satisfaction/imports/{staged.token}/preview?check={check_id}"
            )
            assert page.status_code == 200

            commit_id = service.submit_commit(world.lead, pid, staged.token, mapping.digest())
            wait_for(lambda: jobs.get(commit_id).finished, 20, "the import", workers)
            view = jobs.get(commit_id)
            assert view.state == "succeeded", view
            assert (
                view.result["rows_added"]
                == db.session.get(SurveyImport, view.result["import_id"]).rows_added
            )
            assert view.result["rows_added"] > 0

            # Both jobs ran in worker processes, which read the file from the database into
            # their own instance folders; the upload is gone once imported.
            for job_id in (check_id, commit_id):
                worker = db.session.get(Job, job_id).worker
                assert worker and not worker.endswith(f":{os.getpid()}")
            fetched = [f for f in folders if (f / "staged_cache").is_dir()]
            assert fetched, workers.logs()
            assert (
                db.session.scalar(
                    sa.select(sa.func.count()).where(StagedFile.token == staged.token)
                )
                == 0
            )
    finally:
        workers.close()
        app.extensions["mls_jobs"].huey.storage.flush_all()


def _failed_import(make_app, world, tmp_path, monkeypatch):
    """A survey import whose job ended failed because no worker ever ran it (queued lease of
    0 s, no worker): its upload is still staged in the database."""
    monkeypatch.setenv("MLS_INSTANCE_PATH", str(tmp_path))
    app = make_app(HUEY_IMMEDIATE=False, JOB_QUEUED_LEASE_SECONDS=0.001)
    with app.app_context():
        pid = world.partnership.id
        staged = service.stage_upload(world.lead, pid, io.BytesIO(GENERIC.encode()), "a.csv")
        mapping = service.proposed_mapping(staged, service.open_staged(staged))
        service.store_mapping(staged, mapping, None)
        outcome = service.check_upload(world.lead, staged, mapping)
        assert not outcome.errors
        job_id = service.submit_commit(world.lead, pid, staged.token, mapping.digest())
    return app, job_id


def test_a_failed_import_offers_retry_to_those_who_may_import(
    make_app, world, tmp_path, monkeypatch
):
    from tests.conftest import csrf_token, page_text, sign_out

    app, job_id = _failed_import(make_app, world, tmp_path, monkeypatch)
    page_url = f"/partnerships/{world.partnership.id}/satisfaction/imports/results/{job_id}"
    retry_url = f"/partnerships/{world.partnership.id}/satisfaction/imports/jobs/{job_id}/retry"
    client = app.test_client()

    sign_in(client, world.user("viewer").email)
    assert client.get(page_url).status_code == 403
    history = f"/partnerships/{world.partnership.id}/satisfaction/imports/"
    refused = client.post(retry_url, data={"csrf_token": csrf_token(client, history)})
    assert refused.status_code == 403
    with app.app_context():
        assert jobs.get(job_id).state == "failed"

    sign_out(client)
    sign_in(client, world.lead.email)
    page = client.get(page_url)
    text = page_text(page.get_data(as_text=True))
    assert "Import failed" in text and jobs.NOT_STARTED in text
    assert 'id="retry-form"' in page.get_data(as_text=True)
    answer = client.post(retry_url, data={"csrf_token": csrf_token(client, page_url)})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(page_url)
    with app.app_context():
        # Queued again (read without jobs.get: its 0 s queued lease would end it at once).
        job = db.session.get(Job, job_id)
        assert (job.state, job.error) == ("queued", None)


def test_an_import_the_queue_cannot_take_answers_503_and_leaves_no_job(make_app, world):
    """The job queue cannot be written (no Redis where it is said to be): the person is told
    so on a 503 page, and no job is left "Waiting for a worker…"."""
    from tests.conftest import csrf_token, page_text

    app = make_app(HUEY_IMMEDIATE=False, REDIS_URL="redis://127.0.0.1:1/0", HUEY_NAME="x")
    with app.app_context():
        pid = world.partnership.id
        staged = service.stage_upload(world.lead, pid, io.BytesIO(GENERIC.encode()), "a.csv")
        mapping = service.proposed_mapping(staged, service.open_staged(staged))
        service.store_mapping(staged, mapping, None)
        service.check_upload(world.lead, staged, mapping)
    client = app.test_client()
    sign_in(client, world.lead.email)
    preview = f"/partnerships/{pid}/satisfaction/imports/{staged.token}/preview"
    answer = client.post(
        f"/partnerships/{pid}/satisfaction/imports/{staged.token}/commit",
        data={"csrf_token": csrf_token(client, preview), "digest": mapping.digest()},
    )
    assert answer.status_code == 503
    assert "nothing was started" in page_text(answer.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_a_failed_check_offers_retry(make_app, world, tmp_path, monkeypatch):
    from tests.conftest import page_text

    monkeypatch.setenv("MLS_INSTANCE_PATH", str(tmp_path))
    app = make_app(HUEY_IMMEDIATE=False, JOB_QUEUED_LEASE_SECONDS=0.001)
    with app.app_context():
        pid = world.partnership.id
        staged = service.stage_upload(world.lead, pid, io.BytesIO(GENERIC.encode()), "a.csv")
        mapping = service.proposed_mapping(staged, service.open_staged(staged))
        check_id = service.submit_check(world.lead, pid, staged.token, mapping, None)
    client = app.test_client()
    sign_in(client, world.provider.email)
    page = client.get(
        f"/partnerships/{pid}/satisfaction/imports/{staged.token}/preview?check={check_id}"
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "The file could not be checked" in page_text(html) and jobs.NOT_STARTED in html
    assert f"/satisfaction/imports/jobs/{check_id}/retry" in html
