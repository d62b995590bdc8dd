"""Webhooks and their outbox, in the caller's transaction.

An event is written once per interested webhook (:meth:`WebhookOutbox.enqueue`) in the
transaction of the change it announces, so it is committed if and only if the change is.
Delivery claims due rows (their ``next_attempt_at`` pushed to the end of a lease), sends
them with no transaction open, and records each outcome: delivered rows are deleted,
failed ones come due again later, refused ones are dropped (:mod:`app.webhooks`). Unlike
WebSub notices, events never coalesce: each is a fact with an id of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import CursorResult
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.domain import Article
from app.domain import FeedFormat
from app.domain import FeedScope
from app.domain import feed_path
from app.errors import WebhookNameTaken
from app.errors import WebhookNotFound
from app.storage.article_rows import article_of
from app.storage.tables import ArticleRow
from app.storage.webhook_tables import WebhookOutboxRow
from app.storage.webhook_tables import WebhookRow
from app.webhook_events import ARTICLE_DELETED
from app.webhook_events import ARTICLE_PUBLISHED
from app.webhook_events import ARTICLE_UPDATED
from app.webhook_events import FEED_CHANGED
from app.webhook_events import Delivery
from app.webhook_events import Webhook
from app.webhook_events import article_data
from app.webhook_events import event_body
from app.webhook_events import feed_data
from app.webhook_events import wants


class WebhookRepository:
    """Registered webhooks: added, listed, removed."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, webhook: Webhook) -> Webhook:
        """Store ``webhook``.

        Raises:
            WebhookNameTaken: a webhook has that name.
        """
        if self.session.scalar(select(WebhookRow.pk).where(WebhookRow.name == webhook.name)):
            raise WebhookNameTaken(f"A webhook named {webhook.name!r} exists already.")
        self.session.add(
            WebhookRow(
                name=webhook.name,
                url=webhook.url,
                secret=webhook.secret,
                events=webhook.events,
                preset=webhook.preset,
                created_at=webhook.created_at,
            )
        )
        self.session.flush()
        return webhook

    def list(self) -> list[Webhook]:
        """Every webhook, oldest first."""
        return [_webhook(row) for row in self.session.scalars(select(WebhookRow).order_by("pk"))]

    def remove(self, name: str) -> int:
        """Remove the webhook named ``name`` and the events waiting for it; return how
        many events were waiting.

        Raises:
            WebhookNotFound: no webhook has that name.
        """
        pk = self.session.scalar(select(WebhookRow.pk).where(WebhookRow.name == name))
        if pk is None:
            raise WebhookNotFound(f"No webhook is named {name!r}.")
        # Explicitly, not by the foreign key's cascade: SQLite may run without foreign keys.
        dropped = self.session.execute(
            delete(WebhookOutboxRow).where(WebhookOutboxRow.webhook_pk == pk)
        )
        self.session.execute(delete(WebhookRow).where(WebhookRow.pk == pk))
        return _count(dropped)


