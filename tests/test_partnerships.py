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


def _first_view_and_revisit(client, url: str) -> tuple[int, int]:
    with count_queries() as first:
        assert client.get(url).status_code == 200
    with count_queries() as revisit:
        assert client.get(url).status_code == 200
    return len(first), len(revisit)


def test_the_list_makes_the_same_number_of_queries_for_1_and_for_20_partnerships(client, world):
    """Counted on the first view after a write (the list computed) and on the revisit (the
    list as remembered)."""
    sign_in(client, world.lead.email)
    client.get("/partnerships/")  # warm: first-request work is not the page's
    world.other.annual_value = 900_000  # an audited write: the list is computed again
    db.session.commit()
    one = _first_view_and_revisit(client, "/partnerships/")
    client_org = db.session.get(Organisation, world.partnership.client_id)
    for n in range(19):
        provider = factories.create_organisation(f"Provider {n}", OrganisationKind.PROVIDER)
        region = factories.create_region(f"Region {n}", 10 + n, code=f"R{n}")
        partnership = factories.create_partnership(f"P{n:02d}", client_org, provider, [region])
        factories.add_member(world.lead, partnership, Role.LEAD)
    db.session.commit()
    twenty = _first_view_and_revisit(client, "/partnerships/")
    assert "P18" in client.get("/partnerships/").get_data(as_text=True)
    assert twenty == one
    assert one[1] < one[0]


def _many_partnerships(world, n: int) -> None:
    """``n`` more partnerships P00.. for the lead, renewing in reverse name order."""
    client_org = db.session.get(Organisation, world.partnership.client_id)
    provider = factories.create_organisation("Many Provider", OrganisationKind.PROVIDER)
    region = factories.create_region("Many Region", 90, code="MANY")
    for i in range(n):
        partnership = factories.create_partnership(f"P{i:02d}", client_org, provider, [region])
        partnership.renewal_date = world.partnership.renewal_date.replace(year=2090 - i)
        factories.add_member(world.lead, partnership, Role.LEAD)
    db.session.commit()


def test_the_list_is_paginated_with_the_totals_shown(client, world):
    _many_partnerships(world, 30)  # with the world's own: 31 in all
    sign_in(client, world.lead.email)
    first = client.get("/partnerships/").get_data(as_text=True)
    assert "31 partnerships you are a member of" in first
    assert "Showing 1–25 of 31" in first
    # "Global Learning" sorts before "P..": it, then P00..P23.
    assert "Global Learning" in first
    assert ">P00<" in first and ">P23<" in first and ">P24<" not in first
    assert 'href="/partnerships/?page=2&amp;sort=name"' in first
    second = client.get("/partnerships/?page=2").get_data(as_text=True)
    assert "Showing 26–31 of 31" in second
    assert ">P24<" in second and ">P29<" in second and ">P23<" not in second
    assert "Global Learning" not in second


def test_the_sort_applies_across_pages(client, world):
    _many_partnerships(world, 30)
    sign_in(client, world.lead.email)
    # By renewal, P29 (2061) comes first and P00 (2090) after every other P.
    first = client.get("/partnerships/?sort=renewal").get_data(as_text=True)
    second = client.get("/partnerships/?sort=renewal&page=2").get_data(as_text=True)
    assert ">P29<" in first and ">P00<" not in first
    assert ">P00<" in second and ">P29<" not in second
    assert 'href="/partnerships/?page=1&amp;sort=renewal"' in second  # the pager keeps the sort


def test_an_out_of_range_page_is_the_first_or_the_last(client, world):
    _many_partnerships(world, 30)
    sign_in(client, world.lead.email)
    for url in ("/partnerships/?page=0", "/partnerships/?page=-3", "/partnerships/?page=x"):
        response = client.get(url)
        assert response.status_code == 200
        assert "Showing 1–25 of 31" in response.get_data(as_text=True)
    response = client.get("/partnerships/?page=999")
    assert response.status_code == 200
    assert "Showing 26–31 of 31" in response.get_data(as_text=True)


def test_a_single_page_has_no_pager(client, world):
    sign_in(client, world.lead.email)
    html = client.get("/partnerships/?page=5").get_data(as_text=True)
    assert "Global Learning" in html
    assert "Showing" not in html and "Pages of partnerships" not in html
