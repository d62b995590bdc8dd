"""Target 1, the hot feed: ``GET /feed.rss`` from the service against nginx serving the
same bytes as static files.

How: the site feed's identity and gzip bytes are read from the service and given to nginx
(``bench/static.py``); each case (a 304 to ``If-None-Match``, a 200 with gzip, a 200
without) is checked on both servers, then driven with ``wrk -t2 -c64 --latency``, the
servers interleaved round by round; the figures are the medians of the rounds.
Goals: the service's requests a second at least 25% of nginx's for the 304 and the gzip
200, 50% for the identity 200; p99 within 20 ms; no error.
"""

from __future__ import annotations

import gzip
import statistics
from dataclasses import dataclass
from dataclasses import field
from email.utils import parsedate_to_datetime

from bench.loadgen import Fetched
from bench.loadgen import WrkResult
from bench.loadgen import fetch
from bench.loadgen import run_wrk
from bench.procs import BenchError
from bench.results import TargetTable
from bench.results import verdict
from bench.site import Profile
from bench.site import Report
from bench.site import Site
from bench.static import start_nginx

HOT_PATH = "/feed.rss"
CASES = ("304", "200 gzip", "200 identity")
RATIO_TARGETS = {"304": 0.25, "200 gzip": 0.25, "200 identity": 0.50}
P99_TARGET_MS = 20.0


@dataclass
class HotCase:
    """Medians of one wrk case on both servers."""

    case: str
    nginx: list[WrkResult] = field(default_factory=list)
    service: list[WrkResult] = field(default_factory=list)

    @staticmethod
    def _median(runs: list[WrkResult], attribute: str) -> float:
        values = [getattr(run, attribute) for run in runs]
        return statistics.median(values) if values else float("nan")

    def rps(self, server: str) -> float:
        return self._median(getattr(self, server), "rps")

    def p99(self, server: str) -> float:
        return self._median(getattr(self, server), "p99_ms")

    def errors(self, server: str) -> int:
        return sum(run.errors for run in getattr(self, server))

    def bytes(self, server: str) -> float:
        return self._median(getattr(self, server), "bytes_per_response")

    @property
    def ratio(self) -> float:
        nginx = self.rps("nginx")
        return self.rps("service") / nginx if nginx else float("nan")


def hot(site: Site) -> None:
    """Target 1: the site feed, nginx and the service side by side, rounds interleaved."""
    base = site.service.base_url
    identity, zipped = site_feed(site)
    modified = parsedate_to_datetime(identity.headers.get("last-modified", ""))
    site.nginx = start_nginx(
        site.root / "nginx", {HOT_PATH: identity.body}, {HOT_PATH: zipped.body}, modified
    )
    servers = {"nginx": site.nginx.base_url, "service": base}
    headers: dict[str, dict[str, list[str]]] = {}
    for server, url in servers.items():
        etag = fetch(url + HOT_PATH, {"Accept-Encoding": "gzip"}).headers.get("etag", "")
        headers[server] = {
            "304": ["Accept-Encoding: gzip", f"If-None-Match: {etag}"],
            "200 gzip": ["Accept-Encoding: gzip"],
            "200 identity": [],
        }
        check_case(url + HOT_PATH, headers[server], identity.body, zipped.body, server)
    cases = {case: HotCase(case) for case in CASES}
    profile = site.profile
    if profile.warmup:
        for case in CASES:
            for server, url in servers.items():
                run_wrk(url + HOT_PATH, seconds=1, headers=headers[server][case])
    for round_number in range(1, profile.rounds + 1):
        for case in CASES:
            for server, url in servers.items():
                wrk = headers[server][case]
                result = run_wrk(url + HOT_PATH, seconds=profile.wrk_seconds, headers=wrk)
                getattr(cases[case], server).append(result)
                site.log(
                    f"round {round_number} {case:<12} {server:<7} {result.rps:>9,.0f}/s "
                    f"p99 {result.p99_ms:7.2f} ms errors {result.errors}"
                )
    site.report.hot = list(cases.values())


def site_feed(site: Site) -> tuple[Fetched, Fetched]:
    """The site feed's identity and gzip bytes, checked to be the same document."""
    base = site.service.base_url
    identity = fetch(base + HOT_PATH, {})
    zipped = fetch(base + HOT_PATH, {"Accept-Encoding": "gzip"})
    if zipped.headers.get("content-encoding") != "gzip":
        raise BenchError("the service did not answer gzip to Accept-Encoding: gzip")
    if gzip.decompress(zipped.body) != identity.body:
        raise BenchError("the service's gzip bytes are not its identity bytes")
    entries = identity.body.count(b"<item>")
    site.report.feed = {
        "path": HOT_PATH,
        "entries": entries,
        "identity_bytes": len(identity.body),
        "gzip_bytes": len(zipped.body),
    }
    site.log(
        f"{HOT_PATH}: {entries} entries, {len(identity.body) / 1024:.0f} KB, "
        f"gzip {len(zipped.body) / 1024:.0f} KB"
    )
    return identity, zipped


def check_case(
    url: str, headers: dict[str, list[str]], identity: bytes, zipped: bytes, server: str
) -> None:
    """Each case answers what it should, before wrk hammers it."""
    expected = {"304": (304, b""), "200 gzip": (200, zipped), "200 identity": (200, identity)}
    for case, lines in headers.items():
        answer = fetch(url, dict(line.split(": ", 1) for line in lines))
        status, body = expected[case]
        if answer.status != status or answer.body != body:
            raise BenchError(
                f"{server} {case}: answered {answer.status} with {len(answer.body)} bytes, "
                f"expected {status} with {len(body)}"
            )


def hot_table(report: Report, profile: Profile, table: TargetTable) -> None:
    """The hot feed's own table: one line a case."""
    if not report.hot:
        return
    feed = report.feed
    table.line("")
    table.line(
        f"Target 1: GET {feed.get('path')} ({feed.get('entries')} entries, "
        f"{feed.get('identity_bytes', 0) / 1024:.0f} KB, gzip "
        f"{feed.get('gzip_bytes', 0) / 1024:.0f} KB), wrk -t2 -c64 -d{profile.wrk_seconds:g}s "
        f"--latency, median of {profile.rounds} interleaved rounds"
    )
    table.line(
        f"{'case':<13}{'nginx req/s':>12}{'service req/s':>15}{'ratio':>8}{'target':>8}"
        f"{'nginx p99':>11}{'svc p99':>10}{'svc errors':>11}{'svc B/resp':>11}  verdict"
    )
    for hot in report.hot:
        target = RATIO_TARGETS[hot.case]
        ok = (
            hot.ratio >= target
            and hot.p99("service") <= P99_TARGET_MS
            and hot.errors("service") == 0
        )
        table.line(
            f"{hot.case:<13}{hot.rps('nginx'):>12,.0f}{hot.rps('service'):>15,.0f}"
            f"{hot.ratio:>7.1%}{target:>7.0%} {hot.p99('nginx'):>8.2f}ms"
            f"{hot.p99('service'):>8.2f}ms{hot.errors('service'):>11}"
            f"{hot.bytes('service'):>11,.0f}  {verdict(ok)}"
        )
