"""Charts as SVG for the PDF scorecards: the same plotly figures as the web pages
(``charts.py``), exported by kaleido driving Debian's Chromium.

Designed around what is known of kaleido 1.x:

- Starting Chromium costs seconds (measured: 4.6 s for the first figure, then ~0.3 s each),
  so each process keeps **one** kaleido server, started lazily on first use — never at
  import, so a forking server or job worker starts its own after the fork.
- One server shared by several threads can hand a thread another thread's image
  (plotly/Kaleido issue 444), so calls are **serialised** by a lock and the server is
  **per process** (a pid check restarts it in a forked child). kaleido's own global sync
  server is not used: after a fork it believes it is still running.
- Nothing is fetched from the network: plotly.js comes from the installed plotly package
  and MathJax is off.
- SVGs are cached in memory by a SHA-256 of the figure and the size (an LRU of 256).
- Without Chromium, exporting raises ``ChartExportUnavailable`` saying how to install it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import queue
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go

from mls_tracker.chromium import CHROMIUM_PATH
from mls_tracker.services.errors import DomainError

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
RENDER_TIMEOUT = 90  # seconds for one figure, Chromium's start included
CACHE_SIZE = 256

INSTALL_HINT = (
    "Charts for scorecards are drawn by Chromium, which is not installed at {path}. "
    "Install it with `sudo apt-get install chromium` (Debian/Ubuntu) — `make run` and "
    "`make test` do this when run as root — then try again."
)


class ChartExportUnavailable(DomainError):
    """Chromium is missing or would not start: charts cannot be exported."""


class _Server:
    """One kaleido instance on its own event-loop thread, fed one figure at a time."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.tasks: queue.Queue[tuple[dict[str, Any], dict[str, Any]] | None] = queue.Queue()
        self.results: queue.Queue[bytes | BaseException] = queue.Queue()
        self.thread = threading.Thread(
            target=asyncio.run, args=(self._serve(),), name="kaleido", daemon=True
        )
        self.thread.start()

    async def _serve(self) -> None:
        import kaleido

        try:
            async with kaleido.Kaleido(
                n=1,
                timeout=RENDER_TIMEOUT,
                plotlyjs=str(PLOTLY_JS),
                mathjax=False,
                path=str(CHROMIUM_PATH),
            ) as browser:
                while (task := await asyncio.to_thread(self.tasks.get)) is not None:
                    figure, opts = task
                    try:
                        self.results.put(await browser.calc_fig(figure, opts=opts))
                    except Exception as error:  # handed to the caller's thread
                        self.results.put(error)
        except Exception as error:  # Chromium would not start
            self.results.put(error)
            # Answer every later call with the same error rather than leave it waiting.
            while self.tasks.get() is not None:
                self.results.put(error)

    def render(self, figure: dict[str, Any], opts: dict[str, Any]) -> bytes:
        self.tasks.put((figure, opts))
        try:
            result = self.results.get(timeout=RENDER_TIMEOUT + 30)
        except queue.Empty as error:
            raise ChartExportUnavailable("Chromium did not answer in time.") from error
        if isinstance(result, BaseException):
            raise ChartExportUnavailable(f"Chromium could not draw a chart: {result}") from result
        return result

    def close(self) -> None:
        self.tasks.put(None)
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


def figure_svg(figure: go.Figure | dict[str, Any], *, width: int = 720, height: int = 320) -> str:
    """The figure as an SVG document (text), from the cache when it was drawn before."""
    global _server
    spec = _figure_dict(figure)
    key = figure_key(spec, width, height)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        if not CHROMIUM_PATH.is_file():
            raise ChartExportUnavailable(INSTALL_HINT.format(path=CHROMIUM_PATH))
        if _server is None or _server.pid != os.getpid():
            _server = _Server()  # first use in this process (or a forked child)
        svg = _server.render(spec, {"format": "svg", "width": width, "height": height})
        text = svg.decode()
        _cache[key] = text
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return text


def shutdown() -> None:
    """Stops this process's kaleido server, if it started one (tests, worker exit)."""
    global _server
    with _lock:
        if _server is not None and _server.pid == os.getpid():
            _server.close()
        _server = None
        _cache.clear()
