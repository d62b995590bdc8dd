"""/metrics: requests counted by route (never by path, never a private feed's key) through
real HTTP, the database's gauges moving with the fake clock, the token and the separate
port, every worker of a real multi-worker server counted, and the JSON log lines of
requests and jobs. The exposition is read by prometheus_client's own parser."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from app import jobs
from app.logs import JsonFormatter
from app.metrics import Exposition
from app.storage.feeds import FeedStateRepository
from app.storage.tables import CollectionRow
from app.web.application import close_app
from app.web.application import create_app
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.live import LiveServer
from tests.live import free_port
from tests.live import serve
from tests.test_feed_profiles import publish
from tests.test_private_feeds import services_of

TOKEN = "metrics-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
FEED_RULE = "/feed.<fmt>"
SCOPED_RULE = "/<any(category, tag, author, collection):kind>/<value>/feed.<fmt>"
REQUESTS = "broadsheet_http_requests_total"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, by name and labels, as the client library reads it."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(live: LiveServer, path: str = "/metrics") -> Samples:
    response = live.request("GET", path, BEARER)
    assert response.status == 200, response.body
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.body.decode())


@contextlib.contextmanager
def metered_app(database_url: str, clock: FakeClock, **extra: Any) -> Iterator[Flask]:
    application = create_app(
        settings_for(database_url, metrics_token=TOKEN, **extra), clock=clock, environ={}
    )
    try:
        yield application
    finally:
        close_app(application)


def published(app: Flask, clock: FakeClock) -> None:
    """One article published over the API (its feeds marked as written)."""
    _, token = services_of(app).access.create_token(f"t{clock().timestamp()}", clock())
    publish(app.test_client(), {"Authorization": f"Bearer {token}"}, clock)


@pytest.mark.postgres
def test_requests_are_counted_by_route_and_status_never_by_path(
    database_url: str, clock: FakeClock
) -> None:
    with metered_app(database_url, clock) as app:
        published(app, clock)
        _, key = services_of(app).subscribers.create("agencia-x", clock())
        services_of(app).renderer.render_due_feeds(clock())
        with serve(app) as live:
            before = scrape(live)
            first = live.request("GET", "/feed.atom")  # the fast path
            etag = first.headers["etag"]
            assert live.request("GET", "/feed.atom", {"If-None-Match": etag}).status == 304
            assert live.request("HEAD", "/feed.atom").status == 200
            assert live.request("GET", "/category/educacao/feed.rss").status == 200
            assert live.request("GET", f"/private/{key}/feed.atom").status == 200  # Flask
            assert live.request("GET", "/no/such/page").status == 404
            text = live.request("GET", "/metrics", BEARER).body.decode()
    after = parse(text)

    def moved(route: str, method: str, status: str) -> float:
        labels = {"route": route, "method": method, "status": status}
        return value(after, REQUESTS, **labels) - value(before, REQUESTS, **labels)

    assert moved(FEED_RULE, "GET", "200") == 1
    assert moved(FEED_RULE, "GET", "304") == 1  # the 304 share: this over all GETs
    assert moved(FEED_RULE, "HEAD", "200") == 1
    assert moved(SCOPED_RULE, "GET", "200") == 1
    assert moved("/private/<key>/feed.<fmt>", "GET", "200") == 1
    assert moved("<unmatched>", "GET", "404") == 1
    assert moved("/metrics", "GET", "200") == 1  # the first scrape
    sent = "broadsheet_http_response_bytes_total"
    # Bytes as sent: the 304 and the HEAD send no body.
    assert value(after, sent, route=FEED_RULE) - value(before, sent, route=FEED_RULE) == len(
        first.body
    )
    assert key not in text
    routes = {dict(labels)["route"] for name, labels in after if name == REQUESTS}
    assert not any("educacao" in route or "/no/such" in route for route in routes)


@pytest.mark.postgres
def test_the_database_gauges_move_with_writes_renders_and_rebuilds(
    database_url: str, clock: FakeClock
) -> None:
    with (
        metered_app(database_url, clock, websub_hubs="https://hub.example/") as app,
        serve(app) as live,
    ):
        renderer = services_of(app).renderer
        waiting = "broadsheet_feeds_waiting"
        oldest = "broadsheet_feeds_waiting_oldest_age_seconds"
        assert value(scrape(live), waiting, reason="written") == 0
        published(app, clock)
        clock.advance(seconds=10)  # past the few seconds a reading is kept
        seen = scrape(live)
        assert value(seen, waiting, reason="written") >= 5  # site, sections, tag, author...
        # A write's time is not stored: its wait counts from the first reading that saw it.
        assert value(seen, oldest, reason="written") == 0
        clock.advance(seconds=20)
        assert value(scrape(live), oldest, reason="written") == 20
        assert ("broadsheet_feed_last_change_age_seconds", (("feed", "site:atom"),)) not in seen

        renderer.render_due_feeds(clock())
        clock.advance(seconds=10)
        rendered = scrape(live)
        assert value(rendered, waiting, reason="written") == 0
        assert value(rendered, oldest, reason="written") == 0
        age = "broadsheet_feed_last_change_age_seconds"
        assert value(rendered, age, feed="site:atom") == 10
        assert value(rendered, age, feed="category/educacao:rss") == 10
        assert not any(dict(labels).get("feed", "").startswith(("archive", "private", "/"))
                       for _, labels in rendered)  # fmt: skip
        # Each changed feed's notice waits in the outbox: no delivery job runs here.
        assert value(rendered, "broadsheet_websub_outbox_backlog") >= 5
        assert value(rendered, "broadsheet_websub_outbox_oldest_age_seconds") == 10
        assert value(rendered, "broadsheet_database_up") == 1
        assert value(rendered, "broadsheet_database_schema_current") == 1

        renderer.mark_all_feeds_stale(clock(), archives=False)
        clock.advance(seconds=30)
        stale = scrape(live)
        assert value(stale, waiting, reason="rebuild") >= 5
        assert value(stale, oldest, reason="rebuild") == 30
        assert value(stale, waiting, reason="written") == 0
        assert value(stale, age, feed="site:atom") == 40


def test_a_reading_is_kept_a_few_seconds(sqlite_url: str, clock: FakeClock) -> None:
    """Scrapes within five seconds of a reading cost no query: they show the same."""
    with metered_app(sqlite_url, clock) as app, serve(app) as live:
        assert value(scrape(live), "broadsheet_feeds_waiting", reason="written") == 0
        published(app, clock)
        clock.advance(seconds=4)
        assert value(scrape(live), "broadsheet_feeds_waiting", reason="written") == 0
        clock.advance(seconds=1)
        assert value(scrape(live), "broadsheet_feeds_waiting", reason="written") >= 5


def test_a_schema_without_the_webhook_outbox_shows_no_webhook_backlog(
    sqlite_url: str, clock: FakeClock
) -> None:
    with metered_app(sqlite_url, clock) as app, serve(app) as live:
        assert ("broadsheet_webhook_outbox_backlog", ()) in scrape(live)
        with services_of(app).database.write() as session:
            session.execute(text("DROP TABLE webhook_outbox"))
        clock.advance(seconds=10)
        samples = scrape(live)
    assert ("broadsheet_webhook_outbox_backlog", ()) not in samples
    assert ("broadsheet_websub_outbox_backlog", ()) in samples


def test_an_unreachable_database_shows_as_down(clock: FakeClock) -> None:
    port = free_port()  # nothing listens there
    with (
        metered_app(f"postgresql+psycopg://postgres@127.0.0.1:{port}/none", clock) as app,
        serve(app) as live,
    ):
        samples = scrape(live)
    assert value(samples, "broadsheet_database_up") == 0
    assert not any(name.startswith("broadsheet_feeds_waiting") for name, _ in samples)


def test_the_token_is_asked_for_and_metrics_are_off_by_default(
    sqlite_url: str, clock: FakeClock
) -> None:
    with metered_app(sqlite_url, clock) as app, serve(app) as live:
        for headers in ({}, {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": TOKEN}):
            refused = live.request("GET", "/metrics", headers)
            assert refused.status == 401
            assert refused.headers["www-authenticate"].lower().startswith("bearer")
            assert b"broadsheet_" not in refused.body
        # The scheme's name is case-insensitive (RFC 9110 section 11.1).
        assert live.request("GET", "/metrics", {"Authorization": f"bearer {TOKEN}"}).status == 200
    for extra in ({}, {"metrics_token": TOKEN, "metrics_port": free_port()}):
        # Off by default; with a port of its own, the site's port does not serve them.
        application = create_app(settings_for(sqlite_url, **extra), clock=clock, environ={})
        try:
            with serve(application) as live:
                assert live.request("GET", "/metrics", BEARER).status == 404
        finally:
            close_app(application)


def test_render_jobs_are_timed_counted_and_logged_with_a_run_id(
    sqlite_url: str, clock: FakeClock
) -> None:
    with metered_app(sqlite_url, clock) as app:
        services = services_of(app)
        published(app, clock)
        with services.database.write() as session:  # a collection that cannot be read
            session.add(CollectionRow(slug="quebrada", title="Q", definition="{not json",
                                      created_at=clock(), updated_at=clock()))  # fmt: skip
            FeedStateRepository(session).mark_dirty(["collection/quebrada"])
        exposition = Exposition()
        before = parse(exposition.render(None)[0].decode())
        lines = _json_lines_of("app", lambda: jobs.render_due_feeds(services))
    after = parse(exposition.render(None)[0].decode())
    renders = "broadsheet_feed_render_seconds_count"

    def moved(name: str, kind: str) -> float:
        return value(after, name, kind=kind) - value(before, name, kind=kind)

    assert moved(renders, "site") == 1
    assert moved(renders, "category") == 2
    assert moved("broadsheet_feed_render_failures_total", "collection") == 1
    assert lines, "the render logged nothing"
    assert {line["job"] for line in lines} == {jobs.RENDER_DUE_JOB}
    assert len({line["job_run_id"] for line in lines}) == 1
    assert re.fullmatch(r"[0-9a-f]{32}", lines[0]["job_run_id"])


def _json_lines_of(logger: str, action: Any) -> list[dict[str, Any]]:
    """The JSON lines (app.logs.JsonFormatter) that ``logger`` writes while ``action`` runs."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep()
    handler.setFormatter(JsonFormatter())
    target = logging.getLogger(logger)
    level = target.level
    target.addHandler(handler)
    target.setLevel(logging.INFO)
    try:
        action()
    finally:
        target.removeHandler(handler)
        target.setLevel(level)
    return [json.loads(line) for line in lines]