class WebhookOutbox:
    """Events waiting for their webhooks, in the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(self, event_type: str, data: Mapping[str, Any], now: datetime) -> str | None:
        """Write the event for every active webhook that wants it, due at ``now``; return
        its id (one for every webhook), or None if no webhook wants it."""
        rows = self.session.execute(
            select(WebhookRow.pk, WebhookRow.events)
            .where(WebhookRow.disabled_at.is_(None))
            .order_by(WebhookRow.pk)
        ).all()
        targets = [pk for pk, events in rows if wants(events, event_type)]
        if not targets:
            return None
        event_id = str(uuid.uuid4())
        body = event_body(event_type, data, now)
        self.session.add_all(
            WebhookOutboxRow(
                event_id=event_id,
                webhook_pk=pk,
                event_type=event_type,
                payload=body,
                created_at=now,
                attempts=0,
                next_attempt_at=now,
            )
            for pk in targets
        )
        self.session.flush()
        return event_id

    def has_due(self, now: datetime) -> bool:
        """Whether a delivery is due at ``now`` (a read: most passes find none)."""
        query = select(WebhookOutboxRow.pk).where(WebhookOutboxRow.next_attempt_at <= now)
        return self.session.scalar(query.limit(1)) is not None

    def claim_due(self, now: datetime, lease_seconds: float, limit: int) -> list[Delivery]:
        """Take up to ``limit`` deliveries due at ``now``, oldest due first, pushing each
        to ``now + lease_seconds`` so that no other deliverer sends it meanwhile (if this
        one dies, the lease runs out and the row is due again: at-least-once delivery).
        PostgreSQL skips rows another transaction holds (``FOR UPDATE SKIP LOCKED``)."""
        query = (
            select(WebhookOutboxRow, WebhookRow)
            .join(WebhookRow, WebhookRow.pk == WebhookOutboxRow.webhook_pk)
            .where(WebhookOutboxRow.next_attempt_at <= now)
            .order_by(WebhookOutboxRow.next_attempt_at, WebhookOutboxRow.pk)
            .limit(limit)
            .execution_options(populate_existing=True)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=WebhookOutboxRow)
        found = [(row[0], row[1]) for row in self.session.execute(query)]
        claimed = [_delivery(row, webhook) for row, webhook in found]
        lease_end = now + timedelta(seconds=lease_seconds)
        for row, _webhook_row in found:
            row.next_attempt_at = lease_end
        self.session.flush()
        return claimed

    def delivered(self, pk: int) -> None:
        """Forget a delivered (or abandoned) event."""
        self.session.execute(delete(WebhookOutboxRow).where(WebhookOutboxRow.pk == pk))

    def failed(self, pk: int, error: str, next_attempt_at: datetime) -> None:
        """Count a failed attempt, keep ``error`` and retry at ``next_attempt_at``."""
        self.session.execute(
            update(WebhookOutboxRow)
            .where(WebhookOutboxRow.pk == pk)
            .values(
                attempts=WebhookOutboxRow.attempts + 1,
                last_error=error[:2000],
                next_attempt_at=next_attempt_at,
            )
            .execution_options(synchronize_session=False)
        )

    def pending(self) -> list[Delivery]:
        """Every waiting delivery, oldest first (for the CLI and tests)."""
        rows = self.session.execute(
            select(WebhookOutboxRow, WebhookRow)
            .join(WebhookRow, WebhookRow.pk == WebhookOutboxRow.webhook_pk)
            .order_by(WebhookOutboxRow.pk)
            .execution_options(populate_existing=True)
        )
        return [_delivery(row, webhook) for row, webhook in rows]


def _count(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def _webhook(row: WebhookRow) -> Webhook:
    return Webhook(
        name=row.name,
        url=row.url,
        events=row.events,
        preset=row.preset,
        created_at=row.created_at,
        secret=row.secret,
    )


def _delivery(row: WebhookOutboxRow, webhook: WebhookRow) -> Delivery:
    return Delivery(
        pk=row.pk,
        event_id=row.event_id,
        event_type=row.event_type,
        body=row.payload,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        webhook=_webhook(webhook),
    )


def announce_feed_change(
    session: Session,
    base_url: str,
    scope: FeedScope,
    changed_urls: Iterable[str],
    removed_keys: Iterable[str],
    now: datetime,
) -> None:
    """Write a ``feed.changed`` event, in the transaction that stores the change, if any
    of the scope's public documents changed (their URLs) or were removed (their stored
    keys, ``scope:format``)."""
    removed = [
        base_url + feed_path(scope, FeedFormat(key.rpartition(":")[2])) for key in removed_keys
    ]
    announce_documents_change(session, scope, changed_urls, removed, now)


def announce_documents_change(
    session: Session,
    scope: FeedScope,
    changed_urls: Iterable[str],
    removed_urls: Iterable[str],
    now: datetime,
) -> None:
    """Write a ``feed.changed`` event for a scope's documents (a feed's, or a sitemap's)
    whose bytes changed or that are gone, by URL, if any."""
    changed, removed = list(changed_urls), list(removed_urls)
    if changed or removed:
        WebhookOutbox(session).enqueue(FEED_CHANGED, feed_data(scope, changed, removed), now)


def announce_article(
    session: Session, event_type: str, article: Article, base_url: str, now: datetime
) -> None:
    """Write an article event, in the transaction of the write it announces."""
    data = article_data(article, base_url, now)
    if event_type == ARTICLE_DELETED:
        data["status"] = "deleted"
    WebhookOutbox(session).enqueue(event_type, data, now)


def announce_write(
    session: Session,
    before: Article | None,
    after: Article,
    base_url: str,
    now: datetime,
    deleted: bool = False,
) -> None:
    """Write the event a write makes, in its transaction: deleted when a public article is
    deleted; published when an article has just become public (numbered by this write: a
    new one, a draft or a scheduled one); updated when it was public and still is or no
    longer is (back to a draft, rescheduled). A write to an article that was not public
    and still is not is nobody's news."""
    was_public = before is not None and before.sequence is not None
    if deleted:
        if was_public:
            announce_article(session, ARTICLE_DELETED, after, base_url, now)
    elif after.sequence is not None and not was_public:
        announce_article(session, ARTICLE_PUBLISHED, after, base_url, now)
    elif was_public:
        announce_article(session, ARTICLE_UPDATED, after, base_url, now)


def announce_numbered(
    session: Session, first: int, count: int, base_url: str, now: datetime
) -> None:
    """Write ``article.published`` for the scheduled articles among those just numbered
    ``first`` to ``first + count - 1`` by the render pass, whose time has come. Articles
    that arrived already published (a migrated back catalogue) were never published here
    and are not announced: a scheduled article is one created before its publication."""
    if count <= 0 or not session.scalar(select(WebhookRow.pk).limit(1)):
        return
    rows = session.scalars(
        select(ArticleRow)
        .where(
            ArticleRow.sequence >= first,
            ArticleRow.sequence < first + count,
            ArticleRow.published_at > ArticleRow.created_at,
        )
        .order_by(ArticleRow.sequence)
    )
    for row in rows:
        announce_article(session, ARTICLE_PUBLISHED, article_of(row), base_url, now)
