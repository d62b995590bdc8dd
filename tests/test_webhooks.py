"""Webhooks against a real receiver on 127.0.0.1 that checks every signature with its own
implementation of Standard Webhooks, on SQLite and PostgreSQL: the events a write makes
arrive signed, are retried like WebSub notices with the same id, and the purge presets
call a stand-in of each CDN's API."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.errors import InvalidInput
from app.errors import WebhookNameTaken
from app.jobs import deliver_webhook_events
from app.notifying import retry_delay
from app.services import Services
from app.services import build_services
from app.surrogate_keys import article_key
from app.webhook_delivery import WebhookReport
from app.webhook_delivery import deliver_webhooks
from app.webhook_delivery import webhook_client
from app.webhook_events import signature
from tests.conftest import BASE_URL
from tests.conftest import Cli
from tests.conftest import FakeClock
from tests.factories import article_input
from tests.webhookreceiver import Received
from tests.webhookreceiver import WebhookReceiver
from tests.webhookreceiver import verify

MAX_ATTEMPTS = 3


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    return {
        **overrides,
        "webhooks_timeout_seconds": 2.0,
        "webhooks_max_attempts": MAX_ATTEMPTS,
        "cdn_fastly_service_id": "SU1Z0isxPaozGVKXdv0eY",
        "cdn_fastly_key": "fastly-test-key",
        "cdn_cloudflare_zone_id": "023e105f4ecef8ad9ca31a8372d0c353",
        "cdn_cloudflare_token": "cloudflare-test-token",
    }


@pytest.fixture
def http(services: Services) -> Iterator[httpx.Client]:
    with webhook_client(services.settings) as client:
        yield client


def deliver(services: Services, http: httpx.Client, clock: FakeClock) -> WebhookReport:
    """One scheduler pass, without jitter (the longest delay each time)."""
    return deliver_webhooks(services.database, services.settings, clock(), http, jitter=lambda: 1.0)


def signed_events(receiver: WebhookReceiver, secret: str, clock: FakeClock) -> list[Any]:
    """The bodies received, each checked to be signed with ``secret``."""
    for got in receiver.received:
        assert verify(secret, got.headers, got.body, clock().timestamp()), got.headers
    return [got.json() for got in receiver.received]


@pytest.mark.postgres
def test_a_write_s_events_arrive_signed_in_order(
    services: Services, receiver: WebhookReceiver, http: httpx.Client, clock: FakeClock
) -> None:
    _, secret = services.webhooks.add("index", clock(), url=receiver.url + "/hooks")
    assert secret is not None and secret.startswith("whsec_")
    article = services.articles.create_article(article_input(published_at=clock()), clock())
    for _ in range(2):  # the feeds, then the sitemaps (within a second after them)
        clock.advance(seconds=1)
        services.renderer.render_due_feeds(clock())
    report = deliver(services, http, clock)
    assert report.failed == [] and report.abandoned == []

    events = signed_events(receiver, secret, clock)
    assert {got.path for got in receiver.received} == {"/hooks"}
    assert events[0]["type"] == "article.published"
    data = events[0]["data"]
    assert data["id"] == article.id and data["key"] == article_key(article.id)
    assert data["url"] == f"{BASE_URL}/articles/{article.slug}"
    assert data["status"] == "published" and data["title"] == article.title
    changed = {event["data"]["feed"]: event["data"] for event in events[1:]}
    assert {event["type"] for event in events[1:]} == {"feed.changed"}
    assert changed["site"]["key"] == "feed-site"
    assert changed["site"]["changed"] == sorted(
        f"{BASE_URL}/feed.{fmt}" for fmt in ("atom", "json", "rss")
    )
    assert changed["category/politica"]["key"] == "feed-category-politica"
    assert "sitemap/index" in changed  # sitemaps are announced as feeds are
    assert len({got.headers["webhook-id"] for got in receiver.received}) == len(events)

    services.articles.update_article(article.id, {"title": "Outro título"}, None, clock())
    services.articles.delete_article(article.id, None, clock())
    before = len(receiver.received)
    deliver(services, http, clock)
    later = signed_events(receiver, secret, clock)[before:]
    assert [event["type"] for event in later] == ["article.updated", "article.deleted"]
    assert later[0]["data"]["title"] == "Outro título"
    assert later[1]["data"]["status"] == "deleted"
    assert services.webhooks.pending() == []


@pytest.mark.postgres
def test_drafts_are_nobody_s_news_and_a_scheduled_article_is_announced_on_time(
    services: Services, receiver: WebhookReceiver, http: httpx.Client, clock: FakeClock
) -> None:
    services.webhooks.add(
        "articles", clock(), url=receiver.url, events=["article.published,article.updated"]
    )
    draft = services.articles.create_article(article_input(title="Rascunho"), clock())
    services.articles.update_article(draft.id, {"summary": "Ainda não."}, None, clock())
    later = clock() + timedelta(hours=2)
    scheduled = services.articles.create_article(
        article_input(title="Agendada", published_at=later), clock()
    )
    services.renderer.render_due_feeds(clock())
    assert services.webhooks.pending() == []  # no feed.changed either: not asked for

    clock.advance(hours=2, seconds=1)
    services.renderer.render_due_feeds(clock())
    deliver(services, http, clock)
    assert [(got.json()["type"], got.json()["data"]["id"]) for got in receiver.received] == [
        ("article.published", scheduled.id)
    ]


@pytest.mark.postgres
def test_a_failing_receiver_gets_retries_with_backoff_under_one_id(
    services: Services, receiver: WebhookReceiver, http: httpx.Client, clock: FakeClock
) -> None:
    _, secret = services.webhooks.add("flaky", clock(), url=receiver.url, events=["all"])
    assert secret is not None
    services.articles.create_article(article_input(published_at=clock()), clock())
    receiver.status = 500
    waits = []
    for attempt in range(MAX_ATTEMPTS + 2):  # a 5xx is never final
        report = deliver(services, http, clock)
        assert [d.event_type for d in report.failed] == ["article.published"]
        (waiting,) = services.webhooks.pending()
        assert waiting.attempts == attempt + 1 and "HTTP 500" in (waiting.last_error or "")
        waits.append(waiting.next_attempt_at - clock())
        assert deliver(services, http, clock).failed == []  # not due again yet
        clock.advance(seconds=waits[-1].total_seconds())
    assert waits == [retry_delay(n, 1.0) for n in range(MAX_ATTEMPTS + 2)]

    receiver.status = 200
    assert len(deliver(services, http, clock).delivered) == 1
    assert services.webhooks.pending() == []
    ids = {got.headers["webhook-id"] for got in receiver.received}
    stamps = [got.headers["webhook-timestamp"] for got in receiver.received]
    assert len(ids) == 1 and len(set(stamps)) == len(stamps) == MAX_ATTEMPTS + 3
    assert len({got.body for got in receiver.received}) == 1  # the same bytes every time
    signed_events(receiver, secret, clock)  # each attempt signed for its own timestamp


@pytest.mark.postgres
def test_a_refused_event_is_dropped_at_the_last_attempt(
    services: Services,
    receiver: WebhookReceiver,
    http: httpx.Client,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    services.webhooks.add("strict", clock(), url=receiver.url, events=["article.published"])
    services.articles.create_article(article_input(published_at=clock()), clock())
    receiver.status = 422
    for _ in range(MAX_ATTEMPTS - 1):
        assert len(deliver(services, http, clock).failed) == 1
        clock.advance(hours=2)
    with caplog.at_level(logging.ERROR, logger="app.webhook_delivery"):
        report = deliver(services, http, clock)
    assert [d.event_type for d in report.abandoned] == ["article.published"]
    assert services.webhooks.pending() == []
    assert "webhook gave up webhook=strict" in caplog.text
    assert len(receiver.received) == MAX_ATTEMPTS


@pytest.mark.postgres
def test_the_scheduler_job_delivers_and_an_unreachable_receiver_keeps_its_events(
    services: Services, receiver: WebhookReceiver, http: httpx.Client, clock: FakeClock
) -> None:
    services.webhooks.add("gone", clock(), url="http://127.0.0.1:9/nothing-listens")
    services.webhooks.add("here", clock(), url=receiver.url, events=["article.published"])
    services.articles.create_article(article_input(published_at=clock()), clock())
    deliver_webhook_events(services, http)
    assert [got.json()["type"] for got in receiver.received] == ["article.published"]
    (kept,) = services.webhooks.pending()
    assert kept.webhook.name == "gone" and kept.attempts == 1
    assert services.webhooks.remove("gone") == 1
    assert services.webhooks.pending() == []


@pytest.mark.postgres
def test_fastly_is_asked_to_purge_by_surrogate_key(
    services: Services, receiver: WebhookReceiver, http: httpx.Client, clock: FakeClock
) -> None:
    services.webhooks.add("cdn", clock(), url=receiver.url, preset="fastly")
    article = services.articles.create_article(article_input(published_at=clock()), clock())
    services.renderer.render_due_feeds(clock())
    deliver(services, http, clock)
    purges: list[Received] = receiver.received
    assert {got.path for got in purges} == {"/service/SU1Z0isxPaozGVKXdv0eY/purge"}
    assert {got.headers["fastly-key"] for got in purges} == {"fastly-test-key"}
    keys = [got.headers["surrogate-key"] for got in purges]
    assert keys[0] == article_key(article.id)
    assert {"feed-site", "feed-category-politica", "feed-tag-orcamento"} <= set(keys)
    assert all("webhook-signature" not in got.headers for got in purges)


@pytest.mark.postgres
def test_cloudflare_is_asked_to_purge_by_cache_tag(
    services: Services, receiver: WebhookReceiver, http: httpx.Client, clock: FakeClock
) -> None:
    services.webhooks.add(
        "cf", clock(), url=receiver.url + "/client/v4", preset="cloudflare", events=["all"]
    )
    article = services.articles.create_article(article_input(published_at=clock()), clock())
    services.articles.delete_article(article.id, None, clock())
    deliver(services, http, clock)
    purges = receiver.received
    assert {got.path for got in purges} == {
        "/client/v4/zones/023e105f4ecef8ad9ca31a8372d0c353/purge_cache"
    }
    assert {got.headers["authorization"] for got in purges} == {"Bearer cloudflare-test-token"}
    assert [got.json() for got in purges] == [{"tags": [article_key(article.id)]}] * 2


def test_bad_webhooks_are_refused_with_every_field_named(
    services: Services, clock: FakeClock
) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.webhooks.add(
            "no spaces", clock(), url="http://hooks.example.org/x", events=["article.eaten"],
            secret="not-a-secret",
        )  # fmt: skip
    fields = {error.field: error.message for error in refused.value.errors}
    assert set(fields) == {"name", "url", "events", "secret"}
    assert "https" in fields["url"] and "article.eaten" in fields["events"]
    with pytest.raises(InvalidInput) as missing:
        services.webhooks.add("signed-without-url", clock())
    assert [error.field for error in missing.value.errors] == ["url"]
    services.webhooks.add("ok", clock(), url="https://hooks.example.org/x")
    with pytest.raises(WebhookNameTaken):
        services.webhooks.add("ok", clock(), url="https://hooks.example.org/y")


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {
        "BROADSHEET_DATABASE_URL": database_url,
        "BROADSHEET_LOG_LEVEL": "WARNING",
        "BROADSHEET_SITE_BASE_URL": BASE_URL,
    }


@pytest.mark.postgres
def test_webhooks_are_added_listed_and_removed_on_the_command_line(
    cli: Cli, env: dict[str, str]
) -> None:
    added = cli(env, "webhook", "add", "--name", "index", "--url", "https://hooks.example.org/in",
                "--events", "article.published", "--events", "feed.changed")  # fmt: skip
    assert added.exit_code == 0, added.output
    secret = added.stdout.strip()
    assert secret.startswith("whsec_") and "not shown again" in added.stderr
    given = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    again = cli(env, "webhook", "add", "--name", "mine", "--url", "http://localhost:9000/h",
                "--secret", given)  # fmt: skip
    assert again.exit_code == 0 and again.stdout == "", again.output

    listing = cli(env, "webhook", "list")
    assert listing.exit_code == 0, listing.output
    first, second = (line.split("\t") for line in listing.stdout.splitlines())
    assert first == [
        "index", "signed", "https://hooks.example.org/in", "article.published,feed.changed",
        "created 2026-11-02 12:00 UTC", "0 waiting",
    ]  # fmt: skip
    assert second[:2] == ["mine", "signed"] and secret not in listing.output

    cdn = {**env, "BROADSHEET_CDN_FASTLY_SERVICE_ID": "svc", "BROADSHEET_CDN_FASTLY_KEY": "k"}
    fastly = cli(cdn, "webhook", "add", "--name", "fastly", "--preset", "fastly")
    assert fastly.exit_code == 0 and fastly.stdout == "", fastly.output
    assert cli(env, "webhook", "list").stdout.splitlines()[2].split("\t")[:4] == [
        "fastly", "fastly", "https://api.fastly.com", "all"
    ]  # fmt: skip

    removed = cli(env, "webhook", "remove", "index")
    assert removed.exit_code == 0 and "removed" in removed.stdout
    assert [line.split("\t")[0] for line in cli(env, "webhook", "list").stdout.splitlines()] == [
        "mine",
        "fastly",
    ]


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--url", "http://hooks.example.org/in"], "must use https"),
        (["--url", "https://hooks.example.org/in", "--secret", "whsec_c2hvcnQ="], "24 to 64"),
        (["--url", "https://hooks.example.org/in", "--events", "article.read"], "article.read"),
        (["--preset", "fastly"], "cdn_fastly_service_id, cdn_fastly_key"),
        (["--url", "ftp://hooks.example.org/in"], "absolute https URL"),
    ],
)
def test_a_bad_webhook_on_the_command_line_is_a_message_and_a_failure(
    cli: Cli, env: dict[str, str], arguments: list[str], said: str
) -> None:
    result = cli(env, "webhook", "add", "--name", "bad", *arguments)
    assert result.exit_code != 0
    assert said in result.output and "Traceback" not in result.output
    assert cli(env, "webhook", "list").stdout == ""
    missing = cli(env, "webhook", "remove", "nobody")
    assert missing.exit_code != 0 and "No webhook is named 'nobody'" in missing.output


def test_signatures_match_the_standard_webhooks_test_vector() -> None:
    """The specification's published example: the sender reproduces it, and the
    receiver's own verifier accepts it (and refuses it one byte off, or too old)."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": f"v1,c29tZXRoaW5nIGVsc2U= {expected}",
    }
    assert verify(secret, headers, body, 1614265330 + 60)
    assert not verify(secret, headers, body + b" ", 1614265330)
    assert not verify(secret, headers, body, 1614265330 + 3600)


@pytest.mark.postgres
def test_two_schedulers_deliver_each_event_once(
    services: Services,
    receiver: WebhookReceiver,
    clock: FakeClock,
    overrides: dict[str, Any],
) -> None:
    services.webhooks.add("index", clock(), url=receiver.url)
    for index in range(6):
        services.articles.create_article(
            article_input(title=f"Notícia {index}", published_at=clock()), clock()
        )
    others = [build_services(overrides, clock=clock, environ={}) for _ in range(2)]
    barrier = threading.Barrier(len(others))

    def tick(other: Services) -> None:
        with webhook_client(other.settings) as client:
            barrier.wait(timeout=10)
            deliver_webhooks(other.database, other.settings, clock(), client, limit=4)

    threads = [threading.Thread(target=tick, args=(other,)) for other in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for other in others:
        other.database.dispose()
    ids = [got.headers["webhook-id"] for got in receiver.received]
    assert len(ids) == len(set(ids)) == 6
    assert services.webhooks.pending() == []
