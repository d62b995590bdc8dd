"""Issue 4's benchmark, in one command: ``python -m bench.run`` (``make bench``).

Generates a realistic corpus, loads it into a fresh SQLite site with the service's own
loader, measures a full rebuild and the incremental render of one write, starts the web
role and the scheduler as deployed, and nginx (serving the same feed bytes as static
files) side by side, drives both with wrk, measures publish latency, worker memory and the
API's ingest rate, then the site feed's render cost at 1,000 and 1,000,000 articles on
PostgreSQL with the hot queries' plans. Prints one table with every figure against its
target; writes the same as JSON under ``bench/out/``.

Every phase has a time budget, so the whole run stays under ten minutes however slow the
service is: a phase that runs out says so, and reports what it got.

``--smoke`` runs the same scripts on a tiny corpus with 1-second wrk runs (under two
minutes, for CI); it fails only if a script breaks, never on speed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from email.utils import parsedate_to_datetime
from itertools import islice
from pathlib import Path
from typing import Any

from bench import corpus as corpus_module
from bench.loadgen import WrkResult
from bench.loadgen import fetch_each
from bench.loadgen import run_wrk
from bench.procs import BenchError
from bench.procs import Child
from bench.procs import command_line
from bench.procs import ensure_tools
from bench.procs import rss_kib
from bench.procs import stop_all
from bench.procs import tool_path
from bench.publish import PublishResult
from bench.publish import feed_path
from bench.publish import measure_publish
from bench.scaling import Scaling
from bench.service import REPO
from bench.service import IngestResult
from bench.service import Service
from bench.service import broadsheet_executable
from bench.service import post_articles
from bench.service import read_lines
from bench.static import StaticServer
from bench.static import start_nginx

OUT = REPO / "bench" / "out"
HOT_PATH = "/feed.rss"
CASES = ("304", "200 gzip", "200 identity")
RATIO_TARGETS = {"304": 0.25, "200 gzip": 0.25, "200 identity": 0.50}
P99_TARGET_MS = 20.0
PUBLISH_TARGET_S = 1.0
INCREMENTAL_TARGET_MS = 100.0
SUBSCRIPTIONS_TARGET_S = 10.0
ARCHIVES_TARGET_S = 60.0
# Subscription feeds (not archive pages) still waiting for a render.
WAITING_SUBSCRIPTIONS = (
    "SELECT count(*) FROM feed_states WHERE scope_key NOT LIKE 'archive/%' "
    "AND (dirty_version > rendered_version OR stale_since IS NOT NULL)"
)
RESTART_TARGET_S = 5.0
# Leaves every feed as if rendered: no write pending, no rebuild asked for.
SETTLE_ALL_FEEDS = "UPDATE feed_states SET rendered_version = dirty_version, stale_since = NULL"
# How long a restarted scheduler is watched for renders it should not do.
RESTART_WATCH_SECONDS = 5.0
SCALING_TARGET = 1.5
IMPORT_TARGET = 2000.0
API_TARGET = 300.0
RSS_TARGET_MB = 200.0


@dataclass(frozen=True)
class Profile:
    """Sizes and time budgets (seconds) of one kind of run."""

    name: str
    articles: int
    extra: int
    item_limit: int
    wrk_seconds: float
    rounds: int
    warmup: bool
    load_budget: float
    rebuild_budget: float
    incremental_writes: int
    incremental_budget: float
    settle_budget: float
    sweep_budget: float
    publish_samples: int
    publish_wait: float
    publish_budget: float
    api_articles: int
    api_budget: float
    pg_small: int
    pg_large: int
    pg_budget: float
    pg_repeats: int


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


@dataclass
class Report:
    """Everything measured, for the table and the JSON file."""

    profile: str
    started: str
    machine: dict[str, str] = field(default_factory=dict)
    corpus: dict[str, Any] = field(default_factory=dict)
    load: dict[str, Any] = field(default_factory=dict)
    rebuild: dict[str, Any] = field(default_factory=dict)
    incremental: list[dict[str, Any]] = field(default_factory=list)
    incremental_stopped: float | None = None
    incremental_partial: dict[str, Any] = field(default_factory=dict)
    scheduler: str = ""
    feed: dict[str, Any] = field(default_factory=dict)
    hot: list[HotCase] = field(default_factory=list)
    sweep: dict[str, Any] = field(default_factory=dict)
    memory: list[dict[str, Any]] = field(default_factory=list)
    publish: PublishResult | None = None
    publish_rebuild: PublishResult | None = None
    rebuild_pending: dict[str, int] = field(default_factory=dict)
    restart: dict[str, Any] = field(default_factory=dict)
    api: IngestResult | None = None
    api_alone: IngestResult | None = None
    scaling: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Run:
    """One benchmark run: the profile, the scratch directory, the service, the report."""

    def __init__(self, profile: Profile, keep: bool) -> None:
        self.profile = profile
        self.keep = keep
        self.t0 = time.monotonic()
        self.root = Path(tempfile.mkdtemp(prefix="broadsheet-bench-"))
        self.root.chmod(0o755)  # nginx's workers (an unprivileged user) read files below
        self.report = Report(profile.name, datetime.now(UTC).isoformat(timespec="seconds"))
        self.corpus_path = OUT / f"corpus-{profile.articles}+{profile.extra}.jsonl"
        settings = {
            "BROADSHEET_FEED_ITEM_LIMIT": str(profile.item_limit),
            # The safety-net pass re-renders every feed; the rebuild is measured on its own
            # (target 3), and during the load tests it would only add noise.
            "BROADSHEET_FEED_REGENERATE_SECONDS": "86400",
        }
        self.service = Service(
            self.root, f"sqlite:///{self.root / 'broadsheet.db'}", settings=settings
        )
        self.token = ""
        self.nginx: StaticServer | None = None
        self.scaling_job: Scaling | None = None
        self.grower: threading.Thread | None = None
        self.extra_cursor = profile.articles

    # -- helpers ------------------------------------------------------------------------

    def log(self, message: str) -> None:
        elapsed = time.monotonic() - self.t0
        print(f"[{elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)

    def phase(self, name: str, action: Callable[[], None]) -> None:
        self.log(f"== {name}")
        try:
            self.check_web(name)
            action()
        except Exception as error:  # a phase that breaks is reported; the others still run
            self.report.errors.append(f"{name}: {error}")
            self.log(f"!! {name} failed: {error}")
            traceback.print_exc(file=sys.stderr)

    def check_web(self, phase: str) -> None:
        """A web role that died is an error of the run; restart it so the rest can go on."""
        web = self.service.web
        if web is None or web.alive():
            return
        code = web.process.returncode
        self.report.errors.append(
            f"the web role exited (code {code}) before '{phase}'; restarted: {web.tail(5)}"
        )
        self.log(f"!! the web role exited with code {code}; restarting it")
        web.stop()
        self.service.start_web()

    def pause_busy_scheduler(self) -> bool:
        """Pause (SIGSTOP) a scheduler that still has feeds to render, so that the load
        tests measure the web role; True if it was paused."""
        scheduler = self.service.scheduler
        if scheduler is None or self.dirty_count() == 0:
            return False
        scheduler.pause()
        self.report.notes.append(
            "the scheduler still had feeds to render: it was paused during the every-feed "
            "and hot-feed load tests"
        )
        self.log("scheduler paused during the load tests (it still had feeds to render)")
        return True

    def extra_lines(self, count: int) -> Iterator[dict[str, Any]]:
        """Corpus lines after the loaded ones, each used once (API, publish, writes)."""
        first = self.extra_cursor
        count = min(count, self.profile.articles + self.profile.extra - first)
        self.extra_cursor += count
        return read_lines(self.corpus_path, count, skip=first)

    def query_write(self, sql: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy import text

        engine = create_engine(self.service.database_url)
        try:
            with engine.begin() as connection:
                connection.execute(text(sql))
        finally:
            engine.dispose()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        from sqlalchemy import create_engine
        from sqlalchemy import text

        engine = create_engine(self.service.database_url)
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(sql))]
        finally:
            engine.dispose()

    def dirty_count(self) -> int:
        """Feeds waiting for a render: unrendered writes, or a rebuild asked for."""
        rows = self.query(
            "SELECT count(*) FROM feed_states "
            "WHERE dirty_version > rendered_version OR stale_since IS NOT NULL"
        )
        return int(rows[0][0])

    def stale_count(self) -> int:
        """Feeds a rebuild asked for that no render has covered yet."""
        rows = self.query("SELECT count(*) FROM feed_states WHERE stale_since IS NOT NULL")
        return int(rows[0][0])

    # -- phases ---------------------------------------------------------------------------

    def setup(self) -> None:
        ensure_tools({"wrk": "wrk", "nginx": "nginx"})
        self.report.machine = machine_facts()
        OUT.mkdir(parents=True, exist_ok=True)
        total = self.profile.articles + self.profile.extra
        written = corpus_module.write_jsonl(
            self.corpus_path, total, reuse=True, spread=self.profile.articles
        )
        self.report.corpus = {
            "articles": self.profile.articles,
            "file": str(written.path.relative_to(REPO)),
            "megabytes": round(written.size_bytes / 1e6, 1),
            "generated_seconds": round(written.seconds, 1),
            "reused": written.cached,
        }
        self.log(
            f"corpus: {total:,} lines, {written.size_bytes / 1e6:.0f} MB "
            f"({'reused' if written.cached else f'{written.seconds:.1f} s'})"
        )
        self.service.cli("migrate")
        self.service.start_web()
        self.token = self.service.create_token()
        self.report.machine["web"] = command_line(self.service.web.pid) if self.service.web else ""

    def load(self) -> None:
        """Target 5 (CLI) and the corpus: ``broadsheet import`` from a pipe for as long as
        the budget lasts (or the API with 4 clients if there is no import command); what
        does not fit is written straight into the database, and said so."""
        profile = self.profile
        count = profile.articles
        if self.service.has_command("import"):
            method = "broadsheet import"
            imported, sent, seconds = self._import_stream(count, profile.load_budget)
        else:
            method = "API, 4 clients (no import command)"
            self.report.notes.append("no `broadsheet import`: the corpus went through the API")
            result = post_articles(
                self.service.base_url,
                self.token,
                read_lines(self.corpus_path, count),
                clients=4,
                time_limit=profile.load_budget,
            )
            imported, seconds = result.created, result.seconds
            sent = result.created + result.failed
        rate = imported / seconds if seconds else 0.0
        self.report.load = {
            "method": method,
            "imported": imported,
            "seconds": round(seconds, 1),
            "rate": round(rate),
        }
        self.log(f"{method}: {imported:,} articles in {seconds:.1f} s = {rate:,.0f}/s")
        if sent < count:
            from bench.topup import top_up

            self.start_growing()
            self.log(f"topping up {count - sent:,} articles straight into the database...")
            topped = top_up(
                self.service.database_url,
                self.corpus_path,
                sent,
                count,
                self.service.base_url,
                "127.0.0.1",
                self.profile.item_limit,
            )
            self.report.load["topped_up"] = count - sent
            self.report.load["topup_seconds"] = round(topped, 1)
            self.report.notes.append(
                f"{method} stored {imported:,} articles in its {profile.load_budget:.0f} s "
                f"budget; the other {count - sent:,} were written straight into the database "
                "(bench/topup.py) so that the other figures are at the full corpus"
            )
        self.wait_growing()
        stored = self.query("SELECT count(*) FROM articles WHERE deleted_at IS NULL")[0][0]
        scopes = self.query("SELECT count(*) FROM feed_states")[0][0]
        self.report.load["stored"] = stored
        self.report.load["scopes"] = scopes
        self.log(f"stored: {stored:,} articles, {scopes:,} feed scopes")

    def _import_stream(self, count: int, budget: float) -> tuple[int, int, float]:
        log = self.root / "import.log"
        started = time.perf_counter()
        deadline = started + budget
        sent = 0
        with log.open("ab") as err:
            process = subprocess.Popen(
                [broadsheet_executable(), "import", "-"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=self.service.env,
                cwd=REPO,
                start_new_session=True,
            )
            child = Child.adopt("broadsheet import", process, log)
            assert process.stdin is not None and process.stdout is not None
            try:
                with self.corpus_path.open("rb") as source:
                    for line in islice(source, count):
                        if time.perf_counter() > deadline:
                            break
                        process.stdin.write(line)
                        sent += 1
                process.stdin.close()
            except BrokenPipeError:
                pass
            try:
                process.wait(timeout=max(60.0, budget))
            except subprocess.TimeoutExpired:
                child.stop()
                raise BenchError("broadsheet import did not finish after its input ended") from None
            out = process.stdout.read()
            child.stop()
        seconds = time.perf_counter() - started
        text = out.decode("utf-8", errors="replace")
        imported = 0
        for part in text.replace(";", "\n").splitlines():
            if "articles imported:" in part:
                imported = int(part.split(":")[1].strip())
        if process.returncode not in (0, 1):
            raise BenchError(f"broadsheet import exited {process.returncode}:\n{child.tail()}")
        if imported < sent:
            self.report.notes.append(f"broadsheet import skipped {sent - imported} lines")
        return imported, sent, seconds

    def rebuild(self) -> None:
        """Target 3, full rebuild: ``broadsheet regenerate`` (every feed, archive pages
        included) twice. First with no entry rendered yet, as after a template change or an
        upgrade (each changes every entry's bytes); then again, with the entries the first
        stored, as a rebuild asked for by hand or a second worker. Each records when the
        subscription feeds were all rendered (they go first) and when the archive pages
        were."""
        budget = self.profile.rebuild_budget
        for label in ("first", "again"):
            timed = self._timed_regenerate(budget)
            if timed is None:
                self.report.rebuild = {"seconds": None, "budget": budget}
                self.log(f"full rebuild did not finish in {budget:.0f} s; rendering the hot feeds")
                self._render_hot_subset()
                return
            self.report.rebuild[label] = timed
            self.log(
                f"full rebuild ({label}): subscription feeds in {timed['subscriptions_seconds']}"
                f" s, everything in {timed['seconds']} s ({timed['output']})"
            )
        self.report.rebuild["seconds"] = self.report.rebuild["first"]["seconds"]
        count, size = self.query("SELECT count(*), sum(length(body)) FROM entry_fragments")[0]
        self.report.rebuild["stored_entries"] = int(count)
        self.report.rebuild["stored_entries_mb"] = round(int(size or 0) / 1e6)

    def _timed_regenerate(self, budget: float) -> dict[str, Any] | None:
        """Run ``broadsheet regenerate`` and time it, and when no subscription feed was
        waiting any more; None if it ran over ``budget``."""
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["output"] = self.service.cli("regenerate", timeout=budget).strip()
            except BenchError as error:
                outcome["error"] = error

        started = time.perf_counter()
        thread = threading.Thread(target=run, name="regenerate")
        thread.start()
        seen_waiting = False
        subscriptions: float | None = None
        while thread.is_alive():
            thread.join(0.25)
            if subscriptions is not None:
                continue
            # The command marks the feeds first: done means "seen waiting, then none".
            waiting = int(self.query(WAITING_SUBSCRIPTIONS)[0][0])
            if waiting:
                seen_waiting = True
            elif seen_waiting:
                subscriptions = time.perf_counter() - started
        seconds = time.perf_counter() - started
        error = outcome.get("error")
        if error is not None:
            if "over" in str(error):
                return None
            raise error
        return {
            "seconds": round(seconds, 1),
            "subscriptions_seconds": round(subscriptions or seconds, 1),
            "output": outcome["output"],
        }

    def _render_hot_subset(self) -> None:
        """After a rebuild that ran out of time: leave the other feeds unrendered, render
        the site feed and the busiest category, tag and author feeds, then the newest
        complete archive page (a page holds ``feed.item_limit`` articles), and extrapolate
        the non-archive part of a full rebuild from their cost."""
        from sqlalchemy import inspect
        from sqlalchemy import text

        from app.services import build_services
        from app.storage.feeds import FeedStateRepository

        services = build_services(environ=self.service.env)
        try:
            columns = {
                c["name"] for c in inspect(services.database.engine).get_columns("feed_states")
            }
            # The stopped regenerate's render claims (leases) would hold its feeds for
            # minutes: release them, as its lease running out eventually would. Its
            # rebuild requests are dropped too, or the pass below would render them all.
            with services.database.write() as session:
                session.execute(text(SETTLE_ALL_FEEDS))
                if "claimed_until" in columns:
                    session.execute(text("UPDATE feed_states SET claimed_until = NULL"))
            sizes = self._scope_sizes()
            hot = {"site"}
            for kind in ("category", "tag", "author"):
                ranked = sorted((n, k) for k, n in sizes.items() if k.startswith(kind + "/"))
                hot.update(key for _n, key in ranked[-3:])
            # Then the newest complete archive page: the site feed links to it, and a
            # write whose number completes a page renders one like it.
            pages = [int(key.split("/", 1)[1]) for key in sizes if key.startswith("archive/")]
            page = f"archive/{max(pages)}" if pages else None
            timings: list[tuple[int, float]] = []
            for scopes in (hot, {page} if page else set()):
                with services.database.write() as session:
                    FeedStateRepository(session).mark_dirty(scopes)
                started = time.perf_counter()
                report = services.renderer.render_due_feeds(services.clock())
                timings.append((len(report.scopes), time.perf_counter() - started))
                # Whatever else the pass marked is left unrendered too.
                with services.database.write() as session:
                    session.execute(text(SETTLE_ALL_FEEDS))
        finally:
            services.database.dispose()
        (count, seconds), (_, archive_seconds) = timings[0], [*timings, (0, 0.0)][1]
        archives = len(pages)
        others = len(sizes) - archives
        # The hot feeds are full (item_limit entries): an upper bound per feed.
        estimate = seconds / max(1, count) * others
        page_entries = sizes.get(page, 0) if page else 0
        self.report.rebuild.update(
            {
                "hot_scopes": count,
                "hot_seconds": round(seconds, 1),
                "estimate_seconds": round(estimate),
                "estimate_scopes": others,
                "archives": archives,
                "archive": page,
                "archive_entries": page_entries,
                "archive_seconds": round(archive_seconds, 1),
            }
        )
        self.report.notes.append(
            f"full rebuild stopped after {self.profile.rebuild_budget:.0f} s; then only the "
            f"site feed and the 3 busiest categories, tags and authors ({count} feeds, "
            f"{seconds:.1f} s) and {page} ({page_entries:,} entries, {archive_seconds:.1f} s) "
            "were rendered, not the site's other feeds"
        )
        self.log(
            f"hot feeds: {count} scopes in {seconds:.1f} s (so the {others:,} non-archive "
            f"scopes: up to ~{estimate:,.0f} s); {page} ({page_entries:,} entries): "
            f"{archive_seconds:.1f} s; {archives:,} archive pages in all"
        )

    def _scope_sizes(self) -> dict[str, int]:
        """Live public articles per feed scope: the site, each category, tag and author
        (all their articles; their feeds hold the newest ``feed.item_limit``), and each
        complete archive page (pages of the counter's page size, as many as the
        publication counter has passed)."""
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        visible = f"a.deleted_at IS NULL AND a.published_at <= '{now}'"
        sizes: dict[str, int] = {}
        sizes["site"] = self.query(f"SELECT count(*) FROM articles a WHERE {visible}")[0][0]  # noqa: S608
        for kind, slug, n in self.query(
            "SELECT t.kind, t.slug, count(DISTINCT t.article_pk) FROM article_terms t "  # noqa: S608
            f"JOIN articles a ON a.pk = t.article_pk WHERE {visible} GROUP BY t.kind, t.slug"
        ):
            sizes[f"{kind}/{slug}"] = int(n)
        for slug, n in self.query(
            "SELECT w.slug, count(DISTINCT w.article_pk) FROM article_authors w "  # noqa: S608
            f"JOIN articles a ON a.pk = w.article_pk WHERE {visible} GROUP BY w.slug"
        ):
            sizes[f"author/{slug}"] = int(n)
        counter = self.query(
            "SELECT next_sequence, page_size FROM publication_counter WHERE id = 1"
        )
        if counter:
            next_sequence, page_size = (int(value) for value in counter[0])
            end = next_sequence // page_size * page_size
            for page, n in self.query(
                f"SELECT a.sequence / {page_size}, count(*) FROM articles a "  # noqa: S608
                f"WHERE {visible} AND a.sequence < {end} GROUP BY 1"
            ):
                sizes[f"archive/{int(page)}"] = int(n)
        return sizes

    def incremental(self) -> None:
        """Target 3, one write: POST an article, time the render pass that follows."""
        profile = self.profile
        first = self.extra_cursor
        self.extra_cursor += profile.incremental_writes
        argv = [
            sys.executable,
            "-m",
            "bench.incremental",
            "--base-url",
            self.service.base_url,
            "--token",
            self.token,
            "--corpus",
            str(self.corpus_path),
            "--skip",
            str(first),
            "--count",
            str(profile.incremental_writes),
            "--budget",
            str(profile.incremental_budget),
        ]
        child = Child(
            "bench.incremental", argv, self.root / "incremental.log", self.service.env, REPO
        )
        stopped = False
        try:
            child.process.wait(timeout=profile.incremental_budget + 20)
        except subprocess.TimeoutExpired:
            stopped = True
        child.stop()
        expecting: list[str] = []
        progress: dict[str, float] = {}
        for line in child.log_path.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            sample = json.loads(line)
            if "error" in sample:
                raise BenchError(sample["error"])
            if "expecting" in sample:
                expecting, progress = sample["expecting"], {}
            elif "progress" in sample:
                progress[sample["progress"]] = sample["ms"]
            else:
                self.report.incremental.append(sample)
                expecting, progress = [], {}
                self.log(
                    f"one write: {sample['ms']:.0f} ms in {sample.get('passes', 1)} pass(es), "
                    f"{sample['scopes']} scopes rendered (its own: {sample['expected']}; "
                    f"extra: {len(sample['extra'])}; missing: {len(sample['missing'])})"
                )
        if expecting:
            # The write whose render was stopped: which of its feeds were done, and when.
            self.report.incremental_partial = {
                "done": progress,
                "not_done": sorted(set(expecting) - set(progress)),
            }
            self.log(
                f"stopped write: done {progress}, not done {sorted(set(expecting) - set(progress))}"
            )
        if stopped:
            self.report.incremental_stopped = profile.incremental_budget + 20
            self.report.notes.append(
                f"the incremental measurement was stopped after "
                f"{profile.incremental_budget + 20:.0f} s, in the middle of a render pass"
            )
        if not self.report.incremental and not stopped:
            raise BenchError(f"no incremental sample:\n{child.tail()}")

    def start_scheduler(self) -> None:
        """The scheduler as deployed, if a full rebuild fits its budget (it starts with one);
        otherwise the same scheduler without that start-up pass (bench/due_scheduler.py)."""
        if self.report.rebuild.get("seconds") is not None:
            self.report.scheduler = "broadsheet scheduler"
            self.service.start_scheduler()
            # Its start-up job marks every feed stale (`regenerate` stores no record of
            # what rendered the feeds, so to it they may be out of date), then its passes
            # render them all.
            marked = time.monotonic() + 10
            while self.dirty_count() == 0 and time.monotonic() < marked:
                time.sleep(0.2)
        else:
            self.report.scheduler = "bench.due_scheduler (no start-up pass)"
            self.service.scheduler = Child(
                "scheduler (due only)",
                [sys.executable, "-m", "bench.due_scheduler"],
                self.root / "scheduler.log",
                self.service.env,
                REPO,
            )
        # The load tests start when nothing is left to render (or the budget is spent).
        deadline = time.monotonic() + self.profile.settle_budget
        while self.dirty_count() > 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        if self.dirty_count() > 0:
            self.report.notes.append(
                f"the scheduler still had feeds to render after {self.profile.settle_budget:.0f} "
                "s, when the load tests began"
            )
        time.sleep(1)
        if self.service.scheduler is not None and not self.service.scheduler.alive():
            raise BenchError(f"the scheduler exited:\n{self.service.scheduler.tail()}")
        self.log(f"scheduler: {self.report.scheduler}")

    def sweep(self) -> None:
        """Target 6's "every feed": each stored feed fetched once (gzip), 8 connections."""
        keys = [row[0] for row in self.query("SELECT feed_key FROM feed_snapshots")]
        paths = [feed_path(*key.rsplit(":", 1)) for key in sorted(keys)]
        if not paths:
            raise BenchError("no stored feeds to fetch")
        result = fetch_each(
            self.service.base_url,
            paths,
            {"Accept-Encoding": "gzip"},
            connections=8,
            budget_s=self.profile.sweep_budget,
        )
        self.report.sweep = {
            "feeds": result.paths,
            "fetched": result.fetched,
            "seconds": round(result.seconds, 1),
            "rps": round(result.rps),
            "p99_ms": round(result.p99_ms, 1),
            "max_ms": round(result.max_ms, 1),
            "not_ok": result.not_ok,
            "megabytes": round(result.bytes / 1e6, 1),
        }
        self.log(
            f"every feed: {result.fetched:,} of {result.paths:,} feeds in "
            f"{result.seconds:.1f} s ({result.rps:,.0f}/s, p99 {result.p99_ms:.0f} ms, "
            f"{result.bytes / 1e6:.0f} MB), {result.not_ok} not 200"
        )
        if result.fetched < result.paths:
            self.report.notes.append(
                f"only {result.fetched:,} of {result.paths:,} feeds were fetched in the "
                f"{self.profile.sweep_budget:.0f} s budget"
            )

    def hot(self) -> None:
        """Target 1: the site feed, nginx and the service side by side, rounds interleaved."""
        base = self.service.base_url
        identity = fetch(base + HOT_PATH, {})
        zipped = fetch(base + HOT_PATH, {"Accept-Encoding": "gzip"})
        if zipped.headers.get("content-encoding") != "gzip":
            raise BenchError("the service did not answer gzip to Accept-Encoding: gzip")
        if gzip.decompress(zipped.body) != identity.body:
            raise BenchError("the service's gzip bytes are not its identity bytes")
        entries = identity.body.count(b"<item>")
        modified = parsedate_to_datetime(identity.headers.get("last-modified", ""))
        self.report.feed = {
            "path": HOT_PATH,
            "entries": entries,
            "identity_bytes": len(identity.body),
            "gzip_bytes": len(zipped.body),
        }
        self.log(
            f"{HOT_PATH}: {entries} entries, {len(identity.body) / 1024:.0f} KB, "
            f"gzip {len(zipped.body) / 1024:.0f} KB"
        )
        self.nginx = start_nginx(
            self.root / "nginx",
            {HOT_PATH: identity.body},
            {HOT_PATH: zipped.body},
            modified,
        )
        servers = {"nginx": self.nginx.base_url, "service": base}
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
        seconds = self.profile.wrk_seconds
        if self.profile.warmup:
            for case in CASES:
                for server, url in servers.items():
                    run_wrk(url + HOT_PATH, seconds=1, headers=headers[server][case])
        for round_number in range(1, self.profile.rounds + 1):
            for case in CASES:
                for server, url in servers.items():
                    result = run_wrk(url + HOT_PATH, seconds=seconds, headers=headers[server][case])
                    getattr(cases[case], server).append(result)
                    self.log(
                        f"round {round_number} {case:<12} {server:<7} {result.rps:>9,.0f}/s "
                        f"p99 {result.p99_ms:7.2f} ms errors {result.errors}"
                    )
        self.report.hot = list(cases.values())

    def memory(self) -> None:
        """Target 6: resident memory of the web role's processes after the load."""
        for pid in self.service.worker_pids():
            status = read_status(pid)
            self.report.memory.append(
                {
                    "pid": pid,
                    "rss_mb": round(status.get("VmRSS", 0) / 1024, 1),
                    "peak_mb": round(status.get("VmHWM", 0) / 1024, 1),
                    "command": command_line(pid)[:120],
                }
            )
        if self.service.web is not None:
            master = rss_kib(self.service.web.pid) or 0
            self.report.machine["web_master_rss_mb"] = f"{master / 1024:.1f}"
        for item in self.report.memory:
            self.log(f"worker {item['pid']}: {item['rss_mb']} MB resident (peak {item['peak_mb']})")

    def measure_publish(self, label: str) -> PublishResult:
        """Target 2's samples: from the API's 201 to every affected feed serving it."""
        profile = self.profile
        result = measure_publish(
            self.service.base_url,
            self.token,
            self.extra_lines(profile.publish_samples),
            profile.publish_samples,
            profile.publish_wait,
            profile.publish_budget,
            self.service.database_url,
        )
        if result.error:
            self.report.notes.append(f"publish latency ({label}): {result.error}")
        shown = ", ".join("miss" if v is None else f"{v:.2f}" for v in result.latencies)
        self.log(f"publish latencies (s), {label}: {shown}")
        shown = ", ".join("-" if v is None else f"{v:.2f}" for v in result.rendered)
        self.log(f"  of which rendered (s): {shown}; slowest served: {', '.join(result.slowest)}")
        rounds = ", ".join(f"{v:.2f}" for v in result.longest_round_s)
        requests = ", ".join(f"{v:.0f}" for v in result.slowest_request_ms)
        self.log(f"  longest poll round (s): {rounds}; slowest poll (ms): {requests}")
        return result

    def publish(self) -> None:
        """Target 2: from the API's 201 to every affected feed serving the article."""
        self.report.publish = self.measure_publish("scheduler idle")
        # The site feed holds the newest feed.item_limit articles whatever was published:
        # its size after these writes, next to its size under target 1's load.
        after = fetch(self.service.base_url + HOT_PATH, {})
        entries = after.body.count(b"<item>")
        self.report.feed["after_publish"] = {"entries": entries, "identity_bytes": len(after.body)}
        self.log(f"{HOT_PATH} after the writes: {entries} entries, {len(after.body):,} bytes")

    def publish_during_rebuild(self) -> None:
        """Target 2 while a rebuild of every feed, archive pages included, is under way (as
        after a template change): the service's own rebuild request
        (``FeedRenderer.mark_all_feeds_stale``), then the same samples. The rebuild's rest is
        dropped afterwards so that it does not weigh on the API figures."""
        if self.service.scheduler is None:
            self.report.notes.append("publish during a rebuild: no scheduler running")
            return
        from app.services import build_services

        services = build_services(environ=self.service.env)
        try:
            services.renderer.mark_all_feeds_stale(services.clock())
        finally:
            services.database.dispose()
        asked = self.stale_count()
        self.report.publish_rebuild = self.measure_publish("during a rebuild")
        left = self.stale_count()
        self.report.rebuild_pending = {"asked": asked, "left": left}
        self.log(f"rebuild: {asked:,} feeds asked for, {left:,} not rendered yet when measured")
        self.query_write("UPDATE feed_states SET stale_since = NULL")

    def restart(self) -> None:
        """A scheduler restarted with nothing changed: seconds until it is ready (its
        health mark written, as ``broadsheet health`` reads it) and how many feeds it
        renders in its first seconds (goal: none)."""
        if self.service.scheduler is None:
            self.report.notes.append("scheduler restart: no scheduler running")
            return
        from app import liveness
        from app.documents import render_fingerprint
        from app.services import build_services

        services = build_services(environ=self.service.env)
        try:
            # The render fingerprint of this code and these settings is stored (neither
            # `regenerate` nor the bench's due-only scheduler stores it), and the rebuild
            # that storing it asks for is dropped: every feed is rendered already.
            services.renderer.rebuild_if_changed(
                render_fingerprint(services.settings), services.clock()
            )
            mark = liveness.health_directory(services.settings) / liveness.SCHEDULER
        finally:
            services.database.dispose()
        self.query_write("UPDATE feed_states SET stale_since = NULL")
        deadline = time.monotonic() + self.profile.settle_budget
        while self.dirty_count() > 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        self.service.scheduler.stop()
        before = dict(self.query("SELECT scope_key, rendered_at FROM feed_states"))
        mark.unlink(missing_ok=True)
        started = time.monotonic()
        self.service.start_scheduler()
        ready = None
        while time.monotonic() - started < 30:
            if mark.exists():
                ready = time.monotonic() - started
                break
            time.sleep(0.05)
        time.sleep(RESTART_WATCH_SECONDS)  # its start-up job and first render passes
        after = dict(self.query("SELECT scope_key, rendered_at FROM feed_states"))
        rendered = sorted(key for key, at in after.items() if before.get(key) != at)
        self.report.restart = {"ready_s": ready, "rendered": len(rendered), "scopes": len(after)}
        self.log(f"scheduler restart: ready after {ready} s, {len(rendered)} feeds rendered")

    def api(self) -> None:
        """Target 5, the JSON API from one keep-alive client, articles published now: with
        the scheduler rendering what they make stale (as deployed), then without it."""
        for label in ("with the scheduler", "scheduler stopped"):
            if label == "scheduler stopped" and self.service.scheduler is not None:
                self.service.scheduler.stop()
                self.service.scheduler = None
            lines = (
                line | {"published_at": datetime.now(UTC).isoformat()}
                for line in self.extra_lines(self.profile.api_articles)
            )
            result = post_articles(
                self.service.base_url,
                self.token,
                lines,
                clients=1,
                time_limit=self.profile.api_budget,
                request_timeout=10,
            )
            if label == "with the scheduler":
                self.report.api = result
            else:
                self.report.api_alone = result
            self.log(
                f"API ({label}): {result.created} articles in {result.seconds:.1f} s = "
                f"{result.rate:.0f}/s, {result.failed} failed {result.first_error[:200]}"
            )
            if result.failed:
                # The service's answer, not the script's failure: reported in the table.
                self.report.notes.append(
                    f"API ({label}): {result.failed} writes failed, first: "
                    f"{result.first_error[:160]}"
                )

    def scaling_prepare(self) -> None:
        """Target 4, first step: the scratch PostgreSQL database at the small size."""
        profile = self.profile
        job = Scaling(
            profile.pg_small, profile.pg_large, profile.item_limit, profile.pg_repeats, self.log
        )
        self.scaling_job = job
        job.prepare()

    def start_growing(self) -> None:
        """Fill the PostgreSQL corpus in the background while unmeasured work (the corpus
        top-up) runs; :meth:`wait_growing` joins it before the next measurement."""
        job = self.scaling_job
        if job is None or job.grown or self.grower is not None or not job.result.small_ms:
            return

        def grow() -> None:
            try:
                job.grow(self.profile.pg_budget)
            except Exception as error:
                self.report.errors.append(f"PostgreSQL fill: {error}")

        self.grower = threading.Thread(target=grow, name="postgres-fill", daemon=True)
        self.grower.start()
        self.log("PostgreSQL fill started in the background (nothing is measured meanwhile)")

    def wait_growing(self) -> None:
        if self.grower is None:
            return
        self.grower.join(timeout=self.profile.pg_budget + 180)
        if self.grower.is_alive():
            self.report.notes.append("the PostgreSQL fill overlapped the next measurements")

    def scaling(self) -> None:
        """Target 4: grow (if that was not done in the background) within the time left of
        the ten minutes, then measure; the scratch database is dropped."""
        job = self.scaling_job
        if job is None:
            raise BenchError("the PostgreSQL corpus was not prepared")
        try:
            self.wait_growing()
            if not job.grown and (self.grower is None or not self.grower.is_alive()):
                left = 560 - (time.monotonic() - self.t0) - 45
                budget = self.profile.pg_budget
                if self.profile.name == "full":
                    budget = max(20.0, min(budget, left))
                job.grow(budget)
            result = job.measure()
        finally:
            job.close()
        self.report.scaling = {
            "small": result.small,
            "large": result.large,
            "small_ms": round(result.small_ms, 1),
            "large_ms": round(result.large_ms, 1),
            "ratio": round(result.ratio, 2),
            "fill_seconds": round(result.fill_seconds, 1),
            "note": result.note,
            "plans": [asdict(plan) for plan in result.plans],
        }
        if result.note:
            self.report.notes.append(f"PostgreSQL: {result.note}")

    def finish(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        self.service.stop()
        stop_all()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            self.report.notes.append(f"scratch directory kept: {self.root}")

    def run(self, postgres: bool) -> Report:
        try:
            try:
                self.service_phases(postgres)
            finally:
                self.finish()
            if self.scaling_job is not None and self.scaling_job.result.small_ms:
                self.phase("PostgreSQL scaling", self.scaling)
        finally:
            if self.scaling_job is not None:
                self.scaling_job.close()
        self.report.seconds = round(time.monotonic() - self.t0, 1)
        return self.report

    def service_phases(self, postgres: bool) -> None:
        self.phase("setup", self.setup)
        if self.service.web is None:
            return
        if postgres:
            self.phase("PostgreSQL, small corpus", self.scaling_prepare)
        self.phase("load", self.load)
        if not self.report.load.get("stored"):
            self.report.errors.append("no article was stored: the other phases were skipped")
            return
        self.phase("full rebuild", self.rebuild)
        self.phase("incremental render", self.incremental)
        self.phase("scheduler", self.start_scheduler)
        paused = self.pause_busy_scheduler()
        self.phase("every feed", self.sweep)
        self.phase("hot feed", self.hot)
        self.phase("memory", self.memory)
        if paused and self.service.scheduler is not None:
            self.service.scheduler.resume()
        self.phase("publish latency", self.publish)
        self.phase("publish during a rebuild", self.publish_during_rebuild)
        self.phase("scheduler restart", self.restart)
        self.phase("API ingest", self.api)


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes


def fetch(url: str, headers: dict[str, str]) -> Fetched:
    """One GET; the body as sent (gzip is not undone)."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            return Fetched(response.status, headers, response.read())
    except urllib.error.HTTPError as error:
        headers = {k.lower(): v for k, v in error.headers.items()}
        return Fetched(error.code, headers, error.read())


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


def read_status(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    except OSError:
        pass
    return values


def machine_facts() -> dict[str, str]:
    def first_line(argv: list[str]) -> str:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        except OSError:
            return "?"
        return (
            (done.stdout or done.stderr).strip().splitlines()[0]
            if (done.stdout or done.stderr)
            else "?"
        )

    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    commit = first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = first_line(["git", "-C", str(REPO), "status", "--porcelain", "--", "app"])
    return {
        "cpu": f"{os.cpu_count()} x {cpu}",
        "memory_gb": f"{int(memory) / 1024 / 1024:.0f}",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "nginx": first_line([tool_path("nginx"), "-v"]),
        "wrk": first_line([tool_path("wrk"), "-v"]),
        "commit": commit + (" (app/ has uncommitted changes)" if dirty not in ("", "?") else ""),
        "load_average": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


# -- the table ------------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def render(report: Report, profile: Profile) -> str:
    lines: list[str] = []
    add = lines.append
    machine = report.machine
    add("")
    add(f"Broadsheet benchmark ({report.profile}), {report.started}, {report.seconds:.0f} s")
    if report.profile == "smoke":
        add("SMOKE RUN: a tiny corpus and 1-second wrk runs prove the scripts work; the")
        add("figures and verdicts below are not the targets' measurements (python -m bench.run).")
    add(
        f"machine: {machine.get('cpu')}, {machine.get('memory_gb')} GB, kernel "
        f"{machine.get('kernel')}, Python {machine.get('python')}, {machine.get('nginx')}, "
        f"load average at start {machine.get('load_average')}"
    )
    add(f"service: commit {machine.get('commit')}; web: {machine.get('web', '?')[:100]}")
    load = report.load
    add(
        f"corpus: {load.get('stored', 0):,} articles stored, {load.get('scopes', 0):,} feed "
        f"scopes; scheduler: {report.scheduler or '-'}"
    )
    feed = report.feed
    if report.hot:
        add("")
        add(
            f"Target 1: GET {feed.get('path')} ({feed.get('entries')} entries, "
            f"{feed.get('identity_bytes', 0) / 1024:.0f} KB, gzip "
            f"{feed.get('gzip_bytes', 0) / 1024:.0f} KB), wrk -t2 -c64 -d{profile.wrk_seconds:g}s "
            f"--latency, median of {profile.rounds} interleaved rounds"
        )
        add(
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
            add(
                f"{hot.case:<13}{hot.rps('nginx'):>12,.0f}{hot.rps('service'):>15,.0f}"
                f"{hot.ratio:>7.1%}{target:>7.0%} {hot.p99('nginx'):>8.2f}ms"
                f"{hot.p99('service'):>8.2f}ms{hot.errors('service'):>11}"
                f"{hot.bytes('service'):>11,.0f}  {verdict(ok)}"
            )
    add("")
    add(f"{'target':<44}{'measured':<80}{'goal':<12}verdict")

    def row(name: str, measured: str, goal: str, ok: bool | None) -> None:
        add(f"{name:<44}{measured:<80}{goal:<12}{verdict(ok)}")

    pending = report.rebuild_pending
    for name, publish in (
        ("2 publish: 201 -> every feed has it (p95)", report.publish),
        ("2 the same during a full rebuild", report.publish_rebuild),
    ):
        if publish is not None and publish.latencies:
            p95 = publish.percentile(0.95)
            misses = sum(1 for value in publish.latencies if value is None)
            during = (
                f"; {pending.get('left', 0):,}/{pending.get('asked', 0):,} to rebuild"
                if publish is report.publish_rebuild
                else ""
            )
            row(
                name,
                f"{fmt_s(p95)} (n={len(publish.latencies)}, median {fmt_s(publish.median)}, "
                f"{misses} missed in {profile.publish_wait:.0f} s, ~{max(publish.feeds)} "
                f"feeds{during})",
                "<= 1 s",
                p95 is not None and p95 <= PUBLISH_TARGET_S,
            )
        elif publish is not None and publish.error:
            row(name, publish.error[:64], "<= 1 s", False)
        else:
            row(name, "not measured", "<= 1 s", None)
    if report.incremental:
        worst = max(sample["ms"] for sample in report.incremental)
        only_own = all(
            not sample["extra"] and not sample["missing"] for sample in report.incremental
        )
        scopes = statistics.median(sample["scopes"] for sample in report.incremental)
        row(
            "3 one write re-renders only its feeds",
            f"max {worst:,.0f} ms (n={len(report.incremental)}, {scopes:.0f} scopes, "
            f"{'only its own' if only_own else 'NOT only its own'})",
            "<= 100 ms",
            worst <= INCREMENTAL_TARGET_MS and only_own,
        )
    elif report.incremental_stopped is not None:
        partial = report.incremental_partial
        done = partial.get("done", {})
        waiting = partial.get("not_done", [])
        detail = (
            f"{len(done)} feeds done by {max(done.values(), default=0):,.0f} ms" if done else ""
        )
        if waiting:
            detail += f"; not {', '.join(waiting)[:40]}"
        row(
            "3 one write re-renders only its feeds",
            f"> {report.incremental_stopped:.0f} s (stopped){'; ' + detail if detail else ''}",
            "<= 100 ms",
            False,
        )
    else:
        row("3 one write re-renders only its feeds", "not measured", "<= 100 ms", None)
    restart = report.restart
    if restart:
        ready = restart["ready_s"]
        row(
            "3 scheduler restart, nothing changed",
            f"ready in {fmt_s(ready)}, {restart['rendered']} of {restart['scopes']:,} feeds "
            f"rendered in the next {RESTART_WATCH_SECONDS:.0f} s",
            "<= 5 s, 0",
            ready is not None and ready <= RESTART_TARGET_S and restart["rendered"] == 0,
        )
    else:
        row("3 scheduler restart, nothing changed", "not measured", "<= 5 s, 0", None)
    rebuild = report.rebuild
    if rebuild.get("seconds") is not None:
        first, again = rebuild["first"], rebuild["again"]
        row(
            "3 rebuild: every subscription feed",
            f"{first['subscriptions_seconds']:.1f} s with entries to render, "
            f"{again['subscriptions_seconds']:.1f} s with them stored",
            "<= 10 s",
            first["subscriptions_seconds"] <= SUBSCRIPTIONS_TARGET_S,
        )
        row(
            "3 rebuild: every archive page too",
            f"{first['seconds']:.1f} s / {again['seconds']:.1f} s "
            f"({first['output'].split(';')[0]}); {rebuild['stored_entries']:,} stored entries, "
            f"{rebuild['stored_entries_mb']:,} MB",
            "<= 60 s",
            first["seconds"] <= ARCHIVES_TARGET_S,
        )
    elif rebuild:
        row(
            "3 full rebuild (broadsheet regenerate)",
            f"> {rebuild['budget']:.0f} s (stopped); est. ~{rebuild.get('estimate_seconds', 0):,}"
            f" s w/o archives, {rebuild.get('archive_seconds', 0):.0f} s per archive",
            "<= 10 s",
            False,
        )
    else:
        row("3 full rebuild (broadsheet regenerate)", "not measured", "<= 10 s", None)
    scaling = report.scaling
    if scaling:
        row(
            f"4 site feed render, PG {scaling['large']:,} vs {scaling['small']:,}",
            f"{scaling['large_ms']:,.0f} ms vs {scaling['small_ms']:,.0f} ms = "
            f"{scaling['ratio']:.2f}x",
            "<= 1.5x",
            scaling["ratio"] <= SCALING_TARGET and scaling["large"] >= profile.pg_large,
        )
        scans = [p for p in scaling["plans"] if p["seq_scans"] or p["large_sorts"]]
        tables = ", ".join(sorted({t for p in scans for t in p["seq_scans"]})) or "-"
        sorted_rows = max((n for p in scans for n in p["large_sorts"]), default=0)
        row(
            "4 hot queries served by an index",
            f"{len(scaling['plans']) - len(scans)} of {len(scaling['plans'])} statements "
            f"(seq scans: {tables}; largest sort: {sorted_rows:,} rows)",
            "all",
            not scans,
        )
    else:
        row("4 site feed render, PG 1M vs 1k", "not measured", "<= 1.5x", None)
    if load:
        row(
            f"5 bulk import ({load.get('method', '?')[:17]})",
            f"{load.get('rate', 0):,}/s ({load.get('imported', 0):,} in {load.get('seconds')} s)",
            ">= 2,000/s",
            load.get("rate", 0) >= IMPORT_TARGET,
        )
    for api, label in ((report.api, "with scheduler"), (report.api_alone, "scheduler off")):
        if api is not None:
            row(
                f"5 JSON API, one client ({label})",
                f"{api.rate:,.0f}/s ({api.created} in {api.seconds:.1f} s, {api.failed} failed)",
                ">= 300/s",
                api.rate >= API_TARGET and not api.failed,
            )
    if report.memory:
        worst_rss = max(item["rss_mb"] for item in report.memory)
        sweep = report.sweep
        site_feeds = 3 * int(report.load.get("scopes", 0))
        # Every feed of the site is stored only after a full rebuild.
        rebuilt = report.rebuild.get("seconds") is not None
        every = bool(sweep) and sweep["fetched"] == sweep["feeds"] and rebuilt
        row(
            "6 web worker resident memory (max)",
            f"{worst_rss:.0f} MB ({len(report.memory)} workers), after "
            f"{sweep.get('fetched', 0):,} of ~{site_feeds:,} feeds + the hot load",
            "< 200 MB",
            0 < worst_rss < RSS_TARGET_MB and every,
        )
    after = feed.get("after_publish")
    if after:
        before = (
            f"; {feed['entries']} entries, {feed['identity_bytes']:,} B at target 1"
            if "entries" in feed
            else ""
        )
        row(
            f"  ({HOT_PATH} after the publish writes)",
            f"{after['entries']} entries, {after['identity_bytes']:,} B{before}",
            f"{profile.item_limit} entries",
            None,
        )
    if report.sweep:
        sweep = report.sweep
        row(
            "  (every feed once, gzip, 8 connections)",
            f"{sweep['rps']:,}/s, p99 {sweep['p99_ms']:,.0f} ms, {sweep['not_ok']} not 200",
            "",
            None,
        )
    for note in report.notes:
        add(f"note: {note}")
    for error in report.errors:
        add(f"ERROR: {error}")
    return "\n".join(lines)


def _scope_problem(extra: list[str], missing: list[str]) -> str:
    parts = []
    if extra:
        parts.append(f"{len(extra)} others too")
    if missing:
        parts.append(f"{len(missing)} of its own left")
    return ", ".join(parts)


def fmt_s(value: float | None) -> str:
    if value is None:
        return "-"
    if value == float("inf"):
        return "inf"
    return f"{value:.2f} s"


def render_plans(report: Report) -> str:
    plans = report.scaling.get("plans", [])
    if not plans:
        return ""
    lines = [
        "",
        f"Target 4: EXPLAIN (ANALYZE, BUFFERS) of every statement of a site render, a "
        f"category render and two feed reads, at {report.scaling['large']:,} articles",
    ]
    for plan in plans:
        flag = f"  <-- SEQ SCAN on {', '.join(plan['seq_scans'])}" if plan["seq_scans"] else ""
        if plan["large_sorts"]:
            flag += f"  <-- SORT of {', '.join(f'{n:,}' for n in plan['large_sorts'])} rows"
        sql = plan["sql"] if len(plan["sql"]) < 400 else plan["sql"][:400] + " ..."
        lines += ["", f"-- {plan['label']}{flag}", sql, plan["plan"]]
    return "\n".join(lines)


def to_json(report: Report) -> dict[str, Any]:
    data = asdict(report)
    data["hot"] = [
        {
            "case": hot.case,
            "nginx_rps": hot.rps("nginx"),
            "service_rps": hot.rps("service"),
            "ratio": hot.ratio,
            "nginx_p99_ms": hot.p99("nginx"),
            "service_p99_ms": hot.p99("service"),
            "service_errors": hot.errors("service"),
            "runs": {
                "nginx": [asdict(r) for r in hot.nginx],
                "service": [asdict(r) for r in hot.service],
            },
        }
        for hot in report.hot
    ]
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Broadsheet's benchmark (issue 4).")
    parser.add_argument("--smoke", action="store_true", help="tiny corpus, 1 s wrk runs (CI)")
    parser.add_argument("--articles", type=int, help="corpus size (default 100,000)")
    parser.add_argument("--no-postgres", action="store_true", help="skip target 4")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    os.chdir(REPO)
    profile = SMOKE if args.smoke else FULL
    if args.articles:
        profile = Profile(**(asdict(profile) | {"articles": args.articles}))
    postgres = not args.no_postgres and postgres_reachable()
    run = Run(profile, args.keep)
    if not postgres:
        run.report.notes.append("PostgreSQL not reachable at 127.0.0.1:5432: target 4 skipped")
    report = run.run(postgres)
    table = render(report, profile)
    plans = render_plans(report)
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (OUT / f"results-{profile.name}-{stamp}.json").write_text(
        json.dumps(to_json(report), indent=2, default=str), encoding="utf-8"
    )
    (OUT / f"results-{profile.name}-{stamp}.txt").write_text(plans + "\n" + table + "\n")
    print(plans)
    print(table)
    return 1 if report.errors else 0


def postgres_reachable() -> bool:
    try:
        import psycopg

        from bench.scaling import ADMIN_URL

        with psycopg.connect(ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


if __name__ == "__main__":
    sys.exit(main())
