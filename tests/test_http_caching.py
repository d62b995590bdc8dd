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
from tests.conftest import settings_for
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
    articles = app.extensions["broadsheet"].articles
    renderer = app.extensions["broadsheet"].renderer
    articles.create_article(article_input(published_at=clock() - timedelta(hours=2)), clock())
    renderer.render_due_feeds(clock())
    with serve(app) as server:
        yield server


def _validators(app: Flask, fmt: FeedFormat) -> tuple[str, str]:
    snapshot = app.extensions["broadsheet"].feeds.feed_snapshot(SITE_SCOPE, fmt)
    return snapshot.etag, format_datetime(snapshot.last_modified, usegmt=True)


# (case, method, request headers with {etag} / {lm} / {lm_before} / {future} placeholders,
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
    ("If-Modified-Since later than now", "GET", {"If-Modified-Since": "{future}"}, 200, None, ""),
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
    clock: FakeClock,
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
    future = format_datetime(clock() + timedelta(days=1), usegmt=True)
    sent = {
        name: value.format(etag=etag, lm=last_modified, lm_before=before, future=future)
        for name, value in headers.items()
    }
    response = live.request(method, PATHS[fmt], sent)
    assert response.status == status, case
    # Validators and caching headers are sent with 200 and repeated with 304 (RFC 9110 15.4.5).
    assert response.headers["etag"] == f'"{etag}{suffix}"'
    assert response.headers["cache-control"] == "public, max-age=120"
    vary = "Accept-Encoding" if fmt is FeedFormat.JSON else "Accept-Encoding, Accept"
    assert response.headers["vary"] == vary
    # A 304 repeats Last-Modified too (RFC 9110 section 15.4.5 allows metadata that guides
    # cache updates), and nothing on the way (Werkzeug included) drops it.
    assert response.headers["last-modified"] == last_modified
    assert response.headers.get("content-encoding") == (encoding if status == 200 else None)
    if status == 304 or method == "HEAD":
        assert response.body == b""
        return
    assert response.headers["content-type"] == MEDIA[fmt]
    snapshot = app.extensions["broadsheet"].feeds.feed_snapshot(SITE_SCOPE, fmt)
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
    articles = app.extensions["broadsheet"].articles
    renderer = app.extensions["broadsheet"].renderer
    articles.create_article(article_input(title="Outra notícia", published_at=clock()), clock())
    assert live.request("GET", "/feed.json", {"If-None-Match": etag}).status == 304
    renderer.render_due_feeds(clock())
    changed = live.request("GET", "/feed.json", {"If-None-Match": etag})
    assert changed.status == 200
    assert changed.headers["etag"] != etag
    assert "Outra notícia".encode() in changed.body


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
READER_ACCEPTS = [
    "application/rss+xml, application/rdf+xml;q=0.8, application/atom+xml;q=0.6, "
    "application/xml;q=0.4, text/xml;q=0.4, */*;q=0.2",
    "application/atom+xml,application/rss+xml,application/xml,text/xml,*/*;q=0.8",
    "*/*",
    "",
]


@pytest.mark.parametrize("path", ["/feed.rss", "/feed.atom"])
def test_a_browser_gets_the_same_bytes_as_displayable_xml(live: LiveServer, path: str) -> None:
    reader = live.request("GET", path)
    browser = live.request("GET", path, {"Accept": BROWSER_ACCEPT})
    assert browser.status == 200
    assert browser.body == reader.body
    assert browser.body.startswith(b"<?xml")
    assert b"<?xml-stylesheet" in browser.body.split(b"\n", 2)[1]
    assert browser.headers["content-type"] == "application/xml; charset=utf-8"
    assert browser.headers["x-content-type-options"] == "nosniff"
    assert browser.headers["etag"] != reader.headers["etag"]
    again = live.request(
        "GET", path, {"Accept": BROWSER_ACCEPT, "If-None-Match": browser.headers["etag"]}
    )
    assert again.status == 304


@pytest.mark.parametrize("accept", READER_ACCEPTS)
@pytest.mark.parametrize(("path", "media"), [("/feed.rss", MEDIA[FeedFormat.RSS]),
                                             ("/feed.atom", MEDIA[FeedFormat.ATOM])])  # fmt: skip
def test_feed_readers_get_the_feed_media_type(
    live: LiveServer, path: str, media: str, accept: str
) -> None:
    headers = {"Accept": accept} if accept else {}
    assert live.request("GET", path, headers).headers["content-type"] == media


@pytest.fixture
def overrides(database_url: str) -> dict[str, object]:
    return settings_for(
        database_url,
        feed_moved="/rss.xml=/feed.rss, /old/atom=/feed.atom",
        feed_retired="/comments/feed.rss",
    )


