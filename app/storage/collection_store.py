"""The collections declared over the API (table ``collections``): a title and a definition,
rules or an editor's list, kept as JSON (:meth:`Collection.definition
<app.collection_rules.Collection.definition>`). Those of the settings are not stored.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.collection_rules import Collection
from app.collection_rules import build_collection
from app.storage.database import dialect_insert
from app.storage.tables import CollectionRow


class CollectionRepository:
    """The stored collections, inside one session's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def all(self) -> list[Collection]:
        """Every stored collection, by slug (a small table: read whole, per write)."""
        rows = self.session.scalars(select(CollectionRow).order_by(CollectionRow.slug))
        return [_collection_of(row) for row in rows]

    def get(self, slug: str) -> Collection | None:
        """The stored collection ``slug``, or None."""
        row = self.session.get(CollectionRow, slug)
        return None if row is None else _collection_of(row)

    def put(self, collection: Collection, now: datetime) -> bool:
        """Store ``collection``, in place of the one of its slug if any; True if it is new."""
        definition = json.dumps(collection.definition(), ensure_ascii=False, sort_keys=True)
        values = {"title": collection.title, "definition": definition, "updated_at": now}
        # ON CONFLICT: two writers that create the same slug at once do not collide on
        # its key; the second replaces what the first stored, as a PUT after it would.
        inserted = self.session.scalar(
            dialect_insert(self.session, CollectionRow)
            .values(slug=collection.slug, created_at=now, **values)
            .on_conflict_do_nothing(index_elements=["slug"])
            .returning(CollectionRow.slug)
        )
        if inserted is not None:
            return True
        self.session.execute(
            update(CollectionRow).where(CollectionRow.slug == collection.slug).values(**values)
        )
        return False

    def delete(self, slug: str) -> bool:
        """Remove the stored collection ``slug``; False if there was none."""
        row = self.session.get(CollectionRow, slug)
        if row is None:
            return False
        self.session.delete(row)
        return True


def _collection_of(row: CollectionRow) -> Collection:
    definition = json.loads(row.definition)
    return build_collection(
        row.slug, row.title, definition.get("rules"), definition.get("articles")
    )
