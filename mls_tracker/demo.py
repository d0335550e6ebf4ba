"""The Northwind Health demo: three partnerships with 24 months of believable history."""

from __future__ import annotations

import bisect
import datetime as dt
import decimal
import functools
import hashlib
import itertools
import math
import random
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_security import hash_password

from mls_tracker import demo_delivery
from mls_tracker.demo_credits import add_credit_rules
from mls_tracker.extensions import db
from mls_tracker.models import (
    ActionItem,
    ActionStatus,
    ActionUpdate,
    Attendance,
    AuditEntry,
    Challenge,
    Change,
    ChangeStatus,
    ChangeType,
    Direction,
    EngagementModel,
    Expectation,
    ExpectationCategory,
    ExpectationRevision,
    GovernanceModel,
    MeasurementState,
    Meeting,
    MeetingKind,
    MeetingState,
    Membership,
    Organisation,
    OrganisationKind,
    Partnership,
    PartnershipStatus,
    Priority,
    Region,
    ReviewKind,
    RevisionKind,
    Role,
    Side,
    Sla,
    SlaMeasurement,
    SlaTarget,
    Sponsor,
    SurveyFormat,
    SurveyImport,
    SurveyResponse,
    Unit,
    User,
    Win,
    normalise_email,
)
from mls_tracker.periods import Month, month_range
from mls_tracker.services import satisfaction_months

# Published on purpose: the demo is for trying the app out, never for real data.
DEMO_PASSWORD = "demo-password"  # noqa: S105

DEMO_USERS: list[tuple[str, str]] = [
    ("admin@example.com", "admin"),
    ("lead@example.com", "lead of all three partnerships"),
    ("provider@example.com", "Apex user: provider on the two Apex partnerships"),
    ("provider2@example.com", "Brightpath user: provider on Compliance Academy"),
    ("sponsor@example.com", "executive sponsor (EMEA) of Global Learning Services"),
    ("viewer@example.com", "viewer of Sales Enablement"),
]

CLIENT_NAME = "Northwind Health"
HISTORY_MONTHS = 24

ProgressFn = Callable[[str], None]


class DemoAlreadyLoaded(Exception):
    """The database already holds the demo and no reset was asked for."""


def load_demo(
    *,
    reset: bool = False,
    seed: int = 20260101,
    progress: ProgressFn = lambda s: None,
    today: dt.date | None = None,
    reviews: bool = True,
    issued_months: int | None = None,
) -> str:
    """Load the demo in one transaction and return a short summary of what it created.

    The same ``seed`` and ``today`` always give the same data; history ends with the last
    full month before ``today``. ``reviews``: also each partnership's reviews (needs the
    current schema; the migration tests load the demo into the first one): the
    ``issued_months`` (default ``ISSUED_MONTHS``) before last month issued with their
    scorecards, and last month's review a draft.
    """
    today = today or dt.date.today()
    months = ISSUED_MONTHS if issued_months is None else issued_months
    if reviews and months:
        from mls_tracker.scorecards import chart_images

        chart_images.start()  # Chromium boots while the data is built
    try:
        if reset:
            progress("Deleting every row")
            _delete_everything()
        elif _demo_present():
            raise DemoAlreadyLoaded(
                "The demo is already loaded in this database; use --reset to load it again"
            )
        summary = _Builder(seed=seed, today=today, progress=progress).build()
        progress("Inbox")
        _demo_inbox(today)
        progress("Saving")
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    if not reviews:
        return summary
    lines = [summary]
    if months:
        progress(f"Reviews of the {months} months before last, issued with their scorecards")
        issued = issue_demo_reviews(today, months, progress)
        last = Month.of(today).previous()
        lines.append(
            f"  {issued} scorecards issued ({last.shift(-months).label} to {last.previous().label})"
        )
    progress("Reviews of the last complete month")
    opened = open_demo_reviews(today)
    lines.append(f"  {len(opened)} reviews of {Month.of(today).previous().label} (drafts)")
    progress("The next meetings' agendas")
    _write_next_agendas(today)
    return "\n".join(lines)


def _write_next_agendas(today: dt.date) -> None:
    """Each planned meeting's agenda, written from the figures as planning it in the app
    does (with the reviews in place: the agenda reads them). Needs the current schema, as
    the reviews do."""
    from mls_tracker.services import meetings

    planned = db.session.scalars(
        sa.select(Meeting).where(Meeting.state == MeetingState.PLANNED).order_by(Meeting.id)
    ).all()
    for meeting in planned:
        meetings.write_agenda(meeting, today)
    db.session.commit()


# Monthly reviews issued before last month's draft, so that the review pages can compare.
ISSUED_MONTHS = 3


def _demo_inbox(today: dt.date) -> None:
    """What the last month would have put in everyone's inbox had people written them in
    the app (the demo's writes have no actor, so none came on their own): items assigned and
    updated by someone else, read when older than three days, and each actual still
    proposed, announced to the leads as a provider's proposal is."""
    from mls_tracker.services import inbox, slas

    db.session.flush()
    inbox.replay_history(
        _at(today - dt.timedelta(days=31), 0), _at(today - dt.timedelta(days=3), 0)
    )
    proposed = db.session.scalars(
        sa.select(SlaMeasurement)
        .where(SlaMeasurement.state == MeasurementState.PROPOSED)
        .order_by(SlaMeasurement.id)
    ).all()
    for measurement in proposed:
        slas.announce_actual(measurement.sla.partnership_id, measurement.sla, measurement)


def _leads() -> list[tuple[int, User]]:
    """Each partnership's id and its first lead, who writes its reviews."""
    return [
        (partnership_id, db.session.get(User, lead_id))
        for partnership_id, lead_id in db.session.execute(
            sa.select(Membership.partnership_id, sa.func.min(Membership.user_id))
            .where(Membership.role == Role.LEAD)
            .group_by(Membership.partnership_id)
            .order_by(Membership.partnership_id)
        ).all()
    ]


def _open_with_summary(lead: User, partnership_id: int, month: Month, today: dt.date) -> Any:
    """The month's review opened by the lead, with the executive summary written from its
    own figures and the period's two latest wins featured."""
    from mls_tracker.services import reviews

    review = reviews.open_review(
        lead, partnership_id, kind=ReviewKind.MONTHLY, first_month=month, today=today
    )
    data = reviews.review_data(review)
    wins = db.session.scalars(
        sa.select(Win.id)
        .where(
            Win.partnership_id == partnership_id,
            Win.won_on <= month.last_day,
            Win.won_on >= month.first_day,  # the period's wins, as the scorecard lists them
        )
        .order_by(Win.won_on.desc())
        .limit(2)
    ).all()
    review = reviews.update_review(
        lead,
        review.id,
        executive_summary=_demo_summary(data),
        featured_win_ids=wins,
        expected_version=review.version,
    )
    return _demo_cover_story(lead, partnership_id, review, data)


def _demo_cover_story(lead: User, partnership_id: int, review: Any, data: Any) -> Any:
    """The cover's story as a lead and the provider would write it: the drafted key messages
    kept, the decisions and asks of the sponsors from the figures, and the provider's
    commentary submitted by its first member and approved by the lead (issue 19)."""
    from mls_tracker.services import reviews

    breached = [row.name for row in data.slas.rows if row.status == "breached"]
    gaps = [row.region for row in data.governance.coverage if row.gap]
    asks = []
    if breached:
        asks.append(f"Agree the recovery plan for {', '.join(breached[:3])} with the provider.")
    if gaps:
        asks.append(f"Name a client sponsor for {', '.join(gaps)} before the next meeting.")
    if data.actions.overdue:
        count = data.actions.overdue
        what = "the overdue action" if count == 1 else f"the {count} overdue actions"
        asks.append(f"Ask the owners of {what} for dates to close them.")
    reviews.update_story(
        lead,
        review.id,
        key_messages="\n".join(review.key_messages or []),
        decisions_asks="\n".join(asks) or "No decision is needed this month.",
        expected_version=review.version,
    )
    provider_id = db.session.scalar(
        sa.select(sa.func.min(Membership.user_id)).where(
            Membership.partnership_id == partnership_id, Membership.role == Role.PROVIDER
        )
    )
    if provider_id is None:
        return review
    provider = db.session.get(User, provider_id)
    if breached:
        words = (
            f"{data.period.label} was below our standard on {breached[0]}. We have named an "
            "owner for the recovery and will report weekly until it is back within target."
        )
    elif not data.slas.measured:
        words = (
            f"Our service-level figures for {data.period.label} wait for the lead's "
            "confirmation. We will keep the same team on the account and focus on the overdue "
            "actions in the coming month."
        )
    else:
        words = (
            f"{data.period.label} met the service levels we measured. We will keep the same "
            "team on the account and focus on the overdue actions in the coming month."
        )
    reviews.save_commentary(provider, partnership_id, review.id, text=words, submit=True)
    return reviews.decide_commentary(lead, review.id, approve=True)


def issue_demo_reviews(today: dt.date, months: int, progress: ProgressFn) -> int:
    """Each partnership's monthly reviews of the ``months`` months before last month, oldest
    first (each compared with the one issued before it), opened and issued by its lead through
    the reviews service and the scorecard issuer: version 1 of each, PDF and snapshot. Without
    Chromium (no charts, no PDF) the rest stay drafts and the progress says so. Returns how
    many were issued."""
    from mls_tracker.scorecards import chart_images
    from mls_tracker.scorecards.issuing import issue_scorecard

    last = Month.of(today).previous()
    issued = 0
    for partnership_id, lead in _leads():
        for month in month_range(last.shift(-months), last.previous()):
            review = _open_with_summary(lead, partnership_id, month, today)
            try:
                issue_scorecard(lead, review)
            except chart_images.ChartExportUnavailable as error:
                progress(f"Scorecards not issued (the reviews stay drafts): {error}")
                return issued
            issued += 1
    return issued


def open_demo_reviews(today: dt.date) -> list[int]:
    """Each partnership's review of the last complete month, opened by its lead with an
    executive summary written from the review's own figures and its two latest wins
    featured: drafts, ready to preview and issue. Returns their ids."""
    month = Month.of(today).previous()
    return [
        _open_with_summary(lead, partnership_id, month, today).id
        for partnership_id, lead in _leads()
    ]


def _demo_summary(data: Any) -> str:
    """Two short paragraphs from the figures, as a lead would write them: the reviews
    service's draft, so that "Refresh figures" writes it again while nobody edited it."""
    from mls_tracker.services import reviews

    return reviews.draft_summary(data)


