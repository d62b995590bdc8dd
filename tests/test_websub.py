"""WebSub publishing against a real hub stand-in on 127.0.0.1, on SQLite and PostgreSQL.

The outbox is written in the publishing transaction and delivered by the scheduler: a hub
that is slow, failing or down never slows publishing and never loses a notification.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from app.domain import SITE_SCOPE
from app.domain import FeedFormat
from app.errors import SettingsError
from app.jobs import DELIVER_WEBSUB_JOB
from app.jobs import add_jobs
from app.notifying import DeliveryReport
from app.notifying import deliver_due
from app.notifying import enqueue_notifications
from app.notifying import hub_client
from app.notifying import pending_notifications
from app.notifying import refuses_notification
from app.notifying import retry_delay
from app.services import Services
from app.settings_sources import load_settings
from app.storage.outbox import Notification
from app.storage.outbox import OutboxRepository
from tests.conftest import BASE_URL
from tests.conftest import START
from tests.conftest import FakeClock
from tests.factories import article_input
from tests.hubstandin import HubStandIn
from tests.hubstandin import Mode

TIMEOUT = 0.5
MAX_ATTEMPTS = 4
TOPIC = f"{BASE_URL}/feed.atom"
JOIN_SECONDS = 10.0


@pytest.fixture
def hub() -> Iterator[HubStandIn]:
    with HubStandIn(slow_seconds=5.0) as stand_in:
        yield stand_in


@pytest.fixture
def overrides(overrides: dict[str, Any], hub: HubStandIn) -> dict[str, Any]:
    return {
        **overrides,
        "websub_hubs": hub.url,
        "websub_timeout_seconds": TIMEOUT,
        "websub_max_attempts": MAX_ATTEMPTS,
    }


@pytest.fixture
def http(services: Services) -> Iterator[httpx.Client]:
    with hub_client(services.settings) as client:
        yield client


def enqueue(services: Services, topics: list[str], clock: FakeClock, hubs: Any = None) -> None:
    """What publishing does after a changed render: enqueue, then commit."""
    with services.database.write() as session:
        enqueue_notifications(session, hubs or services.settings.hubs, topics, clock())


def deliver(services: Services, http: httpx.Client, clock: FakeClock) -> DeliveryReport:
    """One scheduler pass, without jitter (the longest delay each time)."""
    return deliver_due(services.database, services.settings, clock(), http, jitter=lambda: 1.0)


def pending(services: Services) -> list[Notification]:
    return pending_notifications(services.database)


# -- settings -----------------------------------------------------------------------------


def test_hubs_are_parsed_from_a_comma_separated_setting() -> None:
    settings = load_settings(
        {"websub_hubs": " https://hub.example/ ,, http://other.example/hub,https://hub.example/"},
        environ={},
    )
    assert settings.hubs == ("https://hub.example/", "http://other.example/hub")
    assert load_settings(environ={}).hubs == ()


@pytest.mark.parametrize("value", ["hub.example", "ftp://hub.example/", "https://", "/hub"])
def test_a_hub_that_is_not_an_absolute_http_url_is_refused_by_name(value: str) -> None:
    with pytest.raises(SettingsError, match="websub_hubs"):
        load_settings({"websub_hubs": f"https://ok.example/,{value}"}, environ={})


@pytest.mark.parametrize(
    ("name", "value"), [("websub_timeout_seconds", 0), ("websub_max_attempts", 0)]
)
def test_websub_limits_are_checked(name: str, value: int) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value}, environ={})


def test_retry_delays_double_up_to_an_hour_and_jitter_stays_in_range() -> None:
    assert [retry_delay(n, 1.0).total_seconds() for n in range(4)] == [5, 10, 20, 40]
    assert retry_delay(30, 1.0) == timedelta(hours=1)
    assert retry_delay(0, 0.0) == timedelta(seconds=2.5)
    assert timedelta(seconds=20) <= retry_delay(3, 0.37) <= timedelta(seconds=40)


# -- delivery -----------------------------------------------------------------------------


def test_a_notification_is_a_form_post_of_publish_and_the_topic(
    services: Services, clock: FakeClock, hub: HubStandIn, http: httpx.Client
) -> None:
    enqueue(services, [TOPIC], clock)
    report = deliver(services, http, clock)
    [request] = hub.wait_for_requests(1)
    assert request.method == "POST"
    assert request.path == "/hub"
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.form == {"hub.mode": ["publish"], "hub.url": [TOPIC]}
    assert [n.topic_url for n in report.delivered] == [TOPIC]
    assert pending(services) == []
    assert deliver(services, http, clock).attempted == 0


def test_a_failing_hub_is_retried_with_growing_delays_until_it_succeeds(
    services: Services, clock: FakeClock, hub: HubStandIn, http: httpx.Client
) -> None:
    hub.set_mode("failing")
    enqueue(services, [TOPIC], clock)
    delays = []
    for attempt in range(1, MAX_ATTEMPTS):
        report = deliver(services, http, clock)
        assert len(report.failed) == 1
        [row] = pending(services)
        assert row.attempts == attempt
        assert row.last_error is not None and row.last_error.startswith("HTTP 500")
        delay = row.next_attempt_at - clock()
        delays.append(delay.total_seconds())
        # Not due yet: a pass now sends nothing.
        clock.advance(seconds=delay.total_seconds() - 1)
        assert deliver(services, http, clock).attempted == 0
        clock.advance(seconds=1)
    assert delays == [5, 10, 20]
    assert len(hub.requests) == MAX_ATTEMPTS - 1

    hub.set_mode("ok")
    report = deliver(services, http, clock)
    assert len(report.delivered) == 1
    assert pending(services) == []
    assert [r.mode for r in hub.requests] == ["failing"] * (MAX_ATTEMPTS - 1) + ["ok"]


def test_a_notification_the_hub_refuses_is_dropped_with_an_error_after_max_attempts(
    services: Services,
    clock: FakeClock,
    hub: HubStandIn,
    http: httpx.Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub.set_mode("rejecting")
    enqueue(services, [TOPIC], clock)
    reports = []
    with caplog.at_level(logging.WARNING, logger="app.notifying"):
        for _ in range(MAX_ATTEMPTS):
            reports.append(deliver(services, http, clock))
            clock.advance(hours=1)
    assert [len(r.failed) for r in reports] == [1] * (MAX_ATTEMPTS - 1) + [0]
    assert len(reports[-1].abandoned) == 1
    assert pending(services) == []
    assert len(hub.requests) == MAX_ATTEMPTS
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "gave up" in errors[0].getMessage() and TOPIC in errors[0].getMessage()


def test_an_unexpected_delivery_error_is_logged_and_retried_past_max_attempts(
    services: Services,
    clock: FakeClock,
    hub: HubStandIn,
    http: httpx.Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An answer the client cannot read says nothing about the notification: it is an
    error to fix (logged with its traceback), never the hub's refusal, so nothing is lost."""
    hub.set_mode("garbled")
    enqueue(services, [TOPIC], clock)
    with caplog.at_level(logging.WARNING, logger="app.notifying"):
        for attempt in range(1, MAX_ATTEMPTS + 3):
            report = deliver(services, http, clock)
            assert len(report.failed) == 1 and report.abandoned == []
            [row] = pending(services)
            assert row.attempts == attempt
            assert row.last_error is not None and "DecodingError" in row.last_error
            clock.advance(hours=1)
    tracebacks = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert len(tracebacks) == MAX_ATTEMPTS + 2, caplog.text
    assert all(r.exc_info and isinstance(r.exc_info[1], httpx.DecodingError) for r in tracebacks)
    assert "gave up" not in caplog.text

    hub.set_mode("ok")
    assert len(deliver(services, http, clock).delivered) == 1
    assert pending(services) == []


