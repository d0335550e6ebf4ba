"""My actions reads a user's open items through the partial index of open items by owner
(migration 18c3c0de0003): the counts from the index alone, the rows from its first entries in
due order, whatever the number of closed items the user once owned. SQLite uses a partial index
only when the query holds the index's condition literally, which a bound parameter is not."""

from __future__ import annotations

import datetime as dt

import pytest

from mls_tracker.extensions import db
from mls_tracker.services import actions as service

INDEX = "ix_action_items_owner_open_due"


def _plan(statement, values: dict) -> str:
    compiled = statement.compile(dialect=db.engine.dialect)
    params = compiled.construct_params(values)
    positional = [params[name] for name in compiled.positiontup]
    rows = db.session.connection().exec_driver_sql(
        f"EXPLAIN QUERY PLAN {compiled.string}", tuple(positional)
    )
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize("sort", ["due", "partnership"])
def test_my_actions_read_the_partial_index_of_open_items(world, sort):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plan checked is SQLite's")
    statements = service._my_statements(sort, member=True)
    today = dt.date(2026, 6, 15)
    values = {"user_id": world.lead.id, "today": today, "soon": today, "limit": 25, "offset": 0}
    counts = _plan(statements.counts, values)
    assert f"COVERING INDEX {INDEX}" in counts
    owned = _plan(statements.owned, values)
    assert INDEX in owned
    if sort == "due":
        assert "TEMP B-TREE" not in owned  # read in due order, no sort
