"""Sitemaps, the Google News sitemap and robots.txt: rendering (golden files, the protocol's
and Google's schemas, a real parser), rendering at rest on both databases (which documents
a write changes, the news sitemap's 48 hours), and serving through real HTTP.

Golden files live in tests/golden/ (``sitemap-*.xml``, ``robots.txt``); after an intended
change to the output, regenerate them with ``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from usp.tree import sitemap_tree_for_homepage

from app.documents import render_fingerprint
from app.domain import ARTICLES_PER_SITEMAP
from app.domain import LISTING_SITEMAPS
from app.domain import NEWS_SITEMAP
from app.domain import ROBOTS
from app.domain import SITEMAP_INDEX
from app.domain import Author
from app.domain import FeedScope
from app.domain import FeedSnapshot
from app.domain import article_sitemap
from app.domain import sitemap_path
from app.domain import sitemap_scope
from app.errors import FeedNotFound
from app.errors import SettingsError
from app.rendering.sitemaps import MAX_URLS
from app.rendering.sitemaps import ChildSitemap
from app.rendering.sitemaps import NewsArticle
from app.rendering.sitemaps import PageUrl
from app.rendering.sitemaps import news_language
from app.rendering.sitemaps import render_index
from app.rendering.sitemaps import render_robots
from app.rendering.sitemaps import render_urlset
from app.services import Services
from app.services import build_services
from app.settings_sources import load_settings
from app.snapshots import RenderReport
from app.storage.sequence import PublicationOrder
from app.web.application import close_app
from app.web.application import create_app
from tests.conftest import BASE_URL
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.factories import article_input
from tests.live import LiveServer
from tests.live import free_port
from tests.live import serve
from tests.sitemapcheck import assert_valid_sitemap
from tests.sitemapcheck import assert_valid_sitemap_index

GOLDEN = Path(__file__).parent / "golden"
WHEN = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
INDEX_PATH = sitemap_path(SITEMAP_INDEX)
NEWS_PATH = sitemap_path(NEWS_SITEMAP)
PAGES_PATH = sitemap_path(LISTING_SITEMAPS)
ROBOTS_PATH = sitemap_path(ROBOTS)


def _article_sitemap_path(number: int) -> str:
    return sitemap_path(article_sitemap(number))


# --- rendering: pure, golden, valid ----------------------------------------------------------

GOLDEN_DOCUMENTS = {
    "sitemap-articles.xml": lambda: render_urlset(
        [
            PageUrl(
                f"{BASE_URL}/articles/camara-aprova-orcamento",
                WHEN,
                image=f"{BASE_URL}/img/plenario.jpg",
            ),
            PageUrl(f"{BASE_URL}/articles/a-b?c=1&d=2", WHEN + timedelta(hours=1)),
        ]
    ),
    "sitemap-news.xml": lambda: render_urlset(
        [
            PageUrl(
                f"{BASE_URL}/articles/camara-aprova-orcamento",
                news=NewsArticle("Gazeta & Cia", "pt", "Câmara aprova <orçamento>", WHEN),
            )
        ]
    ),
    "sitemap-index.xml": lambda: render_index(
        [
            ChildSitemap(f"{BASE_URL}/sitemap-news.xml", WHEN),
            ChildSitemap(f"{BASE_URL}/sitemap-pages-0.xml", WHEN + timedelta(seconds=1)),
        ]
    ),
    "robots.txt": lambda: render_robots(
        [f"{BASE_URL}/sitemap.xml"], "Disallow: /tag/\n\n  User-agent: GPTBot\nDisallow: /\n"
    ),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_DOCUMENTS))
def test_matches_golden_file(name: str) -> None:
    body = GOLDEN_DOCUMENTS[name]()
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_bytes(body)
        return
    assert path.exists(), f"{path} is missing; run with UPDATE_GOLDEN=1"
    assert body.decode() == path.read_bytes().decode()


def test_rendered_sitemaps_pass_the_schemas_and_a_real_parser() -> None:
    pages = assert_valid_sitemap(GOLDEN_DOCUMENTS["sitemap-articles.xml"]())
    assert [page.url for page in pages] == [
        f"{BASE_URL}/articles/camara-aprova-orcamento",
        f"{BASE_URL}/articles/a-b?c=1&d=2",
    ]
    assert pages[0].last_modified == WHEN
    assert [image.loc for image in pages[0].images or []] == [f"{BASE_URL}/img/plenario.jpg"]
    assert not pages[1].images
    (news,) = assert_valid_sitemap(GOLDEN_DOCUMENTS["sitemap-news.xml"]())
    assert news.news_story is not None
    assert news.news_story.title == "Câmara aprova <orçamento>"
    assert news.news_story.publication_name == "Gazeta & Cia"
    assert news.news_story.publication_language == "pt"
    assert news.news_story.publish_date == WHEN
    assert assert_valid_sitemap_index(GOLDEN_DOCUMENTS["sitemap-index.xml"]()) == [
        f"{BASE_URL}/sitemap-news.xml",
        f"{BASE_URL}/sitemap-pages-0.xml",
    ]


@pytest.mark.parametrize(
    ("wrong", "right"),
    [
        ("<news:language>pt</news:language>", "<news:language>pt-BR</news:language>"),
        ("<news:title>Câmara aprova &lt;orçamento&gt;</news:title>", ""),
        ("<lastmod>2026-11-02T10:30:00+00:00</lastmod>", "<lastmod>2026-11-02T10:30</lastmod>"),
        ("<image:loc>", "<image:caption>Plenário</image:caption><image:loc>"),
        ("<loc>https://news.example.org/articles/a-b", "<loc>/articles/a-b"),
    ],
)
def test_the_schemas_refuse_what_the_specifications_do(wrong: str, right: str) -> None:
    """The validators are no formality: each of these breaks a rule of the protocol's or
    Google's specifications, and is refused."""
    body = (
        GOLDEN_DOCUMENTS["sitemap-news.xml"]()
        if "news:" in wrong
        else GOLDEN_DOCUMENTS["sitemap-articles.xml"]()
    ).decode()
    assert wrong in body
    with pytest.raises(AssertionError):
        assert_valid_sitemap(body.replace(wrong, right, 1).encode())


