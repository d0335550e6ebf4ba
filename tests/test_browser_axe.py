"""axe-core in Chromium on every page, for every role (issue 20).

The demo (with its issued scorecards) is walked as the client lead, the administrator, the
provider user, the executive sponsor, the viewer and a visitor who is not signed in. The pages
are the GET routes of ``app.url_map``, their arguments filled from the demo: every page without
arguments, each tab of the role's partnership, one object of each kind, the "new …" and edit
forms and confirmation pages; then a form sent empty (its messages next to the fields) and a
failed sign-in. Who opens what comes from the permission matrix (tests/test_permissions.py).
axe runs with the WCAG 2.0, 2.1 and 2.2 A and AA rules; any serious or critical violation
fails the test, all of them listed in one message (page, rule, help, the failing elements).

A page the walk cannot reach (an argument it cannot fill, every role sent elsewhere) fails the
test until it is given a value here or a reason in NOT_WALKED: a new page is never skipped
silently.

axe-core is the npm package pinned in package.json (``make test`` runs ``npm ci``). It is read
from node_modules and added to each page by Playwright as an init script, before the page's own
scripts: nothing is fetched from the network, and the app's CSP stays in force (an init script
is not subject to it), so a CSP violation still shows up as a console error and fails the test.

Accessibility does not depend on the database: the walk runs on SQLite only. To keep it short,
a form (a route that also takes a POST) is checked for the first role that can open it, the
read pages for every role that can, and the administrator walks the pages outside any
partnership (inside one they see what its lead sees).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_security.recoverable import generate_reset_password_token
from playwright.sync_api import Browser, Page, expect
from werkzeug.routing import Rule

from mls_tracker.extensions import db
from mls_tracker.models import (
    CLOSED_STATUSES,
    ActionItem,
    ActionStatus,
    AgendaItem,
    ApiToken,
    Change,
    DeliveryResult,
    Expectation,
    Invitation,
    Job,
    Meeting,
    MeetingState,
    Membership,
    Organisation,
    Region,
    ReportedSatisfaction,
    Review,
    Role,
    Scorecard,
    ScorecardDelivery,
    Sla,
    Sponsor,
    SurveyImport,
    User,
    WebhookEndpoint,
    Win,
    utcnow,
)
from mls_tracker.periods import Month, utc_today
from mls_tracker.scorecards import delivery as delivery_service
from mls_tracker.services import api_tokens
from mls_tracker.services import queues as queue_service
from mls_tracker.services.invitations import _hash as invitation_hash
from tests.browser_fixtures import sign_in, watch_errors
from tests.demo_snapshot import demo_database
from tests.live_server import LiveServer
from tests.test_permissions import GLOBAL, SCOPED

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        bool(os.environ.get("TEST_DATABASE_URL")),
        reason="accessibility does not depend on the database: the axe walk runs on SQLite only",
    ),
]

AXE_JS = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FAILING_IMPACTS = {"serious", "critical"}

# Role (as the permission matrix names it) and e-mail address; the first role that can open a
# form is the one that checks it. None: the visitor, not signed in.
ROLES: dict[str, str | None] = {
    "lead": "lead@example.com",
    "admin": "admin@example.com",
    "provider": "provider@example.com",
    "sponsor": "sponsor@example.com",
    "viewer": "viewer@example.com",
    "anonymous": None,
}

# Not pages: files, JSON and the identity provider's way back.
NOT_PAGES = (".csv", ".pdf", ".png", ".ics", ".xlsx", ".zip")
NOT_PAGE_ENDPOINTS = {
    "healthz": "JSON for the load balancer",
    "jobs.status": "JSON for the progress bars",
    "auth.sso_callback": "where the identity provider sends the browser back (no page)",
}

# Pages the walk does not open, and why.
NOT_WALKED = {
    "security.two_factor_token_validation": "a step of a two-factor sign-in in progress; "
    "opened otherwise it ends the session",
    "security.two_factor_rescue": "a step of a two-factor sign-in in progress; opened "
    "otherwise it ends the session",
    "security.tf_select": "a step of a two-factor sign-in in progress; opened otherwise it "
    "ends the session",
    "setup.first_admin": "shown only while there is no user at all (the demo has users)",
    # A file uploaded first, or a job run on one: the pages of a staged upload.
    "contract_imports.preview": "needs a contract workbook uploaded first (a staged upload)",
    "contract_imports.result": "needs a contract workbook import run first (its job)",
    "survey_imports.mapping": "needs a survey file uploaded first (a staged upload)",
    "survey_imports.preview": "needs a survey file uploaded first (a staged upload)",
    "survey_imports.result": "needs a survey import run first (its job)",
    "reviews.job": "needs a scorecard issued through the job queue (the demo has no such job)",
}

# Routes whose answer is a redirect to another page (which the walk checks on its own).
REDIRECTS = {"home", "delivery.pick_month", "slas.pick_month"}

# Pages the matrix answers for a sample object in another state (an unknown token, a planned
# meeting); the walk's object is one the lead can open.
LEAD_OBJECT_PAGES = {"accounts.revoke_token", "actions.verify", "meetings.approve"}

# Pages opened through a personal link (the token filled in below): the visitor's.
VISITOR_LINKS = {"acknowledgements.show", "auth.accept_invitation", "security.reset_password"}

# axe reads the page's style sheets again for its CSS rules (css-orientation-lock): only on a
# page whose set of style sheets the walk has not seen yet (the lead's walk 37 s → 29 s).
_RUN_AXE = """async ([tags, seenSheets]) => {
  const sheets = [...document.styleSheets].map((s) => s.href || "inline").sort().join(" ");
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
    preload: !seenSheets.includes(sheets),
  });
  return [sheets, result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map((n) => n.target.join(" ")),
  }))];
}"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(
            f"{AXE_JS} is missing: run `npm ci` in the project folder (`make test` does) to "
            "install axe-core, pinned in package.json"
        )
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture
def demo(app: Flask) -> None:
    demo_database()  # with the demo's issued scorecards: the sponsor's pages have them


