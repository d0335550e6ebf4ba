"""The one period type of the application: a calendar month (``YYYY-MM``)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import total_ordering


def utc_today() -> dt.date:
    """Today's date in UTC: the one definition of "today" for figures and due dates."""
    return dt.datetime.now(dt.UTC).date()


_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


@total_ordering
@dataclass(frozen=True, slots=True)
class Month:
    """A calendar month. Stored in the database as the date of its first day."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1-12, got {self.month}")
        if not 1900 <= self.year <= 9999:
            raise ValueError(f"year out of range: {self.year}")

    @classmethod
    def parse(cls, text: str) -> Month:
        """Parse ``YYYY-MM``; raises ``ValueError`` with a readable message otherwise."""
        match = _MONTH_RE.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not a month in the form YYYY-MM")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: dt.date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def current(cls, today: dt.date | None = None) -> Month:
        """The month of ``today``, by default the current UTC date."""
        return cls.of(today or utc_today())

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return self.next().first_day - dt.timedelta(days=1)

    def shift(self, months: int) -> Month:
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    def next(self) -> Month:
        return self.shift(1)

    def previous(self) -> Month:
        return self.shift(-1)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Month):
            return NotImplemented
        return (self.year, self.month) < (other.year, other.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """Human label, e.g. ``Mar 2026``."""
        return self.first_day.strftime("%b %Y")


def month_range(start: Month, end: Month) -> list[Month]:
    """Every month from ``start`` to ``end`` inclusive."""
    months = []
    current = start
    while current <= end:
        months.append(current)
        current = current.next()
    return months
