"""Private feeds: their URLs, the keys their documents are stored under, what makes a
document private, and the one rule that keeps feed keys out of logs. Pure (no I/O).

A subscriber reads ``/private/<feed key>/feed.atom`` (and every other subscription feed
under that prefix): feed readers cannot send headers, so the key is in the URL. Documents
are rendered once per profile, not per subscriber, with :data:`KEY_PLACEHOLDER` where the
key goes (the self links); the web puts each subscriber's key in its place when serving.
"""

from __future__ import annotations

import re
from dataclasses import replace

from app.domain import FeedFormat
from app.domain import FeedScope
from app.domain import feed_key
from app.domain import feed_path
from app.rendering import FeedDocument

PRIVATE = "private"
PRIVATE_PREFIX = f"/{PRIVATE}/"
#: What stands for a subscriber's key in a stored private document. Only unreserved URL
#: characters (RFC 3986 section 2.3), so no format escapes it and a plain byte replace
#: finds every copy; too odd to occur in an article by chance (and if one did, it would
#: be replaced only in the copy sent to the key's own holder).
KEY_PLACEHOLDER = "~broadsheet-feed-key-4f0c9e2b~"
REDACTED = "<redacted>"
# A key as it sits in a path, up to the next separator; whatever it holds is hidden.
_KEY_IN_PATH = re.compile(r"/private/[^/\s?#\"'<>]+")


def private_snapshot_key(profile: str, scope: FeedScope, fmt: FeedFormat) -> str:
    """Where the private document of ``scope`` in ``fmt`` for ``profile`` is stored:
    ``private/full/site:rss``, ``private/paragraphs:3/category/politica:atom``. Profile
    names hold no ``/``, so the first two segments always name kind and profile; no public
    feed key (``scope:format``, scope kinds being words) and no sitemap path (``/...``)
    can look like one."""
    return f"{PRIVATE}/{profile}/{feed_key(scope, fmt)}"


def private_snapshot_prefix(profile: str) -> str:
    """What the keys of every private document of ``profile`` start with."""
    return f"{PRIVATE}/{profile}/"


def private_feed_path(key: str, scope: FeedScope, fmt: FeedFormat) -> str:
    """The path at which the holder of ``key`` reads ``scope`` in ``fmt``."""
    return f"{PRIVATE_PREFIX}{key}{feed_path(scope, fmt)}"


def private_poll_key(subscriber: str, scope: FeedScope, fmt: FeedFormat) -> str:
    """The key private polls are counted under: it names the subscriber, never its key
    (``private/agencia-x/site:rss``)."""
    return f"{PRIVATE}/{subscriber}/{feed_key(scope, fmt)}"


def private_document(
    document: FeedDocument, base_url: str, scope: FeedScope, profile: str
) -> FeedDocument:
    """``document`` (a subscription feed's) as its private variant for ``profile``: its
    own feed id (another profile is another feed, RFC 4287 section 4.2.6), self links at
    the private URL with :data:`KEY_PLACEHOLDER` for the key, no hubs (a hub is public
    and cannot hold a subscriber's key; W3C WebSub), and no archive links (archives are
    public documents in the public profile)."""
    return replace(
        document,
        id=f"{document.id}/{PRIVATE}/{profile}",
        self_urls={
            fmt: base_url + private_feed_path(KEY_PLACEHOLDER, scope, fmt) for fmt in FeedFormat
        },
        hubs=(),
        history_links={},
    )


def redact_feed_keys(text: str) -> str:
    """``text`` with every feed key in a private path replaced: ``/private/<redacted>``."""
    if PRIVATE_PREFIX not in text:
        return text
    return _KEY_IN_PATH.sub(f"{PRIVATE_PREFIX}{REDACTED}", text)
