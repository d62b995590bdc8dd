"""The service's Prometheus metrics (prometheus_client) and their exposition.

What each process counts:

- web workers: every request by route (the URL rule, ``/category/<value>/feed.<fmt>``,
  never the path: a path per article or per feed key would be a series each, and a private
  feed's key would leave the process), method and status, and the bytes of the bodies sent
  (:class:`RequestCounter`, called by :mod:`app.web.observe`);
- the scheduler: each feed's render time and each failed render, by scope kind
  (:func:`record_renders`, called by :mod:`app.jobs`).

Gauges of the whole service are read from the database when scraped
(:class:`ServiceCollector`, over :mod:`app.monitoring`), and kept a few seconds so that
several scrapers cost one read.

A role started by ``broadsheet web``, ``serve`` or ``scheduler`` runs its processes with
``PROMETHEUS_MULTIPROC_DIR`` set (:mod:`app.cli.exposition`): prometheus_client's
multi-process mode, in which each process writes its counts to files of its own there and
whichever process is scraped sums them all (:class:`Exposition`), so every worker is
counted whichever one answers. Without it (a test, ``gunicorn app.wsgi:app`` run by hand) a
process shows its own counts only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Histogram
from prometheus_client import multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from app.clock import Clock
from app.errors import StorageUnavailable
from app.monitoring import Monitoring
from app.monitoring import Reading
from app.snapshots import RenderReport

log = logging.getLogger(__name__)

#: The variable that puts prometheus_client in its multi-process mode: read when the
#: library is first imported, so the role's starter sets it for the processes it starts.
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
#: How long the database's gauges are kept between scrapes, in seconds.
READING_SECONDS = 5.0
#: Methods counted by name; any other is counted as "other" (no series per made-up verb).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: The route label of a request that no route matched (a 404, or one refused before routing).
UNMATCHED = "<unmatched>"

REQUESTS = Counter(
    "broadsheet_http_requests",
    "HTTP requests answered, by route (the URL rule, never the path), method and status.",
    ("route", "method", "status"),
    registry=None,
)
RESPONSE_BYTES = Counter(
    "broadsheet_http_response_bytes",
    "Bytes of response bodies sent (as sent: gzip when gzip), by route.",
    ("route",),
    registry=None,
)
RENDER_SECONDS = Histogram(
    "broadsheet_feed_render_seconds",
    "Time to render one feed scope (all its formats and private variants), by scope kind.",
    ("kind",),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=None,
)
RENDER_FAILURES = Counter(
    "broadsheet_feed_render_failures",
    "Feed renders that failed (the last good feed stays in service), by scope kind.",
    ("kind",),
    registry=None,
)
OWN_METRICS = (REQUESTS, RESPONSE_BYTES, RENDER_SECONDS, RENDER_FAILURES)


class RequestCounter:
    """Counts requests and bytes sent. The labelled series are found once and kept, so a
    request costs two dictionary lookups and the library's own increments."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str, int], tuple[Counter, Counter]] = {}

    def record(self, route: str, method: str, status: int, sent: int) -> None:
        """Count one answered request and the ``sent`` bytes of its body."""
        key = (route, method, status)
        series = self._series.get(key)
        if series is None:
            verb = method if method in METHODS else "other"
            series = (REQUESTS.labels(route, verb, str(status)), RESPONSE_BYTES.labels(route))
            self._series[key] = series
        series[0].inc()
        if sent:
            series[1].inc(sent)


def record_renders(report: RenderReport) -> None:
    """Count one render pass: each scope's render time, and each failure."""
    for scope_key, seconds in report.durations:
        RENDER_SECONDS.labels(_kind(scope_key)).observe(seconds)
    for scope_key in report.failed:
        RENDER_FAILURES.labels(_kind(scope_key)).inc()


def _kind(scope_key: str) -> str:
    return scope_key.partition("/")[0]


