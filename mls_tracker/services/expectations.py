"""Expectations both sides agreed: the list by category with its due-for-review flag, the
history of each one, and the writes (agree, reword, mark revisited).

An expectation is **due for review** when its revisit-by date is past: ``revisit_by < today``.
Rewording keeps the earlier wording as a ``reworded`` revision; marking it revisited records
the day, who, a note and the next revisit-by date as a ``revisited`` revision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker import access
from mls_tracker.access import Action
from mls_tracker.audit import acting_as
from mls_tracker.extensions import db
from mls_tracker.models import (
    Expectation,
    ExpectationCategory,
    ExpectationRevision,
    Partnership,
    RevisionKind,
    Side,
    User,
)
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.locking import check_version, guarded_save

MANAGE_MESSAGE = "Only a lead of this partnership can change its expectations."
STALE_MESSAGE = (
    "Someone else changed this expectation while you were editing; here is the current "
    "version — your changes were not saved."
)
STATEMENT_MAX = 2000


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class ExpectationView:
    id: int
    version: int
    category: ExpectationCategory
    statement: str
    owner_side: Side
    agreed_on: dt.date
    revisit_by: dt.date
    due_for_review: bool
    days_past_revisit: int  # 0 unless due for review
    last_revisited_on: dt.date | None
    times_reworded: int


@dataclass(frozen=True, slots=True)
class CategoryGroup:
    category: ExpectationCategory
    expectations: tuple[ExpectationView, ...]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    kind: str  # "agreed", "reworded" or "revisited"
    day: dt.date  # the day it happened (a revisit's own date, else when it was recorded)
    recorded_at: dt.datetime | None
    author_name: str | None
    previous_statement: str | None = None
    note: str | None = None
    next_revisit_by: dt.date | None = None


def is_due_for_review(revisit_by: dt.date, today: dt.date) -> bool:
    return revisit_by < today


def _counts(expectation_ids: Iterable[int]) -> dict[int, tuple[dt.date | None, int]]:
    """Last revisit day and number of rewordings per expectation, in one query."""
    ids = list(expectation_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(
            ExpectationRevision.expectation_id,
            sa.func.max(
                sa.case(
                    (
                        ExpectationRevision.kind == RevisionKind.REVISITED,
                        ExpectationRevision.revisited_on,
                    )
                )
            ),
            sa.func.count(sa.case((ExpectationRevision.kind == RevisionKind.REWORDED, 1))),
        )
        .where(ExpectationRevision.expectation_id.in_(ids))
        .group_by(ExpectationRevision.expectation_id)
    )
    return {row[0]: (row[1], row[2]) for row in rows}


def view_of(
    expectation: Expectation, today: dt.date, counts: tuple[dt.date | None, int] = (None, 0)
) -> ExpectationView:
    due = is_due_for_review(expectation.revisit_by, today)
    return ExpectationView(
        id=expectation.id,
        version=expectation.version,
        category=expectation.category,
        statement=expectation.statement,
        owner_side=expectation.owner_side,
        agreed_on=expectation.agreed_on,
        revisit_by=expectation.revisit_by,
        due_for_review=due,
        days_past_revisit=(today - expectation.revisit_by).days if due else 0,
        last_revisited_on=counts[0],
        times_reworded=counts[1],
    )


def list_expectations(
    partnership_id: int,
    today: dt.date,
    *,
    category: ExpectationCategory | None = None,
    owner_side: Side | None = None,
    due_only: bool = False,
) -> list[ExpectationView]:
    """The partnership's expectations, filtered, in category order then by revisit-by (2
    queries)."""
    query = sa.select(Expectation).where(Expectation.partnership_id == partnership_id)
    if category is not None:
        query = query.where(Expectation.category == category)
    if owner_side is not None:
        query = query.where(Expectation.owner_side == owner_side)
    if due_only:
        query = query.where(Expectation.revisit_by < today)
    expectations = db.session.scalars(query).all()
    counts = _counts(e.id for e in expectations)
    order = {category: index for index, category in enumerate(ExpectationCategory)}
    views = [view_of(e, today, counts.get(e.id, (None, 0))) for e in expectations]
    views.sort(key=lambda v: (order[v.category], v.revisit_by, v.id))
    return views


def grouped_by_category(views: Iterable[ExpectationView]) -> list[CategoryGroup]:
    groups: dict[ExpectationCategory, list[ExpectationView]] = {}
    for view in views:
        groups.setdefault(view.category, []).append(view)
    return [
        CategoryGroup(category, tuple(groups[category]))
        for category in ExpectationCategory
        if category in groups
    ]


def history(expectation: Expectation) -> list[HistoryEntry]:
    """The expectation's timeline, newest first, ending with its agreement (1 query)."""
    revisions = db.session.scalars(
        sa.select(ExpectationRevision)
        .options(so.joinedload(ExpectationRevision.author))
        .where(ExpectationRevision.expectation_id == expectation.id)
        .order_by(ExpectationRevision.created_at.desc(), ExpectationRevision.id.desc())
    ).all()
    entries = [
        HistoryEntry(
            kind=revision.kind.value,
            day=revision.revisited_on or revision.created_at.date(),
            recorded_at=revision.created_at,
            author_name=revision.author.display_name if revision.author else None,
            previous_statement=revision.previous_statement,
            note=revision.note,
            next_revisit_by=revision.next_revisit_by,
        )
        for revision in revisions
    ]
    entries.append(
        HistoryEntry(kind="agreed", day=expectation.agreed_on, recorded_at=None, author_name=None)
    )
    return entries


CSV_COLUMNS = (
    "Category",
    "Expectation",
    "Owner side",
    "Agreed on",
    "Revisit by",
    "Due for review",
    "Last revisited on",
)


