"""Sponsors by region: the coverage matrix and engagement figures, and sponsorship writes.

Figures (PRODUCT.md §3), as implemented here:

- A sponsor is **active** on a day when ``start_date <= day`` and the sponsorship has no end
  date or ends on or after that day.
- **Coverage** = regions in scope with an active client-side sponsor ÷ regions in scope
  (None when the partnership has no region in scope). A region in scope with no active
  client-side sponsor is a **gap**.
- **Meetings held** = meetings of the partnership in state ``held`` or ``minutes approved``.
  The engagement window is the last 3 months: ``today − 3 months < held_on <= today``.
- **Engagement** of a sponsor = meetings attended ÷ meetings held in the window *while the
  sponsor was active* (a sponsor is not counted absent from meetings before they started or
  after they ended). Attended = an attendance row for the sponsor with ``present`` true.
  The rate is None when no such meeting was held.
- **Days since last attended** = today − the latest held meeting (any time) the sponsor
  attended; None if they never attended one.
- **Disengaged** = the sponsor attended none of the partnership's 3 most recent held meetings,
  judged only when at least one of those meetings was held while the sponsor was active.

Everything is loaded in a fixed number of queries, whatever the number of sponsors or
meetings, and returned as frozen dataclasses of plain values.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from email_validator import EmailNotValidError, validate_email

from mls_tracker import access
from mls_tracker.access import Action
from mls_tracker.audit import acting_as
from mls_tracker.extensions import db
from mls_tracker.models import (
    Attendance,
    Meeting,
    MeetingState,
    Membership,
    Partnership,
    Region,
    Role,
    Side,
    Sponsor,
    User,
    partnership_regions,
)
from mls_tracker.periods import Month
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.locking import check_version, guarded_save

ENGAGEMENT_WINDOW_MONTHS = 3
DISENGAGED_AFTER_MEETINGS = 3
HELD_STATES = (MeetingState.HELD, MeetingState.MINUTES_APPROVED)

MANAGE_MESSAGE = "Only a lead of this partnership can change its sponsors."
STALE_MESSAGE = (
    "Someone else changed this sponsorship while you were editing; here is the current "
    "version — your changes were not saved."
)


# ----------------------------------------------------------------------------- figures


@dataclass(frozen=True, slots=True)
class Engagement:
    attended: int  # meetings attended in the window, while active
    held: int  # meetings held in the window, while active
    last_attended_on: dt.date | None
    days_since_last_attended: int | None
    disengaged: bool

    @property
    def rate(self) -> float | None:
        """Attended ÷ held, 0–1; None when no meeting was held while the sponsor was active."""
        return self.attended / self.held if self.held else None


@dataclass(frozen=True, slots=True)
class SponsorView:
    id: int
    version: int
    name: str
    title: str | None
    email: str | None
    side: Side
    region_id: int
    region_name: str
    start_date: dt.date
    end_date: dt.date | None
    linked_user_id: int | None
    linked_user_name: str | None
    engagement: Engagement | None = None  # only for active sponsors


@dataclass(frozen=True, slots=True)
class CoverageRow:
    region_id: int
    region_name: str
    is_home: bool
    client: tuple[SponsorView, ...]
    provider: tuple[SponsorView, ...]

    @property
    def is_gap(self) -> bool:
        return not self.client


@dataclass(frozen=True, slots=True)
class CoverageMatrix:
    partnership_id: int
    today: dt.date
    window_start: dt.date  # meetings held after this day (and up to today) count
    meetings_held: int  # in the window
    last_meetings: tuple[dt.date, ...]  # the most recent held meetings, newest first
    rows: tuple[CoverageRow, ...]  # one per region in scope, in the regions' order
    other_regions: tuple[SponsorView, ...]  # active sponsors of regions no longer in scope
    upcoming: tuple[SponsorView, ...]  # sponsorships that start after today
    history: tuple[SponsorView, ...]  # ended sponsorships, most recently ended first

    @property
    def regions_in_scope(self) -> int:
        return len(self.rows)

    @property
    def regions_covered(self) -> int:
        return sum(1 for row in self.rows if not row.is_gap)

    @property
    def coverage(self) -> float | None:
        return self.regions_covered / self.regions_in_scope if self.rows else None

    @property
    def gaps(self) -> tuple[CoverageRow, ...]:
        return tuple(row for row in self.rows if row.is_gap)

    @property
    def disengaged(self) -> tuple[SponsorView, ...]:
        return tuple(
            view
            for row in self.rows
            for view in (*row.client, *row.provider)
            if view.engagement and view.engagement.disengaged
        )


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day of the month ``months`` earlier, clamped to that month's last day."""
    month = Month.of(day).shift(-months)
    return dt.date(month.year, month.month, min(day.day, month.last_day.day))