def bearer_allows(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <token>`` (RFC 6750 section
    2.1; the scheme's case does not matter, RFC 9110 section 11.1). Digests are compared in
    constant time, so the time taken tells nothing of the token, nor of its length."""
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    expected = hashlib.sha256(token.encode()).digest()
    return hmac.compare_digest(hashlib.sha256(given.strip().encode()).digest(), expected)


class ServiceCollector(Collector):
    """The gauges read from the database at scrape time, kept :data:`READING_SECONDS`
    (by ``clock``, the services' clock) so that frequent or parallel scrapes cost one
    read. While the database cannot be reached only ``broadsheet_database_up`` (0) is
    shown."""

    def __init__(
        self, monitoring: Monitoring, readiness: Callable[[], str | None], clock: Clock
    ) -> None:
        self._monitoring = monitoring
        self._readiness = readiness
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: tuple[str | None, Reading | None] = (None, None)
        self._kept_at: datetime | None = None

    def describe(self) -> Iterable[Metric]:
        # Nothing at registration: the database is read when scraped, not before.
        return ()

    def collect(self) -> Iterable[Metric]:
        now = self._clock()
        with self._lock:
            age = None if self._kept_at is None else (now - self._kept_at).total_seconds()
            if age is None or not 0 <= age < READING_SECONDS:
                self._kept, self._kept_at = self._read(now), now
            reason, reading = self._kept
        yield _gauge("broadsheet_database_up", "1 while the database answers, 0 if not.",
                     0 if reason == "database unreachable" else 1)  # fmt: skip
        if reason != "database unreachable":
            yield _gauge(
                "broadsheet_database_schema_current",
                "1 while the database schema is at this version's newest migration, 0 if not.",
                0 if reason else 1,
            )
        if reading is not None:
            yield from _reading_gauges(reading, now)

    def _read(self, now: datetime) -> tuple[str | None, Reading | None]:
        reason = self._readiness()
        if reason is not None:
            return reason, None
        try:
            return None, self._monitoring.read(now)
        except StorageUnavailable:
            return "database unreachable", None
        except Exception:
            # The scrape still shows the rest; the failure is the operator's to see.
            log.exception("metrics: reading the database's gauges failed")
            return None, None


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def _reading_gauges(reading: Reading, now: datetime) -> Iterator[Metric]:
    waiting = GaugeMetricFamily(
        "broadsheet_feeds_waiting",
        "Feed scopes waiting for their render: reason=written (a write or a scheduled "
        "article now public), reason=rebuild (only a rebuild asked for them).",
        labels=("reason",),
    )
    oldest = GaugeMetricFamily(
        "broadsheet_feeds_waiting_oldest_age_seconds",
        "How long the longest-waiting feed scope has waited for its render, by reason "
        "(0: none waits).",
        labels=("reason",),
    )
    for reason, state in (("written", reading.written), ("rebuild", reading.rebuild)):
        waiting.add_metric((reason,), state.count)
        oldest.add_metric((reason,), _age(now, state.oldest))
    yield waiting
    yield oldest
    outboxes = [("websub", reading.websub)]
    if reading.webhooks is not None:
        outboxes.append(("webhook", reading.webhooks))
    for name, backlog in outboxes:
        yield _gauge(f"broadsheet_{name}_outbox_backlog",
                     f"Notices in the {name} outbox not yet delivered.", backlog.size)  # fmt: skip
        yield _gauge(
            f"broadsheet_{name}_outbox_oldest_age_seconds",
            f"Age of the oldest notice in the {name} outbox (0: empty).",
            _age(now, backlog.oldest),
        )
    changes = GaugeMetricFamily(
        "broadsheet_feed_last_change_age_seconds",
        "Seconds since the bytes of each public subscription feed last changed, by feed key.",
        labels=("feed",),
    )
    for key, modified in sorted(reading.feed_changes.items()):
        changes.add_metric((key,), _age(now, modified))
    yield changes


class Exposition:
    """What a scrape answers: the processes' counts (all of them, in multi-process mode)
    and ``collectors`` (the database's gauges), in the text format the scraper asks for
    (Prometheus text, or OpenMetrics), behind ``token`` when there is one."""

    def __init__(self, collectors: Iterable[Collector] = (), token: str = "") -> None:
        self.token = token
        self.registry = CollectorRegistry(auto_describe=False)
        directory = os.environ.get(MULTIPROC_VARIABLE)
        if directory:
            multiprocess.MultiProcessCollector(self.registry, path=directory)  # type: ignore[no-untyped-call]
        else:
            for metric in OWN_METRICS:
                self.registry.register(metric)
        for collector in collectors:
            self.registry.register(collector)

    def allows(self, authorization: str | None) -> bool:
        """Whether a request with this ``Authorization`` header may read the metrics."""
        return not self.token or bearer_allows(authorization, self.token)

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition's bytes and their media type, as ``accept`` prefers."""
        encoder, media_type = choose_encoder(accept or "")
        return encoder(self.registry), media_type
