"""A real WebSub hub stand-in: an HTTP server on 127.0.0.1 that records publish pings.

Modes (switch with :meth:`HubStandIn.set_mode`):

- ``"ok"``: answers 204 No Content, as public hubs do;
- ``"failing"``: answers 500;
- ``"rejecting"``: answers 400, a definitive refusal of the notification;
- ``"garbled"``: answers 200 with a body that says it is gzip and is not, which the
  client cannot decode (an error that is neither the hub's refusal nor an outage);
- ``"slow"``: waits ``slow_seconds`` (longer than the client's timeout) before answering;
- ``"down"``: the listening socket is closed, so connections are refused; switching to
  any other mode listens again on the same port (the hub URL does not change).

:meth:`HubStandIn.hold` makes answers wait until :meth:`HubStandIn.release`, to stage a
race with a request in flight. Every wait is bounded, and :meth:`HubStandIn.stop` wakes
every waiting handler, so a test never hangs on the stand-in.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Literal
from urllib.parse import parse_qs

Mode = Literal["ok", "failing", "rejecting", "garbled", "slow", "down"]
MAX_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class HubRequest:
    """One request the stand-in received, with its form fields parsed."""

    method: str
    path: str
    content_type: str
    form: dict[str, list[str]]
    mode: Mode
    received_at: float

    def field(self, name: str) -> str | None:
        """The single value of form field ``name``, or ``None``."""
        values = self.form.get(name)
        return values[0] if values else None


class HubStandIn:
    """The stand-in hub; use it as a context manager (it starts in mode ``"ok"``)."""

    def __init__(self, slow_seconds: float = 2.0) -> None:
        self.slow_seconds = slow_seconds
        self.mode: Mode = "ok"
        self.port = 0
        self._requests: list[HubRequest] = []
        self._arrived = threading.Condition()
        self._stopping = threading.Event()
        self._released = threading.Event()
        self._released.set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The hub URL to configure (valid also while the hub is down)."""
        return f"http://127.0.0.1:{self.port}/hub"

    @property
    def requests(self) -> list[HubRequest]:
        """A copy of every request received so far, in order."""
        with self._arrived:
            return list(self._requests)

    def __enter__(self) -> HubStandIn:
        self._listen()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def set_mode(self, mode: Mode) -> None:
        """Switch mode; ``"down"`` stops listening, leaving it listens again."""
        if mode == "down":
            self._close()
        elif self._server is None:
            self._listen()
        self.mode = mode

    def hold(self) -> None:
        """Make every answer wait until :meth:`release` (at most ``MAX_WAIT_SECONDS``)."""
        self._released.clear()

    def release(self) -> None:
        """Let held answers go."""
        self._released.set()

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[HubRequest]:
        """Wait until ``count`` requests have arrived (bounded); return them all.

        Raises:
            AssertionError: fewer arrived within ``timeout`` seconds.
        """
        deadline = time.monotonic() + min(timeout, MAX_WAIT_SECONDS)
        with self._arrived:
            while len(self._requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"the hub got {len(self._requests)} requests, expected {count}"
                    )
                self._arrived.wait(remaining)
            return list(self._requests)

    def stop(self) -> None:
        """Stop serving and wake every waiting handler."""
        self._stopping.set()
        self._released.set()
        self._close()

    def _record(self, request: HubRequest) -> None:
        with self._arrived:
            self._requests.append(request)
            self._arrived.notify_all()

    def _listen(self) -> None:
        self._stopping.clear()
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _close(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=MAX_WAIT_SECONDS)


def _handler_for(hub: HubStandIn) -> type[BaseHTTPRequestHandler]:
    # HTTP/1.0 (the default): one request per connection, so no kept-alive connection
    # outlives a switch to "down".
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            mode = hub.mode
            hub._record(
                HubRequest(
                    method="POST",
                    path=self.path,
                    content_type=self.headers.get("Content-Type", ""),
                    form=parse_qs(body, keep_blank_values=True),
                    mode=mode,
                    received_at=time.monotonic(),
                )
            )
            hub._released.wait(MAX_WAIT_SECONDS)
            if mode == "slow":
                # Wakes early when the stand-in stops, so teardown never waits this out.
                hub._stopping.wait(hub.slow_seconds)
            status = {"failing": 500, "rejecting": 400, "garbled": 200}.get(mode, 204)
            try:
                self.send_response(status)
                if mode == "garbled":
                    payload = b"hub garbled (stand-in): not gzip"
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                elif status != 204:
                    payload = f"hub {mode} (stand-in)".encode()
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                else:
                    self.send_header("Content-Length", "0")
                    self.end_headers()
            except OSError:
                pass  # the client gave up (timeout) and closed the connection

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    return Handler
