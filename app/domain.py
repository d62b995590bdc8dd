"""Domain values: articles, feeds and the pure functions that name them.

Nothing here does I/O. Every datetime is timezone-aware UTC.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

# Terms' slugs are made below the settings, which check collections' rules with them.
from app.collection_rules import term_slug as term_slug


class BodyFormat(StrEnum):
    """How the publisher wrote the body."""

    MARKDOWN = "markdown"
    HTML = "html"


class ArticleStatus(StrEnum):
    """Where an article stands at a given moment."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"


class FeedFormat(StrEnum):
    """The three feed formats, named by their URL suffix."""

    RSS = "rss"
    ATOM = "atom"
    JSON = "json"

    @property
    def media_type(self) -> str:
        """The registered media type, with charset (RFC 4287 section 7; JSON Feed 1.1)."""
        return _MEDIA_TYPES[self]


_MEDIA_TYPES = {
    FeedFormat.RSS: "application/rss+xml; charset=utf-8",
    FeedFormat.ATOM: "application/atom+xml; charset=utf-8",
    FeedFormat.JSON: "application/feed+json; charset=utf-8",
}


@dataclass(frozen=True)
class Author:
    """A byline: a name, with an optional e-mail and home page."""

    name: str
    email: str | None = None
    url: str | None = None


#: The ``length`` of an image whose size in bytes is not known. RSS requires an enclosure
#: length, and the RSS Advisory Board's best-practice profile says to write 0 when it is
#: unknown; so a lead image sent without one is stored with this.
UNKNOWN_LENGTH = 0


@dataclass(frozen=True)
class Image:
    """An image with what a feed enclosure and a figure need."""

    url: str
    type: str | None = None
    length: int | None = None
    width: int | None = None
    height: int | None = None
    caption: str | None = None
    credit: str | None = None

    @property
    def known_length(self) -> int | None:
        """The size in bytes, or ``None`` when not known (absent, or :data:`UNKNOWN_LENGTH`):
        what formats whose length is optional write, rather than claim an empty file."""
        return self.length if self.length else None


@dataclass(frozen=True)
class Article:
    """A stored article. ``body`` is what the publisher sent; ``body_html`` is what we show."""

    id: str
    slug: str
    title: str
    summary: str
    body: str
    body_format: BodyFormat
    body_html: str
    excerpt: str
    authors: tuple[Author, ...]
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    language: str
    image: Image | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    revision: int
    #: Its place in publication order (archive page ``sequence // page size``); ``None``
    #: until it is public.
    sequence: int | None = None
    #: False: every feed carries its summary only, whatever the feed's profile (wire copy
    #: that may not be republished in full).
    full_text_in_feeds: bool = True

    def status(self, now: datetime) -> ArticleStatus:
        """Draft without a publish time, scheduled before it, published from it on."""
        if self.published_at is None:
            return ArticleStatus.DRAFT
        if self.published_at > now:
            return ArticleStatus.SCHEDULED
        return ArticleStatus.PUBLISHED

    def is_public(self, now: datetime) -> bool:
        """Whether readers may see the article at ``now``."""
        return self.status(now) is ArticleStatus.PUBLISHED

    @property
    def etag(self) -> str:
        """The opaque version tag the API hands out and checks in If-Match (without quotes)."""
        return article_etag(self.id, self.revision)


@dataclass(frozen=True)
class ArticleVersion:
    """Which version of an article is stored: enough to tell whether something made from
    it (a feed entry) is still current, and to place its entry in a feed without reading
    its text. Every change to an article moves its revision."""

    id: str
    revision: int
    updated_at: datetime
    published_at: datetime
    language: str


@dataclass(frozen=True)
class ArticlePage:
    """One page of an article listing."""

    articles: tuple[Article, ...]
    total: int
    page: int
    per_page: int


