"""Webhook delivery, run by the scheduler: the outbox's due events sent to their webhooks.

As WebSub notices are (:mod:`app.notifying`, whose rules this reuses): due rows are
claimed in a short write transaction, sent with no transaction open (a slow receiver never
holds a database lock), and each outcome recorded in another short transaction. A
delivered event is deleted; an unreachable, timed-out, 5xx, 408 or 429 answer, or an
unexpected error (logged with its traceback), is retried with exponential backoff and
jitter (:func:`~app.notifying.retry_delay`) for as long as it takes; only an answer that
refuses the event (another 4xx, :func:`~app.notifying.refuses_notification`) drops it,
when that refusal is its ``webhooks_max_attempts``-th failure.

A ``signed`` webhook gets the event's body as it was written, with the Standard Webhooks
headers; a purge preset gets a call to its CDN's purge-by-key API naming the keys the
event made stale (:func:`~app.webhook_events.purge_keys`):

- Fastly, "Purge multiple URLs by surrogate key": ``POST /service/{id}/purge`` with the
  keys in ``Surrogate-Key`` and the API token in ``Fastly-Key``;
- Cloudflare, "Purge Cached Content": ``POST /zones/{id}/purge_cache`` with
  ``{"tags": [...]}`` and the API token as a bearer token.
"""

from __future__ import annotations

import json
import logging
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import TYPE_CHECKING

from app.notifying import Failure
from app.notifying import Jitter
from app.notifying import retry_delay
from app.notifying import send_in_order
from app.settings import Settings
from app.storage.database import Database
from app.storage.webhooks import WebhookOutbox
from app.webhook_events import CLOUDFLARE
from app.webhook_events import FASTLY
from app.webhook_events import Delivery
from app.webhook_events import purge_keys
from app.webhook_events import signature

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

#: How many deliveries one pass takes at most.
CLAIM_LIMIT = 50


@dataclass
class WebhookReport:
    """What one delivery pass did, by delivery."""

    delivered: list[Delivery] = field(default_factory=list)
    failed: list[Delivery] = field(default_factory=list)
    abandoned: list[Delivery] = field(default_factory=list)


def webhook_client(settings: Settings) -> httpx.Client:
    """An HTTP client for webhooks: the configured timeout, no redirects (a redirect
    could carry a CDN's credentials elsewhere). Meant to live as long as the scheduler."""
    import httpx  # as app.notifying.hub_client: the core loads no CLI framework

    return httpx.Client(
        timeout=settings.webhooks_timeout_seconds,
        follow_redirects=False,
        headers={"User-Agent": f"Broadsheet webhooks (+{settings.base_url}/)"},
    )


def deliver_webhooks(
    database: Database,
    settings: Settings,
    now: datetime,
    client: httpx.Client,
    *,
    jitter: Jitter = random.random,
    limit: int = CLAIM_LIMIT,
) -> WebhookReport:
    """Send the deliveries due at ``now`` and record what happened.

    Never raises for an error in sending; raises
    :class:`~app.errors.StorageUnavailable` if the database is down (claimed rows are
    sent again when their lease runs out). After a webhook is unreachable, its other
    deliveries of the pass are not attempted and count as failed; different webhooks are
    sent to in parallel, each in the order its events were written.
    """
    timeout = settings.webhooks_timeout_seconds
    lease_seconds = 60.0 + limit * timeout
    report = WebhookReport()
    # A read first: a pass every 2 s must not take SQLite's write lock to find nothing.
    with database.read() as session:
        if not WebhookOutbox(session).has_due(now):
            return report
    with database.write() as session:
        claimed = WebhookOutbox(session).claim_due(now, lease_seconds, limit)
    if not claimed:
        return report
    by_webhook: dict[str, list[Delivery]] = {}
    for delivery in claimed:
        by_webhook.setdefault(delivery.webhook.name, []).append(delivery)
    with ThreadPoolExecutor(max_workers=min(len(by_webhook), 8)) as pool:
        batches = pool.map(
            lambda batch: _send_batch(client, settings, batch, now), by_webhook.values()
        )
        outcomes = [outcome for batch in batches for outcome in batch]
    with database.write() as session:
        outbox = WebhookOutbox(session)
        for delivery, failure in outcomes:
            _record(outbox, delivery, failure, now, settings, jitter, report)
    return report


