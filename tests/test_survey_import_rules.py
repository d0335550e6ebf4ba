"""The import service's own refusals, asked directly: nothing is queued before a whole-file
check with the very mapping the preview showed, and never while rows have problems."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import SurveyResponse
from mls_tracker.services import survey_import as service
from mls_tracker.services.errors import NotFound, PermissionDenied, ValidationFailed

GOOD = b"response_id,submitted_at,rating\nR1,2026-03-01,4\nR2,2026-03-02,5\n"
BAD = b"response_id,submitted_at,rating\nR1,2026-03-01,4\nR2,2026-13-45,4\n"


@pytest.fixture(autouse=True)
def _after_the_samples(monkeypatch):
    monkeypatch.setattr(service, "clock", lambda: dt.datetime(2027, 1, 15, tzinfo=dt.UTC))


def _staged(world, data: bytes):
    return service.stage_upload(world.provider, world.partnership.id, io.BytesIO(data), "s.csv")


def _checked(world, data: bytes):
    """A staged upload whose whole-file check ran (jobs run inline in tests) with the
    proposed mapping; that mapping."""
    staged = _staged(world, data)
    mapping = service.proposed_mapping(staged, service.open_staged(staged))
    service.submit_check(world.provider, world.partnership.id, staged.token, mapping, None)
    return staged, mapping


def _responses() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse))


def test_nothing_is_queued_before_a_check(world):
    staged = _staged(world, GOOD)
    with pytest.raises(service.CheckNeeded, match="Check the whole file before importing it"):
        service.submit_commit(world.provider, world.partnership.id, staged.token, "any")
    with pytest.raises(NotFound):
        service.problems_csv(staged)


def test_a_form_without_its_digest_is_not_a_check(world):
    staged, _mapping = _checked(world, GOOD)
    with pytest.raises(service.CheckNeeded, match="Check the whole file"):
        service.submit_commit(world.provider, world.partnership.id, staged.token, None)


def test_a_mapping_changed_since_the_preview_needs_a_new_check(world):
    staged, mapping = _checked(world, GOOD)
    with pytest.raises(service.CheckNeeded, match="mapping changed since this preview"):
        service.submit_commit(
            world.provider, world.partnership.id, staged.token, mapping.digest() + "x"
        )
    assert _responses() == 0


def test_rows_with_problems_block_the_import(world):
    staged, mapping = _checked(world, BAD)
    assert service.problems_csv(staged).read_text().startswith("row,problem")
    with pytest.raises(ValidationFailed, match="Nothing can be imported while rows have problems"):
        service.submit_commit(world.provider, world.partnership.id, staged.token, mapping.digest())
    assert _responses() == 0


def test_a_checked_upload_with_its_digest_imports_every_row(world):
    staged, mapping = _checked(world, GOOD)
    service.submit_commit(world.provider, world.partnership.id, staged.token, mapping.digest())
    assert _responses() == 2


def test_roles_without_upload_rights_and_outsiders_are_refused(world):
    staged = _staged(world, GOOD)
    with pytest.raises(PermissionDenied) as refused:
        service.submit_commit(world.viewer, world.partnership.id, staged.token, "x")
    assert not refused.value.hidden
    with pytest.raises(PermissionDenied) as hidden:
        service.submit_commit(world.outsider, world.partnership.id, staged.token, "x")
    assert hidden.value.hidden
    with pytest.raises(NotFound):
        service.submit_commit(world.provider, world.partnership.id, "no-such-token", "x")
