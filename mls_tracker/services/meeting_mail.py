"""A meeting's calendar invitation (.ics, RFC 5545) and the e-mails sent to its attendees: the
invitation itself, and the summary of the approved minutes with each person's own action items.

The .ics is one VEVENT with a UID stable per meeting, DTSTART/DTEND in UTC, and a SEQUENCE
the meeting bumps whenever its date, time, length or place changes (``Meeting.ics_sequence``),
so calendars replace the event they already hold instead of adding a second one.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass
from urllib.parse import urlsplit

import icalendar
import sqlalchemy as sa
from flask import current_app, url_for

from mls_tracker import access
from mls_tracker.access import Action
from mls_tracker.extensions import db, mail
from mls_tracker.formatting import viewer_zone
from mls_tracker.models import (
    ActionItem,
    Meeting,
    MeetingState,
    Membership,
    Partnership,
    Role,
    Sponsor,
    User,
)
from mls_tracker.models.base import utcnow
from mls_tracker.services import meetings
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.mail import templated_message

_NOBODY = object()  # someone with no account: times in the app's DISPLAY_TIME_ZONE
NO_TIME_MESSAGE = "Set the meeting's start time and length first: an invitation needs them."


@dataclass(frozen=True, slots=True)
class Recipient:
    name: str
    email: str
    user_id: int | None  # whose action items are theirs (a sponsor's own account, if any)
    role: str
    zone: dt.tzinfo  # the time zone their times are written in


def recipients(meeting: Meeting) -> list[Recipient]:
    """The meeting's people who have an e-mail address, once each: the partnership's active
    members and the sponsors of the meeting (attendees())."""
    people = meetings.attendees(meeting)
    user_ids = [p.id for p in people if p.kind == "user"]
    sponsor_ids = [p.id for p in people if p.kind == "sponsor"]
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(user_ids)))}
    sponsors = {
        s.id: s for s in db.session.scalars(sa.select(Sponsor).where(Sponsor.id.in_(sponsor_ids)))
    }
    found: dict[str, Recipient] = {}
    for person in people:
        if person.kind == "user":
            user = users[person.id]
            if not user.active or user.is_service_account:
                continue
            email, account = user.email, user
        else:
            sponsor = sponsors[person.id]
            account = sponsor.user
            email = sponsor.email or (account.email if account else None)
        if email and email.lower() not in found:
            found[email.lower()] = Recipient(
                person.name,
                email,
                account.id if account else None,
                person.role,
                viewer_zone(account) if account else viewer_zone(_NOBODY),
            )
    return list(found.values())


def organizer(partnership_id: int) -> User | None:
    """Who the invitation comes from: the partnership's first lead."""
    return db.session.scalars(
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.partnership_id == partnership_id, Membership.role == Role.LEAD)
        .order_by(User.id)
        .limit(1)
    ).first()


def _uid(meeting: Meeting) -> str:
    host = urlsplit(str(current_app.config["EXTERNAL_URL"])).hostname or "mls-tracker.local"
    return f"meeting-{meeting.id}@{host}"


def summary(meeting: Meeting, partnership: Partnership) -> str:
    kind = meeting.kind.value.capitalize()
    name = f"{kind} meeting" if kind == "Monthly" else kind
    return f"{partnership.name}: {name} (reviews {meeting.reviewed_month.label})"


def _description(meeting: Meeting, link: str) -> str:
    lines = [f"Reviews {meeting.reviewed_month.label}.", ""]
    grouped = meetings.grouped_agenda(meeting)
    if grouped:
        lines.append("Agenda")
        for section, items in grouped:
            lines.append(f"{section}:")
            lines += [f"- {item.title}" for item in items]
    else:
        lines.append("No agenda item yet.")
    lines += ["", f"The meeting in MLS Tracker: {link}"]
    return "\n".join(lines)


def ics_filename(meeting: Meeting) -> str:
    return f"meeting-{meeting.id}-{meeting.held_on.isoformat()}.ics"