def test_a_sitemap_keeps_within_the_protocol() -> None:
    with pytest.raises(ValueError, match="1 to 50000 URLs"):
        render_urlset([])
    with pytest.raises(ValueError, match="1 to 50000 URLs"):
        render_index([])
    many = [PageUrl(f"{BASE_URL}/articles/{n}") for n in range(MAX_URLS + 1)]
    assert_valid_sitemap(render_urlset(many[:MAX_URLS]))
    with pytest.raises(ValueError, match="not 50001"):
        render_urlset(many)


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("pt-BR", "pt"),
        ("en", "en"),
        ("EN-gb", "en"),
        ("yue-HK", "yue"),
        ("zh", "zh-cn"),
        ("zh-Hans-CN", "zh-cn"),
        ("zh-Hant", "zh-tw"),
        ("zh-HK", "zh-tw"),
        ("zh-TW", "zh-tw"),
    ],
)
def test_news_language_is_what_google_news_names(tag: str, language: str) -> None:
    assert news_language(tag) == language


@pytest.mark.parametrize(
    ("path", "scope"),
    [
        ("/sitemap.xml", SITEMAP_INDEX),
        ("/robots.txt", ROBOTS),
        ("/sitemap-news.xml", NEWS_SITEMAP),
        ("/sitemap-pages-0.xml", LISTING_SITEMAPS),
        ("/sitemap-pages-3.xml", LISTING_SITEMAPS),
        ("/sitemap-articles-0.xml", FeedScope("sitemap", "articles-0")),
        ("/sitemap-articles-12.xml", FeedScope("sitemap", "articles-12")),
        ("/sitemap-articles-012.xml", None),
        ("/sitemap-articles.xml", None),
        ("/sitemap-pages.xml", None),
        ("/sitemap-news-1.xml", None),
        ("/sitemap-index.xml", None),
        ("/sitemap.xml/", None),
        ("/feed.atom", None),
    ],
)
def test_sitemap_paths(path: str, scope: FeedScope | None) -> None:
    assert sitemap_scope(path) == scope


def test_robots_rules_are_checked_at_start() -> None:
    extra = "Disallow: /tag/\n# a comment\nUser-agent: GPTBot\nDisallow: /"
    assert load_settings({"robots_extra": extra}, environ={}).robots_extra == extra
    with pytest.raises(SettingsError, match="robots_extra"):
        load_settings({"robots_extra": "Disallow /tag/"}, environ={})
    with pytest.raises(SettingsError, match="robots_extra"):
        load_settings(environ={"BROADSHEET_ROBOTS_EXTRA": "Allow: /\x00"})


# --- rendered at rest -----------------------------------------------------------------------


