"""Fill the rest of a corpus straight into the database when the service's own loader
(``broadsheet import``, or the API) cannot store it within the benchmark's time budget.

This is a fixture, not a measurement: the ingest rate is what the service's loader
achieved before its budget ran out. The rows are the ones the service stores for the same
article (through the service's table definitions, its slug function and its id minting);
``body_html`` is the corpus body with the few snippets that the sanitiser removes taken
out and site-relative image URLs made absolute, instead of a run through the content
pipeline, which would take minutes. The articles public at the start get their
publication sequence numbers in the insert itself, oldest first in each batch, as
``broadsheet import`` numbers its batches (the corpus is in date order, so they follow the
imported articles in date order), from the service's publication counter, advanced in the
same transaction (and made with the page size ``item_limit`` if no article was numbered
before); any not yet public are left for the service to number when they are. The feeds
the articles belong to, and the archive pages their numbers complete, are marked stale
through the service's own repository, as an import does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any
from typing import cast

from bench.corpus_pools import DIRTY_SNIPPETS
from bench.service import read_lines

BATCH = 2000


@lru_cache(maxsize=4096)
def _slug(name: str) -> str:
    from app.domain import term_slug

    return term_slug(name)


def _clean(body: str, base_url: str) -> str:
    for snippet in DIRTY_SNIPPETS:
        body = body.replace(snippet, "")
    return body.replace('src="/', f'src="{base_url}/').replace("\n\n", "\n").strip()


def _excerpt(summary: str) -> str:
    return summary.strip()


def _rows(
    lines: Iterator[dict[str, Any]], base_url: str, authority: str
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    from app.domain import mint_article_id

    for line in lines:
        published = datetime.fromisoformat(line["published_at"]).astimezone(UTC)
        image = line.get("image") or {}
        url = image.get("url")
        article = {
            "public_id": mint_article_id(authority, published),
            "slug": line["slug"],
            "title": line["title"],
            "summary": line.get("summary", ""),
            "body": line["body"],
            "body_format": line.get("body_format", "html"),
            "body_html": _clean(line["body"], base_url),
            "excerpt": _excerpt(line.get("summary", "")),
            "language": line.get("language") or "pt-BR",
            "image_url": url if url is None or "://" in url else base_url + url,
            "image_type": image.get("type"),
            "image_length": image.get("length"),
            "image_width": image.get("width"),
            "image_height": image.get("height"),
            "image_caption": image.get("caption"),
            "image_credit": image.get("credit"),
            "published_at": published,
            "created_at": published,
            "updated_at": published,
            "deleted_at": None,
            "revision": 1,
        }
        yield article, line


def top_up(
    database_url: str,
    corpus: Path,
    first: int,
    stop: int,
    base_url: str,
    authority: str,
    item_limit: int,
) -> float:
    """Store corpus lines ``first`` to ``stop`` (0-based); the seconds it took.
    ``item_limit`` is the service's ``feed.item_limit``: the archive page size, if the
    counter has none yet."""
    from app.storage.database import Database
    from app.storage.feeds import FeedStateRepository

    started = time.perf_counter()
    database = Database(database_url)
    source = _rows(read_lines(corpus, stop - first, skip=first), base_url, authority)
    now = datetime.now(UTC)
    try:
        while batch := list(islice(source, BATCH)):
            with database.write() as session:
                scopes = _store_articles(session, batch, now, item_limit)
                scopes |= _store_names(session, batch)
                FeedStateRepository(session).mark_dirty(scopes)
    finally:
        database.dispose()
    return time.perf_counter() - started


def _store_articles(
    session: Any, batch: list[tuple[dict[str, Any], dict[str, Any]]], now: datetime, limit: int
) -> set[str]:
    """Insert a batch of articles with their keys, and numbers for those public by ``now``;
    the feed scopes they make stale (the site, and the archive pages they complete)."""
    from sqlalchemy import Table
    from sqlalchemy import func
    from sqlalchemy import insert
    from sqlalchemy import select

    from app.storage.sequence import PublicationOrder
    from app.storage.tables import ArticleRow

    articles_table = cast(Table, ArticleRow.__table__)
    scopes = {"site"}
    # Keys given, not returned: a plain executemany is several times faster.
    base = session.scalar(select(func.max(articles_table.c.pk))) or 0
    for offset, (article, _line) in enumerate(batch, start=1):
        article["pk"] = base + offset
        article["sequence"] = None
    public = sorted(
        (article for article, _line in batch if article["published_at"] <= now),
        key=lambda article: (article["published_at"], article["pk"]),
    )
    if public:
        start, page_size = PublicationOrder(session).reserve(len(public), limit)
        for index, article in enumerate(public):
            article["sequence"] = start + index
        # The archive pages these numbers complete.
        pages = range(start // page_size, (start + len(public)) // page_size)
        scopes.update(f"archive/{page}" for page in pages)
    session.execute(insert(articles_table), [article for article, _line in batch])
    return scopes


def _store_names(session: Any, batch: list[tuple[dict[str, Any], dict[str, Any]]]) -> set[str]:
    """Insert the authors, categories and tags of a stored batch; their feed scopes."""
    from sqlalchemy import Table
    from sqlalchemy import insert

    from app.storage.tables import ArticleAuthorRow
    from app.storage.tables import ArticleTermRow

    scopes: set[str] = set()
    authors: list[dict[str, Any]] = []
    terms: list[dict[str, Any]] = []
    for article, line in batch:
        numbered = {"article_pk": article["pk"], "sequence": article["sequence"]}
        for index, author in enumerate(line["authors"]):
            slug = _slug(author["name"])
            scopes.add(f"author/{slug}")
            authors.append(
                numbered
                | {"position": index, "name": author["name"], "slug": slug}
                | {"email": author.get("email"), "url": author.get("url")}
            )
        for kind, key in (("category", "categories"), ("tag", "tags")):
            for index, name in enumerate(line.get(key, ())):
                slug = _slug(name)
                scopes.add(f"{kind}/{slug}")
                terms.append(
                    numbered | {"kind": kind, "position": index, "name": name, "slug": slug}
                )
    session.execute(insert(cast(Table, ArticleAuthorRow.__table__)), authors)
    session.execute(insert(cast(Table, ArticleTermRow.__table__)), terms)
    return scopes
