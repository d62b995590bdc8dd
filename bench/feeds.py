"""The service's feeds as the benchmarks name them: the formats, a scope's URL path, the
scopes an article belongs to, and the archive page it is numbered on. Each follows the
service's own rules (``app.domain``), read from its database where they depend on it."""

from __future__ import annotations

from typing import Any

FORMATS = ("rss", "atom", "json")


def feed_path(scope_key: str, fmt: str) -> str:
    """The URL path of a feed (the service's own rule)."""
    from app.domain import FeedFormat
    from app.domain import FeedScope
    from app.domain import feed_path as service_feed_path

    return service_feed_path(FeedScope.from_key(scope_key), FeedFormat(fmt))


def expected_scopes(article: dict[str, Any], page: int | None = None) -> set[str]:
    """The feeds an article belongs to: the site feed, its categories, tags and authors
    (scope keys as the service names them), and archive page ``page`` if given. A new
    article is on no complete page: it is numbered on the page being filled, which has
    a document only once its number (or a later one) completes it."""
    from app.domain import term_slug

    keys = {"site"}
    if page is not None:
        keys.add(f"archive/{page}")
    keys.update(f"category/{term_slug(name)}" for name in article["categories"])
    keys.update(f"tag/{term_slug(name)}" for name in article["tags"])
    keys.update(f"author/{term_slug(author['name'])}" for author in article["authors"])
    return keys


def archive_page(engine: Any, article_id: str) -> tuple[int, bool] | None:
    """The archive page an article is numbered on (its publication sequence number over
    the page size), and whether that page is complete (the publication counter has
    passed its end), read through a SQLAlchemy ``engine``; ``None`` if the article has no
    number (it is not public)."""
    from sqlalchemy import text

    query = text(
        "SELECT a.sequence, c.next_sequence, c.page_size FROM articles a "
        "JOIN publication_counter c ON c.id = 1 WHERE a.public_id = :id"
    )
    with engine.connect() as connection:
        row = connection.execute(query, {"id": article_id}).first()
    if row is None or row[0] is None:
        return None
    sequence, next_sequence, page_size = (int(value) for value in row)
    page = sequence // page_size
    return page, page < next_sequence // page_size
