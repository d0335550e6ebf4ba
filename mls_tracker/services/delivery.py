"""Delivery volumes and spend: recording months (provider proposes, lead confirms), the CSV
upload, and the figures of PRODUCT.md §3 (cost per learner and per hour, spend to date)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker import access
from mls_tracker.access import Action, can
from mls_tracker.extensions import db
from mls_tracker.models import DeliveryMonth, MeasurementState, Partnership, User, utcnow
from mls_tracker.periods import Month, month_range
from mls_tracker.services.errors import Conflict, NotFound, ValidationFailed
from mls_tracker.services.locking import check_version, guarded_save
from mls_tracker.services.slas import parse_month, this_month

ENTER_MESSAGE = "Only the partnership's leads and its provider can enter delivery figures."
CONFIRM_MESSAGE = "Only a lead of the partnership can confirm delivery figures."
STALE_MESSAGE = (
    "Someone else saved this month while you were editing. Your input is kept below: "
    "check their figures (reload in another tab) and save again to replace them."
)
TREND_MONTHS = 12
MAX_UPLOAD_ROWS = 600
CENT = Decimal("0.01")
_LARGEST_COUNT = 10_000_000
_LARGEST_AMOUNT = Decimal("999999999999.99")

VOLUME_FIELDS = ("learners_trained", "completions", "training_hours", "sessions_delivered")
FIELD_LABELS = {
    "learners_trained": "learners trained",
    "completions": "completions",
    "training_hours": "training hours",
    "sessions_delivered": "sessions delivered",
    "invoiced_amount": "invoiced amount",
}


def may_confirm(user: User, partnership_id: int) -> bool:
    return can(user, Action.MANAGE, partnership_id)


# ----------------------------------------------------------------------------- input


@dataclass(frozen=True)
class DeliveryInput:
    """A month's figures as typed (form, CSV row or API body); every field is text."""

    learners_trained: str = ""
    completions: str = ""
    training_hours: str = ""
    sessions_delivered: str = ""
    invoiced_amount: str = ""
    note: str = ""


@dataclass(frozen=True)
class DeliveryValues:
    """A validated month: what a row will store."""

    learners_trained: int
    completions: int
    training_hours: Decimal
    sessions_delivered: int
    invoiced_amount: Decimal | None
    note: str | None


def _whole(text: str, label: str) -> int:
    cleaned = text.strip().replace(",", "").replace(" ", "")
    if not cleaned:
        raise ValueError(f"Enter the number of {label} (0 if none).")
    if not (cleaned.isascii() and cleaned.isdigit()):
        raise ValueError(f"“{text.strip()}” is not a whole number of 0 or more.")
    value = int(cleaned)
    if value > _LARGEST_COUNT:
        raise ValueError("That number is too large.")
    return value


def _decimal(text: str, label: str, *, optional: bool) -> Decimal | None:
    cleaned = text.strip().replace(",", "").replace(" ", "")
    if not cleaned:
        if optional:
            return None
        raise ValueError(f"Enter the {label} (0 if none).")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"“{text.strip()}” is not a number.") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"Enter the {label} as a number of 0 or more.")
    if value > _LARGEST_AMOUNT:
        raise ValueError("That number is too large.")
    if value != value.quantize(CENT):
        raise ValueError("Use at most two decimal places.")
    return value.quantize(CENT)


def validate(values: DeliveryInput) -> DeliveryValues | dict[str, str]:
    """The month's values, or a message per field."""
    problems: dict[str, str] = {}
    parsed: dict[str, object] = {}
    for name in ("learners_trained", "completions", "sessions_delivered"):
        try:
            parsed[name] = _whole(getattr(values, name), FIELD_LABELS[name])
        except ValueError as error:
            problems[name] = str(error)
    for name, optional in (("training_hours", False), ("invoiced_amount", True)):
        try:
            parsed[name] = _decimal(getattr(values, name), FIELD_LABELS[name], optional=optional)
        except ValueError as error:
            problems[name] = str(error)
    if not problems and parsed["completions"] > parsed["learners_trained"] * 50:  # type: ignore[operator]
        problems["completions"] = "More than 50 completions per learner: check the figures."
    if problems:
        return problems
    return DeliveryValues(note=(values.note or "").strip() or None, **parsed)  # type: ignore[arg-type]


def _not_future(month: Month, today: dt.date | None) -> None:
    if month > this_month(today):
        raise ValueError(
            f"{month.label} is in the future: delivery can be entered up to "
            f"{this_month(today).label}."
        )


