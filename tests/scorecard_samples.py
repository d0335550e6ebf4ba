"""Hand-built scorecard snapshots for tests: a busy partnership's month and a new, empty one."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from mls_tracker.periods import Month
from mls_tracker.scorecards.snapshot import (
    ActionRow,
    ActionSection,
    AttainmentPoint,
    ChangeFacts,
    CoverageFacts,
    ExpectationFacts,
    FlowPoint,
    GovernanceSection,
    HealthFacts,
    HealthPointFacts,
    MeetingFacts,
    PartnershipFacts,
    PeriodFacts,
    SatisfactionFacts,
    SatisfactionSection,
    ScorecardData,
    ScorecardMeta,
    SlaRow,
    SlaSection,
    SlaTrendPoint,
    SponsorFacts,
    Tile,
    WinFacts,
)

LAST_MONTH = Month(2026, 10)
MONTHS_12 = tuple(LAST_MONTH.shift(offset) for offset in range(-11, 1))
MONTHS_6 = MONTHS_12[-6:]
REGIONS = ("North America", "EMEA", "APAC", "LATAM")

EXECUTIVE_SUMMARY = """\
October was the strongest month of the year for learner satisfaction: CSAT rose to 87.4% on \
1,146 responses, and every region except LATAM is now above the 85% target. The new \
onboarding curriculum for frontline managers drove most of the gain.

Service levels held at 81.8% attainment. Two SLAs breached: content localisation turnaround \
(APAC translations queued behind the Q4 compliance refresh) and help-desk first-contact \
resolution, which fell after the LMS migration changed the ticket categories. Both have \
recovery plans with owners and dates in the action plan.

The action plan is the area to watch. Eight items are overdue, five of them on the provider \
side, and the median time to close rose to 19 days. We propose a fortnightly action review \
until the overdue count is below three.

