"""The old paths of imported articles (``legacy_paths``): kept by imports, read by the web
to answer 301 (see :mod:`app.old_urls`)."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain import Article
from app.errors import ArticleGone
from app.storage.article_rows import article_of
from app.storage.bulk import ConcurrentWrite
from app.storage.tables import ArticleRow
from app.storage.tables import LegacyPathRow

# Bound parameters per IN list: far below SQLite's and PostgreSQL's limits.
_PATHS_PER_QUERY = 500


class LegacyPathRepository:
    """Reads and writes of ``legacy_paths`` inside one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, paths: Iterable[tuple[int, str]], now: datetime) -> int:
        """Keep each ``(article pk, path)`` whose path no article holds yet; return how
        many were kept. A path already held keeps its article: the first import that
        brought it wins, and importing again changes nothing.

        Raises:
            ConcurrentWrite: another writer kept one of the paths meanwhile.
        """
        wanted: dict[str, int] = {}
        for article_pk, path in paths:
            wanted.setdefault(path, article_pk)
        ordered = sorted(wanted)
        held: set[str] = set()
        for start in range(0, len(ordered), _PATHS_PER_QUERY):
            chunk = ordered[start : start + _PATHS_PER_QUERY]
            held.update(
                self.session.scalars(
                    select(LegacyPathRow.path).where(LegacyPathRow.path.in_(chunk))
                )
            )
        rows = [
            {"path": path, "article_pk": pk, "created_at": now}
            for path, pk in wanted.items()
            if path not in held
        ]
        if rows:
            try:
                self.session.execute(insert(LegacyPathRow), rows)
            except IntegrityError as error:
                raise ConcurrentWrite(str(error.orig)) from error
        return len(rows)

    def article_at(self, keys: Sequence[str]) -> Article | None:
        """The article of the first of ``keys`` that is stored, live or not; ``None`` if
        none is.

        Raises:
            ArticleGone: that article was deleted.
        """
        for key in keys:
            row = self.session.scalar(
                select(ArticleRow).join(LegacyPathRow).where(LegacyPathRow.path == key)
            )
            if row is None:
                continue
            if row.deleted_at is not None:
                raise ArticleGone(key)
            return article_of(row)
        return None

    def paths_by_article(self, article_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """The old paths of these articles (by public id), each article's in path order;
        an article without any is left out."""
        found: dict[str, list[str]] = {}
        for start in range(0, len(article_ids), _PATHS_PER_QUERY):
            chunk = article_ids[start : start + _PATHS_PER_QUERY]
            query = (
                select(ArticleRow.public_id, LegacyPathRow.path)
                .join(LegacyPathRow)
                .where(ArticleRow.public_id.in_(chunk))
                .order_by(LegacyPathRow.path)
            )
            for public_id, path in self.session.execute(query):
                found.setdefault(public_id, []).append(path)
        return {public_id: tuple(paths) for public_id, paths in found.items()}
