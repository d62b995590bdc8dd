"""An article's rows: the columns of ``articles`` and the rows of its authors and terms,
written from an :class:`~app.domain.Article` and read back into one.

Both ways of writing an article use these: the ORM (:class:`~app.storage.articles.
ArticleRepository`, one article at a time) and SQLAlchemy Core (:class:`~app.storage.bulk.
BulkArticleWriter`, many per statement); so the two store the same rows for the same
article.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from app.domain import Article
from app.domain import Author
from app.domain import BodyFormat
from app.domain import Image
from app.domain import term_slug
from app.storage.tables import ArticleAuthorRow
from app.storage.tables import ArticleRow
from app.storage.tables import ArticleTermRow

#: The kinds of scope an article is in besides the site (``article_terms.kind`` holds the
#: first two; authors have a table of their own).
CATEGORY = "category"
TAG = "tag"
AUTHOR = "author"


def article_columns(article: Article) -> dict[str, Any]:
    """The columns of ``articles`` that hold ``article``'s fields, by name (not its
    ``public_id``, ``deleted_at`` or ``sequence``, which are written apart)."""
    image = article.image
    return {
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
        "revision": article.revision,
        "full_text_in_feeds": article.full_text_in_feeds,
    }


def author_values(article: Article) -> Iterator[dict[str, Any]]:
    """The columns of each of ``article``'s ``article_authors`` rows, in byline order
    (without ``article_pk`` and ``sequence``)."""
    for index, author in enumerate(article.authors):
        yield {
            "position": index,
            "name": author.name,
            "email": author.email,
            "url": author.url,
            "slug": cached_term_slug(author.name),
        }


def term_values(article: Article) -> Iterator[dict[str, Any]]:
    """The columns of each of ``article``'s ``article_terms`` rows: its categories, then
    its tags, each in the order given (without ``article_pk`` and ``sequence``)."""
    for kind, names in ((CATEGORY, article.categories), (TAG, article.tags)):
        for index, name in enumerate(names):
            yield {"kind": kind, "position": index, "name": name, "slug": cached_term_slug(name)}


@lru_cache(maxsize=8192)
def cached_term_slug(name: str) -> str:
    """:func:`~app.domain.term_slug`, remembered: names repeat across articles (a few
    hundred categories, tags and authors), and one call costs ~0.3 ms (python-slugify
    tries to import unidecode every time)."""
    return term_slug(name)


def fill_row(row: ArticleRow, article: Article) -> None:
    """Write ``article``'s fields into ``row`` and replace its author and term rows."""
    for name, value in article_columns(article).items():
        setattr(row, name, value)
    # New scope rows take the number the article holds (PublicationOrder keeps it after).
    sequence = row.sequence
    row.authors = [
        ArticleAuthorRow(**values, sequence=sequence) for values in author_values(article)
    ]
    row.terms = [ArticleTermRow(**values, sequence=sequence) for values in term_values(article)]


def article_of(row: ArticleRow) -> Article:
    """The article ``row`` and its author and term rows hold."""
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
        full_text_in_feeds=row.full_text_in_feeds,
    )
