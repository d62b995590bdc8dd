"""What the head of a results table says about the machine and the processes measured:
CPU, memory, kernel, tools, commit, load, and each process's CPU time, memory, command
line and open-files limit, all read from ``/proc`` and the tools themselves."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
from pathlib import Path

from bench.procs import REPO
from bench.procs import BenchError
from bench.procs import tool_path


def first_line(argv: list[str]) -> str:
    """The first line a command prints (stdout, else stderr); "?" if it cannot run."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "?"
    output = (done.stdout or done.stderr).strip()
    return output.splitlines()[0] if output else "?"


def git_commit() -> str:
    """The short commit of the working tree, and whether app/ differs from it."""
    commit = first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = first_line(["git", "-C", str(REPO), "status", "--porcelain", "--", "app"])
    return commit + (" (app/ has uncommitted changes)" if dirty not in ("", "?") else "")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine_facts() -> dict[str, str]:
    """CPU, memory, kernel, Python, nginx, wrk, commit and load average."""
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "cpu": f"{os.cpu_count()} x {cpu}",
        "memory_gb": f"{int(memory) / 1024 / 1024:.0f}",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "nginx": first_line([tool_path("nginx"), "-v"]),
        "wrk": first_line([tool_path("wrk"), "-v"]),
        "commit": git_commit(),
        "load_average": load_average(),
    }


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def memory_kib(pid: int) -> dict[str, int]:
    """A process's resident memory (``VmRSS``) and its peak (``VmHWM``) in KiB; empty if
    the process is gone."""
    values: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    except OSError:
        pass
    return values


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def raise_open_files(needed: int) -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE (children inherit it) to ``needed``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise BenchError(f"{needed} open files needed, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)
