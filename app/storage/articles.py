"""Articles: stored and loaded as :class:`~app.domain.Article` values, one at a time or a
page at a time; slugs and their history. (The rows an article is stored as are
:mod:`app.storage.article_rows`; the feeds' reads, :mod:`app.storage.public_articles`.)"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain import Article
from app.domain import ArticlePage
from app.domain import ArticleStatus
from app.errors import ArticleGone
from app.errors import ArticleMoved
from app.errors import ArticleNotFound
from app.errors import SlugTaken
from app.storage.article_rows import article_of
from app.storage.article_rows import fill_row
from app.storage.public_articles import PublicArticleReads
from app.storage.tables import ArticleRow
from app.storage.tables import ArticleSlugRow


class ArticleRepository(PublicArticleReads):
    """Reads and writes articles inside one session's transaction; the feeds' reads are
    :class:`~app.storage.public_articles.PublicArticleReads`."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, article: Article) -> Article:
        """Store a new article.

        Raises:
            SlugTaken: another article (even a deleted one) has the slug.
        """
        if self._slug_owner(article.slug) is not None:
            raise SlugTaken(article.slug)
        row = ArticleRow(public_id=article.id, deleted_at=None)
        fill_row(row, article)
        self.session.add(row)
        self._flush(article.slug)
        return article_of(row)

    def replace(self, article: Article, now: datetime) -> Article:
        """Overwrite the stored article that has ``article.id`` with ``article``.

        A slug the article leaves is kept in its history, so the old permalink can
        redirect to the new one.

        Raises:
            ArticleNotFound, ArticleGone: no live article has that id.
            SlugTaken: the new slug belongs to another article.
        """
        row = self._live_row(article.id)
        owner = self._slug_owner(article.slug)
        if owner is not None and owner != row.pk:
            raise SlugTaken(article.slug)
        if article.slug != row.slug:
            reclaimed = self.session.get(ArticleSlugRow, article.slug)
            if reclaimed is not None:
                self.session.delete(reclaimed)
            self.session.add(ArticleSlugRow(slug=row.slug, article_pk=row.pk, retired_at=now))
            self.session.flush()
        fill_row(row, article)
        self._flush(article.slug)
        return article_of(row)

    def delete(self, article_id: str, now: datetime) -> Article:
        """Mark an article deleted; its page then answers 410 and it leaves every feed.

        Raises:
            ArticleNotFound, ArticleGone: no live article has that id.
        """
        row = self._live_row(article_id)
        row.deleted_at = now
        row.revision += 1
        self.session.flush()
        return article_of(row)

    def get(self, article_id: str) -> Article:
        """The live article with that id.

        Raises:
            ArticleNotFound: no such id.  ArticleGone: it was deleted.
        """
        return article_of(self._live_row(article_id))

    def get_by_slug(self, slug: str) -> Article:
        """The live article with that slug.

        Raises:
            ArticleNotFound: no such slug.  ArticleGone: it was deleted.
        """
        row = self.session.scalars(select(ArticleRow).where(ArticleRow.slug == slug)).first()
        if row is None:
            moved_to = self.session.scalar(
                select(ArticleRow).join(ArticleSlugRow).where(ArticleSlugRow.slug == slug)
            )
            if moved_to is None:
                raise ArticleNotFound(slug)
            if moved_to.deleted_at is not None:
                raise ArticleGone(slug)
            raise ArticleMoved(slug, moved_to.slug)
        if row.deleted_at is not None:
            raise ArticleGone(slug)
        return article_of(row)

    def list(
        self, now: datetime, status: ArticleStatus | None, page: int, per_page: int
    ) -> ArticlePage:
        """Live articles, newest first (drafts by creation time), one page of them."""
        query = select(ArticleRow).where(ArticleRow.deleted_at.is_(None))
        if status is ArticleStatus.DRAFT:
            query = query.where(ArticleRow.published_at.is_(None))
        elif status is ArticleStatus.SCHEDULED:
            query = query.where(ArticleRow.published_at > now)
        elif status is ArticleStatus.PUBLISHED:
            query = query.where(ArticleRow.published_at <= now)
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        ordered = query.order_by(
            func.coalesce(ArticleRow.published_at, ArticleRow.created_at).desc(),
            ArticleRow.pk.desc(),
        )
        rows = self.session.scalars(ordered.limit(per_page).offset((page - 1) * per_page))
        return ArticlePage(
            articles=tuple(article_of(row) for row in rows),
            total=total,
            page=page,
            per_page=per_page,
        )

    def by_ids(self, article_ids: Collection[str]) -> dict[str, Article]:
        """The live articles with these ids, by id (ids not found are left out)."""
        found: dict[str, Article] = {}
        wanted = list(article_ids)
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            rows = self.session.scalars(
                select(ArticleRow).where(
                    ArticleRow.public_id.in_(wanted[start : start + _IDS_PER_QUERY]),
                    ArticleRow.deleted_at.is_(None),
                )
            )
            found.update((row.public_id, article_of(row)) for row in rows)
        return found

    def slug_is_free(self, slug: str) -> bool:
        """Whether no article, live or deleted, holds ``slug``."""
        return self._slug_owner(slug) is None

    def live_in_storage_order(self, after: int, limit: int) -> tuple[tuple[Article, ...], int]:
        """Up to ``limit`` live articles stored after position ``after`` (0: the start), in
        storage order, and the position to pass to get the next ones.

        Storage order is creation order for articles written through the API and file
        order for imported ones. Paging by position reads each article once even while
        others are written (new articles come after every position handed out).
        """
        rows = list(
            self.session.scalars(
                select(ArticleRow)
                .where(ArticleRow.deleted_at.is_(None), ArticleRow.pk > after)
                .order_by(ArticleRow.pk)
                .limit(limit)
            )
        )
        return tuple(article_of(row) for row in rows), rows[-1].pk if rows else after

    def former_slugs(self, article_ids: Collection[str]) -> dict[str, tuple[str, ...]]:
        """The slugs these articles used to have, oldest first, by article id (articles
        that never changed their slug are absent)."""
        rows = self.session.execute(
            select(ArticleRow.public_id, ArticleSlugRow.slug)
            .join(ArticleSlugRow, ArticleSlugRow.article_pk == ArticleRow.pk)
            .where(ArticleRow.public_id.in_(list(article_ids)))
            .order_by(ArticleSlugRow.retired_at, ArticleSlugRow.slug)
        )
        found: dict[str, list[str]] = {}
        for article_id, slug in rows:
            found.setdefault(article_id, []).append(slug)
        return {article_id: tuple(slugs) for article_id, slugs in found.items()}

    def _live_row(self, article_id: str) -> ArticleRow:
        row = self.session.scalars(
            select(ArticleRow).where(ArticleRow.public_id == article_id)
        ).first()
        if row is None:
            raise ArticleNotFound(article_id)
        if row.deleted_at is not None:
            raise ArticleGone(article_id)
        return row

    def _slug_owner(self, slug: str) -> int | None:
        """The article holding ``slug``, as its current or one of its former slugs."""
        current = self.session.scalar(select(ArticleRow.pk).where(ArticleRow.slug == slug))
        if current is not None:
            return current
        return self.session.scalar(
            select(ArticleSlugRow.article_pk).where(ArticleSlugRow.slug == slug)
        )

    def _flush(self, slug: str) -> None:
        try:
            self.session.flush()
        except IntegrityError as error:
            # A concurrent writer took the slug between our check and our insert.
            if "slug" in str(error.orig).lower():
                raise SlugTaken(slug) from None
            raise


# Bound parameters per IN list: far below SQLite's and PostgreSQL's limits.
_IDS_PER_QUERY = 500


_PERIOD = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2})(?:T(\d{2}))?)?$")


def period_bounds(period: str) -> tuple[datetime, datetime] | None:
    """The first instant of a period of the archives of earlier versions (``YYYY-MM``,
    ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH``, UTC) and of the period after it; ``None`` if
    ``period`` is not one."""
    match = _PERIOD.match(period)
    if match is None:
        return None
    year, month, day, hour = (int(part) if part else None for part in match.groups())
    assert year is not None and month is not None
    try:
        start = datetime(year, month, day or 1, hour or 0, tzinfo=UTC)
        if hour is not None:
            return start, start + timedelta(hours=1)
        if day is not None:
            return start, start + timedelta(days=1)
        return start, (start + timedelta(days=32)).replace(day=1)
    except (ValueError, OverflowError):  # no such date, or past the end of time
        return None
