"""Webhook events: their types, their bodies, and the Standard Webhooks signature (pure).

A body is ``{"type": ..., "timestamp": ..., "data": {...}}`` (JSON, UTF-8), made once when
the event is written and sent byte for byte on every attempt. Signed deliveries follow the
Standard Webhooks specification (https://www.standardwebhooks.com/, "Signature
scheme"): headers ``webhook-id`` (the event's id, the same on every retry, which
receivers de-duplicate by), ``webhook-timestamp`` (the attempt's Unix time, which
receivers check against their clock to refuse replays) and ``webhook-signature``,
``v1,`` and the base64 HMAC-SHA256 of ``<id>.<timestamp>.<body>`` keyed by the secret's
bytes (the base64 after ``whsec_``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from app.domain import Article
from app.domain import FeedScope
from app.domain import permalink_url
from app.surrogate_keys import article_key
from app.surrogate_keys import scope_key

ARTICLE_PUBLISHED = "article.published"
ARTICLE_UPDATED = "article.updated"
ARTICLE_DELETED = "article.deleted"
FEED_CHANGED = "feed.changed"
EVENT_TYPES = (ARTICLE_PUBLISHED, ARTICLE_UPDATED, ARTICLE_DELETED, FEED_CHANGED)
ALL_EVENTS = "all"

SIGNED = "signed"
FASTLY = "fastly"
CLOUDFLARE = "cloudflare"
PRESETS = (SIGNED, FASTLY, CLOUDFLARE)
#: Where each purge preset's API is when the webhook names no other URL.
PRESET_URLS = {
    FASTLY: "https://api.fastly.com",
    CLOUDFLARE: "https://api.cloudflare.com/client/v4",
}

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
# Standard Webhooks: secrets of 24 to 64 random bytes.
SECRET_MIN_BYTES = 24
SECRET_MAX_BYTES = 64


def new_secret() -> str:
    """A new signing secret: ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret.

    Raises:
        ValueError: not ``whsec_`` and the base64 of 24 to 64 bytes.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"must start with {SECRET_PREFIX} (Standard Webhooks secrets)")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"must be {SECRET_PREFIX} followed by base64") from None
    if not SECRET_MIN_BYTES <= len(key) <= SECRET_MAX_BYTES:
        raise ValueError(f"must encode {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes")
    return key


def signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value of one attempt: ``v1,<base64 HMAC-SHA256>``."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def event_body(event_type: str, data: Mapping[str, Any], now: datetime) -> str:
    """The JSON body of an event that happened at ``now`` (compact, keys sorted)."""
    timestamp = now.astimezone(UTC).isoformat(timespec="microseconds")
    document = {"type": event_type, "timestamp": timestamp, "data": data}
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def article_data(article: Article, base_url: str, now: datetime) -> dict[str, Any]:
    """What an article event says of its article."""
    return {
        "id": article.id,
        "key": article_key(article.id),
        "url": permalink_url(base_url, article.slug),
        "slug": article.slug,
        "title": article.title,
        "status": article.status(now).value,
        "revision": article.revision,
        "published_at": _time(article.published_at),
        "updated_at": _time(article.updated_at),
    }


def feed_data(scope: FeedScope, changed: Iterable[str], removed: Iterable[str]) -> dict[str, Any]:
    """What a ``feed.changed`` event says: the feed, its key, and the URLs of its documents
    whose bytes changed and of those it no longer has."""
    return {
        "feed": scope.key,
        "key": scope_key(scope),
        "changed": sorted(changed),
        "removed": sorted(removed),
    }


def purge_keys(data: Mapping[str, Any]) -> list[str]:
    """The surrogate keys an event makes stale: the article's or the feed's."""
    key = data.get("key")
    return [key] if isinstance(key, str) else []


def wants(events: str, event_type: str) -> bool:
    """Whether a webhook subscribed to ``events`` (comma-separated, or ``all``) gets
    ``event_type``."""
    return events == ALL_EVENTS or event_type in events.split(",")


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Webhook:
    """A registered endpoint. ``secret`` signs (preset ``signed``); a purge preset
    authenticates with the CDN's credentials from the settings instead."""

    name: str
    url: str
    events: str
    preset: str
    created_at: datetime
    secret: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One event waiting for one webhook, as a deliverer claimed it."""

    pk: int
    event_id: str
    event_type: str
    body: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None
    webhook: Webhook
