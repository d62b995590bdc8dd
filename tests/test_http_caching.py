"""HTTP caching of feeds, as a table, through a real HTTP server (RFC 9110, RFC 9111)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime
from email.utils import parsedate_to_datetime

import pytest
from flask import Flask

from app.domain import SITE_SCOPE
from app.domain import FeedFormat
from tests.conftest import FakeClock
from tests.factories import article_input
from tests.live import LiveServer
from tests.live import serve

PATHS = {FeedFormat.RSS: "/feed.rss", FeedFormat.ATOM: "/feed.atom", FeedFormat.JSON: "/feed.json"}
MEDIA = {
    FeedFormat.RSS: "application/rss+xml; charset=utf-8",
    FeedFormat.ATOM: "application/atom+xml; charset=utf-8",
    FeedFormat.JSON: "application/feed+json; charset=utf-8",
}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """HTTP behaviour does not depend on the database; SQLite is enough here."""
    return sqlite_url


@pytest.fixture
def live(app: Flask, clock: FakeClock) -> Iterator[LiveServer]:
    publisher = app.extensions["broadsheet"].publisher
    publisher.create_article(article_input(published_at=clock() - timedelta(hours=2)), clock())
    publisher.render_due_feeds(clock())
    with serve(app) as server:
        yield server


def _validators(app: Flask, fmt: FeedFormat) -> tuple[str, str]:
    snapshot = app.extensions["broadsheet"].publisher.feed_snapshot(SITE_SCOPE, fmt)
    return snapshot.etag, format_datetime(snapshot.last_modified, usegmt=True)


# (case, method, request headers with {etag} / {lm} / {lm_before} placeholders,
#  expected status, expected encoding, expected ETag suffix)
CASES = [
    ("plain GET", "GET", {}, 200, None, ""),
    ("gzip", "GET", {"Accept-Encoding": "gzip, deflate"}, 200, "gzip", "-gz"),
    ("gzip refused with q=0", "GET", {"Accept-Encoding": "gzip;q=0"}, 200, None, ""),
    ("strong If-None-Match", "GET", {"If-None-Match": '"{etag}"'}, 304, None, ""),
    ("weak If-None-Match", "GET", {"If-None-Match": 'W/"{etag}"'}, 304, None, ""),
    ("listed If-None-Match", "GET", {"If-None-Match": '"nope", "{etag}"'}, 304, None, ""),
    ("star If-None-Match", "GET", {"If-None-Match": "*"}, 304, None, ""),
    ("other If-None-Match", "GET", {"If-None-Match": '"nope"'}, 200, None, ""),
    ("If-Modified-Since equal", "GET", {"If-Modified-Since": "{lm}"}, 304, None, ""),
    ("If-Modified-Since older", "GET", {"If-Modified-Since": "{lm_before}"}, 200, None, ""),
    (
        "If-None-Match wins over If-Modified-Since",
        "GET",
        {"If-None-Match": '"nope"', "If-Modified-Since": "{lm}"},
        200,
        None,
        "",
    ),
    ("gzip revalidation", "GET",
     {"Accept-Encoding": "gzip", "If-None-Match": '"{etag}-gz"'}, 304, None, "-gz"),
    ("identity tag on gzip request", "GET",
     {"Accept-Encoding": "gzip", "If-None-Match": '"{etag}"'}, 200, "gzip", "-gz"),
    ("HEAD", "HEAD", {}, 200, None, ""),
    ("HEAD gzip", "HEAD", {"Accept-Encoding": "gzip"}, 200, "gzip", "-gz"),
    ("conditional HEAD", "HEAD", {"If-None-Match": '"{etag}"'}, 304, None, ""),
]  # fmt: skip


@pytest.mark.parametrize("fmt", list(FeedFormat))
@pytest.mark.parametrize(
    ("case", "method", "headers", "status", "encoding", "suffix"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_feed_caching_table(
    app: Flask,
    live: LiveServer,
    fmt: FeedFormat,
    case: str,
    method: str,
    headers: dict[str, str],
    status: int,
    encoding: str | None,
    suffix: str,
) -> None:
    etag, last_modified = _validators(app, fmt)
    before = format_datetime(parsedate_to_datetime(last_modified) - timedelta(seconds=1), True)
    sent = {
        name: value.format(etag=etag, lm=last_modified, lm_before=before)
        for name, value in headers.items()
    }
    response = live.request(method, PATHS[fmt], sent)
    assert response.status == status, case
    # Validators and caching headers are sent with 200 and repeated with 304 (RFC 9110 15.4.5).
    assert response.headers["etag"] == f'"{etag}{suffix}"'
    assert response.headers["cache-control"] == "public, max-age=120"
    assert response.headers["vary"] == "Accept-Encoding"
    # Werkzeug drops Last-Modified from a 304, which RFC 9110 15.4.5 permits.
    assert response.headers.get("last-modified", last_modified) == last_modified
    if status == 200:
        assert response.headers["last-modified"] == last_modified
    assert response.headers.get("content-encoding") == (encoding if status == 200 else None)
    if status == 304 or method == "HEAD":
        assert response.body == b""
        return
    assert response.headers["content-type"] == MEDIA[fmt]
    snapshot = app.extensions["broadsheet"].publisher.feed_snapshot(SITE_SCOPE, fmt)
    body = gzip.decompress(response.body) if encoding == "gzip" else response.body
    assert body == snapshot.body
    assert int(response.headers["content-length"]) == len(response.body)


def test_head_reports_the_length_of_get(live: LiveServer) -> None:
    get = live.request("GET", "/feed.rss")
    head = live.request("HEAD", "/feed.rss")
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.body))


def test_feeds_advertise_their_own_url(live: LiveServer) -> None:
    response = live.request("GET", "/feed.atom")
    assert response.headers["link"] == '<https://news.example.org/feed.atom>; rel="self"'


def test_an_unknown_feed_format_is_404(live: LiveServer) -> None:
    assert live.request("GET", "/feed.xml").status == 404


def test_304_until_something_changes(app: Flask, live: LiveServer, clock: FakeClock) -> None:
    first = live.request("GET", "/feed.json")
    etag = first.headers["etag"]
    assert live.request("GET", "/feed.json", {"If-None-Match": etag}).status == 304
    publisher = app.extensions["broadsheet"].publisher
    publisher.create_article(article_input(title="Outra notícia", published_at=clock()), clock())
    assert live.request("GET", "/feed.json", {"If-None-Match": etag}).status == 304
    publisher.render_due_feeds(clock())
    changed = live.request("GET", "/feed.json", {"If-None-Match": etag})
    assert changed.status == 200
    assert changed.headers["etag"] != etag
    assert "Outra notícia".encode() in changed.body
