"""`broadsheet health`, the container's HEALTHCHECK, against the real roles: 0 while the
role that runs here is healthy, 1 when it is not or when none runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.liveness import HEARTBEAT_MAX_AGE_SECONDS
from app.liveness import healthz_url
from app.settings_sources import load_settings
from tests.live import free_port
from tests.live import run_cli
from tests.live import running_role
from tests.live import service_environment
from tests.live import stop_role


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite site on a free port (never the default 8000), with its own
    health directory."""
    environment = service_environment(
        f"sqlite:///{tmp_path / 'site.db'}",
        free_port(),
        SERVER_WORKERS="1",
        HEALTH_DIR=str(tmp_path / "health"),
    )
    run_cli(environment, tmp_path, "migrate")
    return environment


def health(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`broadsheet health` as the HEALTHCHECK runs it: a new process with the same
    environment as the role."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "health"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def wait_for_health(env: dict[str, str], cwd: Path, process: subprocess.Popen[bytes]) -> str:
    """Run the check until it exits 0 (within 30 s, while ``process`` runs); its output."""
    deadline = time.monotonic() + 30
    while True:
        result = health(env, cwd)
        if result.returncode == 0:
            return result.stdout
        assert result.returncode == 1, result.stderr
        assert process.poll() is None, "the role exited"
        assert time.monotonic() < deadline, f"not healthy in 30 s: {result.stdout}{result.stderr}"
        time.sleep(0.5)


def wait_until_refused(port: int) -> None:
    """Return once nothing listens on 127.0.0.1:``port`` (within 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        assert time.monotonic() < deadline, f"port {port} still answers 30 s later"
        time.sleep(0.2)


def test_nothing_running_is_unhealthy(env: dict[str, str], tmp_path: Path) -> None:
    """A container whose role never started (or a migrate container) is not healthy."""
    result = health(env, tmp_path)
    assert result.returncode == 1
    assert "no web or scheduler role has started here" in result.stderr


@pytest.mark.parametrize("kind", ["granian", "gunicorn"])
def test_the_web_role_is_healthy_while_its_port_answers(
    env: dict[str, str], tmp_path: Path, kind: str
) -> None:
    env = {**env, "BROADSHEET_SERVER_KIND": kind}
    with running_role(env, tmp_path, "web") as web:
        output = wait_for_health(env, tmp_path, web)
        port = env["BROADSHEET_SERVER_PORT"]
        assert f"web: ok: GET http://127.0.0.1:{port}/healthz: 200" in output

        # A role that dies (here killed, with no chance to pass anything on) takes its
        # server with it, and leaves its mark: the check reports it failing until the role
        # is started again.
        os.killpg(web.pid, signal.SIGKILL)
        web.wait(timeout=30)
        wait_until_refused(int(port))
        result = health(env, tmp_path)
        assert result.returncode == 1
        assert f"web: FAILING: GET http://127.0.0.1:{port}/healthz:" in result.stdout


@pytest.mark.parametrize(
    ("kind", "role"), [("granian", "web"), ("gunicorn", "web"), ("granian", "serve")]
)
def test_a_web_role_stopped_cleanly_leaves_no_mark(
    env: dict[str, str], tmp_path: Path, kind: str, role: str
) -> None:
    """SIGTERM (`docker stop`, a service manager) stops the role on purpose: afterwards the
    check finds no role here, not a failing one, as after the scheduler stops."""
    env = {**env, "BROADSHEET_SERVER_KIND": kind}
    with running_role(env, tmp_path, role) as web:
        assert "web: ok" in wait_for_health(env, tmp_path, web)
        stop_role(web)
        assert web.returncode == 0
        assert not (tmp_path / "health" / "web").exists()
        result = health(env, tmp_path)
        assert result.returncode == 1
        assert "FAILING" not in result.stdout
        assert "no web or scheduler role has started here" in result.stderr


def test_the_scheduler_is_healthy_while_its_heartbeat_is_fresh(
    env: dict[str, str], tmp_path: Path
) -> None:
    mark = tmp_path / "health" / "scheduler"
    with running_role(env, tmp_path, "scheduler") as scheduler:
        assert "scheduler: ok" in wait_for_health(env, tmp_path, scheduler)

        # A stuck scheduler: it is stopped, and its last beat is older than the limit.
        os.killpg(scheduler.pid, signal.SIGSTOP)
        try:
            stale = time.time() - HEARTBEAT_MAX_AGE_SECONDS - 10
            os.utime(mark, (stale, stale))
            result = health(env, tmp_path)
            assert result.returncode == 1
            assert "scheduler: FAILING: last heartbeat" in result.stdout
        finally:
            os.killpg(scheduler.pid, signal.SIGCONT)
        # Running again, it beats again.
        assert "scheduler: ok" in wait_for_health(env, tmp_path, scheduler)

        stop_role(scheduler)
        assert scheduler.returncode == 0  # SIGTERM stops it as Ctrl-C does
        assert not mark.exists()
        result = health(env, tmp_path)
        assert result.returncode == 1
        assert "no web or scheduler role has started here" in result.stderr


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8123/healthz"),  # noqa: S104 - a setting, no bind
        ("::", "http://[::1]:8123/healthz"),
        ("127.0.0.1", "http://127.0.0.1:8123/healthz"),
        ("10.1.2.3", "http://10.1.2.3:8123/healthz"),
    ],
)
def test_a_server_on_every_interface_is_checked_on_the_loopback(host: str, url: str) -> None:
    settings = load_settings(
        {"server_host": host, "server_port": 8123}, environ={}, config_file=None
    )
    assert healthz_url(settings) == url
