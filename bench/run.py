"""Issue 4's benchmark, in one command: ``python -m bench.run`` (``make bench``).

Generates a realistic corpus, loads it into a fresh SQLite site with the service's own
loader, measures a full rebuild and the incremental render of one write, starts the web
role and the scheduler as deployed, and nginx (serving the same feed bytes as static
files) side by side, drives both with wrk, measures publish latency, worker memory and the
API's ingest rate, then the site feed's render cost at 1,000 and 1,000,000 articles on
PostgreSQL with the hot queries' plans. Prints one table with every figure against its
target; writes the same as JSON under ``bench/out/``.

Each benchmark is a module of its own, which says what it measures, how, and its goal:
``load`` (target 5, import), ``rebuild`` and ``incremental`` (target 3), ``scheduler``
(its start, and target 3's restart), ``memory`` (target 6), ``hot`` (target 1, against
nginx), ``publish`` (target 2), ``api`` (target 5, the API) and ``scaling`` (target 4).
They share the scratch site of ``bench/site.py``.

Every phase has a time budget, so the whole run stays under ten minutes however slow the
service is: a phase that runs out says so, and reports what it got.

``--smoke`` runs the same scripts on a tiny corpus with 1-second wrk runs (under two
minutes, for CI); it fails only if a script breaks, never on speed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from bench import api
from bench import hot
from bench import incremental
from bench import load
from bench import memory
from bench import publish
from bench import rebuild
from bench import scaling
from bench import scheduler
from bench.plans import plans_text
from bench.procs import REPO
from bench.procs import install_cleanup
from bench.results import TargetTable
from bench.results import save
from bench.site import Profile
from bench.site import Report
from bench.site import Site

FULL = Profile(
    name="full",
    articles=100_000,
    extra=2_000,
    item_limit=50,
    wrk_seconds=5,
    rounds=3,
    warmup=True,
    load_budget=60,
    rebuild_budget=150,
    incremental_writes=5,
    incremental_budget=30,
    settle_budget=15,
    sweep_budget=40,
    publish_samples=10,
    publish_wait=25,
    publish_budget=35,
    api_articles=1_000,
    api_budget=8,
    pg_small=1_000,
    pg_large=1_000_000,
    pg_budget=150,
    pg_repeats=5,
)
SMOKE = Profile(
    name="smoke",
    articles=80,
    extra=200,
    item_limit=50,
    wrk_seconds=1,
    rounds=1,
    warmup=False,
    load_budget=30,
    rebuild_budget=40,
    incremental_writes=2,
    incremental_budget=20,
    settle_budget=30,
    sweep_budget=20,
    publish_samples=2,
    publish_wait=10,
    publish_budget=20,
    api_articles=20,
    api_budget=10,
    pg_small=200,
    pg_large=5_000,
    pg_budget=20,
    pg_repeats=1,
)
# The rows of the table, in order, after target 1's own table.
ROWS: tuple[Callable[[Report, Profile, TargetTable], None], ...] = (
    publish.rows,
    incremental.rows,
    scheduler.rows,
    rebuild.rows,
    scaling.rows,
    load.rows,
    api.rows,
    memory.rows,
    publish.site_feed_rows,
    memory.sweep_rows,
)


def run(site: Site, postgres: bool) -> Report:
    """Every benchmark on the service, then PostgreSQL's with the service stopped."""
    try:
        try:
            service_phases(site, postgres)
        finally:
            site.finish()
        if site.scaling_job is not None and site.scaling_job.result.small_ms:
            site.phase("PostgreSQL scaling", scaling.scaling)
    finally:
        if site.scaling_job is not None:
            site.scaling_job.close()
    site.report.seconds = round(site.clock.elapsed, 1)
    return site.report


