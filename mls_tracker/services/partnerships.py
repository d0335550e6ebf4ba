"""What the partnership pages read: the list of partnerships a user may see, one page at a
time, a partnership's people, active sponsors and pending invitations, and its health
weights."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker import access
from mls_tracker.access import Action, can, roles_in, visible_partnerships
from mls_tracker.extensions import db
from mls_tracker.models import (
    EngagementModel,
    Expectation,
    GovernanceModel,
    Invitation,
    Meeting,
    Membership,
    Organisation,
    OrganisationKind,
    Partnership,
    PartnershipStatus,
    Region,
    ReportedSatisfaction,
    ReviewCadence,
    Role,
    Side,
    Sla,
    Sponsor,
    SurveyResponse,
    User,
    partnership_regions,
    utcnow,
)
from mls_tracker.pagination import PageWindow, page_window
from mls_tracker.services import data_version, invitations, organisations
from mls_tracker.services import regions as regions_service
from mls_tracker.services.errors import NotFound, PermissionDenied, ValidationFailed
from mls_tracker.services.health import WEIGHT_COLUMNS, ComponentKey
from mls_tracker.services.locking import check_version, guarded_save
from mls_tracker.services.service_credits import credit_percent_of

PER_PAGE = 25

SORTS = {
    "name": Partnership.name,
    "status": Partnership.status,
    "start": Partnership.start_date,
    "renewal": Partnership.renewal_date,
}


@dataclass(frozen=True)
class PartnershipList:
    """One page of the partnerships a user may see. ``rows`` are plain rows (id, name,
    status, …, client_name, provider_name, home_region_id, home_region_name)."""

    rows: Sequence[sa.Row]
    regions: dict[int, list[str]]  # partnership id → names of its non-home regions in scope
    roles: dict[int, Role | None]  # partnership id → the user's role (None: an admin)
    sort: str
    window: PageWindow
    archived_shown: bool = False  # archived partnerships were asked for and are listed
    archived_count: int = 0  # archived partnerships the user may see (listed or not)

    @property
    def first(self) -> int:
        """1-based position of this page's first row (0 when there is none)."""
        return self.window.offset + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def list_partnerships(
    user: User, *, sort: str | None, page: object, archived: bool = False
) -> PartnershipList:
    """One page of the partnerships the user may see, sorted in SQL over all of them (an
    unknown ``sort`` is by name), in four queries whatever the size. Archived partnerships
    are left out unless ``archived`` asks for them too."""
    if sort not in SORTS:
        sort = "name"
    every = visible_partnerships(user).with_only_columns(Partnership.id, Partnership.archived_at)
    counted = every.subquery()
    total, archived_count = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(counted.c.archived_at.is_not(None)),
        ).select_from(counted)
    ).one()
    visible = every.with_only_columns(Partnership.id)
    if not archived:
        visible = visible.where(Partnership.archived_at.is_(None))
        total -= archived_count
    window = page_window(total, page, PER_PAGE)
    client = so.aliased(Organisation)
    provider = so.aliased(Organisation)
    home = so.aliased(Region)
    rows = db.session.execute(
        sa.select(
            Partnership.id,
            Partnership.name,
            Partnership.status,
            Partnership.engagement_model,
            Partnership.governance_model,
            Partnership.start_date,
            Partnership.renewal_date,
            Partnership.annual_value,
            Partnership.currency,
            Partnership.archived_at,
            client.name.label("client_name"),
            provider.name.label("provider_name"),
            home.id.label("home_region_id"),
            home.name.label("home_region_name"),
        )
        .join(client, client.id == Partnership.client_id)
        .join(provider, provider.id == Partnership.provider_id)
        .outerjoin(home, home.id == Partnership.home_region_id)
        .where(Partnership.id.in_(visible))
        .order_by(SORTS[sort], Partnership.name, Partnership.id)
        .limit(window.per_page)
        .offset(window.offset)
    ).all()
    ids = [row.id for row in rows]
    home_of = {row.id: row.home_region_id for row in rows}
    regions: dict[int, list[str]] = {pid: [] for pid in ids}
    if ids:
        for pid, region_id, region_name in db.session.execute(
            sa.select(partnership_regions.c.partnership_id, Region.id, Region.name)
            .join(Region, Region.id == partnership_regions.c.region_id)
            .where(partnership_regions.c.partnership_id.in_(ids))
            .order_by(Region.position, Region.id)
        ):
            if region_id != home_of[pid]:
                regions[pid].append(region_name)
    roles = roles_in(user, ids)
    return PartnershipList(rows, regions, roles, sort, window, archived, archived_count)


