"""Static assets served from installed packages (plotly.js) under content-hashed URLs.

plotly.js is served by a small WSGI layer in front of Flask, at
``/assets/plotly-<sha256[:16]>.min.js`` with a one-year immutable cache, so that a repeat visit
downloads nothing. Serving it before Flask keeps the request away from the session, the
database and the ``no-store`` header signed-in pages get; any other hash falls through to
Flask, which answers 404. Never a CDN: the file comes from the installed plotly package.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import plotly
from flask import Flask, request
from werkzeug.wrappers import Request, Response

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
PREFIX = "/assets/"
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class HashedAsset:
    path: str  # under the application root, e.g. /assets/plotly-0123456789abcdef.min.js
    body: bytes
    gzipped: bytes


@cache
def plotly_asset(source: Path = PLOTLY_JS) -> HashedAsset:
    """plotly.min.js and its hashed path, read once per process."""
    body = source.read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:16]
    return HashedAsset(f"{PREFIX}plotly-{digest}.min.js", body, gzip.compress(body, mtime=0))


class AssetMiddleware:
    """Answers the hashed asset paths; everything else goes to the wrapped app."""

    def __init__(self, wsgi_app, assets: dict[str, HashedAsset]) -> None:
        self.wsgi_app = wsgi_app
        self.assets = assets

    def __call__(self, environ, start_response):
        asset = self.assets.get(environ.get("PATH_INFO", ""))
        if asset is None or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        accepts_gzip = "gzip" in Request(environ).accept_encodings
        response = Response(
            asset.gzipped if accepts_gzip else asset.body,
            mimetype="text/javascript",
        )
        if accepts_gzip:
            response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Cache-Control"] = IMMUTABLE
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        return response(environ, start_response)


def plotly_js_url() -> str:
    """The hashed URL of plotly.min.js (a Jinja global)."""
    return request.script_root + plotly_asset().path


def init_app(app: Flask) -> None:
    """Serve the hashed assets and give templates ``plotly_js_url()``."""
    asset = plotly_asset()
    app.wsgi_app = AssetMiddleware(app.wsgi_app, {asset.path: asset})  # type: ignore[method-assign]
    app.jinja_env.globals["plotly_js_url"] = plotly_js_url
