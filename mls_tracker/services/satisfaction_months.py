"""The monthly satisfaction sums (``satisfaction_months``): written in the transaction that
changes the survey responses, set-based, so that they always equal a recomputation from
``survey_responses`` and every figure reads them instead of the responses.

Who keeps them equal:

- a new import (a file or an API push, ``survey_import.record_import``; the demo) adds the
  sums of its rows with one ``INSERT … SELECT … GROUP BY`` over them: ``add_import``;
- undoing an import removes its sums with its responses: ``remove_import``; deleting an
  import or a partnership removes them by ``ON DELETE CASCADE``; any other UPDATE or DELETE
  of responses through the session has the partnership-months it touched recomputed;
- confirming a proposed import changes nothing here: the sums keep their import, and
  readers leave out those of proposed imports (``SatisfactionMonth.counted``), exactly as
  they would leave out the responses;
- responses written one by one through the ORM session (added, changed or deleted objects;
  no use case does so today, the tests and repairs do) have the cells they touch recomputed
  at the end of that flush (``install_listeners``) — a recomputation, so two such writes to
  the same cell at once on PostgreSQL could both insert it: the use cases write by import;
- rows written past all of this (a benchmark's bulk load, a repair) are summed again by
  ``rebuild``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.extensions import db
from mls_tracker.models.satisfaction import SatisfactionMonth, SurveyResponse
from mls_tracker.periods import Month

# (partnership, import or None, month): the unit recomputed after an ORM flush.
Cell = tuple[int, int | None, Month]

_KEY = ("partnership_id", "import_id", "month", "region_id", "program")
_SUMS = (
    "responses",
    "n_rating",
    "rating_sum",
    "satisfied",
    "n_recommend",
    "promoters",
    "detractors",
)


def _ones(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _summed(*where: sa.ColumnElement[bool]) -> sa.Insert:
    """INSERT the sums of the responses ``where`` holds, one row per key."""
    r = SurveyResponse
    key = [getattr(r, name) for name in _KEY]
    sums = (
        sa.func.count(),
        sa.func.count(r.rating),
        sa.func.coalesce(sa.func.sum(r.rating), 0),
        _ones(r.rating >= 4),
        sa.func.count(r.recommend),
        _ones(r.recommend >= 9),
        _ones(r.recommend <= 6),
    )
    select = sa.select(*key, *sums).where(*where).group_by(*key)
    return sa.insert(SatisfactionMonth).from_select([*_KEY, *_SUMS], select)


def _execute(statement: sa.Executable, connection: sa.Connection | None = None) -> Any:
    return (connection or db.session.connection()).execute(statement)


def add_import(import_id: int, connection: sa.Connection | None = None) -> None:
    """Add the sums of a new import's responses (all of them in the transaction already)."""
    _execute(_summed(SurveyResponse.import_id == import_id), connection)


def remove_import(import_id: int) -> None:
    """Remove an import's sums (its responses are being deleted in the same transaction)."""
    _execute(sa.delete(SatisfactionMonth).where(SatisfactionMonth.import_id == import_id))


def _of_import(column: Any, import_id: int | None) -> sa.ColumnElement[bool]:
    return column.is_(None) if import_id is None else column == import_id


def refresh(cells: Iterable[Cell], connection: sa.Connection | None = None) -> None:
    """Recompute the sums of some cells from their responses: two statements per partnership
    and import, whatever the number of months."""
    months: dict[tuple[int, int | None], set[Month]] = {}
    for partnership_id, import_id, month in cells:
        months.setdefault((partnership_id, import_id), set()).add(month)
    s, r = SatisfactionMonth, SurveyResponse
    for (partnership_id, import_id), chosen in sorted(
        months.items(), key=lambda item: (item[0][0], item[0][1] or 0)
    ):
        ordered = sorted(chosen)
        _execute(
            sa.delete(s).where(
                s.partnership_id == partnership_id,
                _of_import(s.import_id, import_id),
                s.month.in_(ordered),
            ),
            connection,
        )
        _execute(
            _summed(
                r.partnership_id == partnership_id,
                _of_import(r.import_id, import_id),
                r.month.in_(ordered),
            ),
            connection,
        )