@pytest.mark.parametrize(
    ("status", "refused"),
    [
        *((status, True) for status in (400, 403, 404, 410)),
        *((status, False) for status in (408, 429, 500, 502, 503, 302)),
    ],
)
def test_only_a_client_error_that_is_not_about_time_refuses_a_notification(
    status: int, refused: bool
) -> None:
    assert refuses_notification(status) is refused


@pytest.mark.parametrize("mode", ["down", "failing", "slow"])
def test_a_hub_that_is_away_for_a_day_loses_no_notification(
    services: Services, clock: FakeClock, hub: HubStandIn, http: httpx.Client, mode: Mode
) -> None:
    hub.set_mode(mode)
    enqueue(services, [TOPIC], clock)
    passes = MAX_ATTEMPTS + 2 if mode == "slow" else 35  # slow passes take a timeout each
    for attempt in range(1, passes + 1):
        report = deliver(services, http, clock)
        assert len(report.failed) == 1 and report.abandoned == []
        [row] = pending(services)
        assert row.attempts == attempt
        # Backoff grows to an hour and stays there: the hub is tried again within one.
        assert row.next_attempt_at - clock() <= timedelta(hours=1)
        clock.advance(seconds=(row.next_attempt_at - clock()).total_seconds())
    if mode != "slow":
        assert clock() - START >= timedelta(hours=24)

    hub.set_mode("ok")
    report = deliver(services, http, clock)
    assert len(report.delivered) == 1
    assert pending(services) == []
    assert hub.wait_for_requests(1)[-1].field("hub.url") == TOPIC


