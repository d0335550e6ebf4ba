"""Charts as SVG for the PDF scorecards: the same plotly figures as the web pages
(``charts.py``), exported by kaleido driving Debian's Chromium.

Designed around what is known of kaleido 1.x:

- Starting Chromium costs seconds (measured: 4.6 s for the first figure, then ~0.3 s each),
  so each process keeps **one** kaleido server, started lazily on first use — never at
  import, so a forking server or job worker starts its own after the fork.
- Of those ~0.3 s, ~85 % is not drawing: after every figure kaleido *reloads* its tab, which
  parses plotly.min.js (4.6 MB) again (measured 2026-11: 5 figures 0.55–0.65 s with the reload,
  0.06 s without). ``Plotly.toImage`` draws into a temporary element it removes afterwards,
  so a tab is only reloaded every ``RELOAD_EVERY`` figures, to bound whatever the page leaks.
- ``figures_svg`` draws a scorecard's charts in one call, concurrently on ``TABS`` tabs of the
  same server (kaleido hands each figure a free tab; each result is its own figure's).
- One server shared by several threads can hand a thread another thread's image
  (plotly/Kaleido issue 444), so calls are **serialised** by a lock and the server is
  **per process** (a pid check restarts it in a forked child). kaleido's own global sync
  server is not used: after a fork it believes it is still running.
- Nothing is fetched from the network: plotly.js comes from the installed plotly package
  and MathJax is off.
- SVGs are cached in memory by a SHA-256 of the figure and the size (an LRU of 256).
- Each SVG is made lighter for WeasyPrint (``lighten``: styles as attributes, no empty groups,
  no attributes it never draws) — the same PDF, with ~10 % less layout work per scorecard.
- plotly names an SVG's clip paths after a random id; it is replaced by one derived from the
  figure, so the same figure always gives the same SVG text (and a re-rendered scorecard the
  same PDF bytes) and two charts of one page never share an id.
- Without Chromium, exporting raises ``ChartExportUnavailable`` saying how to install it.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import json
import logging
import os
import queue
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go

from mls_tracker.chromium import CHROMIUM_PATH
from mls_tracker.services.errors import DomainError

# kaleido and choreographer log every tab and temporary folder at INFO.
_CHATTY_LOGGERS = ("choreographer", "kaleido", "logistro")
for _name in _CHATTY_LOGGERS:
    logging.getLogger(_name).setLevel(logging.WARNING)

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
RENDER_TIMEOUT = 90  # seconds for one figure, Chromium's start included
CACHE_SIZE = 256
TABS = 1  # see the module docstring: a second tab slows the start and gains nothing here
RELOAD_EVERY = 200  # figures a tab draws before kaleido's page is loaded afresh

INSTALL_HINT = (
    "Charts for scorecards are drawn by Chromium, which is not installed at {path}. "
    "Install it with `sudo apt-get install chromium` (Debian/Ubuntu) — `make run` and "
    "`make test` do this when run as root — then try again."
)


class ChartExportUnavailable(DomainError):
    """Chromium is missing or would not start: charts cannot be exported."""


async def _scripts_loaded(tab: Any) -> bool:
    """Whether kaleido's page in ``tab`` has its drawing script, in the JavaScript context
    kaleido will call (``_current_js_id``, kaleido's own)."""
    response = await tab.tab.send_command(
        "Runtime.callFunctionOn",
        params={
            "functionDeclaration": "function() { return typeof kaleido_scopes; }",
            "returnByValue": True,
            "executionContextId": tab._current_js_id,
        },
    )
    return response.get("result", {}).get("result", {}).get("value") == "object"


async def _reload(tab: Any, attempts: int = 3) -> None:
    """Reloads kaleido's page in a tab until its script is there. A reload can hand back the
    id of a JavaScript context that is not the page's final one; the next figure drawn on
    the tab then failed with "kaleido_scopes is not defined" (seen once in ~1,000 tests)."""
    for _ in range(attempts):
        await tab.reload()
        if await _scripts_loaded(tab):
            return
    raise ChartExportUnavailable("kaleido's page did not load its script after a reload.")


def _kaleido_class() -> type:
    """kaleido's browser, keeping its tabs loaded between figures (see the module docstring).

    ``_return_kaleido_tab`` is kaleido's own (private) hook, run after every figure; kaleido is
    pinned below 2 in pyproject.toml, and ``test_chart_images`` fails if the hook changes.
    """
    import kaleido

    class _Kaleido(kaleido.Kaleido):
        _uses: dict[int, int]

        async def _return_kaleido_tab(self, tab: Any) -> None:
            uses = self.__dict__.setdefault("_uses", {})
            uses[id(tab)] = uses.get(id(tab), 0) + 1
            if uses[id(tab)] >= RELOAD_EVERY:
                uses[id(tab)] = 0
                await _reload(tab)
            await self.tabs_ready.put(tab)

    return _Kaleido


class _Server:
    """One kaleido instance on its own event-loop thread, fed one batch of figures at a time.

    Batches reach the loop through ``call_soon_threadsafe`` rather than a worker thread
    blocked on a queue: such a thread is not a daemon and would keep the process from
    exiting."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.results: queue.Queue[list[bytes] | BaseException] = queue.Queue()
        self._ready = threading.Event()
        self.thread = threading.Thread(
            target=asyncio.run, args=(self._serve(),), name="kaleido", daemon=True
        )
        self.thread.start()
        self._ready.wait()  # the loop and its inbox exist; Chromium is still starting

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.inbox: asyncio.Queue[list[tuple[dict[str, Any], dict[str, Any]]] | None] = (
            asyncio.Queue()
        )
        self._ready.set()
        try:
            async with _kaleido_class()(
                n=TABS,
                timeout=RENDER_TIMEOUT,
                plotlyjs=str(PLOTLY_JS),
                mathjax=False,
                path=str(CHROMIUM_PATH),
            ) as browser:
                while (batch := await self.inbox.get()) is not None:
                    try:
                        drawn = await asyncio.gather(
                            *(browser.calc_fig(figure, opts=opts) for figure, opts in batch)
                        )
                        self.results.put(list(drawn))
                    except Exception as error:  # handed to the caller's thread
                        self.results.put(error)
        except Exception as error:  # Chromium would not start
            # Answer every call with the same error rather than leave it waiting.
            while await self.inbox.get() is not None:
                self.results.put(error)

    def _send(self, batch: list[tuple[dict[str, Any], dict[str, Any]]] | None) -> None:
        self.loop.call_soon_threadsafe(self.inbox.put_nowait, batch)

    def render_many(self, batch: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[bytes]:
        self._send(batch)
        try:
            result = self.results.get(timeout=RENDER_TIMEOUT + 30)
        except queue.Empty as error:
            raise ChartExportUnavailable("Chromium did not answer in time.") from error
        if isinstance(result, BaseException):
            raise ChartExportUnavailable(f"Chromium could not draw a chart: {result}") from result
        return result

    def render(self, figure: dict[str, Any], opts: dict[str, Any]) -> bytes:
        return self.render_many([(figure, opts)])[0]

    def close(self) -> None:
        if self.thread.is_alive():
            self._send(None)
            self.thread.join(timeout=30)


_lock = threading.Lock()
_server: _Server | None = None
_cache: OrderedDict[str, str] = OrderedDict()


def _figure_dict(figure: go.Figure | dict[str, Any]) -> dict[str, Any]:
    if isinstance(figure, go.Figure):
        return json.loads(figure.to_json())
    return figure


def figure_key(figure: dict[str, Any], width: int, height: int) -> str:
    text = json.dumps([figure, width, height], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


_PLOTLY_UID = re.compile(r'id="defs-([0-9a-f]+)"')
_ROOT_TAG = re.compile(r"<svg\s([^>]*)>")
_ATTRIBUTE = re.compile(r'([A-Za-z_:][-\w:.]*)="([^"]*)"')


def _stable_ids(svg: str, key: str) -> str:
    """plotly's random per-drawing id (in clip-path, legend and defs ids) replaced by one
    taken from the figure's key, and the root element's attributes sorted (the first figure a
    fresh tab draws lists them in another order): same figure, same text; two figures,
    distinct ids."""
    found = _PLOTLY_UID.search(svg)
    if found is not None:
        pattern = re.compile(r"(defs-|clip|legend)" + re.escape(found.group(1)))
        svg = pattern.sub(lambda match: match.group(1) + "f" + key[:12], svg)
    root = _ROOT_TAG.match(svg)
    if root is None:
        return svg
    attributes = sorted(_ATTRIBUTE.findall(root.group(1)))
    tag = "<svg " + " ".join(f'{name}="{value}"' for name, value in attributes) + ">"
    return tag + svg[root.end() :]


_STYLED_TAG = re.compile(r'<([A-Za-z][\w:.-]*)((?:\s[^<>]*?)?)\sstyle="([^"]*)"([^<>]*?)(/?)>')
_EMPTY_GROUP = re.compile(r"<g(?:\s[^<>]*)?(?:/>|></g>)")
_UNDRAWN_ATTRIBUTE = re.compile(r'\s(?:class|data-[\w-]*|pointer-events)="[^"]*"')


def _attributes_for_styles(match: re.Match[str]) -> str:
    tag, before, style, after, close = match.groups()
    attributes = dict(_ATTRIBUTE.findall(before + after))
    for declaration in style.split(";"):
        name, colon, value = declaration.partition(":")
        name = name.strip().lower()
        if colon and name and not name.startswith("-"):
            attributes[name] = value.strip()  # a declaration wins over the attribute
    text = "".join(f' {name}="{value}"' for name, value in attributes.items())
    return f"<{tag}{text}{close}>"


def lighten(svg: str) -> str:
    """plotly's SVG with the same drawing and less for WeasyPrint to read (charts were ~30 %
    of a scorecard's layout): every ``style="a: b; …"`` becomes attributes (WeasyPrint parses
    each style with a CSS tokenizer, per element), groups with nothing in them are dropped,
    and so are the attributes it never draws (``class``, ``data-*``, ``pointer-events``),
    which every element handed on to its children. The root element is left as it is.
    The PDF drawn from it is the same, byte for byte (a test compares them)."""
    head, close, body = svg.partition(">")
    body = _STYLED_TAG.sub(_attributes_for_styles, body)
    body = _UNDRAWN_ATTRIBUTE.sub("", body)
    previous = None
    while previous != body:  # a group that held only empty groups is empty in turn
        previous, body = body, _EMPTY_GROUP.sub("", body)
    return head + close + body


def _server_here() -> _Server:
    """This process's server, started on first use (or first use after a fork). Hold _lock."""
    global _server
    if not CHROMIUM_PATH.is_file():
        raise ChartExportUnavailable(INSTALL_HINT.format(path=CHROMIUM_PATH))
    if _server is None or _server.pid != os.getpid():
        _server = _Server()
    return _server


