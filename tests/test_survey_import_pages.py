"""The survey import pages through HTTP: upload, mapping, preview with the check job, commit
job, result, history (and its CSV), undo, and the clear refusals."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import SurveyImport, SurveyResponse
from mls_tracker.services import survey_import as service
from tests.conftest import csrf_token, sign_in

SAMPLES = Path(__file__).parent / "data" / "surveys"


@pytest.fixture(autouse=True)
def _after_the_samples(monkeypatch):
    monkeypatch.setattr(service, "clock", lambda: dt.datetime(2027, 1, 15, tzinfo=dt.UTC))


def base(world) -> str:
    return f"/partnerships/{world.partnership.id}/satisfaction/imports"


def upload(client, world, data: bytes, name: str):
    token = csrf_token(client, base(world) + "/new")
    return client.post(
        base(world) + "/new",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def mapping_post(client, url: str, **changes):
    """Post the mapping form as the page proposes it, with ``changes``."""
    html = client.get(url).get_data(as_text=True)
    data = {"csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[1]}
    for select in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(
            r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', select[2]
        )
        data[select[1]] = (chosen[1] or chosen[2] or "") if chosen else ""
    for field in re.finditer(r'<input[^>]*name="(c_[^"]+)"[^>]*value="([^"]*)"', html):
        data[field[1]] = field[2]
    data["file_format"] = re.search(r'name="file_format"[^>]*value="([^"]*)"', html)[1]
    data["date_order"] = "auto"
    data.update(changes)
    return client.post(url, data=data)


def test_lead_uploads_maps_previews_commits_and_sees_history(client, world):
    sign_in(client, world.lead.email)
    data = (
        b"response_id,submitted_at,program,region,rating,recommend,comment\n"
        b"R1,2026-03-11T14:05:00Z,Data,EMEA,Very satisfied,9,Great\n"
        b"R2,2026-03-12T09:00:00Z,Data,APAC,4,10,\n"
    )
    response = upload(client, world, data, "march.csv")
    assert response.status_code == 302
    mapping_url = response.headers["Location"]
    page = client.get(mapping_url).get_data(as_text=True)
    assert "Generic" in page and "Very satisfied" in page
    response = mapping_post(client, mapping_url)
    assert response.status_code == 302, response.get_data(as_text=True)
    preview = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="count-new">2<' in preview and "Import 2 responses" in preview
    assert "2026-03-11" not in preview or "11 Mar 2026 14:05" in preview
    digest = re.search(r'name="digest" type="hidden" value="([^"]+)"', preview)[1]
    commit_url = re.search(r'id="commit-form" action="([^"]+)"', preview)[1]
    response = client.post(
        commit_url, data={"csrf_token": csrf_token(client, mapping_url), "digest": digest}
    )
    assert response.status_code == 302
    result = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 responses added" in result
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 2
    assert (
        db.session.scalar(
            sa.select(SurveyResponse.rating).where(SurveyResponse.response_key == "R1")
        )
        == 5
    )
    history = client.get(base(world) + "/").get_data(as_text=True)
    assert "march.csv" in history and "Lead" in history
    csv_text = client.get(base(world) + "/export.csv").get_data(as_text=True)
    assert "march.csv" in csv_text and "rows added" in csv_text


def test_row_problems_are_listed_and_block_the_commit(client, world):
    sign_in(client, world.provider.email)
    data = b"response_id,submitted_at,rating\nR1,2026-03-01,4\nR2,2026-13-45,4\nR1,2026-03-02,5\n"
    response = upload(client, world, data, "bad.csv")
    response = mapping_post(client, response.headers["Location"])
    preview_url = response.headers["Location"]
    preview = client.get(preview_url).get_data(as_text=True)
    assert "Row 3" in preview and "Row 4" in preview and "also on row 2" in preview
    assert 'id="commit-form"' not in preview
    problems_url = re.search(r'href="([^"]+problems.csv)"', preview)[1]
    problems = client.get(problems_url)
    assert problems.status_code == 200 and "row,problem" in problems.get_data(as_text=True)
    problems.close()


def test_missing_columns_message_on_the_mapping_page(client, world):
    sign_in(client, world.lead.email)
    response = upload(client, world, b"response_id,program\nR1,Data\n", "thin.csv")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert page.count("Required columns are missing") == 1
    assert "Submitted at" in page


def test_ambiguous_dates_must_be_chosen(client, world):
    sign_in(client, world.lead.email)
    data = b"response_id,submitted_at,rating\nR1,03/11/2026 14:05,4\n"
    mapping_url = upload(client, world, data, "dates.csv").headers["Location"]
    response = mapping_post(client, mapping_url)
    assert response.status_code == 200
    assert "choose whether the day or the month comes first" in response.get_data(as_text=True)
    response = mapping_post(client, mapping_url, date_order="dmy")
    assert response.status_code == 302


def test_bad_file_message_next_to_the_field(client, world):
    sign_in(client, world.lead.email)
    response = upload(client, world, (SAMPLES / "binary_named.csv").read_bytes(), "x.csv")
    assert response.status_code == 200
    assert 'id="file-error"' in response.get_data(as_text=True)


def test_oversized_upload_gets_a_413_page_naming_the_limit(make_app, world):
    small = make_app(MAX_CONTENT_LENGTH=2048)
    client = small.test_client()
    sign_in(client, world.lead.email)
    token = csrf_token(client, base(world) + "/new")
    response = client.post(
        base(world) + "/new",
        data={"csrf_token": token, "file": (io.BytesIO(b"x" * 5000), "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "larger than 2 KB" in response.get_data(as_text=True)


def test_sponsor_and_viewer_cannot_upload(app, world):
    for who in (world.sponsor, world.viewer):
        client = app.test_client()
        sign_in(client, who.email)
        assert client.get(base(world) + "/new").status_code == 403
        assert client.get(base(world) + "/").status_code == 200


def test_undo_page_for_leads(client, world):
    staged = service.stage_upload(
        world.provider,
        world.partnership.id,
        io.BytesIO(b"response_id,submitted_at,rating\nR1,2026-03-01,4\n"),
        "one.csv",
    )
    mapping = service.default_mapping(service.open_staged(staged), None)
    record = service.commit_upload(world.provider, staged, mapping)
    sign_in(client, world.provider.email)
    history = client.get(base(world) + "/").get_data(as_text=True)
    assert "one.csv" in history and "Undo" not in history and ">you<" in history
    assert client.get(f"{base(world)}/{record.id}/undo").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, base(world) + "/")})
    sign_in(client, world.lead.email)
    url = f"{base(world)}/{record.id}/undo"
    assert "Undo this import" in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "confirm": "yes"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 0
    db.session.expire_all()
    assert db.session.get(SurveyImport, record.id).undone_at is not None
    assert "Undone" in client.get(base(world) + "/").get_data(as_text=True)
