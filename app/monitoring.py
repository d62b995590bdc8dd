"""What the service's gauges show, read from the database (:mod:`app.storage.monitoring`):
feeds waiting for their render and since when, the outboxes' backlogs, and when each
subscription feed last changed. :mod:`app.metrics` turns a :class:`Reading` into Prometheus
gauges at scrape time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from app.storage.database import Database
from app.storage.monitoring import Backlog
from app.storage.monitoring import WaitingFeed
from app.storage.monitoring import subscription_feed_changes
from app.storage.monitoring import waiting_feeds
from app.storage.monitoring import webhook_backlog
from app.storage.monitoring import websub_backlog


@dataclass(frozen=True)
class Waiting:
    """Feed scopes waiting for a render for one reason, and since when the oldest has
    waited (None: none waits)."""

    count: int = 0
    oldest: datetime | None = None


@dataclass(frozen=True)
class Reading:
    """The service's state at one time: ``written``, the scopes whose writes (or scheduled
    articles now public) wait for their render; ``rebuild``, those only a rebuild asked for;
    the WebSub and webhook outboxes (None: this schema has no webhook outbox); and the
    Last-Modified of every public subscription feed, by feed key."""

    read_at: datetime
    written: Waiting
    rebuild: Waiting
    websub: Backlog
    webhooks: Backlog | None
    feed_changes: dict[str, datetime]


class Monitoring:
    """Reads the gauges' values over one database.

    A write's time is not stored with the feed it marks, so the wait of a written scope is
    measured from the first :meth:`read` (of this object) that saw it waiting, or from its
    scheduled article's publication: read every few seconds (each scrape), that is the
    time of the write to within the interval between reads.
    """

    def __init__(self, database: Database) -> None:
        self.db = database
        self._lock = threading.Lock()
        # (scope key, the version it had rendered): when a read first saw it waiting.
        self._first_seen: dict[tuple[str, int], datetime] = {}

    def read(self, now: datetime) -> Reading:
        """The state at ``now``.

        Raises:
            StorageUnavailable: the database cannot be reached.
        """
        with self.db.read() as session:
            waiting = waiting_feeds(session, now)
            websub = websub_backlog(session)
            webhooks = webhook_backlog(session)
            changes = subscription_feed_changes(session)
        written = [feed for feed in waiting if feed.written]
        rebuild = [feed for feed in waiting if not feed.written]
        return Reading(
            now,
            self._waiting(written, now),
            _waiting(rebuild, {feed.scope_key: feed.since or now for feed in rebuild}),
            websub,
            webhooks,
            changes,
        )

    def _waiting(self, feeds: list[WaitingFeed], now: datetime) -> Waiting:
        """The written scopes' wait, each from its publication or from when first seen."""
        with self._lock:
            seen = {
                (feed.scope_key, feed.rendered_version): self._first_seen.get(
                    (feed.scope_key, feed.rendered_version), now
                )
                for feed in feeds
            }
            self._first_seen = seen  # the rendered ones leave
        since = {}
        for feed in feeds:
            first = seen[feed.scope_key, feed.rendered_version]
            since[feed.scope_key] = min(first, feed.since) if feed.since else first
        return _waiting(feeds, since)


def _waiting(feeds: list[WaitingFeed], since: dict[str, datetime]) -> Waiting:
    return Waiting(len(feeds), min(since.values(), default=None))
