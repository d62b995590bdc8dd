"""The neutral feed model every format is rendered from.

Publishing builds one :class:`FeedDocument` per feed; the RSS, Atom and JSON Feed renderers
turn it into bytes. Everything here is already final: absolute URLs, sanitised HTML, aware
UTC datetimes, entries in serving order (newest first).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
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
    content_html: str | None
    """The body as HTML; ``None`` when the feed carries only the summary (a ``summary``
    feed profile, or an article that keeps its full text out of feeds)."""
    authors: tuple[Author, ...]
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    language: str
    image: Image | None
    published: datetime
    updated: datetime
    media: tuple[Image, ...] = ()
    """Inline images of the body, with caption and credit, in document order."""


@dataclass(frozen=True)
class FeedDocument:
    """A whole feed: metadata, the URL of each format, and entries newest first."""

    id: str
    title: str
    description: str
    site_url: str
    """The HTML page this feed stands for: the front page, or a section's listing page."""
    home_url: str
    """The site's front page: the publisher, and the root of its section and tag vocabularies."""
    language: str
    updated: datetime
    """The newest entry's ``updated`` (Atom's feed ``updated``, RFC 4287 section 4.2.15)."""
    self_urls: dict[FeedFormat, str]
    entries: tuple[FeedEntry, ...]
    generator: str = "Broadsheet"
    ttl_minutes: int | None = None
    hubs: tuple[str, ...] = ()
    icon_url: str | None = None
    """A square image for the feed: RSS ``<image>``, Atom ``<icon>``, JSON Feed ``icon``."""
    favicon_url: str | None = None
    """A small square image for lists of feeds (JSON Feed ``favicon``)."""
    logo_url: str | None = None
    """A wider image: Atom ``<logo>``, and the RSS ``<image>`` when there is no icon."""
    archive: bool = False
    """An RFC 5005 archive document (``fh:archive``), immutable in meaning."""
    history_links: dict[str, dict[FeedFormat, str]] = field(default_factory=dict)
    """RFC 5005 links by relation (``prev-archive``, ``next-archive``, ``current``), each
    with the URL of the linked document in every format."""
    stylesheet_url: str | None = None
    """An XSLT stylesheet for people who open an RSS or Atom document in a browser."""
    content_changed: datetime | None = None
    """When the document's content last changed (RSS ``lastBuildDate``); ``None``: the
    newest entry's ``updated``. An edit or a deletion changes the content without a newer
    entry, so the caller that stores the documents knows this time, not the renderer."""

    def self_url(self, fmt: FeedFormat) -> str:
        """The URL at which the document in ``fmt`` is served."""
        return self.self_urls[fmt]
