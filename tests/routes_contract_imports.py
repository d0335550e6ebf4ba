"""Permission-matrix rows of the workbook import (merged into tests/test_permissions.py)."""

import io

from mls_tracker import jobs
from mls_tracker.services import contract_import as service
from mls_tracker.services.contract_workbook import template_xlsx

# Leads (and administrators) only: a POST with no data shows the form again with its errors.
MANAGE = {
    "anonymous": 302,
    "admin": 200,
    "lead": 200,
    "provider": 403,
    "sponsor": 403,
    "viewer": 403,
    "outsider": 404,
}
EVERYONE = {who: 200 for who in MANAGE} | {"anonymous": 302}

GLOBAL = {
    ("GET", "contract_imports.template"): EVERYONE,
    ("GET", "contract_imports.template_csv"): EVERYONE,
}
SCOPED = {
    ("GET", "contract_imports.new"): MANAGE,
    ("POST", "contract_imports.new"): MANAGE,
    ("GET", "contract_imports.preview"): MANAGE,
    ("POST", "contract_imports.preview"): MANAGE,
    ("GET", "contract_imports.result"): MANAGE,
    # Retrying a job that has not failed says so and goes back to it.
    ("POST", "contract_imports.retry"): {**MANAGE, "admin": 302, "lead": 302},
}


def prepare(world) -> dict:
    def stage():
        return service.stage_upload(
            world.lead, world.partnership.id, io.BytesIO(template_xlsx()), "matrix.xlsx"
        )

    shown = stage()
    imported = stage()
    job_id = jobs.submit(
        service.JOB,
        partnership_id=world.partnership.id,
        user_id=world.lead.id,
        params={"token": imported.token, "decisions": {}},
    )
    return {"workbook_token": shown.token, "workbook_job_id": job_id}
