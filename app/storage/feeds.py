"""Feed snapshots (the bytes every web worker serves) and feed states (what needs rendering)."""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement
from sqlalchemy import CursorResult
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.domain import FeedSnapshot
from app.storage.database import dialect_insert
from app.storage.tables import FeedSnapshotRow
from app.storage.tables import FeedStateRow
from app.storage.tables import SiteIdentityRow
from app.storage.tables import SnapshotGenerationRow
from app.storage.tables import UTCDateTime


@dataclass(frozen=True)
class DueScope:
    """A feed scope that needs rendering, and the write version the render will cover.

    ``written`` says why: a write or a scheduled article going public (news a subscriber
    is waiting for), rather than only a rebuild."""

    scope_key: str
    dirty_version: int
    written: bool


def feed_id_prefix(session: Session, proposed: str) -> str:
    """What every feed id of the site starts with: the one stored, or ``proposed``, stored
    now if none is (the first of two racing schedulers to store it wins; both return it)."""
    stored = session.scalar(select(SiteIdentityRow.feed_id_prefix).where(SiteIdentityRow.id == 1))
    if stored is not None:
        return stored
    session.execute(
        dialect_insert(session, SiteIdentityRow)
        .values(id=1, feed_id_prefix=proposed)
        .on_conflict_do_nothing(index_elements=[SiteIdentityRow.id])
    )
    return (
        session.scalar(select(SiteIdentityRow.feed_id_prefix).where(SiteIdentityRow.id == 1))
        or proposed
    )


def stored_fingerprint(session: Session) -> str | None:
    """What the stored feeds were rendered with (see ``FeedRenderer.rebuild_if_changed``)."""
    return session.scalar(select(SiteIdentityRow.render_fingerprint).where(SiteIdentityRow.id == 1))


def store_fingerprint(session: Session, fingerprint: str) -> None:
    """Record what the feeds are rendered with from now on (the site's identity row is
    made by :func:`feed_id_prefix` first)."""
    session.execute(
        update(SiteIdentityRow)
        .where(SiteIdentityRow.id == 1)
        .values(render_fingerprint=fingerprint)
    )