def service_phases(site: Site, postgres: bool) -> None:
    site.phase("setup", Site.setup)
    if site.service.web is None:
        return
    if postgres:
        site.phase("PostgreSQL, small corpus", scaling.prepare)
    site.phase("load", load.load)
    if not site.report.load.get("stored"):
        site.report.errors.append("no article was stored: the other phases were skipped")
        return
    site.phase("full rebuild", rebuild.rebuild)
    site.phase("incremental render", incremental.incremental)
    site.phase("scheduler", scheduler.start_scheduler)
    paused = scheduler.pause_busy_scheduler(site)
    site.phase("every feed", memory.sweep)
    site.phase("hot feed", hot.hot)
    site.phase("memory", memory.memory)
    if paused and site.service.scheduler is not None:
        site.service.scheduler.resume()
    site.phase("publish latency", publish.publish)
    site.phase("publish during a rebuild", publish.publish_during_rebuild)
    site.phase("scheduler restart", scheduler.restart)
    site.phase("API ingest", api.api)


def render(report: Report, profile: Profile) -> str:
    """The table: the run and the machine, target 1's cases, then one row a target."""
    table = TargetTable()
    machine = report.machine
    table.line("")
    table.line(f"Broadsheet benchmark ({report.profile}), {report.started}, {report.seconds:.0f} s")
    if report.profile == "smoke":
        table.line("SMOKE RUN: a tiny corpus and 1-second wrk runs prove the scripts work; the")
        table.line(
            "figures and verdicts below are not the targets' measurements (python -m bench.run)."
        )
    table.line(
        f"machine: {machine.get('cpu')}, {machine.get('memory_gb')} GB, kernel "
        f"{machine.get('kernel')}, Python {machine.get('python')}, {machine.get('nginx')}, "
        f"load average at start {machine.get('load_average')}"
    )
    table.line(f"service: commit {machine.get('commit')}; web: {machine.get('web', '?')[:100]}")
    load_figures = report.load
    table.line(
        f"corpus: {load_figures.get('stored', 0):,} articles stored, "
        f"{load_figures.get('scopes', 0):,} feed scopes; scheduler: {report.scheduler or '-'}"
    )
    hot.hot_table(report, profile, table)
    table.line("")
    table.row("target", "measured", "goal", "verdict")
    for rows in ROWS:
        rows(report, profile, table)
    for note in report.notes:
        table.line(f"note: {note}")
    for error in report.errors:
        table.line(f"ERROR: {error}")
    return table.text()


def to_json(report: Report) -> dict[str, Any]:
    data = asdict(report)
    data["hot"] = [
        {
            "case": case.case,
            "nginx_rps": case.rps("nginx"),
            "service_rps": case.rps("service"),
            "ratio": case.ratio,
            "nginx_p99_ms": case.p99("nginx"),
            "service_p99_ms": case.p99("service"),
            "service_errors": case.errors("service"),
            "runs": {
                "nginx": [asdict(r) for r in case.nginx],
                "service": [asdict(r) for r in case.service],
            },
        }
        for case in report.hot
    ]
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Broadsheet's benchmark (issue 4).")
    parser.add_argument("--smoke", action="store_true", help="tiny corpus, 1 s wrk runs (CI)")
    parser.add_argument("--articles", type=int, help="corpus size (default 100,000)")
    parser.add_argument("--no-postgres", action="store_true", help="skip target 4")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    install_cleanup()
    os.chdir(REPO)
    profile = SMOKE if args.smoke else FULL
    if args.articles:
        profile = Profile(**(asdict(profile) | {"articles": args.articles}))
    postgres = not args.no_postgres and scaling.postgres_reachable()
    site = Site(profile, args.keep)
    if not postgres:
        site.report.notes.append("PostgreSQL not reachable at 127.0.0.1:5432: target 4 skipped")
    report = run(site, postgres)
    table = render(report, profile)
    plans = plans_text(report.scaling)
    save("results", profile.name, to_json(report), plans + "\n" + table)
    print(plans)
    print(table)
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