def test_a_moved_feed_answers_301_and_a_retired_one_410(live: LiveServer) -> None:
    moved = live.request("GET", "/rss.xml")
    assert moved.status == 301
    assert moved.headers["location"] == "https://news.example.org/feed.rss"
    assert live.request("GET", "/old/atom").headers["location"].endswith("/feed.atom")
    gone = live.request("GET", "/comments/feed.rss")
    assert gone.status == 410
    assert b"retired" in gone.body


def test_an_archive_page_is_cached_for_a_day_and_a_period_archive_redirects(
    app: Flask, live: LiveServer, clock: FakeClock
) -> None:
    articles = app.extensions["broadsheet"].articles
    renderer = app.extensions["broadsheet"].renderer
    limit = app.extensions["broadsheet"].settings.feed_item_limit
    # After the fixture's article (number 0): October's (1 to limit), then November's.
    for number in range(2 * limit):
        when = clock.now.replace(month=10, day=1 + number) if number < limit else clock.now
        articles.create_article(article_input(title=f"N{number}", published_at=when), clock())
    renderer.render_due_feeds(clock())
    archive = live.request("GET", "/archive/1/feed.atom")
    assert archive.status == 200
    assert archive.headers["cache-control"] == "public, max-age=86400"
    assert live.request("GET", "/archive/2/feed.atom").status == 404  # not complete
    # The archives of months, as earlier versions made them, send readers to the page
    # that holds the month's newest article, or to the subscription feed.
    october = live.request("GET", "/archive/2026-10/feed.rss")
    assert october.status == 301
    assert october.headers["location"] == "https://news.example.org/archive/1/feed.rss"
    november = live.request("GET", "/archive/2026-11/feed.json")
    assert november.status == 302
    assert november.headers["location"] == "https://news.example.org/feed.json"
    for gone in ("/archive/2026-09/feed.atom", "/archive/2026-13/feed.atom",
                 "/archive/2026-10/feed.xml", "/archive/01/feed.atom"):  # fmt: skip
        assert live.request("GET", gone).status == 404, gone


def test_a_last_modified_ahead_of_the_clock_is_sent_as_now(
    app: Flask, live: LiveServer, clock: FakeClock
) -> None:
    """Two changes within one second stamp the second a second ahead; until that second
    comes, the answer carries the current time instead (RFC 9110 section 8.8.2.1), and the
    date a client got with the first version does not match the second."""
    first_etag, first_date = _validators(app, FeedFormat.ATOM)
    articles = app.extensions["broadsheet"].articles
    feeds = app.extensions["broadsheet"].feeds
    renderer = app.extensions["broadsheet"].renderer
    clock.now = parsedate_to_datetime(first_date).replace(microsecond=400_000)
    articles.create_article(article_input(title="Outra", published_at=clock()), clock())
    renderer.render_due_feeds(clock())
    snapshot = feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM)
    assert snapshot.last_modified > clock()
    app.extensions["broadsheet_feeds"].refresh()
    for path in ("/feed.atom", "/feed.rss"):
        response = live.request("GET", path)
        assert response.status == 200
        assert response.headers["last-modified"] == first_date  # now, to the second
    answer = live.request("GET", "/feed.atom", {"If-Modified-Since": first_date})
    assert answer.status == 200
    assert answer.headers["etag"] == f'"{snapshot.etag}"' != f'"{first_etag}"'
    clock.advance(seconds=1)
    later = live.request("GET", "/feed.atom")
    assert later.headers["last-modified"] == format_datetime(snapshot.last_modified, usegmt=True)


def test_scheduling_an_article_shortens_max_age_of_unchanged_feeds(
    app: Flask, live: LiveServer, clock: FakeClock
) -> None:
    """A scheduled article leaves the feed's bytes alone until its time, but caches must not
    keep the feed past that time (RFC 9111 section 5.2.2.1): the served max-age shrinks as
    soon as the article is scheduled, with the same ETag."""
    before = live.request("GET", "/feed.atom")
    assert before.headers["cache-control"] == "public, max-age=120"
    articles = app.extensions["broadsheet"].articles
    renderer = app.extensions["broadsheet"].renderer
    articles.create_article(
        article_input(title="Em breve", published_at=clock() + timedelta(seconds=45)), clock()
    )
    renderer.render_due_feeds(clock())
    app.extensions["broadsheet_feeds"].refresh()
    after = live.request("GET", "/feed.atom")
    assert after.headers["etag"] == before.headers["etag"]
    assert after.headers["cache-control"] == "public, max-age=45"
    revalidated = live.request("GET", "/feed.atom", {"If-None-Match": before.headers["etag"]})
    assert revalidated.status == 304
    assert revalidated.headers["cache-control"] == "public, max-age=45"