def _document(services: Services, path: str) -> FeedSnapshot:
    return services.feeds.snapshot(path, path)


def _documents(services: Services) -> dict[str, FeedSnapshot]:
    """Every stored sitemap document and robots.txt, by path."""
    found = {}
    for path in [
        ROBOTS_PATH,
        INDEX_PATH,
        NEWS_PATH,
        PAGES_PATH,
        *map(_article_sitemap_path, (0, ARTICLES_PER_SITEMAP)),
    ]:
        try:
            found[path] = _document(services, path)
        except FeedNotFound:
            continue
    return found


def _start(services: Services, clock: FakeClock) -> None:
    """What a scheduler does when it starts (the first time, everything is rendered)."""
    services.renderer.rebuild_if_changed(render_fingerprint(services.settings), clock())


def _sitemap_changes(report: RenderReport) -> set[str]:
    """The sitemap documents (and robots.txt) a render pass wrote or deleted."""
    return set(report.sitemap_changes)


def _urls(services: Services, path: str) -> list[str]:
    return [page.url for page in assert_valid_sitemap(_document(services, path).body)]


@pytest.mark.postgres
def test_sitemaps_list_every_public_page(services: Services, clock: FakeClock) -> None:
    articles = services.articles
    hour_ago = clock() - timedelta(hours=1)
    first = articles.create_article(
        article_input(published_at=hour_ago - timedelta(hours=1)), clock()
    )
    second = articles.create_article(
        article_input(
            title="Chuva alaga o centro",
            image=None,
            categories=("Clima",),
            tags=(),
            authors=(Author("Caio Reis"),),
            published_at=hour_ago,
        ),
        clock(),
    )
    articles.create_article(article_input(title="Rascunho"), clock())
    articles.create_article(
        article_input(title="Embargo", published_at=clock() + timedelta(hours=3)), clock()
    )
    _start(services, clock)
    services.renderer.render_due_feeds(clock())

    stored = _documents(services)
    assert set(stored) == {ROBOTS_PATH, INDEX_PATH, NEWS_PATH, PAGES_PATH, _article_sitemap_path(0)}
    pages = assert_valid_sitemap(stored[_article_sitemap_path(0)].body)
    assert [(page.url, page.last_modified) for page in pages] == [
        (f"{BASE_URL}/articles/{first.slug}", first.published_at),
        (f"{BASE_URL}/articles/{second.slug}", second.published_at),
    ]
    assert [image.loc for image in pages[0].images or []] == [f"{BASE_URL}/img/plenario.jpg"]
    assert not pages[1].images

    news = assert_valid_sitemap(stored[NEWS_PATH].body)
    assert [page.url for page in news] == [
        f"{BASE_URL}/articles/{second.slug}",
        f"{BASE_URL}/articles/{first.slug}",
    ]
    story = news[0].news_story
    assert story is not None
    assert (story.title, story.publication_name, story.publication_language) == (
        "Chuva alaga o centro",
        "Gazeta de Teste",
        "pt",
    )
    assert story.publish_date == second.published_at

    listings = assert_valid_sitemap(stored[PAGES_PATH].body)
    assert [page.url for page in listings] == [
        f"{BASE_URL}/",
        f"{BASE_URL}/author/ana-souza",
        f"{BASE_URL}/author/bruno-lima",
        f"{BASE_URL}/author/caio-reis",
        f"{BASE_URL}/category/cidades",
        f"{BASE_URL}/category/clima",
        f"{BASE_URL}/category/politica",
        f"{BASE_URL}/tag/orcamento",
        f"{BASE_URL}/tag/saude",
    ]
    assert all(page.last_modified is None for page in listings)

    # The index dates each sitemap by when its stored bytes last changed.
    children = [NEWS_PATH, PAGES_PATH, _article_sitemap_path(0)]
    assert assert_valid_sitemap_index(stored[INDEX_PATH].body) == [
        BASE_URL + path for path in children
    ]
    index = stored[INDEX_PATH].body.decode()
    for path in children:
        modified = stored[path].last_modified.isoformat()
        assert f"<loc>{BASE_URL}{path}</loc>\n    <lastmod>{modified}</lastmod>" in index

    assert stored[ROBOTS_PATH].body == (
        f"User-agent: *\nDisallow: /api/\n\nSitemap: {BASE_URL}/sitemap.xml\n".encode()
    )
    assert stored[ROBOTS_PATH].media_type == "text/plain; charset=utf-8"
    assert stored[INDEX_PATH].media_type == "application/xml; charset=utf-8"
    assert gzip.decompress(stored[INDEX_PATH].body_gzip) == stored[INDEX_PATH].body


