"""Regions, administered by admins: a short unique code ("EMEA") and a name, in an order of
their own (position); create, rename or recode, reorder, retire, restore, and delete only what
nothing refers to (partnerships, sponsors, changes, wins, survey responses …).

A retired region keeps everything recorded against it but is offered for nothing new.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from mls_tracker import access
from mls_tracker.audit import acting_as
from mls_tracker.extensions import db
from mls_tracker.models import Region, Sponsor, User, partnership_regions
from mls_tracker.services import reference_data
from mls_tracker.services.errors import NotFound, ValidationFailed

CODE_MAX = 12
NAME_MAX = 100
CODE_PATTERN = re.compile(r"^[A-Z0-9-]+$")


@dataclass(frozen=True)
class RegionRow:
    id: int
    code: str
    name: str
    position: int
    partnerships: int
    sponsors: int
    retired: bool


def offered() -> list[Region]:
    """The regions that may be chosen for something new (not retired), in their order."""
    return list(
        db.session.scalars(
            sa.select(Region)
            .where(Region.retired_at.is_(None))
            .order_by(Region.position, sa.func.lower(Region.name))
        )
    )


def get(actor: User, region_id: int) -> Region:
    access.require_admin(actor)
    region = db.session.get(Region, region_id)
    if region is None:
        raise NotFound()
    return region


def listing(actor: User) -> list[RegionRow]:
    """Every region in its order, with how many partnerships have it in scope and how many
    sponsors it has, in three queries whatever the number of regions."""
    access.require_admin(actor)
    regions = db.session.scalars(
        sa.select(Region).order_by(Region.position, sa.func.lower(Region.name))
    ).all()
    in_scope = dict(
        db.session.execute(
            sa.select(partnership_regions.c.region_id, sa.func.count()).group_by(
                partnership_regions.c.region_id
            )
        ).all()
    )
    sponsors = dict(
        db.session.execute(
            sa.select(Sponsor.region_id, sa.func.count()).group_by(Sponsor.region_id)
        ).all()
    )
    return [
        RegionRow(
            id=region.id,
            code=region.code,
            name=region.name,
            position=region.position,
            partnerships=in_scope.get(region.id, 0),
            sponsors=sponsors.get(region.id, 0),
            retired=region.retired_at is not None,
        )
        for region in regions
    ]


def _clean(code: str | None, name: str | None, *, except_id: int | None) -> tuple[str, str]:
    code = (code or "").strip().upper()
    name = " ".join((name or "").split())
    if not code:
        raise ValidationFailed("Give the region a short code, such as EMEA.", "code")
    if len(code) > CODE_MAX:
        raise ValidationFailed(f"Keep the code to {CODE_MAX} characters or fewer.", "code")
    if not CODE_PATTERN.match(code):
        raise ValidationFailed("Use only letters, digits and hyphens in the code.", "code")
    if not name:
        raise ValidationFailed("Give the region a name.", "name")
    if len(name) > NAME_MAX:
        raise ValidationFailed(f"Keep the name to {NAME_MAX} characters or fewer.", "name")
    others = sa.select(Region)
    if except_id is not None:
        others = others.where(Region.id != except_id)
    if db.session.scalar(others.where(sa.func.upper(Region.code) == code)) is not None:
        raise ValidationFailed(f"Another region already has the code {code}.", "code")
    same_name = db.session.scalar(others.where(sa.func.lower(Region.name) == name.lower()))
    if same_name is not None:
        raise ValidationFailed(f"There is already a region called {same_name.name}.", "name")
    return code, name


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed("Another region already has this code or name.", "code") from None


def create(actor: User, *, code: str | None, name: str | None) -> Region:
    """A new region, placed after the others."""
    access.require_admin(actor)
    clean_code, clean_name = _clean(code, name, except_id=None)
    last = db.session.scalar(sa.select(sa.func.max(Region.position)))
    with acting_as(actor.id):
        region = Region(code=clean_code, name=clean_name, position=(last or 0) + 1)
        db.session.add(region)
        _commit()
    return region


def update(actor: User, region: Region, *, code: str | None, name: str | None) -> Region:
    """Rename or recode a region."""
    access.require_admin(actor)
    clean_code, clean_name = _clean(code, name, except_id=region.id)
    with acting_as(actor.id):
        region.code = clean_code
        region.name = clean_name
        _commit()
    return region


def move(actor: User, region: Region, direction: str) -> None:
    """Swap a region with its neighbour ("up" or "down") in the order regions are shown in;
    positions are renumbered 1, 2, 3 … on the way, so equal positions never stick."""
    access.require_admin(actor)
    if direction not in ("up", "down"):
        raise ValidationFailed("Move a region up or down.")
    regions = list(
        db.session.scalars(sa.select(Region).order_by(Region.position, sa.func.lower(Region.name)))
    )
    index = regions.index(region)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(regions):
        regions[index], regions[other] = regions[other], regions[index]
    with acting_as(actor.id):
        for position, each in enumerate(regions, start=1):
            if each.position != position:
                each.position = position
        db.session.commit()


def retire(actor: User, region: Region) -> None:
    """Offer it for nothing new; what is recorded against it stays."""
    reference_data.set_retired(actor, region, True)


def restore(actor: User, region: Region) -> None:
    reference_data.set_retired(actor, region, False)


def blockers(actor: User, region: Region) -> list[str]:
    """Why the region cannot be deleted (empty when it can)."""
    return reference_data.blockers(actor, region)


def delete(actor: User, region: Region) -> None:
    """Delete a region nothing refers to; otherwise say what does (retire it instead)."""
    reference_data.delete_unreferenced(actor, region, region.name)
