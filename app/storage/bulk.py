"""Bulk writes for imports: many articles per statement, without the ORM unit of work.

The ORM path (:class:`~app.storage.articles.ArticleRepository`) flushes one article and
its child rows at a time; an import of 100,000 articles needs SQLAlchemy Core
``executemany`` instead (``INSERT ... RETURNING pk`` for the articles, plain inserts for
their authors, terms and former slugs). The rows written here are the rows the ORM path
writes for the same :class:`~app.domain.Article`; the transfer round-trip tests hold the
two paths to that.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from functools import lru_cache
from typing import Any
from typing import TypeVar

from sqlalchemy import Table
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain import Article
from app.domain import term_slug
from app.errors import BroadsheetError
from app.storage.articles import CATEGORY
from app.storage.articles import TAG
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

    def insert(self, items: Sequence[NewArticle], retired_at: datetime) -> None:
        """Insert ``items`` in order (so storage order follows it), with their authors,
        categories, tags and former slugs.

        ``retired_at`` stamps the former slugs; the n-th former slug of an article gets
        ``retired_at`` plus n microseconds, so their order survives a later export.
        The caller has checked ids and slugs (:meth:`existing_ids`, :meth:`taken_slugs`).

        Raises:
            ConcurrentWrite: an id or slug was taken meanwhile; nothing of the batch stays
                (the exception ends the transaction).
        """
        if not items:
            return
        try:
            # Core, not ORM, statements: the ORM's bulk mode costs more than the inserts.
            # Rows come back matched by id, not by position: asking SQLAlchemy to keep the
            # order (sort_by_parameter_order) makes it insert one row per statement on SQLite.
            articles = _table(ArticleRow)
            result = self.session.execute(
                insert(articles).returning(articles.c.public_id, articles.c.pk),
                [_article_values(item.article) for item in items],
            )
            pk_of: dict[str, int] = {public_id: pk for public_id, pk in result}
            pks = [pk_of[item.article.id] for item in items]
            authors: list[dict[str, Any]] = []
            terms: list[dict[str, Any]] = []
            slugs: list[dict[str, Any]] = []
            for pk, item in zip(pks, items, strict=True):
                article = item.article
                authors.extend(
                    {
                        "article_pk": pk,
                        "position": index,
                        "name": author.name,
                        "email": author.email,
                        "url": author.url,
                        "slug": _term_slug(author.name),
                    }
                    for index, author in enumerate(article.authors)
                )
                for kind, names in ((CATEGORY, article.categories), (TAG, article.tags)):
                    terms.extend(
                        {
                            "article_pk": pk,
                            "kind": kind,
                            "position": index,
                            "name": name,
                            "slug": _term_slug(name),
                        }
                        for index, name in enumerate(names)
                    )
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
        except IntegrityError as error:
            raise ConcurrentWrite(str(error.orig)) from error


def _article_values(article: Article) -> dict[str, Any]:
    image = article.image
    return {
        "public_id": article.id,
        "slug": article.slug,
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
        "body_format": article.body_format.value,
        "body_html": article.body_html,
        "excerpt": article.excerpt,
        "language": article.language,
        "image_url": image.url if image else None,
        "image_type": image.type if image else None,
        "image_length": image.length if image else None,
        "image_width": image.width if image else None,
        "image_height": image.height if image else None,
        "image_caption": image.caption if image else None,
        "image_credit": image.credit if image else None,
        "published_at": article.published_at,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
        "deleted_at": None,
        "revision": article.revision,
    }


def _table(row_class: type[Base]) -> Table:
    table = row_class.__table__
    assert isinstance(table, Table)
    return table


@lru_cache(maxsize=8192)
def _term_slug(name: str) -> str:
    # Names repeat across an import (a few hundred categories, tags and authors), and one
    # term_slug call costs ~0.3 ms (python-slugify tries to import unidecode every time).
    return term_slug(name)


def _chunks(values: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]
