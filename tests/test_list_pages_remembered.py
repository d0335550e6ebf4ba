"""The survey import history and the reviews list remember their default view per data version
(mls_tracker/page_parts.py), though they hold POST forms: a revisit reads the data version and
nothing else of the list, the queries do not grow with the rows, a write shows at once, and
every form carries the CSRF token of the session that asked for the page, never one
remembered from another viewer."""

from __future__ import annotations

import re

from mls_tracker.extensions import db
from mls_tracker.models import Review, ReviewKind, Role, SurveyFormat, SurveyImport
from mls_tracker.models.satisfaction import ImportState
from mls_tracker.page_parts import TOKEN_MARK
from mls_tracker.periods import Month
from tests import factories
from tests.conftest import sign_in
from tests.test_page_parts import first_view_and_revisit

_CONFIRM_TOKEN = re.compile(
    r'action="[^"]*/imports/(\d+)/confirm"[^>]*>\s*'
    r'<input name="csrf_token" type="hidden" value="([^"]+)">'
)
_OPEN_REVIEW_TOKEN = re.compile(
    r'id="open-review-form"[^>]*>\s*<input id="csrf_token" name="csrf_token" '
    r'type="hidden" value="([^"]+)">'
)


def _history_url(world) -> str:
    return f"/partnerships/{world.partnership.id}/satisfaction/imports/"


def _reviews_url(world) -> str:
    return f"/partnerships/{world.partnership.id}/reviews/"


def _propose_imports(world, count: int, start: int = 0) -> None:
    """``count`` files imported by the provider, waiting for a lead to confirm them."""
    for n in range(start, start + count):
        db.session.add(
            SurveyImport(
                partnership_id=world.partnership.id,
                file_name=f"provider-file-{n}.csv",
                file_format=SurveyFormat.GENERIC,
                file_sha256=f"{n:064d}",
                uploaded_by_id=world.provider.id,
                rows_added=10 + n,
                state=ImportState.PROPOSED,
            )
        )
    db.session.commit()


def _open_reviews(world, months: list[Month]) -> None:
    """Monthly reviews of ``months``, opened (drafts)."""
    for month in months:
        db.session.add(
            Review(
                partnership_id=world.partnership.id,
                kind=ReviewKind.MONTHLY,
                first_month=month,
                last_month=month,
                created_by_id=world.lead.id,
            )
        )
    db.session.commit()


def _second_lead(world):
    other = factories.create_user("second.lead@test.example", organisation=world.lead.organisation)
    factories.add_member(other, world.partnership, Role.LEAD)
    db.session.commit()
    return other


def _signed_in(client, email: str):
    browser = client.application.test_client()
    sign_in(browser, email)
    return browser


def test_the_import_history_reads_nothing_again_and_does_not_grow_with_the_files(client, world):
    sign_in(client, world.lead.email)
    url = _history_url(world)
    _propose_imports(world, 1)
    first, revisit = first_view_and_revisit(client, url)
    assert revisit < first
    _propose_imports(world, 6, start=1)
    html = client.get(url).get_data(as_text=True)
    assert all(f"provider-file-{n}.csv" in html for n in range(7))
    assert "7 proposed imports" in html
    _propose_imports(world, 1, start=7)
    assert first_view_and_revisit(client, url) == (first, revisit)
    # A sorted view is rendered each time, and sorted.
    by_file = client.get(f"{url}?sort=file").get_data(as_text=True)
    assert by_file.index("provider-file-1.csv") < by_file.index("provider-file-2.csv")


def test_each_lead_confirms_with_their_own_token_from_the_remembered_history(client, world):
    _propose_imports(world, 2)
    second = _second_lead(world)
    first_browser = _signed_in(client, world.lead.email)
    second_browser = _signed_in(client, second.email)
    url = _history_url(world)

    first_html = first_browser.get(url).get_data(as_text=True)  # renders and remembers
    second_html = second_browser.get(url).get_data(as_text=True)  # the remembered list
    assert TOKEN_MARK not in first_html and TOKEN_MARK not in second_html
    first_tokens = dict(_CONFIRM_TOKEN.findall(first_html))
    second_tokens = dict(_CONFIRM_TOKEN.findall(second_html))
    assert len(first_tokens) == len(second_tokens) == 2
    assert set(first_tokens.values()).isdisjoint(second_tokens.values())

    import_id, token = sorted(second_tokens.items())[0]
    # One lead's token does not confirm for the other ...
    refused = first_browser.post(f"{url}{import_id}/confirm", data={"csrf_token": token})
    assert refused.status_code == 400
    # ... and each one's own does.
    accepted = second_browser.post(f"{url}{import_id}/confirm", data={"csrf_token": token})
    assert accepted.status_code == 302
    db.session.expire_all()
    assert db.session.get(SurveyImport, int(import_id)).state is ImportState.CONFIRMED
    # The write shows at once, to both.
    for browser in (first_browser, second_browser):
        tokens = dict(_CONFIRM_TOKEN.findall(browser.get(url).get_data(as_text=True)))
        assert list(tokens) == [sorted(first_tokens)[1]]


def test_the_reviews_list_reads_nothing_again_and_does_not_grow_with_the_reviews(client, world):
    sign_in(client, world.lead.email)
    url = _reviews_url(world)
    last = Month.current().previous()
    _open_reviews(world, [last])
    first, revisit = first_view_and_revisit(client, url)
    assert revisit < first
    _open_reviews(world, [last.shift(-n) for n in range(1, 4)])
    html = client.get(url).get_data(as_text=True)
    assert "4 reviews, sorted by period" in html
    assert f'value="monthly:{last.shift(-1)}"' not in html  # opened: no longer offered
    _open_reviews(world, [last.shift(-4)])
    assert first_view_and_revisit(client, url) == (first, revisit)


def test_each_lead_opens_a_review_with_their_own_token(client, world):
    second = _second_lead(world)
    first_browser = _signed_in(client, world.lead.email)
    second_browser = _signed_in(client, second.email)
    url = _reviews_url(world)
    first_token = _OPEN_REVIEW_TOKEN.search(first_browser.get(url).get_data(as_text=True))[1]
    second_token = _OPEN_REVIEW_TOKEN.search(second_browser.get(url).get_data(as_text=True))[1]
    assert first_token != second_token
    period = f"monthly:{Month.current().previous()}"
    refused = first_browser.post(f"{url}new", data={"csrf_token": second_token, "period": period})
    assert refused.status_code == 400
    opened = second_browser.post(f"{url}new", data={"csrf_token": second_token, "period": period})
    assert opened.status_code == 302
    html = first_browser.get(url).get_data(as_text=True)
    assert "1 review, sorted by period" in html and f'value="{period}"' not in html
