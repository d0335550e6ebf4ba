"""Wins: listing (sorted and filtered), CSV rows, and logging, editing and deleting wins.

Rules, as implemented here:

- Providers and leads may log a win (``Action.LOG_WINS_AND_CHANGES``); only leads edit or
  delete one (``Action.MANAGE``).
- A win happened: its date is today at the latest. Its region, if any, is one of the
  partnership's regions in scope.
- A win marked ``shareable`` may be shared outside the partnership (case studies, awards).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker import access
from mls_tracker.access import Action
from mls_tracker.audit import acting_as
from mls_tracker.extensions import db
from mls_tracker.models import Partnership, User, Win, partnership_regions
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.locking import check_version, guarded_save

SORTS = ("date", "title", "region")
TITLE_MAX = 200
IMPACT_MAX = 300

DENIED_MESSAGE = "You may not do this in this partnership."
STALE_MESSAGE = (
    "Someone else changed this win while you were editing; here is the current version — "
    "your changes were not saved."
)


@dataclass(frozen=True, slots=True)
class WinView:
    id: int
    version: int
    title: str
    story: str | None
    won_on: dt.date
    region_id: int | None
    region_name: str | None
    measurable_impact: str | None
    shareable: bool
    created_by_name: str | None
    created_at: dt.datetime | None


def _view(win: Win, creator: str | None) -> WinView:
    return WinView(
        id=win.id,
        version=win.version,
        title=win.title,
        story=win.story,
        won_on=win.won_on,
        region_id=win.region_id,
        region_name=win.region.name if win.region else None,
        measurable_impact=win.measurable_impact,
        shareable=win.shareable,
        created_by_name=creator,
        created_at=win.created_at,
    )


def win_view(win: Win) -> WinView:
    creator = db.session.scalar(sa.select(User.display_name).where(User.id == win.created_by_id))
    return _view(win, creator)


def list_wins(
    partnership_id: int,
    *,
    region_id: int | None = None,
    shareable_only: bool = False,
    sort: str = "date",
) -> list[WinView]:
    """The partnership's wins, filtered and sorted (a fixed number of queries)."""
    creator = so.aliased(User)
    query = (
        sa.select(Win, creator.display_name)
        .outerjoin(creator, creator.id == Win.created_by_id)
        .options(so.joinedload(Win.region))
        .where(Win.partnership_id == partnership_id)
    )
    if region_id is not None:
        query = query.where(Win.region_id == region_id)
    if shareable_only:
        query = query.where(Win.shareable.is_(True))
    views = [_view(win, name) for win, name in db.session.execute(query)]
    if sort == "title":
        views.sort(key=lambda v: (v.title.lower(), v.id))
    elif sort == "region":
        # By region name, wins of no particular region last; newest first within a region.
        views.sort(
            key=lambda v: (v.region_name is None, v.region_name or "", -v.won_on.toordinal())
        )
    else:  # newest first
        views.sort(key=lambda v: (-v.won_on.toordinal(), v.title.lower()))
    return views


CSV_COLUMNS = (
    "Title",
    "Date",
    "Region",
    "Measurable impact",
    "May be shared outside",
    "Story",
    "Logged by",
)


def win_rows(views: Iterable[WinView]) -> Iterable[Sequence]:
    for view in views:
        yield (
            view.title,
            view.won_on.isoformat(),
            view.region_name or "",
            view.measurable_impact or "",
            "yes" if view.shareable else "no",
            view.story or "",
            view.created_by_name or "",
        )


# ----------------------------------------------------------------------------- writes


def _clean(
    partnership_id: int,
    today: dt.date,
    *,
    title: str | None,
    story: str | None,
    won_on: dt.date | None,
    region_id: int | None,
    measurable_impact: str | None,
    shareable: bool,
    current_region_id: int | None = None,
) -> dict:
    title = (title or "").strip()
    if not title:
        raise ValidationFailed("Enter a title for the win.", field="title")
    if len(title) > TITLE_MAX:
        raise ValidationFailed(f"Keep the title to {TITLE_MAX} characters.", field="title")
    if won_on is None:
        raise ValidationFailed("Enter the date of the win.", field="won_on")
    if won_on > today:
        raise ValidationFailed(
            "A win cannot be in the future: enter the date it happened, today at the latest.",
            field="won_on",
        )
    if region_id:
        in_scope = db.session.scalar(
            sa.select(partnership_regions.c.region_id).where(
                partnership_regions.c.partnership_id == partnership_id,
                partnership_regions.c.region_id == region_id,
            )
        )
        # A win keeps a region that has since left the scope (history stays editable).
        if not in_scope and region_id != current_region_id:
            raise ValidationFailed(
                "Choose one of the partnership's regions in scope, or no region.",
                field="region_id",
            )
    impact = (measurable_impact or "").strip() or None
    if impact and len(impact) > IMPACT_MAX:
        raise ValidationFailed(
            f"Keep the measurable impact to {IMPACT_MAX} characters.", field="measurable_impact"
        )
    return {
        "title": title,
        "story": (story or "").strip() or None,
        "won_on": won_on,
        "region_id": region_id or None,
        "measurable_impact": impact,
        "shareable": bool(shareable),
    }


def log_win(actor: User, partnership: Partnership, today: dt.date, **values) -> Win:
    """Log a win (providers and leads)."""
    access.require(actor, Action.LOG_WINS_AND_CHANGES, partnership.id, message=DENIED_MESSAGE)
    clean = _clean(partnership.id, today, **values)
    with acting_as(actor.id):
        win = Win(partnership_id=partnership.id, created_by_id=actor.id, **clean)
        db.session.add(win)
        db.session.commit()
    return win


def update_win(
    actor: User, win: Win, today: dt.date, *, expected_version: int | None, **values
) -> Win:
    """Edit a win (leads), refusing a save based on an outdated version."""
    access.require(actor, Action.MANAGE, win.partnership_id, message=DENIED_MESSAGE)
    check_version(win, expected_version, STALE_MESSAGE)
    clean = _clean(win.partnership_id, today, **values, current_region_id=win.region_id)
    with acting_as(actor.id), guarded_save(STALE_MESSAGE):
        for key, value in clean.items():
            setattr(win, key, value)
    return win


def delete_win(actor: User, win: Win, *, expected_version: int | None) -> None:
    """Delete a win (leads)."""
    access.require(actor, Action.MANAGE, win.partnership_id, message=DENIED_MESSAGE)
    check_version(win, expected_version, STALE_MESSAGE)
    with acting_as(actor.id), guarded_save(STALE_MESSAGE):
        db.session.delete(win)