@pytest.mark.postgres
def test_a_write_changes_exactly_the_sitemaps_that_list_its_article(
    services: Services, clock: FakeClock
) -> None:
    articles, renderer = services.articles, services.renderer
    published = clock() - timedelta(hours=1)
    first = articles.create_article(article_input(published_at=published), clock())
    _start(services, clock)
    assert _sitemap_changes(renderer.render_due_feeds(clock())) == {
        ROBOTS_PATH,  # the first render of all
        INDEX_PATH,
        NEWS_PATH,
        PAGES_PATH,
        _article_sitemap_path(0),
    }
    # The next article is number ARTICLES_PER_SITEMAP: in the second article sitemap.
    with services.database.write() as session:
        PublicationOrder(session).reserve(ARTICLES_PER_SITEMAP - 1, 10)
    clock.advance(seconds=5)
    second = articles.create_article(
        article_input(title="Chuva alaga o centro", categories=("Clima",), published_at=clock()),
        clock(),
    )
    assert second.sequence == ARTICLES_PER_SITEMAP
    second_sitemap = _article_sitemap_path(ARTICLES_PER_SITEMAP)
    assert _sitemap_changes(renderer.render_due_feeds(clock())) == {
        INDEX_PATH,
        NEWS_PATH,
        PAGES_PATH,
        second_sitemap,
    }
    assert _urls(services, second_sitemap) == [f"{BASE_URL}/articles/{second.slug}"]

    # A significant edit of its title dates the first article again, in its own sitemap.
    clock.advance(seconds=5)
    first = articles.update_article(
        first.id, {"title": "Câmara aprova orçamento revisto"}, None, clock(), significant=True
    )
    assert _sitemap_changes(renderer.render_due_feeds(clock())) == {
        INDEX_PATH,
        NEWS_PATH,
        _article_sitemap_path(0),
    }
    pages = assert_valid_sitemap(_document(services, _article_sitemap_path(0)).body)
    assert pages[0].last_modified == first.updated_at.replace(microsecond=0)

    # A silent correction moves no date and no title: no sitemap changes.
    clock.advance(seconds=5)
    articles.update_article(first.id, {"body": "Corrigido."}, None, clock())
    report = renderer.render_due_feeds(clock())
    assert "site:atom" in report.changed
    assert _sitemap_changes(report) == set()

    # Deleted, the second article leaves its sitemap (now empty, so gone), the news, and
    # its category's listing page.
    clock.advance(seconds=5)
    articles.delete_article(second.id, None, clock())
    assert _sitemap_changes(renderer.render_due_feeds(clock())) == {
        INDEX_PATH,
        NEWS_PATH,
        PAGES_PATH,
        second_sitemap,
    }
    assert second_sitemap not in _documents(services)
    assert BASE_URL + second_sitemap not in assert_valid_sitemap_index(
        _document(services, INDEX_PATH).body
    )
    assert f"{BASE_URL}/category/clima" not in _urls(services, PAGES_PATH)
    assert _urls(services, NEWS_PATH) == [f"{BASE_URL}/articles/{first.slug}"]

    # Taken back to a draft, the first leaves every sitemap that listed it.
    clock.advance(seconds=5)
    articles.update_article(first.id, {"published_at": None}, None, clock())
    assert _sitemap_changes(renderer.render_due_feeds(clock())) == {
        INDEX_PATH,
        NEWS_PATH,
        PAGES_PATH,
        _article_sitemap_path(0),
    }
    assert set(_documents(services)) == {ROBOTS_PATH, INDEX_PATH, PAGES_PATH}
    assert _urls(services, PAGES_PATH) == [f"{BASE_URL}/"]
    # Nothing else was due.
    assert _sitemap_changes(renderer.render_due_feeds(clock())) == set()


