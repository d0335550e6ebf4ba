"""The delivery & spend pages: entering a month (errors next to fields, nothing lost), the
months table with proposed ones marked and a lead's confirm, another partnership's months
hidden, the CSV upload (preview, row-numbered errors, all or nothing) and the CSV export."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import DeliveryMonth, MeasurementState
from mls_tracker.periods import Month
from tests.conftest import csrf_token, page_text, sign_in

_PAYLOAD = re.compile(r'id="payload" name="payload" type="hidden" value="([^"]+)"')


def _base(world, partnership=None) -> str:
    return f"/partnerships/{(partnership or world.partnership).id}/delivery"


def _stored(partnership_id) -> dict[str, DeliveryMonth]:
    db.session.expire_all()
    rows = db.session.scalars(
        sa.select(DeliveryMonth).where(DeliveryMonth.partnership_id == partnership_id)
    )
    return {str(row.month): row for row in rows}


def _post_month(client, world, month, **fields):
    url = f"{_base(world)}/month/{month}"
    data = {"csrf_token": csrf_token(client, url), "version": "0", **fields}
    return client.post(url, data=data)


GOOD = {
    "learners_trained": "120",
    "completions": "100",
    "training_hours": "310.5",
    "sessions_delivered": "12",
    "invoiced_amount": "15000",
    "note": "From the LMS",
}


def test_a_provider_proposes_a_month_and_a_lead_confirms_it_on_the_page(client, world):
    sign_in(client, world.provider.email)
    response = _post_month(client, world, "2025-06", **GOOD)
    assert response.status_code == 302
    assert _stored(world.partnership.id)["2025-06"].state is MeasurementState.PROPOSED
    page = page_text(client.get(f"{_base(world)}/").get_data(as_text=True))
    assert "1 month still proposed (Jun 2025)" in page
    assert "◌ proposed" in page
    assert "Confirm all proposed" not in page  # a provider cannot confirm
    client.post("/logout", data={"csrf_token": csrf_token(client, "/partnerships/")})

    sign_in(client, world.lead.email)
    html = client.get(f"{_base(world)}/").get_data(as_text=True)
    assert "Confirm all proposed" in html
    row = _stored(world.partnership.id)["2025-06"]
    response = client.post(
        f"{_base(world)}/month/2025-06/confirm",
        data={"csrf_token": csrf_token(client, f"{_base(world)}/"), "version": row.version},
    )
    assert response.status_code == 302
    assert _stored(world.partnership.id)["2025-06"].state is MeasurementState.CONFIRMED
    page = page_text(client.get(f"{_base(world)}/").get_data(as_text=True))
    assert "No month proposed" in page
    assert "USD 125" in page  # cost per learner: 15,000 ÷ 120


def test_errors_are_next_to_their_fields_and_nothing_typed_is_lost(client, world):
    sign_in(client, world.provider.email)
    response = _post_month(
        client, world, "2025-06", **{**GOOD, "learners_trained": "-4", "training_hours": "abc"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'id="learners_trained-error">\s*<div>“-4” is not a whole number', html)
    assert 'id="training_hours-error"' in html
    assert 'value="abc"' in html and 'value="15000"' in html and "From the LMS" in html
    assert _stored(world.partnership.id) == {}


def test_another_partnerships_months_are_hidden(client, world):
    db.session.add(
        DeliveryMonth(partnership_id=world.other.id, month=Month(2025, 6), invoiced_amount=5)
    )
    db.session.commit()
    sign_in(client, world.lead.email)
    for url in ("/", "/export.csv", "/month/2025-06", "/upload"):
        assert client.get(_base(world, world.other) + url).status_code == 404
    response = client.post(
        f"{_base(world, world.other)}/month/2025-06/confirm",
        data={"csrf_token": csrf_token(client, f"{_base(world)}/")},
    )
    assert response.status_code == 404
    assert _stored(world.other.id)["2025-06"].state is MeasurementState.PROPOSED


def _upload(client, world, content: str):
    url = f"{_base(world)}/upload"
    return client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "file": (io.BytesIO(content.encode()), "delivery.csv"),
        },
        content_type="multipart/form-data",
    )


HEADER = (
    "month,learners_trained,completions,training_hours,sessions_delivered,invoiced_amount,note\n"
)


def test_an_upload_is_previewed_then_saved_as_proposed(client, world):
    sign_in(client, world.provider.email)
    response = _upload(
        client, world, HEADER + "2025-05,100,90,250,10,12000.00,\n2025-06,50,45,150,5,,late\n"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "2 new" in html
    assert _stored(world.partnership.id) == {}, "nothing is saved before confirming"
    payload = _PAYLOAD.search(html).group(1)
    response = client.post(
        f"{_base(world)}/upload/confirm",
        data={"csrf_token": csrf_token(client, f"{_base(world)}/upload"), "payload": payload},
    )
    assert response.status_code == 302
    stored = _stored(world.partnership.id)
    assert {m: r.state for m, r in stored.items()} == {
        "2025-05": MeasurementState.PROPOSED,
        "2025-06": MeasurementState.PROPOSED,
    }
    assert stored["2025-06"].invoiced_amount is None and stored["2025-06"].note == "late"


def test_a_bad_row_is_reported_by_number_and_nothing_is_written(client, world):
    sign_in(client, world.lead.email)
    response = _upload(
        client,
        world,
        HEADER + "2025-04,100,90,250,10,12000,\n2025-05,x,90,250,10,12000,\n2025-04,1,1,1,1,,\n",
    )
    text = page_text(response.get_data(as_text=True))
    assert "Row 3: learners trained: “x” is not a whole number" in text
    assert "Row 4: a second row for 2025-04 (first on row 2)" in text
    assert _PAYLOAD.search(response.get_data(as_text=True)) is None
    assert _stored(world.partnership.id) == {}
    response = _upload(client, world, "month,learners\n2025-04,3\n")
    assert (
        "missing: learners_trained, completions, training_hours, sessions_delivered"
        in page_text(response.get_data(as_text=True))
    )


def test_the_export_lists_the_months_with_their_state(client, world):
    sign_in(client, world.lead.email)
    _post_month(client, world, "2025-06", **GOOD)
    response = client.get(f"{_base(world)}/export.csv?state=confirmed")
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].lstrip("\ufeff").startswith("month,learners_trained,completions,training_hours")
    assert lines[1].startswith("2025-06,120,100,310.50,12,15000.00,USD,125.00,confirmed")
    assert len(client.get(f"{_base(world)}/export.csv?state=proposed").data.splitlines()) == 1


def test_the_overview_panel_shows_delivery_and_follows_each_change(client, world):
    from mls_tracker.partnerships.overview import period
    from mls_tracker.periods import utc_today
    from mls_tracker.services import delivery as service

    reviewed = period(utc_today())[1]
    sign_in(client, world.viewer.email)
    url = f"/partnerships/{world.partnership.id}"
    assert 'id="delivery-panel"' not in client.get(url).get_data(as_text=True)
    values = service.DeliveryInput("200", "180", "400", "20", "36000", "")
    service.record_month(world.lead, world.partnership, reviewed, values, 0)
    text = page_text(client.get(url).get_data(as_text=True))  # the remembered page moved on
    assert f"{reviewed.label} 200 learners · 180 completions · 400 hours · 20 sessions" in text
    # 36,000 of 1,200,000 × 36 months ÷ 12 = 3,600,000.
    assert "1% USD 36,000 of USD 3,600,000 (36-month contract)" in text
    assert "USD 180 · USD 90" in text  # per learner, per hour
    assert "Every month shown is confirmed." in text
    service.record_month(world.provider, world.partnership, reviewed.previous(), values, 0)
    text = page_text(client.get(url).get_data(as_text=True))
    assert "◌ 1 month still proposed, not counted until a lead confirms it." in text
