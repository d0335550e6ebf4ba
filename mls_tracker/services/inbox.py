"""The in-app inbox: notifications written in the transaction of the change they announce,
read and marked read by their user, and e-mailed at once or in a daily digest as each user
chose (README "Inbox and queues").

Notifications come from two places, neither of them a service of its own:

* ``on_event`` — called by ``webhooks.emit``, which the services already call at the right
  moment for an actual proposed or confirmed and a scorecard issued;
* a flush listener (``_watch``), like the audit log's: an action item saved with a new owner,
  an update on an item (a reopening among them), a sponsor's comment on a scorecard, whatever
  service or route wrote them.

A notification is not ``Audited``: it is a message to one person, not partnership data. Writing
one therefore leaves the partnership's data version (``services/data_version.py``) as it was —
no page remembered under it goes stale because of it, and none is recomputed for it — and the
unread count in the navigation is read afresh on each request, never remembered.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app, url_for

from mls_tracker import jobs
from mls_tracker.audit import current_actor_id
from mls_tracker.extensions import db
from mls_tracker.models import (
    CLOSED_STATUSES,
    KIND_LABELS,
    ActionItem,
    ActionUpdate,
    Membership,
    Notification,
    NotificationDelivery,
    NotificationKind,
    NotificationSetting,
    Partnership,
    Review,
    Role,
    Scorecard,
    ScorecardDelivery,
    Sponsor,
    User,
    utcnow,
)
from mls_tracker.pagination import PageWindow, page_window
from mls_tracker.periods import Month, utc_today
from mls_tracker.services.errors import NotFound, ValidationFailed
from mls_tracker.services.mail import external_links, send_templated

log = logging.getLogger("mls_tracker.inbox")

PER_PAGE = 25
TEXT_MAX = 500
DELIVERY_LABELS = {
    NotificationDelivery.IMMEDIATE: "E-mail each one as it happens",
    NotificationDelivery.DIGEST: "One e-mail a day with what is unread (daily digest)",
    NotificationDelivery.NONE: "No e-mail: I read them here",
}


# ----------------------------------------------------------------------------- writing


def _path(endpoint: str, **values: Any) -> str:
    """A page's path (no host: the inbox links within the site; e-mails add EXTERNAL_URL)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def _row(
    user_id: int, partnership_id: int | None, kind: NotificationKind, text: str, link: str | None
) -> dict[str, Any]:
    if len(text) > TEXT_MAX:
        text = text[: TEXT_MAX - 1] + "…"
    return {
        "user_id": user_id,
        "partnership_id": partnership_id,
        "kind": kind,
        "text": text,
        "link_path": link,
        "created_at": utcnow(),
    }


def _leads(connection: sa.Connection, partnership_id: int) -> list[int]:
    return list(
        connection.scalars(
            sa.select(Membership.user_id)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.partnership_id == partnership_id,
                Membership.role == Role.LEAD,
                User.active.is_(True),
            )
            .order_by(Membership.user_id)
        )
    )


