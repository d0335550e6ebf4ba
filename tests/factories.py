"""Plain functions that create test data (no factory library)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from functools import cache

from flask_security import hash_password

from mls_tracker.extensions import db
from mls_tracker.models import (
    ActionItem,
    ActionStatus,
    Attendance,
    Direction,
    EngagementModel,
    Expectation,
    ExpectationCategory,
    GovernanceModel,
    MeasurementState,
    Meeting,
    MeetingState,
    Membership,
    Organisation,
    OrganisationKind,
    Partnership,
    PartnershipStatus,
    Priority,
    Region,
    Role,
    Side,
    Sla,
    SlaMeasurement,
    SlaTarget,
    Sponsor,
    Unit,
    User,
    utcnow,
)
from mls_tracker.periods import Month

PASSWORD = "correct-horse-battery"
FIRST_MONTH = Month(2025, 1)


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


def create_region(name: str, position: int = 0, code: str | None = None) -> Region:
    """A region; without a code, the model makes one from the name ("North America" → "NA")."""
    region = Region(name=name, position=position, **({"code": code} if code else {}))
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
    # Ids of one object of each kind in ``partnership``, by URL argument name (sponsor_id …),
    # for the permission matrix.
    ids: dict[str, int] = field(default_factory=dict)

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
    sponsor = create_sponsor(partnership, emea, Side.CLIENT, "Erika Sponsor", user=world.sponsor)
    expectation = create_expectation(partnership)
    sla = create_sla(partnership, expectation)
    measurement = SlaMeasurement(
        sla_id=sla.id, month=Month(2025, 6), value=92, state=MeasurementState.PROPOSED
    )
    db.session.add(measurement)
    db.session.commit()
    world.ids.update(
        sponsor_id=sponsor.id,
        expectation_id=expectation.id,
        sla_id=sla.id,
        measurement_id=measurement.id,
    )
    return world


def create_sponsor(
    partnership: Partnership,
    region: Region,
    side: Side,
    name: str,
    *,
    user: User | None = None,
    start: dt.date = dt.date(2025, 1, 1),
    end: dt.date | None = None,
) -> Sponsor:
    sponsor = Sponsor(
        partnership_id=partnership.id,
        region=region,
        side=side,
        name=name,
        title="Vice President",
        email=f"{name.split()[0].lower()}@test.example",
        user=user,
        start_date=start,
        end_date=end,
    )
    db.session.add(sponsor)
    db.session.flush()
    return sponsor


def create_expectation(
    partnership: Partnership,
    statement: str = "Learners complete the courses they start",
    *,
    category: ExpectationCategory = ExpectationCategory.PERFORMANCE,
    revisit_by: dt.date = dt.date(2026, 12, 31),
) -> Expectation:
    expectation = Expectation(
        partnership_id=partnership.id,
        category=category,
        statement=statement,
        owner_side=Side.PROVIDER,
        agreed_on=dt.date(2025, 1, 10),
        revisit_by=revisit_by,
    )
    db.session.add(expectation)
    db.session.flush()
    return expectation


def create_sla(
    partnership: Partnership,
    expectation: Expectation | None,
    code: str = "WLD-01",
    *,
    direction: Direction = Direction.HIGHER_IS_BETTER,
    unit: Unit = Unit.PERCENT,
    target: float = 90,
    at_risk: float = 85,
    since: Month = FIRST_MONTH,
    weight: float = 1,
) -> Sla:
    sla = Sla(
        partnership_id=partnership.id,
        expectation_id=expectation.id if expectation else None,
        code=code,
        name=f"SLA {code}",
        unit=unit,
        direction=direction,
        weight=weight,
    )
    sla.targets.append(SlaTarget(effective_from=since, target=target, at_risk_threshold=at_risk))
    db.session.add(sla)
    db.session.flush()
    return sla


def create_meeting(
    partnership: Partnership,
    held_on: dt.date,
    *,
    state: MeetingState = MeetingState.HELD,
    present: tuple[Sponsor, ...] = (),
    absent: tuple[Sponsor, ...] = (),
) -> Meeting:
    """A governance meeting with the attendance of the given sponsors."""
    meeting = Meeting(
        partnership_id=partnership.id,
        held_on=held_on,
        reviewed_month=Month.of(held_on).previous(),
        state=state,
        approved_at=utcnow() if state is MeetingState.MINUTES_APPROVED else None,
    )
    for sponsor in present:
        meeting.attendances.append(Attendance(sponsor_id=sponsor.id, present=True))
    for sponsor in absent:
        meeting.attendances.append(Attendance(sponsor_id=sponsor.id, present=False))
    db.session.add(meeting)
    db.session.flush()
    return meeting


def add_measurement(
    sla: Sla,
    month: Month,
    value: float | None,
    *,
    confirmed_by: User | None = None,
    entered_by: User | None = None,
    note: str | None = None,
) -> SlaMeasurement:
    """A measurement of ``sla``: confirmed when ``confirmed_by`` is given, else proposed;
    ``value`` None marks the month not applicable."""
    measurement = SlaMeasurement(
        sla_id=sla.id,
        month=month,
        value=value,
        not_applicable=value is None,
        note=note,
        state=MeasurementState.CONFIRMED if confirmed_by else MeasurementState.PROPOSED,
        entered_by_id=entered_by.id if entered_by else None,
        confirmed_by_id=confirmed_by.id if confirmed_by else None,
        confirmed_at=utcnow() if confirmed_by else None,
    )
    db.session.add(measurement)
    db.session.flush()
    return measurement


def create_action(
    partnership: Partnership,
    title: str = "Send the completion report",
    *,
    due_on: dt.date,
    owner: User | None = None,
    side: Side = Side.PROVIDER,
    status: ActionStatus = ActionStatus.OPEN,
    priority: Priority = Priority.MEDIUM,
    meeting: Meeting | None = None,
    times_carried: int = 0,
) -> ActionItem:
    """An action item of ``partnership`` (closed today when given a closed status)."""
    item = ActionItem(
        partnership_id=partnership.id,
        meeting_id=meeting.id if meeting else None,
        title=title,
        owner_side=side,
        owner_id=owner.id if owner else None,
        due_on=due_on,
        status=status,
        priority=priority,
        times_carried=times_carried,
        closed_on=dt.date.today()
        if status in (ActionStatus.DONE, ActionStatus.CANCELLED)
        else None,
    )
    db.session.add(item)
    db.session.flush()
    return item


def foreign_world(world: World) -> World:
    """The same kinds of objects as ``build_world`` puts in ``world.partnership``, made in
    ``world.other`` (whose lead is the outsider), seen from that side: ``partnership`` is
    ``world.other`` and every member role is played by the outsider. The permission matrix
    asks for these objects through a partnership the user *is* a member of."""
    other = world.other
    apac = next(region for region in other.regions if region.name == "APAC")
    foreign = World(
        partnership=other,
        other=world.partnership,
        admin=world.admin,
        lead=world.outsider,
        provider=world.outsider,
        sponsor=world.outsider,
        viewer=world.outsider,
        outsider=world.lead,
    )
    sponsor = create_sponsor(other, apac, Side.CLIENT, "Otto Foreign")
    expectation = create_expectation(other, "The other programme's expectation")
    sla = create_sla(other, expectation, "OTH-01")
    measurement = SlaMeasurement(
        sla_id=sla.id, month=Month(2025, 6), value=70, state=MeasurementState.PROPOSED
    )
    db.session.add(measurement)
    db.session.flush()
    foreign.ids.update(
        sponsor_id=sponsor.id,
        expectation_id=expectation.id,
        sla_id=sla.id,
        measurement_id=measurement.id,
    )
    return foreign