@pytest.mark.postgres
def test_the_news_sitemap_drops_an_article_when_it_turns_48_hours_old(
    services: Services, clock: FakeClock
) -> None:
    articles, renderer = services.articles, services.renderer
    older = articles.create_article(
        article_input(published_at=clock() - timedelta(hours=47)), clock()
    )
    newer = articles.create_article(
        article_input(title="Chuva alaga o centro", published_at=clock() - timedelta(hours=1)),
        clock(),
    )
    renderer.render_due_feeds(clock())
    news = _document(services, NEWS_PATH)
    ages_out = older.published_at + timedelta(hours=48)
    assert news.fresh_until == ages_out  # caches keep it no longer than that
    assert len(_urls(services, NEWS_PATH)) == 2

    clock.now = ages_out - timedelta(seconds=1)
    assert _sitemap_changes(renderer.render_due_feeds(clock())) == set()
    clock.now = ages_out
    # Due by itself, with no write: the next change the last render knew of.
    assert _sitemap_changes(renderer.render_due_feeds(clock())) == {NEWS_PATH, INDEX_PATH}
    assert _urls(services, NEWS_PATH) == [f"{BASE_URL}/articles/{newer.slug}"]
    assert _document(services, NEWS_PATH).fresh_until == newer.published_at + timedelta(hours=48)

    clock.now = newer.published_at + timedelta(hours=48)
    assert _sitemap_changes(renderer.render_due_feeds(clock())) == {NEWS_PATH, INDEX_PATH}
    assert NEWS_PATH not in _documents(services)
    assert BASE_URL + NEWS_PATH not in assert_valid_sitemap_index(
        _document(services, INDEX_PATH).body
    )
    # The article pages stay, of course.
    assert len(_urls(services, _article_sitemap_path(0))) == 2


@pytest.mark.postgres
def test_a_scheduled_article_enters_the_sitemaps_at_its_time(
    services: Services, clock: FakeClock
) -> None:
    when = clock() + timedelta(hours=2)
    scheduled = services.articles.create_article(article_input(published_at=when), clock())
    _start(services, clock)
    services.renderer.render_due_feeds(clock())
    assert set(_documents(services)) == {ROBOTS_PATH, INDEX_PATH, PAGES_PATH}
    clock.now = when
    services.renderer.render_due_feeds(clock())
    url = f"{BASE_URL}/articles/{scheduled.slug}"
    assert _urls(services, _article_sitemap_path(0)) == [url]
    assert _urls(services, NEWS_PATH) == [url]


@pytest.mark.postgres
def test_a_rebuild_renders_the_sitemaps_a_site_never_had(
    services: Services, clock: FakeClock
) -> None:
    """A site upgraded to a version with sitemaps: its articles were numbered, its feeds
    rendered, and no sitemap was ever asked for. The start-up rebuild renders them all."""
    published = clock() - timedelta(hours=1)
    services.articles.create_article(article_input(published_at=published), clock())
    services.renderer.render_due_feeds(clock())
    with services.database.write() as session:
        session.execute(text("DELETE FROM feed_snapshots WHERE feed_key LIKE '/%'"))
        session.execute(text("DELETE FROM feed_states WHERE scope_key LIKE 'sitemap/%'"))
    _start(services, clock)
    services.renderer.render_due_feeds(clock())
    assert set(_documents(services)) == {
        ROBOTS_PATH,
        INDEX_PATH,
        NEWS_PATH,
        PAGES_PATH,
        _article_sitemap_path(0),
    }


@pytest.mark.postgres
def test_robots_txt_takes_the_sites_rules_at_start(
    overrides: dict[str, Any], clock: FakeClock
) -> None:
    built = build_services(overrides, clock=clock, environ={})
    try:
        built.renderer.rebuild_if_changed("a fingerprint", clock())
        built.renderer.render_due_feeds(clock())
        before = _document(built, ROBOTS_PATH)
    finally:
        built.database.dispose()
    extra = "Disallow: /tag/\nUser-agent: GPTBot\nDisallow: /"
    restarted = build_services({**overrides, "robots_extra": extra}, clock=clock, environ={})
    try:
        # The same rendering fingerprint: no feed is rebuilt, robots.txt is.
        assert not restarted.renderer.rebuild_if_changed("a fingerprint", clock())
        report = restarted.renderer.render_due_feeds(clock())
        assert (report.scopes, report.sitemap_scopes) == ([], [ROBOTS.key])
        robots = _document(restarted, ROBOTS_PATH).body.decode()
    finally:
        restarted.database.dispose()
    assert robots == (
        "User-agent: *\nDisallow: /api/\nDisallow: /tag/\n\nUser-agent: GPTBot\nDisallow: /\n\n"
        f"Sitemap: {BASE_URL}/sitemap.xml\n"
    )
    assert before.body != robots.encode()


# --- served through real HTTP ---------------------------------------------------------------


