"""The use case of old URLs: where a request for a path of the site an import came from
goes. Two sources answer, in order: the exact paths imports kept (``legacy_paths``: a
WordPress permalink, its ``/?p=<id>``), then the old site's URL shapes (setting
``legacy.url_patterns``, :mod:`app.legacy_urls`)."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from sqlalchemy.orm import Session

from app.domain import Article
from app.errors import ArticleMoved
from app.errors import ArticleNotFound
from app.legacy_urls import LegacyMatch
from app.legacy_urls import path_key
from app.legacy_urls import wordpress_id_key
from app.settings import Settings
from app.storage.articles import ArticleRepository
from app.storage.database import Database
from app.storage.legacy_paths import LegacyPathRepository


class OldUrls:
    """Old paths to the articles' pages."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def current_slug(self, path: str, query: str, now: datetime) -> str:
        """The slug of the page a request for ``path`` (decoded) with ``query`` (its query
        string, "" for none) goes to: the stored old path with its query, then without
        it (links carry tracking queries), then with its last slash added or taken away;
        then the first URL shape that matches and names an article.

        Raises:
            ArticleNotFound: no old URL is that; or its article is not public at ``now``
                (a redirect would tell where a draft will be published).
            ArticleGone: its article was deleted.
        """
        plain = path_key(path)
        keys = [path_key(path, query)] if query else []
        keys += [plain, plain[:-1] if plain.endswith("/") and len(plain) > 1 else plain + "/"]
        with self.db.read() as session:
            article = LegacyPathRepository(session).article_at(keys)
            if article is None:
                article = self._by_shape(session, plain)
        if article is None or not article.is_public(now):
            raise ArticleNotFound(path)
        return article.slug

    def _by_shape(self, session: Session, path: str) -> Article | None:
        for pattern in self.settings.legacy_patterns:
            found = pattern.match(path)
            if found is None:
                continue
            article = self._named(session, found)
            if article is not None and self._dated(found, article):
                return article
        return None

    def _named(self, session: Session, found: LegacyMatch) -> Article | None:
        """The article a matched path names: by its old id, else by its slug (current or
        former)."""
        if found.old_id is not None:
            return LegacyPathRepository(session).article_at([wordpress_id_key(found.old_id)])
        assert found.slug is not None  # a shape has {slug} or {id}
        articles = ArticleRepository(session)
        try:
            return articles.get_by_slug(found.slug)
        except ArticleMoved as moved:
            return articles.get_by_slug(moved.current_slug)
        except ArticleNotFound:
            return None

    def _dated(self, found: LegacyMatch, article: Article) -> bool:
        """Whether the date in the path is the article's: the old site wrote its local
        date (WordPress does), which is the day in the site's zone or, for a site that
        kept UTC, the UTC day."""
        if article.published_at is None:
            return False
        published = article.published_at.astimezone(UTC)
        local = published.astimezone(self.settings.timezone)
        return found.dated(published.date()) or found.dated(local.date())