@dataclass
class Findings:
    serious: list[str] = field(default_factory=list)
    lesser: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # endpoint -> the roles it was checked for
    checked: dict[str, set[str]] = field(default_factory=dict)
    pages: int = 0
    sheets: list[str] = field(default_factory=list)  # the sets of style sheets axe has read

    def record(self, label: str, violations: list[dict[str, Any]]) -> None:
        self.pages += 1
        for violation in violations:
            targets = violation["targets"]
            shown = "; ".join(targets[:6]) + (
                f"; … {len(targets) - 6} more" if len(targets) > 6 else ""
            )
            line = (
                f"{label}: {violation['id']} ({violation['impact']}) — {violation['help']}"
                f" — {shown}"
            )
            if violation["impact"] in FAILING_IMPACTS:
                self.serious.append(line)
            else:
                self.lesser.append(line)


@dataclass
class Target:
    endpoint: str
    url: str
    form: bool  # the route also takes a POST


def _page_rules(app: Flask) -> Iterator[Rule]:
    for rule in app.url_map.iter_rules():
        if (
            "GET" not in rule.methods
            or rule.rule.startswith("/api/")
            or rule.endpoint == "static"
            or rule.endpoint.endswith(".static")
            or rule.rule.endswith(NOT_PAGES)
            or rule.endpoint in NOT_PAGE_ENDPOINTS
            or rule.endpoint in NOT_WALKED
        ):
            continue
        yield rule


def _first(column: Any, *where: Any, order: Any = None) -> int | None:
    return db.session.scalar(
        sa.select(column).where(*where).order_by(order if order is not None else column).limit(1)
    )