def _held_meetings() -> sa.Select:
    return sa.select(Meeting.id, Meeting.held_on).where(Meeting.state.in_(HELD_STATES))


def _active(sponsor: Sponsor, day: dt.date) -> bool:
    return sponsor.is_active_on(day)


def sponsor_view(sponsor: Sponsor, engagement: Engagement | None = None) -> SponsorView:
    """A sponsorship as plain values."""
    return SponsorView(
        id=sponsor.id,
        version=sponsor.version,
        name=sponsor.name,
        title=sponsor.title,
        email=sponsor.email,
        side=sponsor.side,
        region_id=sponsor.region_id,
        region_name=sponsor.region.name,
        start_date=sponsor.start_date,
        end_date=sponsor.end_date,
        linked_user_id=sponsor.user_id,
        linked_user_name=sponsor.user.display_name if sponsor.user else None,
        engagement=engagement,
    )


def coverage_matrix(partnership_id: int, today: dt.date) -> CoverageMatrix:
    """The region × side matrix of active sponsors with their engagement (at most 6
    queries, whatever the number of sponsors and meetings)."""
    regions = db.session.execute(
        sa.select(Region.id, Region.name, Partnership.home_region_id)
        .join(partnership_regions, partnership_regions.c.region_id == Region.id)
        .join(Partnership, Partnership.id == partnership_regions.c.partnership_id)
        .where(partnership_regions.c.partnership_id == partnership_id)
        .order_by(Region.position, Region.name)
    ).all()
    sponsors = db.session.scalars(
        sa.select(Sponsor)
        .options(so.joinedload(Sponsor.region), so.joinedload(Sponsor.user))
        .where(Sponsor.partnership_id == partnership_id)
        .order_by(Sponsor.name, Sponsor.id)
    ).all()

    window_start = months_before(today, ENGAGEMENT_WINDOW_MONTHS)
    of_partnership = _held_meetings().where(
        Meeting.partnership_id == partnership_id, Meeting.held_on <= today
    )
    window = db.session.execute(of_partnership.where(Meeting.held_on > window_start)).all()
    latest = db.session.execute(
        of_partnership.order_by(Meeting.held_on.desc(), Meeting.id.desc()).limit(
            DISENGAGED_AFTER_MEETINGS
        )
    ).all()
    held_on = {row.id: row.held_on for row in (*window, *latest)}

    attended: dict[int, set[int]] = defaultdict(set)
    if held_on:
        for sponsor_id, meeting_id in db.session.execute(
            sa.select(Attendance.sponsor_id, Attendance.meeting_id).where(
                Attendance.meeting_id.in_(list(held_on)),
                Attendance.sponsor_id.is_not(None),
                Attendance.present.is_(True),
            )
        ):
            attended[sponsor_id].add(meeting_id)
    last_attended = dict(
        db.session.execute(
            sa.select(Attendance.sponsor_id, sa.func.max(Meeting.held_on))
            .join(Meeting, Attendance.meeting_id == Meeting.id)
            .where(
                Meeting.partnership_id == partnership_id,
                Meeting.state.in_(HELD_STATES),
                Meeting.held_on <= today,
                Attendance.sponsor_id.is_not(None),
                Attendance.present.is_(True),
            )
            .group_by(Attendance.sponsor_id)
        ).all()
    )

    def engagement(sponsor: Sponsor) -> Engagement:
        mine = attended.get(sponsor.id, set())
        in_window = [row.id for row in window if _active(sponsor, row.held_on)]
        judged = [row.id for row in latest if _active(sponsor, row.held_on)]
        last = last_attended.get(sponsor.id)
        return Engagement(
            attended=sum(1 for meeting_id in in_window if meeting_id in mine),
            held=len(in_window),
            last_attended_on=last,
            days_since_last_attended=(today - last).days if last else None,
            disengaged=bool(judged) and not any(row.id in mine for row in latest),
        )

    in_scope = {row.id for row in regions}
    active: dict[tuple[int, Side], list[SponsorView]] = defaultdict(list)
    other_regions, upcoming, history = [], [], []
    for sponsor in sponsors:
        if _active(sponsor, today):
            view = sponsor_view(sponsor, engagement(sponsor))
            if sponsor.region_id in in_scope:
                active[(sponsor.region_id, sponsor.side)].append(view)
            else:
                other_regions.append(view)
        elif sponsor.start_date > today:
            upcoming.append(sponsor_view(sponsor))
        else:
            history.append(sponsor_view(sponsor))
    history.sort(key=lambda view: (view.end_date, view.id), reverse=True)
    upcoming.sort(key=lambda view: (view.start_date, view.name))

    rows = tuple(
        CoverageRow(
            region_id=row.id,
            region_name=row.name,
            is_home=row.id == row.home_region_id,
            client=tuple(active[(row.id, Side.CLIENT)]),
            provider=tuple(active[(row.id, Side.PROVIDER)]),
        )
        for row in regions
    )
    return CoverageMatrix(
        partnership_id=partnership_id,
        today=today,
        window_start=window_start,
        meetings_held=len(window),
        last_meetings=tuple(row.held_on for row in latest),
        rows=rows,
        other_regions=tuple(other_regions),
        upcoming=tuple(upcoming),
        history=tuple(history),
    )