@dataclass(frozen=True)
class People:
    """A partnership's people page: members by role, active sponsors, and (for those who may
    invite) the pending invitations."""

    members: Sequence[sa.Row[tuple[Membership, User]]]  # ordered by role, then name
    sponsors: Sequence[Sponsor]  # active on the day, with their region loaded
    pending: Sequence[PendingInvitation]  # newest first; empty unless ``may_invite``
    may_invite: bool


def people_of(user: User, partnership_id: int, today: dt.date) -> People:
    """The members, the sponsors active ``today`` and, for those who may invite, the
    invitations not yet accepted nor expired."""
    access.require(user, Action.VIEW, partnership_id)
    members = db.session.execute(
        sa.select(Membership, User)
        .join(User, Membership.user_id == User.id)
        .where(Membership.partnership_id == partnership_id)
        .order_by(Membership.role, User.display_name)
    ).all()
    sponsors = db.session.scalars(
        sa.select(Sponsor)
        .options(so.joinedload(Sponsor.region))
        .where(
            Sponsor.partnership_id == partnership_id,
            Sponsor.start_date <= today,
            sa.or_(Sponsor.end_date.is_(None), Sponsor.end_date >= today),
        )
        .order_by(Sponsor.side, Sponsor.name)
    ).all()
    return People(
        members,
        sponsors,
        pending_invitations(user, partnership_id),
        can(user, Action.INVITE, partnership_id),
    )


@dataclass(frozen=True, slots=True)
class PendingInvitation:
    """What the People tab shows of an invitation waiting for an answer."""

    id: int
    email: str
    display_name: str | None
    role: Role | None
    expires_at: dt.datetime


def pending_invitations(user: User, partnership_id: int) -> Sequence[PendingInvitation]:
    """The partnership's invitations not yet accepted, withdrawn nor expired, newest first,
    for those who may invite; none for anyone else. Remembered per data version (sending,
    sending again, withdrawing and accepting are audited); those that expired since are
    left out when read."""
    if not can(user, Action.INVITE, partnership_id):
        return []

    def read() -> tuple[PendingInvitation, ...]:
        rows = db.session.execute(
            sa.select(
                Invitation.id,
                Invitation.email,
                Invitation.display_name,
                Invitation.role,
                Invitation.expires_at,
            )
            .where(Invitation.partnership_id == partnership_id, Invitation.pending())
            .order_by(Invitation.created_at.desc())
        )
        return tuple(PendingInvitation(*row) for row in rows)

    now = utcnow()
    pending = data_version.remembered("partnerships.invitations", partnership_id, None, read)
    return [invitation for invitation in pending if invitation.expires_at > now]


def check_weights(weights: dict[ComponentKey, Decimal | float | None]) -> None:
    """The rules of the health weights: each 0 or more, at least one above 0."""
    for key, value in weights.items():
        if value is None or value < 0:
            raise ValidationFailed("Enter a weight of 0 or more.", WEIGHT_COLUMNS[key])
    if not any(value > 0 for value in weights.values()):  # type: ignore[operator]
        raise ValidationFailed(
            "At least one weight must be above 0.", WEIGHT_COLUMNS[ComponentKey.SLA]
        )


def _set_weights(
    partnership: Partnership, weights: dict[ComponentKey, Decimal | float | None]
) -> None:
    for key, value in weights.items():
        setattr(partnership, WEIGHT_COLUMNS[key], Decimal(value).quantize(Decimal("0.01")))


def save_weights(
    actor: User,
    partnership: Partnership,
    weights: dict[ComponentKey, Decimal | float | None],
    version: int | None,
) -> None:
    """Sets a partnership's four weights (each ≥ 0, at least one above 0). Leads only;
    refused when someone saved other weights since ``version`` was read; audited."""
    access.require(actor, Action.MANAGE, partnership, "Only a lead may change the health weights.")
    message = (
        "Someone changed these weights while you were editing: the page now shows theirs. "
        "Save again to replace them with yours."
    )
    check_version(partnership, version, message)
    check_weights(weights)
    with guarded_save(message):
        _set_weights(partnership, weights)


