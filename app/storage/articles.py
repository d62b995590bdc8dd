"""Articles: stored and loaded as :class:`~app.domain.Article` values."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import TypeVarTuple

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain import ARCHIVE
from app.domain import Article
from app.domain import ArticlePage
from app.domain import ArticleStatus
from app.domain import ArticleVersion
from app.domain import Author
from app.domain import BodyFormat
from app.domain import FeedScope
from app.domain import Image
from app.domain import term_slug
from app.errors import ArticleGone
from app.errors import ArticleMoved
from app.errors import ArticleNotFound
from app.errors import SlugTaken
from app.storage.tables import ArticleAuthorRow
from app.storage.tables import ArticleRow
from app.storage.tables import ArticleSlugRow
from app.storage.tables import ArticleTermRow

_Row = TypeVarTuple("_Row")

CATEGORY = "category"
TAG = "tag"
AUTHOR = "author"


class ArticleRepository:
    """Reads and writes articles inside one session's transaction."""

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
        _fill_row(row, article)
        self.session.add(row)
        self._flush(article.slug)
        return _to_domain(row)

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
        _fill_row(row, article)
        self._flush(article.slug)
        return _to_domain(row)

    def delete(self, article_id: str, now: datetime) -> Article:
        """Mark an article deleted; its page then answers 410 and it leaves every feed.

        Raises:
            ArticleNotFound, ArticleGone: no live article has that id.
        """
        row = self._live_row(article_id)
        row.deleted_at = now
        row.revision += 1
        self.session.flush()
        return _to_domain(row)

    def get(self, article_id: str) -> Article:
        """The live article with that id.

        Raises:
            ArticleNotFound: no such id.  ArticleGone: it was deleted.
        """
        return _to_domain(self._live_row(article_id))

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
        return _to_domain(row)

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
            articles=tuple(_to_domain(row) for row in rows),
            total=total,
            page=page,
            per_page=per_page,
        )

    def latest_public(
        self, scope: FeedScope, now: datetime, limit: int | None
    ) -> tuple[Article, ...]:
        """The ``limit`` (or all) newest articles public at ``now`` in ``scope``, newest first."""
        query = (
            _in_scope(select(ArticleRow), scope)
            .where(ArticleRow.deleted_at.is_(None), ArticleRow.published_at <= now)
            .order_by(ArticleRow.published_at.desc(), ArticleRow.pk.desc())
            .limit(limit)
        )
        return tuple(_to_domain(row) for row in self.session.scalars(query))

    def public_versions(self, scope: FeedScope, limit: int | None) -> tuple[ArticleVersion, ...]:
        """The ``limit`` (or all) articles of ``scope`` that were published last (by
        publication sequence, a backdated article among them), newest first, as versions
        only (without the articles' text).

        Only live, public articles hold a number (:class:`PublicationOrder` gives it when
        one goes public and takes it back when it is unpublished or deleted), so these
        queries ask for numbers alone, and the one index that can answer them is walked
        in order whatever the planner knows of the tables. (Asked also for ``deleted_at
        IS NULL AND published_at <= now``, SQLite without statistics read every public
        article through ``ix_articles_published`` and sorted them: 290 ms at 100,000
        articles, against 0.2 ms.)"""
        query = _numbered_versions()
        if scope.kind in (CATEGORY, TAG):
            # The scope's rows carry the number: the walk of their index stops after
            # ``limit`` rows, however many articles the scope holds.
            query = query.join(ArticleTermRow, ArticleTermRow.article_pk == ArticleRow.pk)
            query = query.where(
                ArticleTermRow.kind == scope.kind,
                ArticleTermRow.slug == scope.value,
                ArticleTermRow.sequence.is_not(None),
            ).order_by(ArticleTermRow.sequence.desc())
        elif scope.kind == AUTHOR:
            query = query.join(ArticleAuthorRow, ArticleAuthorRow.article_pk == ArticleRow.pk)
            query = query.where(
                ArticleAuthorRow.slug == scope.value, ArticleAuthorRow.sequence.is_not(None)
            ).order_by(ArticleAuthorRow.sequence.desc())
        elif scope.kind == ARCHIVE:
            raise ValueError("an archive page is read by its sequence numbers (page_versions)")
        else:
            query = query.where(ArticleRow.sequence.is_not(None))
            query = query.order_by(ArticleRow.sequence.desc())
        return tuple(_version(*row) for row in self.session.execute(query.limit(limit)))

    def page_versions(self, first: int, end: int) -> tuple[ArticleVersion, ...]:
        """The public articles numbered from ``first`` to before ``end`` (one archive
        page), newest first, as versions."""
        query = _numbered_versions().where(ArticleRow.sequence >= first, ArticleRow.sequence < end)
        rows = self.session.execute(query.order_by(ArticleRow.sequence.desc()))
        return tuple(_version(*row) for row in rows)

    def public_count_from(self, first: int) -> int:
        """How many public articles are numbered ``first`` or later."""
        count = self.session.scalar(select(func.count()).where(ArticleRow.sequence >= first))
        return int(count or 0)

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
            found.update((row.public_id, _to_domain(row)) for row in rows)
        return found

    def newest_sequence_between(self, start: datetime, end: datetime, now: datetime) -> int | None:
        """The sequence number of the newest article published from ``start`` to before
        ``end`` and public at ``now`` (where an archive of that period went)."""
        return self.session.scalar(
            select(ArticleRow.sequence)
            .where(
                ArticleRow.deleted_at.is_(None),
                ArticleRow.sequence.is_not(None),
                ArticleRow.published_at >= start,
                ArticleRow.published_at < end,
                ArticleRow.published_at <= now,
            )
            .order_by(ArticleRow.published_at.desc(), ArticleRow.pk.desc())
            .limit(1)
        )

    def next_publication(self, scope: FeedScope, now: datetime) -> datetime | None:
        """When the next scheduled article in ``scope`` goes public, if any."""
        # From the few articles still to come, each checked for the scope, not from the
        # scope's articles, each checked for a date: a tag of 20,000 articles took 40-80
        # ms on SQLite that way, once per feed rendered.
        query = select(func.min(ArticleRow.published_at)).where(
            ArticleRow.deleted_at.is_(None), ArticleRow.published_at > now
        )
        member = _member_of(scope)
        if member is not None:
            query = query.where(member)
        # min() keeps the column's type, so the value comes back as an aware UTC datetime.
        return self.session.scalar(query)

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
        return tuple(_to_domain(row) for row in rows), rows[-1].pk if rows else after

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