def expectation_rows(views: Iterable[ExpectationView]) -> Iterator[tuple[str, ...]]:
    """The rows of the CSV export, in ``CSV_COLUMNS`` order."""
    for view in views:
        yield (
            view.category.value,
            view.statement,
            view.owner_side.value,
            view.agreed_on.isoformat(),
            view.revisit_by.isoformat(),
            "yes" if view.due_for_review else "no",
            view.last_revisited_on.isoformat() if view.last_revisited_on else "",
        )


# ----------------------------------------------------------------------------- writes


def _clean(
    *,
    category: ExpectationCategory | str | None,
    statement: str | None,
    owner_side: Side | str | None,
    agreed_on: dt.date | None,
    revisit_by: dt.date | None,
) -> dict:
    try:
        category = ExpectationCategory(category)
    except ValueError as error:
        raise ValidationFailed("Choose a category.", field="category") from error
    statement = (statement or "").strip()
    if not statement:
        raise ValidationFailed("Write what both sides agreed.", field="statement")
    if len(statement) > STATEMENT_MAX:
        raise ValidationFailed(
            f"Keep the statement to {STATEMENT_MAX} characters.", field="statement"
        )
    try:
        owner_side = Side(owner_side)
    except ValueError as error:
        raise ValidationFailed("Choose the side that owns it.", field="owner_side") from error
    if agreed_on is None:
        raise ValidationFailed("Enter the day it was agreed.", field="agreed_on")
    if revisit_by is None:
        raise ValidationFailed("Enter the day to revisit it by.", field="revisit_by")
    if revisit_by < agreed_on:
        raise ValidationFailed(
            "The revisit-by date cannot be before the day it was agreed.", field="revisit_by"
        )
    return {
        "category": category,
        "statement": statement,
        "owner_side": owner_side,
        "agreed_on": agreed_on,
        "revisit_by": revisit_by,
    }


def create_expectation(
    actor: User,
    partnership: Partnership,
    *,
    category: ExpectationCategory | str | None,
    statement: str | None,
    owner_side: Side | str | None,
    agreed_on: dt.date | None,
    revisit_by: dt.date | None,
) -> Expectation:
    access.require(actor, Action.MANAGE, partnership.id, message=MANAGE_MESSAGE)
    values = _clean(
        category=category,
        statement=statement,
        owner_side=owner_side,
        agreed_on=agreed_on,
        revisit_by=revisit_by,
    )
    with acting_as(actor.id):
        expectation = Expectation(partnership_id=partnership.id, **values)
        db.session.add(expectation)
        db.session.commit()
    return expectation


def update_expectation(
    actor: User,
    expectation: Expectation,
    *,
    category: ExpectationCategory | str | None,
    statement: str | None,
    owner_side: Side | str | None,
    agreed_on: dt.date | None,
    revisit_by: dt.date | None,
    expected_version: int | None,
) -> Expectation:
    """Save changes; a new wording keeps the earlier one as a ``reworded`` revision."""
    access.require(actor, Action.MANAGE, expectation.partnership_id, message=MANAGE_MESSAGE)
    check_version(expectation, expected_version, STALE_MESSAGE)
    values = _clean(
        category=category,
        statement=statement,
        owner_side=owner_side,
        agreed_on=agreed_on,
        revisit_by=revisit_by,
    )
    with acting_as(actor.id), guarded_save(STALE_MESSAGE):
        if values["statement"] != expectation.statement:
            expectation.revisions.append(
                ExpectationRevision(
                    kind=RevisionKind.REWORDED,
                    previous_statement=expectation.statement,
                    author_id=actor.id,
                )
            )
        for key, value in values.items():
            setattr(expectation, key, value)
    return expectation


def revisit_expectation(
    actor: User,
    expectation: Expectation,
    *,
    revisited_on: dt.date | None,
    next_revisit_by: dt.date | None,
    note: str | None,
    today: dt.date,
    expected_version: int | None = None,
) -> ExpectationRevision:
    """Record that both sides looked at the expectation again, and when to next."""
    access.require(actor, Action.MANAGE, expectation.partnership_id, message=MANAGE_MESSAGE)
    check_version(expectation, expected_version, STALE_MESSAGE, optional=True)
    if revisited_on is None:
        raise ValidationFailed("Enter the day it was revisited.", field="revisited_on")
    if revisited_on > today:
        raise ValidationFailed(
            "A revisit is recorded once it happened: the day cannot be in the future.",
            field="revisited_on",
        )
    if revisited_on < expectation.agreed_on:
        raise ValidationFailed(
            f"The expectation was agreed on {expectation.agreed_on.day} "
            f"{expectation.agreed_on:%b %Y}; "
            "it cannot have been revisited before.",
            field="revisited_on",
        )
    if next_revisit_by is None:
        raise ValidationFailed("Enter the next revisit-by date.", field="next_revisit_by")
    if next_revisit_by <= revisited_on:
        raise ValidationFailed(
            "The next revisit-by date must be after the revisit date.", field="next_revisit_by"
        )
    note = (note or "").strip() or None
    if note and len(note) > STATEMENT_MAX:
        raise ValidationFailed(f"Keep the note to {STATEMENT_MAX} characters.", field="note")
    with acting_as(actor.id), guarded_save(STALE_MESSAGE):
        revision = ExpectationRevision(
            kind=RevisionKind.REVISITED,
            revisited_on=revisited_on,
            next_revisit_by=next_revisit_by,
            note=note,
            author_id=actor.id,
        )
        expectation.revisions.append(revision)
        expectation.revisit_by = next_revisit_by
    return revision
