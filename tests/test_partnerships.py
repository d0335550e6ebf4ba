"""The partnership list and page: what each member sees, escaping, sorting, query counts."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import Organisation, OrganisationKind, Role
from tests import factories
from tests.conftest import sign_in


@contextlib.contextmanager
def count_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # noqa: ANN001
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def test_user_text_is_escaped(client, world):
    world.partnership.name = '<script>alert("x")</script> & Co'
    db.session.commit()
    sign_in(client, world.lead.email)
    pid = world.partnership.id
    for url in ("/partnerships/", f"/partnerships/{pid}", f"/partnerships/{pid}/people"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html


def test_the_people_page_shows_the_facts_people_and_sponsors(client, world):
    sign_in(client, world.viewer.email)
    html = client.get(f"/partnerships/{world.partnership.id}/people").get_data(as_text=True)
    for text in ("Client Co", "Provider Co", "EMEA", "APAC", "USD 1,200,000", "Erika Sponsor"):
        assert text in html
    for user in (world.lead, world.provider, world.sponsor, world.viewer):
        assert user.display_name in html
    assert "Invite someone" not in html  # only leads invite


def test_list_sorts_by_the_chosen_column(client, world):
    world.other.name = "Aardvark Academy"
    factories.add_member(world.lead, world.other, Role.VIEWER)
    db.session.commit()
    sign_in(client, world.lead.email)
    by_name = client.get("/partnerships/?sort=name").get_data(as_text=True)
    assert by_name.index("Aardvark Academy") < by_name.index("Global Learning")
    world.other.renewal_date = world.partnership.renewal_date.replace(year=2030)
    db.session.commit()
    by_renewal = client.get("/partnerships/?sort=renewal").get_data(as_text=True)
    assert by_renewal.index("Global Learning") < by_renewal.index("Aardvark Academy")


def test_the_list_makes_the_same_number_of_queries_for_1_and_for_20_partnerships(client, world):
    sign_in(client, world.lead.email)
    client.get("/partnerships/")  # warm: first-request work is not the page's
    with count_queries() as one:
        assert client.get("/partnerships/").status_code == 200
    client_org = db.session.get(Organisation, world.partnership.client_id)
    for n in range(19):
        provider = factories.create_organisation(f"Provider {n}", OrganisationKind.PROVIDER)
        region = factories.create_region(f"Region {n}", 10 + n)
        partnership = factories.create_partnership(f"P{n:02d}", client_org, provider, [region])
        factories.add_member(world.lead, partnership, Role.LEAD)
    db.session.commit()
    with count_queries() as twenty:
        html = client.get("/partnerships/").get_data(as_text=True)
    assert "P18" in html
    assert len(twenty) == len(one), (one, twenty)