def _remember(key: str, text: str) -> None:
    _cache[key] = text
    if len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)


def figure_svg(figure: go.Figure | dict[str, Any], *, width: int = 720, height: int = 320) -> str:
    """The figure as an SVG document (text), from the cache when it was drawn before."""
    return figures_svg([(_figure_dict(figure), width, height)])[0]


def figures_svg(items: Sequence[tuple[dict[str, Any] | go.Figure, int, int]]) -> list[str]:
    """Each (figure, width, height) as an SVG document, in order. The ones not in the cache
    are drawn in one call to the server, side by side on its tabs."""
    specs = [(_figure_dict(figure), width, height) for figure, width, height in items]
    keys = [figure_key(spec, width, height) for spec, width, height in specs]
    with _lock:
        known: dict[str, str] = {}
        missing: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        for key, (spec, width, height) in zip(keys, specs, strict=True):
            if key in _cache:
                _cache.move_to_end(key)
                known[key] = _cache[key]
            elif key not in missing:
                missing[key] = (spec, {"format": "svg", "width": width, "height": height})
        if missing:
            server = _server_here()
            batch = list(missing.values())
            # One figure goes through render(): the path the single-figure tests watch.
            drawn = server.render_many(batch) if len(batch) > 1 else [server.render(*batch[0])]
            for key, svg in zip(missing, drawn, strict=True):
                known[key] = lighten(_stable_ids(svg.decode(), key))
                _remember(key, known[key])
        return [known[key] for key in keys]