# ----------------------------------------------------------------------------- reading


def months_of(
    partnership_id: int, state: MeasurementState | None = None, *, newest_first: bool = True
) -> list[DeliveryMonth]:
    query = (
        sa.select(DeliveryMonth)
        .options(so.joinedload(DeliveryMonth.entered_by), so.joinedload(DeliveryMonth.confirmed_by))
        .where(DeliveryMonth.partnership_id == partnership_id)
    )
    if state is not None:
        query = query.where(DeliveryMonth.state == state)
    order = DeliveryMonth.month.desc() if newest_first else DeliveryMonth.month
    return list(db.session.scalars(query.order_by(order)))


def month_row(partnership_id: int, month: Month) -> DeliveryMonth | None:
    return db.session.scalar(
        sa.select(DeliveryMonth).where(
            DeliveryMonth.partnership_id == partnership_id, DeliveryMonth.month == month
        )
    )


# ----------------------------------------------------------------------------- writing


def _same(stored: DeliveryMonth, values: DeliveryValues) -> bool:
    return (
        all(
            getattr(stored, name) == getattr(values, name)
            for name in (*VOLUME_FIELDS, "invoiced_amount")
        )
        and (stored.note or None) == values.note
    )


def _write(
    actor: User, confirmed: bool, stored: DeliveryMonth, values: DeliveryValues
) -> DeliveryMonth:
    now = utcnow()
    for name in (*VOLUME_FIELDS, "invoiced_amount", "note"):
        setattr(stored, name, getattr(values, name))
    stored.entered_by_id = actor.id
    stored.entered_at = now
    if confirmed:
        _confirm(actor, stored, now)
    else:
        stored.state = MeasurementState.PROPOSED
        stored.confirmed_by_id = None
        stored.confirmed_at = None
    return stored


def _confirm(actor: User, stored: DeliveryMonth, now: dt.datetime | None = None) -> None:
    stored.state = MeasurementState.CONFIRMED
    stored.confirmed_by_id = actor.id
    stored.confirmed_at = now or utcnow()


def record_month(
    actor: User,
    partnership: Partnership,
    month: Month,
    values: DeliveryInput,
    seen_version: int | None,
    today: dt.date | None = None,
) -> DeliveryMonth:
    """Save a month's figures: a provider's are proposed (and may not replace confirmed ones),
    a lead's are confirmed at once. ``seen_version``: the stored row's version when the form
    was shown (0: none was stored; None: not checked, as for an API push)."""
    access.require(actor, Action.PROPOSE_ACTUALS, partnership.id, message=ENTER_MESSAGE)
    try:
        _not_future(month, today)
    except ValueError as error:
        raise ValidationFailed(str(error), field="month") from None
    checked = validate(values)
    if isinstance(checked, dict):
        field_name, message = next(iter(checked.items()))
        error = ValidationFailed(message, field=field_name)
        error.problems = checked  # type: ignore[attr-defined]
        raise error
    lead = may_confirm(actor, partnership.id)
    with guarded_save(STALE_MESSAGE):
        stored = month_row(partnership.id, month)
        if stored is None:
            if seen_version:
                raise Conflict(STALE_MESSAGE)
            stored = DeliveryMonth(partnership_id=partnership.id, month=month)
            db.session.add(stored)
        else:
            check_version(stored, seen_version, STALE_MESSAGE, optional=True)
            if stored.confirmed and not lead:
                if _same(stored, checked):
                    return stored
                raise ValidationFailed(
                    f"{month.label} was confirmed by a lead: only a lead can change it.",
                    field="month",
                )
        _write(actor, lead, stored, checked)
    return stored


def confirm_month(
    actor: User, partnership: Partnership, month: Month, seen_version: int | None
) -> DeliveryMonth:
    """A lead confirms a proposed month as it stands."""
    access.require(actor, Action.MANAGE, partnership.id, message=CONFIRM_MESSAGE)
    with guarded_save(STALE_MESSAGE):
        stored = month_row(partnership.id, month)
        if stored is None:
            raise NotFound()
        check_version(
            stored,
            seen_version,
            f"{month.label} was changed since you saw it: check it and confirm again.",
            optional=True,
        )
        if not stored.confirmed:
            _confirm(actor, stored)
    return stored


def confirm_all(actor: User, partnership: Partnership) -> int:
    """A lead confirms every proposed month; how many."""
    access.require(actor, Action.MANAGE, partnership.id, message=CONFIRM_MESSAGE)
    with guarded_save(STALE_MESSAGE):
        proposed = months_of(partnership.id, MeasurementState.PROPOSED)
        now = utcnow()
        for stored in proposed:
            _confirm(actor, stored, now)
    return len(proposed)


