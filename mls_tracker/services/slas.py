"""SLA use cases: defining SLAs and their targets, entering, uploading and exporting actuals.

Every figure (status, attainment, early warning) comes from ``services.sla_figures``; this
module only decides who may write what, validates input and saves it.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.orm.exc import StaleDataError

from mls_tracker import access
from mls_tracker.access import Action, can
from mls_tracker.audit import acting_as
from mls_tracker.extensions import db
from mls_tracker.models import (
    Direction,
    Expectation,
    MeasurementState,
    Partnership,
    Sla,
    SlaMeasurement,
    SlaTarget,
    Unit,
    User,
    utcnow,
)
from mls_tracker.periods import Month, month_range
from mls_tracker.services import webhooks
from mls_tracker.services.errors import Conflict, ValidationFailed
from mls_tracker.services.locking import check_version, guarded_save
from mls_tracker.services.service_credits import credit_percent_of
from mls_tracker.services.sla_figures import (
    Attainment,
    EarlyWarning,
    SlaSeries,
    Status,
    TargetPoint,
    attainment,
    early_warning,
    load_sla_series,
    status_of,
    threshold_on_right_side,
)

GRID_MONTHS = 12
DETAIL_MONTHS = 24
MAX_UPLOAD_ROWS = 5000
# Numeric(14, 4): ten digits before the decimal point.
_LARGEST_VALUE = Decimal("9999999999")
_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,19}$")


def this_month(today: dt.date | None = None) -> Month:
    """The current month (UTC): actuals may be entered for it and any month before."""
    return Month.current(today)


def may_manage(user: User, partnership_id: int) -> bool:
    return can(user, Action.MANAGE, partnership_id)


def reporting_month(partnership_id: int, today: dt.date | None = None) -> Month:
    """The month pages show by default: the current one once anything was entered for it,
    otherwise the last full month."""
    now = this_month(today)
    entered = db.session.scalar(
        sa.select(SlaMeasurement.id)
        .join(Sla, Sla.id == SlaMeasurement.sla_id)
        .where(Sla.partnership_id == partnership_id, SlaMeasurement.month == now)
        .limit(1)
    )
    return now if entered is not None else now.previous()


# ----------------------------------------------------------------------------- values


_SHORT_UNITS = {Unit.HOURS: "h", Unit.DAYS: "d"}


def format_value(
    value: Decimal | float | None, unit: Unit | str | None = None, *, short: bool = False
) -> str:
    """A measurement for people: no trailing zeros, with its unit ("92.5%", "4 hours";
    ``short``: "4 h", for the grid's narrow cells)."""
    if value is None:
        return ""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    text = f"{number.normalize():f}"
    if text.startswith("-0") and Decimal(text) == 0:
        text = "0"
    if unit is None:
        return text
    unit = Unit(unit)
    if unit is Unit.PERCENT:
        return f"{text}%"
    if unit in (Unit.COUNT, Unit.SCORE, Unit.CURRENCY):
        return text
    if short:
        return f"{text} {_SHORT_UNITS[unit]}"
    return f"{text} {unit.value}"


def parse_value(text: str | None, unit: Unit) -> Decimal:
    """A typed actual as a Decimal; ``ValueError`` with a message fit to show otherwise."""
    raw = (text or "").strip()
    cleaned = raw.replace(" ", "")
    if unit is Unit.PERCENT and cleaned.endswith("%"):
        cleaned = cleaned[:-1]
    if not cleaned:
        raise ValueError("Enter a value, or mark the month not applicable.")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"“{raw}” is not a number.") from None
    if not value.is_finite():
        raise ValueError(f"“{raw}” is not a number.")
    if abs(value) > _LARGEST_VALUE:
        raise ValueError("That number is too large.")
    if value != value.quantize(Decimal("0.0001")):
        raise ValueError("Use at most four decimal places.")
    if unit is Unit.PERCENT and not Decimal(0) <= value <= Decimal(100):
        raise ValueError("A percentage must be between 0 and 100.")
    return value


def parse_month(text: str | None) -> Month:
    try:
        return Month.parse(text or "")
    except ValueError:
        raise ValueError(f"“{text or ''}” is not a month in the form YYYY-MM.") from None


def _not_future(month: Month, today: dt.date | None) -> None:
    if month > this_month(today):
        raise ValueError(
            f"{month.label} is in the future: actuals can be entered up to "
            f"{this_month(today).label}."
        )


# ----------------------------------------------------------------------------- SLAs


@dataclass(frozen=True)
class SlaDefinition:
    """What a lead types to define or edit an SLA (not its target)."""

    code: str
    name: str
    definition: str | None
    unit: Unit
    direction: Direction
    weight: Decimal
    expectation_id: int | None
    # The contract's service credit, % of the monthly fee per confirmed breach; None: no rule.
    credit_percent: Decimal | None = None


MANAGE_MESSAGE = "Only a lead of this partnership can change its SLAs."
ACTUALS_MESSAGE = "Your role in this partnership does not allow entering actuals."