def coverage(partnership_id: int, today: dt.date) -> float | None:
    """Sponsor coverage, 0–1: regions in scope with an active client sponsor ÷ regions in
    scope; None when the partnership has no region in scope (2 queries)."""
    return coverage_history([partnership_id], [today])[partnership_id][today]


def coverage_history(
    partnership_ids: Sequence[int], days: Sequence[dt.date]
) -> dict[int, dict[dt.date, float | None]]:
    """Sponsor coverage of several partnerships on several days (e.g. each month's last
    day), in two queries whatever their number."""
    in_scope: dict[int, set[int]] = defaultdict(set)
    for partnership_id, region_id in db.session.execute(
        sa.select(partnership_regions.c.partnership_id, partnership_regions.c.region_id).where(
            partnership_regions.c.partnership_id.in_(partnership_ids)
        )
    ):
        in_scope[partnership_id].add(region_id)
    sponsorships: dict[int, list[tuple[int, dt.date, dt.date | None]]] = defaultdict(list)
    if in_scope:
        for partnership_id, region_id, start, end in db.session.execute(
            sa.select(
                Sponsor.partnership_id, Sponsor.region_id, Sponsor.start_date, Sponsor.end_date
            ).where(Sponsor.partnership_id.in_(list(in_scope)), Sponsor.side == Side.CLIENT)
        ):
            sponsorships[partnership_id].append((region_id, start, end))
    result: dict[int, dict[dt.date, float | None]] = {}
    for partnership_id in partnership_ids:
        regions = in_scope.get(partnership_id, set())
        result[partnership_id] = {}
        for day in days:
            if not regions:
                result[partnership_id][day] = None
                continue
            covered = {
                region_id
                for region_id, start, end in sponsorships.get(partnership_id, ())
                if region_id in regions and start <= day and (end is None or end >= day)
            }
            result[partnership_id][day] = len(covered) / len(regions)
    return result


def is_only_client_sponsor(sponsor: Sponsor, today: dt.date) -> bool:
    """Whether nobody else sponsors the region on the client side now or later, so that
    ending this sponsorship leaves a coverage gap."""
    if sponsor.side is not Side.CLIENT:
        return False
    others = db.session.scalar(
        sa.select(sa.func.count(Sponsor.id)).where(
            Sponsor.partnership_id == sponsor.partnership_id,
            Sponsor.region_id == sponsor.region_id,
            Sponsor.side == Side.CLIENT,
            Sponsor.id != sponsor.id,
            sa.or_(Sponsor.end_date.is_(None), Sponsor.end_date >= today),
        )
    )
    return not others


# ----------------------------------------------------------------------------- writes


