"""The samples of target 2 (``bench/publish.py``): from the API's 201 to every feed the
article belongs to serving new bytes that carry it.

For each sample, the feeds the article belongs to (site, its categories, tags and
authors, in the three formats) are read once for their ETags; the article is POSTed with
``published_at`` = now; then each feed is polled with ``If-None-Match`` over one keep-alive
connection until it answers 200 with a body that contains the article's slug. If the
article's publication number completed an archive page (read from the database after the
201), that page's three documents are polled too. The sample's latency is the time of the
last feed to do so. The feed states are read meanwhile, to tell the scheduler's share
(every feed rendered) from the web's (every feed served).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import text

from bench.feeds import FORMATS
from bench.feeds import archive_page
from bench.feeds import expected_scopes
from bench.feeds import feed_path
from bench.service import api_article


@dataclass
class PublishResult:
    """Latencies in seconds (None: not seen within the wait), and how many feeds each."""

    latencies: list[float | None] = field(default_factory=list)
    feeds: list[int] = field(default_factory=list)
    slowest: list[str] = field(default_factory=list)
    rendered: list[float | None] = field(default_factory=list)
    """Per sample, when the feed states first said that every feed of the article was
    rendered (the scheduler's share of the latency; the rest is the web's)."""
    slowest_request_ms: list[float] = field(default_factory=list)
    """Per sample, the longest single poll (GET) while waiting for the feeds."""
    longest_round_s: list[float] = field(default_factory=list)
    """Per sample, the longest round of polls over the feeds not seen yet: a feed is
    seen at most one round after it serves the article."""
    error: str = ""

    @property
    def seen(self) -> list[float]:
        return sorted(value for value in self.latencies if value is not None)

    def percentile(self, fraction: float) -> float | None:
        """Nearest-rank percentile over every sample; a sample not seen in time counts as
        infinitely slow (so p95 of 10 samples with one miss is infinite)."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies, key=lambda v: float("inf") if v is None else v)
        rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
        value = ordered[rank]
        return float("inf") if value is None else value

    @property
    def median(self) -> float | None:
        return statistics.median(self.seen) if self.seen else None


@dataclass
class Sample:
    """One article's wait: the feeds polled, their ETags before, and what was seen."""

    paths: list[str]
    etags: dict[str, str | None]
    scopes: set[str]
    created_at: float = 0.0
    seen: dict[str, float] = field(default_factory=dict)
    rendered: float | None = None
    slowest_request: float = 0.0
    longest_round: float = 0.0


def measure_publish(
    base_url: str,
    token: str,
    lines: Iterator[dict[str, Any]],
    samples: int,
    wait_s: float,
    budget_s: float,
    database_url: str,
) -> PublishResult:
    """Up to ``samples`` articles published one after the other, each waited for up to
    ``wait_s`` seconds, all within ``budget_s``."""
    result = PublishResult()
    deadline = time.monotonic() + budget_s
    auth = {"Authorization": f"Bearer {token}"}
    with ExitStack() as stack:
        engine = create_engine(database_url)
        stack.callback(engine.dispose)
        client = stack.enter_context(httpx.Client(base_url=base_url, timeout=30))
        for line in lines:
            if len(result.latencies) >= samples or time.monotonic() > deadline:
                break
            article = api_article(line) | {"published_at": datetime.now(UTC).isoformat()}
            scopes = expected_scopes(article)
            paths = [feed_path(scope, fmt) for scope in sorted(scopes) for fmt in FORMATS]
            sample = Sample(
                paths, {path: client.get(path).headers.get("ETag") for path in paths}, scopes
            )
            response = client.post("/api/v1/articles", json=article, headers=auth)
            sample.created_at = time.perf_counter()
            if response.status_code != 201:
                result.error = f"POST answered {response.status_code}: {response.text[:200]}"
                break
            created = response.json()
            add_completed_page(sample, engine, created["id"])
            give_up = sample.created_at + min(wait_s, max(1.0, deadline - time.monotonic()))
            wait_until_seen(sample, client, engine, created["slug"].encode(), give_up)
            record(result, sample)
    return result


def add_completed_page(sample: Sample, engine: Engine, article_id: str) -> None:
    """Poll the archive page the article completed too, if it did."""
    found = archive_page(engine, article_id)
    if found is not None and found[1]:
        # A page this article completed: no document before, so no ETag.
        completed = [feed_path(f"archive/{found[0]}", fmt) for fmt in FORMATS]
        sample.paths += completed
        sample.etags.update(dict.fromkeys(completed))


def wait_until_seen(
    sample: Sample, client: httpx.Client, engine: Engine, needle: bytes, give_up: float
) -> None:
    """Poll the feeds not seen yet, round after round, until each serves ``needle``."""
    paths = sample.paths
    while len(sample.seen) < len(paths) and time.perf_counter() < give_up:
        if sample.rendered is None and not _unrendered(engine, sample.scopes):
            sample.rendered = time.perf_counter() - sample.created_at
        round_started = time.perf_counter()
        for path in paths:
            if path in sample.seen:
                continue
            etag = sample.etags[path]
            headers = {"If-None-Match": etag} if etag else {}
            asked = time.perf_counter()
            answer = client.get(path, headers=headers)
            answered = time.perf_counter()
            sample.slowest_request = max(sample.slowest_request, answered - asked)
            if answer.status_code == 200 and needle in answer.content:
                sample.seen[path] = answered - sample.created_at
        sample.longest_round = max(sample.longest_round, time.perf_counter() - round_started)
        time.sleep(0.01)


def record(result: PublishResult, sample: Sample) -> None:
    seen, paths = sample.seen, sample.paths
    result.feeds.append(len(paths))
    result.rendered.append(sample.rendered)
    result.slowest_request_ms.append(sample.slowest_request * 1000)
    result.longest_round_s.append(sample.longest_round)
    if len(seen) == len(paths):
        result.latencies.append(max(seen.values()))
        result.slowest.append(max(seen, key=lambda p: seen[p]))
    else:
        result.latencies.append(None)
        result.slowest.append(next(p for p in paths if p not in seen))


def _unrendered(engine: Engine, scopes: set[str]) -> int:
    """How many of these feed scopes have writes no render has covered yet."""
    keys = sorted(scopes)
    marks = ", ".join(f":k{index}" for index in range(len(keys)))
    query = text(
        f"SELECT count(*) FROM feed_states WHERE scope_key IN ({marks}) "  # noqa: S608
        "AND dirty_version > rendered_version"
    )
    with engine.connect() as connection:
        count = connection.execute(query, {f"k{i}": key for i, key in enumerate(keys)}).scalar()
    return int(count or 0)
