"""Serve a Flask app on 127.0.0.1 from a background thread, for the browser tests."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """Keeps the test output readable: no access-log line per request (errors still log)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def _buffered(app: Any) -> Any:
    """The app with each response read whole and its iterable closed before anything is
    sent. Werkzeug's server skips ``close()`` when the browser drops a connection mid-response
    (it does, for a favicon, when a page moves on), leaving a static file open until the
    garbage collector finds it: a ResourceWarning that fails some other test at random."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        iterable = app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            if hasattr(iterable, "close"):
                iterable.close()

    return wsgi


class LiveServer:
    """A real HTTP server on a free port; ``with LiveServer(app) as server: server.url``."""

    def __init__(self, app: Flask, host: str = "127.0.0.1") -> None:
        self.app = app
        self.host = host
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the live server is not running")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> None:
        self._server = make_server(
            self.host, 0, _buffered(self.app), threaded=True, request_handler=_QuietHandler
        )
        # Polled often, so that stop() returns at once rather than in up to 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="live-server", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            # Closes the listening socket; without it Python warns (ResourceWarning).
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> LiveServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
