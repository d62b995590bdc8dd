"""Target 6, the web role's memory: every feed of the site served once, then the hot-feed
load (``bench/hot.py``), then each web worker's resident memory.

How: each stored feed is fetched once with gzip over 8 keep-alive connections (within a
budget), which fills every worker's feed cache as far as the site goes; after the hot-feed
load, ``VmRSS`` and ``VmHWM`` of every worker are read from ``/proc``.
Goal: every worker under 200 MB, with every feed of the site served.
"""

from __future__ import annotations

from bench.feeds import feed_path
from bench.loadgen import fetch_each
from bench.machine import command_line
from bench.machine import memory_kib
from bench.procs import BenchError
from bench.results import TargetTable
from bench.site import Profile
from bench.site import Report
from bench.site import Site

RSS_TARGET_MB = 200.0


def sweep(site: Site) -> None:
    """Target 6's "every feed": each stored feed and sitemap fetched once (gzip), 8 conns."""
    keys = [row[0] for row in site.service.query("SELECT feed_key FROM feed_snapshots")]
    # A sitemap's or robots.txt's snapshot is stored under its path; a feed's under
    # "<scope>:<format>"; a private feed's under "private/<profile>/<scope>:<format>",
    # served only at URLs with a subscriber's key: not swept.
    keys = [key for key in keys if not key.startswith("private/")]
    paths = [key if key.startswith("/") else feed_path(*key.rsplit(":", 1)) for key in sorted(keys)]
    if not paths:
        raise BenchError("no stored feeds to fetch")
    budget = site.profile.sweep_budget
    result = fetch_each(
        site.service.base_url, paths, {"Accept-Encoding": "gzip"}, connections=8, budget_s=budget
    )
    site.report.sweep = {
        "feeds": result.paths,
        "fetched": result.fetched,
        "seconds": round(result.seconds, 1),
        "rps": round(result.rps),
        "p99_ms": round(result.p99_ms, 1),
        "max_ms": round(result.max_ms, 1),
        "not_ok": result.not_ok,
        "megabytes": round(result.bytes / 1e6, 1),
    }
    site.log(
        f"every feed: {result.fetched:,} of {result.paths:,} feeds in "
        f"{result.seconds:.1f} s ({result.rps:,.0f}/s, p99 {result.p99_ms:.0f} ms, "
        f"{result.bytes / 1e6:.0f} MB), {result.not_ok} not 200"
    )
    if result.fetched < result.paths:
        site.report.notes.append(
            f"only {result.fetched:,} of {result.paths:,} feeds were fetched in the "
            f"{budget:.0f} s budget"
        )


def memory(site: Site) -> None:
    """Target 6: resident memory of the web role's processes after the load."""
    for pid in site.service.worker_pids():
        status = memory_kib(pid)
        site.report.memory.append(
            {
                "pid": pid,
                "rss_mb": round(status.get("VmRSS", 0) / 1024, 1),
                "peak_mb": round(status.get("VmHWM", 0) / 1024, 1),
                "command": command_line(pid)[:120],
            }
        )
    if site.service.web is not None:
        master = memory_kib(site.service.web.pid).get("VmRSS", 0)
        site.report.machine["web_master_rss_mb"] = f"{master / 1024:.1f}"
    for item in site.report.memory:
        site.log(f"worker {item['pid']}: {item['rss_mb']} MB resident (peak {item['peak_mb']})")


def rows(report: Report, _profile: Profile, table: TargetTable) -> None:
    if not report.memory:
        return
    worst_rss = max(item["rss_mb"] for item in report.memory)
    sweep = report.sweep
    site_feeds = 3 * int(report.load.get("scopes", 0))
    # Every feed of the site is stored only after a full rebuild.
    rebuilt = report.rebuild.get("seconds") is not None
    every = bool(sweep) and sweep["fetched"] == sweep["feeds"] and rebuilt
    table.target(
        "6 web worker resident memory (max)",
        f"{worst_rss:.0f} MB ({len(report.memory)} workers), after "
        f"{sweep.get('fetched', 0):,} of ~{site_feeds:,} feeds + the hot load",
        "< 200 MB",
        0 < worst_rss < RSS_TARGET_MB and every,
    )


def sweep_rows(report: Report, _profile: Profile, table: TargetTable) -> None:
    sweep = report.sweep
    if sweep:
        table.target(
            "  (every feed once, gzip, 8 connections)",
            f"{sweep['rps']:,}/s, p99 {sweep['p99_ms']:,.0f} ms, {sweep['not_ok']} not 200",
            "",
            None,
        )