def _values(partnership_id: int | None, user: User | None) -> dict[str, Any]:
    """A demo value for each URL argument, in the role's partnership: a list gives a page for
    each value."""
    pid = partnership_id
    today = utc_today()
    planned = _first(
        Meeting.id, Meeting.partnership_id == pid, Meeting.state == MeetingState.PLANNED
    )
    issued = _first(
        Review.id, Review.partnership_id == pid, Review.scorecards.any(), order=Review.id.desc()
    )
    values: dict[str, Any] = {
        "partnership_id": pid,
        "action_id": _first(
            ActionItem.id,
            ActionItem.partnership_id == pid,
            ActionItem.status.not_in(CLOSED_STATUSES),
        ),
        "meeting_id": planned,
        "item_id": _first(AgendaItem.id, AgendaItem.meeting_id == planned),
        "sla_id": _first(Sla.id, Sla.partnership_id == pid),
        "expectation_id": _first(Expectation.id, Expectation.partnership_id == pid),
        "change_id": _first(Change.id, Change.partnership_id == pid),
        "win_id": _first(Win.id, Win.partnership_id == pid),
        "sponsor_id": _first(Sponsor.id, Sponsor.partnership_id == pid, Sponsor.end_date.is_(None)),
        "reported_id": _first(ReportedSatisfaction.id, ReportedSatisfaction.partnership_id == pid),
        "endpoint_id": _first(WebhookEndpoint.id, WebhookEndpoint.partnership_id == pid),
        "import_id": _first(
            SurveyImport.id,
            SurveyImport.partnership_id == pid,
            SurveyImport.undone_at.is_(None),
            order=SurveyImport.id.desc(),
        ),
        "review_id": issued,
        "scorecard_id": _first(
            Scorecard.id, Scorecard.review_id == issued, order=Scorecard.id.desc()
        ),
        "job_id": _first(
            Job.id, Job.partnership_id == pid, Job.kind == "scorecard_issue", order=Job.id.desc()
        ),
        "month": str(Month.of(today).previous()),
        "name": list(queue_service.QUEUES),
        "organisation_id": _first(Organisation.id),
        "region_id": _first(Region.id),
        "user_id": _first(User.id, User.email == "lead@example.com"),
        "account_id": _first(User.id, User.is_service_account),
        "token_id": _first(ApiToken.id, ApiToken.user_id == (user.id if user else None)),
    }
    values["service_token_id"] = _first(ApiToken.id, ApiToken.user_id == values["account_id"])
    values["membership_id"] = _first(Membership.id, Membership.user_id == values["account_id"])
    return values


# Pages that need an object in another state than the one picked above.
def _overrides(partnership_id: int | None) -> dict[str, dict[str, Any]]:
    pid = partnership_id
    held = _first(Meeting.id, Meeting.partnership_id == pid, Meeting.state == MeetingState.HELD)
    draft = _first(
        Review.id, Review.partnership_id == pid, ~Review.scorecards.any(), order=Review.id.desc()
    )
    done = _first(
        ActionItem.id,
        ActionItem.partnership_id == pid,
        ActionItem.status == ActionStatus.DONE,
        ActionItem.verified_at.is_(None),
    )
    return {
        "actions.verify": {"action_id": done},
        "meetings.approve": {"meeting_id": held},
        "reviews.commentary": {"review_id": draft},
    }


def _links(app: Flask) -> dict[str, dict[str, str]]:
    """The personal links' tokens: a scorecard's acknowledgement, a password reset, an
    invitation (made here, for a new person)."""
    lead = db.session.scalar(sa.select(User).where(User.email == "lead@example.com"))
    delivery = _first(ScorecardDelivery.id, order=ScorecardDelivery.id.desc())
    membership = db.session.scalar(
        sa.select(Membership).where(Membership.user_id == lead.id).order_by(Membership.id).limit(1)
    )
    invitation_token = secrets.token_urlsafe(32)
    db.session.add(
        Invitation(
            partnership_id=membership.partnership_id,
            email="new.person@example.com",
            display_name="New Person",
            role=Role.VIEWER,
            token_hash=invitation_hash(invitation_token),
            invited_by_id=lead.id,
            expires_at=utcnow() + dt.timedelta(days=7),
        )
    )
    db.session.commit()
    with app.test_request_context():
        return {
            "acknowledgements.show": {
                "token": delivery_service.acknowledgement_token(delivery) if delivery else None
            },
            "security.reset_password": {"token": generate_reset_password_token(lead)},
            "auth.accept_invitation": {"token": invitation_token},
        }


