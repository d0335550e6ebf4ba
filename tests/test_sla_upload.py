"""Uploading a CSV of actuals: a preview with each row's outcome, row-numbered errors, and an
all-or-nothing save of the signed rows only once the user confirms."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import MeasurementState, Sla, SlaMeasurement, Unit
from mls_tracker.periods import Month
from mls_tracker.services import slas as service
from mls_tracker.services.errors import ValidationFailed
from tests import factories
from tests.conftest import csrf_token, sign_in

_PAYLOAD = re.compile(r'id="payload" name="payload" type="hidden" value="([^"]+)"')


def _url(world, suffix: str = "") -> str:
    return f"/partnerships/{world.partnership.id}/slas/upload{suffix}"


def _upload(client, world, content: bytes | str, name: str = "actuals.csv"):
    if isinstance(content, str):
        content = content.encode()
    return client.post(
        _url(world),
        data={
            "csrf_token": csrf_token(client, _url(world)),
            "file": (io.BytesIO(content), name),
        },
        content_type="multipart/form-data",
    )


def _confirm(client, world, preview_page: str, payload: str | None = None):
    if payload is None:
        match = _PAYLOAD.search(preview_page)
        assert match, "the preview offers no confirm button"
        payload = match.group(1)
    return client.post(
        _url(world, "/confirm"),
        data={"csrf_token": csrf_token(client, _url(world)), "payload": payload},
    )


def _stored() -> dict[tuple[str, str], SlaMeasurement]:
    db.session.expire_all()
    rows = db.session.execute(sa.select(Sla.code, SlaMeasurement).join(SlaMeasurement.sla))
    return {(code, str(m.month)): m for code, m in rows}


def _with_more_slas(world) -> None:
    factories.create_sla(world.partnership, None, "HD-01", unit=Unit.HOURS, target=4, at_risk=6)
    db.session.commit()


def test_a_lead_uploads_a_comma_file_previews_it_then_confirms(client, world):
    _with_more_slas(world)
    sign_in(client, world.lead.email)
    response = _upload(
        client,
        world,
        "sla code,month,value,note\r\n"
        "WLD-01,2025-06,92,\r\n"  # the proposed 92: a lead confirms it
        "WLD-01,2025-07,93.5,From the LMS\r\n"
        "hd-01,2025-07,3.5,\r\n",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "confirms 92% (proposed)" in page
    assert '<span class="outcome outcome-new">2 new</span>' in page
    assert ("WLD-01", "2025-07") not in _stored(), "nothing is saved before confirming"
    response = _confirm(client, world, page)
    assert response.status_code == 302
    stored = _stored()
    assert stored[("WLD-01", "2025-07")].value == 93.5
    assert stored[("WLD-01", "2025-07")].note == "From the LMS"
    assert stored[("HD-01", "2025-07")].value == 3.5
    assert all(m.state is MeasurementState.CONFIRMED for m in stored.values())
    assert stored[("WLD-01", "2025-06")].confirmed_by_id == world.lead.id


def test_a_providers_semicolon_file_with_a_bom_is_proposed(client, world):
    sign_in(client, world.provider.email)
    content = "\ufeffSLA code;Month;Value;Note\nWLD-01;2025-06;91,5;\nWLD-01;2025-07;94;ok\n"
    page = _upload(client, world, content.replace("91,5", "91.5").encode("utf-8")).get_data(
        as_text=True
    )
    assert "replaces 92% (proposed)" in page
    assert _confirm(client, world, page).status_code == 302
    stored = _stored()
    assert stored[("WLD-01", "2025-06")].value == 91.5
    assert stored[("WLD-01", "2025-07")].state is MeasurementState.PROPOSED
    assert stored[("WLD-01", "2025-07")].entered_by_id == world.provider.id


def test_a_bad_row_7_is_named_and_nothing_is_saved(client, world):
    sign_in(client, world.lead.email)
    good = "".join(f"WLD-01,2024-{m:02d},91,\n" for m in range(1, 6))
    response = _upload(
        client, world, "sla code,month,value,note\n" + good + "WLD-01,2024-06,abc,\n"
    )
    page = response.get_data(as_text=True)
    assert "Row 7: “abc” is not a number." in page
    assert "Nothing can be saved" in page
    assert not _PAYLOAD.search(page), "no confirm button while a row has an error"
    assert [key for key in _stored() if key[1].startswith("2024")] == []


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("XX-99,2025-07,1,", "Row 2: No SLA with the code “XX-99” in this partnership."),
        ("WLD-01,2099-01,91,", "Row 2: Jan 2099 is in the future"),
        ("WLD-01,July,91,", "Row 2: “July” is not a month in the form YYYY-MM."),
        ("WLD-01,2025-07,101,", "Row 2: A percentage must be between 0 and 100."),
        ("WLD-01,2025-07,n/a,", "Row 2: Say why the month is not applicable"),
        (",2025-07,91,", "Row 2: The SLA code is empty."),
    ],
)
def test_bad_rows_are_reported_with_their_row_number(client, world, row, message):
    sign_in(client, world.lead.email)
    page = _upload(client, world, f"sla code,month,value,note\n{row}\n").get_data(as_text=True)
    assert message in page
    assert ("WLD-01", "2025-07") not in _stored()


def test_duplicate_rows_are_refused(client, world):
    sign_in(client, world.lead.email)
    page = _upload(
        client, world, "sla code,month,value\nWLD-01,2025-07,91\nwld-01,2025-07,92\n"
    ).get_data(as_text=True)
    assert "Row 3: A second value for WLD-01 in 2025-07 (first on row 2)." in page
    assert ("WLD-01", "2025-07") not in _stored()


def test_not_applicable_with_a_reason_and_unchanged_rows(client, world):
    sla = db.session.get(Sla, world.ids["sla_id"])
    factories.add_measurement(sla, Month(2025, 5), 90, confirmed_by=world.lead)
    db.session.commit()
    sign_in(client, world.lead.email)
    page = _upload(
        client,
        world,
        "sla code,month,value,note\nWLD-01,2025-05,90,\nWLD-01,2025-07,n/a,No courses\n",
    ).get_data(as_text=True)
    assert '<span class="outcome outcome-unchanged">unchanged</span>' in page
    assert "Save 1 actual" in page
    _confirm(client, world, page)
    july = _stored()[("WLD-01", "2025-07")]
    assert july.not_applicable and july.note == "No courses"


def test_a_provider_cannot_replace_a_confirmed_value_by_upload(client, world):
    sla = db.session.get(Sla, world.ids["sla_id"])
    factories.add_measurement(sla, Month(2025, 5), 90, confirmed_by=world.lead)
    db.session.commit()
    sign_in(client, world.provider.email)
    page = _upload(client, world, "sla code,month,value\nWLD-01,2025-05,50\n").get_data(
        as_text=True
    )
    assert "Row 2: WLD-01 2025-05 was confirmed by a lead (90%); only a lead can change it." in page
    assert _stored()[("WLD-01", "2025-05")].value == 90


def test_an_altered_or_foreign_payload_saves_nothing(client, world):
    sign_in(client, world.provider.email)
    page = _upload(client, world, "sla code,month,value\nWLD-01,2025-07,91\n").get_data(
        as_text=True
    )
    payload = _PAYLOAD.search(page).group(1)
    tampered = payload[:-3] + ("AAA" if not payload.endswith("AAA") else "BBB")
    response = _confirm(client, world, page, tampered)
    assert response.status_code == 200
    assert "expired or was altered" in response.get_data(as_text=True)
    # The lead of another partnership cannot replay it either.
    client.post("/logout", data={"csrf_token": csrf_token(client, "/partnerships/")})
    sign_in(client, world.lead.email)
    response = _confirm(client, world, page, payload)
    assert "expired or was altered" in response.get_data(as_text=True)
    assert ("WLD-01", "2025-07") not in _stored()


def test_a_value_changed_since_the_preview_fails_the_whole_upload(client, world):
    sign_in(client, world.provider.email)
    page = _upload(
        client, world, "sla code,month,value\nWLD-01,2025-06,93\nWLD-01,2025-07,91\n"
    ).get_data(as_text=True)
    stored = _stored()[("WLD-01", "2025-06")]
    stored.value = 80
    db.session.commit()
    response = _confirm(client, world, page)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Row 2: Changed by someone else since the preview" in text
    assert _stored()[("WLD-01", "2025-06")].value == 80
    assert ("WLD-01", "2025-07") not in _stored()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04rest-of-a-zip", "This looks like an Excel workbook"),
        (b"sla code,month\x00,value\n", "This is not a CSV text file."),
        ("sla code,month,value\nWLD-01,2025-07,91\n".encode("utf-16"), "not a CSV text file"),
        (b"code,mois,valeur\nWLD-01,2025-07,91\n", "Missing: month, value."),
        (b"sla code,month,value\n", "no data rows"),
        (b"", "The file is empty."),
        ("sla code,month,value\nCMP,2025-07,9\xe9\n".encode("latin-1"), "not UTF-8"),
    ],
)
def test_files_that_are_not_an_actuals_csv_are_refused(client, world, content, message):
    sign_in(client, world.lead.email)
    page = _upload(client, world, content).get_data(as_text=True)
    assert message in page


def test_posting_without_a_file_asks_for_one(client, world):
    sign_in(client, world.provider.email)
    response = client.post(_url(world), data={"csrf_token": csrf_token(client, _url(world))})
    assert response.status_code == 200
    assert "Choose a CSV file to upload." in response.get_data(as_text=True)


def test_more_than_5000_rows_are_refused(client, world):
    sign_in(client, world.lead.email)
    rows = "".join("WLD-01,2025-07,91\n" for _ in range(service.MAX_UPLOAD_ROWS + 1))
    page = _upload(client, world, "sla code,month,value\n" + rows).get_data(as_text=True)
    assert "more than 5,000 rows" in page


def test_the_apps_size_limit_applies(make_app, world):
    small = make_app(MAX_CONTENT_LENGTH=1024)
    client = small.test_client()
    sign_in(client, world.lead.email)
    response = _upload(client, world, "sla code,month,value\n" + "WLD-01,2025-07,91\n" * 200)
    assert response.status_code == 413


def test_parsing_accepts_both_delimiters_and_counts_rows_like_a_spreadsheet():
    rows = service.parse_actuals_csv(b"\xef\xbb\xbfsla code;month;value;note\n\nA;2025-01;1;x\n")
    assert rows == [service.RawRow(3, "A", "2025-01", "1", "x")]
    with pytest.raises(ValidationFailed):
        service.parse_actuals_csv(b"only,a,header\n")
