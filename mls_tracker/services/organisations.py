"""Organisations (clients and providers), administered by admins: list, create, rename, retire,
restore, and delete only what nothing refers to.

A retired organisation keeps its partnerships and people but is offered for nothing new
(``offered``). Names are unique whatever their case ("Acme" and "ACME" are one organisation).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from mls_tracker import access
from mls_tracker.audit import acting_as
from mls_tracker.extensions import db
from mls_tracker.models import Base, Organisation, OrganisationKind, Partnership, User
from mls_tracker.models.base import utcnow
from mls_tracker.services.errors import NotFound, ValidationFailed

NAME_MAX = 200

# What a row of another table that points at an organisation or a region is, for the message
# that says why it cannot be deleted: (table, column) → (one, many).
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


@dataclass(frozen=True)
class OrganisationRow:
    id: int
    name: str
    kind: OrganisationKind
    partnerships: int
    people: int
    retired: bool


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


def offered(kind: OrganisationKind | str) -> list[Organisation]:
    """The organisations of a kind that may be chosen for something new (not retired), by name."""
    return list(
        db.session.scalars(
            sa.select(Organisation)
            .where(Organisation.kind == OrganisationKind(kind), Organisation.retired_at.is_(None))
            .order_by(sa.func.lower(Organisation.name))
        )
    )


def get(actor: User, organisation_id: int) -> Organisation:
    access.require_admin(actor)
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound()
    return organisation


def listing(
    actor: User, *, kind: str | None = None, retired: bool | None = None
) -> list[OrganisationRow]:
    """Every organisation (or those of a kind; retired only, or current only) with how many
    partnerships and people it has, in three queries whatever the number of rows."""
    access.require_admin(actor)
    query = sa.select(Organisation).order_by(sa.func.lower(Organisation.name))
    if kind:
        query = query.where(Organisation.kind == OrganisationKind(kind))
    if retired is True:
        query = query.where(Organisation.retired_at.is_not(None))
    elif retired is False:
        query = query.where(Organisation.retired_at.is_(None))
    organisations = list(db.session.scalars(query))
    partnership_counts: dict[int, int] = {}
    for column in (Partnership.client_id, Partnership.provider_id):
        for org_id, count in db.session.execute(
            sa.select(column, sa.func.count()).group_by(column)
        ):
            partnership_counts[org_id] = partnership_counts.get(org_id, 0) + count
    people_counts = dict(
        db.session.execute(
            sa.select(User.organisation_id, sa.func.count())
            .where(User.organisation_id.is_not(None))
            .group_by(User.organisation_id)
        ).all()
    )
    return [
        OrganisationRow(
            id=org.id,
            name=org.name,
            kind=org.kind,
            partnerships=partnership_counts.get(org.id, 0),
            people=people_counts.get(org.id, 0),
            retired=org.retired_at is not None,
        )
        for org in organisations
    ]


def _clean_name(name: str | None, *, except_id: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed("Give the organisation a name.", "name")
    if len(name) > NAME_MAX:
        raise ValidationFailed(f"Keep the name to {NAME_MAX} characters or fewer.", "name")
    query = sa.select(Organisation.name).where(sa.func.lower(Organisation.name) == name.lower())
    if except_id is not None:
        query = query.where(Organisation.id != except_id)
    taken = db.session.scalar(query)
    if taken is not None:
        raise ValidationFailed(f"There is already an organisation called {taken}.", "name")
    return name


def _kind(kind: str | None) -> OrganisationKind:
    try:
        return OrganisationKind(kind)
    except ValueError:
        raise ValidationFailed("Choose whether it is a client or a provider.", "kind") from None


def _commit_name() -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed("There is already an organisation with this name.", "name") from None


def create(actor: User, *, name: str | None, kind: str | None) -> Organisation:
    access.require_admin(actor)
    clean_kind = _kind(kind)
    clean_name = _clean_name(name)
    with acting_as(actor.id):
        organisation = Organisation(name=clean_name, kind=clean_kind)
        db.session.add(organisation)
        _commit_name()
    return organisation


def rename(actor: User, organisation: Organisation, *, name: str | None) -> Organisation:
    access.require_admin(actor)
    clean_name = _clean_name(name, except_id=organisation.id)
    with acting_as(actor.id):
        organisation.name = clean_name
        _commit_name()
    return organisation


def retire(actor: User, organisation: Organisation) -> None:
    """Offer it for nothing new; its partnerships and people stay as they are."""
    access.require_admin(actor)
    if organisation.retired_at is None:
        with acting_as(actor.id):
            organisation.retired_at = utcnow()
            db.session.commit()


def restore(actor: User, organisation: Organisation) -> None:
    access.require_admin(actor)
    if organisation.retired_at is not None:
        with acting_as(actor.id):
            organisation.retired_at = None
            db.session.commit()


def blockers(actor: User, organisation: Organisation) -> list[str]:
    """Why the organisation cannot be deleted (empty when it can)."""
    access.require_admin(actor)
    return references_to(Organisation.__tablename__, organisation.id)


def delete(actor: User, organisation: Organisation) -> None:
    """Delete an organisation nothing refers to; otherwise say what does (retire it instead)."""
    reasons = blockers(actor, organisation)
    if reasons:
        raise ValidationFailed(
            f"{organisation.name} cannot be deleted: it has {', '.join(reasons)}. "
            "Retire it instead."
        )
    with acting_as(actor.id):
        db.session.delete(organisation)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            raise ValidationFailed(
                f"{organisation.name} cannot be deleted: something now refers to it. "
                "Retire it instead."
            ) from None
