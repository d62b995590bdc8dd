"""Who polls the feeds, and politeness towards those who poll too hard.

:class:`PollRecorder` counts requests in memory (a dictionary update under a lock, so
counting costs the hot path next to nothing) and hands the counts to storage from a
background thread every few seconds. :class:`PollLimiter` answers a client that fetches a
feed *unconditionally* more often than allowed with 429; conditional requests are never
throttled, since a 304 costs almost nothing and is what we want clients to send.

Both live in each web process: with N processes a client may get up to N unconditional
fetches per interval, and counts not yet flushed are lost if a process dies.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from cachetools import FIFOCache

from app.domain import ClientCount
from app.domain import PollCount
from app.domain import SubscriberReport
from app.errors import StorageUnavailable

log = logging.getLogger(__name__)

# Known aggregators and readers, by a distinctive part of their User-Agent.
_FAMILIES = [
    (re.compile(pattern, re.IGNORECASE), name)
    for pattern, name in (
        (r"feedly", "Feedly"),
        (r"inoreader", "Inoreader"),
        (r"newsblur", "NewsBlur"),
        (r"miniflux", "Miniflux"),
        (r"freshrss", "FreshRSS"),
        (r"netnewswire", "NetNewsWire"),
        (r"tiny tiny rss|tt-rss", "Tiny Tiny RSS"),
        (r"feedbin", "Feedbin"),
        (r"theoldreader", "The Old Reader"),
        (r"feedparser", "feedparser"),
        (r"googlebot", "Googlebot"),
        (r"bingbot", "Bingbot"),
        (r"^curl/", "curl"),
        (r"python-requests|python-httpx|python-urllib", "Python"),
        (r"mozilla/.*(chrome|safari|firefox)", "Browser"),
    )
]
# How aggregators report subscribers in their User-Agent (each polls once for all of them):
#   Feedly/1.0 (+http://www.feedly.com/fetcher.html; 120 subscribers; feed-id=...)
#   Inoreader/1.0 (+http://www.inoreader.com/feed-fetcher; 3 subscribers; )
#   NewsBlur Feed Fetcher - 31 subscribers - https://www.newsblur.com/site/1/x (...)
#   Feedbin feed-id:1373711 - 142 subscribers
#   Mozilla/5.0 (compatible; theoldreader.com; 25 subscribers; feed-id=...)
#   PlainFeeder v0.0.1 (+http://plainfeeder.com/about ; Subscriber Count: 12)
# Self-hosted readers (Miniflux, FreshRSS, Tiny Tiny RSS, NetNewsWire) report none.
_SUBSCRIBERS = re.compile(
    r"(\d{1,9})\s+(?:subscribers?|readers?)\b|subscriber count:\s*(\d{1,9})", re.IGNORECASE
)
# Longest reporter key kept (the column's width).
_REPORTER_CHARS = 500


@dataclass(frozen=True, slots=True)
class UserAgentInfo:
    """What a User-Agent says about the client: its family and, for an aggregator, the
    subscribers it reports and the reporter they belong to (the User-Agent with the count
    blanked out, which tells apart the records of one aggregator, e.g. Feedly's feed-ids)."""

    family: str
    subscribers: int | None = None
    reporter: str | None = None


@lru_cache(maxsize=4096)
def classify_user_agent(user_agent: str) -> UserAgentInfo:
    """The family and reported subscribers of a User-Agent (cached: pollers repeat)."""
    family = client_family(user_agent)
    match = _SUBSCRIBERS.search(user_agent)
    if match is None:
        return UserAgentInfo(family)
    group = 1 if match.group(1) is not None else 2
    reporter = user_agent[: match.start(group)] + "N" + user_agent[match.end(group) :]
    return UserAgentInfo(family, int(match.group(group)), reporter[:_REPORTER_CHARS])


def client_family(user_agent: str) -> str:
    """A short name for the software behind a User-Agent (its first product otherwise)."""
    for pattern, name in _FAMILIES:
        if pattern.search(user_agent):
            return name
    product = user_agent.strip().split("/", 1)[0].split(" ", 1)[0]
    return product[:50] or "unknown"


def reported_subscribers(user_agent: str) -> int | None:
    """The subscriber count an aggregator reports in its User-Agent, if any."""
    return classify_user_agent(user_agent).subscribers


Sink = Callable[[list[PollCount], list[ClientCount], list[SubscriberReport]], None]

# Families named by _FAMILIES are always counted under their name. Any other is named by
# its first product token, which anyone can make up: per feed and UTC day only this many
# such names are kept (by each web process), later ones count as OTHER_FAMILY, so that odd
# or forged user agents cannot grow the statistics without bound. Subscriber reports are
# bounded the same way.
UNKNOWN_FAMILIES_PER_FEED_DAY = 20
REPORTERS_PER_FEED_DAY = 50
OTHER_FAMILY = "other"
_KNOWN_FAMILIES = frozenset(name for _, name in _FAMILIES) | {"unknown"}


class PollRecorder:
    """Counts feed requests in memory; flushes them to ``sink`` every ``flush_seconds``."""

    def __init__(self, sink: Sink, flush_seconds: float) -> None:
        self._sink = sink
        self._flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._polls: dict[tuple[str, str], _Tally] = {}
        self._clients: dict[tuple[str, str, str], _ClientTally] = {}
        self._reports: dict[tuple[str, str, str], tuple[int, datetime]] = {}
        # The unknown families and the reporters admitted today, per feed (see
        # UNKNOWN_FAMILIES_PER_FEED_DAY); only today's are kept.
        self._today = ""
        self._admitted_families: dict[str, set[str]] = {}
        self._admitted_reporters: dict[str, set[str]] = {}
        self._last_flush: datetime | None = None
        self._flushers: set[threading.Thread] = set()
        self._closed = False

    def close(self) -> None:
        """Start no more background flushes and wait for those running, so that nothing
        uses the database after this (counts not yet flushed stay unwritten)."""
        with self._lock:
            self._closed = True
            running = list(self._flushers)
        for flusher in running:
            flusher.join(timeout=10)

    def record(
        self, feed_key: str, status: int, bytes_sent: int, user_agent: str, now: datetime
    ) -> None:
        """Count one request; start a background flush when one is due."""
        agent = classify_user_agent(user_agent)
        family = agent.family
        day = now.date().isoformat()
        with self._lock:
            tally = self._polls.setdefault((feed_key, day), _Tally())
            tally.requests += 1
            tally.not_modified += status == 304
            tally.throttled += status == 429
            tally.bytes_sent += bytes_sent
            if day != self._today:
                self._today = day
                self._admitted_families.clear()
                self._admitted_reporters.clear()
            if family not in _KNOWN_FAMILIES and not _admitted(
                self._admitted_families, feed_key, family, UNKNOWN_FAMILIES_PER_FEED_DAY
            ):
                family = OTHER_FAMILY
            client = self._clients.setdefault((feed_key, day, family), _ClientTally(now))
            client.requests += 1
            client.last_seen = now
            if (
                agent.reporter is not None
                and agent.subscribers is not None
                and family != OTHER_FAMILY
                and _admitted(
                    self._admitted_reporters, feed_key, agent.reporter, REPORTERS_PER_FEED_DAY
                )
            ):
                self._reports[(feed_key, family, agent.reporter)] = (agent.subscribers, now)
            if self._last_flush is None:
                self._last_flush = now
            due = (now - self._last_flush).total_seconds() >= self._flush_seconds
            if due:
                self._last_flush = now
        if due:
            with self._lock:
                if self._closed:
                    return
                flusher = threading.Thread(
                    target=self._flush_in_background, name="poll-stats-flush", daemon=True
                )
                self._flushers.add(flusher)
            flusher.start()

    def flush(self) -> None:
        """Hand every count so far to the sink.

        Raises:
            StorageUnavailable: the counts are kept and go with the next flush.
        """
        with self._lock:
            polls, self._polls = self._polls, {}
            clients, self._clients = self._clients, {}
            reports, self._reports = self._reports, {}
        if not polls and not clients and not reports:
            return
        try:
            self._sink(
                [
                    PollCount(key, day, t.requests, t.not_modified, t.throttled, t.bytes_sent)
                    for (key, day), t in polls.items()
                ],
                [
                    ClientCount(key, family, c.requests, None, c.last_seen)
                    for (key, _day, family), c in clients.items()
                ],
                [
                    SubscriberReport(key, family, reporter, subscribers, seen)
                    for (key, family, reporter), (subscribers, seen) in reports.items()
                ],
            )
        except StorageUnavailable:
            self._keep(polls, clients, reports)
            raise

    def _flush_in_background(self) -> None:
        try:
            self.flush()
        except StorageUnavailable:
            pass  # the database logs the outage once; the counts wait for the next flush
        except Exception:
            log.exception("poll counts not written; they are lost")
        finally:
            with self._lock:
                self._flushers.discard(threading.current_thread())

    def _keep(
        self,
        polls: dict[tuple[str, str], _Tally],
        clients: dict[tuple[str, str, str], _ClientTally],
        reports: dict[tuple[str, str, str], tuple[int, datetime]],
    ) -> None:
        """Add counts that could not be written back to those counted since."""
        with self._lock:
            for reporter, report in reports.items():
                self._reports.setdefault(reporter, report)  # a newer report wins
            for key, tally in polls.items():
                current = self._polls.setdefault(key, _Tally())
                current.requests += tally.requests
                current.not_modified += tally.not_modified
                current.throttled += tally.throttled
                current.bytes_sent += tally.bytes_sent
            for client_key, client in clients.items():
                newer = self._clients.get(client_key)
                if newer is None:
                    self._clients[client_key] = client
                    continue
                newer.requests += client.requests
                newer.last_seen = max(newer.last_seen, client.last_seen)


def _admitted(admitted: dict[str, set[str]], feed_key: str, name: str, limit: int) -> bool:
    """Whether ``name`` is among the first ``limit`` names admitted for the feed (it is
    admitted now if there is room)."""
    names = admitted.setdefault(feed_key, set())
    if name in names:
        return True
    if len(names) < limit:
        names.add(name)
        return True
    return False


@dataclass(slots=True)
class _Tally:
    requests: int = 0
    not_modified: int = 0
    throttled: int = 0
    bytes_sent: int = 0


@dataclass(slots=True)
class _ClientTally:
    last_seen: datetime
    requests: int = 0


class PollLimiter:
    """Allows one unconditional fetch of each version of a feed per client per
    ``min_interval_seconds``.

    It remembers, per (client, feed), when the client last fetched the feed
    unconditionally and the ETag of the bytes it got then. A client is throttled only if
    that fetch was recent *and* got the bytes that are current now: once the feed
    changed, the next unconditional fetch always gets its 200, so a WebSub hub (hubs
    usually fetch unconditionally) that was pinged twice within the interval fetches the
    second change too.
    """

    def __init__(self, min_interval_seconds: float, capacity: int = 100_000) -> None:
        self._interval = min_interval_seconds
        # (client, feed) -> the time and ETag of its last unconditional fetch let through.
        # First in, first out, where a fetch stored again goes last: the clients that
        # fetched longest ago are forgotten first. Not thread-safe on its own: the lock.
        self._last: FIFOCache[tuple[str, str], tuple[datetime, str]] = FIFOCache(capacity)
        self._lock = threading.Lock()

    def wait_seconds(self, client: str, feed_key: str, etag: str, now: datetime) -> float:
        """0 when the fetch of the feed whose current bytes have ``etag`` is allowed (and
        then remembered), else how long the client must wait before the interval ends."""
        key = (client, feed_key)
        with self._lock:
            last = self._last.get(key)
            if last is not None:
                last_fetch, last_etag = last
                waited = (now - last_fetch).total_seconds()
                if last_etag == etag and 0 <= waited < self._interval:
                    return self._interval - waited
            self._last[key] = (now, etag)
        return 0.0