def expectation_choices(partnership_id: int) -> list[tuple[int, str]]:
    """The partnership's expectations an SLA may measure, as (id, "Category — statement")
    with long statements shortened, for a select field."""
    rows = db.session.execute(
        sa.select(Expectation.id, Expectation.category, Expectation.statement)
        .where(Expectation.partnership_id == partnership_id)
        .order_by(Expectation.category, Expectation.statement)
    )
    choices = []
    for expectation_id, category, statement in rows:
        text = statement if len(statement) <= 90 else statement[:88].rstrip() + "…"
        choices.append((expectation_id, f"{str(category).capitalize()} — {text}"))
    return choices


@dataclass(frozen=True)
class SavedSla:
    """An SLA's definition as stored, shown beside an edit form refused by a conflict."""

    version: int
    code: str
    name: str
    unit: Unit
    direction: Direction
    weight: Decimal
    active: bool

    @classmethod
    def of(cls, sla: Sla) -> SavedSla:
        return cls(sla.version, sla.code, sla.name, sla.unit, sla.direction, sla.weight, sla.active)


class SlaChanged(Conflict):
    """Someone else saved the SLA while it was being edited; ``saved`` is their version."""

    def __init__(self, message: str, saved: SavedSla) -> None:
        super().__init__(message)
        self.saved = saved


TARGET_STALE_MESSAGE = (
    "Someone else saved a target of this SLA while you were working on it; here is what is "
    "saved now — your target was not saved."
)


@dataclass(frozen=True)
class SavedTarget:
    """The target stored for the month a lead's refused target form was for, shown beside the
    form after a conflict. ``target`` is None when no target is in force that month; a target
    in force from an earlier month has ``effective_from`` before ``applies_from``."""

    version: int
    applies_from: Month
    effective_from: Month | None
    target: Decimal | None
    at_risk_threshold: Decimal | None
    set_by: str | None
    set_at: dt.datetime | None

    @classmethod
    def of(cls, sla: Sla, month: Month) -> SavedTarget:
        point = sla.target_for(month)
        if point is None:
            return cls(sla.version, month, None, None, None, None, None)
        setter = db.session.get(User, point.set_by_id) if point.set_by_id else None
        return cls(
            sla.version,
            month,
            point.effective_from,
            point.target,
            point.at_risk_threshold,
            (setter.display_name or setter.email) if setter else None,
            point.created_at,
        )


class TargetChanged(Conflict):
    """Someone else saved a target of the SLA (so a new version of it) while a lead was
    filling the target form; ``saved`` is what is stored now for the form's month."""

    def __init__(self, message: str, saved: SavedTarget) -> None:
        super().__init__(message)
        self.saved = saved


def definition_problems(
    partnership_id: int,
    *,
    code: str | None,
    name: str | None = "-",
    weight: Decimal | None = Decimal(1),
    expectation_id: int | None = None,
    sla_id: int | None = None,
    credit_percent: Decimal | None = None,
) -> dict[str, str]:
    """Every broken rule of an SLA's definition, by field (empty when all is right), so a
    form can show them all at once."""
    problems = {}
    code = (code or "").strip().upper()
    if not _CODE_RE.match(code):
        problems["code"] = "Use 1–20 letters, digits, dots, dashes or underscores, e.g. CMP-01."
    elif db.session.scalar(
        sa.select(Sla.id).where(
            Sla.partnership_id == partnership_id,
            sa.func.upper(Sla.code) == code,
            Sla.id != (sla_id or 0),
        )
    ):
        problems["code"] = f"Another SLA of this partnership has the code {code}."
    if not (name or "").strip():
        problems["name"] = "Give the SLA a name."
    if weight is None or weight < 0:
        problems["weight"] = "The weight cannot be negative."
    if credit_percent is not None and not Decimal(0) < credit_percent_of(credit_percent) <= 100:
        problems["credit_percent"] = (
            "Enter a service credit above 0 and at most 100 %, or leave it empty for none."
        )
    if expectation_id is not None:
        owner = db.session.scalar(
            sa.select(Expectation.partnership_id).where(Expectation.id == expectation_id)
        )
        if owner != partnership_id:
            problems["expectation"] = "Choose one of this partnership's expectations."
    return problems


def target_problems(
    unit: Unit, direction: Direction, target: Decimal | None, at_risk: Decimal | None
) -> dict[str, str]:
    """Every broken rule of a target and its at-risk threshold, by field."""
    problems = {}
    for name, number in (("target", target), ("at_risk_threshold", at_risk)):
        if number is None or not number.is_finite():
            problems[name] = "Enter a number."
        elif unit is Unit.PERCENT and not Decimal(0) <= number <= Decimal(100):
            problems[name] = "A percentage must be between 0 and 100."
        elif abs(number) > _LARGEST_VALUE:
            problems[name] = "That number is too large."
    if not problems and not threshold_on_right_side(direction, target, at_risk):  # type: ignore[arg-type]
        side = "at or below" if direction is Direction.HIGHER_IS_BETTER else "at or above"
        problems["at_risk_threshold"] = (
            f"When {direction.value}, the at-risk threshold must be {side} the target "
            f"({format_value(target, unit)})."
        )
    return problems


def _raise_first(problems: dict[str, str]) -> None:
    for field_name, message in problems.items():
        raise ValidationFailed(message, field=field_name)


