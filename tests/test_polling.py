"""Who polls: counts per feed and client family, subscribers, and 429 for rude pollers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from app.web.application import close_app
from app.web.application import create_app
from app.web.polling import UNKNOWN_FAMILIES_PER_FEED_DAY
from app.web.polling import PollRecorder
from app.web.polling import client_family
from app.web.polling import reported_subscribers
from tests.conftest import Cli
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.factories import article_input
from tests.live import LiveServer
from tests.live import serve

FEEDLY = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 120 subscribers; feed-id=abc)"
NEWSBLUR = "NewsBlur Feed Fetcher - 31 subscribers - https://www.newsblur.com/site/1/x"


@pytest.mark.parametrize(
    ("agent", "family", "subscribers"),
    [
        (FEEDLY, "Feedly", 120),
        (NEWSBLUR, "NewsBlur", 31),
        ("Mozilla/5.0 (compatible; Miniflux/2.1.0; +https://miniflux.app)", "Miniflux", None),
        ("FreshRSS/1.24.0 (Linux; https://freshrss.org)", "FreshRSS", None),
        ("Inoreader/1.0 (+http://www.inoreader.com/feed-fetcher; 4 subscribers; )", "Inoreader", 4),
        ("Feedbin feed-id:1373711 - 142 subscribers", "Feedbin", 142),
        (
            "Mozilla/5.0 (compatible; theoldreader.com; 1 subscriber; feed-id=9)",
            "The Old Reader",
            1,
        ),
        (
            "PlainFeeder v0.0.1 (+http://plainfeeder.com/about ; Subscriber Count: 12)",
            "PlainFeeder",
            12,
        ),
        ("NetNewsWire (RSS Reader; https://netnewswire.com/)", "NetNewsWire", None),
        ("curl/8.5.0", "curl", None),
        ("SomeBot/3.2 (+https://bot.example)", "SomeBot", None),
        ("", "unknown", None),
    ],
)
def test_user_agents_are_named_and_their_subscribers_read(
    agent: str, family: str, subscribers: int | None
) -> None:
    assert client_family(agent) == family
    assert reported_subscribers(agent) == subscribers


@pytest.fixture
def overrides(database_url: str) -> dict[str, Any]:
    return settings_for(database_url, polite_enabled=True, polite_min_interval_seconds=60)


@pytest.fixture
def live(app: Flask, clock: FakeClock) -> Iterator[LiveServer]:
    articles = app.extensions["broadsheet"].articles
    renderer = app.extensions["broadsheet"].renderer
    articles.create_article(article_input(published_at=clock() - timedelta(hours=1)), clock())
    renderer.render_due_feeds(clock())
    with serve(app) as server:
        yield server


def test_a_rude_poller_gets_429_and_a_polite_one_never(live: LiveServer, clock: FakeClock) -> None:
    rude = {"User-Agent": "Hammer/1.0"}
    first = live.request("GET", "/feed.rss", rude)
    assert first.status == 200
    clock.advance(seconds=20)
    second = live.request("GET", "/feed.rss", rude)
    assert second.status == 429
    # The feed may change in 120 s (its max-age, the regeneration interval), but the
    # client's interval ends sooner: 60 - 20 s.
    assert second.headers["retry-after"] == "40"
    conditional = {**rude, "If-None-Match": first.headers["etag"]}
    for _ in range(5):
        assert live.request("GET", "/feed.rss", conditional).status == 304
    assert live.request("GET", "/feed.atom", rude).status == 200  # limits are per feed
    assert live.request("GET", "/feed.rss", {"User-Agent": "Other/2"}).status == 200
    clock.advance(seconds=40)
    assert live.request("GET", "/feed.rss", rude).status == 200


def test_polls_are_counted_per_feed_and_client(
    app: Flask, live: LiveServer, clock: FakeClock, overrides: dict[str, Any], cli: Cli
) -> None:
    first = live.request("GET", "/feed.rss", {"User-Agent": FEEDLY})
    for _ in range(3):
        again = {"User-Agent": FEEDLY, "If-None-Match": first.headers["etag"]}
        assert live.request("GET", "/feed.rss", again).status == 304
    live.request("GET", "/feed.rss", {"User-Agent": NEWSBLUR})
    live.request("GET", "/feed.rss", {"User-Agent": NEWSBLUR})  # 429: unconditional again
    app.extensions["broadsheet_polls"].recorder.flush()

    stats = app.extensions["broadsheet"].feeds.poll_stats(clock())
    rss = next(feed for feed in stats if feed.feed_key == "site:rss")
    assert rss.requests == 6
    assert rss.not_modified == 3
    assert rss.throttled == 1
    assert rss.bytes_sent == 2 * len(first.body)
    assert rss.subscribers == 151
    assert {client.family: client.requests for client in rss.clients} == {
        "Feedly": 4,
        "NewsBlur": 2,
    }

    env = {"BROADSHEET_DATABASE_URL": overrides["database_url"]}
    output = cli(env, "stats").stdout
    assert "site:rss" in output
    assert "Feedly" in output and "(120 subs)" in output


def test_the_stats_endpoint_needs_a_token(
    app: Flask, live: LiveServer, auth: dict[str, str]
) -> None:
    live.request("GET", "/feed.json", {"User-Agent": FEEDLY})
    app.extensions["broadsheet_polls"].recorder.flush()
    assert live.request("GET", "/api/v1/stats").status == 401
    response = live.request("GET", "/api/v1/stats?days=7", auth)
    assert response.status == 200
    body = json.loads(response.body)
    assert body["days"] == 7
    feed = next(item for item in body["feeds"] if item["feed"] == "site:json")
    assert feed["requests"] == 1
    assert feed["subscribers"] == 120
    assert feed["clients"][0]["family"] == "Feedly"


def _publish(app: Flask, clock: FakeClock, title: str) -> None:
    articles = app.extensions["broadsheet"].articles
    renderer = app.extensions["broadsheet"].renderer
    articles.create_article(article_input(title=title, published_at=clock()), clock())
    renderer.render_due_feeds(clock())


def test_a_feed_that_changed_is_never_throttled(
    app: Flask, live: LiveServer, clock: FakeClock
) -> None:
    # A WebSub hub fetches unconditionally each time it is pinged; two changes within the
    # interval must both reach it.
    hub = {"User-Agent": "WebSub hub stand-in/1.0"}
    first = live.request("GET", "/feed.atom", hub)
    clock.advance(seconds=1)
    assert live.request("GET", "/feed.atom", hub).status == 429  # same bytes
    _publish(app, clock, "Primeira mudança")
    second = live.request("GET", "/feed.atom", hub)
    assert second.status == 200
    assert second.headers["etag"] != first.headers["etag"]
    clock.advance(seconds=1)
    assert live.request("GET", "/feed.atom", hub).status == 429  # second's bytes again
    _publish(app, clock, "Segunda mudança")
    third = live.request("GET", "/feed.atom", hub)
    assert third.status == 200
    assert third.headers["etag"] not in (first.headers["etag"], second.headers["etag"])
    assert b"Segunda" in third.body


@pytest.mark.parametrize(
    ("regenerate_seconds", "expected"),
    [
        (120, "40"),  # the feed may change in 120 s; the client's interval ends in 40 s
        (30, "30"),  # the feed may change (is regenerated) within 30 s: come back then
    ],
)
def test_retry_after_is_the_time_until_the_feed_can_next_change(
    database_url: str, clock: FakeClock, regenerate_seconds: int, expected: str
) -> None:
    overrides = settings_for(
        database_url,
        polite_enabled=True,
        polite_min_interval_seconds=60,
        feed_regenerate_seconds=regenerate_seconds,
    )
    app = create_app(overrides, clock=clock, environ={})
    try:
        _publish(app, clock, "Publicada")
        with serve(app) as server:
            assert server.request("GET", "/feed.rss").status == 200
            clock.advance(seconds=20)
            throttled = server.request("GET", "/feed.rss")
            assert throttled.status == 429
            assert throttled.headers["retry-after"] == expected
    finally:
        close_app(app)


def test_retry_after_ends_at_the_next_scheduled_publication(
    app: Flask, live: LiveServer, clock: FakeClock
) -> None:
    articles = app.extensions["broadsheet"].articles
    renderer = app.extensions["broadsheet"].renderer
    scheduled = article_input(title="Agendada", published_at=clock() + timedelta(seconds=25))
    articles.create_article(scheduled, clock())
    _publish(app, clock, "Publicada agora")  # a render that changes the feed's bytes
    assert live.request("GET", "/feed.rss").status == 200
    clock.advance(seconds=5)
    throttled = live.request("GET", "/feed.rss")
    assert throttled.status == 429
    # The feed changes when the article is published, 20 s from now (not 55 s).
    assert throttled.headers["retry-after"] == "20"
    clock.advance(seconds=25)
    renderer.render_due_feeds(clock())
    published = live.request("GET", "/feed.rss")
    assert published.status == 200
    assert b"Agendada" in published.body


@pytest.mark.parametrize(
    ("trusted_proxies", "second_client_status"),
    [
        (1, 200),  # each reader behind the proxy has a budget of its own
        (0, 429),  # X-Forwarded-For is not trusted: one address, one budget
    ],
)
def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    database_url: str, clock: FakeClock, trusted_proxies: int, second_client_status: int
) -> None:
    overrides = settings_for(
        database_url,
        polite_enabled=True,
        polite_min_interval_seconds=60,
        server_trusted_proxies=trusted_proxies,
    )
    app = create_app(overrides, clock=clock, environ={})
    try:
        _publish(app, clock, "Publicada")
        with serve(app) as server:
            # A proxy on 127.0.0.1 appends each reader's address; the readers send the
            # same common User-Agent.
            def fetch(forwarded_for: str) -> int:
                headers = {"User-Agent": "Mozilla/5.0", "X-Forwarded-For": forwarded_for}
                return server.request("GET", "/feed.rss", headers).status

            assert fetch("203.0.113.7") == 200
            assert fetch("198.51.100.9") == second_client_status
            # Only the entry the trusted proxy wrote counts: a forged earlier one does not
            # buy a reader another budget.
            assert fetch("192.0.2.1, 203.0.113.7") == 429
    finally:
        close_app(app)


def flush_counts(app: Flask) -> None:
    """Write every count so far, including those a background flush is writing (a poll
    after the fake clock moved past stats.flush_seconds starts one)."""
    for thread in threading.enumerate():
        if thread.name == "poll-stats-flush":
            thread.join(timeout=10)
    app.extensions["broadsheet_polls"].recorder.flush()


def test_subscribers_are_summed_over_an_aggregators_records_each_at_its_latest_count(
    app: Flask, live: LiveServer, clock: FakeClock
) -> None:
    def poll(agent: str) -> None:
        # Conditional: these tests are about counting, not politeness.
        live.request("GET", "/feed.rss", {"User-Agent": agent, "If-None-Match": '"x"'})

    # Feedly polls this feed for two of its feed records, each with its own readers.
    poll("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 120 subscribers; feed-id=1)")
    poll("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 7 subscribers; feed-id=2)")
    poll("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 118 subscribers; feed-id=1)")
    flush_counts(app)
    clock.advance(hours=1)
    poll("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 121 subscribers; feed-id=1)")
    poll("Feedbin feed-id:1373711 - 142 subscribers")
    flush_counts(app)

    stats = app.extensions["broadsheet"].feeds.poll_stats(clock())
    rss = next(feed for feed in stats if feed.feed_key == "site:rss")
    by_family = {client.family: client.subscribers for client in rss.clients}
    assert by_family == {"Feedly": 121 + 7, "Feedbin": 142}
    assert rss.subscribers == 121 + 7 + 142

    # A record that stopped polling stops counting once it falls out of the period.
    clock.advance(days=3)
    poll("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 122 subscribers; feed-id=1)")
    flush_counts(app)
    recent = app.extensions["broadsheet"].feeds.poll_stats(clock(), days=2)
    rss = next(feed for feed in recent if feed.feed_key == "site:rss")
    assert {client.family: client.subscribers for client in rss.clients}["Feedly"] == 122


def test_client_families_are_counted_per_day_like_the_totals(
    app: Flask, live: LiveServer, clock: FakeClock, auth: dict[str, str]
) -> None:
    def poll(agent: str) -> None:
        live.request("GET", "/feed.rss", {"User-Agent": agent, "If-None-Match": '"x"'})

    poll(FEEDLY)
    poll(FEEDLY)
    clock.advance(days=3)
    poll(NEWSBLUR)
    poll(FEEDLY)
    flush_counts(app)

    def families(days: int) -> dict[str, int]:
        body = json.loads(live.request("GET", f"/api/v1/stats?days={days}", auth).body)
        feed = next(item for item in body["feeds"] if item["feed"] == "site:rss")
        assert sum(client["requests"] for client in feed["clients"]) == feed["requests"]
        return {client["family"]: client["requests"] for client in feed["clients"]}

    assert families(2) == {"NewsBlur": 1, "Feedly": 1}
    assert families(30) == {"Feedly": 3, "NewsBlur": 1}


def test_rare_families_beyond_a_bound_per_feed_and_day_count_as_other(
    app: Flask, live: LiveServer, clock: FakeClock
) -> None:
    def poll(agent: str) -> None:
        live.request("GET", "/feed.rss", {"User-Agent": agent, "If-None-Match": '"x"'})

    for number in range(UNKNOWN_FAMILIES_PER_FEED_DAY + 5):
        poll(f"Bot{number}/1.0")
    poll("Bot0/1.0")  # admitted already: keeps its name
    poll(FEEDLY)  # a known family is always named
    flush_counts(app)

    [rss] = [
        f
        for f in app.extensions["broadsheet"].feeds.poll_stats(clock())
        if f.feed_key == "site:rss"
    ]
    families = {client.family: client.requests for client in rss.clients}
    assert len(families) == UNKNOWN_FAMILIES_PER_FEED_DAY + 2
    assert families["other"] == 5
    assert families["Bot0"] == 2
    assert families["Feedly"] == 1
    assert rss.subscribers == 120

    # The next day every family gets its chance again.
    clock.advance(days=1)
    poll(f"Bot{UNKNOWN_FAMILIES_PER_FEED_DAY + 4}/1.0")
    flush_counts(app)
    [rss] = [
        f
        for f in app.extensions["broadsheet"].feeds.poll_stats(clock(), days=1)
        if f.feed_key == "site:rss"
    ]
    assert {client.family for client in rss.clients} == {f"Bot{UNKNOWN_FAMILIES_PER_FEED_DAY + 4}"}


def test_a_closed_recorder_waits_for_its_flush_and_starts_no_other(clock: FakeClock) -> None:
    """So that an app torn down (tests, tools) leaves no thread writing to its database."""
    writing, release = threading.Event(), threading.Event()
    flushed: list[int] = []

    def slow_sink(polls: list[Any], clients: list[Any], reports: list[Any]) -> None:
        writing.set()
        release.wait(10)
        flushed.append(len(polls))

    recorder = PollRecorder(slow_sink, flush_seconds=1)
    recorder.record("site:rss", 200, 10, "Feedly/1.0", clock())
    recorder.record("site:rss", 200, 10, "Feedly/1.0", clock.advance(seconds=2))  # flushes
    assert writing.wait(10)
    closing = threading.Thread(target=recorder.close)
    closing.start()
    closing.join(0.3)
    assert closing.is_alive()  # waits for the flush in progress
    release.set()
    closing.join(10)
    assert not closing.is_alive() and flushed == [1]
    before = set(threading.enumerate())
    recorder.record("site:rss", 200, 10, "Feedly/1.0", clock.advance(seconds=2))
    assert set(threading.enumerate()) - before == set()