def start() -> None:
    """Starts this process's server in the background if it is not running, so Chromium
    boots while the caller computes its figures (issuing, the command line's workers).
    Without Chromium it does nothing: drawing will say how to install it."""
    with _lock:
        if CHROMIUM_PATH.is_file():
            _server_here()


# What ``warm_up`` draws: the smallest figure that makes the tab parse plotly.js and lay out
# an axis and a trace, so that the first real chart draws at the warm speed.
_WARM_UP_FIGURE: dict[str, Any] = {
    "data": [{"type": "scatter", "x": [0, 1], "y": [0, 1], "mode": "lines+markers"}],
    "layout": {"title": {"text": "warm-up"}},
}


def warm_up() -> None:
    """Starts this process's Chromium and draws a tiny chart, waiting for it (seconds): a
    worker that has just started does this before its first job. Without Chromium it does
    nothing (drawing will say how to install it)."""
    if CHROMIUM_PATH.is_file():
        figure_svg(_WARM_UP_FIGURE, width=120, height=80)


def clear_cache() -> None:
    """Forgets every drawn SVG (the benchmark draws the same charts again)."""
    with _lock:
        _cache.clear()


def shutdown() -> None:
    """Stops this process's kaleido server, if it started one (tests, worker exit)."""
    global _server
    with _lock:
        if _server is not None and _server.pid == os.getpid():
            _server.close()
        _server = None
        _cache.clear()


def _shutdown_at_exit() -> None:
    # By now the log handlers' streams may be closed (pytest's capture, for one).
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    shutdown()


# Chromium is closed properly when the process ends normally (a forked worker that leaves
# with os._exit calls shutdown() itself, see scorecards/batch.py).
atexit.register(_shutdown_at_exit)