def _clean_definition(partnership_id: int, values: SlaDefinition, sla_id: int | None) -> dict:
    _raise_first(
        definition_problems(
            partnership_id,
            code=values.code,
            name=values.name,
            weight=values.weight,
            expectation_id=values.expectation_id,
            sla_id=sla_id,
            credit_percent=values.credit_percent,
        )
    )
    return {
        "code": values.code.strip().upper(),
        "name": values.name.strip(),
        "definition": (values.definition or "").strip() or None,
        "unit": Unit(values.unit),
        "direction": Direction(values.direction),
        "weight": values.weight,
        "expectation_id": values.expectation_id,
        "credit_percent": (
            None if values.credit_percent is None else credit_percent_of(values.credit_percent)
        ),
    }


def _check_target(unit: Unit, direction: Direction, target: Decimal, at_risk: Decimal) -> None:
    _raise_first(target_problems(unit, direction, target, at_risk))


def create_sla(
    actor: User,
    partnership: Partnership,
    values: SlaDefinition,
    *,
    target: Decimal,
    at_risk_threshold: Decimal,
    applies_from: Month,
) -> Sla:
    """Define an SLA with its first target, in force from ``applies_from``."""
    access.require(actor, Action.MANAGE, partnership.id, message=MANAGE_MESSAGE)
    cleaned = _clean_definition(partnership.id, values, None)
    _check_target(cleaned["unit"], cleaned["direction"], target, at_risk_threshold)
    sla = Sla(partnership_id=partnership.id, **cleaned)
    sla.targets.append(
        SlaTarget(
            effective_from=applies_from,
            target=target,
            at_risk_threshold=at_risk_threshold,
            set_by_id=actor.id,
        )
    )
    with _guarded("code", "Another SLA of this partnership has this code."):
        db.session.add(sla)
    return sla


def update_sla(
    actor: User, sla: Sla, values: SlaDefinition, *, active: bool, version: int | None
) -> Sla:
    """Edit an SLA's definition (never its target: see ``set_target``)."""
    access.require(actor, Action.MANAGE, sla.partnership_id, message=MANAGE_MESSAGE)
    if version is not None and version != sla.version:
        raise SlaChanged(
            "Someone else changed this SLA while you were editing it. The form now shows "
            "their version; make your changes again.",
            SavedSla.of(sla),
        )
    cleaned = _clean_definition(sla.partnership_id, values, sla.id)
    if cleaned["unit"] != sla.unit or cleaned["direction"] != sla.direction:
        for point in sla.targets:
            _check_target(
                cleaned["unit"], cleaned["direction"], point.target, point.at_risk_threshold
            )
    try:
        with _guarded("code", "Another SLA of this partnership has this code."):
            for key, value in cleaned.items():
                setattr(sla, key, value)
            sla.active = active
    except Conflict as error:
        # Rolled back: reading the SLA now loads the version that was saved meanwhile.
        raise SlaChanged(str(error), SavedSla.of(sla)) from error
    return sla


@dataclass(frozen=True)
class Rejudgement:
    """A month whose status a new target changes: "Sep 2026: breached → met"."""

    month: Month
    before: Status
    after: Status
    confirmed: bool  # the month's actual was confirmed by a lead (not only proposed)

    @property
    def text(self) -> str:
        state = "" if self.confirmed else " (proposed actual)"
        return f"{self.month.label}: {self.before.value} → {self.after.value}{state}"

    def as_json(self) -> dict[str, str]:
        return {
            "month": str(self.month),
            "before": self.before.value,
            "after": self.after.value,
            "state": "confirmed" if self.confirmed else "proposed",
        }


def rejudgements(
    sla: Sla,
    *,
    target: Decimal,
    at_risk_threshold: Decimal,
    applies_from: Month,
    today: dt.date | None = None,
) -> list[Rejudgement]:
    """The months up to now whose status would change if this target applied from
    ``applies_from`` (a target set from a past month judges months already judged)."""
    now = this_month(today)
    if applies_from > now:
        return []
    series = next(
        s
        for s in load_sla_series(sla.partnership_id, applies_from, now, include_inactive=True)
        if s.sla_id == sla.id
    )
    new_point = TargetPoint(applies_from, target, at_risk_threshold)
    targets = tuple(t for t in series.targets if t.effective_from != applies_from)
    changed = dataclasses.replace(series, targets=(*targets, new_point))
    found = []
    for month in month_range(applies_from, now):
        before, after = status_of(series, month), status_of(changed, month)
        if before is not after:
            point = series.measurements.get(month)
            found.append(Rejudgement(month, before, after, bool(point and point.confirmed)))
    return found


class RejudgementNeeded(ValidationFailed):
    """The new target changes the status of months already judged: the lead must confirm
    ``changes`` (named month by month) before it is saved."""

    def __init__(self, changes: list[Rejudgement]) -> None:
        confirmed = sum(1 for change in changes if change.confirmed)
        super().__init__(
            f"This target re-judges {len(changes)} month{'s' if len(changes) != 1 else ''} "
            f"already judged ({confirmed} with a confirmed actual): "
            + "; ".join(change.text for change in changes)
            + ". Confirm that these statuses change, or choose a later month.",
            field="applies_from",
        )
        self.changes = changes


