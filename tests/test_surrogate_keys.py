"""CDN keys on the wire: every feed, sitemap and article page answered over real HTTP on
127.0.0.1 names its feed and its articles in ``Surrogate-Key`` and ``Cache-Tag``, from the
fast path and from Flask alike, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from app.articles import Articles
from app.domain import SITE_SCOPE
from app.domain import Article
from app.domain import FeedScope
from app.renderer import FeedRenderer
from app.storage.tables import FeedSnapshotRow
from app.surrogate_keys import MAX_HEADER_BYTES
from app.surrogate_keys import article_key
from app.surrogate_keys import document_keys
from app.surrogate_keys import scope_key
from app.web.application import close_app
from app.web.application import create_app
from tests.conftest import FakeClock
from tests.factories import article_input
from tests.live import LiveServer
from tests.live import serve


def publish(articles: Articles, renderer: FeedRenderer, clock: FakeClock, n: int) -> list[Article]:
    """``n`` public articles, newest last, with their feeds and sitemaps rendered."""
    made = []
    for index in range(n):
        made.append(
            articles.create_article(
                article_input(title=f"Notícia {index}", published_at=clock()), clock()
            )
        )
        clock.advance(seconds=1)
    for _ in range(2):  # the feeds, then the sitemaps (within a second after them)
        renderer.render_due_feeds(clock())
        clock.advance(seconds=1)
    return made


def keys_of(headers: dict[str, str]) -> list[str]:
    """The keys of an answer, checked to say the same in both headers."""
    keys = headers["surrogate-key"].split(" ")
    assert headers["cache-tag"].split(",") == keys
    return keys


@pytest.fixture
def live(app: Flask) -> Iterator[LiveServer]:
    with serve(app) as server:
        yield server


def check_feeds(live: LiveServer, made: list[Article]) -> None:
    expected = ["feed-site", *(article_key(a.id) for a in reversed(made))]
    for fmt in ("atom", "rss", "json"):
        answer = live.request("GET", f"/feed.{fmt}", {"Accept-Encoding": "gzip"})
        assert answer.status == 200
        assert keys_of(answer.headers) == expected
        validators = {"Accept-Encoding": "gzip", "If-None-Match": answer.headers["etag"]}
        again = live.request("GET", f"/feed.{fmt}", validators)
        assert again.status == 304
        # A revalidating cache keeps the 200's keys (RFC 9111 section 4.3.4): none sent.
        assert "surrogate-key" not in again.headers and "cache-tag" not in again.headers
    category = live.request("HEAD", "/category/politica/feed.atom")
    assert keys_of(category.headers)[0] == "feed-category-politica"


@pytest.mark.postgres
def test_feeds_pages_and_sitemaps_name_their_keys_from_the_fast_path(
    app: Flask, articles: Articles, renderer: FeedRenderer, clock: FakeClock, live: LiveServer
) -> None:
    made = publish(articles, renderer, clock, 3)
    check_feeds(live, made)
    page = live.request("GET", f"/articles/{made[0].slug}")
    assert page.status == 200 and keys_of(page.headers) == [article_key(made[0].id)]
    assert keys_of(live.request("GET", "/sitemap.xml").headers) == ["sitemap-index"]
    assert keys_of(live.request("GET", "/sitemap-news.xml").headers) == ["sitemap-news"]

    # An edit changes the feed's bytes and its keys with them; a deletion takes its key out.
    articles.delete_article(made[1].id, None, clock())
    renderer.render_due_feeds(clock())
    answer = live.request("GET", "/feed.atom")
    assert keys_of(answer.headers) == [
        "feed-site",
        article_key(made[2].id),
        article_key(made[0].id),
    ]


@pytest.fixture
def polite_app(overrides: dict[str, Any], clock: FakeClock) -> Iterator[Flask]:
    """The app with politeness on: unconditional fetches are answered by Flask (which
    checks them), conditional ones by the fast path."""
    application = create_app({**overrides, "polite_enabled": True}, clock=clock, environ={})
    yield application
    close_app(application)


@pytest.mark.postgres
def test_feeds_name_their_keys_when_flask_answers(polite_app: Flask, clock: FakeClock) -> None:
    found = polite_app.extensions["broadsheet"]
    made = publish(found.articles, found.renderer, clock, 2)
    with serve(polite_app) as live:
        check_feeds(live, made)


@pytest.mark.postgres
def test_a_full_feed_keeps_its_keys_within_the_cdns_limits(
    app: Flask, articles: Articles, renderer: FeedRenderer, clock: FakeClock, live: LiveServer
) -> None:
    made = publish(articles, renderer, clock, 12)  # feed_item_limit is 10 in tests
    keys = keys_of(live.request("GET", "/feed.json").headers)
    assert keys == ["feed-site", *(article_key(a.id) for a in reversed(made[-10:]))]


def test_keys_are_short_stable_and_bounded() -> None:
    article_id = "tag:news.example.org,2026-11-02:article:0123456789abcdef"
    assert article_key(article_id) == article_key(article_id)
    assert len(article_key(article_id)) == 14 and article_key(article_id).startswith("a-")
    assert scope_key(SITE_SCOPE) == "feed-site"
    assert scope_key(FeedScope("archive", "3")) == "feed-archive-3"
    assert scope_key(FeedScope("sitemap", "articles-0")) == "sitemap-articles-0"
    odd = scope_key(FeedScope("tag", "Com Espaço,vírgula"))
    assert odd.startswith("feed-tag-h") and " " not in odd and "," not in odd
    # 1,000 entries (the most feed_item_limit allows): within both CDNs' 16 KB.
    ids = [f"tag:news.example.org,2026-11-02:article:{n:032x}" for n in range(1000)]
    keys = document_keys(SITE_SCOPE, ids)
    assert len(keys) + len(keys.split()) <= MAX_HEADER_BYTES < 16 * 1024
    assert keys.split()[:2] == ["feed-site", article_key(ids[0])]


@pytest.mark.postgres
def test_a_document_stored_before_keys_is_named_by_its_feed_and_private_feeds_by_none(
    app: Flask, articles: Articles, renderer: FeedRenderer, clock: FakeClock, live: LiveServer
) -> None:
    found = app.extensions["broadsheet"]
    _, key = found.subscribers.create("agencia-x", clock())
    made = publish(articles, renderer, clock, 1)
    with found.database.write() as session:  # as schema 0019 leaves every stored document
        session.execute(update(FeedSnapshotRow).values(surrogate_keys=None))
    found.renderer.mark_all_feeds_stale(clock(), archives=False)
    found.renderer.render_due_feeds(clock())  # the same bytes: nothing is stored again
    assert keys_of(live.request("GET", "/feed.rss").headers) == ["feed-site"]
    assert keys_of(live.request("GET", "/tag/saude/feed.rss").headers) == ["feed-tag-saude"]

    private = live.request("GET", f"/private/{key}/feed.atom")
    assert private.status == 200 and made[0].id.encode() in private.body
    assert "surrogate-key" not in private.headers and "cache-tag" not in private.headers
