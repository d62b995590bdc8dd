"""The site's icon and logo: settings, every feed format, the pages' favicon, and the
rebuild a change of either sets off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import lxml.html
import pytest
from flask import Flask
from lxml import etree

from app import jobs as job_table
from app.domain import SITE_SCOPE
from app.domain import FeedFormat
from app.domain import FeedScope
from app.errors import SettingsError
from app.services import Services
from app.services import build_services
from app.settings_sources import load_settings
from app.web.application import close_app
from app.web.application import create_app
from tests.conftest import BASE_URL
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.factories import article_input
from tests.feedcheck import assert_valid_atom
from tests.feedcheck import assert_valid_json_feed
from tests.feedcheck import assert_valid_rss

ATOM = "{http://www.w3.org/2005/Atom}"
ICON = "https://cdn.example.net/marca/icone-512.png"
LOGO_PATH = "/static/marca/logo.png"
LOGO = f"{BASE_URL}{LOGO_PATH}"
SCOPES = (SITE_SCOPE, FeedScope("category", "politica"), FeedScope("author", "ana-souza"))
VALIDATORS = {
    FeedFormat.RSS: assert_valid_rss,
    FeedFormat.ATOM: assert_valid_atom,
    FeedFormat.JSON: assert_valid_json_feed,
}


# -- the settings ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["site_icon", "site_logo"])
@pytest.mark.parametrize(
    "value",
    [
        "",
        "/static/icon.png",
        "https://cdn.example.net/icon.png",
        "http://127.0.0.1:8000/static/icon.png?v=2",
    ],
)
def test_an_image_setting_is_a_url_or_a_path_on_the_site(name: str, value: str) -> None:
    assert getattr(load_settings(environ={f"BROADSHEET_{name.upper()}": value}), name) == value


@pytest.mark.parametrize("name", ["site_icon", "site_logo"])
@pytest.mark.parametrize(
    "value",
    [
        "static/icon.png",  # relative to what? Only a path from the site's root is
        "//cdn.example.net/icon.png",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "ftp://cdn.example.net/icon.png",
        "https:///icon.png",
        "http://[::1/icon.png",
        "/static/my icon.png",
        "/static/icon.png\n",
        "https://cdn.example.net/\u00a0icon.png",
    ],
)
def test_anything_else_stops_the_start_naming_the_setting(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(environ={f"BROADSHEET_{name.upper()}": value})
    message = str(refused.value)
    assert message.startswith(f"Setting {name} must be an absolute http(s) URL or a path")
    assert repr(value) in message


# -- the feeds ------------------------------------------------------------------------------


def _render_all(services: Services, clock: FakeClock) -> dict[tuple[FeedScope, FeedFormat], bytes]:
    report = services.renderer.render_due_feeds(clock())
    assert not report.failed, report
    return {
        (scope, fmt): services.feeds.feed_snapshot(scope, fmt).body
        for scope in SCOPES
        for fmt in FeedFormat
    }


@pytest.fixture
def branded(database_url: str, clock: FakeClock) -> Iterator[Services]:
    overrides = settings_for(database_url, site_icon=ICON, site_logo=LOGO_PATH)
    built = build_services(overrides, clock=clock, environ={})
    built.articles.create_article(article_input(published_at=clock() - timedelta(hours=1)), clock())
    yield built
    built.database.dispose()


@pytest.mark.postgres
def test_every_feed_carries_the_icon_and_logo_where_its_format_wants_them(
    branded: Services, clock: FakeClock
) -> None:
    bodies = _render_all(branded, clock)
    for (scope, fmt), body in bodies.items():
        VALIDATORS[fmt](body)
        if fmt is FeedFormat.JSON:
            feed = json.loads(body)
            assert (feed["icon"], feed["favicon"]) == (ICON, ICON), scope
            continue
        root = etree.fromstring(body)
        if fmt is FeedFormat.RSS:
            # The square icon is the one <image>, titled and linked as the channel.
            (image,) = root.findall("channel/image")
            assert image.findtext("url") == ICON
            assert image.findtext("title") == root.findtext("channel/title")
            assert image.findtext("link") == root.findtext("channel/link")
            assert image.find("width") is None and image.find("height") is None
        else:
            assert root.findtext(f"{ATOM}icon") == ICON
            # A path is made absolute against site.base_url, as every URL in a feed is.
            assert root.findtext(f"{ATOM}logo") == LOGO


@pytest.mark.postgres
def test_without_them_no_feed_names_an_image_of_the_site(
    services: Services, clock: FakeClock
) -> None:
    services.articles.create_article(
        article_input(published_at=clock() - timedelta(hours=1)), clock()
    )
    for (_, fmt), body in _render_all(services, clock).items():
        for marker in (b"<image>", b"<icon>", b"<logo>", b'"icon"', b'"favicon"'):
            assert marker not in body, fmt


@pytest.mark.postgres
def test_a_new_icon_or_logo_rebuilds_every_feed(
    services: Services, clock: FakeClock, overrides: dict[str, Any]
) -> None:
    services.articles.create_article(
        article_input(published_at=clock() - timedelta(hours=1)), clock()
    )
    job_table.rebuild_if_changed(services)
    _render_all(services, clock)
    for changed in ({"site_icon": ICON}, {"site_icon": ICON, "site_logo": LOGO_PATH}):
        restarted = build_services({**overrides, **changed}, clock=clock, environ={})
        try:
            job_table.rebuild_if_changed(restarted)
            report = restarted.renderer.render_due_feeds(clock())
            assert {scope.key for scope in SCOPES} <= set(report.scopes), changed
            atom = restarted.feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM).body
            assert f"<icon>{ICON}</icon>".encode() in atom
            assert (f"<logo>{LOGO}</logo>".encode() in atom) == ("site_logo" in changed)
            overrides = {**overrides, **changed}
        finally:
            restarted.database.dispose()


# -- the pages' favicon -----------------------------------------------------------------------


@pytest.fixture
def branded_app(sqlite_url: str, clock: FakeClock) -> Iterator[Flask]:
    application = create_app(
        settings_for(sqlite_url, site_icon="/static/marca/icone.png"), clock=clock, environ={}
    )
    yield application
    close_app(application)


def _icons(app: Flask, path: str, status: int = 200) -> list[str]:
    response = app.test_client().get(path, headers={"Accept": "text/html"})
    assert response.status_code == status
    tree = lxml.html.document_fromstring(response.data)
    return [str(href) for href in tree.xpath('//head/link[@rel="icon"]/@href')]


def test_every_page_has_the_icon_as_its_favicon(branded_app: Flask, clock: FakeClock) -> None:
    articles = branded_app.extensions["broadsheet"].articles
    article = articles.create_article(
        article_input(published_at=clock() - timedelta(hours=1)), clock()
    )
    icon = f"{BASE_URL}/static/marca/icone.png"
    for path in ("/", f"/articles/{article.slug}", "/category/politica", "/author/ana-souza"):
        assert _icons(branded_app, path) == [icon], path
    assert _icons(branded_app, "/articles/nao-existe", 404) == [icon]


@pytest.mark.postgres
def test_without_an_icon_pages_name_none(app: Flask) -> None:
    assert _icons(app, "/") == []