def set_target(
    actor: User,
    sla: Sla,
    *,
    target: Decimal,
    at_risk_threshold: Decimal,
    applies_from: Month,
    confirmed_changes: Sequence[str] = (),
    today: dt.date | None = None,
    expected_version: int | None = None,
) -> SlaTarget:
    """A new target from ``applies_from`` on; earlier months keep the target then in force.
    A target already starting that month is replaced. When it changes the status of months
    up to now, ``confirmed_changes`` must name exactly those changes (``Rejudgement.text``,
    as shown to the lead); they are stored on the target, and so in the audit log.

    Setting a target is a save of the SLA: its version moves, and a form filled from another
    version (``expected_version``, the SLA's version the form was filled from; the target form
    always sends one) is refused with ``TargetChanged``, as is a save that loses a race to
    another at the flush."""
    access.require(actor, Action.MANAGE, sla.partnership_id, message=MANAGE_MESSAGE)
    try:
        check_version(sla, expected_version, TARGET_STALE_MESSAGE, optional=True)
    except Conflict as error:
        raise TargetChanged(str(error), SavedTarget.of(sla, applies_from)) from error
    _check_target(sla.unit, sla.direction, target, at_risk_threshold)
    changes = rejudgements(
        sla,
        target=target,
        at_risk_threshold=at_risk_threshold,
        applies_from=applies_from,
        today=today,
    )
    if changes and list(confirmed_changes) != [change.text for change in changes]:
        raise RejudgementNeeded(changes)
    # The audit entry names the lead outside a request too.
    try:
        with acting_as(actor.id), guarded_save(TARGET_STALE_MESSAGE):
            point = next((t for t in sla.targets if t.effective_from == applies_from), None)
            if point is None:
                point = SlaTarget(effective_from=applies_from, target=target, at_risk_threshold=0)
                sla.targets.append(point)
            point.target = target
            point.at_risk_threshold = at_risk_threshold
            point.set_by_id = actor.id
            point.created_at = utcnow()
            point.rejudged = [change.as_json() for change in changes] or None
            # The target lives in another table: touch the SLA so that its version moves.
            sla.updated_at = utcnow()
    except Conflict as error:
        # Rolled back: reading the SLA now loads what was saved meanwhile.
        raise TargetChanged(str(error), SavedTarget.of(sla, applies_from)) from error
    return point


SAVED_MEANWHILE_MESSAGE = "Someone else saved this meanwhile; nothing was saved."


def _guarded(field_name: str, duplicate_message: str):
    """A guarded save of an SLA whose unique key (its code) a concurrent save may take."""
    return guarded_save(
        SAVED_MEANWHILE_MESSAGE, duplicate_message=duplicate_message, duplicate_field=field_name
    )


@dataclass(frozen=True)
class TargetPeriod:
    """One target of an SLA's history, with the months it applied."""

    effective_from: Month
    until: Month | None  # None: still in force
    target: Decimal
    at_risk_threshold: Decimal
    set_by: str | None
    set_at: dt.datetime | None
    in_force: bool
    rejudged: tuple[str, ...] = ()  # "Sep 2026: breached → met", as confirmed when set


def rejudged_texts(stored: list[dict[str, str]] | None) -> tuple[str, ...]:
    """A target's stored re-judgements as the lead confirmed them."""
    return tuple(
        Rejudgement(
            Month.parse(item["month"]),
            Status(item["before"]),
            Status(item["after"]),
            item.get("state") == "confirmed",
        ).text
        for item in stored or ()
    )


def target_history(sla: Sla, today: dt.date | None = None) -> list[TargetPeriod]:
    """Newest first."""
    points = sorted(sla.targets, key=lambda t: t.effective_from)
    user_ids = {t.set_by_id for t in points if t.set_by_id}
    names: dict[int, str] = {}
    if user_ids:
        rows = db.session.execute(
            sa.select(User.id, User.display_name).where(User.id.in_(user_ids))
        )
        names = {user_id: name for user_id, name in rows}
    now = this_month(today)
    current = sla.target_for(now)
    periods = []
    for index, point in enumerate(points):
        following = points[index + 1] if index + 1 < len(points) else None
        periods.append(
            TargetPeriod(
                effective_from=point.effective_from,
                until=following.effective_from.previous() if following else None,
                target=point.target,
                at_risk_threshold=point.at_risk_threshold,
                set_by=names.get(point.set_by_id),
                set_at=point.created_at,
                in_force=point is current,
                rejudged=rejudged_texts(point.rejudged),
            )
        )
    return list(reversed(periods))


# ----------------------------------------------------------------------------- the grid


@dataclass(frozen=True)
class GridCell:
    month: Month
    status: Status
    value: Decimal | None
    proposed: bool
    not_applicable: bool
    note: str | None
    target: TargetPoint | None


@dataclass(frozen=True)
class GridRow:
    series: SlaSeries
    cells: list[GridCell]
    target_now: TargetPoint | None
    warning: EarlyWarning | None


@dataclass(frozen=True)
class Grid:
    months: list[Month]
    rows: list[GridRow]
    attainments: list[Attainment]

    @property
    def newest(self) -> Attainment:
        return self.attainments[-1]

    @property
    def warnings(self) -> list[GridRow]:
        return [row for row in self.rows if row.warning]


