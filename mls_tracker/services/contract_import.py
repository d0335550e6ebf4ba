"""Bringing an existing partnership in: stage an uploaded workbook, check every row (nothing
written), show what would be added and what is already there, then import every row or none
as a background job. Importing the same workbook again adds nothing: each kind of row is
recognised by its natural key (SLA code; target: SLA and effective month; sponsor: e-mail or
name, region, side, start; expectation title; action: title, owner, due date; actual: SLA and
month)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from mls_tracker import access, audit, jobs
from mls_tracker.access import Action
from mls_tracker.extensions import db
from mls_tracker.models import (
    ActionItem,
    ActionStatus,
    Direction,
    Expectation,
    ExpectationCategory,
    Job,
    MeasurementState,
    Membership,
    Partnership,
    Region,
    Role,
    Side,
    Sla,
    SlaMeasurement,
    SlaTarget,
    Sponsor,
    Unit,
    User,
    normalise_email,
    utcnow,
)
from mls_tracker.models.people import region_code_from
from mls_tracker.periods import Month, utc_today
from mls_tracker.services import slas as sla_rules
from mls_tracker.services import staged_files
from mls_tracker.services.contract_workbook import Problem, Workbook, read_workbook
from mls_tracker.services.errors import NotFound, ValidationFailed
from mls_tracker.services.survey_import import display_name, upload_limit, upload_limit_text

JOB = "contract_import"
STAGED_TTL = dt.timedelta(hours=24)
STAGED_KIND = "contract"
PROBLEMS_SHOWN = 500
BATCH = 2_000
ROLE_REFUSED = "Only a lead of this partnership can import a workbook into it."
NEW_REGION = "new"
INVITE_ROLES = (Role.PROVIDER, Role.LEAD, Role.VIEWER)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NOT_APPLICABLE = {"n/a", "na", "n.a.", "not applicable"}
OPEN_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS, ActionStatus.BLOCKED)


# ----------------------------------------------------------------------------- staging


@dataclass(frozen=True)
class StagedWorkbook:
    """A workbook kept in the database (``services.staged_files``) until it is imported or
    expires, so that its import runs on any worker."""

    token: str
    partnership_id: int
    uploader_id: int | None
    file_name: str
    created_at: dt.datetime

    @property
    def path(self) -> Path:
        """A local copy of the workbook; NotFound when it is gone."""
        path = staged_files.local_copy(self.token)
        if path is None:
            raise NotFound()
        return path


def stage_upload(
    actor: User, partnership_id: int, stream: IO[bytes], file_name: str | None
) -> StagedWorkbook:
    """Keep an uploaded workbook for its preview. A file that cannot be read at all is
    refused (FileRejected) and nothing is kept."""
    access.require(actor, Action.MANAGE, partnership_id, message=ROLE_REFUSED)
    staged_files.sweep()
    name = display_name(file_name)
    row = staged_files.receive(
        stream,
        kind=STAGED_KIND,
        partnership_id=partnership_id,
        user_id=actor.id,
        file_name=name,
        limit=upload_limit(),
        too_large=f"The file is larger than {upload_limit_text()}, the most this "
        "installation accepts.",
        ttl=STAGED_TTL,
        check=lambda path: read_workbook(path, name),  # refuses what cannot be read at all
    )
    return StagedWorkbook(row.token, partnership_id, actor.id, name, row.created_at)


def staged_workbook(partnership_id: int, token: str) -> StagedWorkbook:
    """The staged workbook ``token`` of this partnership; NotFound (404) otherwise."""
    row = staged_files.find(STAGED_KIND, partnership_id, token)
    if row is None:
        raise NotFound()
    return StagedWorkbook(row.token, row.partnership_id, row.user_id, row.file_name, row.created_at)


def discard(staged: StagedWorkbook) -> None:
    staged_files.discard(staged.token)


# ----------------------------------------------------------------------------- decisions


@dataclass
class Decisions:
    """What the person chose in the preview: unknown region text (lower-cased) → a region id
    or NEW_REGION; unknown owner e-mail → the role to invite them as (absent: unassigned)."""

    regions: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"regions": dict(self.regions), "people": dict(self.people)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Decisions:
        data = data or {}
        return cls(
            regions={str(k): str(v) for k, v in (data.get("regions") or {}).items()},
            people={str(k): str(v) for k, v in (data.get("people") or {}).items()},
        )


# ----------------------------------------------------------------------------- checking


@dataclass
class SlaRow:
    row: int
    code: str
    name: str
    unit: Unit
    direction: Direction
    weight: Decimal
    category: str | None
    targets: list[tuple[int, Month, Decimal, Decimal]] = field(default_factory=list)


@dataclass
class Plan:
    """Everything found in a workbook: its problems, what would be added and what is
    already there (by sheet), and the rows ready to write."""

    problems: list[Problem] = field(default_factory=list)
    new: dict[str, int] = field(default_factory=dict)
    existing: dict[str, int] = field(default_factory=dict)
    unknown_regions: dict[str, list[int]] = field(default_factory=dict)  # text → sponsor rows
    unknown_people: dict[str, list[int]] = field(default_factory=dict)  # e-mail → action rows
    slas: dict[str, SlaRow] = field(default_factory=dict)
    targets: list[tuple[str, Month, Decimal, Decimal]] = field(default_factory=list)
    sponsors: list[dict[str, Any]] = field(default_factory=list)
    expectations: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    actuals: list[tuple[str, Month, Decimal | None]] = field(default_factory=list)
    csv_sheet: str | None = None

    @property
    def total_new(self) -> int:
        return sum(self.new.values())

    def problem(self, sheet: str, row: int, message: str) -> None:
        self.problems.append(Problem(sheet, row, message))


def _date(text: str) -> dt.date:
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}(T00:00:00)?", value):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise ValueError(f"“{text}” is not a date in the form YYYY-MM-DD.")


def _month(text: str) -> Month:
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-01(T00:00:00)?", value):  # a date cell: its month
        value = value[:7]
    return sla_rules.parse_month(value)


def _number(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"The {what} “{text}” is not a number.") from None
    if not value.is_finite():
        raise ValueError(f"The {what} “{text}” is not a number.")
    return value


def _choice(text: str, enum_type: type, what: str) -> Any:
    value = " ".join(text.strip().lower().split())
    for member in enum_type:
        if member.value == value:
            return member
    allowed = ", ".join(m.value for m in enum_type)
    raise ValueError(f"The {what} “{text}” is not one of: {allowed}.")


def _required(cells: dict[str, str], key: str, what: str, limit: int) -> str:
    text = cells[key].strip()
    if not text:
        raise ValueError(f"The {what} is empty.")
    if len(text) > limit:
        raise ValueError(f"The {what} is longer than {limit} characters.")
    return text


def _email(text: str) -> str:
    if not _EMAIL_RE.match(text.strip()):
        raise ValueError(f"“{text}” is not an e-mail address.")
    return normalise_email(text.strip())


def check(
    partnership_id: int, book: Workbook, decisions: Decisions, today: dt.date | None = None
) -> Plan:
    """Every row of ``book`` checked against the rules and the partnership's data; nothing
    is written."""
    today = today or utc_today()
    plan = Plan(problems=list(book.problems), csv_sheet=book.csv_sheet)
    existing_slas = {
        sla.code.lower(): sla
        for sla in db.session.scalars(sa.select(Sla).where(Sla.partnership_id == partnership_id))
    }
    _check_slas(plan, book.sheets.get("SLAs", []), existing_slas)
    _check_sponsors(plan, partnership_id, book.sheets.get("Sponsors", []), decisions)
    _check_expectations(plan, partnership_id, book.sheets.get("Expectations", []), today)
    _check_actions(plan, partnership_id, book.sheets.get("Actions", []), decisions)
    _check_actuals(plan, book.sheets.get("Actuals", []), existing_slas, today)
    plan.problems.sort(key=lambda p: (_sheet_order(p.sheet), p.row or 0))
    return plan


def _sheet_order(name: str | None) -> int:
    order = ["SLAs", "Sponsors", "Expectations", "Actions", "Actuals"]
    return order.index(name) + 1 if name in order else 0


def _check_slas(plan: Plan, rows: list, existing: dict[str, Sla]) -> None:
    seen: dict[tuple[str, Month], int] = {}
    existing_targets = {
        (sla.code.lower(), t.effective_from) for sla in existing.values() for t in sla.targets
    }
    new_slas = new_targets = old_slas = old_targets = 0
    for number, cells in rows:
        try:
            code = cells["code"].strip()
            if not code:
                raise ValueError("The code is empty.")
            if len(code) > 20:
                raise ValueError(f"The code “{code}” is longer than 20 characters.")
            name = _required(cells, "name", "name", 200)
            unit = _choice(cells["unit"], Unit, "unit")
            direction = _choice(cells["direction"], Direction, "direction")
            target = _number(cells["target"], "target")
            at_risk = _number(cells["at_risk"], "at-risk threshold")
            weight = _number(cells.get("weight") or "1", "weight")
            if weight < 0:
                raise ValueError("The weight must not be negative.")
            month = _month(cells["effective_from"])
            rule = sla_rules.target_problems(unit, direction, target, at_risk)
            if rule:
                raise ValueError(" ".join(rule.values()))
        except ValueError as error:
            plan.problem("SLAs", number, str(error))
            continue
        key = code.lower()
        if (key, month) in seen:
            plan.problem(
                "SLAs",
                number,
                f"SLA code “{code}” with effective month {month} is already on row "
                f"{seen[(key, month)]}: each code appears once (a later row with the same "
                "code needs a later effective month, for a new target).",
            )
            continue
        seen[(key, month)] = number
        sla = plan.slas.get(key)
        if sla is not None and sla.name != name:
            plan.problem(
                "SLAs",
                number,
                f"SLA code “{code}” is already used on row {sla.row} for “{sla.name}”: "
                "each SLA needs its own code.",
            )
            continue
        if sla is None:
            sla = SlaRow(number, code, name, unit, direction, weight, cells.get("category") or None)
            plan.slas[key] = sla
            if key in existing:
                old_slas += 1
            else:
                new_slas += 1
        if (key, month) in existing_targets:
            old_targets += 1
        else:
            plan.targets.append((key, month, target, at_risk))
            new_targets += 1
    plan.new["SLAs"], plan.existing["SLAs"] = new_slas, old_slas
    plan.new["Targets"], plan.existing["Targets"] = new_targets, old_targets


def _regions() -> dict[str, Region]:
    found: dict[str, Region] = {}
    for region in db.session.scalars(sa.select(Region).where(Region.retired_at.is_(None))):
        found[region.code.lower()] = region
        found[region.name.lower()] = region
    return found


def _check_sponsors(plan: Plan, partnership_id: int, rows: list, decisions: Decisions) -> None:
    regions = _regions()
    existing = {
        ((s.email or s.name).lower(), s.region_id, s.side, s.start_date)
        for s in db.session.scalars(
            sa.select(Sponsor).where(Sponsor.partnership_id == partnership_id)
        )
    }
    seen: dict[tuple, int] = {}
    new = old = 0
    for number, cells in rows:
        try:
            name = _required(cells, "name", "name", 120)
            email = _email(cells["email"]) if cells.get("email") else None
            side = _choice(cells["side"], Side, "side")
            start = _date(cells["start"])
            end = _date(cells["end"]) if cells.get("end") else None
            if end is not None and end < start:
                raise ValueError(
                    f"The end ({end.isoformat()}) is before the start ({start.isoformat()})."
                )
            region_text = cells["region"].strip()
            if not region_text:
                raise ValueError("The region is empty.")
        except ValueError as error:
            plan.problem("Sponsors", number, str(error))
            continue
        region = regions.get(region_text.lower())
        region_key: int | str | None = region.id if region else None
        if region is None:
            chosen = decisions.regions.get(region_text.lower())
            plan.unknown_regions.setdefault(region_text, []).append(number)
            if chosen == NEW_REGION:
                region_key = f"new:{region_text}"
            elif chosen and chosen.isdigit() and any(r.id == int(chosen) for r in regions.values()):
                region_key = int(chosen)
            else:
                plan.problem(
                    "Sponsors",
                    number,
                    f"The region “{region_text}” is not known: choose the region it stands "
                    "for below, or use a region code such as "
                    + ", ".join(sorted({r.code for r in regions.values()})[:6])
                    + ".",
                )
                continue
        key = ((email or name).lower(), region_key, side, start)
        if key in seen:
            plan.problem("Sponsors", number, f"The same sponsorship is already on row {seen[key]}.")
            continue
        seen[key] = number
        if key in existing:
            old += 1
            continue
        new += 1
        plan.sponsors.append(
            {
                "name": name,
                "email": email,
                "region": region_key,
                "side": side,
                "start": start,
                "end": end,
            }
        )
    plan.new["Sponsors"], plan.existing["Sponsors"] = new, old


def _check_expectations(plan: Plan, partnership_id: int, rows: list, today: dt.date) -> None:
    existing = {
        (title or "").lower()
        for title in db.session.scalars(
            sa.select(Expectation.title).where(Expectation.partnership_id == partnership_id)
        )
    }
    seen: dict[str, int] = {}
    new = old = 0
    for number, cells in rows:
        try:
            title = _required(cells, "title", "title", 200)
            category = _choice(cells["category"], ExpectationCategory, "category")
            wording = cells["wording"].strip()
            if not wording:
                raise ValueError("The wording is empty.")
            revisit_by = _date(cells["revisit_by"])
        except ValueError as error:
            plan.problem("Expectations", number, str(error))
            continue
        if title.lower() in seen:
            plan.problem(
                "Expectations", number, f"“{title}” is already on row {seen[title.lower()]}."
            )
            continue
        seen[title.lower()] = number
        if title.lower() in existing:
            old += 1
            continue
        new += 1
        plan.expectations.append(
            {
                "title": title,
                "category": category,
                "statement": wording,
                "revisit_by": revisit_by,
                "agreed_on": min(today, revisit_by),
            }
        )
    plan.new["Expectations"], plan.existing["Expectations"] = new, old


def _check_actions(plan: Plan, partnership_id: int, rows: list, decisions: Decisions) -> None:
    members = {
        email.lower(): user_id
        for email, user_id in db.session.execute(
            sa.select(User.email, User.id)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.partnership_id == partnership_id, User.active.is_(True))
        )
    }
    existing: dict[tuple[str, dt.date], set[int | None]] = {}
    for title, due, owner_id in db.session.execute(
        sa.select(ActionItem.title, ActionItem.due_on, ActionItem.owner_id).where(
            ActionItem.partnership_id == partnership_id
        )
    ):
        existing.setdefault((title.lower(), due), set()).add(owner_id)
    seen: dict[tuple, int] = {}
    new = old = 0
    for number, cells in rows:
        try:
            title = _required(cells, "title", "title", 300)
            side = _choice(cells["owner_side"], Side, "owner side")
            email = _email(cells["owner_email"]) if cells.get("owner_email") else None
            due = _date(cells["due"])
            status = _choice(cells.get("status") or "open", ActionStatus, "status")
            if status not in OPEN_STATUSES:
                raise ValueError(
                    "Only open action items are imported: the status must be open, "
                    "in progress or blocked."
                )
        except ValueError as error:
            plan.problem("Actions", number, str(error))
            continue
        key = (title.lower(), email, due)
        if key in seen:
            plan.problem("Actions", number, f"The same action item is already on row {seen[key]}.")
            continue
        seen[key] = number
        owner_id = members.get(email) if email else None
        if email and owner_id is None:
            plan.unknown_people.setdefault(email, []).append(number)
        owners = existing.get((title.lower(), due))
        if owners is not None and (owner_id in owners or None in owners):
            old += 1
            continue
        new += 1
        plan.actions.append(
            {
                "title": title,
                "owner_side": side,
                "owner_id": owner_id,
                "due": due,
                "status": status,
                "notes": cells.get("notes") or None,
            }
        )
    for email in plan.unknown_people:
        role = decisions.people.get(email)
        if role and role not in {r.value for r in INVITE_ROLES}:
            decisions.people.pop(email)
    plan.new["Actions"], plan.existing["Actions"] = new, old


def _check_actuals(plan: Plan, rows: list, existing_slas: dict[str, Sla], today: dt.date) -> None:
    recorded: set[tuple[int, Month]] = set()
    if existing_slas:
        by_id = {sla.id: code for code, sla in existing_slas.items()}
        for sla_id, month in db.session.execute(
            sa.select(SlaMeasurement.sla_id, SlaMeasurement.month).where(
                SlaMeasurement.sla_id.in_(list(by_id))
            )
        ):
            recorded.add((sla_id, month))
    current = Month.of(today)
    seen: dict[tuple[str, Month], int] = {}
    new = old = 0
    problem = plan.problem
    for number, cells in rows:
        code = cells["sla_code"].strip()
        key = code.lower()
        sla = plan.slas.get(key)
        stored = existing_slas.get(key)
        if sla is None and stored is None:
            problem(
                "Actuals",
                number,
                f"The SLA code “{code}” is neither on the SLAs sheet nor in the partnership."
                if code
                else "The SLA code is empty.",
            )
            continue
        unit = sla.unit if sla is not None else stored.unit
        try:
            month = _month(cells["month"])
            if month > current:
                raise ValueError(f"{month.label} is in the future.")
            text = cells["value"].strip()
            value = None if text.lower() in _NOT_APPLICABLE else sla_rules.parse_value(text, unit)
        except ValueError as error:
            problem("Actuals", number, str(error))
            continue
        if (key, month) in seen:
            problem(
                "Actuals",
                number,
                f"{code} for {month} is already on row {seen[(key, month)]}.",
            )
            continue
        seen[(key, month)] = number
        if stored is not None and (stored.id, month) in recorded:
            old += 1
            continue
        new += 1
        plan.actuals.append((key, month, value))
    plan.new["Actuals"], plan.existing["Actuals"] = new, old


# ----------------------------------------------------------------------------- preview


@dataclass(frozen=True)
class Preview:
    staged: StagedWorkbook
    plan: Plan
    regions: list[Region]  # to map unknown region texts to
    may_create_regions: bool


def preview(
    actor: User, partnership_id: int, token: str, decisions: Decisions | None = None
) -> Preview:
    access.require(actor, Action.MANAGE, partnership_id, message=ROLE_REFUSED)
    staged = staged_workbook(partnership_id, token)
    book = read_workbook(staged.path, staged.file_name)
    plan = check(partnership_id, book, decisions or Decisions())
    regions = list(
        db.session.scalars(
            sa.select(Region).where(Region.retired_at.is_(None)).order_by(Region.position)
        )
    )
    return Preview(staged, plan, regions, bool(actor.is_admin))


# ----------------------------------------------------------------------------- importing


Progress = Callable[[int, int | None, str | None], None]


@dataclass
class Outcome:
    added: dict[str, int]
    existing: dict[str, int]
    invited: list[str]
    not_invited: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "existing": self.existing,
            "invited": self.invited,
            "not_invited": self.not_invited,
        }


class ImportRefused(ValidationFailed):
    def __init__(self, plan: Plan) -> None:
        count = len(plan.problems)
        super().__init__(
            f"Nothing was imported: the workbook has {count:,} "
            f"problem{'s' * (count != 1)}. Fix them and upload it again."
        )
        self.plan = plan


def import_workbook(
    actor: User,
    partnership_id: int,
    book: Workbook,
    decisions: Decisions,
    progress: Progress | None = None,
    today: dt.date | None = None,
) -> Outcome:
    """Write every new row of ``book``, or none (ImportRefused: its problems), in one
    transaction; then send the invitations chosen for unknown action owners."""
    access.require(actor, Action.MANAGE, partnership_id, message=ROLE_REFUSED)
    if decisions.regions and NEW_REGION in decisions.regions.values() and not actor.is_admin:
        raise ValidationFailed("Only an administrator can create a region.")
    plan = check(partnership_id, book, decisions, today)
    if plan.problems:
        raise ImportRefused(plan)
    total = plan.total_new
    done = 0

    def step(count: int, message: str) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total, message)

    now = utcnow()
    try:
        with audit.acting_as(actor.id), db.session.no_autoflush:
            slas = {
                sla.code.lower(): sla
                for sla in db.session.scalars(
                    sa.select(Sla).where(Sla.partnership_id == partnership_id)
                )
            }
            for key, row in plan.slas.items():
                if key not in slas:
                    sla = Sla(
                        partnership_id=partnership_id,
                        code=row.code,
                        name=row.name,
                        unit=row.unit,
                        direction=row.direction,
                        weight=row.weight,
                        category=row.category,
                    )
                    db.session.add(sla)
                    slas[key] = sla
            db.session.flush()
            for key, month, target, at_risk in plan.targets:
                db.session.add(
                    SlaTarget(
                        sla_id=slas[key].id,
                        effective_from=month,
                        target=target,
                        at_risk_threshold=at_risk,
                        set_by_id=actor.id,
                    )
                )
            step(plan.new["SLAs"] + plan.new["Targets"], "SLAs and targets")
            new_regions: dict[str, Region] = {}
            for sponsor in plan.sponsors:
                region = sponsor["region"]
                if isinstance(region, str):  # "new:<text>"
                    text = region[4:]
                    if text not in new_regions:
                        new_regions[text] = _new_region(text)
                    region_id = None
                    region_obj = new_regions[text]
                else:
                    region_id, region_obj = region, None
                item = Sponsor(
                    partnership_id=partnership_id,
                    region_id=region_id,
                    side=sponsor["side"],
                    name=sponsor["name"],
                    email=sponsor["email"],
                    start_date=sponsor["start"],
                    end_date=sponsor["end"],
                )
                if region_obj is not None:
                    item.region = region_obj
                db.session.add(item)
            for expectation in plan.expectations:
                db.session.add(
                    Expectation(
                        partnership_id=partnership_id,
                        title=expectation["title"],
                        category=expectation["category"],
                        statement=expectation["statement"],
                        owner_side=Side.CLIENT,
                        agreed_on=expectation["agreed_on"],
                        revisit_by=expectation["revisit_by"],
                    )
                )
            for action in plan.actions:
                db.session.add(
                    ActionItem(
                        partnership_id=partnership_id,
                        title=action["title"],
                        description=action["notes"],
                        owner_side=action["owner_side"],
                        owner_id=action["owner_id"],
                        due_on=action["due"],
                        status=action["status"],
                        created_by_id=actor.id,
                    )
                )
            db.session.flush()
            step(
                plan.new["Sponsors"] + plan.new["Expectations"] + plan.new["Actions"],
                "Sponsors, expectations and actions",
            )
            for start in range(0, len(plan.actuals), BATCH):
                batch = plan.actuals[start : start + BATCH]
                db.session.add_all(
                    [
                        SlaMeasurement(
                            sla_id=slas[key].id,
                            month=month,
                            value=value,
                            not_applicable=value is None,
                            state=MeasurementState.CONFIRMED,
                            entered_by_id=actor.id,
                            entered_at=now,
                            confirmed_by_id=actor.id,
                            confirmed_at=now,
                        )
                        for key, month, value in batch
                    ]
                )
                db.session.flush()
                step(len(batch), "Monthly actuals")
            db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    invited, not_invited = _invite(actor, partnership_id, plan, decisions)
    return Outcome(dict(plan.new), dict(plan.existing), invited, not_invited)


def _new_region(text: str) -> Region:
    code = text.upper() if re.fullmatch(r"[A-Za-z0-9-]{1,12}", text) else region_code_from(text)
    position = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Region.position), 0)))
    region = Region(code=code, name=text, position=(position or 0) + 1)
    db.session.add(region)
    return region


def _invite(
    actor: User, partnership_id: int, plan: Plan, decisions: Decisions
) -> tuple[list[str], list[str]]:
    from mls_tracker.services.invitations import invite_person

    partnership = db.session.get(Partnership, partnership_id)
    invited, not_invited = [], []
    for email in plan.unknown_people:
        role = decisions.people.get(email)
        if not role:
            continue
        try:
            invite_person(actor, partnership, email, Role(role), None)
        except ValidationFailed as error:
            db.session.rollback()
            not_invited.append(f"{email}: {error}")
        else:
            invited.append(email)
    return invited, not_invited


# ----------------------------------------------------------------------------- the job


def submit(actor: User, partnership_id: int, token: str, decisions: Decisions) -> int:
    """Queue importing a staged workbook that has no problems with these decisions; the
    job's id. ImportRefused when it still has problems."""
    shown = preview(actor, partnership_id, token, decisions)
    if shown.plan.problems:
        raise ImportRefused(shown.plan)
    return jobs.submit(
        JOB,
        partnership_id=partnership_id,
        user_id=actor.id,
        params={"token": token, "decisions": decisions.as_json()},
    )


