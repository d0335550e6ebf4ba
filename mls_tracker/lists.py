"""What every list does the same way with its address: a row's link carries the list's URL
(its filters, sort and page) as ``next=``, and the page it opens returns there — its
breadcrumb, its Cancel and the redirect after a save — instead of to the list's default view.

``next`` is followed only when it is a path of this app (``formhelp.local_path``): it never
sends anyone elsewhere.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import current_app, request
from werkzeug.exceptions import HTTPException

from mls_tracker.formhelp import local_path

# What "Back to …" says for a list that is not the section named in the breadcrumb.
BACK_LABELS = {
    "queues.show": "the queue",
    "inbox.index": "the inbox",
    "actions.mine": "My actions",
    "dashboard.portfolio": "the portfolio",
    "partnerships.index": "the partnerships",
    "history.index": "the history",
    "accounts.users": "the people",
}


def list_path(*, always: bool = False) -> str | None:
    """This list's path with its query, for a row's link to pass on as ``next=``. None for a
    list's default view (no query), whose rows return to the default list anyway — and whose
    markup, the same for every visitor, may be remembered; ``always`` for a list that no
    breadcrumb names (a queue, My actions), whose rows carry it even then."""
    if not request.args and not always:
        return None
    path = request.full_path
    return path[:-1] if path.endswith("?") else path


def came_from() -> str | None:
    """The list this page was opened from (``next=``), if it is a path of this app."""
    return local_path(request.args.get("next"))


def return_to(default: str) -> str:
    """Where Cancel and the redirect after a save go: the list the page was opened from, or
    ``default``."""
    return came_from() or default


def back_to(url: str) -> str:
    """``url`` (a list's default address in a breadcrumb) or, when the page was opened from
    that same list filtered or sorted, that list's address with its query."""
    origin = came_from()
    if origin and urlsplit(origin).path == urlsplit(url).path:
        return origin
    return url


def back_link(section_url: str | None = None) -> tuple[str, str] | None:
    """(URL, "Back to the queue") when the page was opened from one of the lists that no
    breadcrumb names (a queue, the inbox, My actions…), else None."""
    origin = came_from()
    if not origin or (section_url and urlsplit(origin).path == urlsplit(section_url).path):
        return None
    try:
        endpoint, _ = current_app.url_map.bind("local").match(urlsplit(origin).path)
    except HTTPException:  # local_path matched it already; a route may have gone since
        return None
    label = BACK_LABELS.get(endpoint)
    return (origin, f"Back to {label}") if label else None


def with_next(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` for ``url_for`` with this page's ``next`` kept (an Edit link on a page
    opened from a filtered list, so that saving returns along the same way)."""
    origin = came_from()
    return {**values, "next": origin} if origin else values


def carrying_next(path: str) -> str:
    """``path`` (a local path, perhaps with a query and an anchor) with this request's
    ``next`` added, so that the page it leads to can lead back (a notification's object)."""
    origin = came_from()
    if not origin:
        return path
    parts = urlsplit(path)
    query = "&".join(part for part in (parts.query, urlencode({"next": origin})) if part)
    return urlunsplit(parts._replace(query=query))


def init_app(app: Any) -> None:
    app.jinja_env.globals.update(
        list_path=list_path, back_to=back_to, back_link=back_link, came_from=came_from
    )