def month_grid(partnership_id: int, last: Month, months: int = GRID_MONTHS) -> Grid:
    """Active SLAs × the ``months`` months ending with ``last``, in two queries."""
    span = month_range(last.shift(-(months - 1)), last)
    # Early warning looks back six months before the first shown month too.
    series_list = load_sla_series(partnership_id, span[0].shift(-6), last)
    rows = []
    for series in series_list:
        cells = []
        for month in span:
            point = series.measurements.get(month)
            cells.append(
                GridCell(
                    month=month,
                    status=status_of(series, month),
                    value=point.value if point else None,
                    proposed=bool(point and not point.confirmed),
                    not_applicable=bool(point and point.not_applicable),
                    note=point.note if point else None,
                    target=series.target_for(month),
                )
            )
        rows.append(
            GridRow(
                series=series,
                cells=cells,
                target_now=series.target_for(last),
                warning=early_warning(series, last),
            )
        )
    return Grid(span, rows, [attainment(series_list, month) for month in span])


def inactive_slas(partnership_id: int) -> list[tuple[int, str, str]]:
    rows = db.session.execute(
        sa.select(Sla.id, Sla.code, Sla.name)
        .where(Sla.partnership_id == partnership_id, Sla.active.is_(False))
        .order_by(Sla.code)
    )
    return [(sla_id, code, name) for sla_id, code, name in rows]


@dataclass(frozen=True)
class DetailMonth:
    month: Month
    status: Status
    measurement: SlaMeasurement | None
    target: TargetPoint | None


def sla_months(sla: Sla, last: Month, months: int = DETAIL_MONTHS) -> list[DetailMonth]:
    """The last ``months`` months of one SLA, newest first, with who entered and confirmed."""
    first = last.shift(-(months - 1))
    series = next(
        s
        for s in load_sla_series(sla.partnership_id, first, last, include_inactive=True)
        if s.sla_id == sla.id
    )
    stored = {
        m.month: m
        for m in db.session.scalars(
            sa.select(SlaMeasurement)
            .options(
                so.joinedload(SlaMeasurement.entered_by),
                so.joinedload(SlaMeasurement.confirmed_by),
            )
            .where(
                SlaMeasurement.sla_id == sla.id,
                SlaMeasurement.month >= first,
                SlaMeasurement.month <= last,
            )
        )
    }
    return [
        DetailMonth(month, status_of(series, month), stored.get(month), series.target_for(month))
        for month in reversed(month_range(first, last))
    ]


# ----------------------------------------------------------------------------- actuals


@dataclass(frozen=True)
class ActualInput:
    """One row of the month form, as typed. ``seen_version`` is the version of the stored
    measurement when the form was shown (0: there was none)."""

    sla_id: int
    value: str
    not_applicable: bool
    note: str
    seen_version: int
    confirm: bool = False


@dataclass
class ActualsOutcome:
    saved: int = 0
    confirmed: int = 0
    errors: dict[int, str] = field(default_factory=dict)
    # Rows refused because someone else saved them meanwhile: their current measurement.
    conflicts: dict[int, SlaMeasurement] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def month_measurements(partnership_id: int, month: Month) -> dict[int, SlaMeasurement]:
    """Every stored measurement of a month, by SLA id, with who entered and confirmed it."""
    return {
        m.sla_id: m
        for m in db.session.scalars(
            sa.select(SlaMeasurement)
            .join(Sla, Sla.id == SlaMeasurement.sla_id)
            .options(
                so.joinedload(SlaMeasurement.entered_by),
                so.joinedload(SlaMeasurement.confirmed_by),
            )
            .where(Sla.partnership_id == partnership_id, SlaMeasurement.month == month)
        )
    }


def proposed_actuals(partnership_id: int, first: Month, last: Month) -> list[tuple[Month, int]]:
    """Months from ``first`` to ``last`` with actuals of active SLAs still proposed (not
    confirmed by a lead), and how many, oldest first; one query."""
    rows = db.session.execute(
        sa.select(SlaMeasurement.month, sa.func.count())
        .join(Sla, Sla.id == SlaMeasurement.sla_id)
        .where(
            Sla.partnership_id == partnership_id,
            Sla.active.is_(True),
            SlaMeasurement.state == MeasurementState.PROPOSED,
            SlaMeasurement.month >= first,
            SlaMeasurement.month <= last,
        )
        .group_by(SlaMeasurement.month)
        .order_by(SlaMeasurement.month)
    )
    return [(month, count) for month, count in rows]


def month_slas(partnership_id: int) -> list[Sla]:
    return list(
        db.session.scalars(
            sa.select(Sla)
            .options(so.selectinload(Sla.targets))
            .where(Sla.partnership_id == partnership_id, Sla.active.is_(True))
            .order_by(Sla.code)
        )
    )


@dataclass(frozen=True)
class _Change:
    """A validated write: what a row will store."""

    value: Decimal | None
    not_applicable: bool
    note: str | None


def _validate_row(unit: Unit, value_text: str, not_applicable: bool, note: str) -> _Change | str:
    note_clean = (note or "").strip() or None
    if not_applicable:
        if value_text.strip():
            return "Either enter a value or mark the month not applicable, not both."
        if not note_clean:
            return "Say why the month is not applicable (in the note)."
        return _Change(None, True, note_clean)
    try:
        return _Change(parse_value(value_text, unit), False, note_clean)
    except ValueError as error:
        return str(error)


def _same(stored: SlaMeasurement, change: _Change) -> bool:
    return (
        stored.not_applicable == change.not_applicable
        and stored.value == change.value
        and (stored.note or None) == change.note
    )


