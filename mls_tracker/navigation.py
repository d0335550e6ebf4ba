"""The main navigation of a signed-in user's pages, rendered once and remembered.

It is the same markup on every page of the same kind a user opens (the link marked current
depends on the page's endpoint and blueprint), with the same counts and name, and rendering it
(about twenty URLs built, the user menu) was a fixed cost of every page: 0.3–0.6 ms of a
4.3–5.1 ms page view in-process (benchmark: the same pages alternately with and without it).
It is remembered per process under everything it shows — the user, their name and e-mail,
administrator or not, whether they may read the audit log, the queue and inbox counts (still
read on every request), the endpoint and blueprint — with a mark in place of the session's
CSRF token (the sign-out form), put back on each request (``page_parts``).
"""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_login import current_user
from markupsafe import Markup

from mls_tracker.page_parts import tokenless, with_token
from mls_tracker.services.data_version import app_memo

# Users × the kinds of page they open × their counts; a few kB each.
REMEMBERED = 2048


def main_nav() -> Markup:
    """The navigation's items for the signed-in user, on this page."""
    from mls_tracker.history.routes import may_read_audit_log
    from mls_tracker.queues.routes import nav_counts

    counts = nav_counts()
    key = (
        current_user.id,
        current_user.display_name,
        current_user.email,
        bool(current_user.is_admin),
        may_read_audit_log(),
        tuple(sorted(counts.queues.items())) if counts else None,
        counts.unread if counts else None,
        tuple(sorted(counts.roles)) if counts else None,
        request.endpoint,
        request.blueprint,
    )
    memo = app_memo("main_nav", REMEMBERED)
    markup = memo.get(key)
    if markup is None:
        markup = tokenless(lambda: render_template("_nav.html"))()
        memo.put(key, markup)
    return with_token(markup)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["main_nav"] = main_nav