# ----------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class MonthPoint:
    """One month of the trend, as stored (proposed months included and marked)."""

    month: Month
    learners_trained: int
    completions: int
    training_hours: Decimal
    sessions_delivered: int
    invoiced_amount: Decimal | None
    confirmed: bool

    @property
    def cost_per_learner(self) -> Decimal | None:
        return ratio(self.invoiced_amount, self.learners_trained)


@dataclass(frozen=True)
class SpendToDate:
    """Confirmed invoiced spend since the contract start against the contract value."""

    spent: Decimal
    contract_value: Decimal | None
    term_months: int | None  # None: no renewal date, the annual value is the contract value
    since: Month
    # Why there is no share: "no annual contract value recorded", …
    reason: str | None = None

    @property
    def share(self) -> Decimal | None:
        """Spent ÷ contract value, in % (one decimal, half up)."""
        if not self.contract_value:
            return None
        return (self.spent * 100 / self.contract_value).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass(frozen=True)
class DeliveryFigures:
    """The figures of a run of months (``first`` … ``last``), confirmed months only."""

    first: Month
    last: Month
    learners_trained: int
    completions: int
    training_hours: Decimal
    sessions_delivered: int
    spend: Decimal
    confirmed_months: int
    proposed_months: tuple[Month, ...]
    # Cost ratios over the months with a confirmed invoice AND confirmed volumes (the same
    # months for numerator and denominator), and how many months that is.
    cost_months: int
    cost_per_learner: Decimal | None
    cost_per_hour: Decimal | None
    series: tuple[MonthPoint, ...]
    spend_to_date: SpendToDate
    currency: str

    @property
    def proposed_count(self) -> int:
        return len(self.proposed_months)

    @property
    def latest(self) -> MonthPoint | None:
        return self.series[-1] if self.series else None


def ratio(amount: Decimal | None, count: Decimal | int) -> Decimal | None:
    """``amount ÷ count`` to the cent (half up); None without an amount or a count."""
    if amount is None or not count:
        return None
    return (Decimal(amount) / Decimal(count)).quantize(CENT, ROUND_HALF_UP)


def contract_months(start: dt.date, renewal: dt.date) -> int:
    """Whole calendar months the contract covers, the renewal date counted as its last day
    covered: 1 Jan 2025 → 31 Dec 2027 and 1 Jan 2025 → 1 Jan 2028 are both 36 months; a part
    month counts from the day (15 Jan → 13 Feb is 0, → 14 Feb is 1)."""
    end = renewal + dt.timedelta(days=1)
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return max(months, 0)


def contract_value(partnership: Partnership) -> tuple[Decimal | None, int | None, str | None]:
    """(value, term in months or None, reason when there is no value)."""
    if partnership.annual_value is None:
        return None, None, "no annual contract value is recorded"
    if partnership.renewal_date is None:
        return Decimal(partnership.annual_value), None, None
    term = contract_months(partnership.start_date, partnership.renewal_date)
    if term == 0:
        return None, 0, "the contract term is shorter than a month"
    value = (Decimal(partnership.annual_value) * term / 12).quantize(CENT, ROUND_HALF_UP)
    if not value:
        return None, term, "the contract value is 0"
    return value, term, None


def spend_to_date(partnership: Partnership, last: Month) -> SpendToDate:
    since = Month.of(partnership.start_date)
    spent = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(DeliveryMonth.invoiced_amount), 0)).where(
            DeliveryMonth.partnership_id == partnership.id,
            DeliveryMonth.state == MeasurementState.CONFIRMED,
            DeliveryMonth.month >= since,
            DeliveryMonth.month <= last,
        )
    )
    value, term, reason = contract_value(partnership)
    return SpendToDate(Decimal(spent).quantize(CENT), value, term, since, reason)


def figures(partnership: Partnership, last: Month, months: int = TREND_MONTHS) -> DeliveryFigures:
    """The figures of the ``months`` months ending with ``last``; two queries."""
    first = last.shift(1 - months)
    rows = [
        row for row in months_of(partnership.id, newest_first=False) if first <= row.month <= last
    ]
    return figures_of(partnership, first, last, rows, spend_to_date(partnership, last))


