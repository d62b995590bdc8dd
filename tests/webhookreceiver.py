"""A real webhook receiver: an HTTP server on 127.0.0.1 that records every POST and checks
Standard Webhooks signatures with an implementation of its own, written from the
specification (https://www.standardwebhooks.com/, "Verifying webhooks") and sharing no
code with the sender. It also stands in for a CDN's purge API (it records what it got).

``status`` is what it answers (200 by default; 500 for an outage, 400 for a refusal).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

MAX_WAIT_SECONDS = 10.0
# Standard Webhooks: receivers refuse timestamps more than five minutes away from theirs.
TOLERANCE_SECONDS = 5 * 60


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    """Lower-case names."""
    body: bytes
    status: int
    """What it was answered."""

    def json(self) -> Any:
        return json.loads(self.body)


def verify(secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    """Whether a delivery is signed with ``secret`` (``whsec_<base64 key>``) and recent.

    The signed content is ``<webhook-id>.<webhook-timestamp>.<body>``; the header holds
    space-separated ``v1,<base64 HMAC-SHA256>`` signatures, any of which may match.
    """
    message_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (message_id and timestamp and signatures and timestamp.isdigit()):
        return False
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = message_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


class WebhookReceiver:
    """The receiver; use it as a context manager."""

    def __init__(self) -> None:
        self.status = 200
        self._received: list[Received] = []
        self._arrived = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def received(self) -> list[Received]:
        with self._arrived:
            return list(self._received)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=MAX_WAIT_SECONDS)

    def _record(self, received: Received) -> None:
        with self._arrived:
            self._received.append(received)
            self._arrived.notify_all()


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status = receiver.status
            headers = {name.lower(): value for name, value in self.headers.items()}
            receiver._record(Received(self.path, headers, body, status))
            payload = b"{}" if status < 300 else f"stand-in answers {status}".encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
