"""Regions in the administration: code and name (unique, code upper-cased, letters/digits/-),
order, retire and restore, delete only what nothing refers to."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import Region
from mls_tracker.services import regions
from tests import factories
from tests.conftest import csrf_token, sign_in


def _post(client, path, **data):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/admin")})


def test_create_upper_cases_the_code_and_places_it_last(client, world):
    sign_in(client, world.admin.email)
    response = _post(client, "/admin/regions/new", code=" latam ", name="Latin America")
    assert response.status_code == 302
    assert [r.code for r in regions.offered()] == ["EMEA", "APAC", "LATAM"]
    html = client.get("/admin/regions").get_data(as_text=True)
    assert "Latin America" in html


@pytest.mark.parametrize(
    ("code", "name", "message"),
    [
        ("emea", "Europe", "Another region already has the code EMEA."),
        ("NA AM", "North America", "Use only letters, digits and hyphens in the code."),
        ("NA", "apac", "There is already a region called APAC."),
        ("", "Somewhere", "Give the region a short code."),
    ],
)
def test_mistakes_are_shown_next_to_the_field(client, world, code, name, message):
    sign_in(client, world.admin.email)
    response = _post(client, "/admin/regions/new", code=code, name=name)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_recode_and_rename(client, world):
    sign_in(client, world.admin.email)
    apac = world.other.regions[0]
    response = _post(client, f"/admin/regions/{apac.id}", code="ap-1", name="Asia Pacific")
    assert response.status_code == 302
    db.session.refresh(apac)
    assert (apac.code, apac.name) == ("AP-1", "Asia Pacific")


def test_move_changes_the_order(client, world):
    sign_in(client, world.admin.email)
    apac = world.other.regions[0]
    assert _post(client, f"/admin/regions/{apac.id}/move", direction="up").status_code == 302
    assert [r.code for r in regions.offered()] == ["APAC", "EMEA"]


def test_retired_regions_are_not_offered(client, world):
    sign_in(client, world.admin.email)
    apac = world.other.regions[0]
    _post(client, f"/admin/regions/{apac.id}/retire")
    assert [r.code for r in regions.offered()] == ["EMEA"]
    _post(client, f"/admin/regions/{apac.id}/restore")
    assert [r.code for r in regions.offered()] == ["EMEA", "APAC"]


def test_a_referenced_region_is_kept_and_the_page_says_why(client, world):
    sign_in(client, world.admin.email)
    emea = world.partnership.regions[0]
    page = client.get(f"/admin/regions/{emea.id}/delete").get_data(as_text=True)
    assert "1 partnership in scope" in page and "sponsor" in page
    assert _post(client, f"/admin/regions/{emea.id}/delete").status_code == 200
    assert db.session.get(Region, emea.id) is not None


def test_an_unreferenced_region_is_deleted(client, world):
    sign_in(client, world.admin.email)
    spare = factories.create_region("Antarctica", 9)
    db.session.commit()
    assert _post(client, f"/admin/regions/{spare.id}/delete").status_code == 302
    assert db.session.scalar(sa.select(Region.id).where(Region.id == spare.id)) is None