def test_a_down_hub_loses_no_notification(
    services: Services, clock: FakeClock, hub: HubStandIn, http: httpx.Client
) -> None:
    hub.set_mode("down")
    enqueue(services, [TOPIC, f"{BASE_URL}/feed.rss"], clock)
    report = deliver(services, http, clock)
    assert len(report.failed) == 2
    rows = pending(services)
    assert [row.attempts for row in rows] == [1, 1]
    assert all(row.last_error and "ConnectError" in row.last_error for row in rows)

    hub.set_mode("ok")  # the hub comes back on the same URL
    clock.advance(seconds=5)
    report = deliver(services, http, clock)
    assert len(report.delivered) == 2
    assert sorted(r.field("hub.url") or "" for r in hub.wait_for_requests(2)) == sorted(
        [TOPIC, f"{BASE_URL}/feed.rss"]
    )
    assert pending(services) == []


def test_a_slow_hub_times_out_once_per_pass_not_once_per_topic(
    services: Services, clock: FakeClock, hub: HubStandIn, http: httpx.Client
) -> None:
    hub.set_mode("slow")
    topics = [f"{BASE_URL}/category/c{number}/feed.atom" for number in range(20)]
    enqueue(services, topics, clock)
    started = time.monotonic()
    report = deliver(services, http, clock)
    elapsed = time.monotonic() - started

    # The hub got one request: its other notifications wait for the next pass instead of
    # each timing out in turn (20 timeouts would take 10 s).
    assert len(hub.requests) == 1
    assert elapsed >= TIMEOUT * 0.8  # the pass waited for the timeout ...
    assert elapsed < len(topics) * TIMEOUT / 2, elapsed  # ... and for far fewer than 20
    assert len(report.failed) == len(topics)
    rows = pending(services)
    assert sorted(row.topic_url for row in rows) == sorted(topics)
    assert all(row.attempts == 1 for row in rows)
    assert any("Timeout" in (row.last_error or "") for row in rows)


def test_a_hub_that_has_not_answered_never_blocks_publishing(
    services: Services, clock: FakeClock, hub: HubStandIn
) -> None:
    """Publishing writes to the outbox while a delivery pass waits on a hub: it must not wait
    for that pass (no lock is held across the POST). The hub holds its answer until the
    enqueue is done, so the order is certain however busy the machine."""
    patient = services.settings.model_copy(update={"websub_timeout_seconds": 60.0})
    enqueue(services, [TOPIC], clock)
    reports: list[DeliveryReport] = []
    hub.hold()
    with hub_client(patient) as client:
        worker = threading.Thread(
            target=lambda: reports.append(deliver_due(services.database, patient, clock(), client))
        )
        worker.start()
        try:
            hub.wait_for_requests(1, timeout=10)  # the pass is now waiting on the hub
            enqueue(services, [f"{BASE_URL}/tag/creches/feed.atom"], clock)
            assert worker.is_alive(), "the pass ended before the hub answered"
        finally:
            hub.release()
            worker.join(JOIN_SECONDS)
    assert not worker.is_alive()
    [report] = reports
    assert [n.topic_url for n in report.delivered] == [TOPIC]
    assert [row.topic_url for row in pending(services)] == [f"{BASE_URL}/tag/creches/feed.atom"]


def test_hubs_are_notified_in_parallel(
    services: Services, clock: FakeClock, hub: HubStandIn
) -> None:
    """Each hub gets its notification while the other has not answered yet: one at a time,
    the second request would wait for the first answer, which is held until both arrive."""
    patient = services.settings.model_copy(update={"websub_timeout_seconds": 60.0})
    reports: list[DeliveryReport] = []
    with HubStandIn() as other, hub_client(patient) as client:
        enqueue(services, [TOPIC], clock, hubs=[hub.url, other.url])
        hub.hold()
        other.hold()
        worker = threading.Thread(
            target=lambda: reports.append(deliver_due(services.database, patient, clock(), client))
        )
        worker.start()
        try:
            for stand_in in (hub, other):
                assert stand_in.wait_for_requests(1, timeout=10)[0].field("hub.url") == TOPIC
        finally:
            hub.release()
            other.release()
            worker.join(JOIN_SECONDS)
    assert not worker.is_alive()
    [report] = reports
    assert sorted(n.hub_url for n in report.delivered) == sorted([hub.url, other.url])


# -- coalescing and races -----------------------------------------------------------------


def test_two_enqueues_of_a_topic_coalesce_into_one_newer_row(
    services: Services, clock: FakeClock, hub: HubStandIn, http: httpx.Client
) -> None:
    hub.set_mode("failing")
    enqueue(services, [TOPIC], clock)
    deliver(services, http, clock)
    [failed] = pending(services)
    assert (failed.generation, failed.attempts) == (1, 1)
    assert failed.next_attempt_at > clock()

    clock.advance(seconds=1)
    enqueue(services, [TOPIC], clock)
    [row] = pending(services)
    assert row.pk == failed.pk
    assert row.generation == 2
    assert row.attempts == 0  # a new change starts its attempts afresh, due now
    assert row.next_attempt_at == clock()
    assert row.last_error is None


