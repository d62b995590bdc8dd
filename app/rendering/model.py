"""The neutral feed model every format is rendered from.

Publishing builds one :class:`FeedDocument` per feed; the RSS, Atom and JSON Feed renderers
turn it into bytes. Everything here is already final: absolute URLs, sanitised HTML, aware
UTC datetimes, entries in serving order (newest first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain import Author
from app.domain import FeedFormat
from app.domain import Image


@dataclass(frozen=True)
class FeedEntry:
    """One entry, identical in meaning across the three formats."""

    id: str
    url: str
    title: str
    summary: str
    content_html: str
    authors: tuple[Author, ...]
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    language: str
    image: Image | None
    published: datetime
    updated: datetime


@dataclass(frozen=True)
class FeedDocument:
    """A whole feed: metadata, the URL of each format, and entries newest first."""

    id: str
    title: str
    description: str
    site_url: str
    language: str
    updated: datetime
    self_urls: dict[FeedFormat, str]
    entries: tuple[FeedEntry, ...]
    generator: str = "Broadsheet"
    ttl_minutes: int | None = None
    hubs: tuple[str, ...] = ()
    icon_url: str | None = None

    def self_url(self, fmt: FeedFormat) -> str:
        """The URL at which the document in ``fmt`` is served."""
        return self.self_urls[fmt]