def job_view(partnership_id: int, job_id: int) -> jobs.JobView:
    view = jobs.get(job_id)
    if view is None or view.partnership_id != partnership_id or view.kind != JOB:
        raise NotFound()
    return view


def retry(actor: User, partnership_id: int, job_id: int) -> jobs.JobView:
    """Queues again a failed import of this partnership (its worker stopped, say) while its
    workbook is still staged. NotFound for another partnership's job, JobFailed when it has
    not failed, ValidationFailed when the workbook has expired."""
    access.require(actor, Action.MANAGE, partnership_id, message=ROLE_REFUSED)
    view = job_view(partnership_id, job_id)
    job = db.session.get(Job, job_id)
    token = (job.params or {}).get("token") if job is not None else None
    if staged_files.find(STAGED_KIND, partnership_id, str(token or "")) is None:
        raise ValidationFailed("This workbook has expired. Upload it again.")
    jobs.retry(job_id)
    return view


def retryable(partnership_id: int, view: jobs.JobView) -> bool:
    """Whether a failed import's workbook is still staged, so that it can be retried."""
    if view.state != "failed":
        return False
    job = db.session.get(Job, view.id)
    token = (job.params or {}).get("token") if job is not None else None
    return staged_files.find(STAGED_KIND, partnership_id, str(token or "")) is not None


@jobs.handler(JOB)
def run_import(ctx: jobs.JobContext) -> dict[str, Any]:
    actor = ctx.acting_user()
    if ctx.partnership_id is None:
        raise jobs.JobFailed("An import needs its partnership.")
    try:
        staged = staged_workbook(ctx.partnership_id, ctx.params["token"])
    except NotFound as exc:
        raise jobs.JobFailed("This upload has expired. Upload the workbook again.") from exc
    book = read_workbook(staged.path, staged.file_name)
    try:
        outcome = import_workbook(
            actor,
            ctx.partnership_id,
            book,
            Decisions.from_json(ctx.params.get("decisions")),
            progress=ctx.progress,
        )
    except ImportRefused as refused:
        raise jobs.JobFailed(
            str(refused),
            details={
                "problems": [[p.where, p.message] for p in refused.plan.problems[:50]],
            },
        ) from refused
    discard(staged)
    return {"file_name": staged.file_name, **outcome.as_json()}
