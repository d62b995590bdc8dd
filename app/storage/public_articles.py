"""The reads feeds and archives make of stored articles: the public articles of a scope
(or of a collection), by publication date or by publication number, and when the next one
goes public.

:class:`PublicArticleReads` is a part of :class:`~app.storage.articles.ArticleRepository`,
which holds the reads and writes of single articles; a mixin, so that every caller keeps
the one repository.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.collection_rules import Collection
from app.collection_rules import Terms
from app.domain import ARCHIVE
from app.domain import Article
from app.domain import ArticleVersion
from app.domain import FeedScope
from app.storage.article_rows import AUTHOR
from app.storage.article_rows import CATEGORY
from app.storage.article_rows import TAG
from app.storage.article_rows import article_of
from app.storage.tables import ArticleAuthorRow
from app.storage.tables import ArticleRow
from app.storage.tables import ArticleTermRow

_Row = TypeVarTuple("_Row")


class PublicArticleReads:
    """The feeds' reads of articles, inside one session's transaction."""

    session: Session

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
        return tuple(article_of(row) for row in self.session.scalars(query))

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

    def collection_versions(self, collection: Collection, limit: int) -> tuple[ArticleVersion, ...]:
        """The public articles of a collection, as versions: those its editor listed, in
        the list's order, or the ``limit`` published last that its rules hold, newest
        first. With included terms, from the newest numbers of each included term
        (:meth:`_included_versions`); with exclusions only, walked by number as
        :meth:`public_versions` walks the site's, each checked in the term indexes."""
        query = _numbered_versions().where(
            ArticleRow.sequence.is_not(None), *_collection_member(collection)
        )
        if collection.articles is not None:
            found = {row[0]: _version(*row) for row in self.session.execute(query)}
            listed = (found.get(article_id) for article_id in collection.articles)
            return tuple(version for version in listed if version is not None)[:limit]
        if collection.include:
            included = self._included_versions(collection, limit)
            if included is not None:
                return included
        rows = self.session.execute(query.order_by(ArticleRow.sequence.desc()).limit(limit))
        return tuple(_version(*row) for row in rows)

    def _included_versions(
        self, collection: Collection, limit: int
    ) -> tuple[ArticleVersion, ...] | None:
        """The ``limit`` newest public articles of a collection with included terms, read
        from each included term's newest numbers (its index walked for ``fetch`` rows, as
        a section's feed is) rather than by walking every article: a rare tag on a site of
        a million articles would be a walk of the whole archive.

        Exact: every article numbered from the ``horizon`` up (the highest last number of
        a term that had ``fetch`` rows or more) is among the candidates, so the newest
        ``limit`` of them that no exclusion removes are the answer once there are
        ``limit`` of them; else ``fetch`` grows. None when the candidates would grow past
        :data:`MAX_CANDIDATES` (the caller walks instead)."""
        exclusions = [~held for held in _holding(collection.exclude, numbered=True)]
        fetch = max(limit * 2, 50)
        while fetch <= MAX_CANDIDATES:
            candidates: set[int] = set()
            horizon = -1
            for term_query in _term_sequences(collection.include):
                found_numbers = self.session.scalars(term_query.limit(fetch))
                numbers = [number for number in found_numbers if number is not None]
                candidates.update(numbers)
                if len(numbers) == fetch:
                    horizon = max(horizon, numbers[-1])
            if not candidates:
                return ()
            newest = _numbered_versions().where(
                ArticleRow.sequence.in_(sorted(candidates)),
                ArticleRow.sequence >= horizon,
                *exclusions,
            )
            rows = self.session.execute(newest.order_by(ArticleRow.sequence.desc()).limit(limit))
            found = tuple(_version(*row) for row in rows)
            if len(found) == limit or horizon < 0:
                return found
            fetch *= 4
        return None

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

    def next_publication(
        self, scope: FeedScope, now: datetime, collection: Collection | None = None
    ) -> datetime | None:
        """When the next scheduled article in ``scope`` (the scope of ``collection``, if
        given) goes public, if any."""
        # From the few articles still to come, each checked for the scope, not from the
        # scope's articles, each checked for a date: a tag of 20,000 articles took 40-80
        # ms on SQLite that way, once per feed rendered.
        query = select(func.min(ArticleRow.published_at)).where(
            ArticleRow.deleted_at.is_(None), ArticleRow.published_at > now
        )
        member = _member_of(scope)
        if member is not None:
            query = query.where(member)
        if collection is not None:
            query = query.where(*_collection_member(collection, numbered=False))
        # min() keeps the column's type, so the value comes back as an aware UTC datetime.
        return self.session.scalar(query)


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


def _collection_member(collection: Collection, numbered: bool = True) -> list[ColumnElement[bool]]:
    """Conditions true of an article row in ``collection``: listed, or holding an included
    term (if any is) and no excluded one (correlated EXISTS, looked up per article in the
    term indexes). ``numbered``: only public articles are asked about, whose term rows
    carry their number, which the scope indexes find at once (by the article alone, an
    index search reads every row of the term)."""
    if collection.articles is not None:
        return [ArticleRow.public_id.in_(collection.articles)]
    conditions = [~held for held in _holding(collection.exclude, numbered)]
    if collection.include:
        conditions.append(or_(*_holding(collection.include, numbered)))
    return conditions


#: The most article numbers a collection's included terms are read for before its render
#: walks the articles by number instead (a collection whose exclusions remove most of what
#: it includes).
MAX_CANDIDATES = 20_000


def _term_sequences(terms: Terms) -> list[Select[int | None]]:
    """One query per included term: its public articles' numbers, newest first, each
    walking its own index (``ix_article_terms_scope``, ``ix_article_authors_scope``)."""
    queries = []
    for kind, slugs in ((CATEGORY, terms.categories), (TAG, terms.tags)):
        for slug in sorted(slugs):
            queries.append(
                select(ArticleTermRow.sequence)
                .where(
                    ArticleTermRow.kind == kind,
                    ArticleTermRow.slug == slug,
                    ArticleTermRow.sequence.is_not(None),
                )
                .order_by(ArticleTermRow.sequence.desc())
            )
    for slug in sorted(terms.authors):
        queries.append(
            select(ArticleAuthorRow.sequence)
            .where(ArticleAuthorRow.slug == slug, ArticleAuthorRow.sequence.is_not(None))
            .order_by(ArticleAuthorRow.sequence.desc())
        )
    return queries


def _holding(terms: Terms, numbered: bool) -> list[ColumnElement[bool]]:
    """A condition per kind of term in ``terms``: the article row holds one of them."""
    held: list[ColumnElement[bool]] = []
    for kind, slugs in ((CATEGORY, terms.categories), (TAG, terms.tags)):
        if slugs:
            rows = select(ArticleTermRow.article_pk).where(
                ArticleTermRow.sequence == ArticleRow.sequence
                if numbered
                else ArticleTermRow.article_pk == ArticleRow.pk,
                ArticleTermRow.kind == kind,
                ArticleTermRow.slug.in_(sorted(slugs)),
            )
            held.append(rows.exists())
    if terms.authors:
        authors = select(ArticleAuthorRow.article_pk).where(
            ArticleAuthorRow.sequence == ArticleRow.sequence
            if numbered
            else ArticleAuthorRow.article_pk == ArticleRow.pk,
            ArticleAuthorRow.slug.in_(sorted(terms.authors)),
        )
        held.append(authors.exists())
    return held


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
