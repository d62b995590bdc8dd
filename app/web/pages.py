"""Pages for people: the front page and each article's permalink page.

Each is rendered from the database at every request. While the database is unavailable, a
page this process has served answers with the bytes it last sent (see
:mod:`app.web.stalepages`); any other page gets 503 with Retry-After.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from functools import wraps
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import render_template
from flask import request

from app.collection_rules import COLLECTION
from app.documents import feed_title
from app.documents import last_update
from app.documents import page_url
from app.documents import scope_label
from app.documents import site_image_url
from app.domain import SITE_SCOPE
from app.domain import Article
from app.domain import FeedFormat
from app.domain import FeedScope
from app.domain import content_etag
from app.domain import feed_path
from app.domain import permalink_url
from app.errors import ArticleGone
from app.errors import ArticleMoved
from app.errors import ArticleNotFound
from app.errors import CollectionNotFound
from app.errors import FeedNotFound
from app.errors import StorageUnavailable
from app.opml import OPML_MEDIA_TYPE
from app.opml import OPML_PATH
from app.surrogate_keys import article_key
from app.surrogate_keys import key_headers
from app.web import services
from app.web.caching import conditional_response
from app.web.legacy import old_url_redirect
from app.web.page_metadata import news_article
from app.web.page_metadata import open_graph
from app.web.page_metadata import twitter_card
from app.web.stalepages import StalePages

blueprint = Blueprint("pages", __name__)

_FORMAT_TITLES = {FeedFormat.RSS: "RSS", FeedFormat.ATOM: "Atom", FeedFormat.JSON: "JSON Feed"}
PAGE_MAX_AGE = 60


def stale_if_error(view: Callable[..., Response]) -> Callable[..., Response]:
    """Serve the page's last good rendering when the database is unavailable (RFC 5861)."""

    @wraps(view)
    def serve(**arguments: Any) -> Response:
        try:
            return view(**arguments)
        except StorageUnavailable:
            html = stale_pages().recall(request.path)
            if html is None:
                raise
            return _conditional(html)
        except (ArticleGone, ArticleMoved, ArticleNotFound, FeedNotFound):
            stale_pages().forget(request.path)
            raise

    return serve


def stale_pages() -> StalePages:
    """The running app's last good renderings of pages."""
    pages: StalePages = current_app.extensions["broadsheet_pages"]
    return pages


@blueprint.get("/")
@stale_if_error
def home() -> Response:
    """The front page: the latest public articles, newest first; a WordPress short link
    (``/?p=<id>``) of an imported post answers 301 to its page."""
    moved = old_url_redirect()
    if moved is not None:
        return moved
    found = services()
    settings = found.settings
    articles = found.articles.latest_public(found.clock(), settings.feed_item_limit)
    og = open_graph(
        settings, "website", settings.site_title, settings.site_description, settings.base_url + "/"
    )
    return _page(
        "home.html",
        canonical_url=settings.base_url + "/",
        og=og,
        articles=articles,
    )


@blueprint.get("/<any(category, tag, author):kind>/<value>")
@stale_if_error
def scope_page(kind: str, value: str) -> Response:
    """The latest articles of one category, tag or author; 404 when it has none."""
    found = services()
    settings = found.settings
    scope = FeedScope(kind, value)
    articles = found.articles.latest_public(found.clock(), settings.feed_item_limit, scope)
    if not articles:
        raise FeedNotFound(request.path)
    return _listing(scope, scope_label(scope, articles), articles)


@blueprint.get(f"/{COLLECTION}/<slug>")
@stale_if_error
def collection_page(slug: str) -> Response:
    """The articles of one collection, as its feeds list them; 404 when it has none."""
    found = services()
    try:
        collection, articles = found.collections.public_articles(
            slug, found.clock(), found.settings.feed_item_limit
        )
    except CollectionNotFound:
        raise FeedNotFound(request.path) from None
    if not articles:
        raise FeedNotFound(request.path)
    return _listing(FeedScope(COLLECTION, slug), collection.title, articles)


def _listing(scope: FeedScope, label: str, articles: Sequence[Article]) -> Response:
    """A listing page: ``articles`` under the scope's name, with its feeds' links."""
    settings = services().settings
    url = page_url(settings.base_url, scope)
    title = f"{label} · {settings.site_title}"
    return _page(
        "home.html",
        canonical_url=url,
        og=open_graph(settings, "website", title, settings.site_description, url),
        articles=articles,
        heading=label,
        feeds=feed_links(scope, label),
    )


@blueprint.get("/articles/<slug>")
@stale_if_error
def article_page(slug: str) -> Response:
    """An article's permalink page; 404 before it is public, 410 after it is deleted."""
    found = services()
    settings = found.settings
    article = found.articles.public_article(slug, found.clock())
    url = permalink_url(settings.base_url, article.slug)
    response = _page(
        "article.html",
        canonical_url=url,
        og=open_graph(settings, "article", article.title, article.excerpt, url, article),
        article=article,
        modified=last_update(article),
        structured_data=news_article(settings, article, url),
    )
    # Its CDN key (app/surrogate_keys.py): an article.* purge takes the page with its feeds.
    response.headers.extend(key_headers(article_key(article.id)))
    return response


@blueprint.get(OPML_PATH)
def feed_list() -> Response:
    """Every section's and author's feed, with the site's, as an OPML subscription list."""
    found = services()
    body = found.directory.opml()
    return conditional_response(
        request,
        body,
        content_type=OPML_MEDIA_TYPE,
        etag=content_etag(body),
        last_modified=None,
        max_age=found.settings.feed_regenerate_seconds,
    )


@blueprint.app_context_processor
def site_identity() -> dict[str, Any]:
    """What every page's template knows of the site besides its settings: its favicon
    (the ``site_icon`` setting, made absolute) and the URL of its list of feeds."""
    settings = services().settings
    return {
        "site_icon_url": site_image_url(settings.site_icon, settings.base_url),
        "feed_list_url": settings.base_url + OPML_PATH,
    }


def feed_links(scope: FeedScope = SITE_SCOPE, label: str | None = None) -> list[dict[str, str]]:
    """Autodiscovery links for the three formats of a feed."""
    settings = services().settings
    title = feed_title(settings.site_title, scope, label or scope.value)
    return [
        {
            "title": f"{title} ({_FORMAT_TITLES[fmt]})",
            "type": fmt.media_type.split(";")[0],
            "href": settings.base_url + feed_path(scope, fmt),
        }
        for fmt in FeedFormat
    ]


def _page(template: str, feeds: list[dict[str, str]] | None = None, **context: Any) -> Response:
    links = feeds if feeds is not None else feed_links()
    twitter = twitter_card(context["og"])
    html = render_template(
        template, site=services().settings, feed_links=links, twitter=twitter, **context
    ).encode("utf-8")
    stale_pages().remember(request.path, html)
    return _conditional(html)


def _conditional(html: bytes) -> Response:
    return conditional_response(
        request,
        html,
        content_type="text/html; charset=utf-8",
        etag=content_etag(html),
        last_modified=None,
        max_age=PAGE_MAX_AGE,
    )
