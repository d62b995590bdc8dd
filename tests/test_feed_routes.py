"""One table of feed URLs: Flask routes them and the fast path matches them alike."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.exceptions import HTTPException

from app.domain import SITE_SCOPE
from app.domain import FeedFormat
from app.domain import FeedScope
from app.web.feeds import FEED_ROUTES
from app.web.feeds import FeedPaths

FEEDS = [
    ("/feed.rss", SITE_SCOPE, FeedFormat.RSS),
    ("/feed.atom", SITE_SCOPE, FeedFormat.ATOM),
    ("/feed.json", SITE_SCOPE, FeedFormat.JSON),
    ("/category/politica/feed.rss", FeedScope("category", "politica"), FeedFormat.RSS),
    ("/tag/saude/feed.json", FeedScope("tag", "saude"), FeedFormat.JSON),
    ("/author/ana-souza/feed.atom", FeedScope("author", "ana-souza"), FeedFormat.ATOM),
    ("/archive/0/feed.atom", FeedScope("archive", "0"), FeedFormat.ATOM),
    # A period's archive of earlier versions: the fast path looks it up (it is not stored),
    # then Flask answers with its redirect.
    ("/archive/2026-08/feed.rss", FeedScope("archive", "2026-08"), FeedFormat.RSS),
]
NOT_FEEDS = [
    "/",
    "/category/politica",
    "/articles/feed.rss",
    "/section/x/feed.rss",
    "/category/x/y/feed.rss",
    "/category/x/feed.rss/",
    "//feed.rss",  # an empty segment: Flask reads the path its own way
    "/feed.xml",  # Flask's feed view answers 404
    "/feed.rss.gz",
]


@pytest.mark.parametrize(("path", "scope", "fmt"), FEEDS)
def test_the_fast_path_names_the_feed_flask_routes_to(
    app: Flask, path: str, scope: FeedScope, fmt: FeedFormat
) -> None:
    assert FeedPaths().match(path) == (scope, fmt)
    endpoint, arguments = app.url_map.bind("localhost").match(path)
    assert endpoint.startswith("feeds.") and arguments["fmt"] == fmt.value


@pytest.mark.parametrize("path", NOT_FEEDS)
def test_the_fast_path_leaves_every_other_path_to_the_application(path: str) -> None:
    assert FeedPaths().match(path) is None


def test_flask_routes_feeds_by_the_table_alone(app: Flask) -> None:
    feed_rules = {
        (rule.rule, rule.endpoint)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("feeds.")
    }
    assert feed_rules == {(route.rule, f"feeds.{route.view.__name__}") for route in FEED_ROUTES}
    with pytest.raises(HTTPException):
        app.url_map.bind("localhost").match("/section/x/feed.rss")
