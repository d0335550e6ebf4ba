"""Organisations and regions are reference data: retired rather than deleted once anything
refers to them, deleted only while nothing does. What the two services share."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from mls_tracker import access
from mls_tracker.audit import acting_as
from mls_tracker.extensions import db
from mls_tracker.models import Base, User
from mls_tracker.models.base import utcnow
from mls_tracker.services.errors import ValidationFailed

# (table, column) of a foreign key → how one and several referring rows are named.
REFERENCE_LABELS: dict[tuple[str, str], tuple[str, str]] = {
    ("partnerships", "client_id"): ("partnership as its client", "partnerships as their client"),
    ("partnerships", "provider_id"): (
        "partnership as its provider",
        "partnerships as their provider",
    ),
    ("partnerships", "home_region_id"): (
        "partnership as its home region",
        "partnerships as their home region",
    ),
    ("users", "organisation_id"): ("person", "people"),
    ("invitations", "organisation_id"): ("invitation", "invitations"),
    ("partnership_regions", "region_id"): ("partnership in scope", "partnerships in scope"),
    ("sponsors", "region_id"): ("sponsor", "sponsors"),
    ("wins", "region_id"): ("win", "wins"),
    ("change_regions", "region_id"): ("change", "changes"),
    ("survey_responses", "region_id"): ("survey response", "survey responses"),
    ("reported_satisfaction", "region_id"): (
        "reported satisfaction figure",
        "reported satisfaction figures",
    ),
}


def references_to(table: str, row_id: int) -> list[str]:
    """What refers to row ``row_id`` of ``table``, e.g. ["2 partnerships as their client",
    "1 person"]: every foreign key of the schema that points at it is counted, so a table added
    later is never forgotten."""
    found = []
    for other in Base.metadata.sorted_tables:
        for fk in sorted(other.foreign_keys, key=lambda fk: fk.parent.name):
            if fk.column.table.name != table:
                continue
            count = db.session.scalar(
                sa.select(sa.func.count()).select_from(other).where(fk.parent == row_id)
            )
            if count:
                one, many = REFERENCE_LABELS.get(
                    (other.name, fk.parent.name), (f"{other.name} row", f"{other.name} rows")
                )
                found.append(f"{count} {one if count == 1 else many}")
    return found


def set_retired(actor: User, row: Any, retired: bool) -> None:
    """Retire a row (offered for nothing new; what refers to it stays) or bring it back."""
    access.require_admin(actor)
    if (row.retired_at is not None) != retired:
        with acting_as(actor.id):
            row.retired_at = utcnow() if retired else None
            db.session.commit()


def blockers(actor: User, row: Any) -> list[str]:
    """Why the row cannot be deleted (empty when it can)."""
    access.require_admin(actor)
    return references_to(row.__tablename__, row.id)


def delete_unreferenced(actor: User, row: Any, name: str) -> None:
    """Delete a row nothing refers to; otherwise say what does (retire it instead)."""
    reasons = blockers(actor, row)
    if reasons:
        raise ValidationFailed(
            f"{name} cannot be deleted: it has {', '.join(reasons)}. Retire it instead."
        )
    with acting_as(actor.id):
        db.session.delete(row)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            raise ValidationFailed(
                f"{name} cannot be deleted: something now refers to it. Retire it instead."
            ) from None
