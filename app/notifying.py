"""WebSub publishing, publisher side (W3C WebSub Recommendation, 2018-01-23).

Two halves, joined by the outbox table:

- :func:`enqueue_notifications` runs inside the render transaction when a feed's bytes
  changed: it only writes rows, so publishing never waits for a hub and a notification is
  committed if and only if the change it announces is.
- :func:`deliver_due` runs from the scheduler: it claims due rows in a short write
  transaction, POSTs to the hubs outside any transaction (a slow or dead hub never holds
  a database lock), then records each outcome in another short transaction: delivered
  rows are deleted, failed ones retried with exponential backoff and jitter.

A hub that is down loses no notification: a failure that says nothing about the
notification itself (refused, reset or timed-out connections, 5xx, 408 Request Timeout,
429 Too Many Requests, and any unexpected error, such as an answer that cannot be
decoded, which is logged with its traceback) is retried for as long as it takes, at most
an hour apart. Rows
are coalesced per (hub, topic), so the outbox holds at most one row per hub and feed
however long a hub is away. Only a hub that answers and refuses the notification (any
other 4xx, RFC 9110 section 15.5: the same request will not succeed by repeating it) has
it dropped, with an error in the log: when it refuses an attempt that is the
``websub_max_attempts``-th failure of that notification, outages included.

WebSub section 6 ("Publishing") says only that the publisher MUST inform its hubs when a
topic changes and leaves the mechanism open; its note names the convention public hubs
accept, a form-encoded POST of ``hub.mode=publish`` and ``hub.url=<topic>``, which is what
we send (a GET is refused by some hubs: superfeedr/documentation#84). Advertising the hubs
(section 4, "Discovery") is the feeds' and the web layer's job; the topic we announce must
be the feed's public ``rel=self`` URL, since that is what hubs fetch.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import TYPE_CHECKING
from typing import TypeVar

from sqlalchemy.orm import Session

from app.settings import Settings
from app.storage.database import Database
from app.storage.outbox import Notification
from app.storage.outbox import OutboxRepository

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

# The first retry waits about 5 s, each further one twice as long, never more than an hour.
RETRY_BASE_SECONDS = 5.0
RETRY_CAP_SECONDS = 3600.0
# How many notifications one delivery pass takes at most.
CLAIM_LIMIT = 50
# How much of a hub's error answer is kept in ``last_error`` and the log.
_ERROR_BODY_CHARS = 200

Jitter = Callable[[], float]
"""A source of random fractions in [0, 1]; tests pass a constant."""


@dataclass
class DeliveryReport:
    """What one delivery pass did, by notification."""

    delivered: list[Notification] = field(default_factory=list)
    # Sent, but a newer change to the same topic was enqueued meanwhile: that one stays.
    superseded: list[Notification] = field(default_factory=list)
    # Failed; retried later (or a newer change to the topic is already due).
    failed: list[Notification] = field(default_factory=list)
    # Refused by the hub for the last time and dropped.
    abandoned: list[Notification] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        """How many notifications this pass claimed."""
        return len(self.delivered) + len(self.superseded) + len(self.failed) + len(self.abandoned)


def enqueue_notifications(
    session: Session, hubs: Iterable[str], topic_urls: Iterable[str], now: datetime
) -> int:
    """Queue a notification per (hub, topic) pair in the caller's transaction; return the count.

    Call it in the transaction that stores the changed feed, so the notification commits
    with the change. Already-pending pairs coalesce into one row (a higher generation). It
    never talks to a hub. Pairs are written in a fixed order, so two transactions that
    enqueue overlapping sets lock rows in the same order and cannot deadlock.
    """
    hub_list = sorted(set(hubs))
    topic_list = sorted(set(topic_urls))
    outbox = OutboxRepository(session)
    for hub_url in hub_list:
        for topic_url in topic_list:
            outbox.enqueue(hub_url, topic_url, now)
    return len(hub_list) * len(topic_list)


def pending_notifications(database: Database) -> list[Notification]:
    """Every notification still waiting for delivery (for stats, the CLI and tests)."""
    with database.read() as session:
        return OutboxRepository(session).pending()


def hub_client(settings: Settings) -> httpx.Client:
    """An HTTP client for hub notifications: the configured timeout, no redirects.

    One client is meant to live as long as the scheduler (it keeps connections to the hubs
    alive); it can be shared between threads. The caller closes it.
    """
    # Imported here, not with the module: importing httpx loads its command line (click,
    # rich, pygments) when click is installed, and the core loads no CLI framework.
    import httpx

    return httpx.Client(
        timeout=settings.websub_timeout_seconds,
        follow_redirects=False,
        headers={"User-Agent": f"Broadsheet WebSub publisher (+{settings.base_url}/)"},
    )


def retry_delay(failed_attempts: int, fraction: float) -> timedelta:
    """The wait before the next attempt after ``failed_attempts`` earlier failures.

    5 s * 2**failed_attempts, capped at an hour, scaled by "equal jitter": between half and
    all of it, by ``fraction`` in [0, 1]. Jitter keeps several schedulers (and several
    topics of one hub) from retrying in lockstep.
    """
    base = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2.0 ** min(failed_attempts, 32))
    fraction = min(1.0, max(0.0, fraction))
    return timedelta(seconds=base * (0.5 + 0.5 * fraction))


def deliver_due(
    database: Database,
    settings: Settings,
    now: datetime,
    client: httpx.Client,
    *,
    jitter: Jitter = random.random,
    limit: int = CLAIM_LIMIT,
) -> DeliveryReport:
    """Send the notifications due at ``now`` and record what happened.

    Never raises for an error in sending (refused, timed out, unreachable, non-2xx, bad
    URL, unexpected): that notification is retried later, or dropped if the hub refused it
    (see the module docstring) for the ``websub_max_attempts``-th time. It raises
    :class:`~app.errors.StorageUnavailable` if the database is down; rows already claimed
    are then retried when their lease runs out (delivery is at least once). A pass takes
    about one timeout per unreachable hub: after a hub times out or refuses the connection,
    its other notifications of the pass are not sent and count as failed too, and
    different hubs are notified in parallel.
    """
    timeout = settings.websub_timeout_seconds
    # The lease must outlast the slowest pass, or a second scheduler would send again.
    lease_seconds = 60.0 + limit * timeout
    with database.write() as session:
        claimed = OutboxRepository(session).claim_due(now, lease_seconds, limit)
    report = DeliveryReport()
    if not claimed:
        return report
    outcomes = _send_all(client, claimed, timeout)
    # Same order as enqueue_notifications, so these updates cannot deadlock with it.
    outcomes.sort(key=lambda outcome: (outcome[0].hub_url, outcome[0].topic_url))
    with database.write() as session:
        outbox = OutboxRepository(session)
        for notification, failure in outcomes:
            if failure is None:
                _record_success(outbox, notification, report)
            else:
                _record_failure(outbox, notification, failure, now, settings, jitter, report)
    return report


def _record_success(
    outbox: OutboxRepository, notification: Notification, report: DeliveryReport
) -> None:
    if outbox.delivered(notification.pk, notification.generation):
        report.delivered.append(notification)
        log.info(
            "websub notified hub=%s topic=%s generation=%d",
            notification.hub_url,
            notification.topic_url,
            notification.generation,
        )
    else:
        report.superseded.append(notification)
        log.info(
            "websub notified hub=%s topic=%s generation=%d; a newer change stays queued",
            notification.hub_url,
            notification.topic_url,
            notification.generation,
        )


def _record_failure(
    outbox: OutboxRepository,
    notification: Notification,
    failure: Failure,
    now: datetime,
    settings: Settings,
    jitter: Jitter,
    report: DeliveryReport,
) -> None:
    attempts = notification.attempts + 1
    pk, generation = notification.pk, notification.generation
    error = failure.message
    if failure.refused and attempts >= settings.websub_max_attempts:
        if outbox.abandon(pk, generation):
            report.abandoned.append(notification)
            log.error(
                "websub gave up hub=%s topic=%s after %d attempts: %s",
                notification.hub_url,
                notification.topic_url,
                attempts,
                error,
            )
            return
    else:
        retry_at = now + retry_delay(notification.attempts, jitter())
        if outbox.failed(pk, generation, error, retry_at):
            report.failed.append(notification)
            log.warning(
                "websub failed hub=%s topic=%s attempt=%d next_attempt_at=%s: %s",
                notification.hub_url,
                notification.topic_url,
                attempts,
                retry_at.isoformat(),
                error,
            )
            return
    # A newer change was enqueued while this one was being sent: it is due now, with its
    # attempts counted afresh, and this older failure must not delay it.
    report.failed.append(notification)
    log.warning(
        "websub failed hub=%s topic=%s: %s; a newer change is queued and due",
        notification.hub_url,
        notification.topic_url,
        error,
    )


@dataclass(frozen=True)
class Failure:
    """Why a notification was not delivered.

    ``refused`` is true when the hub answered and refused the notification itself (a 4xx
    other than 408 and 429, RFC 9110 section 15.5), or its URL cannot be used at all:
    repeating the same request will not help, so such failures count towards
    ``websub_max_attempts``. Any other failure (the hub is unavailable for now, or an
    unexpected error, which is logged with its traceback) is retried until it succeeds.
    """

    message: str
    refused: bool = False


# Client errors that say "not now" rather than "no" (RFC 9110 section 15.5.9, RFC 6585
# section 4): the hub is busy or slow, and the notification is retried like any outage.
_RETRYABLE_CLIENT_ERRORS = frozenset({408, 429})


def refuses_notification(status_code: int) -> bool:
    """Whether a hub's answer refuses the notification for good (not a passing failure)."""
    return 400 <= status_code < 500 and status_code not in _RETRYABLE_CLIENT_ERRORS


