"""Plain functions that create test data (no factory library)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from functools import cache

from flask_security import hash_password

from mls_tracker.extensions import db
from mls_tracker.models import (
    EngagementModel,
    GovernanceModel,
    Membership,
    Organisation,
    OrganisationKind,
    Partnership,
    PartnershipStatus,
    Region,
    Role,
    User,
)

PASSWORD = "correct-horse-battery"


@cache
def _password_hash() -> str:
    # argon2 is slow on purpose; hash the shared test password once per run.
    return hash_password(PASSWORD)


def create_organisation(name: str, kind: OrganisationKind) -> Organisation:
    organisation = Organisation(name=name, kind=kind)
    db.session.add(organisation)
    db.session.flush()
    return organisation


def create_user(
    email: str,
    name: str | None = None,
    *,
    admin: bool = False,
    organisation: Organisation | None = None,
    active: bool = True,
) -> User:
    user = User(
        email=email,
        display_name=name or email.split("@")[0].title(),
        password=_password_hash(),
        active=active,
        is_admin=admin,
        organisation=organisation,
        fs_uniquifier=uuid.uuid4().hex,
    )
    db.session.add(user)
    db.session.flush()
    return user


def create_region(name: str, position: int = 0) -> Region:
    region = Region(name=name, position=position)
    db.session.add(region)
    db.session.flush()
    return region


def create_partnership(
    name: str, client: Organisation, provider: Organisation, regions: list[Region] | None = None
) -> Partnership:
    partnership = Partnership(
        name=name,
        client=client,
        provider=provider,
        engagement_model=EngagementModel.MANAGED_LEARNING_SERVICES,
        governance_model=GovernanceModel.FEDERATED,
        start_date=dt.date(2025, 1, 1),
        renewal_date=dt.date(2027, 12, 31),
        annual_value=1_200_000,
        currency="USD",
        status=PartnershipStatus.ACTIVE,
        home_region=(regions or [None])[0],
        regions=regions or [],
    )
    db.session.add(partnership)
    db.session.flush()
    return partnership


def add_member(user: User, partnership: Partnership, role: Role) -> Membership:
    membership = Membership(user=user, partnership=partnership, role=role)
    db.session.add(membership)
    db.session.flush()
    return membership


@dataclass
class World:
    partnership: Partnership
    other: Partnership
    admin: User
    lead: User
    provider: User
    sponsor: User
    viewer: User
    outsider: User

    def user(self, who: str) -> User:
        return getattr(self, who)


def build_world() -> World:
    client = create_organisation("Client Co", OrganisationKind.CLIENT)
    provider_org = create_organisation("Provider Co", OrganisationKind.PROVIDER)
    other_provider = create_organisation("Other Provider", OrganisationKind.PROVIDER)
    emea = create_region("EMEA", 1)
    apac = create_region("APAC", 2)
    partnership = create_partnership("Global Learning", client, provider_org, [emea, apac])
    other = create_partnership("Other Programme", client, other_provider, [apac])
    world = World(
        partnership=partnership,
        other=other,
        admin=create_user("admin@test.example", admin=True),
        lead=create_user("lead@test.example", organisation=client),
        provider=create_user("provider@test.example", organisation=provider_org),
        sponsor=create_user("sponsor@test.example", organisation=client),
        viewer=create_user("viewer@test.example", organisation=client),
        outsider=create_user("outsider@test.example", organisation=other_provider),
    )
    add_member(world.lead, partnership, Role.LEAD)
    add_member(world.provider, partnership, Role.PROVIDER)
    add_member(world.sponsor, partnership, Role.SPONSOR)
    add_member(world.viewer, partnership, Role.VIEWER)
    add_member(world.outsider, other, Role.LEAD)
    db.session.commit()
    return world
