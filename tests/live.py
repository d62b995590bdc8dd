"""A real HTTP server on 127.0.0.1 for tests whose behaviour is about HTTP."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server


@dataclass(frozen=True)
class RawResponse:
    """Status, headers (lower-case names) and the body exactly as sent on the wire."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class LiveServer:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> RawResponse:
        """One request over a new connection; nothing is decoded or decompressed."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request(method, path, body=body or None, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
            names = {name.lower(): value for name, value in response.getheaders()}
            return RawResponse(response.status, names, data)
        finally:
            connection.close()


@contextmanager
def serve(app: Flask, port: int = 0) -> Iterator[LiveServer]:
    """Serve ``app`` on a loopback port (``port``, or a free one) in a thread until the
    block ends."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield LiveServer("127.0.0.1", server.server_port)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def real_clock_environment() -> dict[str, str]:
    """This process's environment without the wall clock that tools/shifted-clock moves
    (its LD_PRELOAD and FAKETIME settings): for what must run on the real clock even when
    the suite runs under the tool."""
    return {
        name: value
        for name, value in os.environ.items()
        if name != "LD_PRELOAD" and not name.startswith("FAKETIME")
    }


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_environment(database_url: str, port: int, **settings: str) -> dict[str, str]:
    """This process's environment for a `broadsheet` role serving ``database_url`` on
    127.0.0.1:``port``: no inherited BROADSHEET_* variable, warnings-only logs, and
    ``settings`` as further BROADSHEET_* variables (``SERVER_WORKERS="2"``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    env.update(
        BROADSHEET_DATABASE_URL=database_url,
        BROADSHEET_SERVER_HOST="127.0.0.1",
        BROADSHEET_SERVER_PORT=str(port),
        BROADSHEET_SITE_BASE_URL=f"http://127.0.0.1:{port}",
        BROADSHEET_LOG_LEVEL="WARNING",
    )
    env.update({f"BROADSHEET_{name}": value for name, value in settings.items()})
    return env


def run_cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    """Run `broadsheet ARGS` to completion; its standard output, or a failed assertion
    that carries its standard error."""
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"broadsheet {' '.join(args)}: {result.stderr}"
    return result.stdout


@contextmanager
def running_role(env: dict[str, str], cwd: Path, name: str) -> Iterator[subprocess.Popen[bytes]]:
    """`broadsheet NAME` (a role: web, scheduler, serve) in a session of its own, its output
    discarded; stopped by SIGTERM (as `docker stop` does) when the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", name],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        stop_role(process)


def stop_role(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the role's process group and wait; SIGKILL what is left of its session
    after 20 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill_session(process.pid)
            process.wait()


def kill_session(leader: int) -> None:
    """SIGKILL every process of the session ``leader`` started (a role started with
    ``start_new_session``): its own process group and the server's, which has its own."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        # pid (comm) state ppid pgrp session ...: comm may hold spaces and parentheses.
        session = int(stat.rsplit(")", 1)[1].split()[3])
        if session == leader:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), signal.SIGKILL)