@dataclass(frozen=True)
class FeedScope:
    """Which articles a feed holds. ``site`` is every published article."""

    kind: str = "site"
    value: str = ""

    @property
    def key(self) -> str:
        """A stable string key, e.g. ``site`` or ``category/politica``."""
        return self.kind if not self.value else f"{self.kind}/{self.value}"

    @classmethod
    def from_key(cls, key: str) -> FeedScope:
        """Parse a key made by :attr:`key`."""
        kind, _, value = key.partition("/")
        return cls(kind, value)


SITE_SCOPE = FeedScope()
#: The scope kind of archive pages (RFC 5005): ``archive/0``, ``archive/1``...
ARCHIVE = "archive"
#: The scope kind of the sitemaps and robots.txt (:mod:`app.sitemaps`): the index, the
#: news sitemap, the listing pages' sitemaps, robots.txt, and the article sitemaps
#: ``sitemap/articles-0``, ``sitemap/articles-1``... Their documents are stored under their
#: paths (``/sitemap.xml``), which no feed key (``scope:format``) can be.
SITEMAP = "sitemap"
SITEMAP_INDEX = FeedScope(SITEMAP, "index")
NEWS_SITEMAP = FeedScope(SITEMAP, "news")
LISTING_SITEMAPS = FeedScope(SITEMAP, "pages")
ROBOTS = FeedScope(SITEMAP, "robots")
#: Article pages per article sitemap: sitemap k lists the articles numbered [k*N, (k+1)*N),
#: in publication order as archive pages are, so a write to an article changes one of them
#: (and a new article the newest). Small enough to render in milliseconds, and 50,000 of
#: them (the most an index may list) hold 50 million articles.
ARTICLES_PER_SITEMAP = 1000


@dataclass(frozen=True)
class FeedSnapshot:
    """One rendered feed document, ready to serve: both encodings and its validators."""

    feed_key: str
    media_type: str
    body: bytes
    body_gzip: bytes
    etag: str
    last_modified: datetime
    rendered_at: datetime
    fresh_until: datetime | None = None
    #: Its CDN keys, space-separated (:mod:`app.surrogate_keys`); None: not stored yet.
    surrogate_keys: str | None = None


@dataclass(frozen=True)
class ApiToken:
    """A named API token. Only the SHA-256 of the secret is ever stored."""

    name: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    expires_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        """Whether the token authenticates at ``now``: not revoked, not expired."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True)
class Subscriber:
    """A reader of private feeds (a licensed partner, a paying reader): every feed it
    reads carries ``profile``. Only the SHA-256 of its feed key is ever stored."""

    name: str
    profile: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def active(self, now: datetime) -> bool:
        """Whether its key opens feeds at ``now``: not revoked, not expired."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True)
class PollCount:
    """How a feed was polled on one UTC day (``YYYY-MM-DD``)."""

    feed_key: str
    day: str
    requests: int = 0
    not_modified: int = 0
    throttled: int = 0
    bytes_sent: int = 0


@dataclass(frozen=True)
class ClientCount:
    """Requests of one client family for one feed, and the subscribers it reports.

    ``subscribers`` is the sum of the latest count of each reporter of that family (see
    :class:`SubscriberReport`), ``None`` when none reported any; counts on their way to
    storage carry ``None`` (reports travel apart).
    """

    feed_key: str
    family: str
    requests: int
    subscribers: int | None
    last_seen: datetime


@dataclass(frozen=True)
class SubscriberReport:
    """The subscriber count one reporter put in its User-Agent when it last polled a feed.

    An aggregator may poll one feed under several of its own feed records (Feedly's
    ``feed-id=``, Feedbin's ``feed-id:``, NewsBlur's site URL), each reporting the
    subscribers of that record: ``reporter`` tells them apart (the User-Agent with the
    count blanked out), so a family's subscribers are the sum of its reporters' latest
    counts, not the last count any of them sent.
    """

    feed_key: str
    family: str
    reporter: str
    subscribers: int
    seen: datetime