# ISO 4217 currency codes in use (2024).
CURRENCIES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD
    TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split()  # noqa: SIM905
)

CHANGED_MESSAGE = (
    "Someone changed this partnership's settings while you were editing: the page now shows "
    "theirs. Save again to replace them with yours."
)


@dataclass
class Settings:
    """What the partnership form sets (create and edit)."""

    name: str
    client_id: int | None
    provider_id: int | None
    engagement_model: EngagementModel | str | None
    governance_model: GovernanceModel | str | None
    region_ids: list[int]
    home_region_id: int | None
    annual_value: Decimal | None
    currency: str | None
    start_date: dt.date | None
    renewal_date: dt.date | None
    review_cadence: ReviewCadence | str | None
    weights: dict[ComponentKey, Decimal | float | None]
    status: PartnershipStatus | str | None = None  # edit only
    # Service credits: None is "annual value ÷ 12" and "no cap".
    monthly_fee: Decimal | None = None
    credit_cap_percent: Decimal | None = None


def _organisation(organisation_id: int | None, kind: OrganisationKind, current: int | None):
    field = f"{kind.value}_id"
    if organisation_id is None:
        raise ValidationFailed(f"Choose the {kind.value}.", field)
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or organisation.kind != kind:
        raise ValidationFailed(f"Choose a {kind.value} organisation from the list.", field)
    if organisation.retired_at is not None and organisation_id != current:
        raise ValidationFailed(f"{organisation.name} is retired: choose another.", field)
    return organisation


def _enum(enum_type, value, message: str, field: str):
    try:
        return enum_type(value)
    except ValueError:
        raise ValidationFailed(message, field) from None


def _apply(partnership: Partnership, values: Settings, *, creating: bool) -> None:
    """Checks every rule of the settings and sets them on ``partnership`` (not committed)."""
    name = (values.name or "").strip()
    if not name:
        raise ValidationFailed("Enter the partnership's name.", "name")
    if len(name) > 200:
        raise ValidationFailed("Keep the name to 200 characters.", "name")
    same_name = db.session.scalar(
        sa.select(Partnership.id).where(
            sa.func.lower(Partnership.name) == name.lower(),
            Partnership.id != (partnership.id or 0),
        )
    )
    if same_name is not None:
        raise ValidationFailed(f"There is already a partnership called {name}.", "name")
    client = _organisation(values.client_id, OrganisationKind.CLIENT, partnership.client_id)
    provider = _organisation(values.provider_id, OrganisationKind.PROVIDER, partnership.provider_id)
    engagement = _enum(
        EngagementModel, values.engagement_model, "Choose the engagement model.", "engagement_model"
    )
    governance = _enum(
        GovernanceModel, values.governance_model, "Choose the governance model.", "governance_model"
    )
    cadence = _enum(
        ReviewCadence, values.review_cadence, "Choose how often it is reviewed.", "review_cadence"
    )
    status = partnership.status or PartnershipStatus.ONBOARDING
    if values.status is not None:
        status = _enum(PartnershipStatus, values.status, "Choose a status.", "status")
    # Regions: in scope, with the home region among them; retired ones only if already there.
    current_regions = {region.id for region in partnership.regions} if not creating else set()
    wanted = set(values.region_ids or [])
    if values.home_region_id is not None:
        wanted.add(values.home_region_id)
    if not wanted:
        raise ValidationFailed("Choose at least one region in scope.", "region_ids")
    regions = db.session.scalars(sa.select(Region).where(Region.id.in_(wanted))).all()
    if len(regions) != len(wanted):
        raise ValidationFailed("Choose regions from the list.", "region_ids")
    for region in regions:
        if region.retired_at is not None and region.id not in current_regions:
            raise ValidationFailed(f"{region.name} is retired: choose another.", "region_ids")
    if values.home_region_id is None:
        raise ValidationFailed("Choose the home region.", "home_region_id")
    value = values.annual_value
    if value is not None and value < 0:
        raise ValidationFailed("Enter a contract value of 0 or more.", "annual_value")
    currency = (values.currency or "").strip().upper()
    if currency not in CURRENCIES:
        raise ValidationFailed(
            "Enter a currency as its three-letter ISO 4217 code, such as EUR, GBP or USD.",
            "currency",
        )
    fee = values.monthly_fee
    if fee is not None and fee < 0:
        raise ValidationFailed("Enter a monthly fee of 0 or more.", "monthly_fee")
    cap = values.credit_cap_percent
    cap = None if cap is None else credit_percent_of(cap)
    if cap is not None and not Decimal(0) < cap <= 100:
        raise ValidationFailed(
            "Enter a cap above 0 and at most 100 %, or leave it empty for none.",
            "credit_cap_percent",
        )
    if values.start_date is None:
        raise ValidationFailed("Enter the start date.", "start_date")
    if values.renewal_date is not None and values.renewal_date < values.start_date:
        raise ValidationFailed("The renewal date cannot be before the start date.", "renewal_date")
    check_weights(values.weights)

    partnership.name = name
    partnership.client_id = client.id
    partnership.provider_id = provider.id
    partnership.engagement_model = engagement
    partnership.governance_model = governance
    partnership.review_cadence = cadence
    partnership.status = status
    if {region.id for region in partnership.regions} != wanted:
        partnership.regions = sorted(regions, key=lambda region: (region.position, region.id))
    partnership.home_region_id = values.home_region_id
    partnership.annual_value = None if value is None else Decimal(value).quantize(Decimal("0.01"))
    partnership.currency = currency
    partnership.monthly_fee = None if fee is None else Decimal(fee).quantize(Decimal("0.01"))
    partnership.credit_cap_percent = cap
    partnership.start_date = values.start_date
    partnership.renewal_date = values.renewal_date
    _set_weights(partnership, values.weights)


