"""Child processes for the benchmark: each in its own process group, logged to a file,
stopped by its group id (never by name), and always stopped when the harness exits
(:func:`install_cleanup`)."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path

# The repository: where the service's children run, and bench/out/ is.
REPO = Path(__file__).resolve().parent.parent
_RUNNING: list[Child] = []


class BenchError(RuntimeError):
    """The benchmark cannot go on (a tool is missing, a server did not start...)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Child:
    """A process started in a new session (so its group id is its pid)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
        self.pid = self.process.pid
        _RUNNING.append(self)

    @classmethod
    def adopt(cls, name: str, process: subprocess.Popen[bytes], log_path: Path) -> Child:
        """Track a process started elsewhere (with ``start_new_session=True``)."""
        child = cls.__new__(cls)
        child.name = name
        child.log_path = log_path
        child._log = log_path.open("ab")
        child.process = process
        child.pid = process.pid
        _RUNNING.append(child)
        return child

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the whole group, then SIGKILL after ``timeout`` seconds."""
        if self in _RUNNING:
            _RUNNING.remove(self)
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
                os.killpg(self.pid, signal.SIGCONT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # Workers left behind by a master that died first are in the same group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        self._log.close()

    def pause(self) -> None:
        """SIGSTOP the whole group (until :meth:`resume`)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGCONT)

    def tail(self, lines: int = 20) -> str:
        """The last lines of the process's log, for error messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def descendants(self) -> list[int]:
        """Pids of every live process below this one."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
        found: list[int] = []
        pending = [self.pid]
        while pending:
            pid = pending.pop()
            for child in children.get(pid, []):
                found.append(child)
                pending.append(child)
        return sorted(found)


def stop_all() -> None:
    """Stop every child still running, newest first."""
    for child in reversed(list(_RUNNING)):
        child.stop(timeout=10)


def _on_signal(signum: int, _frame: object) -> None:
    stop_all()
    raise SystemExit(128 + signum)


def install_cleanup() -> None:
    """Stop every child when the harness exits, or is told to (SIGTERM, SIGHUP); each
    entry point calls this once, before it starts anything."""
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)


def wait_http(url: str, timeout: float, child: Child | None = None) -> None:
    """Wait until ``url`` answers with any HTTP status below 500."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if child is not None and not child.alive():
            raise BenchError(f"{child.name} exited early:\n{child.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return
            last = str(error)
        except OSError as error:
            last = str(error)
        time.sleep(0.1)
    tail = child.tail() if child is not None else ""
    raise BenchError(f"{url} did not answer in {timeout:.0f} s ({last})\n{tail}")


def ensure_tools(tools: Mapping[str, str]) -> None:
    """Install the Debian packages of missing tools (``{"wrk": "wrk", "nginx": "nginx"}``)."""
    missing = sorted({package for tool, package in tools.items() if not _find_tool(tool)})
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise BenchError(f"missing {', '.join(missing)} and no apt-get to install them")
    print(f"installing {' '.join(missing)} (apt-get)...", file=sys.stderr, flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    quiet = {"stdout": subprocess.DEVNULL, "env": env, "timeout": 300}
    subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)  # type: ignore[call-overload]
    subprocess.run(  # type: ignore[call-overload]
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        check=True,
        **quiet,
    )
    still = [tool for tool in tools if not _find_tool(tool)]
    if still:
        raise BenchError(f"could not install {', '.join(still)}")


def _find_tool(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name) if p.exists()), None
    )


def tool_path(name: str) -> str:
    found = _find_tool(name)
    if found is None:
        raise BenchError(f"{name} is not installed")
    return found
