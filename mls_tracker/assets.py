"""Static assets (plotly.js, the scorecard's print assets) served under content-hashed URLs.

plotly.js is served by a small WSGI layer in front of Flask, at
``/assets/plotly-<sha256[:16]>.min.js`` with a one-year immutable cache, so that a repeat visit
downloads nothing. plotly.js normally injects its stylesheet into a ``<style>`` element, which
our Content-Security-Policy (``style-src 'self'``) forbids; so its rules are taken from the same
file and served as ``/assets/plotly-<sha256[:16]>.css``, linked with the id and class plotly.js
looks for (``plotly.js-style-global`` / ``no-inline-styles``) so that it injects nothing.

Serving them before Flask keeps these requests away from the session, the database and the
``no-store`` header signed-in pages get (and needs no permission-matrix row, as no Flask route
exists); any other hash falls through to Flask, which answers 404. Never a CDN: the file
comes from the installed plotly package.

The scorecard's print assets (``reports/*.css``, fonts, images — not its templates) are served
the same way, at ``/assets/report/<name>-<sha256[:16]><suffix>``, for the browser preview of a
scorecard; ``report_asset_url(name)`` is the ``asset_url`` the preview is rendered with. The PDF
never uses these URLs: WeasyPrint reads the same files through ``mls-report:``.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import plotly
from flask import Flask, request, url_for
from werkzeug.wrappers import Request, Response

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
REPORTS_DIR = Path(__file__).resolve().parent.parent / "reports"
REPORT_ASSET_TYPES = {
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
}
PREFIX = "/assets/"
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class HashedAsset:
    path: str  # under the application root, e.g. /assets/plotly-0123456789abcdef.min.js
    body: bytes
    gzipped: bytes
    mimetype: str


def _hashed(stem: str, suffix: str, body: bytes, mimetype: str) -> HashedAsset:
    digest = hashlib.sha256(body).hexdigest()[:16]
    return HashedAsset(
        f"{PREFIX}{stem}-{digest}{suffix}", body, gzip.compress(body, mtime=0), mimetype
    )


def plotly_asset(source: Path = PLOTLY_JS) -> HashedAsset:
    """plotly.min.js and its hashed path, read and compressed once per process (4.8 MB:
    ~0.2 s). ``plotly_asset()`` and ``plotly_asset(PLOTLY_JS)`` are one cache entry — they
    were two, and each process compressed the file twice."""
    return _plotly_asset_at(source.resolve())


@cache
def _plotly_asset_at(source: Path) -> HashedAsset:
    return _hashed("plotly", ".min.js", source.read_bytes(), "text/javascript")


def warm_up() -> None:
    """Computes the served assets (plotly.js compressed, its stylesheet, the report assets)
    in a worker that has just started, before its first request needs them."""
    plotly_asset()
    plotly_css_asset()
    plotly_style_guard_ids()
    report_assets()


_JS_STRING = r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
_RULE = re.compile(rf"({_JS_STRING}|[A-Za-z_$][\w$]*):({_JS_STRING})")


def _unquote(literal: str) -> str:
    if literal[:1] in ("'", '"'):
        return re.sub(r"\\(.)", r"\1", literal[1:-1])
    return literal


def plotly_css_text(script: str) -> str:
    """plotly.js's global style rules (the object it passes to ``addStyleRule``) as CSS;
    empty if this plotly.js is shaped differently (charts still draw, less polished)."""
    start = script.find('{"X,X div":')
    end = script.find("};for(", start)
    if start < 0 or end < 0:
        return ""
    rules = []
    for key, value in _RULE.findall(script[start + 1 : end]):
        selector = (
            _unquote(key)
            .replace(",", " ,")
            .replace("X", ".js-plotly-plot .plotly")
            .replace("Y", ".plotly-notifier")
        )
        rules.append(f"{selector} {{{_unquote(value)}}}")
    return "\n".join(rules) + "\n"


_STYLE_GUARD = re.compile(
    r'if\(!document\.getElementById\("([0-9a-f]{16,64})"\)\)\{'
    r'var \w+=document\.createElement\("style"\)'
)


@cache
def plotly_style_guard_ids(source: Path = PLOTLY_JS) -> tuple[str, ...]:
    """Ids that plotly.js's bundled libraries (maplibre) check before injecting a ``<style>``
    at load time: a page that has elements with these ids makes them inject nothing. We draw
    no maps, so their CSS is not needed."""
    return tuple(dict.fromkeys(_STYLE_GUARD.findall(plotly_asset(source).body.decode("utf-8"))))


@cache
def plotly_css_asset(source: Path = PLOTLY_JS) -> HashedAsset:
    css = plotly_css_text(plotly_asset(source).body.decode("utf-8"))
    return _hashed("plotly", ".css", css.encode("utf-8"), "text/css")


@cache
def report_assets(root: Path = REPORTS_DIR) -> dict[str, HashedAsset]:
    """Every asset under ``reports/`` by its name there (``scorecard.css``,
    ``fonts/x.woff2``), read once per process; templates are not assets."""
    assets = {}
    for path in sorted(root.rglob("*")):
        mimetype = REPORT_ASSET_TYPES.get(path.suffix.lower())
        if mimetype is None or not path.is_file():
            continue
        name = path.relative_to(root).as_posix()
        stem = name[: -len(path.suffix)]
        assets[name] = _hashed(f"report/{stem}", path.suffix, path.read_bytes(), mimetype)
    return assets


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
        response = Response(asset.gzipped if accepts_gzip else asset.body, mimetype=asset.mimetype)
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


def plotly_css_url() -> str:
    """The hashed URL of plotly.js's stylesheet (a Jinja global)."""
    return request.script_root + plotly_css_asset().path


def report_asset_url(name: str) -> str:
    """The URL of a scorecard asset for the browser preview (``render_scorecard_html``'s
    ``asset_url``): a file under ``reports/``, or one of the scripts the preview draws its
    charts with (``plotly.min.js``, ``plotly.css``, ``charts.js``, as the web pages do)."""
    if name == "plotly.min.js":
        return plotly_js_url()
    if name == "plotly.css":
        return plotly_css_url()
    if name == "charts.js":
        return url_for("static", filename="js/charts.js")
    asset = report_assets().get(name)
    if asset is None:
        raise KeyError(f"no report asset {name!r} under {REPORTS_DIR}")
    return request.script_root + asset.path


def init_app(app: Flask) -> None:
    """Serve the hashed assets; templates get ``plotly_js_url()``, ``plotly_css_url()`` and
    ``report_asset_url(name)``."""
    assets = {asset.path: asset for asset in (plotly_asset(), plotly_css_asset())}
    assets.update({asset.path: asset for asset in report_assets().values()})
    app.wsgi_app = AssetMiddleware(app.wsgi_app, assets)  # type: ignore[method-assign]
    app.jinja_env.globals["plotly_js_url"] = plotly_js_url
    app.jinja_env.globals["plotly_css_url"] = plotly_css_url
    app.jinja_env.globals["plotly_style_guard_ids"] = plotly_style_guard_ids
    app.jinja_env.globals["report_asset_url"] = report_asset_url
