"""Security headers on every response; no caching of anything a signed-in user sees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request
from flask_login import current_user
from werkzeug.serving import WSGIRequestHandler

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


def _set_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    is_static = request.endpoint in {"static", "bootstrap.static"}
    if response.status_code >= 400 or (
        not is_static and getattr(current_user, "is_authenticated", False)
    ):
        response.headers["Cache-Control"] = "no-store"
    elif not is_static:
        # Anonymous pages (sign-in, reset, /healthz) too: nothing dynamic is kept by a cache.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


class SecurityHeadersMiddleware:
    """Adds the security headers to answers given outside Flask (``assets.AssetMiddleware``)
    that lack them."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def start(status: str, response_headers: list[tuple[str, str]], *args: Any) -> Any:
            present = {name.lower() for name, _ in response_headers}
            response_headers.extend(
                (name, value)
                for name, value in SECURITY_HEADERS.items()
                if name.lower() not in present
            )
            return start_response(status, response_headers, *args)

        return self.wsgi_app(environ, start)


def hide_server_version() -> None:
    """Werkzeug's development server names itself ``Werkzeug/<version> Python/<version>`` in
    its ``Server`` header; make it say ``MLS-Tracker`` (for ``flask run`` and the browser
    tests' server; gunicorn says just ``gunicorn``). Idempotent."""
    WSGIRequestHandler.version_string = lambda self: SERVER  # type: ignore[method-assign]


def protect_wsgi(app: Flask) -> None:
    """After every other WSGI layer (the hashed assets) is installed."""
    app.wsgi_app = SecurityHeadersMiddleware(app.wsgi_app)  # type: ignore[method-assign]


def init_app(app: Flask) -> None:
    app.after_request(_set_headers)
