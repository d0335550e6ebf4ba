"""Security headers on every response; no caching of anything a signed-in user sees. Decided
without the database: an answer given during an outage, or after a commit, has them too."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, g, request, session
from werkzeug.serving import WSGIRequestHandler

from mls_tracker.errors import plain_page

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Browsers ignore HSTS over plain HTTP, so it is safe to send always.
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}
SERVER = "MLS-Tracker"


log = logging.getLogger("mls_tracker.headers")


def _signed_in() -> bool:
    """Whether the answer is for a signed-in user, from what is already in memory: the user
    Flask-Login loaded for this request (its ``active`` as loaded, never refreshed: after a
    commit or a rollback it is expired, and reading it would query the database), else the
    session cookie. In doubt, signed in (the answer is not cached)."""
    user = g.get("_login_user")
    if user is None:
        return "_user_id" in session
    state = sa.inspect(user, raiseerr=False)
    if state is None:  # the anonymous user: a plain object
        return bool(getattr(user, "is_authenticated", False))
    return state.dict.get("active") is not False


def _set_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    is_static = request.endpoint in {"static", "bootstrap.static"}
    if response.status_code >= 400 or (not is_static and _signed_in()):
        response.headers["Cache-Control"] = "no-store"
    elif not is_static:
        # Anonymous pages (sign-in, reset, /healthz) too: nothing dynamic is kept by a cache.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


class SecurityHeadersMiddleware:
    """Adds the security headers to answers given outside Flask (``assets.AssetMiddleware``)
    that lack them; and answers our own plain 500 page, not the server's bare one, when
    something escapes the app's error handling (unless the app propagates exceptions, as its
    tests do)."""

    def __init__(self, wsgi_app: Any, app: Flask | None = None) -> None:
        self.wsgi_app = wsgi_app
        self.app = app

    def _propagates(self) -> bool:
        if self.app is None:
            return True
        propagate = self.app.config.get("PROPAGATE_EXCEPTIONS")
        return bool(self.app.testing or self.app.debug) if propagate is None else propagate

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def start(status: str, response_headers: list[tuple[str, str]], *args: Any) -> Any:
            present = {name.lower() for name, _ in response_headers}
            response_headers.extend(
                (name, value)
                for name, value in SECURITY_HEADERS.items()
                if name.lower() not in present
            )
            return start_response(status, response_headers, *args)

        try:
            return self.wsgi_app(environ, start)
        except Exception:
            if self._propagates():
                raise
            log.exception("Unhandled error outside the error pages")
            body = plain_page(500).encode()
            start(
                "500 INTERNAL SERVER ERROR",
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Length", str(len(body))),
                    ("Cache-Control", "no-store"),
                ],
                sys.exc_info(),
            )
            return [body]


def hide_server_version() -> None:
    """Werkzeug's development server names itself ``Werkzeug/<version> Python/<version>`` in
    its ``Server`` header; make it say ``MLS-Tracker`` (for ``flask run`` and the browser
    tests' server; gunicorn says just ``gunicorn``). Idempotent."""
    WSGIRequestHandler.version_string = lambda self: SERVER  # type: ignore[method-assign]


def protect_wsgi(app: Flask) -> None:
    """After every other WSGI layer (the hashed assets) is installed."""
    app.wsgi_app = SecurityHeadersMiddleware(app.wsgi_app, app)  # type: ignore[method-assign]


def init_app(app: Flask) -> None:
    app.after_request(_set_headers)
