"""A private PostgreSQL cluster for tests that stop and start the database.

The shared server at 127.0.0.1:5432 serves every other test and must never go down, so a
test about outages gets a cluster of its own: ``initdb`` into a fresh directory, listening
on 127.0.0.1 and a free port, with its socket inside its data directory. PostgreSQL refuses
to run as root; as root the binaries run as the ``postgres`` OS user (through ``runuser``)
in a directory that user owns.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.live import free_port

BIN_DIR = Path(os.environ.get("TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"
DATABASE = "broadsheet"
_TIMEOUT = 30


def missing_binaries() -> str | None:
    """Why a private cluster cannot be started here, or ``None`` when it can."""
    for name in ("initdb", "pg_ctl", "postgres"):
        if not (BIN_DIR / name).is_file():
            return f"PostgreSQL binaries not found: no {BIN_DIR / name} (set TEST_POSTGRES_BIN)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return f"running as root and there is no {OS_USER!r} OS user to run PostgreSQL"
        if shutil.which("runuser") is None:
            return "running as root and runuser(1) is missing"
    return None


class PostgresCluster:
    """One initialised cluster in ``root``; :meth:`start` and :meth:`stop` as often as needed."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = port

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the test database (trust auth, TCP on 127.0.0.1)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        """A psycopg connection to the test database (autocommit)."""
        return psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}",
            autocommit=True,
            connect_timeout=5,
        )

    def initialise(self) -> None:
        """``initdb`` with trust auth; settings that keep it private to this machine."""
        self._run(
            "initdb", "--pgdata", str(self.data), "--username", "postgres", "--auth", "trust",
            "--encoding", "UTF8", "--locale", "C", "--no-sync",
        )  # fmt: skip
        settings = (
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.data}'",
            "max_connections = 50",
            "shared_buffers = 16MB",
        )
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n".join(settings) + "\n")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._run(
            "pg_ctl", "start", "--pgdata", str(self.data), "--log", str(self.log),
            "--wait", "--timeout", str(_TIMEOUT),
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` (disconnect clients, checkpoint) or ``immediate`` (crash)."""
        self._run(
            "pg_ctl", "stop", "--pgdata", str(self.data), "--mode", mode,
            "--wait", "--timeout", str(_TIMEOUT),
        )  # fmt: skip

    def is_running(self) -> bool:
        """Whether the server's postmaster.pid is there (it is removed by a clean stop)."""
        return (self.data / "postmaster.pid").exists()

    def create_database(self) -> None:
        """Create the test database."""
        admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE DATABASE "{DATABASE}"')

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log, for failure messages."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def kill(self) -> None:
        """Last resort: SIGKILL the postmaster this cluster started (its PID file names it)."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)

    def _run(self, program: str, *args: str) -> None:
        command = [str(BIN_DIR / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", OS_USER, "--", *command]
        result = subprocess.run(
            command,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT + 15,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{program} {' '.join(args[:1])} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n{self.log_tail()}"
            )


@contextmanager
def running_cluster() -> Iterator[PostgresCluster]:
    """A started cluster with an empty test database; stopped and deleted afterwards.

    The directory is made outside pytest's temporary directories, which only root may
    enter, and given to the ``postgres`` user when running as root.
    """
    root = Path(tempfile.mkdtemp(prefix="broadsheet-pg-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam(OS_USER)
        os.chown(root, account.pw_uid, account.pw_gid)
    cluster = PostgresCluster(root, free_port())
    try:
        cluster.initialise()
        cluster.start()
        cluster.create_database()
        yield cluster
    finally:
        try:
            if cluster.is_running():
                cluster.stop("immediate")
        except (RuntimeError, subprocess.TimeoutExpired):
            cluster.kill()
        finally:
            shutil.rmtree(root, ignore_errors=True)
