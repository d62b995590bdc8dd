"""The reads of stored feeds, for the web and the CLI: documents ready to serve, the
generation that says they changed, where an archive period went, and how readers poll
them.

Feeds are rendered and stored by :mod:`app.renderer`; nothing here renders. ``now``
always comes from the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from datetime import timedelta

from app.domain import ARCHIVE
from app.domain import SITE_SCOPE
from app.domain import ClientCount
from app.domain import FeedFormat
from app.domain import FeedPolls
from app.domain import FeedScope
from app.domain import FeedSnapshot
from app.domain import PollCount
from app.domain import SubscriberReport
from app.domain import feed_key
from app.domain import feed_path
from app.errors import FeedNotFound
from app.storage.articles import ArticleRepository
from app.storage.articles import period_bounds
from app.storage.database import Database
from app.storage.feeds import SnapshotRepository
from app.storage.sequence import PublicationOrder
from app.storage.stats import StatsRepository


class StoredFeeds:
    """The stored feed documents and their poll statistics, over one database."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def feed_snapshot(self, scope: FeedScope, fmt: FeedFormat) -> FeedSnapshot:
        """The stored document of a feed, ready to serve.

        Raises:
            FeedNotFound: the feed has not been rendered (or its scope is empty).
        """
        return self.snapshot(feed_key(scope, fmt), feed_path(scope, fmt))

    def snapshot(self, key: str, path: str) -> FeedSnapshot:
        """The stored document under ``key`` (a feed key, or a sitemap's path), served at
        ``path``.

        Raises:
            FeedNotFound: no document is stored under ``key``.
        """
        with self.db.read() as session:
            snapshot = SnapshotRepository(session).get(key)
        if snapshot is None:
            raise FeedNotFound(path)
        return snapshot

    def feed_snapshots(self, keys: Iterable[str]) -> dict[str, FeedSnapshot]:
        """The stored documents under these feed keys, by key (missing ones are absent)."""
        with self.db.read() as session:
            return SnapshotRepository(session).get_many(keys)

    def snapshot_generation(self) -> int:
        """A number that changes whenever any feed's bytes change (one cheap read)."""
        with self.db.read() as session:
            return SnapshotRepository(session).generation()

    def snapshot_versions(self) -> dict[str, tuple[str, datetime | None]]:
        """The ETag and fresh-until of every stored feed document, by feed key (bodies are
        not read): what a cache of snapshots compares to learn which it must read again."""
        with self.db.read() as session:
            return SnapshotRepository(session).versions()

    def archive_for_period(self, period: str, now: datetime) -> FeedScope:
        """Where the archive of a period (``2026-08``, ``2026-08-14``, ``2026-08-14T09``:
        the archives of earlier versions) went: the archive page that holds the period's
        newest article, or the site feed while that page is not complete.

        Raises:
            FeedNotFound: ``period`` is not a period, or no public article is in it.
        """
        bounds = period_bounds(period)
        with self.db.read() as session:
            sequence = None
            if bounds is not None:
                sequence = ArticleRepository(session).newest_sequence_between(*bounds, now)
            complete, page_size = PublicationOrder(session).complete_pages()
        if sequence is None:
            raise FeedNotFound(f"/{ARCHIVE}/{period}")
        page = sequence // page_size
        return FeedScope(ARCHIVE, str(page)) if page < complete else SITE_SCOPE

    def record_polls(
        self,
        polls: list[PollCount],
        clients: list[ClientCount],
        reports: list[SubscriberReport],
    ) -> None:
        """Add counted feed requests and subscriber reports to the stored statistics."""
        with self.db.write() as session:
            repo = StatsRepository(session)
            repo.add_polls(polls)
            repo.add_clients(clients)
            repo.add_subscriber_reports(reports)

    def poll_stats(self, now: datetime, days: int = 30) -> list[FeedPolls]:
        """Per feed, how it was polled over the last ``days`` UTC days."""
        since = f"{now - timedelta(days=days - 1):%Y-%m-%d}"
        with self.db.read() as session:
            return StatsRepository(session).feed_polls(since)
