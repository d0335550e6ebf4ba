"""A real webhook receiver on loopback for the tests: a threaded HTTP server that records
every request and answers the statuses a test queues (200 when none is queued)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verify(secret: str, headers: Any, body: bytes, tolerance: int = 300) -> bool:
    """The README's verification snippet, word for word."""
    timestamp = headers["X-MLS-Timestamp"]
    signed = timestamp.encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= tolerance
    return fresh and hmac.compare_digest(expected, headers["X-MLS-Signature"])


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # (status, headers) answered in turn; then 200.
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def of(self, event_type: str) -> list[Received]:
        return [r for r in self.requests if r.headers.get("X-MLS-Event") == event_type]


def start() -> tuple[Receiver, ThreadingHTTPServer]:
    lock = threading.Lock()
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                status, headers = receiver.answers.pop(0) if receiver.answers else (200, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    # Polled often, so that shutdown() (after every test) returns at once, not in 0.5 s.
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    return receiver, server
