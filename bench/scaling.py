"""Target 4: the site feed's render cost at 1,000 and at 1,000,000 articles on PostgreSQL,
and the query plans of the hot queries.

How: a scratch database is filled in SQL (``bench/pg_corpus.py``) to the small size, then,
while nothing else is measured (the corpus top-up) or after the service's benchmarks, to
the large one. The site feed's render is timed in-process through the service's own use
cases (the site feed marked stale, ``render_due_feeds``, the median of a few). A rebuild of
every sitemap (what ``broadsheet regenerate`` adds, one article sitemap per 1,000 articles)
is timed once at the large size and stated, not held to the ratio; so is the site feed's
render once a private subscriber's profile is added (each subscription feed then renders
once per profile). Every SQL statement that
a site render, a category render and a feed read send is shown with ``EXPLAIN (ANALYZE,
BUFFERS)`` (``bench/plans.py``). Goals: the large render within 1.5 times the small one;
every hot query served by an index (no sequential scan of a large table, no large sort).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import psycopg

from bench.pg_corpus import ADMIN_URL
from bench.pg_corpus import bulk_mode
from bench.pg_corpus import fill
from bench.pg_corpus import plain_url
from bench.pg_corpus import scratch_database
from bench.pg_corpus import term_pools
from bench.pg_corpus import unlogged
from bench.plans import Plan
from bench.plans import captured_sql
from bench.plans import explain_all
from bench.procs import BenchError
from bench.results import TargetTable
from bench.site import Profile
from bench.site import Report
from bench.site import Site

SCALING_TARGET = 1.5


@dataclass
class ScalingResult:
    """Render times of the site feed at two corpus sizes, and the hot queries' plans."""

    small: int = 0
    large: int = 0
    small_ms: float = 0.0
    large_ms: float = 0.0
    fill_seconds: float = 0.0
    sitemaps_ms: float = 0.0
    sitemaps_written: int = 0
    private_ms: float = 0.0
    plans: list[Plan] = field(default_factory=list)
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.large_ms / self.small_ms if self.small_ms else float("nan")


def _services(url: str, item_limit: int) -> Any:
    from app.services import build_services

    return build_services(
        overrides={
            "database_url": url,
            "feed_item_limit": item_limit,
            "site_base_url": "http://127.0.0.1:8000",
            "log_level": "WARNING",
        },
        environ={},
    )


def mark_site_feed_stale(services: Any) -> None:
    """Ask for the site feed alone: a rebuild request (``mark_all_feeds_stale``) would also
    ask for every article sitemap, whose count grows with the archive (timed apart, by
    :func:`time_sitemaps`)."""
    from app.domain import SITE_SCOPE
    from app.storage.feeds import FeedStateRepository

    with services.database.write() as session:
        FeedStateRepository(session).mark_stale({SITE_SCOPE.key}, services.clock())


def time_site_render(services: Any, repeats: int) -> float:
    """Median milliseconds of re-rendering the site feed (one warm-up first)."""
    timings = []
    for index in range(repeats + 1):
        mark_site_feed_stale(services)
        started = time.perf_counter()
        report = services.renderer.render_due_feeds(services.clock())
        elapsed = (time.perf_counter() - started) * 1000
        if report.failed:
            raise BenchError(f"site render failed: {report.failed}")
        if index:
            timings.append(elapsed)
    return statistics.median(timings)


def time_sitemaps(services: Any) -> tuple[float, int]:
    """Milliseconds of one rebuild of every sitemap and robots.txt (what
    ``broadsheet regenerate`` adds to the feeds), and how many sitemap documents it wrote."""
    services.renderer.mark_all_feeds_stale(services.clock())
    started = time.perf_counter()
    report = services.renderer.render_due_feeds(services.clock())
    elapsed = (time.perf_counter() - started) * 1000
    if report.failed:
        raise BenchError(f"sitemap render failed: {report.failed}")
    return elapsed, len(report.sitemap_changes)