def sponsor_candidates(partnership_id: int) -> list[User]:
    """The members a sponsorship may be linked to: those with the sponsor role."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.partnership_id == partnership_id, Membership.role == Role.SPONSOR)
            .order_by(User.display_name, User.email)
        )
    )


def _clean(
    partnership_id: int,
    *,
    region_id: int | None,
    side: Side | str | None,
    name: str | None,
    title: str | None,
    email: str | None,
    user_id: int | None,
    start_date: dt.date | None,
    end_date: dt.date | None,
    current_region_id: int | None = None,
) -> dict:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Enter the sponsor's name.", field="name")
    if len(name) > 120:
        raise ValidationFailed("Keep the name to 120 characters.", field="name")
    title = (title or "").strip() or None
    if title and len(title) > 160:
        raise ValidationFailed("Keep the title to 160 characters.", field="title")
    email = (email or "").strip() or None
    if email:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError as error:
            raise ValidationFailed(
                "Enter an e-mail address like name@company.com.", field="email"
            ) from error
        if len(email) > 255:
            raise ValidationFailed("Keep the e-mail address to 255 characters.", field="email")
    try:
        side = Side(side)
    except ValueError as error:
        raise ValidationFailed("Choose the client or the provider side.", field="side") from error
    in_scope = region_id is not None and db.session.scalar(
        sa.select(partnership_regions.c.region_id).where(
            partnership_regions.c.partnership_id == partnership_id,
            partnership_regions.c.region_id == region_id,
        )
    )
    # A sponsorship may keep a region that has since left the scope (history stays editable).
    if not in_scope and (region_id is None or region_id != current_region_id):
        raise ValidationFailed(
            "Choose one of the partnership's regions in scope.", field="region_id"
        )
    if user_id:
        role = db.session.scalar(
            sa.select(Membership.role).where(
                Membership.partnership_id == partnership_id, Membership.user_id == user_id
            )
        )
        if role is not Role.SPONSOR:
            raise ValidationFailed(
                "Link only a member of this partnership who has the sponsor role "
                "(invite them as a sponsor first), or leave the sponsorship unlinked.",
                field="user_id",
            )
    if start_date is None:
        raise ValidationFailed("Enter the date the sponsorship starts.", field="start_date")
    if end_date is not None and end_date < start_date:
        raise ValidationFailed("The end date cannot be before the start date.", field="end_date")
    return {
        "region_id": region_id,
        "side": side,
        "name": name,
        "title": title,
        "email": email,
        "user_id": user_id or None,
        "start_date": start_date,
        "end_date": end_date,
    }


def add_sponsorship(
    actor: User,
    partnership: Partnership,
    *,
    region_id: int | None,
    side: Side | str | None,
    name: str | None,
    title: str | None = None,
    email: str | None = None,
    user_id: int | None = None,
    start_date: dt.date | None,
    end_date: dt.date | None = None,
) -> Sponsor:
    access.require(actor, Action.MANAGE, partnership.id, message=MANAGE_MESSAGE)
    values = _clean(
        partnership.id,
        region_id=region_id,
        side=side,
        name=name,
        title=title,
        email=email,
        user_id=user_id,
        start_date=start_date,
        end_date=end_date,
    )
    with acting_as(actor.id):
        sponsor = Sponsor(partnership_id=partnership.id, **values)
        db.session.add(sponsor)
        db.session.commit()
    return sponsor


def update_sponsorship(
    actor: User,
    sponsor: Sponsor,
    *,
    region_id: int | None,
    side: Side | str | None,
    name: str | None,
    title: str | None = None,
    email: str | None = None,
    user_id: int | None = None,
    start_date: dt.date | None,
    end_date: dt.date | None = None,
    expected_version: int | None,
) -> Sponsor:
    access.require(actor, Action.MANAGE, sponsor.partnership_id, message=MANAGE_MESSAGE)
    check_version(sponsor, expected_version, STALE_MESSAGE)
    values = _clean(
        sponsor.partnership_id,
        region_id=region_id,
        side=side,
        name=name,
        title=title,
        email=email,
        user_id=user_id,
        start_date=start_date,
        end_date=end_date,
        current_region_id=sponsor.region_id,
    )
    with acting_as(actor.id), guarded_save(STALE_MESSAGE):
        for key, value in values.items():
            setattr(sponsor, key, value)
    return sponsor


def end_sponsorship(
    actor: User,
    sponsor: Sponsor,
    end_date: dt.date | None,
    *,
    expected_version: int | None = None,
) -> Sponsor:
    """End a sponsorship on a day; it stays in the history."""
    access.require(actor, Action.MANAGE, sponsor.partnership_id, message=MANAGE_MESSAGE)
    check_version(sponsor, expected_version, STALE_MESSAGE, optional=True)
    if end_date is None:
        raise ValidationFailed("Enter the last day of the sponsorship.", field="end_date")
    if end_date < sponsor.start_date:
        raise ValidationFailed(
            "The end date cannot be before the start date "
            f"({sponsor.start_date.day} {sponsor.start_date:%b %Y}).",
            field="end_date",
        )
    with acting_as(actor.id), guarded_save(STALE_MESSAGE):
        sponsor.end_date = end_date
    return sponsor