def _write(
    actor: User,
    manager: bool,
    sla_id: int,
    month: Month,
    stored: SlaMeasurement | None,
    change: _Change,
) -> SlaMeasurement:
    now = utcnow()
    if stored is None:
        stored = SlaMeasurement(sla_id=sla_id, month=month)
        db.session.add(stored)
    stored.value = change.value
    stored.not_applicable = change.not_applicable
    stored.note = change.note
    stored.entered_by_id = actor.id
    stored.entered_at = now
    if manager:
        stored.state = MeasurementState.CONFIRMED
        stored.confirmed_by_id = actor.id
        stored.confirmed_at = now
    else:
        stored.state = MeasurementState.PROPOSED
        stored.confirmed_by_id = None
        stored.confirmed_at = None
    return stored


def _confirm(actor: User, stored: SlaMeasurement) -> None:
    stored.state = MeasurementState.CONFIRMED
    stored.confirmed_by_id = actor.id
    stored.confirmed_at = utcnow()


def announce_actual(partnership_id: int, sla: Sla, stored: SlaMeasurement) -> None:
    """``actual.proposed`` or ``actual.confirmed`` for a measurement just written (in the
    caller's transaction)."""
    confirmed = stored.state is MeasurementState.CONFIRMED
    webhooks.emit(
        "actual.confirmed" if confirmed else "actual.proposed",
        partnership_id,
        {
            "sla": {"id": sla.id, "code": sla.code, "name": sla.name, "unit": str(sla.unit)},
            "month": str(stored.month),
            "value": None if stored.value is None else str(stored.value),
            "not_applicable": bool(stored.not_applicable),
            "note": stored.note,
            "state": str(stored.state),
            "entered_by_id": stored.entered_by_id,
            "confirmed_by_id": stored.confirmed_by_id,
        },
    )


def save_month_actuals(
    actor: User,
    partnership: Partnership,
    month: Month,
    inputs: Sequence[ActualInput],
    today: dt.date | None = None,
) -> ActualsOutcome:
    """Save the month form: all rows or none. A provider's rows are proposed and may not
    touch a confirmed value; a lead's are confirmed, and a lead may confirm proposed ones
    unchanged. A row someone else saved since the form was shown is refused."""
    access.require(actor, Action.PROPOSE_ACTUALS, partnership.id, message=ACTUALS_MESSAGE)
    try:
        _not_future(month, today)
    except ValueError as error:
        raise ValidationFailed(str(error), field="month") from None
    manager = may_manage(actor, partnership.id)
    slas = {sla.id: sla for sla in month_slas(partnership.id)}
    stored_by_sla = month_measurements(partnership.id, month)
    outcome = ActualsOutcome()
    planned: list[tuple[int, SlaMeasurement | None, _Change | None]] = []
    for row in inputs:
        sla = slas.get(row.sla_id)
        if sla is None:  # not an active SLA of this partnership: never written
            continue
        stored = stored_by_sla.get(sla.id)
        blank = not row.value.strip() and not row.not_applicable
        if (stored.version if stored else 0) != row.seen_version:
            if blank:  # someone else filled a row this user left empty: nothing to refuse
                continue
            outcome.errors[sla.id] = _conflict_message(stored)
            if stored is not None:
                outcome.conflicts[sla.id] = stored
            continue
        if blank:
            if stored is not None:
                outcome.errors[sla.id] = (
                    "A saved value cannot be emptied: enter a value or mark the month "
                    "not applicable."
                )
            elif row.note.strip():
                outcome.errors[sla.id] = "Enter a value for this note, or mark the month n/a."
            continue
        change = _validate_row(sla.unit, row.value, row.not_applicable, row.note)
        if isinstance(change, str):
            outcome.errors[sla.id] = change
            continue
        if stored is not None and _same(stored, change):
            if manager and row.confirm and stored.state is MeasurementState.PROPOSED:
                planned.append((sla.id, stored, None))
            continue
        if stored is not None and stored.state is MeasurementState.CONFIRMED and not manager:
            outcome.errors[sla.id] = "Confirmed by a lead: only a lead can change it."
            continue
        planned.append((sla.id, stored, change))
    if outcome.errors:
        return outcome
    for sla_id, stored, change in planned:
        if change is None:
            _confirm(actor, stored)  # type: ignore[arg-type]
            outcome.confirmed += 1
        else:
            stored = _write(actor, manager, sla_id, month, stored, change)
            outcome.saved += 1
        announce_actual(partnership.id, slas[sla_id], stored)  # type: ignore[arg-type]
    if not planned:
        return outcome
    try:
        db.session.commit()
    except (sa.exc.IntegrityError, StaleDataError):
        # Someone saved the same SLA and month between our read and our write.
        db.session.rollback()
        fresh = month_measurements(partnership.id, month)
        for sla_id, _, _ in planned:
            current = fresh.get(sla_id)
            outcome.errors[sla_id] = _conflict_message(current)
            if current is not None:
                outcome.conflicts[sla_id] = current
        outcome.saved = outcome.confirmed = 0
    return outcome


