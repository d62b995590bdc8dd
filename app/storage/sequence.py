"""Publication order: each article's sequence number, given when it becomes public.

Archive page k holds the articles numbered [k*P, (k+1)*P), P the page size fixed with the
first number. Numbers only grow, so a page is complete once the counter passes its end, and
an article published later, whatever its date, is numbered after every page there is: it
reaches the subscription feeds, and no complete page changes.

An article holds a number exactly while it is live and public; its author and term rows
hold a copy, so every feed's newest entries are the first rows of one index walk.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Select
from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.domain import Article
from app.storage.database import dialect_insert
from app.storage.tables import ArticleAuthorRow
from app.storage.tables import ArticleRow
from app.storage.tables import ArticleTermRow
from app.storage.tables import PublicationCounterRow

#: Articles numbered per transaction when a whole back catalogue is numbered at once.
NUMBER_BATCH = 5000


@dataclass(frozen=True)
class Numbered:
    """What one numbering did: how many numbers it gave, the first of them (the oldest
    article's), and the archive pages it completed."""

    count: int
    first: int
    completed_pages: tuple[int, ...]


class PublicationOrder:
    """The publication counter and the articles' sequence numbers, in one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def page_size(self) -> int | None:
        """Articles per archive page, or ``None`` before the first article was numbered."""
        return self.session.scalar(
            select(PublicationCounterRow.page_size).where(PublicationCounterRow.id == 1)
        )

    def complete_pages(self) -> tuple[int, int]:
        """How many archive pages are complete, and their size (0 pages before the first
        number)."""
        row = self.session.execute(
            select(PublicationCounterRow.next_sequence, PublicationCounterRow.page_size).where(
                PublicationCounterRow.id == 1
            )
        ).first()
        if row is None:
            return 0, 0
        next_sequence, page_size = row
        return next_sequence // page_size, page_size

    def number(self, article_ids: Collection[str], now: datetime, page_size: int) -> Numbered:
        """Number those of these articles (by id) that are public at ``now`` and have no
        number, oldest publication first. ``page_size`` is used only if no article was
        ever numbered."""
        if not article_ids:
            return Numbered(0, 0, ())
        query = self._unnumbered(now).where(ArticleRow.public_id.in_(list(article_ids)))
        return self._assign(list(self.session.scalars(_skip_locked(query))), page_size)

    def number_due(self, now: datetime, page_size: int, limit: int = NUMBER_BATCH) -> Numbered:
        """Number up to ``limit`` of the articles public at ``now`` that have no number
        (scheduled articles whose time came, a back catalogue), oldest first."""
        query = self._unnumbered(now).limit(limit)
        return self._assign(list(self.session.scalars(_skip_locked(query))), page_size)

    def has_due(self, now: datetime) -> bool:
        """Whether an article public at ``now`` waits for its number."""
        return self.session.scalar(self._unnumbered(now).limit(1)) is not None

    def settle(self, article: Article, now: datetime, page_size: int) -> tuple[Article, Numbered]:
        """``article``, just stored, with its place in publication order: numbered if it is
        public at ``now`` and was not, its number taken back if it is no longer public;
        and what the numbering did (pages it completed)."""
        if not article.is_public(now):
            if article.sequence is not None:
                self.forget(article.id)
            return replace(article, sequence=None), Numbered(0, 0, ())
        if article.sequence is not None:
            return article, Numbered(0, 0, ())
        numbered = self.number([article.id], now, page_size)
        return replace(article, sequence=numbered.first), numbered

    def forget(self, article_id: str) -> None:
        """Take its number from an article that is no longer public (back to a draft,
        rescheduled, or deleted): only live, public articles hold a number, which is all
        the feed queries ask for. Public again, it is numbered as new, so it reaches the
        subscription feeds."""
        pk = self.session.scalar(
            update(ArticleRow)
            .where(ArticleRow.public_id == article_id)
            .values(sequence=None)
            .returning(ArticleRow.pk)
        )
        if pk is not None:
            self._copy_to_scopes({pk: None})

    def _unnumbered(self, now: datetime) -> Select[int]:
        return (
            select(ArticleRow.pk)
            .where(
                ArticleRow.sequence.is_(None),
                ArticleRow.deleted_at.is_(None),
                ArticleRow.published_at <= now,
            )
            .order_by(ArticleRow.published_at, ArticleRow.pk)
        )

    def _assign(self, pks: list[int], page_size: int) -> Numbered:
        if not pks:
            return Numbered(0, 0, ())
        first, size = self.reserve(len(pks), page_size)
        # One statement for the whole batch: each pk gets first + its position.
        numbers = {pk: first + index for index, pk in enumerate(pks)}
        self.session.execute(
            update(ArticleRow), [{"pk": pk, "sequence": n} for pk, n in numbers.items()]
        )
        self._copy_to_scopes(numbers)
        end = first + len(pks)
        completed = tuple(range(first // size, end // size))
        return Numbered(len(pks), first, completed)

    def _copy_to_scopes(self, numbers: Mapping[int, int | None]) -> None:
        """Give the author and term rows of these articles (by pk) their article's number
        (or none): a scope feed reads its newest entries from their index."""
        for table in (ArticleAuthorRow.__table__, ArticleTermRow.__table__):
            assert isinstance(table, Table)
            self.session.execute(
                update(table)
                .where(table.c.article_pk == bindparam("pk"))
                .values(sequence=bindparam("number")),
                [{"pk": pk, "number": number} for pk, number in numbers.items()],
            )

    def reserve(self, count: int, page_size: int) -> tuple[int, int]:
        """Reserve ``count`` numbers: the first of them, and the page size (``page_size``
        if none was ever reserved).

        The counter row is locked by its update until the transaction ends, so two writers
        on PostgreSQL take their numbers one after the other (SQLite has one writer)."""
        row = self.session.execute(
            dialect_insert(self.session, PublicationCounterRow)
            .values(id=1, next_sequence=count, page_size=page_size)
            .on_conflict_do_update(
                index_elements=[PublicationCounterRow.id],
                set_={"next_sequence": PublicationCounterRow.next_sequence + count},
            )
            .returning(PublicationCounterRow.next_sequence, PublicationCounterRow.page_size)
        ).one()
        return row[0] - count, row[1]


def _skip_locked(query: Select[int]) -> Select[int]:
    """PostgreSQL: rows another transaction is numbering (or writing) are left to it, not
    numbered twice (SQLite has one writer and ignores this)."""
    return query.with_for_update(skip_locked=True)