class Scaling:
    """Target 4 in three steps, so that the long fill can run while nothing is measured:
    :meth:`prepare` (scratch database, the small corpus, its render time), :meth:`grow`
    (fill up to the large corpus, within a budget; safe in another thread), :meth:`measure`
    (the large corpus's render time and the plans). :meth:`close` drops the database."""

    def __init__(
        self, small: int, large: int, item_limit: int, repeats: int, log: Callable[[str], None]
    ) -> None:
        self.result = ScalingResult(small=small, large=small)
        self.target = large
        self.item_limit = item_limit
        self.repeats = repeats
        self.log = log
        self._stack = ExitStack()
        self._pools = term_pools()
        self.url = ""
        self.services: Any = None

    def prepare(self) -> None:
        self.url = self._stack.enter_context(scratch_database())
        self.services = _services(self.url, self.item_limit)
        self._stack.callback(self.services.database.dispose)
        self.services.operations.migrate()
        with psycopg.connect(plain_url(self.url)) as conn:
            unlogged(conn)
            with bulk_mode(conn):
                fill(conn, 1, self.result.small, self._pools, self.item_limit)
        self.result.small_ms = time_site_render(self.services, self.repeats)
        self.log(
            f"site feed render at {self.result.small:,} articles: {self.result.small_ms:.0f} ms"
        )

    @property
    def grown(self) -> bool:
        return self.result.large >= self.target

    def grow(self, budget_s: float) -> None:
        """Fill up to the large corpus in chunks while the budget lasts (checked between
        chunks); the size reached is what :meth:`measure` measures."""
        started = time.perf_counter()
        deadline = started + budget_s
        done = self.result.large
        chunk = max(self.result.small, min(250_000, self.target // 4))
        with psycopg.connect(plain_url(self.url)) as conn, bulk_mode(conn):
            while done < self.target and time.perf_counter() < deadline:
                upto = min(self.target, done + chunk)
                fill(conn, done + 1, upto, self._pools, self.item_limit)
                done = upto
                self.log(f"  PostgreSQL: {done:,} articles ({time.perf_counter() - started:.0f} s)")
        self.result.large = done
        self.result.fill_seconds += time.perf_counter() - started
        if done < self.target:
            self.result.note = f"fill stopped at {done:,} articles (budget {budget_s:.0f} s)"
        else:
            self.result.note = ""

    def measure(self) -> ScalingResult:
        from app.domain import SITE_SCOPE
        from app.domain import FeedFormat
        from app.domain import FeedScope
        from app.storage.feeds import FeedStateRepository

        services = self.services
        result = self.result
        result.large_ms = time_site_render(services, self.repeats)
        self.log(f"site feed render at {result.large:,} articles: {result.large_ms:.0f} ms")
        result.sitemaps_ms, result.sitemaps_written = time_sitemaps(services)
        self.log(
            f"every sitemap at {result.large:,} articles: {result.sitemaps_ms:,.0f} ms, "
            f"{result.sitemaps_written:,} documents"
        )
        # A private subscriber's profile: each subscription feed renders once more.
        services.subscribers.create("bench-partner", services.clock(), profile="full")
        result.private_ms = time_site_render(services, self.repeats)
        self.log(
            f"site feed render with one private profile: {result.private_ms:.0f} ms "
            f"(without: {result.large_ms:.0f} ms)"
        )
        category = _busiest(self.url, "category")
        captured: list[tuple[str, str, Any]] = []
        engine = services.database.engine
        with captured_sql(engine) as seen:
            mark_site_feed_stale(services)
            services.renderer.render_due_feeds(services.clock())
        captured += [("site render", sql, params) for sql, params in seen]
        with captured_sql(engine) as seen:
            with services.database.write() as session:
                FeedStateRepository(session).mark_dirty({f"category/{category}"})
            services.renderer.render_due_feeds(services.clock())
        captured += [(f"category/{category} render", sql, params) for sql, params in seen]
        with captured_sql(engine) as seen:
            services.feeds.feed_snapshot(SITE_SCOPE, FeedFormat.RSS)
            services.feeds.feed_snapshot(FeedScope("category", category), FeedFormat.RSS)
        captured += [("feed read", sql, params) for sql, params in seen]
        result.plans = explain_all(self.url, captured)
        return result

    def close(self) -> None:
        self._stack.close()


def _busiest(url: str, kind: str) -> str:
    with psycopg.connect(plain_url(url)) as conn:
        row = conn.execute(
            "SELECT slug FROM article_terms WHERE kind = %s GROUP BY slug "
            "ORDER BY count(*) DESC LIMIT 1",
            (kind,),
        ).fetchone()
    if row is None:
        raise BenchError(f"no {kind} in the scratch database")
    return str(row[0])


def postgres_reachable() -> bool:
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


def prepare(site: Site) -> None:
    """Target 4, first step: the scratch PostgreSQL database at the small size."""
    profile = site.profile
    job = Scaling(
        profile.pg_small, profile.pg_large, profile.item_limit, profile.pg_repeats, site.log
    )
    site.scaling_job = job
    job.prepare()


def start_growing(site: Site) -> None:
    """Fill the PostgreSQL corpus in the background while unmeasured work (the corpus
    top-up) runs; :func:`wait_growing` joins it before the next measurement."""
    job = site.scaling_job
    if job is None or job.grown or site.grower is not None or not job.result.small_ms:
        return

    def grow() -> None:
        try:
            job.grow(site.profile.pg_budget)
        except Exception as error:
            site.report.errors.append(f"PostgreSQL fill: {error}")

    site.grower = threading.Thread(target=grow, name="postgres-fill", daemon=True)
    site.grower.start()
    site.log("PostgreSQL fill started in the background (nothing is measured meanwhile)")


def wait_growing(site: Site) -> None:
    if site.grower is None:
        return
    site.grower.join(timeout=site.profile.pg_budget + 180)
    if site.grower.is_alive():
        site.report.notes.append("the PostgreSQL fill overlapped the next measurements")


def scaling(site: Site) -> None:
    """Target 4: grow (if that was not done in the background) within the time left of
    the ten minutes, then measure; the scratch database is dropped."""
    job = site.scaling_job
    if job is None:
        raise BenchError("the PostgreSQL corpus was not prepared")
    try:
        wait_growing(site)
        if not job.grown and (site.grower is None or not site.grower.is_alive()):
            left = 560 - site.clock.elapsed - 45
            budget = site.profile.pg_budget
            if site.profile.name == "full":
                budget = max(20.0, min(budget, left))
            job.grow(budget)
        result = job.measure()
    finally:
        job.close()
    site.report.scaling = {
        "small": result.small,
        "large": result.large,
        "small_ms": round(result.small_ms, 1),
        "large_ms": round(result.large_ms, 1),
        "ratio": round(result.ratio, 2),
        "fill_seconds": round(result.fill_seconds, 1),
        "sitemaps_ms": round(result.sitemaps_ms, 1),
        "sitemaps_written": result.sitemaps_written,
        "private_ms": round(result.private_ms, 1),
        "note": result.note,
        "plans": [asdict(plan) for plan in result.plans],
    }
    if result.note:
        site.report.notes.append(f"PostgreSQL: {result.note}")


def rows(report: Report, profile: Profile, table: TargetTable) -> None:
    scaling = report.scaling
    if not scaling:
        table.target("4 site feed render, PG 1M vs 1k", "not measured", "<= 1.5x", None)
        return
    table.target(
        f"4 site feed render, PG {scaling['large']:,} vs {scaling['small']:,}",
        f"{scaling['large_ms']:,.0f} ms vs {scaling['small_ms']:,.0f} ms = {scaling['ratio']:.2f}x",
        "<= 1.5x",
        scaling["ratio"] <= SCALING_TARGET and scaling["large"] >= profile.pg_large,
    )
    if scaling.get("sitemaps_written"):
        per_thousand = scaling["sitemaps_ms"] / max(1, scaling["large"]) * 1000
        table.row(
            f"4 all sitemaps, PG {scaling['large']:,} articles",
            f"{scaling['sitemaps_ms']:,.0f} ms for {scaling['sitemaps_written']:,} documents "
            f"({per_thousand:.1f} ms per 1,000 articles)",
            "stated",
            "-",
        )
    if scaling.get("private_ms"):
        table.row(
            "4 site feed, one private profile too",
            f"{scaling['private_ms']:,.0f} ms vs {scaling['large_ms']:,.0f} ms without "
            f"= {scaling['private_ms'] / max(0.1, scaling['large_ms']):.2f}x",
            "stated",
            "-",
        )
    scans = [p for p in scaling["plans"] if p["seq_scans"] or p["large_sorts"]]
    tables = ", ".join(sorted({t for p in scans for t in p["seq_scans"]})) or "-"
    sorted_rows = max((n for p in scans for n in p["large_sorts"]), default=0)
    table.target(
        "4 hot queries served by an index",
        f"{len(scaling['plans']) - len(scans)} of {len(scaling['plans'])} statements "
        f"(seq scans: {tables}; largest sort: {sorted_rows:,} rows)",
        "all",
        not scans,
    )