class SnapshotRepository:
    """Stored, ready-to-serve feed documents."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, feed_key: str) -> FeedSnapshot | None:
        """The snapshot stored under ``feed_key``, if any."""
        row = self.session.get(FeedSnapshotRow, feed_key)
        return _snapshot(row) if row is not None else None

    def get_many(self, feed_keys: Iterable[str]) -> dict[str, FeedSnapshot]:
        """The snapshots stored under these keys, by key (missing keys are absent)."""
        rows = self.session.scalars(
            select(FeedSnapshotRow).where(FeedSnapshotRow.feed_key.in_(list(feed_keys)))
        )
        return {row.feed_key: _snapshot(row) for row in rows}

    def validators(
        self, feed_keys: Iterable[str]
    ) -> dict[str, tuple[str, datetime, datetime | None]]:
        """ETag, Last-Modified and fresh-until of the snapshots under these keys (no bodies)."""
        rows = self.session.execute(
            select(
                FeedSnapshotRow.feed_key,
                FeedSnapshotRow.etag,
                FeedSnapshotRow.last_modified,
                FeedSnapshotRow.fresh_until,
            ).where(FeedSnapshotRow.feed_key.in_(list(feed_keys)))
        )
        return {key: (etag, modified, fresh) for key, etag, modified, fresh in rows}

    def versions(self) -> dict[str, tuple[str, datetime | None]]:
        """ETag and fresh-until of every stored snapshot, by key: a cheap way to see what
        changed, the bytes or only how long they stay fresh."""
        rows = self.session.execute(
            select(FeedSnapshotRow.feed_key, FeedSnapshotRow.etag, FeedSnapshotRow.fresh_until)
        )
        return {key: (etag, fresh_until) for key, etag, fresh_until in rows}

    def etags(self) -> dict[str, str]:
        """The ETag of every stored snapshot, by key."""
        rows = self.session.execute(select(FeedSnapshotRow.feed_key, FeedSnapshotRow.etag))
        return {key: etag for key, etag in rows}

    def set_fresh_until(self, feed_key: str, fresh_until: datetime | None) -> None:
        """Change only how long the snapshot under ``feed_key`` stays fresh."""
        self.session.execute(
            update(FeedSnapshotRow)
            .where(FeedSnapshotRow.feed_key == feed_key)
            .values(fresh_until=fresh_until)
        )

    def save(self, snapshot: FeedSnapshot) -> None:
        """Store ``snapshot``, replacing the one under the same key (in this transaction)."""
        row = self.session.get(FeedSnapshotRow, snapshot.feed_key)
        if row is None:
            row = FeedSnapshotRow(feed_key=snapshot.feed_key)
            self.session.add(row)
        row.media_type = snapshot.media_type
        row.body = snapshot.body
        row.body_gzip = snapshot.body_gzip
        row.etag = snapshot.etag
        row.last_modified = snapshot.last_modified
        row.rendered_at = snapshot.rendered_at
        row.fresh_until = snapshot.fresh_until
        row.surrogate_keys = snapshot.surrogate_keys

    def generation(self) -> int:
        """The counter that grows whenever a render pass changes any snapshot."""
        value = self.session.scalar(
            select(SnapshotGenerationRow.value).where(SnapshotGenerationRow.id == 1)
        )
        return int(value or 0)

    def bump_generation(self) -> None:
        """Count one more render pass that changed snapshots (in its transaction).

        One upsert: the row the migration made may be gone (a wiped table), and two render
        passes (the start-up pass and a due pass run side by side) may both find it gone;
        an UPDATE followed by an INSERT would let one of them fail on the duplicate key.
        """
        self.session.execute(
            dialect_insert(self.session, SnapshotGenerationRow)
            .values(id=1, value=1)
            .on_conflict_do_update(
                index_elements=[SnapshotGenerationRow.id],
                set_={"value": SnapshotGenerationRow.value + 1},
            )
        )

    def delete(self, feed_key: str) -> None:
        """Remove the snapshot under ``feed_key`` if there is one."""
        row = self.session.get(FeedSnapshotRow, feed_key)
        if row is not None:
            self.session.delete(row)

    def delete_prefixed(self, prefix: str) -> int:
        """Remove every snapshot whose key starts with ``prefix`` (a private profile's
        documents, once no one reads them); how many there were."""
        removed = self.session.execute(
            delete(FeedSnapshotRow).where(key_starts_with(self.session, prefix))
        )
        assert isinstance(removed, CursorResult)
        return int(removed.rowcount)


class FeedStateRepository:
    """Per scope: the write version to render, and when a scheduled article goes public."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def mark_dirty(self, scope_keys: Iterable[str]) -> None:
        """Record that a write changed these scopes (in the writer's transaction).

        One upsert, its rows in key order: concurrent writers lock the scopes they share
        in the same order, so they never deadlock, and two writers that create the same
        scope at once do not collide on its key (each used to lock rows in whatever order
        the database scanned them, and to insert a new scope only if it had not seen it).
        """
        keys = sorted(set(scope_keys))
        if not keys:
            return
        statement = dialect_insert(self.session, FeedStateRow).values(
            [{"scope_key": key, "dirty_version": 1, "rendered_version": 0} for key in keys]
        )
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[FeedStateRow.scope_key],
                set_={"dirty_version": FeedStateRow.dirty_version + 1},
            )
        )

    def mark_stale(self, scope_keys: Iterable[str], now: datetime) -> None:
        """Ask for a rebuild of these scopes (new rendering code or settings, the periodic
        safety net). Unlike :meth:`mark_dirty`, a rebuild is no write: a pass renders it
        after every scope with unrendered writes. A scope already waiting keeps its older
        request."""
        keys = sorted(set(scope_keys))
        if not keys:
            return
        statement = dialect_insert(self.session, FeedStateRow).values(
            [
                {"scope_key": key, "dirty_version": 0, "rendered_version": 0, "stale_since": now}
                for key in keys
            ]
        )
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[FeedStateRow.scope_key],
                set_={
                    "stale_since": func.coalesce(
                        FeedStateRow.stale_since, literal(now, UTCDateTime())
                    )
                },
            )
        )

    def due(self, now: datetime) -> list[DueScope]:
        """Scopes with unrendered writes, a scheduled article now public or a rebuild asked
        for, not backing off and not claimed."""
        rows = self.session.execute(
            select(FeedStateRow.scope_key, FeedStateRow.dirty_version, _is_written(now))
            .where(
                _is_due(now),
                or_(FeedStateRow.retry_at.is_(None), FeedStateRow.retry_at <= now),
                or_(FeedStateRow.claimed_until.is_(None), FeedStateRow.claimed_until <= now),
            )
            .order_by(FeedStateRow.scope_key)
        )
        return [DueScope(key, version, bool(written)) for key, version, written in rows]

    def claim(self, scope_key: str, now: datetime, until: datetime) -> bool:
        """Claim one scope until ``until`` if it is still due and unclaimed; say if we did.

        A claim is a conditional UPDATE, so of two schedulers claiming the same scope at
        once exactly one succeeds (the other's UPDATE re-reads the row and matches nothing).
        """
        result = self.session.execute(
            update(FeedStateRow)
            .where(
                FeedStateRow.scope_key == scope_key,
                or_(FeedStateRow.claimed_until.is_(None), FeedStateRow.claimed_until <= now),
                # Still due: another scheduler may have rendered it since due() read it.
                _is_due(now),
            )
            .values(claimed_until=until)
        )
        return result.rowcount == 1  # type: ignore[attr-defined, no-any-return]

    def release(self, claims: Mapping[str, datetime]) -> None:
        """Give up claims (scope key: the lease it was claimed until) not yet superseded."""
        for scope_key, until in sorted(claims.items()):
            self.session.execute(
                update(FeedStateRow)
                .where(FeedStateRow.scope_key == scope_key, FeedStateRow.claimed_until == until)
                .values(claimed_until=None)
            )

    def dirty_version(self, scope_key: str) -> int:
        """The current write version of a scope (0 if it was never written to)."""
        row = self.session.get(FeedStateRow, scope_key, populate_existing=True)
        return row.dirty_version if row is not None else 0

    def all_keys(self) -> list[str]:
        """Every scope ever written to."""
        return list(self.session.scalars(select(FeedStateRow.scope_key)))

    def mark_rendered(
        self,
        scope_key: str,
        version: int,
        next_change_at: datetime | None,
        now: datetime,
        and_dirty: Collection[str] = (),
    ) -> None:
        """Record a successful render, begun at ``now``, that covers writes up to
        ``version`` and every rebuild asked for up to ``now``; and that it changed the
        scopes ``and_dirty`` (a sitemap that lists what it rendered).

        The rows are locked in key order, as :meth:`mark_dirty` locks a writer's: on
        PostgreSQL a render and a write that share two scopes never wait for each other.
        """
        self.mark_dirty(key for key in and_dirty if key < scope_key)
        row = self.session.get(FeedStateRow, scope_key)
        if row is None:
            row = FeedStateRow(scope_key=scope_key, dirty_version=version)
            self.session.add(row)
        if row.stale_since is not None and row.stale_since <= now:
            row.stale_since = None
        row.rendered_version = version
        row.next_change_at = next_change_at
        row.retry_at = None
        row.rendered_at = now
        row.claimed_until = None
        self.session.flush()  # this row's update before the rows after it
        self.mark_dirty(key for key in and_dirty if key > scope_key)

    def mark_failed(self, scope_key: str, retry_at: datetime) -> None:
        """Back off a scope whose render failed until ``retry_at``."""
        row = self.session.get(FeedStateRow, scope_key)
        if row is not None:
            row.retry_at = retry_at
            row.claimed_until = None


