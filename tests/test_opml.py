"""/feeds.opml: the site's feeds as an OPML 2.0 subscription list, read by a real OPML
parser (listparser) over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import listparser
import lxml.html
import pytest
from flask import Flask
from lxml import etree

from app.articles import Articles
from app.domain import Author
from tests.conftest import BASE_URL
from tests.conftest import FakeClock
from tests.factories import article_input
from tests.live import LiveServer
from tests.live import serve

OPML = "text/x-opml; charset=utf-8"
SITE = "Gazeta de Teste"


def publish(articles: Articles, clock: FakeClock, ago: timedelta | None, **fields: Any) -> str:
    published_at = None if ago is None else clock() - ago
    return articles.create_article(article_input(published_at=published_at, **fields), clock()).id


@pytest.fixture
def live(app: Flask, clock: FakeClock) -> Iterator[LiveServer]:
    articles = app.extensions["broadsheet"].articles
    one_author = {"authors": (Author("Ana Souza"),)}
    publish(articles, clock, timedelta(days=2), categories=("politica", "Cidades"), **one_author)
    # The newest article spells the section as people see it: the list does too.
    publish(articles, clock, timedelta(hours=1), categories=("Política",), **one_author)
    publish(
        articles, clock, timedelta(hours=2), categories=("Economia",),
        authors=(Author("Bruno Lima"), Author("Émile Zola")),
    )  # fmt: skip
    publish(articles, clock, None, categories=("Rascunhos",), authors=(Author("Ninguém"),))
    publish(articles, clock, -timedelta(hours=1), categories=("Embargo",), **one_author)
    gone = publish(articles, clock, timedelta(hours=3), categories=("Apagada",), **one_author)
    articles.delete_article(gone, None, clock())
    app.extensions["broadsheet"].renderer.render_due_feeds(clock())
    with serve(app) as server:
        yield server


def _subscriptions(body: bytes) -> dict[str, tuple[str, str, list[str]]]:
    """Title -> (Atom feed URL, page URL, the groups it is in), as listparser reads them."""
    parsed = listparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "opml2"
    assert parsed.meta.title == SITE
    outlines = {o.get("xmlUrl"): o for o in etree.fromstring(body).iter("outline")}
    found = {}
    for feed in parsed.feeds:
        outline = outlines[feed.url]
        assert outline.get("type") == "rss"
        assert outline.get("text") == outline.get("title") == feed.title
        found[feed.title] = (feed.url, outline.get("htmlUrl"), feed.categories)
    return found


@pytest.mark.postgres
def test_the_list_holds_the_site_and_every_public_section_and_author(live: LiveServer) -> None:
    response = live.request("GET", "/feeds.opml")

    assert response.status == 200
    assert response.headers["content-type"] == OPML
    feeds = _subscriptions(response.body)
    site = [SITE]
    sections = ["Cidades", "Economia", "Política"]
    authors = ["Ana Souza", "Bruno Lima", "Émile Zola"]
    assert list(feeds) == site + [f"{SITE}: {name}" for name in (*sections, *authors)]
    assert feeds[SITE] == (f"{BASE_URL}/feed.atom", f"{BASE_URL}/", [])
    assert feeds[f"{SITE}: Política"] == (
        f"{BASE_URL}/category/politica/feed.atom",
        f"{BASE_URL}/category/politica",
        [["Seções"]],
    )
    assert feeds[f"{SITE}: Émile Zola"] == (
        f"{BASE_URL}/author/emile-zola/feed.atom",
        f"{BASE_URL}/author/emile-zola",
        [["Autores"]],
    )
    (outline,) = etree.fromstring(response.body).xpath("/opml/body/outline[1]")
    assert outline.get("description") == "Notícias de teste."


@pytest.mark.postgres
def test_every_listed_feed_and_page_answers(live: LiveServer) -> None:
    for feed_url, page_url, _ in _subscriptions(live.request("GET", "/feeds.opml").body).values():
        feed = live.request("GET", feed_url.removeprefix(BASE_URL))
        assert feed.status == 200, feed_url
        assert feed.headers["content-type"] == "application/atom+xml; charset=utf-8"
        page = live.request("GET", page_url.removeprefix(BASE_URL), {"Accept": "text/html"})
        assert page.status == 200, page_url


@pytest.mark.postgres
def test_the_list_is_cached_like_a_feed(live: LiveServer, app: Flask, clock: FakeClock) -> None:
    first = live.request("GET", "/feeds.opml")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=120"
    again = live.request("GET", "/feeds.opml", {"If-None-Match": etag})
    assert (again.status, again.body, again.headers["etag"]) == (304, b"", etag)
    head = live.request("HEAD", "/feeds.opml")
    assert (head.status, head.body, head.headers["etag"]) == (200, b"", etag)

    # A new section is a new list, with a new ETag.
    publish(app.extensions["broadsheet"].articles, clock, timedelta(0), categories=("Esporte",))
    changed = live.request("GET", "/feeds.opml", {"If-None-Match": etag})
    assert changed.status == 200 and changed.headers["etag"] != etag
    assert f"{SITE}: Esporte" in _subscriptions(changed.body)


@pytest.mark.postgres
def test_an_empty_site_lists_its_own_feed(app: Flask) -> None:
    with serve(app) as live:
        response = live.request("GET", "/feeds.opml")
    assert response.status == 200
    assert list(_subscriptions(response.body)) == [SITE]


@pytest.mark.postgres
def test_every_page_links_to_the_list(live: LiveServer) -> None:
    tree = lxml.html.document_fromstring(live.request("GET", "/").body)
    (link,) = tree.xpath('//footer//a[@type="text/x-opml"]')
    assert link.get("href") == f"{BASE_URL}/feeds.opml"
    assert "OPML" in link.text_content()
