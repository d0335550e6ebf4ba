"""Organisations in the administration: list with filters and CSV, create (names unique
whatever their case), rename, retire and restore, delete only what nothing refers to."""

from __future__ import annotations

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import Organisation, OrganisationKind
from mls_tracker.services import organisations
from tests import factories
from tests.conftest import csrf_token, sign_in


def _post(client, path, **data):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/admin")})


def test_the_list_shows_kind_partnerships_and_people(client, world):
    sign_in(client, world.admin.email)
    html = client.get("/admin/organisations").get_data(as_text=True)
    client_co = world.partnership.client
    row = html.split(f'id="organisation-{client_co.id}"')[1].split("</tr>")[0]
    assert "Client Co" in row and "Client" in row
    assert '"Partnerships" class="text-end">2<' in row  # both partnerships have it as client
    assert '"People" class="text-end">3<' in row  # lead, sponsor, viewer


def test_filters_and_csv(client, world):
    sign_in(client, world.admin.email)
    organisations.retire(world.admin, world.other.provider)
    html = client.get("/admin/organisations?kind=provider").get_data(as_text=True)
    assert "Provider Co" in html and "Client Co" not in html and "Other Provider" not in html
    retired = client.get("/admin/organisations?state=retired").get_data(as_text=True)
    assert "Other Provider" in retired and "Provider Co" not in retired
    csv = client.get("/admin/organisations.csv?state=all").get_data(as_text=True)
    assert csv.lstrip("\ufeff").splitlines()[0] == "Name,Kind,Partnerships,People,Retired"
    assert "Other Provider,provider,1,1,yes" in csv


def test_create_refuses_a_name_taken_in_another_case(client, world):
    sign_in(client, world.admin.email)
    response = _post(client, "/admin/organisations/new", name="client co", kind="provider")
    assert response.status_code == 200
    assert "There is already an organisation called Client Co." in response.get_data(as_text=True)
    response = _post(client, "/admin/organisations/new", name="  Acme   Learning ", kind="client")
    assert response.status_code == 302
    acme = db.session.scalar(sa.select(Organisation).where(Organisation.name == "Acme Learning"))
    assert acme.kind is OrganisationKind.CLIENT


def test_rename(client, world):
    sign_in(client, world.admin.email)
    org = world.partnership.provider
    assert _post(client, f"/admin/organisations/{org.id}", name="Provider Group").status_code == 302
    db.session.refresh(org)
    assert org.name == "Provider Group"


def test_retired_organisations_are_not_offered_and_can_be_restored(client, world):
    sign_in(client, world.admin.email)
    org = world.partnership.provider
    assert _post(client, f"/admin/organisations/{org.id}/retire").status_code == 302
    assert org not in organisations.offered("provider")
    assert world.partnership.client in organisations.offered(OrganisationKind.CLIENT)
    assert _post(client, f"/admin/organisations/{org.id}/restore").status_code == 302
    assert org in organisations.offered("provider")


def test_a_referenced_organisation_cannot_be_deleted_and_the_page_says_why(client, world):
    sign_in(client, world.admin.email)
    org = world.partnership.client
    page = client.get(f"/admin/organisations/{org.id}/delete").get_data(as_text=True)
    assert "cannot be deleted: it has 2 partnerships as their client, 3 people" in page
    assert "Retire instead" in page
    response = _post(client, f"/admin/organisations/{org.id}/delete")
    assert response.status_code == 200
    assert db.session.get(Organisation, org.id) is not None


def test_an_unreferenced_organisation_is_deleted(client, world):
    sign_in(client, world.admin.email)
    spare = factories.create_organisation("Spare Ltd", OrganisationKind.CLIENT)
    db.session.commit()
    assert _post(client, f"/admin/organisations/{spare.id}/delete").status_code == 302
    assert db.session.scalar(sa.select(Organisation.id).where(Organisation.id == spare.id)) is None


def test_list_queries_do_not_grow_with_rows(client, world):
    sign_in(client, world.admin.email)

    def count() -> int:
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            client.get("/admin/organisations")
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    before = count()
    for n in range(10):
        factories.create_organisation(f"Extra {n}", OrganisationKind.PROVIDER)
    db.session.commit()
    assert count() == before
