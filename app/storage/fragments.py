"""Stored feed entries: each article's entry as rendered, by rendering context.

A feed document is a shell around entries (:mod:`app.rendering.fragments`); an entry's
bytes depend on the article's version and on the context alone (the rendering code and
the settings that show in feeds, the feed's language and profile, the site's address).
Stored here once rendered, they let any process (a scheduler that starts, each of
``broadsheet regenerate``'s workers) join a feed instead of rendering its entries again.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import ArticleVersion
from app.domain import FeedFormat
from app.storage.database import dialect_insert
from app.storage.tables import EntryFragmentRow

_IDS_PER_QUERY = 500


@dataclass(frozen=True)
class EntryBytes:
    """One entry in the three formats: an RSS item, an Atom entry, a JSON Feed item."""

    rss: bytes
    atom: bytes
    json: bytes

    def of(self, fmt: FeedFormat) -> bytes:
        """The entry in ``fmt``."""
        if fmt is FeedFormat.RSS:
            return self.rss
        return self.atom if fmt is FeedFormat.ATOM else self.json


class EntryFragmentRepository:
    """Stored entries of one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def current(
        self, context: str, versions: Collection[ArticleVersion]
    ) -> dict[ArticleVersion, EntryBytes]:
        """The stored entries of these article versions in ``context``; a version whose
        stored entry was made from another revision is left out."""
        wanted = {version.id: version for version in versions}
        ids = list(wanted)
        found: dict[ArticleVersion, EntryBytes] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            rows = self.session.execute(
                select(
                    EntryFragmentRow.article_id,
                    EntryFragmentRow.revision,
                    EntryFragmentRow.updated_at,
                    EntryFragmentRow.lengths,
                    EntryFragmentRow.body,
                ).where(
                    EntryFragmentRow.context == context,
                    EntryFragmentRow.article_id.in_(ids[start : start + _IDS_PER_QUERY]),
                )
            )
            for article_id, revision, updated_at, lengths, body in rows:
                version = wanted[article_id]
                if version.revision == revision and version.updated_at == updated_at:
                    found[version] = _unpacked(lengths, body)
        return found

    def save(self, rows: Sequence[PackedEntry]) -> None:
        """Store these entries (:func:`pack_entries`), each in place of any earlier
        version's in its context."""
        if not rows:
            return
        statement = dialect_insert(self.session, EntryFragmentRow)
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[EntryFragmentRow.article_id, EntryFragmentRow.context],
                set_={
                    name: statement.excluded[name]
                    for name in ("revision", "updated_at", "lengths", "body")
                },
            ),
            list(rows),
        )

    def delete_other_contexts(self, prefix: str) -> int:
        """Forget the entries of every context that does not start with ``prefix`` (made
        by other code or settings, never current again); how many there were."""
        result = self.session.execute(
            delete(EntryFragmentRow).where(~EntryFragmentRow.context.startswith(prefix))
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def delete_article(self, article_id: str) -> None:
        """Forget a deleted article's entries."""
        self.session.execute(
            delete(EntryFragmentRow).where(EntryFragmentRow.article_id == article_id)
        )


PackedEntry = dict[str, object]
"""One stored entry's row, as :func:`pack_entries` makes it."""


def pack_entries(context: str, entries: Mapping[ArticleVersion, EntryBytes]) -> list[PackedEntry]:
    """The rows that store these entries in ``context``: compressed here, so that the
    write transaction that stores them does no compressing (on SQLite it holds the
    database's one write lock). In article id order, so that two writers take the rows'
    locks in the same order."""
    return [
        {
            "context": context,
            "article_id": version.id,
            "revision": version.revision,
            "updated_at": version.updated_at,
            "lengths": f"{len(entry.rss)},{len(entry.atom)},{len(entry.json)}",
            "body": zlib.compress(entry.rss + entry.atom + entry.json, 6),
        }
        for version, entry in sorted(entries.items(), key=lambda item: item[0].id)
    ]


def _unpacked(lengths: str, body: bytes) -> EntryBytes:
    rss_length, atom_length, _ = (int(part) for part in lengths.split(","))
    data = zlib.decompress(body)
    atom_end = rss_length + atom_length
    return EntryBytes(data[:rss_length], data[rss_length:atom_end], data[atom_end:])
