"""The Broadsheet service under test: its CLI, its web role and its scheduler, as deployed.

Everything goes through the ``broadsheet`` command with ``BROADSHEET_*`` variables (an
SQLite file in the scratch directory, a free port on 127.0.0.1), so the benchmark measures
whatever web server and scheduler the service ships.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import httpx

from bench.procs import REPO
from bench.procs import BenchError
from bench.procs import Child
from bench.procs import free_port
from bench.procs import wait_http

BIN = Path(sys.executable).parent


def broadsheet_executable() -> str:
    found = BIN / "broadsheet"
    if not found.exists():
        raise BenchError(f"{found} is missing: run `make` (pip install -e .) first")
    return str(found)


@dataclass
class Service:
    """One Broadsheet site in a scratch directory."""

    root: Path
    database_url: str
    settings: Mapping[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    web: Child | None = None
    scheduler: Child | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
        env.update(
            {
                "BROADSHEET_DATABASE_URL": self.database_url,
                "BROADSHEET_SITE_BASE_URL": self.base_url,
                "BROADSHEET_SERVER_HOST": "127.0.0.1",
                "BROADSHEET_SERVER_PORT": str(self.port),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.settings)
        return env

    def cli(self, *args: str, timeout: float = 600) -> str:
        """Run ``broadsheet ARGS`` to completion; its stdout. Raises BenchError if it fails."""
        log = self.root / "cli.log"
        with log.open("ab") as err:
            process = subprocess.Popen(
                [broadsheet_executable(), *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                env=self.env,
                cwd=REPO,
                start_new_session=True,
            )
            try:
                stdout, _ = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired as error:
                # The whole group: a command may have worker processes of its own.
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                raise BenchError(f"broadsheet {' '.join(args)}: over {timeout:.0f} s") from error
        out = stdout.decode("utf-8", errors="replace")
        if process.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise BenchError(f"broadsheet {' '.join(args)} exited {process.returncode}:\n{tail}")
        return out

    def has_command(self, name: str) -> bool:
        """Whether this version of the service has ``broadsheet NAME``."""
        done = subprocess.run(
            [broadsheet_executable(), name, "--help"],
            capture_output=True,
            env=self.env,
            cwd=REPO,
            timeout=60,
            check=False,
        )
        return done.returncode == 0

    def start_web(self, timeout: float = 60) -> Child:
        self.web = Child(
            "broadsheet web",
            [broadsheet_executable(), "web"],
            self.root / "web.log",
            self.env,
            REPO,
        )
        wait_http(self.base_url + "/healthz", timeout, self.web)
        return self.web

    def start_scheduler(self) -> Child:
        self.scheduler = Child(
            "broadsheet scheduler",
            [broadsheet_executable(), "scheduler"],
            self.root / "scheduler.log",
            self.env,
            REPO,
        )
        return self.scheduler

    def stop(self) -> None:
        for child in (self.scheduler, self.web):
            if child is not None:
                child.stop()
        self.web = self.scheduler = None

    def worker_pids(self) -> list[int]:
        """The web role's worker processes (the master's descendants, or the master alone)."""
        if self.web is None:
            return []
        return self.web.descendants() or [self.web.pid]

    def query(self, sql: str, **params: object) -> list[tuple[Any, ...]]:
        """Run one SQL statement on the site's database, committed; its rows, if any."""
        from sqlalchemy import create_engine
        from sqlalchemy import text

        # SQLite waits for a writer (the scheduler) up to 30 s rather than failing.
        sqlite = {"timeout": 30} if self.database_url.startswith("sqlite") else {}
        engine = create_engine(self.database_url, connect_args=sqlite)
        try:
            with engine.begin() as connection:
                result = connection.execute(text(sql), params)
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            engine.dispose()

    def create_token(self) -> str:
        name = f"bench-{time.monotonic_ns()}"
        return self.cli("token", "create", "--name", name).strip().splitlines()[-1]


def api_article(line: Mapping[str, Any]) -> dict[str, Any]:
    """A corpus line as a POST /api/v1/articles body (the API takes no id or dates but
    published_at)."""
    return {
        k: v
        for k, v in line.items()
        if k not in ("id", "created_at", "updated_at", "revision", "former_slugs")
    }


def read_lines(path: Path, limit: int | None = None, skip: int = 0) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as source:
        for index, line in enumerate(source):
            if index < skip:
                continue
            if limit is not None and index >= skip + limit:
                return
            yield json.loads(line)


@dataclass(frozen=True)
class IngestResult:
    """Articles sent through the API: how many were created, failed, and how fast."""

    created: int
    failed: int
    seconds: float
    clients: int
    first_error: str = ""

    @property
    def rate(self) -> float:
        return self.created / self.seconds if self.seconds else 0.0


def post_articles(
    base_url: str,
    token: str,
    articles: Iterable[Mapping[str, Any]],
    clients: int = 1,
    time_limit: float | None = None,
    request_timeout: float = 60,
) -> IngestResult:
    """POST each article to the API from ``clients`` concurrent keep-alive clients, until
    done or ``time_limit`` seconds have passed."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    lock = threading.Lock()
    source = iter(articles)
    created = failed = 0
    first_error = ""
    started = time.perf_counter()
    deadline = started + time_limit if time_limit else None

    def worker() -> None:
        nonlocal created, failed, first_error
        with httpx.Client(base_url=base_url, headers=headers, timeout=request_timeout) as client:
            while deadline is None or time.perf_counter() < deadline:
                with lock:
                    item = next(source, None)
                if item is None:
                    return
                body = json.dumps(api_article(item), ensure_ascii=False).encode()
                try:
                    response = client.post("/api/v1/articles", content=body)
                    ok = response.status_code == 201
                    problem = "" if ok else f"{response.status_code} {response.text[:300]}"
                except httpx.HTTPError as error:
                    ok, problem = False, repr(error)
                with lock:
                    if ok:
                        created += 1
                    else:
                        failed += 1
                        first_error = first_error or problem

    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(worker) for _ in range(clients)]:
            future.result()
    return IngestResult(created, failed, time.perf_counter() - started, clients, first_error)