def test_concurrent_enqueues_of_the_same_topic_all_succeed(
    services: Services, clock: FakeClock
) -> None:
    writers = 4
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write() -> None:
        barrier.wait(JOIN_SECONDS)
        try:
            enqueue(services, [TOPIC], clock)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    assert errors == []
    [row] = pending(services)
    assert row.generation == writers


def test_concurrent_deliverers_claim_each_notification_once(
    services: Services, clock: FakeClock
) -> None:
    topics = [f"{BASE_URL}/tag/t{number}/feed.atom" for number in range(20)]
    enqueue(services, topics, clock)
    claimers = 4
    barrier = threading.Barrier(claimers)
    claimed: list[list[Notification]] = []

    def claim() -> None:
        barrier.wait(JOIN_SECONDS)
        with services.database.write() as session:
            claimed.append(OutboxRepository(session).claim_due(clock(), 60, len(topics)))

    threads = [threading.Thread(target=claim) for _ in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    keys = [n.pk for batch in claimed for n in batch]
    assert sorted(keys) == sorted(row.pk for row in pending(services))
    assert len(keys) == len(topics)
    with services.database.write() as session:
        assert OutboxRepository(session).claim_due(clock(), 60, 100) == []


def test_a_delivery_that_raced_a_newer_change_keeps_the_newer_notification(
    services: Services, clock: FakeClock, hub: HubStandIn, http: httpx.Client
) -> None:
    enqueue(services, [TOPIC], clock)
    hub.hold()
    reports: list[DeliveryReport] = []
    worker = threading.Thread(target=lambda: reports.append(deliver(services, http, clock)))
    worker.start()
    hub.wait_for_requests(1)  # generation 1 is in flight
    enqueue(services, [TOPIC], clock)  # the feed changes again meanwhile
    hub.release()
    worker.join(JOIN_SECONDS)
    assert not worker.is_alive()

    [report] = reports
    assert report.delivered == []
    assert [n.generation for n in report.superseded] == [1]
    [row] = pending(services)
    assert (row.generation, row.attempts, row.next_attempt_at) == (2, 0, clock())

    report = deliver(services, http, clock)
    assert [n.generation for n in report.delivered] == [2]
    assert len(hub.wait_for_requests(2)) == 2
    assert pending(services) == []


def test_a_failure_that_raced_a_newer_change_does_not_delay_it(
    services: Services, clock: FakeClock
) -> None:
    enqueue(services, [TOPIC], clock)
    with services.database.write() as session:
        [claimed] = OutboxRepository(session).claim_due(clock(), 60, 10)
    enqueue(services, [TOPIC], clock)
    with services.database.write() as session:
        outbox = OutboxRepository(session)
        later = clock() + timedelta(minutes=5)
        assert not outbox.failed(claimed.pk, claimed.generation, "HTTP 500", later)
        assert not outbox.abandon(claimed.pk, claimed.generation)
        assert not outbox.delivered(claimed.pk, claimed.generation)
    [row] = pending(services)
    assert (row.generation, row.attempts, row.next_attempt_at) == (2, 0, clock())


# -- the scheduler and publishing ---------------------------------------------------------


def test_the_delivery_job_runs_every_two_seconds_when_hubs_are_configured(
    services: Services,
) -> None:
    scheduler = BackgroundScheduler()
    add_jobs(scheduler, services)
    job = scheduler.get_job(DELIVER_WEBSUB_JOB)
    assert job is not None
    assert job.trigger.interval == timedelta(seconds=2)
    assert job.coalesce is True
    assert job.max_instances == 1
    client = job.args[1]
    assert isinstance(client, httpx.Client)
    client.close()


def test_a_changed_render_notifies_every_hub_of_each_changed_feed(
    services: Services, clock: FakeClock, hub: HubStandIn, http: httpx.Client
) -> None:
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    articles.create_article(article_input(published_at=clock()), clock())
    renderer.render_due_feeds(clock())
    topics = {row.topic_url for row in pending(services)}
    assert {f"{BASE_URL}/feed.{fmt}" for fmt in ("rss", "atom", "json")} <= topics
    assert {row.hub_url for row in pending(services)} == {hub.url}
    snapshot = feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM)
    assert hub.url.encode() in snapshot.body  # advertised (WebSub section 4)

    deliver(services, http, clock)
    assert pending(services) == []
    renderer.mark_all_feeds_stale(clock())
    renderer.render_due_feeds(clock())  # same bytes: nothing to announce
    assert pending(services) == []