@pytest.fixture
def site(sqlite_url: str, clock: FakeClock) -> Iterator[tuple[Flask, LiveServer]]:
    """A site served at its own base URL, so that a crawler can follow its sitemaps."""
    port = free_port()
    app = create_app(
        settings_for(sqlite_url, site_base_url=f"http://127.0.0.1:{port}"),
        clock=clock,
        environ={},
    )
    found = app.extensions["broadsheet"]
    found.articles.create_article(article_input(published_at=clock() - timedelta(hours=1)), clock())
    found.renderer.rebuild_if_changed(render_fingerprint(found.settings), clock())
    found.renderer.render_due_feeds(clock())
    # Later than every Last-Modified (two changes within a second date the second one a
    # second ahead, and until then the Date stands in for it, as for feeds).
    clock.advance(seconds=2)
    try:
        with serve(app, port) as server:
            yield app, server
    finally:
        close_app(app)


SERVED = {
    INDEX_PATH: "application/xml; charset=utf-8",
    NEWS_PATH: "application/xml; charset=utf-8",
    PAGES_PATH: "application/xml; charset=utf-8",
    _article_sitemap_path(0): "application/xml; charset=utf-8",
    ROBOTS_PATH: "text/plain; charset=utf-8",
}


@pytest.mark.parametrize("path", sorted(SERVED))
def test_sitemaps_are_served_as_feeds_are(
    site: tuple[Flask, LiveServer], clock: FakeClock, path: str
) -> None:
    app, live = site
    stored = app.extensions["broadsheet"].feeds.snapshot(path, path)
    last_modified = format_datetime(stored.last_modified, usegmt=True)
    plain = live.request("GET", path)
    assert plain.status == 200
    assert plain.body == stored.body
    assert plain.headers["content-type"] == SERVED[path]
    assert plain.headers["etag"] == f'"{stored.etag}"'
    assert plain.headers["last-modified"] == last_modified
    assert plain.headers["cache-control"] == "public, max-age=120"
    assert plain.headers["vary"] == "Accept-Encoding"
    assert "link" not in plain.headers  # no WebSub hub for a sitemap

    zipped = live.request("GET", path, {"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["etag"] == f'"{stored.etag}-gz"'
    assert gzip.decompress(zipped.body) == stored.body

    for validators in (
        {"If-None-Match": f'"{stored.etag}"'},
        {"If-None-Match": f'W/"{stored.etag}-gz"', "Accept-Encoding": "gzip"},
        {"If-Modified-Since": last_modified},
    ):
        again = live.request("GET", path, validators)
        assert again.status == 304, validators
        assert again.body == b""
        assert again.headers["etag"] in (f'"{stored.etag}"', f'"{stored.etag}-gz"')

    head = live.request("HEAD", path, {"Accept-Encoding": "gzip"})
    assert head.status == 200
    assert head.body == b""
    assert head.headers["content-length"] == str(len(stored.body_gzip))


def test_a_sitemap_that_is_not_stored_is_404(site: tuple[Flask, LiveServer]) -> None:
    _, live = site
    for path in ("/sitemap-articles-1.xml", "/sitemap-pages-1.xml", "/sitemap-articles-01.xml"):
        assert live.request("GET", path).status == 404, path
    # Through the application too (a conditional request skips nothing there).
    assert live.request("GET", "/sitemap-articles-1.xml", {"If-None-Match": '"x"'}).status == 404


def test_a_crawler_finds_every_page_from_robots_txt(
    site: tuple[Flask, LiveServer], clock: FakeClock
) -> None:
    app, live = site
    found = app.extensions["broadsheet"]
    (article,) = found.articles.latest_public(clock(), 10)
    tree = sitemap_tree_for_homepage(live.url + "/", use_known_paths=False)
    pages = {page.url: page for page in tree.all_pages()}
    permalink = f"{live.url}/articles/{article.slug}"
    assert set(pages) == {
        permalink,
        f"{live.url}/",
        f"{live.url}/author/ana-souza",
        f"{live.url}/author/bruno-lima",
        f"{live.url}/category/cidades",
        f"{live.url}/category/politica",
        f"{live.url}/tag/orcamento",
        f"{live.url}/tag/saude",
    }
    # The permalink is listed twice (articles and news); the parser keeps one of them.
    story = next(
        (page.news_story for page in tree.all_pages() if page.news_story is not None), None
    )
    assert story is not None
    assert story.title == article.title
    assert story.publish_date == article.published_at