def _more_objects() -> None:
    """What the demo lacks for some pages, added to the lead's first partnership: a service
    account and API tokens, a webhook, a reported satisfaction month, an e-mailed scorecard,
    a held meeting whose minutes wait for approval, an agenda item of a planned meeting."""
    admin = db.session.scalar(sa.select(User).where(User.email == "admin@example.com"))
    lead = db.session.scalar(sa.select(User).where(User.email == "lead@example.com"))
    pid = _first(Membership.partnership_id, Membership.user_id == lead.id)
    account = api_tokens.create_service_account(admin, "Reporting bot", [(pid, Role.VIEWER)])
    api_tokens.create_token(admin, account, name="Nightly export")
    api_tokens.create_token(lead, lead, name="Spreadsheet")
    db.session.add(
        WebhookEndpoint(
            partnership_id=pid,
            url="https://192.0.2.1/mls",  # never called: the walk only reads its pages
            events=["actual.proposed"],
            secret_encrypted="not-a-real-secret",
        )
    )
    db.session.add(
        ReportedSatisfaction(partnership_id=pid, month=Month(2020, 1), responses=40, csat=80)
    )
    scorecard = db.session.get(Scorecard, _first(Scorecard.id))
    sponsor = db.session.get(
        Sponsor,
        _first(
            Sponsor.id,
            Sponsor.partnership_id == scorecard.review.partnership_id,
            Sponsor.email.is_not(None),
            Sponsor.end_date.is_(None),
        ),
    )
    db.session.add(
        ScorecardDelivery(
            scorecard_id=scorecard.id,
            sponsor_id=sponsor.id,
            email=sponsor.email,
            result=DeliveryResult.SENT,
            sent_at=utcnow(),
        )
    )
    approved = db.session.get(
        Meeting,
        _first(
            Meeting.id,
            Meeting.partnership_id == pid,
            Meeting.state == MeetingState.MINUTES_APPROVED,
            order=Meeting.id.desc(),
        ),
    )
    approved.state, approved.approved_at = MeetingState.HELD, None
    planned = _first(
        Meeting.id, Meeting.partnership_id == pid, Meeting.state == MeetingState.PLANNED
    )
    db.session.add(
        AgendaItem(meeting_id=planned, position=99, section="Other business", title="AOB")
    )
    db.session.commit()


def _matrix_allows(endpoint: str, role: str) -> bool:
    expected = SCOPED.get(("GET", endpoint)) or GLOBAL.get(("GET", endpoint))
    if role == "anonymous" and endpoint in VISITOR_LINKS:
        return True
    if role == "lead" and endpoint in LEAD_OBJECT_PAGES:
        return True
    return expected is None or expected.get(role) == 200


def _targets(
    app: Flask, role: str, links: dict[str, dict[str, str]]
) -> tuple[list[Target], dict[str, str]]:
    """The role's pages, and for each page it cannot build, why."""
    email = ROLES[role]
    user = db.session.scalar(sa.select(User).where(User.email == email)) if email else None
    pid = _first(Membership.partnership_id, Membership.user_id == user.id) if user else None
    if pid is None:  # the administrator (and the visitor): the first partnership
        pid = _first(Membership.partnership_id)
    values = _values(pid, user)
    overrides = _overrides(pid)
    adapter = app.url_map.bind("localhost")
    targets: list[Target] = []
    unbuilt: dict[str, str] = {}
    for rule in _page_rules(app):
        if not _matrix_allows(rule.endpoint, role):
            continue
        if (
            role == "admin"
            and "partnership_id" in rule.arguments
            and _matrix_allows(rule.endpoint, "lead")
        ):
            continue  # a partnership's pages show an administrator what they show its lead
        given = {**values, **overrides.get(rule.endpoint, {}), **links.get(rule.endpoint, {})}
        missing = sorted(a for a in rule.arguments if given.get(a) is None)
        if missing:
            unbuilt[rule.endpoint] = f"no demo value for {', '.join(missing)}"
            continue
        choices: list[dict[str, Any]] = [{}]
        for argument in sorted(rule.arguments):
            value = given[argument]
            options = value if isinstance(value, list) else [value]
            choices = [{**c, argument: option} for c in choices for option in options]
        form = "POST" in rule.methods
        for choice in choices:
            targets.append(Target(rule.endpoint, adapter.build(rule.endpoint, choice), form))
    return targets, unbuilt


