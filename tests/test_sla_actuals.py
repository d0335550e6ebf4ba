"""Entering one month's actuals: providers propose, leads confirm; nothing saved until every
row is right; a row someone else saved meanwhile is refused."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import AuditEntry, MeasurementState, Sla, SlaMeasurement, SlaTarget
from mls_tracker.periods import Month
from mls_tracker.services import slas as service
from mls_tracker.services.errors import ValidationFailed
from tests import factories
from tests.conftest import csrf_token, sign_in

JUNE = Month(2025, 6)
JULY = Month(2025, 7)


def _url(world, month: Month | str) -> str:
    return f"/partnerships/{world.partnership.id}/slas/actuals/{month}"


def _measurement(sla_id: int, month: Month) -> SlaMeasurement | None:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(SlaMeasurement).where(
            SlaMeasurement.sla_id == sla_id, SlaMeasurement.month == month
        )
    )


def _rows(page: str) -> dict[str, str]:
    """The form's input values by name."""
    return dict(re.findall(r'name="((?:value|note|version)-\d+)" value="([^"]*)"', page))


def _save(client, world, month, rows: dict[str, str], **extra):
    url = _url(world, month)
    data = {"csrf_token": csrf_token(client, url), **rows, **extra}
    return client.post(url, data=data)


def _second_sla(world) -> Sla:
    sla = factories.create_sla(world.partnership, None, "HD-01", target=95, at_risk=90)
    db.session.commit()
    return sla


def test_a_provider_proposes_and_the_grid_shows_it_as_proposed(client, world):
    sla_id = world.ids["sla_id"]
    sign_in(client, world.provider.email)
    response = _save(
        client,
        world,
        JULY,
        {f"value-{sla_id}": "93.5", f"note-{sla_id}": "From LMS", f"version-{sla_id}": "0"},
    )
    assert response.status_code == 302
    saved = _measurement(sla_id, JULY)
    assert saved.value == 93.5 and saved.note == "From LMS"
    assert saved.state is MeasurementState.PROPOSED
    assert saved.entered_by_id == world.provider.id and saved.entered_at is not None
    assert saved.confirmed_by_id is None and saved.confirmed_at is None
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "proposed: a lead will confirm them" in page
    cell = re.search(
        r'<td class="cell st-met is-proposed[^"]*"[^>]*data-month="2025-07">(.*?)</td>', page, re.S
    )
    assert cell and "93.5%" in cell.group(1) and "proposed" in cell.group(1)
    audit = db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.object_type == "SlaMeasurement", AuditEntry.object_id == str(saved.id)
        )
    )
    assert audit.actor_id == world.provider.id
    assert audit.changes["value"][0] is None
    assert Decimal(audit.changes["value"][1]) == Decimal("93.5")


def test_a_leads_entry_is_confirmed_at_once(client, world):
    sla_id = world.ids["sla_id"]
    sign_in(client, world.lead.email)
    _save(client, world, JULY, {f"value-{sla_id}": "91", f"version-{sla_id}": "0"})
    saved = _measurement(sla_id, JULY)
    assert saved.state is MeasurementState.CONFIRMED
    assert saved.entered_by_id == saved.confirmed_by_id == world.lead.id
    assert saved.confirmed_at is not None


def test_a_lead_confirms_a_proposed_value_unchanged(client, world):
    sla_id = world.ids["sla_id"]
    proposed = _measurement(sla_id, JUNE)
    proposed.entered_by_id = world.provider.id
    db.session.commit()
    sign_in(client, world.lead.email)
    page = client.get(_url(world, JUNE)).get_data(as_text=True)
    assert f'name="confirm-{sla_id}"' in page
    response = _save(client, world, JUNE, {**_rows(page), f"confirm-{sla_id}": "1"})
    assert response.status_code == 302
    saved = _measurement(sla_id, JUNE)
    assert saved.state is MeasurementState.CONFIRMED and saved.value == 92
    assert saved.entered_by_id == world.provider.id, "who proposed it is kept"
    assert saved.confirmed_by_id == world.lead.id


def test_saving_without_ticking_confirm_leaves_a_proposed_value_proposed(client, world):
    sla_id = world.ids["sla_id"]
    sign_in(client, world.lead.email)
    page = client.get(_url(world, JUNE)).get_data(as_text=True)
    response = _save(client, world, JUNE, _rows(page))
    assert response.status_code == 200
    assert "Nothing to save" in response.get_data(as_text=True)
    assert _measurement(sla_id, JUNE).state is MeasurementState.PROPOSED


