"""The production web server as `broadsheet web` starts it, over real sockets."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.live import free_port
from tests.live import run_cli
from tests.live import running_role
from tests.live import service_environment

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"


@contextmanager
def web_server(tmp_path: Path, max_connections: int) -> Iterator[int]:
    """`broadsheet web` with one granian worker on a free port, until the block ends."""
    port = free_port()
    env = service_environment(
        f"sqlite:///{tmp_path / 'site.db'}",
        port,
        SERVER_WORKERS="1",
        SERVER_MAX_CONNECTIONS=str(max_connections),
    )
    run_cli(env, tmp_path, "migrate")
    with running_role(env, tmp_path, "web") as process:
        deadline = time.monotonic() + 30
        while not _answers(port):
            assert process.poll() is None, "the web server exited"
            assert time.monotonic() < deadline, "the web server did not start in 30 s"
            time.sleep(0.1)
        yield port


def _answers(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
            return _ask(connection)
    except OSError:
        return False


def _ask(connection: socket.socket) -> bool:
    """One request on a kept-alive connection; whether a response came back in time."""
    try:
        connection.sendall(REQUEST)
        return connection.recv(65536).startswith(b"HTTP/1.1 200")
    except TimeoutError:
        return False


@pytest.mark.parametrize(("limit", "held", "last_answered"), [(16, 16, False), (64, 16, True)])
def test_max_connections_is_how_many_kept_alive_readers_a_worker_serves(
    tmp_path: Path, limit: int, held: int, last_answered: bool
) -> None:
    """Feed readers keep their connections open between polls; one over the worker's
    limit waits unanswered, so the setting must reach the server."""
    with web_server(tmp_path, limit) as port, ExitStack() as stack:
        readers = [
            stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            for _ in range(held)
        ]
        assert all(_ask(reader) for reader in readers)  # each holds its connection open
        one_more = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=2))
        assert _ask(one_more) is last_answered
