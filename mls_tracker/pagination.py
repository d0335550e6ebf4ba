"""One way to cut a list into pages: the requested page clamped to the pages there are."""

from __future__ import annotations

from dataclasses import dataclass

from mls_tracker.formhelp import to_int


@dataclass(frozen=True)
class PageWindow:
    """Which page to show of ``total`` rows, ``per_page`` at a time (``number`` from 1)."""

    number: int
    pages: int
    total: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_window(total: int, requested: object, per_page: int) -> PageWindow:
    """A missing, unreadable or too small page number is page 1; one past the end is the
    last page; no rows is still one (empty) page."""
    pages = max(1, -(-total // per_page))
    number = min(max(to_int(requested) or 1, 1), pages)
    return PageWindow(number=number, pages=pages, total=total, per_page=per_page)
