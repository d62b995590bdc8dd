"""The reads sitemaps make: public articles by publication number or by date, the stored
subscription feeds (each a listing page), and the stored sitemap documents.

Only live, public articles hold a number (:mod:`app.storage.sequence`), so a sitemap asks
for numbers alone, and each query walks one index: ``ix_articles_sequence`` for an article
sitemap, ``ix_articles_live_published`` for the news sitemap, the keys of
``feed_snapshots`` for the rest (on SQLite the listing pages are read from the index alone:
a column of the rows themselves lies past both bodies, in their overflow pages).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.storage.feeds import bytewise_key
from app.storage.feeds import key_starts_with
from app.storage.tables import ArticleRow
from app.storage.tables import FeedSnapshotRow

#: The feed keys of the subscription feeds whose pages are listing pages, as ranges of
#: the primary key (``/`` sorts just before ``0``): ``author/...:atom`` and the like.
_LISTING_KINDS = ("author", "category", "collection", "tag")
_ATOM = ":atom"


@dataclass(frozen=True)
class SitemapArticle:
    """What a sitemap says of one public article."""

    slug: str
    title: str
    published_at: datetime
    updated_at: datetime
    image_url: str | None


class SitemapReads:
    """The sitemaps' reads, inside one session's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def numbered(self, first: int, end: int) -> list[SitemapArticle]:
        """The public articles numbered ``first`` to ``end - 1``, in number order."""
        query = _article_pages().where(ArticleRow.sequence >= first, ArticleRow.sequence < end)
        return self._pages(query.order_by(ArticleRow.sequence))

    def published_between(self, since: datetime, now: datetime, limit: int) -> list[SitemapArticle]:
        """The ``limit`` newest public articles published after ``since`` and by ``now``,
        newest first."""
        query = (
            _article_pages()
            .where(
                ArticleRow.deleted_at.is_(None),
                ArticleRow.published_at > since,
                ArticleRow.published_at <= now,
            )
            .order_by(ArticleRow.published_at.desc(), ArticleRow.pk.desc())
            .limit(limit)
        )
        return self._pages(query)

    def newest_number(self) -> int | None:
        """The highest number a public article holds (None for none)."""
        return self.session.scalar(select(func.max(ArticleRow.sequence)))

    def listing_scopes(self) -> list[str]:
        """The scope key of every stored subscription feed, in key order: the site, and
        each category, tag, author and collection with public articles (each has a
        listing page)."""
        key = bytewise_key(self.session)
        ranges = [and_(key > f"{kind}/", key < f"{kind}0") for kind in _LISTING_KINDS]
        keys = self.session.scalars(
            select(FeedSnapshotRow.feed_key)
            .where(or_(key == f"site{_ATOM}", *ranges), key.endswith(_ATOM))
            .order_by(key)
        )
        return [feed_key.removesuffix(_ATOM) for feed_key in keys]

    def documents(self, prefix: str) -> dict[str, tuple[str, datetime, datetime | None]]:
        """ETag, Last-Modified and fresh-until of the stored documents whose key starts
        with ``prefix``, by key."""
        rows = self.session.execute(
            select(
                FeedSnapshotRow.feed_key,
                FeedSnapshotRow.etag,
                FeedSnapshotRow.last_modified,
                FeedSnapshotRow.fresh_until,
            ).where(key_starts_with(self.session, prefix))
        )
        return {key: (etag, modified, fresh) for key, etag, modified, fresh in rows}

    def _pages(self, query: _ArticleQuery) -> list[SitemapArticle]:
        pages = []
        for slug, title, published, updated, image in self.session.execute(query):
            assert published is not None  # a numbered article is public
            pages.append(SitemapArticle(slug, title, published, updated, image))
        return pages


_ArticleQuery = Select[str, str, datetime | None, datetime, str | None]


def _article_pages() -> _ArticleQuery:
    return select(
        ArticleRow.slug,
        ArticleRow.title,
        ArticleRow.published_at,
        ArticleRow.updated_at,
        ArticleRow.image_url,
    ).where(ArticleRow.sequence.is_not(None))
