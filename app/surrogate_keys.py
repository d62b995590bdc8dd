"""Surrogate keys: short names a CDN tags each cached response with, so that one purge
call removes exactly what a change made stale (pure).

Every feed document is tagged with its feed (``feed-site``, ``feed-category-politica``:
one key for the three formats) and with the articles it holds (``a-<12 hex>``, the start
of the SHA-256 of the article's id: short, stable whatever the slug, and free of the
characters a header list would split on); an article's page with its article's key; a
sitemap or robots.txt with its own (``sitemap-news``, ``robots``). The keys are computed
when a document is rendered and stored with it, never per request.

Fastly reads them from ``Surrogate-Key`` (space-separated; at most 16 KB, each key at
most 1 KB) and Cloudflare from ``Cache-Tag`` (comma-separated; 16 KB in all). A feed holds
at most ``feed.item_limit`` articles (1,000), some 15 bytes a key: the headers stay under
:data:`MAX_HEADER_BYTES`, and were they ever to pass it the feed's own key is kept and the
oldest articles' keys are left out (purging the feed key still purges the document).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable

from app.domain import ROBOTS
from app.domain import SITE_SCOPE
from app.domain import SITEMAP
from app.domain import SITEMAP_INDEX
from app.domain import FeedScope

#: The most bytes a document's keys may take, well under both CDNs' 16 KB.
MAX_HEADER_BYTES = 8192
_SAFE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")


@functools.lru_cache(maxsize=65_536)
def article_key(article_id: str) -> str:
    """The key of one article: ``a-`` and the first 12 hex digits of SHA-256 of its id."""
    return "a-" + hashlib.sha256(article_id.encode("utf-8")).hexdigest()[:12]


def scope_key(scope: FeedScope) -> str:
    """The key of a feed scope (all its formats) or of a sitemap document.

    ``feed-site``, ``feed-category-politica``, ``feed-archive-3``; ``sitemap-index``,
    ``sitemap-news``, ``sitemap-articles-0``, ``robots``. A value with characters a key
    cannot carry (a header list separator, upper case, non-ASCII) is named by its hash.
    """
    if scope == ROBOTS:
        return "robots"
    if scope == SITEMAP_INDEX:
        return "sitemap-index"
    if scope == SITE_SCOPE:
        return "feed-site"
    value = scope.value
    if not _SAFE.fullmatch(value):
        value = "h" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]
    prefix = "sitemap" if scope.kind == SITEMAP else f"feed-{scope.kind}"
    return f"{prefix}-{value}"


def document_keys(scope: FeedScope, article_ids: Iterable[str] = ()) -> str:
    """The keys of a document, space-separated as stored: its scope's, then its articles'
    in the document's order (newest first), within :data:`MAX_HEADER_BYTES`."""
    keys = [scope_key(scope)]
    size = len(keys[0])
    for article_id in article_ids:
        key = article_key(article_id)
        size += len(key) + 2  # ", " in Cache-Tag
        if size > MAX_HEADER_BYTES:
            break
        keys.append(key)
    return " ".join(keys)


def key_headers(keys: str) -> tuple[tuple[str, str], ...]:
    """The response headers that carry ``keys`` (space-separated): Fastly's
    ``Surrogate-Key`` and Cloudflare's ``Cache-Tag`` (comma-separated)."""
    return (("Surrogate-Key", keys), ("Cache-Tag", ",".join(keys.split())))
