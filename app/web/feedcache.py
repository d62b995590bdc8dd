"""Each web process keeps the feeds it serves in memory, ready to send.

Serving a feed then touches no database: the bytes, headers and validators come from here.
A refresh (a background thread every ``server_feed_refresh_seconds``, or before each
request when that is 0) reads one counter that grows with every render pass that changed
a feed; only when it moved does it read the ETags (from an index, never the bodies) and
replace what changed with the new snapshot. A feed is dropped only when it is no longer
stored, so the cache never forgets a feed it serves: if the database goes away, every feed
this process has served keeps being served (stale-if-error, RFC 5861), each as of its
last render that reached the process.
"""

from __future__ import annotations

import dataclasses
import logging
import threading

from cachetools import Cache
from cachetools import LRUCache

from app.domain import FeedFormat
from app.domain import FeedScope
from app.domain import FeedSnapshot
from app.domain import feed_key
from app.errors import StorageUnavailable
from app.feeds import StoredFeeds
from app.private_feeds import PRIVATE
from app.surrogate_keys import scope_key
from app.web.caching import PreparedFeed
from app.web.caching import prepare_feed

log = logging.getLogger(__name__)


def _prepare(snapshot: FeedSnapshot, scope: FeedScope, fmt: FeedFormat | None) -> PreparedFeed:
    """A stored document ready to send. A public one stored before its CDN keys were
    (schema 0019) is named by its own key until its bytes next change and it is stored with
    all of them; a private one never has any (no shared cache may keep it)."""
    if snapshot.surrogate_keys is None and not snapshot.feed_key.startswith(f"{PRIVATE}/"):
        snapshot = dataclasses.replace(snapshot, surrogate_keys=scope_key(scope))
    return prepare_feed(snapshot, scope, fmt)


class FeedCache:
    """A byte-bounded LRU of prepared feeds, kept in step with the stored snapshots."""

    def __init__(self, feeds: StoredFeeds, max_bytes: int, refresh_seconds: float) -> None:
        self._feeds = feeds
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        # One refresh at a time: readers that ask for one while another runs wait for it,
        # then find the generation unchanged (one cheap read) instead of each re-reading
        # every ETag and the changed feeds.
        self._refreshing = threading.Lock()
        # Least recently served go first. A feed over the whole budget weighs the budget:
        # it is kept alone rather than not at all (cachetools refuses what weighs more), so
        # that it too is served from memory and through an outage. Not thread-safe on its
        # own (even a read reorders): every use holds the lock.
        self._entries: LRUCache[str, PreparedFeed] = LRUCache(
            max_bytes, getsizeof=lambda prepared: min(prepared.size, max_bytes)
        )
        self._generation: int | None = None
        self._refresher: threading.Thread | None = None
        self._closed = threading.Event()

    def get(self, scope: FeedScope, fmt: FeedFormat) -> PreparedFeed:
        """The prepared feed, from memory or else from the database.

        Raises:
            FeedNotFound: no such feed is stored.
            StorageUnavailable: it is not in memory and the database is down.
        """
        return self.document(feed_key(scope, fmt), scope, fmt)

    def document(self, key: str, scope: FeedScope, fmt: FeedFormat | None) -> PreparedFeed:
        """The prepared document stored under ``key`` (a feed's, or with ``fmt`` None
        another's, such as a sitemap), from memory or else from the database.

        Raises:
            FeedNotFound: no such document is stored.
            StorageUnavailable: it is not in memory and the database is down.
        """
        self._keep_fresh()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                return entry
            seen = self._generation
        if fmt is not None:
            snapshot = self._feeds.feed_snapshot(scope, fmt)
        else:
            snapshot = self._feeds.snapshot(key, key)
        prepared = _prepare(snapshot, scope, fmt)
        self._store(key, prepared, seen)
        return prepared

    def refresh(self) -> None:
        """Bring every cached feed whose stored bytes changed up to date (drop it if gone).

        Raises:
            StorageUnavailable: the database is down; the cache is left as it was.
        """
        with self._refreshing:
            self._refresh()

    def _refresh(self) -> None:
        generation = self._feeds.snapshot_generation()
        if generation == self._generation:
            return
        versions = self._feeds.snapshot_versions()
        with self._lock:
            changed: dict[str, PreparedFeed] = {}
            for key in self._entries:
                entry = _peek(self._entries, key)
                if versions.get(key) != (entry.snapshot.etag, entry.snapshot.fresh_until):
                    changed[key] = entry
            # From here a request that read a snapshot before this refresh does not keep it
            # (see _store): this refresh cannot update what it has not seen.
            self._generation = generation
        try:
            snapshots = self._feeds.feed_snapshots(key for key in changed if key in versions)
        except Exception:
            with self._lock:
                self._generation = None  # not brought up to date: the next refresh redoes it
            raise
        for key, held in changed.items():
            snapshot = snapshots.get(key)
            prepared = None
            if snapshot is not None:
                prepared = _prepare(snapshot, held.scope, held.fmt)
            self._replace(key, held, prepared)

    def _store(self, key: str, prepared: PreparedFeed, seen: int | None) -> None:
        with self._lock:
            if self._generation != seen:
                # A refresh ran while the snapshot was read: it could not drop what was not
                # here yet, so these bytes may already be stale. Served once, not kept.
                return
            self._entries[key] = prepared

    def _replace(self, key: str, held: PreparedFeed, new: PreparedFeed | None) -> None:
        """Put ``new`` (or nothing) in place of ``held``, unless it left the cache meanwhile."""
        with self._lock:
            if key not in self._entries or _peek(self._entries, key) is not held:
                return  # evicted (it comes back when asked for) or loaded afresh
            if new is None:
                del self._entries[key]
            else:
                self._entries[key] = new  # storing marks it used, as a read does

    def close(self) -> None:
        """Stop the background refresher (it ends within one refresh), so that nothing uses
        the database after this; a cache is not used after it is closed."""
        self._closed.set()
        refresher = self._refresher
        if refresher is not None:
            refresher.join(timeout=10)

    def _keep_fresh(self) -> None:
        if self._refresh_seconds <= 0:
            self._refresh_quietly()
            return
        if self._refresher is not None or self._closed.is_set():
            return
        with self._lock:
            if self._refresher is None:
                # Started lazily, inside the serving process: threads do not survive the
                # fork of a pre-forking server. It ends only with close(): every error is caught.
                self._refresher = threading.Thread(
                    target=self._refresh_forever, name="feed-cache-refresh", daemon=True
                )
                self._refresher.start()

    def _refresh_forever(self) -> None:
        while not self._closed.is_set():
            self._refresh_quietly()
            self._closed.wait(self._refresh_seconds)

    def _refresh_quietly(self) -> None:
        try:
            self.refresh()
        except StorageUnavailable:
            pass  # the database logs the outage once; meanwhile the cache serves what it has
        except Exception:
            log.exception("feed cache refresh failed")


def _peek(entries: LRUCache[str, PreparedFeed], key: str) -> PreparedFeed:
    """``entries[key]`` without marking it as served: ``LRUCache`` marks every read, and a
    refresh that reads them all would lose the order of use. The caller holds the lock.

    Raises:
        KeyError: ``key`` is not cached.
    """
    return Cache.__getitem__(entries, key)
