"""The web process's feed cache against a real database: it never keeps stale bytes."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from email.utils import format_datetime
from typing import NoReturn

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.domain import SITE_SCOPE
from app.domain import FeedFormat
from app.domain import FeedScope
from app.domain import FeedSnapshot
from app.services import Services
from app.web.application import close_app
from app.web.application import create_app
from app.web.feedcache import FeedCache
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.factories import article_input
from tests.live import serve


def _publish(services: Services, clock: FakeClock, title: str) -> None:
    services.articles.create_article(
        article_input(title=title, published_at=clock() - timedelta(minutes=1)), clock()
    )
    services.renderer.render_due_feeds(clock())


def test_a_changed_feed_is_dropped_at_the_next_refresh(
    services: Services, clock: FakeClock
) -> None:
    _publish(services, clock, "Primeira")
    cache = FeedCache(services.feeds, 1 << 24, refresh_seconds=3600)
    cache.refresh()
    first = cache.get(SITE_SCOPE, FeedFormat.ATOM)
    assert cache.get(SITE_SCOPE, FeedFormat.ATOM) is first  # from memory
    _publish(services, clock, "Segunda")
    assert cache.get(SITE_SCOPE, FeedFormat.ATOM) is first  # until the next refresh
    cache.refresh()
    assert b"Segunda" in cache.get(SITE_SCOPE, FeedFormat.ATOM).snapshot.body


def test_bytes_read_while_a_refresh_runs_are_served_but_not_kept(
    services: Services, clock: FakeClock
) -> None:
    """The interleaving: a request reads a snapshot; a render replaces it and the refresh
    thread runs (it cannot drop what is not cached yet); then the request would cache the
    old bytes for good. It must not."""
    _publish(services, clock, "Primeira")
    feeds = services.feeds
    cache = FeedCache(feeds, 1 << 24, refresh_seconds=3600)
    cache.refresh()
    read_snapshot = feeds.feed_snapshot

    def read_then_race(scope: FeedScope, fmt: FeedFormat) -> FeedSnapshot:
        snapshot = read_snapshot(scope, fmt)
        _publish(services, clock, "Segunda")
        cache.refresh()
        return snapshot

    feeds.feed_snapshot = read_then_race  # type: ignore[method-assign]
    try:
        racing = cache.get(SITE_SCOPE, FeedFormat.ATOM)
    finally:
        del feeds.feed_snapshot
    assert b"Segunda" not in racing.snapshot.body  # what was read is served once
    assert b"Segunda" in cache.get(SITE_SCOPE, FeedFormat.ATOM).snapshot.body


@pytest.mark.parametrize("validator", ["If-None-Match", "If-Modified-Since"])
def test_a_worker_behind_another_catches_up_instead_of_answering_from_old_bytes(
    database_url: str, clock: FakeClock, validator: str
) -> None:
    """Each web worker refreshes on its own; a reader may hold bytes from a worker that saw
    a render first. This worker must not call older bytes current (304) nor send them."""
    app = create_app(
        settings_for(database_url, server_feed_refresh_seconds=60), clock=clock, environ={}
    )
    services = app.extensions["broadsheet"]
    try:
        _publish(services, clock, "Primeira")
        with (
            serve(app) as server,
            httpx.Client(base_url=server.url, headers={"Accept-Encoding": "identity"}) as client,
        ):
            client.get("/feed.atom")  # starts this worker's refresher
            app.extensions["broadsheet_feeds"].refresh()
            old = client.get("/feed.atom")  # now in this worker's memory
            clock.advance(minutes=5)
            _publish(services, clock, "Segunda")  # rendered; this worker has not refreshed
            new = services.feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM)
            held = (
                f'"{new.etag}"'
                if validator == "If-None-Match"
                else format_datetime(new.last_modified, usegmt=True)
            )
            answer = client.get("/feed.atom", headers={validator: held})
            assert answer.headers["etag"] != old.headers["etag"]
            assert answer.headers["etag"] == f'"{new.etag}"'
            assert answer.status_code == 304
    finally:
        close_app(app)


def test_a_closed_cache_stops_refreshing_in_the_background(
    services: Services, clock: FakeClock
) -> None:
    """So that an app torn down (tests, tools) leaves no thread using its database."""
    _publish(services, clock, "Primeira")
    cache = FeedCache(services.feeds, 1 << 24, refresh_seconds=0.05)
    before = set(threading.enumerate())
    cache.get(SITE_SCOPE, FeedFormat.ATOM)  # starts the refresher
    started = [t for t in set(threading.enumerate()) - before if t.name == "feed-cache-refresh"]
    assert len(started) == 1 and started[0].is_alive()
    cache.close()
    assert not started[0].is_alive()
    before = set(threading.enumerate())
    cache.get(SITE_SCOPE, FeedFormat.ATOM)  # served, and no refresher starts again
    assert set(threading.enumerate()) - before == set()


def _explode(*arguments: object) -> NoReturn:
    raise RuntimeError("disk on fire")


def _fast_path_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "app.web.feeds"
        and record.levelno == logging.ERROR
        and record.exc_info is not None
        and "disk on fire" in str(record.exc_info[1])
    ]


def test_a_failed_catch_up_is_logged_and_the_feed_held_is_served(
    app: Flask,
    client: FlaskClient,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A reader with other validators makes the fast path refresh first; when that fails
    for a reason other than an outage, the error is in the log and the reader still gets
    the bytes this process holds."""
    services = app.extensions["broadsheet"]
    _publish(services, clock, "Primeira")
    held = client.get("/feed.atom")
    assert held.status_code == 200
    monkeypatch.setattr(services.feeds, "snapshot_generation", _explode)
    with caplog.at_level(logging.ERROR):
        answer = client.get("/feed.atom", headers={"If-None-Match": '"another"'})
    assert answer.status_code == 200
    assert answer.data == held.data
    assert _fast_path_errors(caplog), caplog.text


def test_a_failed_read_of_a_feed_is_logged_before_the_application_answers(
    app: Flask,
    client: FlaskClient,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    services = app.extensions["broadsheet"]
    _publish(services, clock, "Primeira")
    monkeypatch.setattr(services.feeds, "feed_snapshot", _explode)
    with caplog.at_level(logging.ERROR):
        answer = client.get("/feed.atom", headers={"If-None-Match": '"another"'})
    assert answer.status_code == 500
    assert _fast_path_errors(caplog), caplog.text
