"""API permission-matrix rows of the survey push and survey imports, meetings, sponsors and
expectations (merged into tests/test_api_permissions.py)."""

from __future__ import annotations

import datetime as dt

from tests.api_routes_core import LEAD_ONLY, READ, statuses

PUSH = {
    "responses": [
        {"response_id": "M-1", "submitted_at": "2025-06-03T10:00:00Z", "rating": 5},
        {"response_id": "M-2", "submitted_at": "2025-06-04T10:00:00Z", "recommend": 9},
    ]
}

SCOPED = {
    ("POST", "api_survey_responses.SurveyResponses"): (statuses(201, 201, 201, 403, 403), PUSH),
    ("GET", "api_survey_responses.SurveyImports"): (READ, None),
    ("GET", "api_survey_responses.SurveyImport"): (READ, None),
    ("POST", "api_survey_responses.SurveyImportConfirmation"): (LEAD_ONLY, None),
    ("GET", "api_meetings.Meetings"): (READ, None),
    ("GET", "api_meetings.MeetingItem"): (READ, None),
    ("GET", "api_sponsors.Sponsors"): (READ, None),
    ("GET", "api_sponsors.SponsorItem"): (READ, None),
    ("GET", "api_expectations.Expectations"): (READ, None),
    ("GET", "api_expectations.ExpectationItem"): (READ, None),
}


def prepare(world) -> dict[str, int]:
    """A held meeting and a provider's proposed survey import of the partnership."""
    from mls_tracker.extensions import db
    from mls_tracker.models import SurveyFormat, SurveyImport
    from mls_tracker.models.satisfaction import ImportState
    from tests.factories import create_meeting

    meeting = create_meeting(world.partnership, dt.date(2025, 7, 2))
    record = SurveyImport(
        partnership_id=world.partnership.id,
        file_name="provider.csv",
        file_format=SurveyFormat.GENERIC,
        file_sha256="0" * 64,
        uploaded_by_id=world.provider.id,
        state=ImportState.PROPOSED,
    )
    db.session.add(record)
    db.session.flush()
    return {"meeting_id": meeting.id, "import_id": record.id}


# URL arguments for the tests that use made-up ids (the 401 test).
SAMPLE_ARGS = {"import_id": 1, "meeting_id": 1, "sponsor_id": 1, "expectation_id": 1}