def test_confirm_all_confirms_every_proposed_value(client, world):
    second = _second_sla(world)
    factories.add_measurement(second, JUNE, 96, entered_by=world.provider)
    db.session.commit()
    sign_in(client, world.lead.email)
    page = client.get(_url(world, JUNE)).get_data(as_text=True)
    assert "Save and confirm all proposed" in page
    _save(client, world, JUNE, _rows(page), confirm_all="1")
    assert _measurement(world.ids["sla_id"], JUNE).state is MeasurementState.CONFIRMED
    assert _measurement(second.id, JUNE).state is MeasurementState.CONFIRMED


def test_a_lead_corrects_a_proposed_value(client, world):
    sla_id = world.ids["sla_id"]
    sign_in(client, world.lead.email)
    page = client.get(_url(world, JUNE)).get_data(as_text=True)
    _save(client, world, JUNE, {**_rows(page), f"value-{sla_id}": "88"})
    saved = _measurement(sla_id, JUNE)
    assert (saved.value, saved.state) == (88, MeasurementState.CONFIRMED)
    grid = service.month_grid(world.partnership.id, JUNE, months=1)
    assert str(grid.rows[0].cells[0].status) == "at risk"


def test_not_applicable_needs_a_reason_and_is_neither_met_nor_missed(client, world):
    sla_id = world.ids["sla_id"]
    sign_in(client, world.lead.email)
    response = _save(client, world, JULY, {f"na-{sla_id}": "1", f"version-{sla_id}": "0"})
    assert response.status_code == 200
    assert "Say why the month is not applicable" in response.get_data(as_text=True)
    assert _measurement(sla_id, JULY) is None
    _save(
        client,
        world,
        JULY,
        {f"na-{sla_id}": "1", f"note-{sla_id}": "No courses in July", f"version-{sla_id}": "0"},
    )
    saved = _measurement(sla_id, JULY)
    assert saved.not_applicable and saved.value is None and saved.note == "No courses in July"
    attainment = service.month_grid(world.partnership.id, JULY, months=1).newest
    assert attainment.rate is None and attainment.counts["not applicable"] == 1


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("ninety", "“ninety” is not a number."),
        ("101", "A percentage must be between 0 and 100."),
        ("-1", "A percentage must be between 0 and 100."),
        ("NaN", "“NaN” is not a number."),
        ("1.23456", "Use at most four decimal places."),
    ],
)
def test_bad_values_are_refused_on_their_row_and_nothing_is_saved(client, world, typed, message):
    second = _second_sla(world)
    sla_id = world.ids["sla_id"]
    sign_in(client, world.lead.email)
    response = _save(
        client,
        world,
        JULY,
        {
            f"value-{sla_id}": "91",
            f"version-{sla_id}": "0",
            f"value-{second.id}": typed,
            f"note-{second.id}": "kept",
            f"version-{second.id}": "0",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Nothing was saved: 1 row needs your attention" in page
    row = page[page.index('id="row-HD-01"') :]
    assert message in row[: row.index("</tr>")]
    assert f'value="{typed}"' in row and 'value="kept"' in row, "the input is kept"
    assert _measurement(sla_id, JULY) is None, "the valid row is not saved either"


def test_a_month_in_the_future_is_refused(client, world):
    sla_id = world.ids["sla_id"]
    future = service.this_month().next()
    sign_in(client, world.lead.email)
    page = client.get(_url(world, future)).get_data(as_text=True)
    assert "is in the future" in page
    response = _save(client, world, future, {f"value-{sla_id}": "91", f"version-{sla_id}": "0"})
    assert response.status_code == 200
    assert "is in the future" in response.get_data(as_text=True)
    assert _measurement(sla_id, future) is None
    with pytest.raises(ValidationFailed):
        service.save_month_actuals(
            world.lead,
            world.partnership,
            future,
            [service.ActualInput(sla_id, "91", False, "", 0)],
        )


def test_the_current_month_is_allowed(client, world):
    sla_id = world.ids["sla_id"]
    sign_in(client, world.lead.email)
    now = service.this_month()
    assert (
        _save(client, world, now, {f"value-{sla_id}": "91", f"version-{sla_id}": "0"}).status_code
        == 302
    )


def test_a_provider_sees_a_confirmed_value_read_only_and_cannot_change_it(client, world):
    sla_id = world.ids["sla_id"]
    confirmed = factories.add_measurement(
        db.session.get(Sla, sla_id), JULY, 91, confirmed_by=world.lead
    )
    db.session.commit()
    sign_in(client, world.provider.email)
    page = client.get(_url(world, JULY)).get_data(as_text=True)
    assert f'name="value-{sla_id}"' not in page
    assert "Confirmed by a lead; only a lead can change it." in page
    response = _save(
        client,
        world,
        JULY,
        {f"value-{sla_id}": "50", f"version-{sla_id}": str(confirmed.version)},
    )
    assert "Confirmed by a lead: only a lead can change it." in response.get_data(as_text=True)
    saved = _measurement(sla_id, JULY)
    assert (saved.value, saved.state) == (91, MeasurementState.CONFIRMED)


def test_a_row_saved_by_someone_else_meanwhile_is_refused_and_the_input_kept(client, world):
    sla_id = world.ids["sla_id"]
    sign_in(client, world.provider.email)
    page = client.get(_url(world, JUNE)).get_data(as_text=True)
    mine = {**_rows(page), f"value-{sla_id}": "94"}
    # Meanwhile a lead changes the proposed value.
    other = _measurement(sla_id, JUNE)
    other.value = 89
    other.entered_by_id = world.lead.id
    db.session.commit()
    response = _save(client, world, JUNE, mine)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Lead saved 89 (proposed) while you were editing" in page
    assert f'name="value-{sla_id}" value="94"' in page
    assert _measurement(sla_id, JUNE).value == 89
    # Saving again, having seen their value, replaces it.
    response = _save(client, world, JUNE, _rows(page))
    assert response.status_code == 302
    assert _measurement(sla_id, JUNE).value == 94


def test_a_second_value_for_the_same_sla_and_month_is_refused(app, world):
    """Two people entering the first value of a month: the second is a conflict, not a
    second row (the database also refuses it: one measurement per SLA and month)."""
    sla_id = world.ids["sla_id"]
    first = service.save_month_actuals(
        world.lead, world.partnership, JULY, [service.ActualInput(sla_id, "91", False, "", 0)]
    )
    assert first.ok and first.saved == 1
    second = service.save_month_actuals(
        world.provider, world.partnership, JULY, [service.ActualInput(sla_id, "70", False, "", 0)]
    )
    assert not second.ok and "saved 91" in second.errors[sla_id]
    count = db.session.scalar(
        sa.select(sa.func.count()).where(
            SlaMeasurement.sla_id == sla_id, SlaMeasurement.month == JULY
        )
    )
    assert count == 1


def test_a_provider_posting_extra_fields_changes_nothing_but_a_proposed_value(client, world):
    sla_id = world.ids["sla_id"]
    foreign = factories.create_sla(world.other, None, "OTH-01")
    db.session.commit()
    sign_in(client, world.provider.email)
    _save(
        client,
        world,
        JULY,
        {
            f"value-{sla_id}": "91",
            f"version-{sla_id}": "0",
            f"confirm-{sla_id}": "1",
            "confirm_all": "1",
            f"state-{sla_id}": "confirmed",
            "state": "confirmed",
            "target": "10",
            "at_risk_threshold": "5",
            f"value-{foreign.id}": "50",
            f"version-{foreign.id}": "0",
            "partnership_id": str(world.other.id),
        },
    )
    saved = _measurement(sla_id, JULY)
    assert (saved.value, saved.state) == (91, MeasurementState.PROPOSED)
    assert saved.confirmed_by_id is None
    assert _measurement(foreign.id, JULY) is None
    targets = db.session.scalars(sa.select(SlaTarget.target)).all()
    assert sorted(targets) == [90, 90]


def test_an_empty_post_shows_the_form_with_a_message(client, world):
    sign_in(client, world.provider.email)
    response = _save(client, world, JULY, {})
    assert response.status_code == 200
    assert "Nothing to save" in response.get_data(as_text=True)


def test_a_saved_value_cannot_be_emptied(client, world):
    sla_id = world.ids["sla_id"]
    sign_in(client, world.provider.email)
    page = client.get(_url(world, JUNE)).get_data(as_text=True)
    response = _save(client, world, JUNE, {**_rows(page), f"value-{sla_id}": ""})
    assert "A saved value cannot be emptied" in response.get_data(as_text=True)
    assert _measurement(sla_id, JUNE).value == 92


def test_the_month_picker_leads_to_the_chosen_month(client, world):
    sign_in(client, world.provider.email)
    response = client.get(f"/partnerships/{world.partnership.id}/slas/actuals?month=2025-03")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/slas/actuals/2025-03")
    assert client.get(_url(world, "2025-13")).status_code == 404
