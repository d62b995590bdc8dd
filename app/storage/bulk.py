"""Bulk writes for imports: many articles per statement, without the ORM unit of work.

The ORM path (:class:`~app.storage.articles.ArticleRepository`) flushes one article and
its child rows at a time; an import of 100,000 articles needs SQLAlchemy Core
``executemany`` instead (``INSERT ... RETURNING pk`` for the articles, plain inserts for
their authors, terms and former slugs). The rows written here are the rows the ORM path
writes for the same :class:`~app.domain.Article` (both take them from
:mod:`app.storage.article_rows`); the transfer round-trip tests hold the two paths to that.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import TypeVar

from sqlalchemy import Table
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain import Article
from app.errors import BroadsheetError
from app.storage.article_rows import article_columns
from app.storage.article_rows import author_values
from app.storage.article_rows import term_values
from app.storage.tables import ArticleAuthorRow
from app.storage.tables import ArticleRow
from app.storage.tables import ArticleSlugRow
from app.storage.tables import ArticleTermRow
from app.storage.tables import Base

_T = TypeVar("_T")
# Well under every backend's limit on bound parameters in one statement (SQLite: 32766).
_IN_CHUNK = 500


class ConcurrentWrite(BroadsheetError):
    """Another writer stored an id or slug of this batch after it was checked; the batch
    was not stored (its transaction is rolled back) and may be retried."""


@dataclass(frozen=True)
class NewArticle:
    """An article to insert, with the slugs it used to have (oldest first)."""

    article: Article
    former_slugs: tuple[str, ...] = ()


class BulkArticleWriter:
    """Checks and inserts many articles inside one session's write transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def existing_ids(self, article_ids: Iterable[str]) -> set[str]:
        """Which of these ids an article (live or deleted) already has."""
        found: set[str] = set()
        for chunk in _chunks(sorted(set(article_ids))):
            query = select(ArticleRow.public_id).where(ArticleRow.public_id.in_(chunk))
            found.update(self.session.scalars(query))
        return found

    def taken_slugs(self, slugs: Iterable[str]) -> set[str]:
        """Which of these slugs an article holds, as its current or a former slug."""
        found: set[str] = set()
        for chunk in _chunks(sorted(set(slugs))):
            query = union(
                select(ArticleRow.slug).where(ArticleRow.slug.in_(chunk)),
                select(ArticleSlugRow.slug).where(ArticleSlugRow.slug.in_(chunk)),
            )
            found.update(self.session.scalars(query))
        return found

    def taken_slugs_starting(self, prefix: str) -> set[str]:
        """Every slug, current or former, that starts with ``prefix`` (matched literally)."""
        query = union(
            select(ArticleRow.slug).where(ArticleRow.slug.startswith(prefix, autoescape=True)),
            select(ArticleSlugRow.slug).where(
                ArticleSlugRow.slug.startswith(prefix, autoescape=True)
            ),
        )
        return set(self.session.scalars(query))

    def insert(self, items: Sequence[NewArticle], retired_at: datetime) -> list[int]:
        """Insert ``items`` in order (so storage order follows it), with their authors,
        categories, tags and former slugs; return their primary keys, in that order.

        ``retired_at`` stamps the former slugs; the n-th former slug of an article gets
        ``retired_at`` plus n microseconds, so their order survives a later export.
        The caller has checked ids and slugs (:meth:`existing_ids`, :meth:`taken_slugs`).

        Raises:
            ConcurrentWrite: an id or slug was taken meanwhile; nothing of the batch stays
                (the exception ends the transaction).
        """
        if not items:
            return []
        try:
            pks = self._insert_articles(items)
            self._insert_children(pks, items, retired_at)
        except IntegrityError as error:
            raise ConcurrentWrite(str(error.orig)) from error
        return pks

    def _insert_articles(self, items: Sequence[NewArticle]) -> list[int]:
        """One ``articles`` row per item; their primary keys, in the order of ``items``."""
        # Core, not ORM, statements: the ORM's bulk mode costs more than the inserts.
        # Rows come back matched by id, not by position: asking SQLAlchemy to keep the
        # order (sort_by_parameter_order) makes it insert one row per statement on SQLite.
        articles = _table(ArticleRow)
        result = self.session.execute(
            insert(articles).returning(articles.c.public_id, articles.c.pk),
            [
                {"public_id": item.article.id, **article_columns(item.article), "deleted_at": None}
                for item in items
            ],
        )
        pk_of: dict[str, int] = {public_id: pk for public_id, pk in result}
        return [pk_of[item.article.id] for item in items]

    def _insert_children(
        self, pks: list[int], items: Sequence[NewArticle], retired_at: datetime
    ) -> None:
        """The author, term and former slug rows of the articles stored as ``pks``."""
        authors: list[dict[str, Any]] = []
        terms: list[dict[str, Any]] = []
        slugs: list[dict[str, Any]] = []
        for pk, item in zip(pks, items, strict=True):
            authors.extend({"article_pk": pk, **values} for values in author_values(item.article))
            terms.extend({"article_pk": pk, **values} for values in term_values(item.article))
            slugs.extend(
                {
                    "slug": slug,
                    "article_pk": pk,
                    "retired_at": retired_at + timedelta(microseconds=index),
                }
                for index, slug in enumerate(item.former_slugs)
            )
        for table, rows in (
            (ArticleAuthorRow, authors),
            (ArticleTermRow, terms),
            (ArticleSlugRow, slugs),
        ):
            if rows:
                self.session.execute(insert(_table(table)), rows)


def _table(row_class: type[Base]) -> Table:
    table = row_class.__table__
    assert isinstance(table, Table)
    return table


def _chunks(values: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]
