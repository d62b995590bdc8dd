"""The sitemaps and robots.txt, rendered at rest like the feeds: a sitemap scope's documents
are read (one read transaction), rendered with no transaction open, and stored with their
gzip and ETag where their bytes changed (one write transaction), so the web serves them
exactly as it serves feeds.

The scopes (kind :data:`~app.domain.SITEMAP`, one feed state each):

- ``sitemap/articles-<k>``: the pages of the articles numbered k*N to k*N+N-1
  (:data:`~app.domain.ARTICLES_PER_SITEMAP`), each dated by its significant update, with
  its lead image (``image:image``);
- ``sitemap/pages``: the listing pages (home, and each category, tag, author and
  collection with public articles: those whose feeds are stored), 50,000 a sitemap,
  undated (each changes with every article it lists: a date would tell a crawler nothing
  the page does not);
- ``sitemap/news``: Google News, the articles published in the last 48 hours, newest first,
  at most 1,000; it changes by itself when its oldest article turns 48 hours old;
- ``sitemap/index``: every other sitemap stored, dated by when its bytes last changed;
- ``sitemap/robots``: robots.txt, which points crawlers to the index.

A sitemap with nothing to list is not stored (the protocol wants at least one URL), so it
answers 404 and leaves the index. What marks them due: a write to a public article marks
its article sitemap, the news sitemap and the index (:func:`app.selection.scope_keys`),
which render after its feeds, the index last (:func:`app.selection.render_priority`); a
feed whose scope gains or loses its listing page marks the listing sitemaps
(:mod:`app.snapshots`), and a sitemap whose bytes change marks the index, so that it lists
when each last changed whatever order renders run in. The periodic safety net renders them
all again but the article sitemaps, which change only by writes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import TypeVar

from app.domain import ARTICLES_PER_SITEMAP
from app.domain import LISTING_SITEMAPS
from app.domain import NEWS_SITEMAP
from app.domain import ROBOTS
from app.domain import SITE_SCOPE
from app.domain import SITEMAP_INDEX
from app.domain import FeedScope
from app.domain import FeedSnapshot
from app.domain import content_etag
from app.domain import permalink_url
from app.domain import sitemap_path
from app.rendering.sitemaps import MAX_URLS
from app.rendering.sitemaps import ROBOTS_MEDIA_TYPE
from app.rendering.sitemaps import SITEMAP_MEDIA_TYPE
from app.rendering.sitemaps import ChildSitemap
from app.rendering.sitemaps import NewsArticle
from app.rendering.sitemaps import PageUrl
from app.rendering.sitemaps import news_language
from app.rendering.sitemaps import render_index
from app.rendering.sitemaps import render_robots
from app.rendering.sitemaps import render_urlset
from app.settings import Settings
from app.snapshots import RenderReport
from app.snapshots import gzip_body
from app.snapshots import next_change_time
from app.storage.database import Database
from app.storage.feeds import FeedStateRepository
from app.storage.feeds import SnapshotRepository
from app.storage.sitemaps import SitemapReads
from app.storage.webhooks import announce_documents_change
from app.surrogate_keys import document_keys

#: Google News lists articles published in the last two days, at most 1,000 a sitemap.
NEWS_WINDOW = timedelta(hours=48)
NEWS_LIMIT = 1000
#: The order of the sitemaps in the index.
_INDEX_ORDER = ("news", "pages", "articles")

_Validators = dict[str, tuple[str, datetime, datetime | None]]
_Item = TypeVar("_Item", PageUrl, ChildSitemap)


@dataclass(frozen=True)
class _Read:
    """What a sitemap scope's render read, in one read transaction: its documents, each a
    render to make (by path), the documents it has stored, and when it changes by itself."""

    dirty_version: int
    documents: dict[str, Callable[[], bytes]]
    previous: _Validators
    next_change: datetime | None = None


class SitemapRenderer:
    """Renders one sitemap scope and stores its documents, over one database.

    Contract: as :class:`~app.snapshots.SnapshotRenderer`'s: a document is written only
    when its bytes change, with the generation bumped, in the transaction that marks the
    scope rendered; a document the scope no longer has is deleted; a read or render that
    fails raises, and the stored documents stay as they were.
    """

    def __init__(self, database: Database, settings: Settings) -> None:
        self.db = database
        self.settings = settings

    def render(self, scope: FeedScope, now: datetime, report: RenderReport) -> None:
        """Read, render and store the documents of ``scope`` as of ``now``; add the scope,
        and the paths of the documents changed or deleted, to ``report``."""
        report.sitemap_scopes.append(scope.key)
        with self.db.read() as session:
            # The version first: a write committed after this read leaves the scope dirty.
            dirty_version = FeedStateRepository(session).dirty_version(scope.key)
            read = self._read(scope, SitemapReads(session), now, dirty_version)
        bodies = {path: render() for path, render in read.documents.items()}
        changed = {
            path: (body, gzip_body(body))
            for path, body in bodies.items()
            if path not in read.previous or read.previous[path][0] != content_etag(body)
        }
        self._store(scope, read, bodies, changed, now, report)

    def robots_outdated(self) -> bool:
        """Whether the stored robots.txt is not the one the settings make (or is none)."""
        with self.db.read() as session:
            read = self._read(ROBOTS, SitemapReads(session), self.settings.epoch, 0)
        ((path, render),) = read.documents.items()
        return path not in read.previous or read.previous[path][0] != content_etag(render())

    def _read(
        self, scope: FeedScope, reads: SitemapReads, now: datetime, dirty_version: int
    ) -> _Read:
        if scope == NEWS_SITEMAP:
            return self._read_news(reads, now, dirty_version)
        base = self.settings.base_url
        path = sitemap_path(scope)
        if scope == ROBOTS:
            robots = functools.partial(
                render_robots, [base + sitemap_path(SITEMAP_INDEX)], self.settings.robots_extra
            )
            return _Read(dirty_version, {path: robots}, reads.documents(path))
        if scope == SITEMAP_INDEX:
            children = sorted(reads.documents("/sitemap-").items(), key=_index_order)
            index = [ChildSitemap(base + child, validators[1]) for child, validators in children]
            return _Read(dirty_version, _one(path, render_index, index), reads.documents(path))
        if scope == LISTING_SITEMAPS:
            return self._read_listings(reads, dirty_version)
        first = int(scope.value.removeprefix("articles-")) * ARTICLES_PER_SITEMAP
        urls = [
            PageUrl(
                permalink_url(base, article.slug),
                max(article.updated_at, article.published_at),
                image=article.image_url,
            )
            for article in reads.numbered(first, first + ARTICLES_PER_SITEMAP)
        ]
        return _Read(dirty_version, _one(path, render_urlset, urls), reads.documents(path))

    def _read_listings(self, reads: SitemapReads, dirty_version: int) -> _Read:
        """The listing pages, the home page first, 50,000 a sitemap (a site's tags may be
        more): each new section, tag or author moves those after it, a rare write."""
        base = self.settings.base_url
        listings = sorted(reads.listing_scopes(), key=lambda key: (key != SITE_SCOPE.key, key))
        urls = [PageUrl(_listing_url(base, key)) for key in listings]
        documents: dict[str, Callable[[], bytes]] = {
            sitemap_path(LISTING_SITEMAPS, part): functools.partial(
                render_urlset, urls[first : first + MAX_URLS]
            )
            for part, first in enumerate(range(0, len(urls), MAX_URLS))
        }
        return _Read(dirty_version, documents, reads.documents("/sitemap-pages-"))

    def _read_news(self, reads: SitemapReads, now: datetime, dirty_version: int) -> _Read:
        """The news sitemap: it changes by itself when its oldest article leaves it."""
        settings = self.settings
        articles = reads.published_between(now - NEWS_WINDOW, now, NEWS_LIMIT)
        language = news_language(settings.site_language)
        urls = [
            PageUrl(
                permalink_url(settings.base_url, article.slug),
                news=NewsArticle(
                    settings.site_title, language, article.title, article.published_at
                ),
            )
            for article in articles
        ]
        path = sitemap_path(NEWS_SITEMAP)
        ages_out = articles[-1].published_at + NEWS_WINDOW if articles else None
        documents = _one(path, render_urlset, urls)
        return _Read(dirty_version, documents, reads.documents(path), ages_out)

    def _store(
        self,
        scope: FeedScope,
        read: _Read,
        bodies: dict[str, bytes],
        changed: dict[str, tuple[bytes, bytes]],
        now: datetime,
        report: RenderReport,
    ) -> None:
        """Store what changed, in one write transaction: new documents, deletions,
        fresh-until times, that the scope is rendered and, if a sitemap changed, that the
        index is due."""
        media_type = ROBOTS_MEDIA_TYPE if scope == ROBOTS else SITEMAP_MEDIA_TYPE
        with self.db.write() as session:
            snapshots = SnapshotRepository(session)
            gone = sorted(read.previous.keys() - bodies.keys())
            for path in gone:
                snapshots.delete(path)
            refreshed = False
            for path in bodies.keys() - changed.keys():
                if read.previous[path][2] != read.next_change:
                    # Same bytes, but caches must learn when they change by themselves.
                    snapshots.set_fresh_until(path, read.next_change)
                    refreshed = True
            for path, (body, compressed) in sorted(changed.items()):
                snapshots.save(
                    FeedSnapshot(
                        feed_key=path,
                        media_type=media_type,
                        body=body,
                        body_gzip=compressed,
                        etag=content_etag(body),
                        last_modified=next_change_time(read.previous.get(path), now),
                        rendered_at=now,
                        fresh_until=read.next_change,
                        surrogate_keys=document_keys(scope),
                    )
                )
            # A CDN purges them as it does feeds (feed.changed names the scope's key).
            base = self.settings.base_url
            changed_urls = [base + path for path in sorted(changed)]
            announce_documents_change(
                session, scope, changed_urls, [base + path for path in gone], now
            )
            if gone or changed or refreshed:
                snapshots.bump_generation()
            index_due = (gone or changed) and scope not in (SITEMAP_INDEX, ROBOTS)
            FeedStateRepository(session).mark_rendered(
                scope.key,
                read.dirty_version,
                read.next_change,
                now,
                and_dirty=[SITEMAP_INDEX.key] if index_due else [],
            )
        report.sitemap_changes.extend(sorted([*gone, *changed]))


def _one(
    path: str, render: Callable[[list[_Item]], bytes], items: list[_Item]
) -> dict[str, Callable[[], bytes]]:
    """A scope's one document, at ``path``, rendered from ``items``; none without items (a
    sitemap lists at least one URL)."""
    return {path: functools.partial(render, items)} if items else {}


def _listing_url(base: str, scope_key: str) -> str:
    """The listing page of a subscription feed's scope: the home page for the site's."""
    return f"{base}/" if scope_key == SITE_SCOPE.key else f"{base}/{scope_key}"


def _index_order(item: tuple[str, object]) -> tuple[int, int]:
    """The news sitemap, then the listing pages', then the articles', in number order."""
    kind, _, number = item[0].removeprefix("/sitemap-").removesuffix(".xml").partition("-")
    rank = _INDEX_ORDER.index(kind) if kind in _INDEX_ORDER else len(_INDEX_ORDER)
    return rank, int(number) if number.isdigit() else 0