def _check(page: Page, label: str, findings: Findings) -> None:
    # A page answered to a click may be visible before its style sheets apply: axe measures
    # what is laid out (target sizes, contrast), so the check waits for the page's load event.
    page.wait_for_load_state("load")
    sheets, violations = page.evaluate(_RUN_AXE, [WCAG_TAGS, findings.sheets])
    if sheets not in findings.sheets:
        findings.sheets.append(sheets)
    findings.record(label, violations)


def _walk(
    browser: Browser,
    server: LiveServer,
    axe_source: str,
    role: str,
    targets: list[Target],
    findings: Findings,
) -> None:
    started, pages = time.monotonic(), findings.pages
    context = browser.new_context(base_url=server.url, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(10_000)
    context.add_init_script(script=axe_source)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        email = ROLES[role]
        if email:
            sign_in(page, email)
        seen: set[str] = set()
        for target in targets:
            if target.form and target.endpoint in findings.checked:
                continue
            response = page.goto(target.url)
            status = response.status if response else 0
            if status >= 500:
                findings.problems.append(f"{role} {target.url}: HTTP {status}")
                continue
            if status != 200:
                continue
            landed = urlsplit(page.url)
            where = landed.path + (f"?{landed.query}" if landed.query else "")
            if landed.path == urlsplit(target.url).path:
                findings.checked.setdefault(target.endpoint, set()).add(role)
            if where in seen:
                continue
            seen.add(where)
            _check(page, f"{role} {where}", findings)
        if role == "lead":
            _check_form_with_errors(page, targets, findings)
        if role == "anonymous":
            _check_failed_sign_in(page, findings)
    finally:
        findings.problems.extend(f"{role}: console: {error}" for error in errors)
        context.close()
        print(f"axe: {role}: {findings.pages - pages} pages in {time.monotonic() - started:.1f} s")


def _check_form_with_errors(page: Page, targets: list[Target], findings: Findings) -> None:
    """The new action form sent empty (the browser's own checks switched off): the page
    again with a message next to each field at fault."""
    url = next(t.url for t in targets if t.endpoint == "actions.new")
    page.goto(url)
    form = page.locator("#action-form")
    form.evaluate("(form) => { form.noValidate = true; }")
    with page.expect_navigation():
        form.get_by_role("button", name="Add action").click()
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    _check(page, f"lead {url} (sent empty)", findings)


def _check_failed_sign_in(page: Page, findings: Findings) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill("lead@example.com")
    page.get_by_label("Password").fill("not-the-password")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".invalid-feedback, .alert-danger").first).to_be_visible()
    _check(page, "anonymous /login (wrong password)", findings)


def test_every_page_has_no_serious_accessibility_violation(
    app: Flask, demo: None, browser: Browser, live_server: LiveServer, axe_source: str
) -> None:
    _more_objects()
    links = _links(app)
    findings = Findings()
    unbuilt: dict[str, set[str]] = {}
    for role in ROLES:
        targets, cannot = _targets(app, role, links)
        for endpoint, why in cannot.items():
            unbuilt.setdefault(endpoint, set()).add(why)
        db.session.remove()  # the walk's pages are served by the live server's own sessions
        _walk(browser, live_server, axe_source, role, targets, findings)

    print(
        f"\naxe: {findings.pages} pages checked ({len(findings.sheets)} sets of style sheets);"
        " minor and moderate violations:"
    )
    print("\n".join(findings.lesser) or "none")
    assert findings.problems == [], "pages that failed:\n" + "\n".join(findings.problems)
    assert findings.serious == [], (
        f"{len(findings.serious)} serious or critical accessibility violations "
        f"(axe-core, {', '.join(WCAG_TAGS)}):\n" + "\n".join(findings.serious)
    )
    never = sorted(
        f"{rule.endpoint} ({rule.rule}): "
        + (
            "; ".join(sorted(unbuilt[rule.endpoint]))
            if rule.endpoint in unbuilt
            else "no role reached it"
        )
        for rule in _page_rules(app)
        if rule.endpoint not in findings.checked and rule.endpoint not in REDIRECTS
    )
    assert never == [], (
        "pages the axe walk did not check (give them a demo value in tests/test_browser_axe.py, "
        "or a reason in NOT_WALKED):\n" + "\n".join(never)
    )