def _conflict_message(current: SlaMeasurement | None) -> str:
    if current is None:
        return "This value was removed by someone else meanwhile; your input is kept below."
    who = current.entered_by.display_name if current.entered_by else "someone else"
    shown = "not applicable" if current.not_applicable else format_value(current.value)
    return (
        f"{who} saved {shown} ({current.state.value}) while you were editing. Your input is "
        "kept below: save again to replace their value, or clear your change."
    )


# ----------------------------------------------------------------------------- upload

_HEADERS = {
    "sla code": "code",
    "sla": "code",
    "code": "code",
    "month": "month",
    "value": "value",
    "actual": "value",
    "note": "note",
    "notes": "note",
}
_NOT_APPLICABLE = {"n/a", "na", "not applicable"}


@dataclass(frozen=True)
class RawRow:
    """One data row of an uploaded file, as text; ``line`` counts the header as row 1."""

    line: int
    code: str
    month: str
    value: str
    note: str


@dataclass(frozen=True)
class UploadRow:
    raw: RawRow
    outcome: str  # new | replaces | unchanged | confirms | error
    message: str  # "replaces 92 (proposed)", or the error
    sla_name: str | None = None
    seen_version: int = 0

    @property
    def numbered(self) -> str:
        """The message with its row number: "Row 7: “abc” is not a number."."""
        return f"Row {self.raw.line}: {self.message}"


@dataclass(frozen=True)
class UploadPreview:
    rows: list[UploadRow]

    @property
    def errors(self) -> list[UploadRow]:
        return [row for row in self.rows if row.outcome == "error"]

    @property
    def writes(self) -> list[UploadRow]:
        return [row for row in self.rows if row.outcome in ("new", "replaces", "confirms")]

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)