def create_partnership(
    actor: User, values: Settings, lead_email: str, lead_name: str | None
) -> Partnership:
    """A new partnership (status "onboarding") and its first lead invited by e-mail, in one
    go: when the invitation cannot be sent, nothing is saved. Administrators only."""
    access.require_admin(actor)
    if not (lead_email or "").strip():
        raise ValidationFailed("Enter the e-mail address of the partnership's lead.", "lead_email")
    partnership = Partnership(status=PartnershipStatus.ONBOARDING)
    _apply(partnership, values, creating=True)
    db.session.add(partnership)
    db.session.flush()
    try:
        # Commits the partnership with the invitation, or rolls both back.
        invitations.invite_person(actor, partnership, lead_email, Role.LEAD, lead_name)
    except ValidationFailed as error:
        db.session.rollback()
        raise ValidationFailed(str(error), "lead_email") from error
    return partnership


def may_change_organisations(actor: User) -> bool:
    return bool(getattr(actor, "is_admin", False))


def update_partnership(
    actor: User, partnership: Partnership, values: Settings, version: int | None
) -> None:
    """Saves the settings. Administrators and the partnership's leads; only administrators
    may change the client or the provider. Refused when someone saved since ``version``."""
    access.require(
        actor, Action.MANAGE, partnership, "Only a lead may change the partnership's settings."
    )
    if not may_change_organisations(actor) and (
        values.client_id != partnership.client_id or values.provider_id != partnership.provider_id
    ):
        raise PermissionDenied("Only an administrator may change the client or the provider.")
    check_version(partnership, version, CHANGED_MESSAGE)
    with guarded_save(CHANGED_MESSAGE):  # a refused save (ValidationFailed too) is rolled back
        _apply(partnership, values, creating=False)


def archive(actor: User, partnership: Partnership, version: int | None) -> None:
    """Closes a partnership: read-only from now on, hidden from the portfolio unless asked for.
    Administrators only."""
    access.require_admin(actor)
    check_version(partnership, version, CHANGED_MESSAGE)
    with guarded_save(CHANGED_MESSAGE):
        if partnership.archived_at is None:
            partnership.archived_at = utcnow()


def reopen(actor: User, partnership: Partnership, version: int | None) -> None:
    """Opens an archived partnership again. Administrators only."""
    access.require_admin(actor)
    check_version(partnership, version, CHANGED_MESSAGE)
    with guarded_save(CHANGED_MESSAGE):
        partnership.archived_at = None


def get_for_admin(actor: User, partnership_id: int) -> Partnership:
    """A partnership, for an administrator's action on it (archive, reopen)."""
    access.require_admin(actor)
    partnership = db.session.get(Partnership, partnership_id)
    if partnership is None:
        raise NotFound()
    return partnership


