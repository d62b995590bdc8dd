"""HTTP load and single requests: wrk runs and their parsed results (requests/s, latency
percentiles, errors), every path fetched once over a few connections, and one GET."""

from __future__ import annotations

import http.client
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.procs import BenchError
from bench.procs import tool_path
from bench.results import nearest_rank

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_SIZES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency (ms), errors and bytes per response."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int
    timeouts: int
    bad_status: int
    transfer_per_s: float

    @property
    def errors(self) -> int:
        """Socket errors (connect, read, write, timeout) plus non-2xx/3xx answers."""
        return self.socket_errors + self.bad_status

    @property
    def bytes_per_response(self) -> float:
        return self.transfer_per_s / self.rps if self.rps else 0.0


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """Parse the text wrk prints with ``--latency``."""
    summary = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not summary or not rps:
        raise BenchError(f"cannot parse wrk output:\n{output}")
    percentiles = {
        float(p): _ms(value)
        for p, value in re.findall(r"^\s+([\d.]+)%\s+([\d.]+(?:us|ms|s|m|h))\s*$", output, re.M)
    }
    latency = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", output)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB|TB)", output)
    counts = [int(n) for n in socket.groups()] if socket else [0, 0, 0, 0]
    return WrkResult(
        requests=int(summary.group(1)),
        seconds=_ms(summary.group(2) + summary.group(3)) / 1000,
        rps=float(rps.group(1)),
        p50_ms=percentiles.get(50.0, float("nan")),
        p99_ms=percentiles.get(99.0, float("nan")),
        max_ms=_ms(latency.group(1)) if latency else float("nan"),
        socket_errors=sum(counts),
        timeouts=counts[3],
        bad_status=int(bad.group(1)) if bad else 0,
        transfer_per_s=float(transfer.group(1)) * _SIZES[transfer.group(2)] if transfer else 0.0,
    )


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int = 64,
    threads: int = 2,
    headers: Sequence[str] = (),
    timeout_s: float = 2.0,
) -> WrkResult:
    """Run wrk against ``url`` for ``seconds`` and parse what it prints."""
    argv = [
        tool_path("wrk"),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_s:g}s",
        "--latency",
    ]
    for header in headers:
        argv += ["-H", header]
    argv.append(url)
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + timeout_s + 30, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"wrk did not finish: {' '.join(argv)}") from error
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


@dataclass(frozen=True)
class SweepResult:
    """Every path fetched once (as far as the time allowed)."""

    paths: int
    fetched: int
    seconds: float
    not_ok: int
    p99_ms: float
    max_ms: float
    bytes: int

    @property
    def rps(self) -> float:
        return self.fetched / self.seconds if self.seconds else 0.0


def fetch_each(
    base_url: str,
    paths: Sequence[str],
    headers: dict[str, str],
    connections: int = 8,
    budget_s: float = 60.0,
) -> SweepResult:
    """GET each path once over ``connections`` keep-alive connections (bodies are read, not
    decoded), until done or ``budget_s`` has passed. A status other than 200 counts as
    not ok."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    lock = threading.Lock()
    pending = iter(paths)
    latencies: list[float] = []
    totals = {"not_ok": 0, "bytes": 0}
    started = time.perf_counter()
    deadline = started + budget_s

    def worker() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        try:
            while time.perf_counter() < deadline:
                with lock:
                    path = next(pending, None)
                if path is None:
                    return
                begun = time.perf_counter()
                try:
                    connection.request("GET", path, headers=headers)
                    response = connection.getresponse()
                    body = response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    connection.close()
                    connection = http.client.HTTPConnection(host, port, timeout=30)
                    status, body = 0, b""
                elapsed = (time.perf_counter() - begun) * 1000
                with lock:
                    latencies.append(elapsed)
                    totals["bytes"] += len(body)
                    if status != 200:
                        totals["not_ok"] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=budget_s + 60)
    return SweepResult(
        paths=len(paths),
        fetched=len(latencies),
        seconds=time.perf_counter() - started,
        not_ok=totals["not_ok"],
        p99_ms=nearest_rank(latencies, 0.99),
        max_ms=max(latencies, default=float("nan")),
        bytes=totals["bytes"],
    )


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes


def fetch(url: str, headers: dict[str, str]) -> Fetched:
    """One GET; the body as sent (gzip is not undone), header names in lower case."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            return Fetched(response.status, headers, response.read())
    except urllib.error.HTTPError as error:
        headers = {k.lower(): v for k, v in error.headers.items()}
        return Fetched(error.code, headers, error.read())