def refresh_months(pairs: Iterable[tuple[int, Month]]) -> None:
    """Recompute every import's sums of some partnership-months from their responses."""
    s, r = SatisfactionMonth, SurveyResponse
    months: dict[int, set[Month]] = {}
    for partnership_id, month in pairs:
        months.setdefault(partnership_id, set()).add(month)
    for partnership_id, chosen in sorted(months.items()):
        ordered = sorted(chosen)
        _execute(sa.delete(s).where(s.partnership_id == partnership_id, s.month.in_(ordered)))
        _execute(_summed(r.partnership_id == partnership_id, r.month.in_(ordered)))


def rebuild(partnership_ids: Sequence[int] | None = None) -> None:
    """Sum every response again (of ``partnership_ids``, or all): for rows written past the
    services. The caller commits."""
    s, r = SatisfactionMonth, SurveyResponse
    if partnership_ids is None:
        _execute(sa.delete(s))
        _execute(_summed())
        return
    ids = sorted(partnership_ids)
    _execute(sa.delete(s).where(s.partnership_id.in_(ids)))
    _execute(_summed(r.partnership_id.in_(ids)))


# ----------------------------------------------------------------------------- ORM writes

_PENDING = "satisfaction_months_cells"


def _cells_of(response: SurveyResponse) -> set[Cell]:
    """The cells a response was in before this flush and is in after it."""
    state = sa.inspect(response)
    now: list[Any] = []
    before: list[Any] = []
    for name in ("partnership_id", "import_id", "month"):
        history = state.attrs[name].history
        value = getattr(response, name)
        now.append(value)
        before.append(history.deleted[0] if history.deleted else value)
    cells = {(now[0], now[1], now[2])}
    if not state.pending:
        cells.add((before[0], before[1], before[2]))
    return {cell for cell in cells if cell[0] is not None and cell[2] is not None}


def _collect(session: so.Session, _context: Any, _instances: Any) -> None:
    touched: set[Cell] = session.info.setdefault(_PENDING, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, SurveyResponse) and (
            obj in session.new or obj in session.deleted or session.is_modified(obj)
        ):
            touched |= _cells_of(obj)


def _apply(session: so.Session, _context: Any) -> None:
    touched = session.info.pop(_PENDING, None)
    if touched:
        refresh(touched, session.connection())


def _forget(session: so.Session, *_args: Any) -> None:
    session.info.pop(_PENDING, None)


# An execution option: the statement's caller keeps the sums itself (``undo_import``).
SUMS_KEPT = "satisfaction_sums_kept"


def _bulk_write(state: so.ORMExecuteState) -> Any:
    """An UPDATE or DELETE of responses through the session (``session.execute(sa.delete(
    SurveyResponse).where(…))``): the partnership-months its rows were in are recomputed
    after it. (An UPDATE that moves rows to another partnership or month is not followed
    there: no use case does one.)"""
    if not (state.is_update or state.is_delete) or state.execution_options.get(SUMS_KEPT):
        return None
    mapper = state.bind_mapper
    if mapper is None or mapper.class_ is not SurveyResponse:
        return None
    r = SurveyResponse
    where = state.statement.whereclause
    months = sa.select(r.partnership_id, r.month).distinct()
    if where is not None:
        months = months.where(where)
    pairs = set(state.session.execute(months, state.parameters).all())
    result = state.invoke_statement()
    if state.is_update:
        pairs |= set(state.session.execute(months, state.parameters).all())
    refresh_months(pairs)
    return result


_LISTENERS = (
    ("before_flush", _collect),
    ("after_flush", _apply),
    ("after_rollback", _forget),
    ("do_orm_execute", _bulk_write),
)


def install_listeners() -> None:
    """Idempotent: the listeners are global to every SQLAlchemy session."""
    for name, listener in _LISTENERS:
        if not sa.event.contains(so.Session, name, listener):
            sa.event.listen(so.Session, name, listener)
