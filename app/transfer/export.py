"""The export: every live article as one line of the format (:mod:`app.transfer.records`),
streamed page by page."""

from __future__ import annotations

from collections.abc import Iterator

from app.articles import Articles
from app.storage.articles import ArticleRepository
from app.storage.legacy_paths import LegacyPathRepository
from app.transfer.records import article_line

DEFAULT_PAGE_SIZE = 500


def export_lines(articles: Articles, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[str]:
    """Every live article as one JSON line (without its newline), in creation order (the
    order they were stored; imported ones in file order).

    Streams: reads ``page_size`` articles at a time, each page in a read transaction of
    its own, paging by storage position, so memory stays flat however many articles there
    are, and an article written during the export is either exported once or not at all.
    """
    after = 0
    while True:
        with articles.db.read() as session:
            repo = ArticleRepository(session)
            page, after = repo.live_in_storage_order(after, page_size)
            if not page:
                return
            ids = [article.id for article in page]
            former = repo.former_slugs(ids)
            old_paths = LegacyPathRepository(session).paths_by_article(ids)
        for article in page:
            yield article_line(article, former.get(article.id, ()), old_paths.get(article.id, ()))