def build_ics(meeting: Meeting, partnership: Partnership) -> bytes:
    """The meeting as an iCalendar REQUEST (needs a start time and length)."""
    if meeting.starts_at is None or meeting.duration_minutes is None:
        raise ValidationFailed(NO_TIME_MESSAGE)
    link = url_for(
        "meetings.show",
        partnership_id=partnership.id,
        meeting_id=meeting.id,
        _external=True,
    )
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//MLS Tracker//Governance meetings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = icalendar.Event()
    event.add("uid", _uid(meeting))
    event.add("sequence", meeting.ics_sequence)
    event.add("dtstamp", utcnow().replace(microsecond=0))
    start = meeting.starts_at.astimezone(dt.UTC)
    event.add("dtstart", start)
    event.add("dtend", start + dt.timedelta(minutes=meeting.duration_minutes))
    event.add("summary", summary(meeting, partnership))
    if meeting.place:
        event.add("location", meeting.place)
    event.add("url", meeting.place if meetings.is_video_link(meeting.place) else link)
    event.add("description", _description(meeting, link))
    event.add("status", "CONFIRMED")
    lead = organizer(partnership.id)
    if lead is not None:
        who = icalendar.vCalAddress(f"mailto:{lead.email}")
        who.params["cn"] = icalendar.vText(lead.display_name)
        event.add("organizer", who)
    for person in recipients(meeting):
        address = icalendar.vCalAddress(f"mailto:{person.email}")
        address.params["cn"] = icalendar.vText(person.name)
        address.params["role"] = icalendar.vText("REQ-PARTICIPANT")
        address.params["partstat"] = icalendar.vText("NEEDS-ACTION")
        address.params["rsvp"] = icalendar.vText("TRUE")
        event.add("attendee", address, encode=0)
    calendar.add_component(event)
    return calendar.to_ical()


@dataclass(frozen=True, slots=True)
class Sent:
    sent: tuple[str, ...]  # e-mail addresses
    failed: tuple[tuple[str, str], ...]  # (address, why)

    @property
    def text(self) -> str:
        done = f"{len(self.sent)} {'person' if len(self.sent) == 1 else 'people'}"
        if not self.failed:
            return f"Sent to {done}."
        missed = "; ".join(f"{email} ({why})" for email, why in self.failed)
        return f"Sent to {done}; not sent to {missed}."


def _send_each(messages: list[tuple[str, object]]) -> Sent:
    sent, failed = [], []
    with mail.connect() as connection:
        for email, message in messages:
            try:
                connection.send(message)
            except (smtplib.SMTPException, OSError) as error:
                current_app.logger.warning("Meeting mail to %s failed: %s", email, error)
                failed.append((email, str(error) or error.__class__.__name__))
            else:
                sent.append(email)
    return Sent(tuple(sent), tuple(failed))


def send_invitations(actor: User, meeting: Meeting, partnership: Partnership) -> Sent:
    """E-mail every attendee the invitation with the .ics attached (a lead's step)."""
    access.require(actor, Action.MANAGE, meeting.partnership_id, message=meetings.MANAGE_MESSAGE)
    if meeting.state is not MeetingState.PLANNED:
        raise ValidationFailed("Invitations are for a planned meeting: this one has been held.")
    ics = build_ics(meeting, partnership)
    people = recipients(meeting)
    if not people:
        raise ValidationFailed("Nobody of this meeting has an e-mail address to invite.")
    title = summary(meeting, partnership)
    link = url_for(
        "meetings.show", partnership_id=partnership.id, meeting_id=meeting.id, _external=True
    )
    messages = []
    for person in people:
        message = templated_message(
            person.email,
            f"Invitation: {title}",
            "meeting_invitation",
            person=person,
            meeting=meeting,
            partnership=partnership,
            title=title,
            link=link,
            when=meetings.when_text(meeting, person.zone),
            sender=actor.display_name,
        )
        message.attach(ics_filename(meeting), "text/calendar; method=REQUEST; charset=UTF-8", ics)
        messages.append((person.email, message))
    return _send_each(messages)


def send_minutes(meeting: Meeting, partnership: Partnership) -> Sent:
    """After approval: each attendee gets the minutes' summary, the decisions and the action
    items they own."""
    items = list(
        db.session.scalars(
            sa.select(ActionItem)
            .where(ActionItem.meeting_id == meeting.id)
            .order_by(ActionItem.due_on, ActionItem.id)
        )
    )
    title = summary(meeting, partnership)
    link = url_for(
        "meetings.show", partnership_id=partnership.id, meeting_id=meeting.id, _external=True
    )
    messages = []
    for person in recipients(meeting):
        own = [i for i in items if person.user_id is not None and i.owner_id == person.user_id]
        message = templated_message(
            person.email,
            f"Approved minutes: {title}",
            "meeting_minutes",
            person=person,
            meeting=meeting,
            partnership=partnership,
            title=title,
            link=link,
            when=meetings.when_text(meeting, person.zone),
            own_items=own,
            action_link=lambda item: url_for(
                "actions.show",
                partnership_id=partnership.id,
                action_id=item.id,
                _external=True,
            ),
        )
        messages.append((person.email, message))
    return _send_each(messages) if messages else Sent((), ())