@dataclass(frozen=True)
class FeedPolls:
    """Who polls a feed: totals and client families."""

    feed_key: str
    requests: int
    not_modified: int
    throttled: int
    bytes_sent: int
    clients: tuple[ClientCount, ...]

    @property
    def not_modified_share(self) -> float:
        """The share of requests answered 304 (0 when there were none)."""
        return self.not_modified / self.requests if self.requests else 0.0

    @property
    def subscribers(self) -> int:
        """Subscribers reported by aggregators in their user agents, summed over families."""
        return sum(client.subscribers or 0 for client in self.clients)


def mint_article_id(authority: str, created_at: datetime) -> str:
    """Mint a new permanent entry id, a ``tag:`` URI (RFC 4151), once, at creation.

    The id is stored and never derived again from the slug, host or scheme: readers
    deduplicate on it, and a changing id is their first complaint.
    """
    return f"tag:{authority},{created_at:%Y-%m-%d}:article:{uuid.uuid4().hex}"


def article_etag(article_id: str, revision: int) -> str:
    """A strong, opaque version tag for one revision of one article."""
    digest = hashlib.sha256(f"{article_id}\n{revision}".encode()).hexdigest()
    return f"{revision}-{digest[:16]}"


def permalink_path(slug: str) -> str:
    """The path of an article's page."""
    return f"/articles/{slug}"


def permalink_url(base_url: str, slug: str) -> str:
    """The absolute URL of an article's page; one function for pages, feeds and the API."""
    return base_url.rstrip("/") + permalink_path(slug)


def feed_path(scope: FeedScope, fmt: FeedFormat) -> str:
    """The path at which a feed is served, e.g. ``/feed.rss`` or ``/category/x/feed.atom``."""
    prefix = "" if scope.kind == "site" else f"/{scope.kind}/{scope.value}"
    return f"{prefix}/feed.{fmt.value}"


def feed_key(scope: FeedScope, fmt: FeedFormat) -> str:
    """The key of a stored snapshot: scope key and format, e.g. ``site:rss``."""
    return f"{scope.key}:{fmt.value}"


def article_sitemap(sequence: int) -> FeedScope:
    """The sitemap scope that lists the article numbered ``sequence``."""
    return FeedScope(SITEMAP, f"articles-{sequence // ARTICLES_PER_SITEMAP}")


def sitemap_path(scope: FeedScope, part: int = 0) -> str:
    """The path of a sitemap scope's document (``part``: which of the listing pages'
    sitemaps): ``/sitemap.xml`` (the index), ``/robots.txt``, ``/sitemap-pages-0.xml``,
    ``/sitemap-news.xml``, ``/sitemap-articles-3.xml``."""
    if scope == SITEMAP_INDEX:
        return "/sitemap.xml"
    if scope == ROBOTS:
        return "/robots.txt"
    if scope == LISTING_SITEMAPS:
        return f"/sitemap-pages-{part}.xml"
    return f"/sitemap-{scope.value}.xml"


_SITEMAP_FILE = re.compile(r"/sitemap-(news|pages|articles)(?:-(0|[1-9][0-9]{0,17}))?\.xml")


def sitemap_scope(path: str) -> FeedScope | None:
    """The sitemap scope whose document ``path`` is (:func:`sitemap_path` read back);
    None for any other path."""
    if path in ("/sitemap.xml", "/robots.txt"):
        return SITEMAP_INDEX if path == "/sitemap.xml" else ROBOTS
    match = _SITEMAP_FILE.fullmatch(path)
    if match is None or (match[1] == "news") != (match[2] is None):
        return None
    scope = FeedScope(SITEMAP, match[1] if match[1] != "articles" else f"articles-{match[2]}")
    return scope if sitemap_path(scope, int(match[2] or 0)) == path else None


def content_etag(body: bytes) -> str:
    """A strong ETag value (without quotes) from the bytes of a representation."""
    return hashlib.sha256(body).hexdigest()[:32]