def _names(connection: sa.Connection, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = connection.execute(
        sa.select(User.id, User.display_name, User.email).where(User.id.in_(user_ids))
    )
    return {row.id: row.display_name or row.email for row in rows}


def on_event(event_type: str, partnership_id: int, data: dict[str, Any]) -> None:
    """The notifications an event announced by ``webhooks.emit`` brings (in the caller's
    transaction, like the webhook deliveries); an event without the data it needs brings
    none."""
    connection = db.session.connection()
    rows: list[dict[str, Any]] = []
    if event_type in ("actual.proposed", "actual.confirmed") and "sla" in data:
        sla, month = data["sla"], Month.parse(data["month"])
        link = _path("slas.actuals", partnership_id=partnership_id, month=str(month))
        entered, confirmed = data.get("entered_by_id"), data.get("confirmed_by_id")
        names = _names(connection, {i for i in (entered, confirmed) if i})
        if event_type == "actual.proposed":
            value = "not applicable" if data["not_applicable"] else data["value"]
            who = names.get(entered, "Someone")
            text = f"{who} proposed {sla['code']} {sla['name']} for {month.label}: {value}."
            rows += [
                _row(lead, partnership_id, NotificationKind.ACTUAL_PROPOSED, text, link)
                for lead in _leads(connection, partnership_id)
                if lead != entered
            ]
        elif entered and entered != confirmed:
            who = names.get(confirmed, "A lead")
            text = f"{who} confirmed your {sla['code']} {sla['name']} actual for {month.label}."
            rows.append(
                _row(entered, partnership_id, NotificationKind.ACTUAL_CONFIRMED, text, link)
            )
    elif event_type == "scorecard.issued" and "period" in data:
        period = data["period"]
        first, last = Month.parse(period["first_month"]), Month.parse(period["last_month"])
        span = first.label if first == last else f"{first.label} – {last.label}"
        text = (
            f"The scorecard for {span} (version {data['version']}) is issued: "
            "read it and acknowledge it."
        )
        link = _path("reviews.show", partnership_id=partnership_id, review_id=data["review_id"])
        today = utc_today()
        sponsors = connection.execute(
            sa.select(Sponsor.user_id, Sponsor.start_date, Sponsor.end_date)
            .join(User, User.id == Sponsor.user_id)
            .where(Sponsor.partnership_id == partnership_id, User.active.is_(True))
        )
        users = sorted(
            {
                s.user_id
                for s in sponsors
                if s.start_date <= today and (s.end_date is None or s.end_date >= today)
            }
        )
        rows += [
            _row(u, partnership_id, NotificationKind.SCORECARD_TO_ACKNOWLEDGE, text, link)
            for u in users
        ]
    for values in rows:
        db.session.add(Notification(**values))


def _item_rows(session: so.Session, actor_id: int) -> list[dict[str, Any]]:
    """Notifications of the action items and updates being flushed."""
    wanted: list[tuple[int, int | None, NotificationKind, str, str]] = []
    for obj in session.new:
        if isinstance(obj, ActionItem) and obj.owner_id and obj.owner_id != actor_id:
            wanted.append(_assigned(obj))
        elif isinstance(obj, ActionUpdate):
            item = obj.action_item
            if item is None or not item.owner_id or item.owner_id == obj.author_id:
                continue
            wanted.append(_updated(item, obj))
    for obj in session.dirty:
        if isinstance(obj, ActionItem) and obj not in session.new:
            history = sa.inspect(obj).attrs.owner_id.history
            if not history.added or not history.added[0] or history.added[0] == actor_id:
                continue
            if history.deleted and history.deleted[0] == history.added[0]:
                continue
            wanted.append(_assigned(obj))
    if not wanted:
        return []
    names = _names(session.connection(), {actor_id})
    who = names.get(actor_id, "Someone")
    return [_row(u, p, k, text.replace("{who}", who), link) for u, p, k, text, link in wanted]


def _assigned(item: ActionItem) -> tuple[int, int | None, NotificationKind, str, str]:
    due = item.due_on
    text = f"{{who}} assigned “{item.title}” to you, due {due.day} {due:%b %Y}."
    link = _path("actions.show", partnership_id=item.partnership_id, action_id=item.id)
    return item.owner_id, item.partnership_id, NotificationKind.ASSIGNED, text, link  # type: ignore[return-value]


def _updated(
    item: ActionItem, update: ActionUpdate
) -> tuple[int, int | None, NotificationKind, str, str]:
    """The owner's notification of an update (a reopening among them); ``{who}`` is its
    author."""
    reopened = update.old_status in CLOSED_STATUSES and (
        update.new_status is not None and update.new_status not in CLOSED_STATUSES
    )
    kind = NotificationKind.REOPENED if reopened else NotificationKind.UPDATE
    if reopened:
        text = f"{{who}} reopened “{item.title}”" + (
            f" — {update.text.removeprefix('Reopened: ')}" if update.text else "."
        )
    else:
        change = f" (status {update.old_status} → {update.new_status})" if update.new_status else ""
        note = f": {update.text}" if update.text else "."
        text = f"{{who}} updated “{item.title}”{change}{note}"
    link = _path("actions.show", partnership_id=item.partnership_id, action_id=item.id)
    return item.owner_id, item.partnership_id, kind, text, link  # type: ignore[return-value]


def replay_history(since: dt.datetime, read_before: dt.datetime) -> int:
    """The notifications that action items created and updated since ``since`` would have
    brought, for data written by a load rather than by people in the app (the demo, whose
    writes have no actor): each item its creator assigned to someone else, each update by
    someone other than the item's owner. Dated when those happened; the ones before
    ``read_before`` are read. Returns how many it wrote."""
    session = db.session
    items = session.scalars(
        sa.select(ActionItem).where(
            ActionItem.created_at >= since,
            ActionItem.owner_id.is_not(None),
            ActionItem.created_by_id.is_not(None),
            ActionItem.owner_id != ActionItem.created_by_id,
        )
    ).all()
    updates = session.scalars(
        sa.select(ActionUpdate)
        .join(ActionItem, ActionItem.id == ActionUpdate.action_item_id)
        .where(
            ActionUpdate.created_at >= since,
            ActionItem.owner_id.is_not(None),
            ActionUpdate.author_id.is_not(None),
            ActionUpdate.author_id != ActionItem.owner_id,
        )
        .options(so.joinedload(ActionUpdate.action_item))
    ).all()
    events = [(item.created_at, item.created_by_id, _assigned(item)) for item in items] + [
        (u.created_at, u.author_id, _updated(u.action_item, u)) for u in updates
    ]
    names = _names(session.connection(), {actor for _, actor, _ in events if actor})
    rows = []
    for when, actor, (user, partnership, kind, text, link) in sorted(events, key=lambda e: e[0]):
        row = _row(
            user, partnership, kind, text.replace("{who}", names.get(actor, "Someone")), link
        )
        row.update(created_at=when, read_at=when if when < read_before else None)
        rows.append(row)
    if rows:
        session.execute(sa.insert(Notification), rows)
    return len(rows)


def _comment_rows(session: so.Session) -> list[dict[str, Any]]:
    """A sponsor's comment on a scorecard (new or changed), for the partnership's leads."""
    rows: list[dict[str, Any]] = []
    for obj in session.dirty:
        if not isinstance(obj, ScorecardDelivery):
            continue
        history = sa.inspect(obj).attrs.comment.history
        if not history.added or not history.added[0]:
            continue
        connection = session.connection()
        found = connection.execute(
            sa.select(Review.partnership_id, Review.id)
            .join(Scorecard, Scorecard.review_id == Review.id)
            .where(Scorecard.id == obj.scorecard_id)
        ).first()
        if found is None:
            continue
        partnership_id, review_id = found
        sponsor = None
        if obj.sponsor_id:
            sponsor = connection.scalar(sa.select(Sponsor.name).where(Sponsor.id == obj.sponsor_id))
        comment = history.added[0]
        text = f"{sponsor or obj.email} commented on the scorecard: “{comment}”"
        link = _path("reviews.show", partnership_id=partnership_id, review_id=review_id)
        rows += [
            _row(lead, partnership_id, NotificationKind.SPONSOR_COMMENT, text, link)
            for lead in _leads(connection, partnership_id)
        ]
    return rows


@sa.event.listens_for(so.Session, "after_flush")
def _watch(session: so.Session, _context: Any) -> None:
    new = [obj.id for obj in session.new if isinstance(obj, Notification)]
    # Who is acting, asked only when an action item or update is being written: asking loads
    # the signed-in user, which a flush by the session check itself must not do.
    watched = any(
        isinstance(obj, ActionItem | ActionUpdate) for obj in (*session.new, *session.dirty)
    )
    actor_id = current_actor_id() if watched else None
    with session.no_autoflush:
        rows = _comment_rows(session)
        if actor_id is not None:  # the demo and other loads by nobody in particular: nothing
            rows += _item_rows(session, actor_id)
    connection = session.connection() if new or rows else None
    if rows:
        new += connection.scalars(sa.insert(Notification).returning(Notification.id), rows)  # type: ignore[union-attr]
    if new:  # e-mailed at once only to those who chose it: no job for the others
        immediate = connection.scalars(  # type: ignore[union-attr]
            sa.select(Notification.id)
            .join(NotificationSetting, NotificationSetting.user_id == Notification.user_id)
            .where(
                Notification.id.in_(new),
                NotificationSetting.delivery == NotificationDelivery.IMMEDIATE,
            )
        ).all()
        jobs.queue_after_commit(session, "notification_task", immediate, "they wait in the inbox")


# ----------------------------------------------------------------------------- e-mail


def delivery_of(user_id: int) -> NotificationDelivery:
    setting = db.session.get(NotificationSetting, user_id)
    return setting.delivery if setting else NotificationDelivery.DIGEST


def _link(notification: Notification) -> str:
    """Where an e-mailed notification leads (EXTERNAL_URL, never a request's host)."""
    inbox_url = url_for("inbox.index", _external=True)
    return urljoin(inbox_url, notification.link_path) if notification.link_path else inbox_url


def email_one(notification_id: int) -> bool:
    """E-mails a notification to a user who chose immediate e-mail (once); whether it went.
    A failure is logged, and the notification stays in the inbox."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.emailed_at is not None:
        return False
    user = db.session.get(User, notification.user_id)
    if (
        user is None
        or not user.active
        or delivery_of(user.id) is not NotificationDelivery.IMMEDIATE
    ):
        return False
    try:
        with external_links():
            send_templated(
                user.email,
                f"MLS Tracker: {KIND_LABELS[notification.kind].lower()}",
                "notification",
                name=user.display_name or user.email,
                notification=notification,
                link=_link(notification),
                inbox_url=url_for("inbox.index", _external=True),
            )
    except Exception as error:  # noqa: BLE001 — any SMTP or network error
        db.session.rollback()
        log.warning("notification %s not e-mailed to %s: %s", notification_id, user.email, error)
        return False
    notification.emailed_at = utcnow()
    db.session.commit()
    return True


@dataclass(frozen=True, slots=True)
class DigestResult:
    sent: int
    notifications: int
    failures: tuple[tuple[str, str], ...]


def send_digests(now: dt.datetime | None = None) -> DigestResult:
    """E-mails each user who chose the daily digest their unread notifications not e-mailed
    yet, in one message; each notification goes out once."""
    now = now or utcnow()
    chose_otherwise = sa.select(NotificationSetting.user_id).where(
        NotificationSetting.delivery != NotificationDelivery.DIGEST
    )
    user_ids = db.session.scalars(
        sa.select(Notification.user_id)
        .join(User, User.id == Notification.user_id)
        .where(
            Notification.read_at.is_(None),
            Notification.emailed_at.is_(None),
            Notification.user_id.not_in(chose_otherwise),
            User.active.is_(True),
        )
        .distinct()
        .order_by(Notification.user_id)
    ).all()
    sent = count = 0
    failures = []
    for user_id in user_ids:
        user = db.session.get(User, user_id)
        rows = _unsent(user_id)
        try:
            with external_links():
                send_templated(
                    user.email,  # type: ignore[union-attr]
                    f"MLS Tracker: {len(rows)} new notification{'' if len(rows) == 1 else 's'}",
                    "inbox_digest",
                    name=user.display_name or user.email,  # type: ignore[union-attr]
                    rows=rows,
                    labels=KIND_LABELS,
                    link=_link,
                    inbox_url=url_for("inbox.index", _external=True),
                )
        except Exception as error:  # noqa: BLE001 — per recipient
            db.session.rollback()
            failures.append((user.email, str(error) or type(error).__name__))  # type: ignore[union-attr]
            continue
        for row in rows:
            row.emailed_at = now
        setting = db.session.get(NotificationSetting, user_id)
        if setting is None:
            setting = NotificationSetting(user_id=user_id, delivery=NotificationDelivery.DIGEST)
            db.session.add(setting)
        setting.last_digest_at = now
        db.session.commit()
        sent += 1
        count += len(rows)
    return DigestResult(sent, count, tuple(failures))


def _unsent(user_id: int) -> list[Notification]:
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.read_at.is_(None),
                Notification.emailed_at.is_(None),
            )
            .order_by(Notification.created_at, Notification.id)
        )
    )


def init_app(app: Flask) -> None:
    """Registers the immediate e-mail task on the job queue."""
    queue = app.extensions["mls_jobs"]

    @queue.huey.task(name="mls_tracker.email_notification")
    def email_notification(notification_id: int) -> None:
        with app.app_context():
            try:
                email_one(notification_id)
            except Exception:
                db.session.rollback()
                log.exception("notification %s: the e-mail failed", notification_id)

    queue.notification_task = email_notification


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class InboxRow:
    id: int
    kind: NotificationKind
    label: str
    text: str
    link_path: str | None
    partnership_name: str | None
    created_at: dt.datetime
    read: bool


@dataclass(frozen=True, slots=True)
class InboxPage:
    rows: list[InboxRow]
    window: PageWindow
    unread: int


def inbox_page(user: User, *, unread_only: bool, kind: str | None, page: object = 1) -> InboxPage:
    """A page of the user's notifications, newest first."""
    query = (
        sa.select(Notification, Partnership.name)
        .outerjoin(Partnership, Partnership.id == Notification.partnership_id)
        .where(Notification.user_id == user.id)
    )
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if kind in {k.value for k in NotificationKind}:
        query = query.where(Notification.kind == NotificationKind(kind))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    window = page_window(total, page, PER_PAGE)
    result = db.session.execute(
        query.order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset(window.offset)
        .limit(PER_PAGE)
    ).all()
    unread = (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )
    rows = [
        InboxRow(
            id=n.id,
            kind=n.kind,
            label=KIND_LABELS[n.kind],
            text=n.text,
            link_path=n.link_path,
            partnership_name=name,
            created_at=n.created_at,
            read=n.read_at is not None,
        )
        for n, name in result
    ]
    return InboxPage(rows, window, unread)


def _own(user: User, notification_id: int) -> Notification:
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise NotFound()
    return notification


def open_notification(user: User, notification_id: int) -> str:
    """Marks the user's notification read; where it leads. Another user's: NotFound."""
    notification = _own(user, notification_id)
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.commit()
    return notification.link_path or ""


def mark_all_read(user: User) -> int:
    """Marks every unread notification of the user read; how many."""
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()
    return result.rowcount or 0


def set_delivery(user: User, choice: str | None) -> NotificationDelivery:
    """The user's own choice of how notifications reach them by e-mail."""
    try:
        delivery = NotificationDelivery(choice)
    except ValueError:
        raise ValidationFailed("Choose how you want to hear of them.", field="delivery") from None
    setting = db.session.get(NotificationSetting, user.id)
    if setting is None:
        setting = NotificationSetting(user_id=user.id)
        db.session.add(setting)
    setting.delivery = delivery
    db.session.commit()
    return delivery
