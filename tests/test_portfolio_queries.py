"""The portfolio and the partnership overview make as many queries for a few partnerships as
for many, warm (everything cached) and cold (the first view after an edit, that
partnership's cached figures and portfolio row forgotten) — QUALITY.md, issue 18."""

from __future__ import annotations

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import ActionItem, Partnership, PartnershipPortfolioRow
from tests.conftest import empty_database, sign_in
from tests.test_dashboard import _portfolio_of
from tests.test_partnerships import count_queries

FEW, MANY = 2, 30  # many: more than one page of the portfolio


def _edit(partnership_id: int) -> None:
    """An audited write of the partnership (an action's title), as a user's edit is."""
    item = db.session.scalars(
        sa.select(ActionItem).where(ActionItem.partnership_id == partnership_id)
    ).first()
    item.title += " (edited)"
    db.session.commit()


def _has_row(partnership_id: int) -> bool:
    row = PartnershipPortfolioRow
    return bool(
        db.session.scalar(sa.select(sa.func.count()).where(row.partnership_id == partnership_id))
    )


def _queries(app, count: int) -> dict[str, int]:
    """Queries of each page, warm and cold, with a portfolio of ``count`` partnerships."""
    lead = _portfolio_of(count)
    pid = db.session.scalar(sa.select(Partnership.id).order_by(Partnership.name))
    client = app.test_client()
    sign_in(client, lead.email)
    counts = {}
    for name, url in (("portfolio", "/portfolio"), ("overview", f"/partnerships/{pid}")):
        assert client.get(url).status_code == 200  # fills what is missing
        with count_queries() as warm:
            assert client.get(url).status_code == 200
        _edit(pid)
        assert not _has_row(pid)  # the edit forgot the partnership's row
        with count_queries() as cold:
            assert client.get(url).status_code == 200
        counts[f"{name} warm"], counts[f"{name} cold"] = len(warm), len(cold)
        assert len(cold) > len(warm)  # the cold view did compute something
        db.session.rollback()
        assert _has_row(pid) == (name == "portfolio")  # which stores the row again
    return counts


def test_queries_do_not_grow_with_the_portfolio_warm_or_cold(app):
    few = _queries(app, FEW)
    empty_database()
    many = _queries(app, MANY)
    assert few == many