def figures_of(
    partnership: Partnership,
    first: Month,
    last: Month,
    rows: Sequence[DeliveryMonth],
    to_date: SpendToDate,
) -> DeliveryFigures:
    confirmed = [row for row in rows if row.confirmed]
    costed = [row for row in confirmed if row.invoiced_amount is not None]
    cost_spend = sum((row.invoiced_amount for row in costed), Decimal(0))
    learners = sum(row.learners_trained for row in costed)
    hours = sum((row.training_hours for row in costed), Decimal(0))
    return DeliveryFigures(
        first=first,
        last=last,
        learners_trained=sum(row.learners_trained for row in confirmed),
        completions=sum(row.completions for row in confirmed),
        training_hours=sum((row.training_hours for row in confirmed), Decimal(0)),
        sessions_delivered=sum(row.sessions_delivered for row in confirmed),
        spend=sum((row.invoiced_amount or Decimal(0) for row in confirmed), Decimal(0)),
        confirmed_months=len(confirmed),
        proposed_months=tuple(row.month for row in rows if not row.confirmed),
        cost_months=len(costed),
        cost_per_learner=ratio(cost_spend, learners) if costed else None,
        cost_per_hour=ratio(cost_spend, hours) if costed else None,
        series=tuple(
            MonthPoint(
                row.month,
                row.learners_trained,
                row.completions,
                row.training_hours,
                row.sessions_delivered,
                row.invoiced_amount,
                row.confirmed,
            )
            for row in sorted(rows, key=lambda r: r.month)
        ),
        spend_to_date=to_date,
        currency=partnership.currency,
    )


def latest_month(partnership_id: int) -> Month | None:
    """The newest month with figures, proposed or confirmed."""
    return db.session.scalar(
        sa.select(sa.func.max(DeliveryMonth.month)).where(
            DeliveryMonth.partnership_id == partnership_id
        )
    )


# ----------------------------------------------------------------------------- upload

UPLOAD_COLUMNS = (
    ("month", "YYYY-MM, e.g. 2026-10 (required)"),
    ("learners_trained", "whole number ≥ 0 (required)"),
    ("completions", "whole number ≥ 0 (required)"),
    ("training_hours", "number ≥ 0, up to 2 decimals (required)"),
    ("sessions_delivered", "whole number ≥ 0 (required)"),
    ("invoiced_amount", "in the partnership's currency, up to 2 decimals (empty: not invoiced)"),
    ("note", "free text (optional)"),
)
_REQUIRED = ("month", *VOLUME_FIELDS)


@dataclass(frozen=True)
class UploadRow:
    line: int  # the header is row 1
    month: str
    values: DeliveryInput
    outcome: str  # new | replaces | unchanged | error
    message: str
    seen_version: int = 0

    @property
    def numbered(self) -> str:
        return f"Row {self.line}: {self.message}"


@dataclass(frozen=True)
class UploadPreview:
    rows: tuple[UploadRow, ...]

    @property
    def errors(self) -> list[UploadRow]:
        return [row for row in self.rows if row.outcome == "error"]

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)


def parse_upload(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(row number, cells by column) of a delivery CSV; file-level problems raise
    ``ValidationFailed`` on the ``file`` field."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(
            "The file is not UTF-8 text: save it as “CSV UTF-8” and upload it again.", "file"
        ) from None
    if "\x00" in text or data.startswith(b"PK\x03\x04"):
        raise ValidationFailed("This is not a CSV text file (save it as “CSV UTF-8”).", "file")
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    if not first_line:
        raise ValidationFailed("The file is empty.", field="file")
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip().lower().replace(" ", "_") for name in next(reader)]
        missing = [name for name in _REQUIRED if name not in header]
        if missing:
            raise ValidationFailed(
                f"Row 1 must name the columns; missing: {', '.join(missing)}.", field="file"
            )
        rows = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= MAX_UPLOAD_ROWS:
                raise ValidationFailed(
                    f"The file has more than {MAX_UPLOAD_ROWS} rows; split it.", field="file"
                )
            cells = {
                name: (record[i].strip() if i < len(record) else "")
                for i, name in enumerate(header)
            }
            rows.append((reader.line_num, cells))
    except csv.Error as error:
        raise ValidationFailed(f"Row {reader.line_num}: {error}", field="file") from None
    if not rows:
        raise ValidationFailed("The file has a header row but no data rows.", field="file")
    return rows


