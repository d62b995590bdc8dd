"""/metrics and request logs of the real roles, as `broadsheet web`, `serve` and `scheduler`
run them: every worker of a multi-worker server counted (granian and gunicorn, token and
separate port), the scheduler's renders counted, and the JSON lines of requests."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import LiveServer
from tests.live import free_port
from tests.live import run_cli
from tests.live import running_role
from tests.live import service_environment
from tests.live import stop_role
from tests.test_metrics import BEARER
from tests.test_metrics import REQUESTS
from tests.test_metrics import TOKEN
from tests.test_metrics import scrape
from tests.test_metrics import value

# -- the web role, as `broadsheet web` runs it ------------------------------------------------


@contextlib.contextmanager
def web_role(tmp_path: Path, **settings: str) -> Iterator[tuple[LiveServer, Path, Path]]:
    """`broadsheet web` with two workers, JSON logs at INFO (request lines on) into a file,
    and the metrics' multi-process directory named; its server, the log file and that
    directory."""
    port = free_port()
    env = service_environment(
        f"sqlite:///{tmp_path / 'site.db'}",
        port,
        SERVER_WORKERS="2",
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        LOG_REQUESTS="true",
        **settings,
    )
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"left by an earlier run")
    env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    run_cli(env, tmp_path, "migrate")
    log_file = tmp_path / "web.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "web"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    live = LiveServer("127.0.0.1", port)
    try:
        deadline = time.monotonic() + 30
        while not _answers(live):
            assert process.poll() is None, log_file.read_text()
            assert time.monotonic() < deadline, "the web role did not start in 30 s"
            time.sleep(0.1)
        yield live, log_file, directory
    finally:
        stop_role(process)


def _answers(live: LiveServer) -> bool:
    try:
        return live.request("GET", "/healthz").status == 200
    except OSError:
        return False


def _answered(live: LiveServer, count: int) -> int:
    """Send ``count`` requests, each on a connection of its own, retrying one that finds
    no worker (while the server replaces a killed one) for up to 30 s; how many got 200."""
    deadline = time.monotonic() + 30
    answered = 0
    while answered < count:
        assert time.monotonic() < deadline, "the server did not answer in 30 s"
        try:
            answered += live.request("GET", "/healthz").status == 200
        except OSError:
            time.sleep(0.1)
    return answered


def _workers_counting(directory: Path) -> set[str]:
    return {path.stem.rsplit("_", 1)[1] for path in directory.glob("counter_*.db")}


@pytest.mark.parametrize(
    ("kind", "separate_port"), [("granian", False), ("gunicorn", True)], ids=["granian", "gunicorn"]
)
def test_every_worker_of_the_web_role_is_counted(
    tmp_path: Path, kind: str, separate_port: bool
) -> None:
    """Whichever process answers a scrape sums the counts of every worker, those of
    workers that died included (counters never go back)."""
    metrics_port = free_port()
    settings = {"SERVER_KIND": kind, "METRICS_TOKEN": TOKEN}
    if separate_port:
        settings["METRICS_PORT"] = str(metrics_port)
    with web_role(tmp_path, **settings) as (live, _, directory):
        assert not (directory / "counter_1.db").exists()  # an earlier run's counts are gone
        scraped = LiveServer("127.0.0.1", metrics_port) if separate_port else live
        sent = 1 + _answered(live, 20)  # and the first /healthz, which found it up
        counted = _workers_counting(directory)
        for pid in counted:
            # The workers that counted those die; the server starts others, which (with
            # the one that counted none, if any) answer the rest, and the scrapes.
            os.kill(int(pid), signal.SIGKILL)
        sent += _answered(live, 20)
        assert len(_workers_counting(directory) - counted) >= 1
        for _ in range(4):  # whichever worker answers the scrape, it counts them all
            samples = scrape(scraped)
            labels = {"route": "/healthz", "method": "GET", "status": "200"}
            assert value(samples, REQUESTS, **labels) == sent
        if separate_port:
            assert live.request("GET", "/metrics", BEARER).status == 404
            assert scraped.request("GET", "/metrics").status == 401
            assert scraped.request("GET", "/", BEARER).status == 404
        assert value(samples, "broadsheet_database_up") == 1


def test_request_log_lines_carry_the_request_id_route_status_and_duration(
    tmp_path: Path,
) -> None:
    secret_key = "bsf_0123456789abcdef_" + "s" * 43
    with web_role(tmp_path) as (live, log_file, _):
        given = live.request("GET", "/healthz", {"X-Request-ID": "edge-7f3a.42"})
        assert given.headers["x-request-id"] == "edge-7f3a.42"
        made = [
            live.request("GET", "/healthz", {"X-Request-ID": bad}).headers["x-request-id"]
            for bad in ("has space", "x" * 201, "")
        ]
        assert all(re.fullmatch(r"[0-9a-f]{16}", made_id) for made_id in made)
        assert len(set(made)) == 3
        missing = live.request("GET", f"/private/{secret_key}/feed.atom")
        assert missing.status == 404
    text = log_file.read_text()
    assert secret_key not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    by_id = {line.get("request_id"): line for line in lines if line.get("route")}
    line = by_id["edge-7f3a.42"]
    assert (line["method"], line["route"], line["status"]) == ("GET", "/healthz", 200)
    assert isinstance(line["duration_ms"], float) and 0 <= line["duration_ms"] < 10_000
    assert all(made_id in by_id for made_id in made)
    private = by_id[missing.headers["x-request-id"]]
    assert private["route"] == "/private/<key>/feed.<fmt>"
    assert private["status"] == 404
    assert "/private/<redacted>/feed.atom" in private["message"]


def _until(scraped: LiveServer, name: str, **labels: str) -> float:
    """The first non-zero value of a sample in scrapes of ``scraped`` over up to 30 s."""
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError, AssertionError):
            found = value(scrape(scraped), name, **labels)
            if found:
                return found
        assert time.monotonic() < deadline, f"{name} {labels} stayed 0 for 30 s"
        time.sleep(0.2)


def test_serve_shows_the_scheduler_s_renders_beside_the_web_s_requests(tmp_path: Path) -> None:
    """`broadsheet serve` gives its web workers and its scheduler one metrics directory,
    so one /metrics shows what each did."""
    port = free_port()
    env = service_environment(
        f"sqlite:///{tmp_path / 'site.db'}", port, SERVER_WORKERS="1", METRICS_TOKEN=TOKEN
    )
    run_cli(env, tmp_path, "migrate")
    run_cli(env, tmp_path, "demo")
    live = LiveServer("127.0.0.1", port)
    with running_role(env, tmp_path, "serve"):
        assert _until(live, "broadsheet_feed_render_seconds_count", kind="site") >= 1
        assert _until(live, REQUESTS, route="/metrics", method="GET", status="200") >= 1


def test_a_scheduler_run_alone_serves_its_renders_on_its_port(tmp_path: Path) -> None:
    metrics_port = free_port()
    env = service_environment(
        f"sqlite:///{tmp_path / 'site.db'}",
        free_port(),
        METRICS_TOKEN=TOKEN,
        METRICS_PORT=str(metrics_port),
    )
    run_cli(env, tmp_path, "migrate")
    run_cli(env, tmp_path, "demo")
    listener = LiveServer("127.0.0.1", metrics_port)
    with running_role(env, tmp_path, "scheduler"):
        assert _until(listener, "broadsheet_feed_render_seconds_count", kind="category") >= 1
        assert listener.request("GET", "/metrics").status == 401
        # Its own counts only: the database's gauges are the web role's to show.
        names = {name for name, _ in scrape(listener)}
        assert "broadsheet_feeds_waiting" not in names
