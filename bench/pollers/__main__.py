"""A thousand feed readers poll the production server while articles are published:
``python -m bench.pollers`` (``make bench-pollers``); ``--smoke`` for CI. What is measured
and checked, and the verdict: ``bench/pollers/__init__.py``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import corpus as corpus_module
from bench.machine import command_line
from bench.machine import cpu_seconds
from bench.machine import git_commit
from bench.machine import load_average
from bench.machine import raise_open_files
from bench.pollers.drive import drive
from bench.pollers.poller import Tally
from bench.pollers.profile import FULL
from bench.pollers.profile import SMOKE
from bench.pollers.profile import Profile
from bench.pollers.readers import Reader
from bench.pollers.readers import describe_mix
from bench.pollers.readers import make_readers
from bench.pollers.report import Report
from bench.pollers.report import render
from bench.pollers.report import summarise
from bench.procs import REPO
from bench.procs import BenchError
from bench.procs import install_cleanup
from bench.procs import stop_all
from bench.results import Stopwatch
from bench.results import save
from bench.service import Service
from bench.service import read_lines


def run(profile: Profile, seed: int, keep: bool) -> Report:
    """Set the site up, poll it while publishing, and sum up what the pollers saw."""
    clock = Stopwatch()
    report = Report(profile.name, datetime.now(UTC).isoformat(timespec="seconds"))
    nofile = raise_open_files(profile.pollers * 2 + 1024)
    report.machine = {
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        "commit": git_commit(),
        "load_start": load_average(),
        "nofile": f"{nofile[0]} (soft)",
        "granian_env": " ".join(
            f"{k}={v}" for k, v in os.environ.items() if k.startswith("GRANIAN_")
        ),
    }
    root = Path(tempfile.mkdtemp(prefix="broadsheet-pollers-"))
    service = Service(root, f"sqlite:///{root / 'broadsheet.db'}")
    try:
        token, articles = start_site(profile, service, report, clock)
        categories = busiest_categories(service, profile.categories)
        readers = make_readers(profile.pollers, categories, seed)
        report.mix = describe_mix(readers, categories)
        clock.log(f"{profile.pollers} pollers for {profile.seconds:.0f} s...")
        tally, seconds = poll(profile, readers, service, token, articles, seed, report)
        summarise(report, tally, seconds)
    finally:
        report.machine.setdefault("load_end", load_average())
        service.stop()
        stop_all()
        if keep:
            report.notes.append(f"scratch directory kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return report


def start_site(
    profile: Profile, service: Service, report: Report, clock: Stopwatch
) -> tuple[str, Iterator[dict[str, Any]]]:
    """The service as deployed: a corpus imported, the web role, the scheduler, every feed
    rendered. An API token, and the corpus lines left for the publisher."""
    spare = int(profile.seconds / profile.publish_every) + 10
    corpus = corpus_module.write_jsonl(
        service.root / "corpus.jsonl", profile.articles + spare, spread=profile.articles
    )
    clock.log(f"corpus: {profile.articles} articles (+{spare} to publish) in {service.root}")
    service.cli("migrate", timeout=120)
    lines = list(read_lines(corpus.path, profile.articles))
    loaded = service.root / "loaded.jsonl"
    loaded.write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines),
        encoding="utf-8",
    )
    service.cli("import", str(loaded), timeout=300)
    service.start_web()
    token = service.create_token()
    started = time.monotonic()
    service.start_scheduler()
    render_s = wait_rendered(service, profile.render_budget, started)
    feeds = service.query("SELECT count(*) FROM feed_snapshots")[0][0]
    report.setup = {"articles": profile.articles, "feeds": feeds, "render_s": render_s}
    clock.log(f"service up: {feeds} feeds rendered in {render_s:.1f} s")
    return token, read_lines(corpus.path, spare, skip=profile.articles)


def poll(
    profile: Profile,
    readers: list[Reader],
    service: Service,
    token: str,
    articles: Iterator[dict[str, Any]],
    seed: int,
    report: Report,
) -> tuple[Tally, float]:
    """The pollers and the publisher for the run's time; the CPU time each side used."""
    assert service.web is not None and service.scheduler is not None
    report.machine["web"] = command_line(service.web.pid)
    web_pids = [service.web.pid, *service.web.descendants()]
    scheduler_pids = [service.scheduler.pid, *service.scheduler.descendants()]
    client_before = resource.getrusage(resource.RUSAGE_SELF)
    web_before, scheduler_before = cpu_seconds(web_pids), cpu_seconds(scheduler_pids)
    workers = service.web.descendants() or [service.web.pid]
    tally, seconds = asyncio.run(drive(profile, readers, service, token, articles, seed, workers))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = (usage.ru_utime + usage.ru_stime) - (
        client_before.ru_utime + client_before.ru_stime
    )
    report.machine["cpu_seconds"] = (
        f"{client_cpu:.1f} s / {cpu_seconds(web_pids) - web_before:.1f} s / "
        f"{cpu_seconds(scheduler_pids) - scheduler_before:.1f} s"
    )
    report.machine["load_end"] = load_average()
    for child in (service.web, service.scheduler):
        if not child.alive():
            tally.error(f"{child.name} exited", child.tail(5))
    return tally, seconds


def wait_rendered(service: Service, budget: float, scheduler_started: float) -> float:
    """Wait until the scheduler's start-up pass has rendered every feed; seconds waited."""
    began = time.monotonic()
    deadline = began + budget
    sql = "SELECT count(*) FROM feed_states WHERE dirty_version > rendered_version"
    seen_dirty = False
    while time.monotonic() < deadline:
        dirty = service.query(sql)[0][0]
        seen_dirty = seen_dirty or dirty > 0
        # The start-up pass marks every feed stale a moment after the scheduler starts.
        if dirty == 0 and (seen_dirty or time.monotonic() - scheduler_started > 10):
            return time.monotonic() - began
        time.sleep(0.25)
    raise BenchError(f"the scheduler had not rendered every feed after {budget:.0f} s")


def busiest_categories(service: Service, count: int) -> list[str]:
    rows = service.query(
        "SELECT slug, count(*) AS n FROM article_terms WHERE kind = 'category' "
        "GROUP BY slug ORDER BY n DESC, slug LIMIT :count",
        count=count,
    )
    return [str(row[0]) for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="100 pollers for 5 s (CI)")
    parser.add_argument("--pollers", type=int, help="how many pollers")
    parser.add_argument("--seconds", type=float, help="how long they poll")
    parser.add_argument("--seed", type=int, default=7, help="the readers' mix and think times")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    install_cleanup()
    os.chdir(REPO)
    profile = SMOKE if args.smoke else FULL
    changes = {"pollers": args.pollers, "seconds": args.seconds}
    profile = Profile(**(asdict(profile) | {k: v for k, v in changes.items() if v}))
    try:
        report = run(profile, args.seed, args.keep)
    except BenchError as error:
        print(f"bench.pollers: {error}", file=sys.stderr)
        return 2
    table = render(report, profile)
    data = asdict(report) | {"profile_settings": asdict(profile)}
    data["mix"].pop("paths", None)
    save("pollers", profile.name, data, table)
    print(table)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
