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
from mls_tracker.models import Organisation, OrganisationKind, Partnership, User
from mls_tracker.services import reference_data
from mls_tracker.services.errors import NotFound, ValidationFailed

NAME_MAX = 200


@dataclass(frozen=True)
class OrganisationRow:
    id: int
    name: str
    kind: OrganisationKind
    partnerships: int
    people: int
    retired: bool


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


def rename(
    actor: User, organisation: Organisation, *, name: str | None, sso_only: bool | None = None
) -> Organisation:
    """Rename it, and (when given) set whether its people sign in only through single
    sign-on."""
    access.require_admin(actor)
    clean_name = _clean_name(name, except_id=organisation.id)
    with acting_as(actor.id):
        organisation.name = clean_name
        if sso_only is not None:
            organisation.sso_only = sso_only
        _commit_name()
    return organisation


def retire(actor: User, organisation: Organisation) -> None:
    """Offer it for nothing new; its partnerships and people stay as they are."""
    reference_data.set_retired(actor, organisation, True)


def restore(actor: User, organisation: Organisation) -> None:
    reference_data.set_retired(actor, organisation, False)


def blockers(actor: User, organisation: Organisation) -> list[str]:
    """Why the organisation cannot be deleted (empty when it can)."""
    return reference_data.blockers(actor, organisation)


def delete(actor: User, organisation: Organisation) -> None:
    """Delete an organisation nothing refers to; otherwise say what does (retire it instead)."""
    reference_data.delete_unreferenced(actor, organisation, organisation.name)
