"""The reads behind the service's gauges (:mod:`app.monitoring`): cheap aggregate queries,
none of which reads a document's bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import column
from sqlalchemy import func
from sqlalchemy import inspect
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import table
from sqlalchemy.orm import Session

from app.storage.tables import FeedSnapshotRow
from app.storage.tables import FeedStateRow
from app.storage.tables import UTCDateTime
from app.storage.tables import WebSubOutboxRow

#: The outbox of webhook deliveries, read by name: a schema without it (one not migrated
#: that far) has no webhook backlog rather than a failing read.
WEBHOOK_OUTBOX = "webhook_outbox"
#: The kinds of scope whose feeds readers subscribe to (archive pages and sitemaps aside).
SUBSCRIPTION_KINDS = ("site", "category", "tag", "author", "collection")


@dataclass(frozen=True)
class WaitingFeed:
    """A feed scope waiting for its render: ``written`` if a write (or a scheduled article
    now public) is waiting, not only a rebuild; ``since``, when known, since when: the
    rebuild's request, or the scheduled article's publication."""

    scope_key: str
    rendered_version: int
    written: bool
    since: datetime | None


@dataclass(frozen=True)
class Backlog:
    """An outbox: how many notices wait, and when the oldest was written (None: none)."""

    size: int
    oldest: datetime | None


def waiting_feeds(session: Session, now: datetime) -> list[WaitingFeed]:
    """Every scope with an unrendered write, a scheduled article public by ``now`` or a
    rebuild asked for, whether it is backing off after a failure or claimed right now."""
    scheduled = FeedStateRow.next_change_at <= now
    rows = session.execute(
        select(
            FeedStateRow.scope_key,
            FeedStateRow.rendered_version,
            FeedStateRow.dirty_version > FeedStateRow.rendered_version,
            FeedStateRow.next_change_at,
            FeedStateRow.stale_since,
        ).where(
            or_(
                FeedStateRow.dirty_version > FeedStateRow.rendered_version,
                scheduled,
                FeedStateRow.stale_since.is_not(None),
            )
        )
    )
    waiting = []
    for key, rendered, dirty, next_change_at, stale_since in rows:
        public = next_change_at if next_change_at is not None and next_change_at <= now else None
        written = bool(dirty) or public is not None
        # A write's own time is not stored: the caller measures its wait from when it first
        # saw it. A scheduled article's is its publication; a rebuild's, its request.
        since = public if written else stale_since
        waiting.append(WaitingFeed(key, rendered, written, since))
    return waiting


def websub_backlog(session: Session) -> Backlog:
    """The WebSub notifications not yet taken by their hubs."""
    size, oldest = session.execute(select(func.count(), func.min(WebSubOutboxRow.created_at))).one()
    return Backlog(int(size), oldest)


def webhook_backlog(session: Session) -> Backlog | None:
    """The webhook deliveries not yet made; None where the schema has no such outbox."""
    if not inspect(session.connection()).has_table(WEBHOOK_OUTBOX):
        return None
    outbox = table(WEBHOOK_OUTBOX, column("created_at", UTCDateTime()))
    size, oldest = session.execute(
        select(func.count(), func.min(outbox.c.created_at)).select_from(outbox)
    ).one()
    return Backlog(int(size), oldest)


def subscription_feed_changes(session: Session) -> dict[str, datetime]:
    """When the bytes of each public subscription feed last changed, by feed key
    (``site:atom``, ``category/politica:rss``...): private variants, archive pages and
    sitemaps are left out."""
    kinds = or_(
        FeedSnapshotRow.feed_key.like("site:%"),
        *(FeedSnapshotRow.feed_key.like(f"{kind}/%") for kind in SUBSCRIPTION_KINDS[1:]),
    )
    rows = session.execute(
        select(FeedSnapshotRow.feed_key, FeedSnapshotRow.last_modified).where(kinds)
    )
    return {key: modified for key, modified in rows}
