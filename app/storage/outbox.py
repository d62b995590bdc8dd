"""The WebSub outbox: publish notifications waiting to be sent to a hub, with their retries.

One row per (hub, topic). A new change to a topic that is already waiting does not add a
row: it bumps the row's ``generation`` and makes it due again. A deliverer remembers the
generation it sent and deletes the row only if nobody enqueued a newer change meanwhile,
so a notification is never lost to a race (at-least-once delivery).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy import CursorResult
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.storage.database import dialect_insert
from app.storage.tables import WebSubOutboxRow


@dataclass(frozen=True)
class Notification:
    """A pending publish notification: tell ``hub_url`` that ``topic_url`` changed."""

    pk: int
    hub_url: str
    topic_url: str
    generation: int
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None


class OutboxRepository:
    """Pending WebSub notifications, in the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(self, hub_url: str, topic_url: str, now: datetime) -> None:
        """Record that ``hub_url`` must hear that ``topic_url`` changed at ``now``.

        A new row is due at ``now``. An existing row (waiting, failing or being delivered)
        gets ``generation + 1``, is due at ``now`` again and starts its attempts afresh.
        One statement (INSERT ... ON CONFLICT DO UPDATE) on both SQLite and PostgreSQL, so
        two writers enqueuing the same pair at once both succeed: one inserts, the other
        updates (a read-then-insert would fail the unique constraint on PostgreSQL).
        """
        statement = dialect_insert(self.session, WebSubOutboxRow).values(
            hub_url=hub_url,
            topic_url=topic_url,
            generation=1,
            created_at=now,
            attempts=0,
            next_attempt_at=now,
            last_error=None,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[WebSubOutboxRow.hub_url, WebSubOutboxRow.topic_url],
            set_={
                "generation": WebSubOutboxRow.generation + 1,
                "attempts": 0,
                "next_attempt_at": statement.excluded.next_attempt_at,
                "last_error": None,
            },
        )
        self.session.execute(statement)

    def claim_due(self, now: datetime, lease_seconds: float, limit: int) -> list[Notification]:
        """Take up to ``limit`` notifications due at ``now``, oldest due first.

        Each claimed row is pushed to ``now + lease_seconds``, so no other deliverer takes
        it while this one is sending it; if this deliverer dies, the lease runs out and the
        row is due again. The returned notifications carry the generation to hand back to
        :meth:`delivered` or :meth:`failed`. PostgreSQL skips rows another transaction has
        locked (``FOR UPDATE SKIP LOCKED``) instead of waiting for them; SQLite write
        transactions are serialized by ``BEGIN IMMEDIATE`` already.
        """
        query = (
            select(WebSubOutboxRow)
            .where(WebSubOutboxRow.next_attempt_at <= now)
            .order_by(WebSubOutboxRow.next_attempt_at, WebSubOutboxRow.pk)
            .limit(limit)
            .execution_options(populate_existing=True)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(self.session.scalars(query))
        claimed = [_notification(row) for row in rows]
        lease_end = now + timedelta(seconds=lease_seconds)
        for row in rows:
            row.next_attempt_at = lease_end
        self.session.flush()
        return claimed

    def delivered(self, pk: int, generation: int) -> bool:
        """Delete a delivered notification unless a newer change was enqueued meanwhile.

        Returns whether the row was deleted; ``False`` means a newer generation stays
        pending (and due), so the hub hears about the newer change too.
        """
        return self._delete_if_current(pk, generation)

    def abandon(self, pk: int, generation: int) -> bool:
        """Drop a notification that failed too often, unless a newer change was enqueued.

        Returns whether the row was deleted.
        """
        return self._delete_if_current(pk, generation)

    def failed(self, pk: int, generation: int, error: str, next_attempt_at: datetime) -> bool:
        """Count a failed attempt, keep ``error`` and retry at ``next_attempt_at``.

        Only if the row still has ``generation``: a newer enqueue already reset the row's
        attempts and made it due now, and an older failure must not delay it. Returns
        whether the row was updated.
        """
        result = self.session.execute(
            update(WebSubOutboxRow)
            .where(WebSubOutboxRow.pk == pk, WebSubOutboxRow.generation == generation)
            .values(
                attempts=WebSubOutboxRow.attempts + 1,
                last_error=error[:2000],
                next_attempt_at=next_attempt_at,
            )
            .execution_options(synchronize_session=False)
        )
        return _changed(result)

    def pending(self) -> list[Notification]:
        """Every waiting notification, by hub and topic (for stats, the CLI and tests)."""
        rows = self.session.scalars(
            select(WebSubOutboxRow)
            .order_by(WebSubOutboxRow.hub_url, WebSubOutboxRow.topic_url)
            .execution_options(populate_existing=True)
        )
        return [_notification(row) for row in rows]

    def _delete_if_current(self, pk: int, generation: int) -> bool:
        result = self.session.execute(
            delete(WebSubOutboxRow)
            .where(WebSubOutboxRow.pk == pk, WebSubOutboxRow.generation == generation)
            .execution_options(synchronize_session=False)
        )
        return _changed(result)


def _changed(result: object) -> bool:
    assert isinstance(result, CursorResult)
    return bool(result.rowcount == 1)


def _notification(row: WebSubOutboxRow) -> Notification:
    return Notification(
        pk=row.pk,
        hub_url=row.hub_url,
        topic_url=row.topic_url,
        generation=row.generation,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
    )