Decision requested: confirm the LATAM client sponsor by the November steering meeting; the \
region has had no active sponsor since August & its engagement is slipping."""


def _sla(
    code: str,
    name: str,
    unit: str,
    direction: str,
    target: float,
    at_risk: float,
    actuals: tuple[float | None, ...],
    statuses: tuple[str, ...],
    *,
    weight: float = 1.0,
    note: str | None = None,
) -> SlaRow:
    trend = tuple(
        SlaTrendPoint(month, actual, status)
        for month, actual, status in zip(MONTHS_6, actuals, statuses, strict=True)
    )
    return SlaRow(
        code=code,
        name=name,
        unit=unit,
        direction=direction,
        target=target,
        at_risk=at_risk,
        actual=actuals[-1],
        status=statuses[-1],
        weight=weight,
        note=note,
        trend=trend,
    )


M, R, B, X = "met", "at risk", "breached", "missing"
HI, LO = "higher is better", "lower is better"

SLAS = (
    _sla("SLA-01", "Course launch on schedule", "%", HI, 95, 90,
         (96.0, 97.5, 95.2, 94.1, 96.8, 97.0), (M, M, M, R, M, M), weight=2.0),
    _sla("SLA-02", "Help-desk first-contact resolution", "%", HI, 80, 75,
         (82.0, 81.4, 79.0, 76.5, 74.2, 72.8), (M, M, R, R, B, B), weight=1.5,
         note="Ticket categories changed with the LMS migration; recovery plan in ACT-112."),
    _sla("SLA-03", "Help-desk response time", "hours", LO, 4, 6,
         (3.2, 3.5, 3.1, 2.9, 3.0, 2.7), (M, M, M, M, M, M)),
    _sla("SLA-04", "Content localisation turnaround", "days", LO, 10, 14,
         (9.0, 11.5, 12.0, 13.5, 15.0, 16.2), (M, R, R, R, B, B), weight=1.5,
         note="APAC translations queued behind the Q4 compliance refresh."),
    _sla("SLA-05", "Learner completion rate", "%", HI, 85, 80,
         (86.2, 87.0, 85.5, 84.1, 86.0, 88.3), (M, M, M, R, M, M), weight=2.0),
    _sla("SLA-06", "Assessment pass rate", "%", HI, 75, 70,
         (78.0, 77.2, 79.4, 80.1, 79.9, 81.0), (M, M, M, M, M, M)),
    _sla("SLA-07", "LMS availability", "%", HI, 99.5, 99.0,
         (99.9, 99.8, 99.95, 98.7, 99.6, 99.7), (M, M, M, B, M, M), weight=1.5),
    _sla("SLA-08", "Enrolment processing time", "days", LO, 2, 3,
         (1.5, 1.8, 2.4, 2.1, 1.9, 1.6), (M, M, R, R, M, M)),
    _sla("SLA-09", "Invoice accuracy", "%", HI, 99, 97,
         (100.0, 99.2, 98.5, 99.4, 100.0, 99.6), (M, M, R, M, M, M), weight=0.5),
    _sla("SLA-10", "Instructor quality score", "score", HI, 4.5, 4.2,
         (4.6, 4.4, 4.5, 4.7, 4.6, 4.3), (M, R, M, M, M, R),
         note="Two new APAC facilitators below 4.2; paired with senior facilitators in November."),
    _sla("SLA-11", "Reporting pack delivered by working day 5", "days", LO, 5, 7,
         (4.0, 5.0, 4.0, None, 5.0, 6.0), (M, M, M, X, M, R)),
    _sla("SLA-12", "Cost per learning hour", "currency", LO, 42, 46,
         (None, None, 41.2, 40.8, None, None), ("n/a", "n/a", M, M, X, X), weight=0.5,
         note="September and October invoices not yet reconciled."),
)  # fmt: skip

ATTAINMENT = tuple(
    AttainmentPoint(month, percent, met, at_risk, breached, missing)
    for month, percent, met, at_risk, breached, missing in zip(
        MONTHS_12,
        (90.9, 90.9, 81.8, 90.9, 100.0, 90.9, 83.3, 83.3, 66.7, 63.6, 72.7, 81.8),
        (10, 10, 9, 10, 11, 10, 10, 8, 7, 5, 8, 9),
        (1, 1, 1, 0, 0, 1, 1, 3, 3, 4, 1, 1),
        (0, 0, 1, 1, 0, 0, 0, 0, 1, 2, 2, 1),
        (1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1),
        strict=True,
    )
)


def _satisfaction(
    label: str,
    n: int,
    mean: float | None,
    csat: float | None,
    nps_n: int,
    nps: float | None,
    *,
    month: Month | None = None,
    source: str = "computed",
) -> SatisfactionFacts:
    if csat is None or n == 0:
        low = high = None
    else:
        spread = round(min(30.0, 98.0 / (n**0.5)), 1)
        low, high = round(max(0.0, csat - spread), 1), round(min(100.0, csat + spread / 2), 1)
    moe = round(min(60.0, 196.0 / (nps_n**0.5)), 1) if nps is not None and nps_n else None
    return SatisfactionFacts(
        label=label,
        month=month,
        n_rating=n,
        mean_rating=mean,
        csat=csat,
        csat_low=low,
        csat_high=high,
        n_recommend=nps_n,
        nps=nps,
        nps_moe=moe,
        low_sample=n < 10,
        source=source,
    )


BY_MONTH = tuple(
    _satisfaction(month.label, n, mean, csat, nps_n, nps, month=month, source=source)
    for month, n, mean, csat, nps_n, nps, source in zip(
        MONTHS_12,
        (812, 790, 7, 845, 902, 866, 640, 4, 931, 1010, 1088, 1146),
        (4.12, 4.10, 3.86, 4.15, 4.18, 4.16, 4.09, 4.25, 4.21, 4.24, 4.28, 4.33),
        (82.4, 81.9, 71.4, 83.0, 83.8, 83.2, 81.6, 75.0, 84.9, 85.6, 86.1, 87.4),
        (640, 611, 6, 702, 745, 720, 530, 4, 788, 851, 902, 961),
        (31.0, 29.5, 16.7, 33.2, 35.0, 34.1, 30.2, 25.0, 38.4, 40.1, 41.7, 44.6),
        ("computed",) * 7 + ("reported",) + ("computed",) * 4,
        strict=True,
    )
)

BY_REGION = (
    _satisfaction("North America", 512, 4.38, 89.1, 430, 48.2),
    _satisfaction("EMEA", 388, 4.31, 87.6, 322, 44.0),
    _satisfaction("APAC", 239, 4.22, 84.9, 203, 39.4),
    _satisfaction("LATAM", 7, 3.86, 71.4, 6, 16.7),
)
BY_PROGRAM = (
    _satisfaction("Frontline Manager Onboarding", 402, 4.51, 92.3, 350, 58.6),
    _satisfaction("Leadership Essentials", 287, 4.36, 88.2, 240, 45.0),
    _satisfaction("Compliance Refresh 2026", 318, 4.02, 79.9, 262, 22.1),
    _satisfaction("Data Literacy for Everyone", 131, 4.27, 86.3, 104, 40.4),
    _satisfaction("Executive Coaching Pilot", 8, 4.75, 100.0, 5, 80.0),
)

OWNERS = (
    ("provider", "Priya Raman"),
    ("client", "Daniel Okafor"),
    ("provider", "Marco Bianchi"),
    ("client", "Sophie Laurent"),
    ("provider", "Kenji Watanabe"),
    ("client", None),
)
ACTION_TITLES = (
    "Recover help-desk first-contact resolution: retrain tier-1 agents on the new LMS "
    "ticket categories and publish a revised knowledge-base index",
    "Clear the APAC translation backlog for the Q4 compliance refresh",
    "Confirm the LATAM client sponsor and brief them before the November steering meeting",
    "Reconcile September and October invoices against the cost-per-hour model",
    "Pair the two new APAC facilitators with senior facilitators for three sessions each",
    "Publish the revised reporting-pack template agreed at the September review",
    "Agree the 2027 SLA targets for completion and pass rates",
    "Migrate the remaining 1,200 legacy SCORM packages to the new LMS",
    "Run accessibility audit (WCAG 2.2 AA) on the onboarding curriculum",
    "Set up the quarterly learner advisory panel in EMEA",
)
STATUSES = ("open", "in progress", "blocked", "in progress", "open")
PRIORITIES = ("high", "medium", "low", "medium", "high", "medium")


def _actions() -> tuple[ActionRow, ...]:
    rows = []
    for index in range(30):
        side, owner = OWNERS[index % len(OWNERS)]
        title = ACTION_TITLES[index % len(ACTION_TITLES)]
        if index >= len(ACTION_TITLES):
            title = f"{title} (wave {index // len(ACTION_TITLES) + 1})"
        overdue = index < 8
        due = (
            dt.date(2026, 10, 3 + index)
            if overdue
            else dt.date(2026, 11, 1) + dt.timedelta(days=(index - 8) * 3)
        )
        if index == 29:
            due = None
        rows.append(
            ActionRow(
                title=title,
                owner_side=side,
                owner_name=owner,
                due_on=due,
                status=STATUSES[index % len(STATUSES)],
                priority=PRIORITIES[index % len(PRIORITIES)],
                overdue=overdue,
            )
        )
    return tuple(rows)


OPEN_ACTIONS = _actions()
NEXT_REVIEW = dt.date(2026, 11, 26)

FLOW = tuple(
    FlowPoint(month, opened, closed, overdue)
    for month, opened, closed, overdue in zip(
        MONTHS_12,
        (9, 11, 8, 12, 10, 9, 7, 13, 14, 12, 11, 10),
        (10, 9, 10, 11, 12, 8, 9, 8, 10, 9, 8, 9),
        (2, 3, 2, 2, 1, 2, 1, 4, 5, 6, 7, 8),
        strict=True,
    )
)


def _sponsor(name: str, title: str, attended: int, held: int, days: int | None) -> SponsorFacts:
    return SponsorFacts(name, title, attended, held, days)


COVERAGE = (
    CoverageFacts(
        "North America",
        True,
        (_sponsor("Helen Carter", "Chief Learning Officer", 3, 3, 12),),
        (_sponsor("Rajiv Menon", "Managing Director, Learning Services", 3, 3, 12),),
        False,
    ),
    CoverageFacts(
        "EMEA",
        False,
        (
            _sponsor("Anna Schmidt", "VP People Development", 2, 3, 40),
            _sponsor("Lucas Moreau", "Head of Talent, France", 1, 3, 71),
        ),
        (_sponsor("Claire Dubois", "Regional Delivery Director", 3, 3, 12),),
        False,
    ),
    CoverageFacts(
        "APAC",
        False,
        (_sponsor("Mei Lin", "HR Director APAC", 0, 3, 104),),
        (_sponsor("Kenji Watanabe", "Delivery Lead APAC", 2, 3, 40),),
        False,
    ),
    CoverageFacts("LATAM", False, (), (_sponsor("Lucía Fernández", None, 1, 3, 70),), True),
)

MEETINGS = (
    MeetingFacts(dt.date(2026, 10, 8), "monthly", "minutes approved", 9, 11),
    MeetingFacts(dt.date(2026, 10, 22), "executive steering", "held", 6, 8),
)
EXPECTATIONS = (
    ExpectationFacts(
        "Monthly reporting pack within five working days of month end",
        "communication",
        "provider",
        dt.date(2026, 10, 31),
    ),
    ExpectationFacts(
        "Satisfaction measured on every program with at least 30 learners",
        "measurement",
        "provider",
        dt.date(2026, 11, 15),
    ),
    ExpectationFacts(
        "Regional sponsors attend at least two of three governance meetings",
        "other",
        "client",
        dt.date(2026, 11, 20),
    ),
)
CHANGES = (
    ChangeFacts(
        "LMS migration to the cloud platform",
        "in progress",
        dt.date(2026, 9, 14),
        ("North America", "EMEA", "APAC", "LATAM"),
        "Marco Bianchi",
    ),
    ChangeFacts(
        "New ticket categories in the help desk", "done", dt.date(2026, 9, 1), (), "Priya Raman"
    ),
    ChangeFacts("Single sign-on for contractors", "planned", dt.date(2026, 12, 1), ("EMEA",), None),
)
WINS = (
    WinFacts(
        "Frontline Manager Onboarding reaches 92% CSAT",
        "The redesigned curriculum replaced two days of classroom time with a blended "
        "programme; 402 managers completed it in October.",
        dt.date(2026, 10, 17),
        "North America",
        "Time to competence down from 9 to 6 weeks",
        True,
    ),
    WinFacts(
        "Compliance refresh delivered to 18,000 employees on time",
        None,
        dt.date(2026, 10, 2),
        None,
        "100% completion before the regulator's deadline",
        True,
    ),
    WinFacts(
        "EMEA learner advisory panel launched",
        "Twelve learners from six countries now review new courses before launch.",
        dt.date(2026, 10, 9),
        "EMEA",
        None,
        False,
    ),
)

TILES = (
    Tile("sla", "SLA attainment", 81.8, 72.7, "9 of 11 SLAs met · 1 not measured"),
    Tile("satisfaction", "Satisfaction (CSAT)", 87.4, 86.1, "n = 1,146 · 95% CI 84.5–88.9"),
    Tile("actions", "Action plan health", 58.3, 66.7, "7 of 12 due items closed on time"),
    Tile("coverage", "Sponsor coverage", 75.0, 75.0, "3 of 4 regions with a client sponsor"),
)

HEALTH_SERIES = tuple(
    HealthPointFacts(month, score)
    for month, score in zip(
        MONTHS_12, (84, 83, 78, 82, 86, 83, 80, 76, 71, 68, 72, 75), strict=True
    )
)


def sample_data(**overrides: Any) -> ScorecardData:
    """A realistic month of a busy partnership; keyword arguments replace top-level fields."""
    data = ScorecardData(
        partnership=PartnershipFacts(
            id=7,
            name="Northwind Global Learning Partnership",
            client="Northwind Traders",
            provider="Contoso Learning Services",
            engagement_model="managed learning services",
            governance_model="federated",
            status="active",
            home_region="North America",
            regions=REGIONS,
        ),
        period=PeriodFacts("monthly", LAST_MONTH, LAST_MONTH, "October 2026"),
        computed_on=dt.date(2026, 11, 3),
        previous_label="September 2026",
        health=HealthFacts(
            score=75,
            rag="amber",
            previous=72,
            left_out=(),
            weights=(
                ("SLA attainment", 40.0),
                ("Satisfaction (CSAT)", 25.0),
                ("Action plan health", 20.0),
                ("Sponsor coverage", 15.0),
            ),
        ),
        tiles=TILES,
        executive_summary=EXECUTIVE_SUMMARY,
        featured_wins=WINS[:2],
        slas=SlaSection(
            attainment=81.8, measured=11, total=12, missing=1, rows=SLAS, series=ATTAINMENT
        ),
        satisfaction=SatisfactionSection(
            total=_satisfaction("All", 1146, 4.33, 87.4, 961, 44.6, month=LAST_MONTH),
            by_month=BY_MONTH,
            by_region=BY_REGION,
            by_program=BY_PROGRAM,
        ),
        actions=ActionSection(
            opened=10,
            closed=9,
            overdue=8,
            due=12,
            closed_on_time=7,
            health=58.3,
            median_days_to_close=19.0,
            open_items=OPEN_ACTIONS,
            due_next=tuple(
                row
                for row in OPEN_ACTIONS
                if row.due_on is not None and dt.date(2026, 11, 1) <= row.due_on < NEXT_REVIEW
            ),
            next_review_on=NEXT_REVIEW,
            flow=FLOW,
        ),
        governance=GovernanceSection(
            coverage_percent=75.0,
            coverage=COVERAGE,
            meetings=MEETINGS,
            expectations_due=EXPECTATIONS,
            changes=CHANGES,
            wins=WINS,
        ),
        health_series=HEALTH_SERIES,
    )
    return dataclasses.replace(data, **overrides)


def empty_data(**overrides: Any) -> ScorecardData:
    """A partnership in its first month: nothing measured, no sponsors, no meetings."""
    nothing = SatisfactionFacts("All", LAST_MONTH, 0, None, None, None, None, 0, None, None,
                                False, "computed")  # fmt: skip
    data = ScorecardData(
        partnership=PartnershipFacts(
            id=12,
            name="Fabrikam Onboarding",
            client="Fabrikam Inc.",
            provider="Contoso Learning Services",
            engagement_model="project outsourcing",
            governance_model="centralized",
            status="onboarding",
            home_region=None,
            regions=(),
        ),
        period=PeriodFacts("monthly", LAST_MONTH, LAST_MONTH, "October 2026"),
        computed_on=dt.date(2026, 11, 3),
        previous_label=None,
        health=HealthFacts(
            score=None,
            rag=None,
            previous=None,
            left_out=(
                "SLA attainment",
                "Satisfaction (CSAT)",
                "Action plan health",
                "Sponsor coverage",
            ),
            weights=(),
        ),
        tiles=(
            Tile("sla", "SLA attainment", None, None, "No SLA measured"),
            Tile("satisfaction", "Satisfaction (CSAT)", None, None, "No responses"),
            Tile("actions", "Action plan health", None, None, "No items due"),
            Tile("coverage", "Sponsor coverage", None, None, "No region in scope yet"),
        ),
        executive_summary="",
        featured_wins=(),
        slas=SlaSection(attainment=None, measured=0, total=0, missing=0, rows=(), series=()),
        satisfaction=SatisfactionSection(total=nothing, by_month=(), by_region=(), by_program=()),
        actions=ActionSection(
            opened=0,
            closed=0,
            overdue=0,
            due=0,
            closed_on_time=0,
            health=None,
            median_days_to_close=None,
            open_items=(),
            due_next=(),
            next_review_on=None,
            flow=(),
        ),
        governance=GovernanceSection(
            coverage_percent=None,
            coverage=(),
            meetings=(),
            expectations_due=(),
            changes=(),
            wins=(),
        ),
        health_series=(),
    )
    return dataclasses.replace(data, **overrides)


ISSUED_META = ScorecardMeta(
    version=3,
    issued_at=dt.datetime(2026, 11, 4, 9, 30, tzinfo=dt.UTC),
    issued_by="Olivia Bennett",
)
DRAFT_META = ScorecardMeta(version=None, issued_at=None, issued_by=None)