def form_choices(actor: User, partnership: Partnership | None = None) -> dict[str, list]:
    """What the partnership form offers: clients, providers and regions not retired, plus
    those the partnership already has. A new partnership is for administrators only."""
    if partnership is None:
        access.require_admin(actor)
    else:
        access.require(actor, Action.MANAGE, partnership)
    clients = organisations.offered(OrganisationKind.CLIENT)
    providers = organisations.offered(OrganisationKind.PROVIDER)
    regions = regions_service.offered()
    if partnership is not None:
        if partnership.client not in clients:
            clients.append(partnership.client)
        if partnership.provider not in providers:
            providers.append(partnership.provider)
        regions += [region for region in partnership.regions if region not in regions]
    return {"clients": clients, "providers": providers, "regions": regions}


@dataclass(frozen=True)
class SetupStep:
    """One step of setting a new partnership up, for the checklist on its overview."""

    key: str  # people | sponsors | expectations | slas | meetings | survey
    label: str
    hint: str
    done: bool


@dataclass(frozen=True)
class Setup:
    """The set-up checklist of a partnership; ``fresh`` while it has neither SLAs nor survey
    data, so that no figure of it would mean anything yet."""

    steps: tuple[SetupStep, ...]

    @property
    def complete(self) -> bool:
        return all(step.done for step in self.steps)

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def fresh(self) -> bool:
        return not any(step.done for step in self.steps if step.key in {"slas", "survey"})


def setup_steps(partnership_id: int, today: dt.date) -> Setup:
    """What a partnership still lacks before it can be governed (one query): the provider's
    people, a client sponsor in every region in scope, expectations, SLAs, a first meeting
    and first survey data. The overview shows the checklist until every step is done."""

    def some(model, *where) -> sa.Exists:
        return sa.exists().where(model.partnership_id == partnership_id, *where)

    scope = partnership_regions.c
    in_scope = (
        sa.select(sa.func.count())
        .select_from(partnership_regions)
        .where(scope.partnership_id == partnership_id)
        .scalar_subquery()
    )
    covered = (
        sa.select(sa.func.count(sa.distinct(Sponsor.region_id)))
        .join(
            partnership_regions,
            sa.and_(
                scope.partnership_id == Sponsor.partnership_id,
                scope.region_id == Sponsor.region_id,
            ),
        )
        .where(
            Sponsor.partnership_id == partnership_id,
            Sponsor.side == Side.CLIENT,
            Sponsor.start_date <= today,
            sa.or_(Sponsor.end_date.is_(None), Sponsor.end_date >= today),
        )
        .scalar_subquery()
    )
    row = db.session.execute(
        sa.select(
            some(Membership, Membership.role == Role.PROVIDER).label("people"),
            in_scope.label("regions"),
            covered.label("covered"),
            some(Expectation).label("expectations"),
            some(Sla).label("slas"),
            some(Meeting).label("meetings"),
            sa.or_(some(SurveyResponse), some(ReportedSatisfaction)).label("survey"),
        )
    ).one()
    regions, covered_count = row.regions or 0, row.covered or 0
    return Setup(
        (
            SetupStep(
                "people",
                "Invite the provider's people",
                "They update action items and propose SLA actuals.",
                bool(row.people),
            ),
            SetupStep(
                "sponsors",
                "Add a client sponsor for each region",
                f"{covered_count} of {regions} region{'' if regions == 1 else 's'} in scope "
                "have one; sponsors receive the scorecards.",
                regions > 0 and covered_count >= regions,
            ),
            SetupStep(
                "expectations",
                "Record what was agreed",
                "The expectations both sides signed up to.",
                bool(row.expectations),
            ),
            SetupStep(
                "slas",
                "Define the SLAs",
                "Targets, at-risk thresholds and weights; the provider then proposes monthly "
                "actuals.",
                bool(row.slas),
            ),
            SetupStep(
                "meetings",
                "Plan the first governance meeting",
                "Its agenda is drafted from the figures.",
                bool(row.meetings),
            ),
            SetupStep(
                "survey",
                "Bring in the first survey data",
                "Learner responses from your survey tool (CSV or XLSX) give the satisfaction "
                "scores.",
                bool(row.survey),
            ),
        )
    )