_Outcome = tuple[Notification, Failure | None]
#: What :func:`send_in_order` sends: a notification, a webhook delivery.
Sent = TypeVar("Sent")


def _send_all(
    client: httpx.Client, notifications: list[Notification], timeout: float
) -> list[_Outcome]:
    by_hub: dict[str, list[Notification]] = {}
    for notification in notifications:
        by_hub.setdefault(notification.hub_url, []).append(notification)
    if len(by_hub) == 1:
        return _send_to_hub(client, notifications, timeout)
    # One thread per hub, so a slow hub does not delay the others' notifications.
    with ThreadPoolExecutor(max_workers=min(len(by_hub), 8)) as pool:
        batches = pool.map(lambda batch: _send_to_hub(client, batch, timeout), by_hub.values())
        return [outcome for batch in batches for outcome in batch]


def _send_to_hub(
    client: httpx.Client, notifications: list[Notification], timeout: float
) -> list[_Outcome]:
    """POST each notification to its (single, shared) hub; ``None`` marks a success."""

    def publish(notification: Notification) -> httpx.Response:
        # WebSub section 6 and its note: a form-encoded POST, hub.mode=publish and
        # hub.url=<topic>. Any 2xx is success (hubs answer 204 No Content).
        return client.post(
            notification.hub_url,
            data={"hub.mode": "publish", "hub.url": notification.topic_url},
            timeout=timeout,
        )

    return send_in_order(
        notifications,
        publish,
        "hub",
        lambda notification: f"hub={notification.hub_url} topic={notification.topic_url}",
    )