def has_users() -> bool:
    """Whether anyone can sign in yet (``flask demo load --if-empty`` loads nothing then)."""
    return bool(db.session.scalar(sa.select(sa.func.count(User.id))))


def _demo_present() -> bool:
    emails = [email for email, _ in DEMO_USERS]
    return bool(
        db.session.scalar(sa.select(Organisation.id).where(Organisation.name == CLIENT_NAME))
        or db.session.scalar(sa.select(User.id).where(User.email.in_(emails)).limit(1))
    )


def _delete_everything() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    dialect = db.session.get_bind().dialect
    if dialect.name == "postgresql":
        names = ", ".join(dialect.identifier_preparer.quote(t.name) for t in tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    # Objects the session still holds would clash with the new rows reusing their ids.
    db.session.expunge_all()


# --------------------------------------------------------------------------- the cast

_ORGANISATIONS = {
    "northwind": (CLIENT_NAME, OrganisationKind.CLIENT),
    "apex": ("Apex Learning", OrganisationKind.PROVIDER),
    "brightpath": ("Brightpath", OrganisationKind.PROVIDER),
}

_REGIONS = ("North America", "EMEA", "APAC", "LATAM", "India")

# key, e-mail, display name, organisation, admin
_PEOPLE = (
    ("admin", "admin@example.com", "Morgan Ellis", "northwind", True),
    ("lead", "lead@example.com", "Dana Whitfield", "northwind", False),
    ("provider", "provider@example.com", "Ravi Menon", "apex", False),
    ("provider2", "provider2@example.com", "Sofia Lindqvist", "brightpath", False),
    ("sponsor", "sponsor@example.com", "Henrik Bauer", "northwind", False),
    ("viewer", "viewer@example.com", "Priya Natarajan", "northwind", False),
    ("elena", "elena.ruiz@example.com", "Elena Ruiz", "northwind", False),
    ("tom", "tom.becker@example.com", "Tom Becker", "northwind", False),
    ("jonas", "jonas.weber@example.com", "Jonas Weber", "apex", False),
    ("aisha", "aisha.karim@example.com", "Aisha Karim", "apex", False),
    ("liam", "liam.oconnor@example.com", "Liam O'Connor", "brightpath", False),
)


@dataclass(frozen=True)
class _SlaSpec:
    code: str
    name: str
    definition: str
    unit: Unit
    direction: Direction
    target: float
    at_risk: float
    mean: float
    spread: float
    category: ExpectationCategory
    weight: float = 1.0
    places: int = 1
    # Values computed from the survey responses rather than drawn at random.
    source: str | None = None


_H = Direction.HIGHER_IS_BETTER
_L = Direction.LOWER_IS_BETTER
_C = ExpectationCategory

# fmt: off
_SLA_CATALOGUE = {
    spec.code: spec
    for spec in (
        _SlaSpec("CMP-01", "Course completion rate",
                 "Share of enrolled learners who completed their course in the month's cohort.",
                 Unit.PERCENT, _H, 85, 80, 87.8, 1.6, _C.PERFORMANCE, 2),
        _SlaSpec("CMP-02", "Mandatory training completed on time",
                 "Share of mandatory assignments completed by their due date.",
                 Unit.PERCENT, _H, 95, 92, 96.6, 0.8, _C.PERFORMANCE, 2),
        _SlaSpec("LCH-01", "Time to launch new course",
                 "Working days from signed-off storyboard to the course live in the LMS "
                 "(median of the month's launches).",
                 Unit.DAYS, _L, 30, 40, 24, 3.0, _C.SERVICE_LEVEL, 1.5, 0),
        _SlaSpec("HD-01", "Help-desk first response time",
                 "Median hours from a learner's ticket to the first human response.",
                 Unit.HOURS, _L, 4, 6, 2.9, 0.3, _C.SERVICE_LEVEL, 1.5),
        _SlaSpec("HD-02", "Tickets resolved within SLA",
                 "Share of learner tickets resolved within the agreed resolution time.",
                 Unit.PERCENT, _H, 90, 85, 93, 1.5, _C.SERVICE_LEVEL),
        _SlaSpec("QLT-01", "Content accuracy defects",
                 "Confirmed factual or functional defects found in live content in the month.",
                 Unit.COUNT, _L, 5, 8, 2.4, 1.1, _C.PERFORMANCE, 1, 0),
        _SlaSpec("SAT-01", "Learner satisfaction (CSAT)",
                 "Share of survey ratings of 4 or 5 on the 1-5 scale.",
                 Unit.PERCENT, _H, 75, 70, 0, 0, _C.CLIENT_SATISFACTION, 2, 1, "csat"),
        _SlaSpec("SAT-02", "Net promoter score",
                 "Promoters (9-10) minus detractors (0-6), in points, from the learner survey.",
                 Unit.SCORE, _H, 25, 15, 0, 0, _C.CLIENT_SATISFACTION, 1, 0, "nps"),
        _SlaSpec("CLS-01", "Classroom fill rate",
                 "Seats filled as a share of seats offered in instructor-led sessions.",
                 Unit.PERCENT, _H, 80, 70, 84, 3.0, _C.PERFORMANCE),
        _SlaSpec("FIN-01", "Invoice accuracy",
                 "Share of invoice lines accepted without correction.",
                 Unit.PERCENT, _H, 98, 96, 99.1, 0.5, _C.OTHER),
        _SlaSpec("LOC-01", "Translation turnaround",
                 "Working days from source sign-off to the translated course delivered, "
                 "averaged across languages.",
                 Unit.DAYS, _L, 10, 14, 8.0, 1.0, _C.SERVICE_LEVEL),
        _SlaSpec("RPT-01", "Monthly report delivered",
                 "Working day of the month on which the monthly performance report arrives.",
                 Unit.DAYS, _L, 5, 7, 3.4, 0.6, _C.COMMUNICATION, 1, 0),
        _SlaSpec("RPT-02", "Governance actions closed on time",
                 "Share of governance action items due in the month closed by their due date.",
                 Unit.PERCENT, _H, 80, 70, 86, 4.0, _C.COMMUNICATION),
        _SlaSpec("DAT-01", "Completion data accuracy",
                 "Share of LMS completion records matching the HR system in the monthly "
                 "audit sample.",
                 Unit.PERCENT, _H, 99, 98, 99.45, 0.2, _C.MEASUREMENT, 1.5, 2),
        _SlaSpec("LMS-01", "LMS availability",
                 "Share of the month the LMS was available, excluding agreed maintenance.",
                 Unit.PERCENT, _H, 99.5, 99.0, 99.85, 0.1, _C.SERVICE_LEVEL, 1, 2),
        _SlaSpec("ILT-01", "Instructor rating",
                 "Mean learner rating of instructors on the 1-5 scale.",
                 Unit.SCORE, _H, 4.4, 4.2, 4.6, 0.06, _C.CLIENT_SATISFACTION, 1, 2),
        _SlaSpec("ONB-01", "Time to productivity of new sellers",
                 "Median days from a seller's start date to their first closed opportunity.",
                 Unit.DAYS, _L, 90, 105, 82, 4.0, _C.PERFORMANCE, 2, 0),
        _SlaSpec("CRT-01", "Sales certification pass rate",
                 "Share of certification candidates passing at the first attempt.",
                 Unit.PERCENT, _H, 85, 78, 88, 2.0, _C.PERFORMANCE),
        _SlaSpec("AUD-01", "Audit evidence turnaround",
                 "Working days to supply training evidence requested by internal audit.",
                 Unit.DAYS, _L, 3, 5, 2.0, 0.4, _C.MEASUREMENT, 1.5),
        _SlaSpec("REG-01", "Regulatory update turnaround",
                 "Calendar days from a regulatory change to the updated course being live.",
                 Unit.DAYS, _L, 21, 30, 15, 2.5, _C.SERVICE_LEVEL, 2, 0),
    )
}
# fmt: on


@dataclass(frozen=True)
class _SponsorSpec:
    region: str
    side: Side
    name: str
    title: str
    email: str
    engagement: float  # chance of attending a monthly meeting
    user: str | None = None
    # Counted back from the latest held meeting: the sponsorship starts or ends just after it.
    starts_after_meeting: int | None = None
    ends_after_meeting: int | None = None
    disengaged: bool = False


@dataclass(frozen=True)
class _SurveySpec:
    monthly: int  # responses in an average month
    mean: float  # mean rating before region and program effects
    trend: float  # change of the mean rating over the two years
    regions: dict[str, tuple[float, float]]  # region: (share, effect on the mean rating)
    programs: dict[str, tuple[float, float]]


@dataclass(frozen=True)
class _ActionSpec:
    title: str
    side: Side
    owner: str
    due_days: int
    status: ActionStatus
    priority: Priority
    description: str = ""
    sla: str | None = None


@dataclass(frozen=True)
class _ChallengeSpec:
    meeting_back: int  # 0 = the latest held meeting
    title: str
    description: str
    action: _ActionSpec | None = None


@dataclass(frozen=True)
class _PartnershipSpec:
    key: str
    name: str
    provider: str
    engagement_model: EngagementModel
    governance_model: GovernanceModel
    status: PartnershipStatus
    home: str
    regions: tuple[str, ...]
    months_before_history: int
    term_months: int
    annual_value: int
    currency: str
    meeting_day: int
    leads: tuple[str, ...]
    providers: tuple[str, ...]
    others: tuple[tuple[str, Role], ...]
    slas: tuple[str, ...]
    sponsors: tuple[_SponsorSpec, ...]
    survey: _SurveySpec
    challenges: tuple[_ChallengeSpec, ...]
    # code: overrides of the catalogue (target, at_risk, mean, spread)
    sla_overrides: dict[str, dict[str, float]] = field(default_factory=dict)
    # code: (new target, new at-risk threshold, new mean), in force from a year ago
    target_change: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    drifting: tuple[str, ...] = ()
    not_applicable_in_december: tuple[str, ...] = ()
    forced_breach: tuple[str, ...] = ()  # breached in the month the latest meeting reviewed
    successes: tuple[str, ...] = ()
    decisions: tuple[str, ...] = ()
    changes: tuple[tuple[Any, ...], ...] = ()
    wins: tuple[tuple[Any, ...], ...] = ()
    expectations: dict[ExpectationCategory, tuple[str, Side]] = field(default_factory=dict)
    overdue_expectations: tuple[ExpectationCategory, ...] = ()
    # Last month's SLA actuals confirmed by the lead (False: all still proposed).
    confirms_last_month: bool = True


_ALL = "all"

# fmt: off
_GLS = _PartnershipSpec(
    key="gls",
    name="Global Learning Services",
    provider="apex",
    engagement_model=EngagementModel.MANAGED_LEARNING_SERVICES,
    governance_model=GovernanceModel.FEDERATED,
    status=PartnershipStatus.ACTIVE,
    home="North America",
    regions=_REGIONS,
    months_before_history=4,
    term_months=36,
    annual_value=4_850_000,
    currency="USD",
    meeting_day=9,
    leads=("lead", "elena"),
    providers=("provider", "jonas"),
    others=(("sponsor", Role.SPONSOR),),
    slas=("CMP-01", "CMP-02", "LCH-01", "HD-01", "HD-02", "QLT-01", "SAT-01", "SAT-02",
          "CLS-01", "FIN-01", "LOC-01", "RPT-01", "LMS-01"),
    sla_overrides={"SAT-02": {"target": 20, "at_risk": 10}},
    target_change={"CMP-01": (88, 84, 90.4)},
    drifting=("HD-01",),
    not_applicable_in_december=("CLS-01",),
    sponsors=(
        _SponsorSpec("North America", Side.CLIENT, "Catherine Moore", "Chief People Officer",
                     "catherine.moore@northwind.example", 0.9),
        _SponsorSpec("EMEA", Side.CLIENT, "Henrik Bauer", "VP People, EMEA",
                     "sponsor@example.com", 0.8, user="sponsor"),
        _SponsorSpec("APAC", Side.CLIENT, "Kenji Watanabe", "HR Director, APAC",
                     "kenji.watanabe@northwind.example", 0.55, disengaged=True),
        _SponsorSpec("LATAM", Side.CLIENT, "Lucía Fernández", "Regional HR Director, LATAM",
                     "lucia.fernandez@northwind.example", 0.6, ends_after_meeting=4),
        _SponsorSpec("India", Side.CLIENT, "Arjun Mehta", "Head of HR, India",
                     "arjun.mehta@northwind.example", 0.7),
        _SponsorSpec("North America", Side.PROVIDER, "Robert Hale", "SVP Client Services",
                     "robert.hale@apexlearning.example", 0.85),
        _SponsorSpec("EMEA", Side.PROVIDER, "Claire Dubois", "Managing Director, EMEA",
                     "claire.dubois@apexlearning.example", 0.7),
        _SponsorSpec("APAC", Side.PROVIDER, "Mei Lin Tan", "Regional Director, APAC",
                     "meilin.tan@apexlearning.example", 0.65, starts_after_meeting=17),
    ),
    survey=_SurveySpec(
        monthly=440, mean=4.15, trend=0.08,
        regions={"North America": (0.36, 0.05), "EMEA": (0.27, 0.0), "APAC": (0.15, -0.05),
                 "LATAM": (0.09, -0.55), "India": (0.13, 0.05)},
        programs={"Leadership Essentials": (0.3, 0.12), "Manager Foundations": (0.2, 0.04),
                  "Product Academy": (0.2, 0.0), "Digital Skills Bootcamp": (0.15, -0.06),
                  "Patient Experience Excellence": (0.15, 0.08)},
    ),
    challenges=(
        _ChallengeSpec(
            3, "No client-side executive sponsor for LATAM",
            "Lucía Fernández stepped down as LATAM sponsor; regional decisions are escalated "
            "to the North America sponsor in the meantime.",
            _ActionSpec("Nominate a client-side executive sponsor for LATAM", Side.CLIENT,
                        "lead", 14, ActionStatus.OPEN, Priority.HIGH,
                        "Agree a nominee with the CPO and brief them before the next QBR."),
        ),
        _ChallengeSpec(
            1, "Help-desk first response times creeping up",
            "Median first response has risen for four months in a row as ticket volumes grow "
            "in APAC and India.",
            _ActionSpec("Root-cause the rise in help-desk first response time", Side.PROVIDER,
                        "jonas", 21, ActionStatus.IN_PROGRESS, Priority.HIGH,
                        "Break down by region, queue and hour; propose staffing changes.",
                        sla="HD-01"),
        ),
        _ChallengeSpec(
            14, "Completion dip in APAC after the LMS migration",
            "Learners lost bookmarks during the migration and several cohorts restarted.",
            _ActionSpec("Restore lost bookmarks for migrated APAC learners", Side.PROVIDER,
                        "provider", 21, ActionStatus.DONE, Priority.MEDIUM, sla="CMP-01"),
        ),
    ),
    successes=(
        "Leadership Essentials cohort 12 finished with a 96% completion rate.",
        "The India help-desk pilot answered 80% of tickets within two hours.",
        "Patient Experience Excellence launched in all five regions on the same day.",
        "Spanish and Portuguese catalogues went live without defects.",
        "Manager Foundations was rated 4.5 by the first 300 learners.",
        "Apex delivered the monthly report two days early.",
        "The new nurse onboarding path cut time to first shift by three days.",
        "Zero LMS downtime during the year-end enrolment peak.",
    ),
    decisions=(
        "Keep the CSAT target at its current level until the next QBR.",
        "Approve a micro-learning pilot for frontline staff in EMEA.",
        "Provider presents a recovery plan for any breached SLA at the next meeting.",
        "Regional leads review LATAM survey comments before the next meeting.",
        "Fund two additional classroom cohorts in North America.",
        "Move the translation glossary to the shared workspace.",
        "Escalate the LATAM sponsor vacancy to the CPO.",
        "Retire the 2019 compliance refresher at the end of the quarter.",
    ),
    expectations={
        _C.PERFORMANCE: ("Apex keeps course completion and on-time mandatory training at or "
                         "above the agreed targets in every region.", Side.PROVIDER),
        _C.MEASUREMENT: ("Both sides treat the LMS as the single source of truth for "
                         "completions; Apex reconciles it with the HR system monthly.",
                         Side.CLIENT),
        _C.CLIENT_SATISFACTION: ("Learners rate programmes at least 4 out of 5 on average, "
                                 "and comments are answered within the month.", Side.PROVIDER),
        _C.SERVICE_LEVEL: ("Learner support and course production meet the agreed service "
                           "levels in all five regions, including translation.", Side.PROVIDER),
        _C.COMMUNICATION: ("Apex sends the monthly performance report by the 5th working day "
                           "and attends every governance meeting.", Side.PROVIDER),
        _C.OTHER: ("Invoices are accurate and follow the agreed rate card.", Side.PROVIDER),
    },
    overdue_expectations=(_C.CLIENT_SATISFACTION,),
    changes=(
        ("Help-desk moves to a follow-the-sun model", ChangeType.PROCESS, 12,
         ChangeStatus.PLANNED, ("APAC", "India", "North America"),
         "Tickets are picked up by the nearest awake team instead of the US queue.",
         "Learner-facing banner two weeks ahead; briefing for regional L&D coordinators.",
         "jonas"),
        ("LMS upgrade to the 2026 release", ChangeType.TECHNOLOGY, 24, ChangeStatus.PLANNED,
         _ALL, "New learner home page, mobile offline mode and skills tagging.",
         "Release notes to all managers; 20-minute demo at the monthly meeting.", "provider"),
        ("New leadership curriculum launched", ChangeType.CONTENT, -150, ChangeStatus.LIVE,
         ("North America", "EMEA"),
         "Leadership Essentials replaces three legacy management courses.",
         "Announcement from the CPO; manager toolkit on the intranet.", "lead"),
        ("Single sign-on for contractors", ChangeType.TECHNOLOGY, -300, ChangeStatus.LIVE,
         _ALL, "Contract staff sign in with their Northwind badge account.",
         "E-mail to agency coordinators; help-desk script updated.", "jonas"),
        ("Regional L&D coordinators replace the central booking desk",
         ChangeType.ORGANISATION, 75, ChangeStatus.PROPOSED, ("LATAM", "India"),
         "Classroom bookings move to coordinators in each region.",
         "To be agreed with the regional HR directors first.", "elena"),
    ),
    wins=(
        ("Leadership Essentials reached 2,000 managers",
         "Eighteen months after launch, two thousand managers have completed the programme.",
         40, "North America", "2,000 managers trained; CSAT 88%", True, "lead"),
        ("Shortlisted for an industry learning award",
         "The nurse onboarding path was shortlisted in the healthcare category.",
         120, None, "Shortlist in the healthcare learning category", True, "provider"),
        ("Help-desk CSAT hit 95% after the knowledge-base refresh",
         "Apex rewrote 140 articles; repeat tickets fell sharply.",
         260, "EMEA", "Repeat tickets down 31%", False, "jonas"),
        ("Spanish and Portuguese catalogues launched",
         "All core programmes are now available in Spanish and Portuguese.",
         420, "LATAM", "46 courses localised", True, "provider"),
        ("Nurse onboarding shortened by three days",
         "A blended path replaced two classroom days with simulation and coaching.",
         610, "North America", "Time to first shift down 3 days", True, "elena"),
    ),
)

_SE = _PartnershipSpec(
    key="se",
    name="Sales Enablement",
    provider="apex",
    engagement_model=EngagementModel.PROJECT_OUTSOURCING,
    governance_model=GovernanceModel.CENTRALIZED,
    status=PartnershipStatus.ACTIVE,
    home="North America",
    regions=("North America", "EMEA", "APAC"),
    months_before_history=1,
    term_months=30,
    annual_value=1_250_000,
    currency="USD",
    meeting_day=11,
    leads=("lead", "tom"),
    providers=("provider", "aisha"),
    others=(("viewer", Role.VIEWER),),
    slas=("CMP-01", "LCH-01", "HD-01", "SAT-01", "SAT-02", "CLS-01", "ONB-01", "CRT-01",
          "ILT-01", "FIN-01", "RPT-01"),
    sla_overrides={"CMP-01": {"target": 90, "at_risk": 85, "mean": 92.5, "spread": 1.4},
                   "SAT-01": {"target": 78, "at_risk": 72},
                   "SAT-02": {"target": 25, "at_risk": 15},
                   "LCH-01": {"target": 20, "at_risk": 28, "mean": 15, "spread": 2.5}},
    sponsors=(
        _SponsorSpec("North America", Side.CLIENT, "Marcus Bell", "Chief Revenue Officer",
                     "marcus.bell@northwind.example", 0.85),
        _SponsorSpec("EMEA", Side.CLIENT, "Sophie Laurent", "VP Sales, EMEA",
                     "sophie.laurent@northwind.example", 0.7),
        _SponsorSpec("APAC", Side.CLIENT, "Daniel Cho", "Sales Director, APAC",
                     "daniel.cho@northwind.example", 0.6),
        _SponsorSpec("North America", Side.PROVIDER, "Robert Hale", "SVP Client Services",
                     "robert.hale@apexlearning.example", 0.75),
    ),
    survey=_SurveySpec(
        monthly=200, mean=4.25, trend=0.05,
        regions={"North America": (0.5, 0.05), "EMEA": (0.3, 0.0), "APAC": (0.2, -0.12)},
        programs={"Sales Onboarding": (0.4, 0.05), "Product Academy": (0.3, 0.0),
                  "Negotiation Mastery": (0.15, 0.1), "Key Account Management": (0.15, -0.05)},
    ),
    challenges=(
        _ChallengeSpec(
            2, "APAC classroom sessions under-filled",
            "Fill rate in Singapore and Sydney sessions has been below 60% for two months.",
            _ActionSpec("Confirm the APAC classroom schedule for next quarter", Side.CLIENT,
                        "tom", 21, ActionStatus.BLOCKED, Priority.HIGH,
                        "Needs the APAC sales calendar, still awaited from regional sales ops.",
                        sla="CLS-01"),
        ),
        _ChallengeSpec(
            10, "Certification exam bank out of date",
            "A third of the questions refer to the retired product line.",
            _ActionSpec("Refresh the certification question bank", Side.PROVIDER, "aisha",
                        28, ActionStatus.DONE, Priority.MEDIUM, sla="CRT-01"),
        ),
    ),
    successes=(
        "Sales Onboarding cohort finished with every seller certified.",
        "Negotiation Mastery rated 4.6 by EMEA account executives.",
        "Product Academy launched the spring release modules a week early.",
        "New sellers in North America reached their first deal 11 days sooner.",
        "The EMEA sales kickoff tracks were delivered to 600 sellers in two days.",
        "Certification pass rate reached a record 93%.",
    ),
    decisions=(
        "Run the next certification window in the last two weeks of the quarter.",
        "Combine Key Account Management with the Negotiation Mastery follow-up.",
        "Apex to pilot virtual role-play labs with two APAC teams.",
        "Keep the onboarding path at eight weeks for the coming half-year.",
        "Sales ops shares the hiring plan monthly so classroom capacity can follow it.",
    ),
    expectations={
        _C.PERFORMANCE: ("New sellers are productive within 90 days and pass certification at "
                         "the first attempt.", Side.PROVIDER),
        _C.MEASUREMENT: ("Certification and completion data flow from the LMS to the CRM "
                         "every night.", Side.CLIENT),
        _C.CLIENT_SATISFACTION: ("Sellers rate the programmes highly and managers see them as "
                                 "relevant to the quarter's targets.", Side.PROVIDER),
        _C.SERVICE_LEVEL: ("New product modules are live before each launch date.",
                           Side.PROVIDER),
        _C.COMMUNICATION: ("Apex reports monthly and joins the quarterly sales planning.",
                           Side.PROVIDER),
        _C.OTHER: ("Project milestones are invoiced only after sign-off.", Side.CLIENT),
    },
    overdue_expectations=(_C.MEASUREMENT,),
    changes=(
        ("CRM-integrated learning paths", ChangeType.TECHNOLOGY, 20, ChangeStatus.IN_PROGRESS,
         ("North America", "EMEA"),
         "Learning assignments triggered by opportunity stage in the CRM.",
         "Pilot with two sales teams; enablement newsletter article.", "aisha"),
        ("Sales onboarding shortened from 12 to 8 weeks", ChangeType.PROCESS, -90,
         ChangeStatus.LIVE, ("North America", "EMEA", "APAC"),
         "Self-paced product modules replace four weeks of classroom time.",
         "Briefing for hiring managers; updated onboarding checklist.", "tom"),
        ("Quarterly certification window replaces ad-hoc exams", ChangeType.POLICY, -200,
         ChangeStatus.LIVE, _ALL, "Certification exams run in a fixed window each quarter.",
         "Announced by the CRO at the sales kickoff.", "lead"),
        ("Product demos move to virtual labs", ChangeType.TECHNOLOGY, -40,
         ChangeStatus.CANCELLED, ("APAC",),
         "Cancelled: the lab platform did not pass the security review.",
         "Pilot teams informed directly.", "provider"),
    ),
    wins=(
        ("Record certification pass rate", "93% of candidates passed at the first attempt.",
         70, "North America", "Pass rate 93% (target 85%)", True, "aisha"),
        ("New sellers reach first deal 11 days sooner",
         "The shortened onboarding path has not cost any ramp-up quality.",
         180, "North America", "Time to first deal −11 days", True, "tom"),
        ("EMEA sales kickoff delivered to 600 sellers",
         "Two days, six tracks, three languages, no technical incidents.",
         330, "EMEA", "600 sellers; CSAT 91%", False, "provider"),
        ("Product Academy ready before the spring launch",
         "All launch modules were live a week before the product announcement.",
         520, None, "14 modules live 7 days early", False, "aisha"),
    ),
)

_CA = _PartnershipSpec(
    key="ca",
    name="Compliance Academy",
    provider="brightpath",
    engagement_model=EngagementModel.RETAINER,
    governance_model=GovernanceModel.DECENTRALIZED,
    status=PartnershipStatus.UNDER_REVIEW,
    home="EMEA",
    regions=("North America", "EMEA", "APAC", "India"),
    months_before_history=2,
    term_months=27,
    annual_value=690_000,
    currency="EUR",
    meeting_day=13,
    leads=("lead", "elena"),
    providers=("provider2", "liam"),
    others=(),
    slas=("CMP-02", "DAT-01", "AUD-01", "REG-01", "LOC-01", "QLT-01", "HD-01", "SAT-01",
          "SAT-02", "FIN-01", "RPT-02", "LMS-01"),
    sla_overrides={"SAT-01": {"target": 70, "at_risk": 64},
                   "SAT-02": {"target": 10, "at_risk": 0},
                   "HD-01": {"target": 8, "at_risk": 12, "mean": 5.5, "spread": 0.8},
                   "LMS-01": {"target": 99.0, "at_risk": 98.5, "mean": 99.6, "spread": 0.2}},
    forced_breach=("LOC-01",),
    confirms_last_month=False,
    sponsors=(
        _SponsorSpec("EMEA", Side.CLIENT, "Ingrid Olsen", "Chief Compliance Officer, EMEA",
                     "ingrid.olsen@northwind.example", 0.8, ends_after_meeting=14),
        _SponsorSpec("EMEA", Side.CLIENT, "Markus Braun", "Chief Compliance Officer, EMEA",
                     "markus.braun@northwind.example", 0.85, starts_after_meeting=14),
        _SponsorSpec("North America", Side.CLIENT, "Rachel Kim", "VP Quality & Compliance",
                     "rachel.kim@northwind.example", 0.75),
        _SponsorSpec("APAC", Side.CLIENT, "Wei Zhang", "Compliance Director, APAC",
                     "wei.zhang@northwind.example", 0.65),
        _SponsorSpec("India", Side.CLIENT, "Nisha Kapoor", "Head of Compliance, India",
                     "nisha.kapoor@northwind.example", 0.7),
        _SponsorSpec("EMEA", Side.PROVIDER, "Oliver Grant", "Chief Executive, Brightpath",
                     "oliver.grant@brightpath.example", 0.8),
    ),
    survey=_SurveySpec(
        monthly=210, mean=4.05, trend=0.0,
        regions={"EMEA": (0.35, 0.0), "North America": (0.3, 0.05), "APAC": (0.15, -0.05),
                 "India": (0.2, 0.0)},
        programs={"Safety & Compliance": (0.35, -0.02), "Data Privacy 2025": (0.3, -0.2),
                  "Anti-Bribery Essentials": (0.2, 0.0),
                  "Clinical Documentation Standards": (0.15, 0.08)},
    ),
    challenges=(
        _ChallengeSpec(
            0, "Translation backlog after the policy refresh",
            "The refreshed policy pack doubled the translation volume; German, French and "
            "Japanese versions are late.",
            _ActionSpec("Clear the translation backlog for the policy pack (DE, FR, JA)",
                        Side.PROVIDER, "provider2", 21, ActionStatus.IN_PROGRESS,
                        Priority.CRITICAL, "Add two translators; daily status to the lead.",
                        sla="LOC-01"),
        ),
        _ChallengeSpec(
            2, "Audit evidence for the Q3 sample incomplete",
            "Internal audit could not match 14 completion records to attestations.",
            _ActionSpec("Supply the missing attestations for the Q3 audit sample",
                        Side.PROVIDER, "liam", 14, ActionStatus.IN_PROGRESS, Priority.HIGH,
                        sla="DAT-01"),
        ),
        _ChallengeSpec(
            8, "Low completion of Data Privacy 2025 in India",
            "Completion was 12 points below other regions a month before the deadline.",
            _ActionSpec("Send manager reminders for Data Privacy 2025 in India", Side.CLIENT,
                        "elena", 10, ActionStatus.DONE, Priority.HIGH),
        ),
    ),
    successes=(
        "Data Privacy 2025 reached 99.2% completion before the deadline.",
        "No findings on training records in the external audit.",
        "The incident-reporting module halved the time to file a report.",
        "Hindi versions of the core catalogue went live in India.",
        "Brightpath turned the new anti-bribery policy into a course in 12 days.",
    ),
    decisions=(
        "Start the contract review with a scope workshop next month.",
        "Brightpath to add a second translation vendor for Japanese.",
        "Attestations move into the LMS from next quarter.",
        "Keep the retainer hours unchanged until the review concludes.",
        "Regional compliance heads approve local variants within five days.",
    ),
    expectations={
        _C.PERFORMANCE: ("Mandatory compliance training is completed on time by every "
                         "in-scope employee.", Side.PROVIDER),
        _C.MEASUREMENT: ("Completion records are audit-ready: every record can be traced to "
                         "an attestation.", Side.PROVIDER),
        _C.CLIENT_SATISFACTION: ("Learners find compliance courses clear and proportionate to "
                                 "their role.", Side.PROVIDER),
        _C.SERVICE_LEVEL: ("Regulatory changes reach the courses within three weeks, in every "
                           "language in scope.", Side.PROVIDER),
        _C.COMMUNICATION: ("Regional compliance heads are consulted before any course goes "
                           "live in their region.", Side.CLIENT),
        _C.OTHER: ("Retainer hours are reported monthly against the agreed allowance.",
                   Side.PROVIDER),
    },
    overdue_expectations=(_C.SERVICE_LEVEL,),
    changes=(
        ("Annual Data Privacy 2026 refresh", ChangeType.CONTENT, 28, ChangeStatus.PLANNED,
         _ALL, "Updated for the new data-transfer rules; shorter assessment.",
         "Assignment e-mail from the regional compliance heads; manager reminders.",
         "provider2"),
        ("Attestations tracked in the LMS", ChangeType.TECHNOLOGY, -60, ChangeStatus.LIVE,
         _ALL, "Policy attestations are recorded with the course completion.",
         "Guide for compliance coordinators; FAQ on the intranet.", "liam"),
        ("New anti-bribery policy roll-out", ChangeType.POLICY, 45, ChangeStatus.PLANNED,
         ("EMEA", "India"), "Course and attestation for the revised gifts and hospitality rules.",
         "Announcement from the Chief Compliance Officer.", "elena"),
        ("Brightpath account team restructured", ChangeType.ORGANISATION, -250,
         ChangeStatus.LIVE, ("EMEA",), "A dedicated account lead and a regional coordinator "
         "replace the shared service desk.", "Introductions at the monthly meeting.", "liam"),
    ),
    wins=(
        ("No findings on training records in the external audit",
         "Auditors sampled 120 records and matched every one to an attestation.",
         95, "EMEA", "0 findings (3 last year)", True, "provider2"),
        ("Data Privacy 2025 completed before the deadline",
         "99.2% completion across all four regions, two weeks early.",
         300, None, "99.2% completion", True, "elena"),
        ("Incident reporting time halved",
         "The new incident-reporting module replaced a paper form.",
         450, "North America", "Reporting time 2 days → 1 day", False, "liam"),
        ("Core compliance catalogue in Hindi",
         "Eight courses localised with the India compliance team.",
         15, "India", "8 courses localised", False, "provider2"),
    ),
)
# fmt: on

_PARTNERSHIPS = (_GLS, _SE, _CA)

# Relative survey volume by calendar month: summer and year-end holidays are quiet.
_SEASON = {1: 1.15, 2: 1.05, 3: 1.1, 4: 1.0, 5: 1.0, 6: 0.95, 7: 0.8, 8: 0.7, 9: 1.1,
           10: 1.1, 11: 1.05, 12: 0.75}  # fmt: skip

_COMMENTS_GOOD = (
    "Clear, practical and well paced.",
    "Great facilitator, with real examples from our own teams.",
    "The scenarios felt relevant to my day-to-day work.",
    "Short modules that fit between shifts. Thank you!",
    "Best course I have taken here in years.",
    "Loved the peer discussions in the breakout rooms.",
    "Useful templates I can reuse straight away.",
    "Good mix of video and practice questions.",
    "The mobile version worked perfectly on the ward tablet.",
    "Very well organised, from the invitation to the certificate.",
)
_COMMENTS_MIXED = (
    "Content was fine but a bit long for the topic.",
    "Some parts repeated last year's course.",
    "OK overall; some quiz questions were confusingly worded.",
    "Would like more examples from our region.",
    "Audio quality in a couple of videos was poor.",
    "Decent, but the pre-work took longer than announced.",
)
_COMMENTS_BAD = (
    "The course kept freezing on the knowledge check.",
    "Far too long and not relevant to my role.",
    "Could not download the certificate.",
    "The session started 20 minutes late and ran over.",
    "Several screens were still in English in the translated version.",
    "Too much theory, not enough practice.",
    "The facilitator rushed through the last module.",
    "The enrolment link expired before I could start.",
)

_BREACH_NOTES = (
    "Recovery plan agreed; see the action plan.",
    "Affected by the LMS incident in the second week.",
    "Backlog from the quarter-end peak.",
    "Two specialists on leave; temporary cover arranged.",
    "Provider to send a root-cause analysis.",
)
_ROUTINE_NOTES = (
    "Reconciled against the LMS export.",
    "From the provider's monthly report.",
    "Includes the regional catch-up sessions.",
    "Figure corrected after the data refresh.",
)

_CLIENT_ACTIONS = (
    "Share the updated headcount file for {region}",
    "Confirm the {program} audience list",
    "Approve the revised storyboard for {program}",
    "Nominate subject-matter experts for the {program} review",
    "Circulate the {month} results to the regional sponsors",
    "Agree the content priorities for next quarter",
    "Sign off the translation glossary update",
    "Grant LMS admin access to the new {region} coordinators",
    "Confirm the budget for the {program} refresh",
    "Review {region} survey comments with regional HR",
)
_PROVIDER_ACTIONS = (
    "Publish the {month} completion dashboard",
    "Fix the broken SCORM package in {program}",
    "Update the {program} assessment questions",
    "Schedule additional classroom sessions in {region}",
    "Deliver the translated version of {program}",
    "Refresh the help-desk knowledge-base articles",
    "Propose an improvement plan for {region} satisfaction",
    "Run an accessibility check on the new {program} modules",
    "Reconcile LMS completions with the HR system for {region}",
    "Send the {month} invoice back-up with the timesheets",
)
# Drawn only when the plan already has the action drawn from the pools above.
_CLIENT_ACTIONS_MORE = (
    "Confirm the {month} new-joiner list for {region}",
    "Brief the {region} HR business partners on {program}",
    "Book rooms for the {program} classroom sessions in {region}",
    "Share the business priorities agreed in {month} with the provider",
    "Collect manager feedback on {program} in {region}",
    "Update the {program} audience rules in the HR system",
)
_PROVIDER_ACTIONS_MORE = (
    "Send the {month} help-desk ticket analysis",
    "Pilot a micro-learning version of {program} in {region}",
    "Review where learners drop out of {program}",
    "Prepare the {month} satisfaction deep-dive for {region}",
    "Check the {region} translation of {program} with local reviewers",
    "Propose a refresh plan for {program}",
)
_PROGRESS_NOTES = (
    "Started; first draft shared with the team.",
    "Picked up after the meeting.",
    "Work under way, on track for the due date.",
    "Kick-off call held with the people involved.",
)
_BLOCKED_NOTES = (
    "Waiting for input from regional sales operations.",
    "Blocked until the LMS change window next month.",
    "Waiting for the client's sign-off.",
)
_DONE_NOTES = (
    "Done; evidence attached.",
    "Completed and checked with the lead.",
    "Delivered; confirmed at the stand-up.",
    "Closed: published and communicated.",
)
_CANCEL_NOTES = (
    "Cancelled: superseded by the new quarterly plan.",
    "No longer needed after the scope change.",
    "Cancelled: merged into another action.",
)
_MEETING_NOTES = (
    "The provider walked through the content pipeline for the next quarter.",
    "Regional leads raised scheduling conflicts around the holidays.",
    "Both sides reviewed the open actions one by one.",
    "The provider presented the help-desk ticket trends by region.",
    "Sponsors asked for a clearer view of regional satisfaction.",
    "The group agreed to keep the meeting to 60 minutes.",
)


# --------------------------------------------------------------------------- helpers


def _at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


def _meeting_slot(key: str, day: dt.date, qbr: bool) -> dict[str, object]:
    """When and where a demo governance meeting sits: 15:00 UTC (morning in the Americas,
    afternoon in Europe), an hour on video, a quarterly review two hours in a room."""
    if qbr:
        return {
            "starts_at": _at(day, 14),
            "duration_minutes": 120,
            "place": "Northwind HQ, Boardroom 4 (video link in the invitation)",
        }
    return {
        "starts_at": _at(day, 15),
        "duration_minutes": 60,
        "place": f"https://meet.example.com/{key}-governance",
    }


def _weekday_on_or_after(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _add_months(day: dt.date, months: int) -> dt.date:
    return Month.of(day).shift(months).first_day.replace(day=min(day.day, 28))


def _decimal(value: float, places: int) -> decimal.Decimal:
    return decimal.Decimal(f"{value:.{places}f}")


def _status(value: float, target: float, at_risk: float, direction: Direction) -> str:
    if direction is Direction.HIGHER_IS_BETTER:
        return "met" if value >= target else "at risk" if value >= at_risk else "breached"
    return "met" if value <= target else "at risk" if value <= at_risk else "breached"


@functools.lru_cache(maxsize=1024)
def _rating_cum_weights(mean: float) -> tuple[float, ...]:
    """Cumulative weights of ratings 1-5 with the given mean, p(k) ∝ exp(b·k)."""
    low, high = -6.0, 6.0
    weights: list[float] = []
    for _ in range(50):
        b = (low + high) / 2
        weights = [math.exp(b * k) for k in range(1, 6)]
        if sum(k * w for k, w in zip(range(1, 6), weights, strict=True)) / sum(weights) < mean:
            low = b
        else:
            high = b
    total = sum(weights)
    cumulative, running = [], 0.0
    for w in weights:
        running += w / total
        cumulative.append(running)
    return tuple(cumulative)


_EVIDENCE_HOSTS = {
    "northwind": "intranet.northwind.example",
    "apex": "portal.apexlearning.example",
    "brightpath": "clients.brightpath.example",
}
_RECOMMEND_MEAN = {1: 1.5, 2: 3.5, 3: 6.0, 4: 7.9, 5: 9.3}
_KEY_ALPHABET = string.ascii_letters + string.digits


# --------------------------------------------------------------------------- the builder


@dataclass
class _Schedule:
    reviewed: Month
    held_on: dt.date


@dataclass
class _Ctx:
    """What the builder knows about one partnership while it builds it."""

    spec: _PartnershipSpec
    partnership: Partnership
    held: list[_Schedule] = field(default_factory=list)
    planned: _Schedule | None = None
    sponsors: list[tuple[_SponsorSpec, Sponsor]] = field(default_factory=list)
    expectations: dict[ExpectationCategory, Expectation] = field(default_factory=dict)
    slas: dict[str, Sla] = field(default_factory=dict)
    # month: code: status, for the minutes and the follow-up actions
    statuses: dict[Month, dict[str, str]] = field(default_factory=dict)
    survey: dict[Month, tuple[int, float, float]] = field(default_factory=dict)
    challenges: dict[int, tuple[Challenge, _ChallengeSpec]] = field(default_factory=dict)


class _Builder:
    def __init__(self, *, seed: int, today: dt.date, progress: ProgressFn) -> None:
        self.seed = seed
        self.today = today
        self.progress = progress
        self.last = Month.of(today).previous()
        self.months = month_range(self.last.shift(-(HISTORY_MONTHS - 1)), self.last)
        self.organisations: dict[str, Organisation] = {}
        self.regions: dict[str, Region] = {}
        self.users: dict[str, User] = {}
        self.ctxs: list[_Ctx] = []

    def rng(self, *parts: object) -> random.Random:
        # One generator per stage and partnership, so that changing one part of the demo
        # does not reshuffle all the others.
        return random.Random(":".join(str(p) for p in (self.seed, *parts)))

    def build(self) -> str:
        self.progress("Organisations, regions and people")
        self._people()
        self.progress("Partnerships and memberships")
        self._partnerships()
        db.session.flush()
        for ctx in self.ctxs:
            self._schedule(ctx)
        self.progress("Learner survey responses")
        for ctx in self.ctxs:
            self._survey(ctx)
        self.progress("Sponsors and expectations")
        for ctx in self.ctxs:
            self._sponsors(ctx)
            self._expectations(ctx)
        self.progress(f"SLAs and {HISTORY_MONTHS} months of measurements")
        for ctx in self.ctxs:
            self._slas(ctx)
        demo_delivery.add_delivery(self)  # issue 19: 24 months of volumes and spend
        self.progress("Meetings, attendance and action plans")
        for ctx in self.ctxs:
            self._meetings(ctx)
        self.progress("Changes and wins")
        for ctx in self.ctxs:
            self._changes_and_wins(ctx)
        add_credit_rules([ctx.partnership for ctx in self.ctxs], self.months[0], self.last)
        db.session.flush()
        return self._summary()

    # ----------------------------------------------------------------- people

    def _people(self) -> None:
        for key, (name, kind) in _ORGANISATIONS.items():
            self.organisations[key] = Organisation(name=name, kind=kind)
        for position, name in enumerate(_REGIONS, start=1):
            self.regions[name] = Region(name=name, position=position)
        password = hash_password(DEMO_PASSWORD)
        joined = _at(self.months[0].first_day.replace(day=2) - dt.timedelta(days=120), 9)
        for key, email, name, organisation, admin in _PEOPLE:
            self.users[key] = User(
                email=normalise_email(email),
                display_name=name,
                password=password,
                active=True,
                is_admin=admin,
                organisation=self.organisations[organisation],
                fs_uniquifier=uuid.uuid4().hex,
                confirmed_at=joined,
                created_at=joined,
                updated_at=joined,
            )
        db.session.add_all(
            [*self.organisations.values(), *self.regions.values(), *self.users.values()]
        )

    def _partnerships(self) -> None:
        for spec in _PARTNERSHIPS:
            start = self.months[0].shift(-spec.months_before_history).first_day
            created = _at(start - dt.timedelta(days=10), 9)
            partnership = Partnership(
                name=spec.name,
                client=self.organisations["northwind"],
                provider=self.organisations[spec.provider],
                engagement_model=spec.engagement_model,
                governance_model=spec.governance_model,
                start_date=start,
                renewal_date=Month.of(start).shift(spec.term_months).first_day,
                annual_value=decimal.Decimal(spec.annual_value),
                currency=spec.currency,
                status=spec.status,
                home_region=self.regions[spec.home],
                regions=[self.regions[name] for name in spec.regions],
                created_at=created,
                updated_at=created,
            )
            db.session.add(partnership)
            members = [(key, Role.LEAD) for key in spec.leads]
            members += [(key, Role.PROVIDER) for key in spec.providers]
            members += list(spec.others)
            for key, role in members:
                db.session.add(
                    Membership(
                        user=self.users[key],
                        partnership=partnership,
                        role=role,
                        created_at=created,
                        updated_at=created,
                    )
                )
            self.ctxs.append(_Ctx(spec=spec, partnership=partnership))

    # ----------------------------------------------------------------- schedule

    def _schedule(self, ctx: _Ctx) -> None:
        """Monthly meetings, each early in the month after the one it reviews."""
        day = ctx.spec.meeting_day
        for month in self.months:
            nxt = month.next()
            held_on = _weekday_on_or_after(dt.date(nxt.year, nxt.month, day))
            if held_on < self.today:
                ctx.held.append(_Schedule(month, held_on))
            else:
                ctx.planned = _Schedule(month, held_on)
        if ctx.planned is None:
            month = self.last.next()
            nxt = month.next()
            ctx.planned = _Schedule(month, _weekday_on_or_after(dt.date(nxt.year, nxt.month, day)))

    def _meeting_back(self, ctx: _Ctx, back: int) -> _Schedule:
        return ctx.held[len(ctx.held) - 1 - back]

    # ----------------------------------------------------------------- survey

    def _survey(self, ctx: _Ctx) -> None:
        spec, rng = ctx.spec.survey, self.rng("survey", ctx.spec.key)
        partnership_id = ctx.partnership.id
        region_names = list(spec.regions)
        region_weights = list(itertools.accumulate(spec.regions[r][0] for r in region_names))
        programs = list(spec.programs)
        program_weights = list(itertools.accumulate(spec.programs[p][0] for p in programs))
        keys: set[str] = set()
        rows: list[dict[str, Any]] = []
        last_index = len(self.months) - 1
        for index, month in enumerate(self.months):
            growth = 0.9 + 0.2 * index / last_index
            count = round(spec.monthly * _SEASON[month.month] * growth * rng.uniform(0.92, 1.08))
            month_mean = spec.mean + spec.trend * (index / last_index - 0.5) + rng.gauss(0, 0.03)
            days = month.last_day.day
            ratings = promoters = detractors = recommends = satisfied = 0
            for _ in range(count):
                region = rng.choices(region_names, cum_weights=region_weights)[0]
                program = rng.choices(programs, cum_weights=program_weights)[0]
                mean = month_mean + spec.regions[region][1] + spec.programs[program][1]
                mean = min(4.85, max(1.5, mean))
                cumulative = _rating_cum_weights(round(mean, 2))
                rating = 1 + min(4, bisect.bisect_right(cumulative, rng.random()))
                recommend: int | None = None
                if rng.random() >= 0.06:
                    recommend = round(rng.gauss(_RECOMMEND_MEAN[rating], 1.1))
                    recommend = min(10, max(0, recommend))
                    recommends += 1
                    promoters += recommend >= 9
                    detractors += recommend <= 6
                ratings += 1
                satisfied += rating >= 4
                comment = None
                if rng.random() < (0.35 if rating <= 2 else 0.18 if rating == 3 else 0.13):
                    pool = (
                        _COMMENTS_BAD
                        if rating <= 2
                        else _COMMENTS_MIXED
                        if rating == 3
                        else _COMMENTS_GOOD
                    )
                    comment = rng.choice(pool)
                submitted = dt.datetime(
                    month.year,
                    month.month,
                    rng.randint(1, days),
                    rng.randint(6, 21),
                    rng.randint(0, 59),
                    rng.randint(0, 59),
                    tzinfo=dt.UTC,
                )
                key = "R_" + "".join(rng.choices(_KEY_ALPHABET, k=15))
                while key in keys:
                    key = "R_" + "".join(rng.choices(_KEY_ALPHABET, k=15))
                keys.add(key)
                rows.append(
                    {
                        "partnership_id": partnership_id,
                        "response_key": key,
                        "submitted_at": submitted,
                        "month": Month.of(submitted.date()),
                        "program": program,
                        "region_id": self.regions[region].id,
                        "rating": rating,
                        "recommend": recommend,
                        "comment": comment,
                    }
                )
            csat = 100 * satisfied / ratings if ratings else 0.0
            nps = 100 * (promoters - detractors) / recommends if recommends else 0.0
            ctx.survey[month] = (ratings, csat, nps)
        imported = min(self.today, self.last.next().first_day + dt.timedelta(days=2))
        survey_import = SurveyImport(
            partnership_id=partnership_id,
            file_name=f"{ctx.spec.key}-lms-export-{self.last.year}.csv",
            file_format=SurveyFormat.GENERIC,
            file_sha256=hashlib.sha256(
                f"{self.seed}:{ctx.spec.key}:{self.last}".encode()
            ).hexdigest(),
            uploaded_by=self.users["lead"],
            created_at=_at(imported, 8, 15),
            rows_added=len(rows),
            rows_skipped=rng.randint(0, 12),
        )
        db.session.add(survey_import)
        db.session.flush()
        for row in rows:
            row["import_id"] = survey_import.id
        # Without render_nulls the ORM leaves out None values, and rows with and without a
        # comment could not share one batch: thousands of round trips on PostgreSQL.
        insert = sa.insert(SurveyResponse).execution_options(render_nulls=True)
        for start in range(0, len(rows), 5000):
            db.session.execute(insert, rows[start : start + 5000])
        satisfaction_months.add_import(survey_import.id)

    # ----------------------------------------------------------------- sponsors

    def _sponsors(self, ctx: _Ctx) -> None:
        start = ctx.partnership.start_date
        for spec in ctx.spec.sponsors:
            begins = start
            if spec.starts_after_meeting is not None:
                held = self._meeting_back(ctx, spec.starts_after_meeting).held_on
                begins = held + dt.timedelta(days=11)
            ends = None
            if spec.ends_after_meeting is not None:
                ends = self._meeting_back(ctx, spec.ends_after_meeting).held_on
                ends += dt.timedelta(days=10)
            sponsor = Sponsor(
                partnership_id=ctx.partnership.id,
                region=self.regions[spec.region],
                side=spec.side,
                name=spec.name,
                title=spec.title,
                email=spec.email,
                user=self.users[spec.user] if spec.user else None,
                start_date=begins,
                end_date=ends,
                created_at=_at(begins - dt.timedelta(days=7)),
                updated_at=_at(ends or begins),
            )
            db.session.add(sponsor)
            ctx.sponsors.append((spec, sponsor))

    # ----------------------------------------------------------------- expectations and SLAs

    def _expectations(self, ctx: _Ctx) -> None:
        rng = self.rng("expectations", ctx.spec.key)
        agreed = ctx.partnership.start_date + dt.timedelta(days=14)
        lead = self.users["lead"]
        for category, (statement, side) in ctx.spec.expectations.items():
            if category in ctx.spec.overdue_expectations:
                revisit = self.today - dt.timedelta(days=rng.randint(12, 45))
            else:
                revisit = self.today + dt.timedelta(days=rng.randint(40, 300))
            expectation = Expectation(
                partnership_id=ctx.partnership.id,
                category=category,
                statement=statement,
                owner_side=side,
                agreed_on=agreed,
                revisit_by=revisit,
                created_at=_at(agreed),
                updated_at=_at(agreed),
            )
            if category is ExpectationCategory.PERFORMANCE:
                revisited = _add_months(agreed, 12)
                expectation.revisions.append(
                    ExpectationRevision(
                        kind=RevisionKind.REVISITED,
                        revisited_on=revisited,
                        next_revisit_by=revisit,
                        note="Reviewed at the QBR: still right; targets unchanged.",
                        author_id=lead.id,
                        created_at=_at(revisited, 15),
                    )
                )
            db.session.add(expectation)
            ctx.expectations[category] = expectation

    def _slas(self, ctx: _Ctx) -> None:
        spec = ctx.spec
        rng = self.rng("slas", spec.key)
        lead, provider = self.users[spec.leads[0]], self.users[spec.providers[0]]
        first = self.months[0]
        changed_from = self.last.shift(-11)
        breach_month = self._meeting_back(ctx, 0).reviewed
        created = _at(ctx.partnership.start_date + dt.timedelta(days=20))
        for code in spec.slas:
            base = _SLA_CATALOGUE[code]
            overrides = spec.sla_overrides.get(code, {})
            target = overrides.get("target", base.target)
            at_risk = overrides.get("at_risk", base.at_risk)
            mean = overrides.get("mean", base.mean)
            spread = overrides.get("spread", base.spread)
            sla = Sla(
                partnership_id=ctx.partnership.id,
                expectation=ctx.expectations[base.category],
                code=code,
                name=base.name,
                definition=base.definition,
                unit=base.unit,
                direction=base.direction,
                weight=decimal.Decimal(str(base.weight)),
                created_at=created,
                updated_at=created,
            )
            sla.targets.append(
                SlaTarget(
                    effective_from=first,
                    target=decimal.Decimal(str(target)),
                    at_risk_threshold=decimal.Decimal(str(at_risk)),
                    set_by_id=lead.id,
                    created_at=created,
                )
            )
            change = spec.target_change.get(code)
            if change:
                sla.targets.append(
                    SlaTarget(
                        effective_from=changed_from,
                        target=decimal.Decimal(str(change[0])),
                        at_risk_threshold=decimal.Decimal(str(change[1])),
                        set_by_id=lead.id,
                        created_at=_at(changed_from.first_day - dt.timedelta(days=9), 14),
                    )
                )
            db.session.add(sla)
            ctx.slas[code] = sla

            drift_start = len(self.months) - 6
            for index, month in enumerate(self.months):
                month_target, month_risk, month_mean = target, at_risk, mean
                if change and month >= changed_from:
                    month_target, month_risk, month_mean = change
                    spread = base.spread * 0.9
                note = None
                value: float | None
                if base.source == "csat":
                    n, csat, _ = ctx.survey[month]
                    value, note = csat, f"From {n:,} survey responses."
                elif base.source == "nps":
                    n, _, nps = ctx.survey[month]
                    value, note = nps, f"From {n:,} survey responses."
                elif code in spec.not_applicable_in_december and month.month == 12:
                    value, note = None, "No classroom sessions this month"
                elif code in spec.drifting and index >= drift_start:
                    # Worsening steadily, ending deep in the at-risk band: the least-squares
                    # early warning sees it reach the breach side within two months.
                    end = month_target + 0.7 * (month_risk - month_target)
                    step = (index - drift_start + 1) / 6
                    value = month_mean + (end - month_mean) * step + rng.gauss(0, spread * 0.05)
                elif code in spec.forced_breach and month == breach_month:
                    value = month_risk + (month_risk - month_target) * 0.6
                    note = rng.choice(_BREACH_NOTES)
                elif code in spec.forced_breach and month == breach_month.previous():
                    value = (month_target + month_risk) / 2
                elif rng.random() < 0.025 and not (
                    code in spec.drifting and index >= drift_start - 2
                ):
                    value = month_risk - (month_target - month_risk) * rng.uniform(0.15, 0.6)
                    note = rng.choice(_BREACH_NOTES)
                else:
                    value = rng.gauss(month_mean, spread)
                    if rng.random() < 0.08:
                        note = rng.choice(_ROUTINE_NOTES)
                stored = None
                if value is not None:
                    if base.unit is Unit.PERCENT:
                        value = min(100.0, value)
                    value = max(0.0, value)
                    stored = _decimal(value, base.places)
                    status = _status(float(stored), month_target, month_risk, base.direction)
                    if status == "breached" and note is None:
                        note = rng.choice(_BREACH_NOTES)
                    ctx.statuses.setdefault(month, {})[code] = status
                entered = min(
                    self.today, month.next().first_day + dt.timedelta(days=rng.randint(2, 5))
                )
                entered_at = _at(entered, 8 if entered == self.today else 14)
                confirmed_on = month.next().first_day + dt.timedelta(days=rng.randint(6, 9))
                confirmed_at = _at(confirmed_on, 11, 30)
                # Last month's actuals, whatever the day the demo is loaded: confirmed by the
                # lead as soon as they were entered, except where the partnership leaves them
                # waiting (its scorecard then shows the provisional path).
                proposed = month == self.last and not spec.confirms_last_month
                if month == self.last and confirmed_on >= self.today:
                    confirmed_at = max(entered_at, _at(self.today, 8)) + dt.timedelta(minutes=30)
                db.session.add(
                    SlaMeasurement(
                        sla=sla,
                        month=month,
                        value=stored,
                        not_applicable=stored is None,
                        note=note,
                        state=MeasurementState.PROPOSED if proposed else MeasurementState.CONFIRMED,
                        entered_by=provider,
                        entered_at=entered_at,
                        confirmed_by=None if proposed else lead,
                        confirmed_at=None if proposed else confirmed_at,
                    )
                )

    # ----------------------------------------------------------------- meetings

    def _meetings(self, ctx: _Ctx) -> None:
        spec = ctx.spec
        rng = self.rng("meetings", spec.key)
        lead = self.users[spec.leads[0]]
        members = [self.users[k] for k in (*spec.leads, *spec.providers)]
        latest = len(ctx.held) - 1
        meetings: list[Meeting] = []
        presence: dict[int, list[Attendance]] = {}
        for index, slot in enumerate(ctx.held):
            qbr = slot.reviewed.month % 3 == 0
            approved = index < latest
            meeting = Meeting(
                partnership_id=ctx.partnership.id,
                held_on=slot.held_on,
                kind=MeetingKind.QUARTERLY_BUSINESS_REVIEW if qbr else MeetingKind.MONTHLY,
                reviewed_month=slot.reviewed,
                state=MeetingState.MINUTES_APPROVED if approved else MeetingState.HELD,
                **_meeting_slot(spec.key, slot.held_on, qbr),
                minutes=self._minutes(ctx, slot, qbr, rng),
                successes=" ".join(rng.sample(spec.successes, 2)),
                decisions="\n".join(f"- {d}" for d in rng.sample(spec.decisions, 2)),
                approved_by_id=lead.id if approved else None,
                approved_at=_at(slot.held_on + dt.timedelta(days=rng.randint(2, 5)), 16)
                if approved
                else None,
                created_at=_at(slot.held_on - dt.timedelta(days=21)),
                updated_at=_at(slot.held_on + dt.timedelta(days=1)),
            )
            db.session.add(meeting)
            meetings.append(meeting)
            for user in members:
                meeting.attendances.append(Attendance(user=user, present=rng.random() < 0.93))
            for sponsor_spec, sponsor in ctx.sponsors:
                if not sponsor.is_active_on(slot.held_on):
                    continue
                chance = sponsor_spec.engagement + (0.15 if qbr else 0.0)
                present = rng.random() < chance
                if sponsor_spec.disengaged and index > latest - 4:
                    present = False
                attendance = Attendance(sponsor=sponsor, present=present)
                meeting.attendances.append(attendance)
                if index > latest - 3:
                    presence.setdefault(id(sponsor), []).append(attendance)
        # Only the one disengaged sponsor may have missed all of the last three meetings.
        for sponsor_spec, sponsor in ctx.sponsors:
            recent = presence.get(id(sponsor), [])
            if recent and not sponsor_spec.disengaged and not any(a.present for a in recent):
                recent[-1].present = True

        planned = ctx.planned
        assert planned is not None
        db.session.add(
            Meeting(
                partnership_id=ctx.partnership.id,
                held_on=planned.held_on,
                kind=MeetingKind.QUARTERLY_BUSINESS_REVIEW
                if planned.reviewed.month % 3 == 0
                else MeetingKind.MONTHLY,
                reviewed_month=planned.reviewed,
                state=MeetingState.PLANNED,
                **_meeting_slot(spec.key, planned.held_on, planned.reviewed.month % 3 == 0),
                created_at=_at(ctx.held[-1].held_on + dt.timedelta(days=1)),
                updated_at=_at(ctx.held[-1].held_on + dt.timedelta(days=1)),
            )
        )
        self._challenges(ctx, meetings)
        self._actions(ctx, meetings, rng)

    def _minutes(self, ctx: _Ctx, slot: _Schedule, qbr: bool, rng: random.Random) -> str:
        statuses = ctx.statuses.get(slot.reviewed, {})
        counts = {s: sum(1 for v in statuses.values() if v == s) for s in ("met", "at risk")}
        breached = [ctx.slas[c].name for c, s in statuses.items() if s == "breached"]
        kind = "Quarterly business review" if qbr else "Monthly governance review"
        lines = [
            f"{kind} of {slot.reviewed.label}.",
            f"SLAs: {counts['met']} met, {counts['at risk']} at risk, "
            f"{len(breached)} breached" + (f" ({', '.join(breached)})." if breached else "."),
        ]
        n, csat, nps = ctx.survey[slot.reviewed]
        lines.append(
            f"Learner satisfaction: CSAT {csat:.0f}% and NPS {nps:+.0f} from {n:,} responses."
        )
        lines.append(rng.choice(_MEETING_NOTES))
        if qbr:
            lines.append("Sponsors reviewed the quarter's scorecard and the renewal timeline.")
        return " ".join(lines)

    def _challenges(self, ctx: _Ctx, meetings: list[Meeting]) -> None:
        for spec in ctx.spec.challenges:
            index = len(meetings) - 1 - spec.meeting_back
            meeting = meetings[index]
            challenge = Challenge(
                partnership_id=ctx.partnership.id,
                meeting=meeting,
                title=spec.title,
                description=spec.description,
                created_at=_at(meeting.held_on, 11),
                updated_at=_at(meeting.held_on, 11),
            )
            db.session.add(challenge)
            ctx.challenges[index] = (challenge, spec)

    def _actions(self, ctx: _Ctx, meetings: list[Meeting], rng: random.Random) -> None:
        spec = ctx.spec
        latest = len(meetings) - 1
        programs = list(spec.survey.programs)
        # Titles already in the plan: an action agreed twice reads as a copy-paste slip.
        titles = {c.action.title for c in spec.challenges if c.action}
        titles.add("")
        for index, meeting in enumerate(meetings):
            breached = [
                code
                for code, status in ctx.statuses.get(meeting.reviewed_month, {}).items()
                if status == "breached"
            ]
            scripted = ctx.challenges.get(index)
            if scripted and scripted[1].action:
                self._action(ctx, meetings, index, scripted[1].action, scripted[0], rng)
            count = rng.randint(3, 6)
            for number in range(count):
                side = Side.PROVIDER if rng.random() < 0.55 else Side.CLIENT
                sla_code = None
                if number == 0 and breached:
                    side, sla_code = Side.PROVIDER, breached[0]
                    title = (
                        f"Send a root-cause analysis of the {meeting.reviewed_month.label} "
                        f"breach of {ctx.slas[sla_code].name}"
                    )
                else:
                    pool = _PROVIDER_ACTIONS if side is Side.PROVIDER else _CLIENT_ACTIONS
                    title = rng.choice(pool).format(
                        region=rng.choice(spec.regions),
                        program=rng.choice(programs),
                        month=meeting.reviewed_month.label,
                    )
                    title = self._unused_title(ctx, title, pool, meeting.reviewed_month, titles)
                owners = spec.providers if side is Side.PROVIDER else spec.leads
                due = rng.choice((14, 21, 28, 35, 42))
                status = self._random_status(meeting.held_on, due, index > latest - 3, rng)
                if index == latest and number == count - 1:
                    # Every action plan has something agreed at the last meeting and not yet
                    # started, whatever the dice say.
                    status = ActionStatus.OPEN
                action = _ActionSpec(
                    title=title,
                    side=side,
                    owner=rng.choice(owners),
                    due_days=due,
                    status=status,
                    priority=rng.choices(list(Priority), (0.2, 0.5, 0.25, 0.05))[0],
                    sla=sla_code,
                )
                self._action(ctx, meetings, index, action, None, rng)

    def _unused_title(
        self, ctx: _Ctx, title: str, pool: tuple[str, ...], month: Month, titles: set[str]
    ) -> str:
        """``title``, or another of the pool when the plan already has it: drawn from a
        generator of its own, so the rest of the plan stays as the seed made it."""
        rng = self.rng("titles", ctx.spec.key, month)
        programs = list(ctx.spec.survey.programs)
        more = _PROVIDER_ACTIONS_MORE if pool is _PROVIDER_ACTIONS else _CLIENT_ACTIONS_MORE
        for _ in range(100):
            if title not in titles:
                break
            title = rng.choice(pool + more).format(
                region=rng.choice(ctx.spec.regions),
                program=rng.choice(programs),
                month=month.label,
            )
        base, number = title, 2
        while title in titles:
            title, number = f"{base} (part {number})", number + 1
        titles.add(title)
        return title

    def _random_status(
        self, held_on: dt.date, due_days: int, recent: bool, rng: random.Random
    ) -> ActionStatus:
        if not recent:
            return ActionStatus.DONE if rng.random() < 0.9 else ActionStatus.CANCELLED
        statuses = list(ActionStatus)  # open, in progress, blocked, done, cancelled
        if held_on + dt.timedelta(days=due_days) < self.today:
            return rng.choices(statuses, (0.15, 0.2, 0.1, 0.5, 0.05))[0]
        return rng.choices(statuses, (0.4, 0.4, 0.05, 0.15, 0.0))[0]

    def _action(
        self,
        ctx: _Ctx,
        meetings: list[Meeting],
        index: int,
        spec: _ActionSpec,
        challenge: Challenge | None,
        rng: random.Random,
    ) -> None:
        meeting = meetings[index]
        held_on = meeting.held_on
        due_on = held_on + dt.timedelta(days=spec.due_days)
        yesterday = self.today - dt.timedelta(days=1)
        status = spec.status
        closed_on = None
        if status in (ActionStatus.DONE, ActionStatus.CANCELLED):
            if index < len(meetings) - 3:
                # Most on time, a quarter of them late.
                offset = rng.randint(1, 25) if rng.random() < 0.25 else -rng.randint(0, 10)
            else:
                offset = rng.randint(-10, 5)
            closed_on = min(
                yesterday, max(held_on + dt.timedelta(days=2), due_on + dt.timedelta(days=offset))
            )
            if closed_on <= held_on:
                status, closed_on = ActionStatus.IN_PROGRESS, None
        until = closed_on or self.today
        carried = sum(1 for m in meetings[index + 1 :] if m.held_on < until)
        owner = self.users[spec.owner]
        lead = self.users[ctx.spec.leads[0]]
        item = ActionItem(
            partnership_id=ctx.partnership.id,
            meeting=meeting,
            title=spec.title,
            description=spec.description or None,
            owner_side=spec.side,
            owner=owner,
            due_on=due_on,
            priority=spec.priority,
            status=status,
            sla=ctx.slas[spec.sla] if spec.sla else None,
            challenge=challenge,
            created_by_id=lead.id,
            closed_on=closed_on,
            times_carried=carried,
            created_at=_at(held_on, 11, 30),
            updated_at=_at(closed_on or held_on, 12),
        )
        db.session.add(item)
        self._timeline(ctx, item, meetings[index + 1 :], owner, lead, rng)

    def _timeline(
        self,
        ctx: _Ctx,
        item: ActionItem,
        later: list[Meeting],
        owner: User,
        lead: User,
        rng: random.Random,
    ) -> None:
        created = item.created_at.date()
        end = item.closed_on or self.today - dt.timedelta(days=1)
        span = max(0, (end - created).days)
        started = created + dt.timedelta(days=min(span, rng.randint(1, 6)))
        status = item.status

        def add(
            day: dt.date,
            text: str,
            old: ActionStatus | None,
            new: ActionStatus | None,
            author: User,
            evidence: str | None = None,
        ) -> None:
            item.updates.append(
                ActionUpdate(
                    author=author,
                    created_at=_at(day, rng.randint(9, 17), rng.randint(0, 59)),
                    text=text,
                    old_status=old,
                    new_status=new,
                    evidence_url=evidence,
                )
            )

        for meeting in later:
            if meeting.held_on < end and status is ActionStatus.OPEN:
                note = f"Carried forward at the {meeting.held_on:%d %b} meeting."
                add(meeting.held_on, note, None, None, lead)
        if status in (ActionStatus.IN_PROGRESS, ActionStatus.BLOCKED, ActionStatus.DONE):
            note = rng.choice(_PROGRESS_NOTES)
            add(started, note, ActionStatus.OPEN, ActionStatus.IN_PROGRESS, owner)
        if status is ActionStatus.BLOCKED:
            blocked = started + dt.timedelta(days=max(0, (end - started).days // 2))
            note = rng.choice(_BLOCKED_NOTES)
            add(blocked, note, ActionStatus.IN_PROGRESS, ActionStatus.BLOCKED, owner)
        if status is ActionStatus.DONE:
            evidence = None
            if rng.random() < 0.6:
                host = _EVIDENCE_HOSTS[ctx.spec.provider]
                if item.owner_side is Side.CLIENT:
                    host = _EVIDENCE_HOSTS["northwind"]
                evidence = (
                    f"https://{host}/governance/{ctx.spec.key}/evidence/"
                    f"{item.created_at:%Y%m}-{rng.randint(100, 999)}"
                )
                item.evidence_url = evidence
            assert item.closed_on is not None
            note = rng.choice(_DONE_NOTES)
            add(item.closed_on, note, ActionStatus.IN_PROGRESS, ActionStatus.DONE, owner, evidence)
            # A lead verifies what was done, on either side, by the next governance meeting:
            # what was done since the latest one waits in the lead's verification queue.
            if item.closed_on + dt.timedelta(days=2) < ctx.held[-1].held_on:
                item.verified_by_id = lead.id
                item.verified_at = _at(item.closed_on + dt.timedelta(days=2), 15)
        if status is ActionStatus.CANCELLED:
            assert item.closed_on is not None
            note = rng.choice(_CANCEL_NOTES)
            add(item.closed_on, note, ActionStatus.OPEN, ActionStatus.CANCELLED, lead)

    # ----------------------------------------------------------------- changes and wins

    def _changes_and_wins(self, ctx: _Ctx) -> None:
        lead = self.users["lead"]
        in_scope = list(ctx.spec.regions)
        for title, kind, days, status, regions, description, plan, owner in ctx.spec.changes:
            planned_on = self.today + dt.timedelta(days=days)
            logged = min(planned_on, self.today) - dt.timedelta(days=40)
            names = in_scope if regions == _ALL else regions
            db.session.add(
                Change(
                    partnership_id=ctx.partnership.id,
                    title=title,
                    description=description,
                    change_type=kind,
                    planned_on=planned_on,
                    communication_plan=plan,
                    owner=self.users[owner],
                    status=status,
                    created_by_id=lead.id,
                    regions=[self.regions[name] for name in names],
                    created_at=_at(logged),
                    updated_at=_at(min(planned_on, self.today - dt.timedelta(days=1))),
                )
            )
        for title, story, days_ago, region, impact, shareable, author in ctx.spec.wins:
            won_on = self.today - dt.timedelta(days=days_ago)
            db.session.add(
                Win(
                    partnership_id=ctx.partnership.id,
                    title=title,
                    story=story,
                    won_on=won_on,
                    region=self.regions[region] if region else None,
                    measurable_impact=impact,
                    shareable=shareable,
                    created_by_id=self.users[author].id,
                    created_at=_at(won_on + dt.timedelta(days=1), 16),
                    updated_at=_at(won_on + dt.timedelta(days=1), 16),
                )
            )

    # ----------------------------------------------------------------- summary

    def _summary(self) -> str:
        def count(model: Any, *where: Any) -> int:
            return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

        open_items = count(
            ActionItem,
            ActionItem.status.not_in([ActionStatus.DONE, ActionStatus.CANCELLED]),
        )
        return "\n".join(
            [
                f"Loaded the {CLIENT_NAME} demo: {self.months[0].label} to {self.last.label}.",
                f"  {count(Partnership)} partnerships, {count(User)} users, "
                f"{count(Region)} regions, {count(Sponsor)} sponsors",
                f"  {count(Expectation)} expectations, {count(Sla)} SLAs, "
                f"{count(SlaMeasurement)} monthly measurements",
                f"  {count(Meeting)} meetings, {count(ActionItem)} action items "
                f"({open_items} open), {count(ActionUpdate)} updates",
                f"  {count(Change)} changes, {count(Win)} wins, "
                f"{count(SurveyResponse):,} survey responses",
                f"  {count(AuditEntry):,} audit log entries",
            ]
        )