def _is_written(now: datetime) -> ColumnElement[bool]:
    """Unrendered writes, or a scheduled article that is public by ``now``."""
    return or_(
        FeedStateRow.dirty_version > FeedStateRow.rendered_version,
        FeedStateRow.next_change_at <= now,
    )


def _is_due(now: datetime) -> ColumnElement[bool]:
    """Written (:func:`_is_written`), or a rebuild asked for by ``now``."""
    return or_(_is_written(now), FeedStateRow.stale_since <= now)


def _snapshot(row: FeedSnapshotRow) -> FeedSnapshot:
    return FeedSnapshot(
        feed_key=row.feed_key,
        media_type=row.media_type,
        body=row.body,
        body_gzip=row.body_gzip,
        etag=row.etag,
        last_modified=row.last_modified,
        rendered_at=row.rendered_at,
        fresh_until=row.fresh_until,
        surrogate_keys=row.surrogate_keys,
    )


def bytewise_key(session: Session) -> ColumnElement[str]:
    """The snapshots' key compared byte by byte, as ranges of keys need: SQLite's default,
    and on PostgreSQL ``COLLATE "C"`` (the database's collation may order punctuation
    otherwise)."""
    column = FeedSnapshotRow.feed_key.expression
    return column.collate("C") if session.get_bind().dialect.name == "postgresql" else column


def key_starts_with(session: Session, prefix: str) -> ColumnElement[bool]:
    """The snapshot's key starts with ``prefix``: a range of the primary key's index
    (LIKE may not use it, and would need its wildcards escaped)."""
    key = bytewise_key(session)
    return and_(key >= prefix, key < prefix[:-1] + chr(ord(prefix[-1]) + 1))