def parse_actuals_csv(data: bytes) -> list[RawRow]:
    """Rows of an actuals CSV (comma or semicolon, UTF-8 with or without BOM, header row
    required). File-level problems raise ``ValidationFailed`` on the ``file`` field."""
    if data.startswith(b"PK\x03\x04"):
        raise ValidationFailed(
            "This looks like an Excel workbook: save it as “CSV UTF-8” and upload that.", "file"
        )
    if b"\x00" in data[:8192]:
        raise ValidationFailed("This is not a CSV text file.", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(
            "The file is not UTF-8 text: save it as “CSV UTF-8” and upload it again.", "file"
        ) from None
    lines = text.splitlines()
    header_line = next((line for line in lines if line.strip()), "")
    if not header_line:
        raise ValidationFailed("The file is empty.", field="file")
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as error:
        raise ValidationFailed(f"Row 1: {error}", field="file") from None
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        key = _HEADERS.get(name.strip().lower())
        if key and key not in columns:
            columns[key] = index
    missing = [name for name in ("code", "month", "value") if name not in columns]
    if missing:
        raise ValidationFailed(
            "Row 1 must name the columns: sla code, month, value and (optionally) note. "
            f"Missing: {', '.join('sla code' if m == 'code' else m for m in missing)}.",
            field="file",
        )
    rows = []
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= MAX_UPLOAD_ROWS:
                raise ValidationFailed(
                    f"The file has more than {MAX_UPLOAD_ROWS:,} rows; split it into smaller "
                    "files.",
                    field="file",
                )

            def cell(key: str, record: list[str] = record) -> str:
                index = columns.get(key)
                return record[index].strip() if index is not None and index < len(record) else ""

            rows.append(
                RawRow(reader.line_num, cell("code"), cell("month"), cell("value"), cell("note"))
            )
    except csv.Error as error:
        raise ValidationFailed(f"Row {reader.line_num}: {error}", field="file") from None
    if not rows:
        raise ValidationFailed("The file has a header row but no data rows.", field="file")
    return rows


def preview_upload(
    actor: User,
    partnership: Partnership,
    raw_rows: Sequence[RawRow],
    today: dt.date | None = None,
) -> UploadPreview:
    """What saving these rows would do, row by row, against what is stored now."""
    access.require(actor, Action.PROPOSE_ACTUALS, partnership.id, message=ACTUALS_MESSAGE)
    manager = may_manage(actor, partnership.id)
    slas = {
        sla.code.upper(): sla
        for sla in db.session.scalars(sa.select(Sla).where(Sla.partnership_id == partnership.id))
    }
    months = set()
    for raw in raw_rows:
        with contextlib.suppress(ValueError):  # a bad month is reported on its row
            months.add(Month.parse(raw.month))
    stored: dict[tuple[int, Month], SlaMeasurement] = {}
    if months and slas:
        for m in db.session.scalars(
            sa.select(SlaMeasurement).where(
                SlaMeasurement.sla_id.in_([s.id for s in slas.values()]),
                SlaMeasurement.month.in_(sorted(months)),
            )
        ):
            stored[(m.sla_id, m.month)] = m
    first_seen: dict[tuple[str, str], int] = {}
    rows = []
    for raw in raw_rows:
        rows.append(_preview_row(raw, slas, stored, first_seen, manager, today))
    return UploadPreview(rows)


def _preview_row(
    raw: RawRow,
    slas: dict[str, Sla],
    stored: dict[tuple[int, Month], SlaMeasurement],
    first_seen: dict[tuple[str, str], int],
    manager: bool,
    today: dt.date | None,
) -> UploadRow:
    def error(message: str, sla: Sla | None = None) -> UploadRow:
        return UploadRow(raw, "error", _sentence(message), sla.name if sla else None)

    if not raw.code:
        return error("the SLA code is empty.")
    sla = slas.get(raw.code.upper())
    if sla is None:
        return error(f"no SLA with the code “{raw.code}” in this partnership.")
    try:
        month = parse_month(raw.month)
        _not_future(month, today)
    except ValueError as problem:
        return error(str(problem), sla)
    key = (sla.code.upper(), str(month))
    if key in first_seen:
        return error(
            f"a second value for {sla.code} in {month} (first on row {first_seen[key]}).", sla
        )
    first_seen[key] = raw.line
    not_applicable = raw.value.strip().lower() in _NOT_APPLICABLE
    change = _validate_row(sla.unit, "" if not_applicable else raw.value, not_applicable, raw.note)
    if isinstance(change, str):
        return error(change, sla)
    current = stored.get((sla.id, month))
    if current is None:
        return UploadRow(raw, "new", "new", sla.name, 0)
    previous = "not applicable" if current.not_applicable else format_value(current.value, sla.unit)
    described = f"{previous} ({current.state.value})"
    if _same(current, change):
        if manager and current.state is MeasurementState.PROPOSED:
            return UploadRow(raw, "confirms", f"confirms {described}", sla.name, current.version)
        return UploadRow(raw, "unchanged", "unchanged", sla.name, current.version)
    if current.state is MeasurementState.CONFIRMED and not manager:
        return error(
            f"{sla.code} {month} was confirmed by a lead ({previous}); only a lead can change it.",
            sla,
        )
    return UploadRow(raw, "replaces", f"replaces {described}", sla.name, current.version)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def save_upload(
    actor: User,
    partnership: Partnership,
    raw_rows: Sequence[RawRow],
    seen_versions: Sequence[int],
    today: dt.date | None = None,
) -> UploadPreview:
    """Save a previewed upload, all rows or none. Rows whose stored value changed since the
    preview make the whole upload fail (the returned preview says which)."""
    preview = preview_upload(actor, partnership, raw_rows, today)
    rows = []
    for row, seen in zip(preview.rows, seen_versions, strict=True):
        if row.outcome != "error" and row.seen_version != seen:
            row = UploadRow(
                row.raw,
                "error",
                "Changed by someone else since the preview "
                f"(now {row.message}); upload the file again to see the new state.",
                row.sla_name,
            )
        rows.append(row)
    checked = UploadPreview(rows)
    if checked.errors:
        return checked
    manager = may_manage(actor, partnership.id)
    slas = {
        sla.code.upper(): sla
        for sla in db.session.scalars(sa.select(Sla).where(Sla.partnership_id == partnership.id))
    }
    stored = {
        (m.sla_id, m.month): m
        for m in db.session.scalars(
            sa.select(SlaMeasurement).where(
                SlaMeasurement.sla_id.in_([s.id for s in slas.values()]),
                SlaMeasurement.month.in_(sorted({Month.parse(r.raw.month) for r in checked.rows})),
            )
        )
    }
    for row in checked.writes:
        sla = slas[row.raw.code.upper()]
        month = Month.parse(row.raw.month)
        current = stored.get((sla.id, month))
        if row.outcome == "confirms":
            _confirm(actor, current)  # type: ignore[arg-type]
            announce_actual(partnership.id, sla, current)  # type: ignore[arg-type]
            continue
        not_applicable = row.raw.value.strip().lower() in _NOT_APPLICABLE
        change = _validate_row(
            sla.unit, "" if not_applicable else row.raw.value, not_applicable, row.raw.note
        )
        assert isinstance(change, _Change)
        written = _write(actor, manager, sla.id, month, current, change)
        announce_actual(partnership.id, sla, written)
    try:
        db.session.commit()
    except (sa.exc.IntegrityError, StaleDataError):
        db.session.rollback()
        return UploadPreview(
            [
                UploadRow(
                    row.raw,
                    "error",
                    "Someone else saved actuals meanwhile; upload the file again.",
                    row.sla_name,
                )
                for row in checked.rows
            ]
        )
    return checked


# ----------------------------------------------------------------------------- export

EXPORT_HEADER = [
    "sla code",
    "sla name",
    "month",
    "value",
    "status",
    "state",
    "note",
    "target",
    "at-risk threshold",
]


def _number(value: Decimal | None) -> Decimal | None:
    """A Decimal that a CSV writer prints plainly ("100", never "1E+2"); numbers stay
    numbers, so the export's formula guard leaves a negative actual alone."""
    return None if value is None else Decimal(format_value(value))


def export_rows(partnership_id: int, last: Month, months: int = GRID_MONTHS) -> list[list]:
    """The grid as rows of plain values: one per SLA × month (``EXPORT_HEADER``)."""
    grid = month_grid(partnership_id, last, months)
    rows = []
    for row in grid.rows:
        for cell in row.cells:
            entered = cell.not_applicable or cell.value is not None
            rows.append(
                [
                    row.series.code,
                    row.series.name,
                    str(cell.month),
                    "n/a" if cell.not_applicable else _number(cell.value),
                    cell.status.value,
                    ("proposed" if cell.proposed else "confirmed") if entered else "",
                    cell.note,
                    _number(cell.target.target) if cell.target else None,
                    _number(cell.target.at_risk_threshold) if cell.target else None,
                ]
            )
    return rows