def send_in_order(
    items: list[Sent],
    send: Callable[[Sent], httpx.Response | None],
    receiver: str,
    describe: Callable[[Sent], str],
) -> list[tuple[Sent, Failure | None]]:
    """Send ``items`` to one receiver (a hub, a webhook) in order, each once; pair each
    with its failure, ``None`` for a success (any 2xx, or nothing to send). Once the
    receiver is unreachable the rest are not sent and fail alike (it, not they, is the
    problem); an answer that refuses an item (:func:`refuses_notification`) or a URL that
    cannot be sent to marks it refused; any other error is retried like an outage, and
    logged with ``describe(item)``."""
    import httpx  # see hub_client

    outcomes: list[tuple[Sent, Failure | None]] = []
    unreachable: str | None = None
    for item in items:
        if unreachable is not None:
            message = f"not sent, the {receiver} was unreachable: {unreachable}"
            outcomes.append((item, Failure(message)))
            continue
        try:
            response = send(item)
        except httpx.TransportError as error:
            # Timed out, refused, reset, DNS: the receiver, not this item, is the problem.
            unreachable = f"{type(error).__name__}: {error}"
            outcomes.append((item, Failure(unreachable)))
            continue
        except httpx.InvalidURL as error:
            # A URL that cannot be sent to: repeating the request will not help.
            message = f"{type(error).__name__}: {error}"
            outcomes.append((item, Failure(message, refused=True)))
            continue
        except Exception as error:
            # Neither the receiver's answer nor an outage (an answer that cannot be
            # decoded, a fault of ours): retried like an outage, never dropped, and
            # never silent.
            log.exception("%s delivery failed unexpectedly %s", receiver, describe(item))
            outcomes.append((item, Failure(f"{type(error).__name__}: {error}")))
            continue
        if response is None or response.is_success:
            outcomes.append((item, None))
        else:
            body = response.text[:_ERROR_BODY_CHARS].strip()
            message = f"HTTP {response.status_code}: {body}"
            refused = refuses_notification(response.status_code)
            outcomes.append((item, Failure(message, refused=refused)))
    return outcomes