def _record(
    outbox: WebhookOutbox,
    delivery: Delivery,
    failure: Failure | None,
    now: datetime,
    settings: Settings,
    jitter: Jitter,
    report: WebhookReport,
) -> None:
    name, event = delivery.webhook.name, f"{delivery.event_type} id={delivery.event_id}"
    if failure is None:
        outbox.delivered(delivery.pk)
        report.delivered.append(delivery)
        log.info("webhook delivered webhook=%s event=%s", name, event)
        return
    attempts = delivery.attempts + 1
    if failure.refused and attempts >= settings.webhooks_max_attempts:
        outbox.delivered(delivery.pk)
        report.abandoned.append(delivery)
        log.error(
            "webhook gave up webhook=%s event=%s after %d attempts: %s",
            name, event, attempts, failure.message,
        )  # fmt: skip
        return
    retry_at = now + retry_delay(delivery.attempts, jitter())
    outbox.failed(delivery.pk, failure.message, retry_at)
    report.failed.append(delivery)
    log.warning(
        "webhook failed webhook=%s event=%s attempt=%d next_attempt_at=%s: %s",
        name, event, attempts, retry_at.isoformat(), failure.message,
    )  # fmt: skip


_Outcome = tuple[Delivery, Failure | None]


def _send_batch(
    client: httpx.Client, settings: Settings, deliveries: list[Delivery], now: datetime
) -> list[_Outcome]:
    """Send one webhook's deliveries in order; ``None`` marks a success."""
    return send_in_order(
        deliveries,
        lambda delivery: _send(client, settings, delivery, now),
        "webhook",
        lambda delivery: f"webhook={delivery.webhook.name} event={delivery.event_id}",
    )


def _send(
    client: httpx.Client, settings: Settings, delivery: Delivery, now: datetime
) -> httpx.Response | None:
    """One attempt; None when there is nothing to send (a purge with no keys)."""
    webhook = delivery.webhook
    body = delivery.body.encode("utf-8")
    if webhook.preset == FASTLY or webhook.preset == CLOUDFLARE:
        keys = purge_keys(json.loads(delivery.body)["data"])
        if not keys:
            return None
        return _purge(client, settings, webhook.preset, webhook.url, keys)
    if webhook.secret is None:
        raise ValueError(f"the signed webhook {webhook.name!r} has no secret")
    timestamp = int(now.timestamp())
    return client.post(
        webhook.url,
        content=body,
        headers={
            "Content-Type": "application/json",
            "webhook-id": delivery.event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(webhook.secret, delivery.event_id, timestamp, body),
        },
    )


def _purge(
    client: httpx.Client, settings: Settings, preset: str, base: str, keys: list[str]
) -> httpx.Response:
    """Call a CDN's purge-by-key API for ``keys``.

    Raises:
        ValueError: the preset's credentials are not set (retried: the operator may yet
            set them).
    """
    if preset == FASTLY:
        if not (settings.cdn_fastly_service_id and settings.cdn_fastly_key):
            raise ValueError("cdn.fastly_service_id and cdn.fastly_key are not set")
        return client.post(
            f"{base}/service/{settings.cdn_fastly_service_id}/purge",
            headers={
                "Fastly-Key": settings.cdn_fastly_key,
                "Surrogate-Key": " ".join(keys),
                "Accept": "application/json",
            },
        )
    if not (settings.cdn_cloudflare_zone_id and settings.cdn_cloudflare_token):
        raise ValueError("cdn.cloudflare_zone_id and cdn.cloudflare_token are not set")
    return client.post(
        f"{base}/zones/{settings.cdn_cloudflare_zone_id}/purge_cache",
        json={"tags": keys},
        headers={"Authorization": f"Bearer {settings.cdn_cloudflare_token}"},
    )