def preview_upload(
    actor: User,
    partnership: Partnership,
    rows: Sequence[tuple[int, dict[str, str]]],
    today: dt.date | None = None,
) -> UploadPreview:
    """What saving these rows would do, row by row; nothing is written."""
    access.require(actor, Action.PROPOSE_ACTUALS, partnership.id, message=ENTER_MESSAGE)
    lead = may_confirm(actor, partnership.id)
    stored = {row.month: row for row in months_of(partnership.id)}
    seen: dict[Month, int] = {}
    result = []
    for line, cells in rows:
        values = DeliveryInput(**{name: cells.get(name, "") for name, _ in UPLOAD_COLUMNS[1:]})
        text = cells.get("month", "")

        def error(message: str, line: int = line, text: str = text, values=values) -> UploadRow:
            return UploadRow(line, text, values, "error", message)

        try:
            month = parse_month(text)
            _not_future(month, today)
        except ValueError as problem:
            result.append(error(str(problem)))
            continue
        if month in seen:
            result.append(error(f"a second row for {month} (first on row {seen[month]})."))
            continue
        seen[month] = line
        checked = validate(values)
        if isinstance(checked, dict):
            result.append(error("; ".join(f"{FIELD_LABELS[k]}: {v}" for k, v in checked.items())))
            continue
        current = stored.get(month)
        if current is None:
            result.append(UploadRow(line, text, values, "new", "new month"))
        elif _same(current, checked) and (current.confirmed or not lead):
            result.append(UploadRow(line, text, values, "unchanged", "unchanged", current.version))
        elif current.confirmed and not lead:
            result.append(
                error(f"{month.label} was confirmed by a lead: only a lead can change it.")
            )
        else:
            result.append(
                UploadRow(
                    line,
                    text,
                    values,
                    "replaces",
                    f"replaces the {current.state.value} figures",
                    current.version,
                )
            )
    return UploadPreview(tuple(result))


def save_upload(
    actor: User,
    partnership: Partnership,
    rows: Sequence[tuple[int, dict[str, str]]],
    seen_versions: Sequence[int],
    today: dt.date | None = None,
) -> UploadPreview:
    """Save a previewed upload, every row or none: any error (or a month changed since the
    preview) writes nothing and the returned preview says which rows."""
    preview = preview_upload(actor, partnership, rows, today)
    checked = tuple(
        row
        if row.outcome == "error" or row.seen_version == seen
        else UploadRow(
            row.line,
            row.month,
            row.values,
            "error",
            "changed by someone else since the preview; upload the file again.",
        )
        for row, seen in zip(preview.rows, seen_versions, strict=True)
    )
    if any(row.outcome == "error" for row in checked):
        return UploadPreview(checked)
    lead = may_confirm(actor, partnership.id)
    try:
        with guarded_save(STALE_MESSAGE):
            stored = {row.month: row for row in months_of(partnership.id)}
            for row in checked:
                if row.outcome == "unchanged":
                    continue
                month = Month.parse(row.month)
                values = validate(row.values)
                assert isinstance(values, DeliveryValues)
                target = stored.get(month)
                if target is None:
                    target = DeliveryMonth(partnership_id=partnership.id, month=month)
                    db.session.add(target)
                _write(actor, lead, target, values)
    except Conflict:
        return UploadPreview(
            tuple(UploadRow(r.line, r.month, r.values, "error", STALE_MESSAGE) for r in checked)
        )
    return UploadPreview(checked)


# ----------------------------------------------------------------------------- export

EXPORT_HEADER = [
    "month",
    "learners_trained",
    "completions",
    "training_hours",
    "sessions_delivered",
    "invoiced_amount",
    "currency",
    "cost_per_learner",
    "state",
    "note",
    "entered_by",
    "confirmed_by",
]


def export_rows(partnership: Partnership, rows: Sequence[DeliveryMonth]) -> list[list]:
    return [
        [
            str(row.month),
            row.learners_trained,
            row.completions,
            row.training_hours,
            row.sessions_delivered,
            row.invoiced_amount,
            partnership.currency,
            ratio(row.invoiced_amount, row.learners_trained),
            row.state.value,
            row.note,
            row.entered_by.display_name if row.entered_by else "",
            row.confirmed_by.display_name if row.confirmed_by else "",
        ]
        for row in rows
    ]


def trend_months(last: Month, months: int = TREND_MONTHS) -> list[Month]:
    return month_range(last.shift(1 - months), last)


def overview_figures(partnership: Partnership, last: Month) -> DeliveryFigures | None:
    """The overview panel's figures (12 months to ``last``), or None when the partnership has
    no delivery figures at all."""
    if latest_month(partnership.id) is None:
        return None
    return figures(partnership, last)
