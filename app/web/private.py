"""Private feeds: ``/private/<feed key>/feed.atom`` and the same prefix before every other
subscription feed's path (``/private/<key>/category/politica/feed.rss``), made from
:data:`~app.web.feeds.FEED_ROUTES` (archives aside: they are public documents), so that a
new kind of feed has its private URL with no change here.

A request is answered from the stored document of the subscriber's profile
(:mod:`app.snapshots` renders one per profile, not per subscriber), with the subscriber's
key put where the document holds :data:`~app.private_feeds.KEY_PLACEHOLDER` (its self
links). The ETag stays the stored one: an ETag belongs to one URL (RFC 9110 section
8.8.3), and the URL carries the key. The answers are those of a public feed (conditional
GET, gzip, HEAD, politeness) but ``Cache-Control: private`` (no shared cache keeps them),
``X-Robots-Tag: noindex`` and no Referer. They never pass through the public fast path
(:class:`~app.web.feeds.FeedFastPath` leaves ``/private/`` to Flask), so no public URL
can be answered with their bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

from cachetools import LRUCache
from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request

from app.domain import ARCHIVE
from app.domain import FeedFormat
from app.domain import FeedScope
from app.errors import FeedNotFound
from app.private_feeds import KEY_PLACEHOLDER
from app.private_feeds import PRIVATE_PREFIX
from app.private_feeds import private_poll_key
from app.private_feeds import private_snapshot_key
from app.private_feeds import redact_feed_keys
from app.snapshots import gzip_body
from app.web import services
from app.web.caching import PreparedFeed
from app.web.caching import prepare_feed
from app.web.feeds import FEED_ROUTES
from app.web.feeds import FeedRoute
from app.web.feeds import answer_prepared
from app.web.feeds import feed_cache

blueprint = Blueprint("private", __name__)

#: How many bytes of documents made for their subscribers a web process keeps.
PERSONAL_CACHE_BYTES = 32 * 1024 * 1024
_PLACEHOLDER = KEY_PLACEHOLDER.encode("ascii")


class PersonalDocuments:
    """The stored documents with a subscriber's key in them, ready to send, kept in a
    byte-bounded LRU by key and stored version: the substitution and its gzip run once
    per subscriber and change, not per poll. Safe to share between threads."""

    def __init__(self, max_bytes: int = PERSONAL_CACHE_BYTES) -> None:
        self._lock = threading.Lock()
        self._entries: LRUCache[tuple[str, str, str], PreparedFeed] = LRUCache(
            max_bytes, getsizeof=lambda prepared: min(prepared.size, max_bytes)
        )

    def get(self, stored: PreparedFeed, key: str, fmt: FeedFormat) -> PreparedFeed:
        """``stored`` (a private document) as its holder of ``key`` gets it in ``fmt``."""
        snapshot = stored.snapshot
        name = (key, snapshot.feed_key, snapshot.etag)
        with self._lock:
            found = self._entries.get(name)
        if found is not None:
            return found
        body = snapshot.body.replace(_PLACEHOLDER, key.encode("ascii"))
        personal = replace(snapshot, body=body, body_gzip=gzip_body(body))
        prepared = prepare_feed(personal, stored.scope, fmt)
        with self._lock:
            self._entries[name] = prepared
        return prepared


def personal_documents() -> PersonalDocuments:
    """The running app's documents made for their subscribers."""
    found: PersonalDocuments = current_app.extensions["broadsheet_private"]
    return found


def private_feed(key: str, scope: FeedScope, fmt: str) -> Response:
    """The private feed of ``scope`` in ``fmt`` for the holder of ``key``.

    Raises:
        FeedNotFound: the key or the feed is unknown (404).
        FeedKeyRefused: the key is revoked or expired (403).
    """
    path = redact_feed_keys(request.path)
    try:
        feed_format = FeedFormat(fmt)
    except ValueError:
        raise FeedNotFound(path) from None
    found = services()
    now = found.clock()
    subscriber = found.subscribers.open(key, path, now)
    try:
        stored = feed_cache().document(
            private_snapshot_key(subscriber.profile, scope, feed_format), scope, None
        )
    except FeedNotFound:
        raise FeedNotFound(path) from None
    prepared = personal_documents().get(stored, key, feed_format)
    poll_key = private_poll_key(subscriber.name, scope, feed_format)
    self_link = f'<{found.settings.base_url}{request.path}>; rel="self"'
    response = answer_prepared(prepared, poll_key, (self_link,), shared=False)
    response.headers["X-Robots-Tag"] = "noindex"
    # The page a reader opens from the feed must not learn the feed's URL.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _view(route: FeedRoute) -> Callable[..., Response]:
    def view(key: str, fmt: str, kind: str | None = None, value: str = "") -> Response:
        return private_feed(key, FeedScope(route.kind or kind or "", value), fmt)

    return view


for _index, _route in enumerate(FEED_ROUTES):
    if _route.kind != ARCHIVE:
        blueprint.add_url_rule(
            f"{PRIVATE_PREFIX}<key>{_route.rule}",
            endpoint=f"feed_{_index}",
            view_func=_view(_route),
            methods=["GET"],
        )