def _in_scope(query: Select[*_Row], scope: FeedScope) -> Select[*_Row]:
    if scope.kind in (CATEGORY, TAG):
        terms = select(ArticleTermRow.article_pk).where(
            ArticleTermRow.kind == scope.kind, ArticleTermRow.slug == scope.value
        )
        return query.where(ArticleRow.pk.in_(terms))
    if scope.kind == AUTHOR:
        authors = select(ArticleAuthorRow.article_pk).where(ArticleAuthorRow.slug == scope.value)
        return query.where(ArticleRow.pk.in_(authors))
    if scope.kind == ARCHIVE:
        raise ValueError("an archive page is read by its sequence numbers (page_versions)")
    return query


def _member_of(scope: FeedScope) -> ColumnElement[bool] | None:
    """A condition true of an article row in ``scope`` (a correlated EXISTS, looked up
    per article); None for the site, which holds every article."""
    if scope.kind in (CATEGORY, TAG):
        return (
            select(ArticleTermRow.article_pk)
            .where(
                ArticleTermRow.article_pk == ArticleRow.pk,
                ArticleTermRow.kind == scope.kind,
                ArticleTermRow.slug == scope.value,
            )
            .exists()
        )
    if scope.kind == AUTHOR:
        return (
            select(ArticleAuthorRow.article_pk)
            .where(
                ArticleAuthorRow.article_pk == ArticleRow.pk,
                ArticleAuthorRow.slug == scope.value,
            )
            .exists()
        )
    if scope.kind == ARCHIVE:
        raise ValueError("an archive page has no scheduled articles of its own")
    return None


def _numbered_versions() -> Select[str, int, datetime, datetime | None, str]:
    return select(
        ArticleRow.public_id,
        ArticleRow.revision,
        ArticleRow.updated_at,
        ArticleRow.published_at,
        ArticleRow.language,
    )


def _version(
    article_id: str,
    revision: int,
    updated_at: datetime,
    published_at: datetime | None,
    language: str,
) -> ArticleVersion:
    # Only public articles hold a publication number, and a public article has its date.
    assert published_at is not None
    return ArticleVersion(article_id, revision, updated_at, published_at, language)


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


def _fill_row(row: ArticleRow, article: Article) -> None:
    row.slug = article.slug
    row.title = article.title
    row.summary = article.summary
    row.body = article.body
    row.body_format = article.body_format.value
    row.body_html = article.body_html
    row.excerpt = article.excerpt
    row.language = article.language
    image = article.image
    row.image_url = image.url if image else None
    row.image_type = image.type if image else None
    row.image_length = image.length if image else None
    row.image_width = image.width if image else None
    row.image_height = image.height if image else None
    row.image_caption = image.caption if image else None
    row.image_credit = image.credit if image else None
    row.published_at = article.published_at
    row.created_at = article.created_at
    row.updated_at = article.updated_at
    row.revision = article.revision
    # New scope rows take the number the article holds (PublicationOrder keeps it after).
    sequence = row.sequence
    row.authors = [
        ArticleAuthorRow(
            position=index,
            name=a.name,
            email=a.email,
            url=a.url,
            slug=term_slug(a.name),
            sequence=sequence,
        )
        for index, a in enumerate(article.authors)
    ]
    row.terms = [
        ArticleTermRow(
            kind=kind, position=index, name=name, slug=term_slug(name), sequence=sequence
        )
        for kind, names in ((CATEGORY, article.categories), (TAG, article.tags))
        for index, name in enumerate(names)
    ]


def _to_domain(row: ArticleRow) -> Article:
    image = None
    if row.image_url is not None:
        image = Image(
            url=row.image_url,
            type=row.image_type,
            length=row.image_length,
            width=row.image_width,
            height=row.image_height,
            caption=row.image_caption,
            credit=row.image_credit,
        )
    return Article(
        id=row.public_id,
        slug=row.slug,
        title=row.title,
        summary=row.summary,
        body=row.body,
        body_format=BodyFormat(row.body_format),
        body_html=row.body_html,
        excerpt=row.excerpt,
        authors=tuple(Author(a.name, a.email, a.url) for a in row.authors),
        categories=tuple(t.name for t in row.terms if t.kind == CATEGORY),
        tags=tuple(t.name for t in row.terms if t.kind == TAG),
        language=row.language,
        image=image,
        published_at=row.published_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        revision=row.revision,
        sequence=row.sequence,
    )
