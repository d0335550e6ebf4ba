"""Permission-matrix rows of the survey import pages (merged into tests/test_permissions.py)."""

import io

from mls_tracker import jobs
from mls_tracker.extensions import db
from mls_tracker.models import SurveyFormat, SurveyImport
from mls_tracker.services import survey_import as service

READ = {
    "anonymous": 302,
    "admin": 200,
    "lead": 200,
    "provider": 200,
    "sponsor": 200,
    "viewer": 200,
    "outsider": 404,
}
# Uploading, mapping, previewing: providers and leads (a POST with no data shows the form
# again with its errors).
UPLOAD = {**READ, "sponsor": 403, "viewer": 403}
# A commit POST without the preview's digest goes back to the preview: nothing imported.
COMMIT = {**UPLOAD, "admin": 302, "lead": 302, "provider": 302}
# Undo: leads only; a POST without the confirmation field shows the confirmation again.
MANAGE = {**UPLOAD, "provider": 403}
# Confirming a provider's import: leads only; the matrix's import is a lead's, confirmed
# already, so a lead's POST says so and goes back to the history.
CONFIRM = {**MANAGE, "admin": 302, "lead": 302}

SCOPED = {
    ("GET", "survey_imports.index"): READ,
    ("GET", "survey_imports.export"): READ,
    ("GET", "survey_imports.new"): UPLOAD,
    ("POST", "survey_imports.new"): UPLOAD,
    ("GET", "survey_imports.mapping"): UPLOAD,
    ("POST", "survey_imports.mapping"): UPLOAD,
    ("GET", "survey_imports.preview"): UPLOAD,
    ("GET", "survey_imports.problems"): UPLOAD,
    ("POST", "survey_imports.commit"): COMMIT,
    ("GET", "survey_imports.result"): UPLOAD,
    ("GET", "survey_imports.undo"): MANAGE,
    ("POST", "survey_imports.undo"): MANAGE,
    ("POST", "survey_imports.confirm"): CONFIRM,
    # Retrying a job that has not failed (or whose upload is gone) says so and goes back.
    ("POST", "survey_imports.retry"): COMMIT,
}

_FILE = (
    "response_id,submitted_at,rating,recommend\n"
    "R1,2026-01-05T10:00:00Z,9,8\n"  # a row with a problem, so problems.csv exists
)


def prepare(world) -> dict:
    staged = service.stage_upload(
        world.lead, world.partnership.id, io.BytesIO(_FILE.encode()), "matrix.csv"
    )
    file = service.open_staged(staged)
    mapping = service.default_mapping(file, None)
    service.store_mapping(staged, mapping, "dmy")
    service.check_upload(world.lead, staged, mapping, "dmy")
    job_id = jobs.submit(
        service.COMMIT_JOB,
        partnership_id=world.partnership.id,
        user_id=world.lead.id,
        params={"token": staged.token, "mapping": mapping.as_json(), "order": "dmy"},
    )
    record = SurveyImport(
        partnership_id=world.partnership.id,
        file_name="earlier.csv",
        file_format=SurveyFormat.GENERIC,
        file_sha256="0" * 64,
        uploaded_by_id=world.lead.id,
    )
    db.session.add(record)
    db.session.flush()
    return {
        "upload_token": staged.token,
        "import_job_id": job_id,
        "survey_job_id": job_id,
        "import_id": record.id,
    }
