"""Defining SLAs and changing their targets; the month grid, an SLA's page and the export."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import AuditEntry, Direction, Sla, SlaTarget, Unit
from mls_tracker.periods import Month
from mls_tracker.services import slas as service
from mls_tracker.services.errors import Conflict, PermissionDenied, ValidationFailed
from tests import factories
from tests.conftest import csrf_token, sign_in


def _base(world) -> str:
    return f"/partnerships/{world.partnership.id}/slas"


def _sla(world) -> Sla:
    db.session.expire_all()
    return db.session.get(Sla, world.ids["sla_id"])


def _new_sla_form(world, **overrides) -> dict[str, str]:
    data = {
        "name": "Help-desk first response time",
        "code": "hd-01",
        "expectation": str(world.ids["expectation_id"]),
        "definition": "Median hours to the first human answer.",
        "unit": "hours",
        "direction": "lower is better",
        "weight": "2",
        "target": "4",
        "at_risk_threshold": "6",
        "applies_from": "2025-03",
    }
    data.update(overrides)
    return data


def _post(client, url, data):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, url)})


# ----------------------------------------------------------------------------- defining


def test_a_lead_defines_an_sla_with_its_first_target(client, world):
    sign_in(client, world.lead.email)
    response = _post(client, f"{_base(world)}/new", _new_sla_form(world))
    assert response.status_code == 302
    sla = db.session.scalar(sa.select(Sla).where(Sla.code == "HD-01"))
    assert sla is not None, "the code is stored in capitals"
    assert (sla.unit, sla.direction, sla.weight) == (Unit.HOURS, Direction.LOWER_IS_BETTER, 2)
    assert [(t.effective_from, t.target, t.at_risk_threshold) for t in sla.targets] == [
        (Month(2025, 3), Decimal(4), Decimal(6))
    ]
    assert sla.targets[0].set_by_id == world.lead.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Help-desk first response time" in page
    assert "Mar 2025 – now" in page
    audited = db.session.scalars(
        sa.select(AuditEntry.object_type).where(AuditEntry.partnership_id == world.partnership.id)
    ).all()
    assert "Sla" in audited and "SlaTarget" in audited


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"code": "wld-01"}, "code", "Another SLA of this partnership has the code WLD-01."),
        ({"at_risk_threshold": "3"}, "at_risk_threshold", "at or above the target"),
        (
            {"direction": "higher is better", "target": "90", "at_risk_threshold": "95"},
            "at_risk_threshold",
            "at or below the target",
        ),
        ({"unit": "%", "target": "120", "at_risk_threshold": "80"}, "target", "between 0 and 100"),
        ({"target": "ninety"}, "target", "Enter a number"),
        ({"applies_from": "March"}, "applies_from", "Choose a month"),
        ({"name": ""}, "name", "Give the SLA a name."),
        ({"expectation": "999999"}, "expectation", "Choose one of this partnership"),
    ],
)
def test_bad_sla_input_is_refused_next_to_its_field(client, world, overrides, field, message):
    sign_in(client, world.lead.email)
    before = db.session.scalar(sa.select(sa.func.count(Sla.id)))
    response = _post(client, f"{_base(world)}/new", _new_sla_form(world, **overrides))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    match = re.search(rf'id="{field}-error">(.*?)</div>\s*</div>', page, re.S)
    assert match, f"no error next to {field}"
    assert message in match.group(1)
    assert db.session.scalar(sa.select(sa.func.count(Sla.id))) == before


def test_every_problem_is_shown_at_once(client, world):
    sign_in(client, world.lead.email)
    response = _post(
        client,
        f"{_base(world)}/new",
        _new_sla_form(world, name="", code="WLD-01", at_risk_threshold="3"),
    )
    page = response.get_data(as_text=True)
    assert "Give the SLA a name." in page
    assert "Another SLA of this partnership has the code WLD-01." in page
    assert "the at-risk threshold must be at or above the target" in page


def test_an_expectation_of_another_partnership_is_refused(app, world):
    other = factories.create_expectation(world.other, "Another client's promise")
    db.session.commit()
    with app.test_request_context(), pytest.raises(ValidationFailed) as error:
        service.create_sla(
            world.lead,
            world.partnership,
            service.SlaDefinition(
                "X-1", "X", None, Unit.COUNT, Direction.HIGHER_IS_BETTER, Decimal(1), other.id
            ),
            target=Decimal(1),
            at_risk_threshold=Decimal(0),
            applies_from=Month(2025, 1),
        )
    assert error.value.field == "expectation"


def test_a_provider_may_not_define_slas(app, world):
    with app.test_request_context(), pytest.raises(PermissionDenied):
        service.create_sla(
            world.provider,
            world.partnership,
            service.SlaDefinition(
                "X-1", "X", None, Unit.COUNT, Direction.HIGHER_IS_BETTER, Decimal(1), None
            ),
            target=Decimal(1),
            at_risk_threshold=Decimal(0),
            applies_from=Month(2025, 1),
        )


def test_editing_changes_the_definition_but_never_the_target(client, world):
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/{world.ids['sla_id']}/edit"
    page = client.get(url).get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    response = _post(
        client,
        url,
        {
            "name": "Course completion",
            "code": "CMP-01",
            "expectation": str(world.ids["expectation_id"]),
            "definition": "Completed ÷ started",
            "unit": "%",
            "direction": "higher is better",
            "weight": "3",
            "active": "y",
            "version": version,
            "target": "10",  # not a field of this form: ignored
            "at_risk_threshold": "5",
        },
    )
    assert response.status_code == 302
    sla = _sla(world)
    assert (sla.code, sla.name, sla.weight, sla.active) == ("CMP-01", "Course completion", 3, True)
    assert [(t.target, t.at_risk_threshold) for t in sla.targets] == [(90, 85)]


def test_a_stale_edit_is_refused_and_shows_the_saved_version(client, world):
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/{world.ids['sla_id']}/edit"
    sla = _sla(world)
    sla.name = "Renamed by someone else"
    db.session.commit()
    response = _post(
        client,
        url,
        {
            "name": "My name",
            "code": "WLD-01",
            "expectation": str(world.ids["expectation_id"]),
            "unit": "%",
            "direction": "higher is better",
            "weight": "1",
            "active": "y",
            "version": "1",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Someone else changed this SLA" in page
    assert "Renamed by someone else" in page and 'value="My name"' in page
    assert _sla(world).name == "Renamed by someone else"
    with pytest.raises(Conflict):
        service.update_sla(
            world.lead,
            _sla(world),
            service.SlaDefinition(
                "WLD-01", "x", None, Unit.PERCENT, Direction.HIGHER_IS_BETTER, Decimal(1), None
            ),
            active=True,
            version=1,
        )


def test_changing_the_target_keeps_earlier_months_judged_by_the_old_one(client, world):
    sla = _sla(world)
    factories.add_measurement(sla, Month(2025, 7), 92, confirmed_by=world.lead)
    factories.add_measurement(sla, Month(2025, 8), 92, confirmed_by=world.lead)
    db.session.commit()
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/{sla.id}/target"
    form = client.get(url).get_data(as_text=True)
    assert f'value="{service.this_month().next()}"' in form, "defaults to next month"
    version = str(_sla(world).version)  # the form carries the SLA's version it was filled from
    asked = _post(
        client,
        url,
        {"target": "95", "at_risk_threshold": "93", "applies_from": "2025-08", "version": version},
    )
    assert asked.status_code == 200, "August was judged already: the lead must confirm"
    assert "Aug 2025: met → breached" in asked.get_data(as_text=True)
    response = _post(
        client,
        url,
        {
            "target": "95",
            "at_risk_threshold": "93",
            "applies_from": "2025-08",
            "rejudged": "Aug 2025: met → breached",
            "confirm_rejudged": "y",
            "version": version,
        },
    )
    assert response.status_code == 302
    grid = service.month_grid(sla.partnership_id, Month(2025, 8), months=2)
    july, august = grid.rows[0].cells
    assert (str(july.status), str(august.status)) == ("met", "breached")
    page = client.get(f"{_base(world)}/{sla.id}").get_data(as_text=True)
    assert "Jan 2025 – Jul 2025" in page and "Aug 2025 – now" in page
    # The same month again corrects that target rather than adding another.
    corrected = {
        "target": "94",
        "at_risk_threshold": "92",
        "applies_from": "2025-08",
        "version": str(_sla(world).version),
    }
    _post(
        client,
        url,
        {**corrected, "rejudged": "Aug 2025: breached → at risk", "confirm_rejudged": "y"},
    )
    db.session.expire_all()
    targets = db.session.scalars(
        sa.select(SlaTarget).where(SlaTarget.sla_id == sla.id).order_by(SlaTarget.effective_from)
    ).all()
    assert [(str(t.effective_from), t.target) for t in targets] == [
        ("2025-01", 90),
        ("2025-08", 94),
    ]


def test_a_target_with_the_threshold_on_the_wrong_side_is_refused(client, world):
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/{world.ids['sla_id']}/target"
    response = _post(
        client,
        url,
        {"target": "90", "at_risk_threshold": "95", "applies_from": "2025-09", "version": "1"},
    )
    assert response.status_code == 200
    assert "the at-risk threshold must be at or below the target" in response.get_data(as_text=True)
    assert len(_sla(world).targets) == 1


# ----------------------------------------------------------------------------- the grid


def _declining(world, code: str) -> Sla:
    sla = factories.create_sla(world.partnership, None, code, target=90, at_risk=85)
    for offset, value in enumerate([98, 96, 94, 92, 90, 88]):
        factories.add_measurement(sla, Month(2025, 1).shift(offset), value, confirmed_by=world.lead)
    return sla


def test_the_grid_shows_each_month_with_status_word_and_attainment(client, world):
    sla = _sla(world)
    factories.add_measurement(sla, Month(2025, 5), 80, confirmed_by=world.lead, note="Outage")
    factories.add_measurement(sla, Month(2025, 4), 86, confirmed_by=world.lead)
    factories.add_measurement(sla, Month(2025, 3), None, confirmed_by=world.lead, note="Holiday")
    _declining(world, "DEC-01")
    db.session.commit()
    sign_in(client, world.sponsor.email)
    page = client.get(f"{_base(world)}/?to=2025-06").get_data(as_text=True)
    assert "Service levels, Jul 2024 – Jun 2025" in page
    row = page[
        page.index('data-sla="WLD-01"') : page.index("</tr>", page.index('data-sla="WLD-01"'))
    ]
    assert '✖</span> <span class="st-word">breached' in row
    assert "Note: Outage" in row
    assert "at risk" in row and "n/a" in row
    assert "92%" in row and "is-proposed" in row and "proposed</span>" in row
    # The newest month's attainment counts confirmed values only: DEC-01 is at risk, and the
    # proposed (met) WLD-01 value is not counted.
    assert 'id="attainment-now">0%' in page
    assert "0 of 1 confirmed SLA met" in page
    assert "Trending to breach" in page
    assert "Enter actuals" not in page, "a sponsor reads only"


def test_the_grid_flags_only_slas_trending_to_breach(app, world):
    _declining(world, "DEC-01")
    steady = factories.create_sla(world.partnership, None, "STD-01")
    for offset in range(6):
        factories.add_measurement(steady, Month(2025, 1).shift(offset), 95, confirmed_by=world.lead)
    db.session.commit()
    grid = service.month_grid(world.partnership.id, Month(2025, 6))
    flagged = {row.series.code for row in grid.rows if row.warning}
    assert flagged == {"DEC-01"}


def _count_queries(client, url) -> int:
    statements = []

    def count(*_args):
        statements.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_the_grid_makes_the_same_number_of_queries_for_any_number_of_slas(client, world):
    """The first view after a write computes the grid, a revisit reads the remembered one:
    each makes the same number of queries with one SLA as with nine."""
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/"
    _declining(world, "GEN-0")
    db.session.commit()
    one = (_count_queries(client, url), _count_queries(client, url))
    for index in range(1, 9):
        _declining(world, f"GEN-{index}")
    db.session.commit()
    many = (_count_queries(client, url), _count_queries(client, url))
    assert "GEN-8" in client.get(url).get_data(as_text=True)
    assert many == one
    assert one[1] < one[0]  # the revisit computes nothing again


def test_an_empty_partnership_invites_the_lead_to_define_an_sla(client, world):
    sign_in(client, world.outsider.email)
    page = client.get(f"/partnerships/{world.other.id}/slas/").get_data(as_text=True)
    assert "No SLAs yet" in page and "Define the first SLA" in page


# ----------------------------------------------------------------------------- detail


def test_the_detail_shows_history_and_who_entered_and_confirmed(client, world):
    sla = _sla(world)
    factories.add_measurement(
        sla, Month(2025, 5), 91, entered_by=world.provider, confirmed_by=world.lead
    )
    db.session.commit()
    sign_in(client, world.viewer.email)
    page = client.get(f"{_base(world)}/{sla.id}?to=2025-06").get_data(as_text=True)
    assert "Last 24 months" in page
    assert "Provider, " in page and "confirmed by Lead" in page
    assert "Jan 2025 – now" in page
    assert "Change target" not in page, "a viewer reads only"


# ----------------------------------------------------------------------------- export


def test_the_export_is_an_attachment_with_one_row_per_sla_and_month(client, world):
    sla = _sla(world)
    factories.add_measurement(
        sla, Month(2025, 5), 80, confirmed_by=world.lead, note='=HYPERLINK("http://x")'
    )
    negative = factories.create_sla(world.partnership, None, "NPS-01", unit=Unit.SCORE)
    factories.add_measurement(negative, Month(2025, 5), -12, confirmed_by=world.lead, note="@x")
    db.session.commit()
    sign_in(client, world.viewer.email)
    response = client.get(f"{_base(world)}/export.csv?to=2025-06")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == service.EXPORT_HEADER
    assert len(rows) == 1 + 2 * 12
    by_key = {(r[0], r[2]): r for r in rows[1:]}
    assert by_key[("WLD-01", "2025-05")][3:] == [
        "80",
        "breached",
        "confirmed",
        '\'=HYPERLINK("http://x")',
        "90",
        "85",
    ]
    assert by_key[("WLD-01", "2025-06")][3:6] == ["92", "met", "proposed"]
    assert by_key[("NPS-01", "2025-05")][3] == "-12", "a negative number stays a number"
    assert by_key[("NPS-01", "2025-05")][6] == "'@x"
    assert by_key[("WLD-01", "2024-12")][4] == "not applicable", "before the first target"


@pytest.mark.parametrize(
    ("value", "unit", "short", "text"),
    [
        (Decimal("92.5000"), Unit.PERCENT, False, "92.5%"),
        (Decimal("100.0000"), Unit.PERCENT, False, "100%"),
        (Decimal("4.2000"), Unit.HOURS, False, "4.2 hours"),
        (Decimal("4.2000"), Unit.HOURS, True, "4.2 h"),
        (Decimal("20"), Unit.DAYS, True, "20 d"),
        (Decimal("-3"), Unit.SCORE, False, "-3"),
        (None, Unit.SCORE, False, ""),
    ],
)
def test_values_read_naturally(value, unit, short, text):
    assert service.format_value(value, unit, short=short) == text
