"""Feed URLs: stored snapshots served with conditional GET. Requests never render.

Two doors, one answer. :class:`FeedFastPath` sits in front of Flask and serves the common
requests (GET or HEAD of a known feed, by a feed reader) straight from the process's
:class:`~app.web.feedcache.FeedCache`, with no request object and no database; it
remembers the feed each path names. Everything else (politeness checks on unconditional
requests, unknown paths, feeds not rendered yet, moved or retired feeds) goes through the
Flask views below. Both answer with :func:`~app.web.caching.answer_feed`, and both route
by one table, :data:`FEED_ROUTES`: adding a feed URL is one line there. The sitemaps and
robots.txt (:mod:`app.sitemaps`) are stored documents too, and go through the same doors
(:func:`sitemap_document`; their Flask view is :mod:`app.web.sitemaps`).

A browser that opens an RSS or Atom feed (it asks for ``text/html`` before anything a feed
could be) gets the same bytes as ``application/xml``, which browsers display through the
document's XSLT stylesheet; feed readers get the registered feed media types.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import redirect
from flask import request
from werkzeug.exceptions import Gone
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import TooManyRequests
from werkzeug.http import parse_date
from werkzeug.routing import Map
from werkzeug.routing import Rule
from werkzeug.wrappers import Response as BaseResponse

from app.documents import feed_max_age
from app.domain import ARCHIVE
from app.domain import SITE_SCOPE
from app.domain import FeedFormat
from app.domain import FeedScope
from app.domain import feed_key
from app.domain import feed_path
from app.domain import sitemap_scope
from app.errors import FeedNotFound
from app.errors import StorageUnavailable
from app.private_feeds import PRIVATE_PREFIX
from app.web import polling
from app.web import services
from app.web.caching import PreparedFeed
from app.web.caching import answer_feed

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

    from app.services import Services
    from app.web import Polling
    from app.web.feedcache import FeedCache

log = logging.getLogger(__name__)

blueprint = Blueprint("feeds", __name__)

_REASONS = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


def site_feed(fmt: str) -> Response:
    """The site's feed in one of the three formats."""
    return _serve(SITE_SCOPE, fmt)


def scoped_feed(kind: str, value: str, fmt: str) -> Response:
    """The feed of one category, tag, author or collection."""
    return _serve(FeedScope(kind, value), fmt)


def archive_feed(value: str, fmt: str) -> BaseResponse:
    """An archive page (RFC 5005): ``/archive/0/feed.atom`` holds the first articles
    published. The archive of a period, as earlier versions made them (``2026-08``), answers
    301 with the page that now holds that period's newest article, or 302 with the site
    feed while that page is not complete."""
    if value.isdigit():
        return _serve(FeedScope(ARCHIVE, value), fmt)
    try:
        feed_format = FeedFormat(fmt)
    except ValueError:
        raise FeedNotFound(request.path) from None
    found = services()
    target = found.feeds.archive_for_period(value, found.clock())
    code = 301 if target.kind == ARCHIVE else 302
    return redirect(found.settings.base_url + feed_path(target, feed_format), code=code)


FEED_FILE = "/feed.<fmt>"
"""How every feed URL ends: the Werkzeug rule of the format's file, e.g. ``/feed.atom``."""


@dataclass(frozen=True)
class FeedRoute:
    """One shape of feed URL: the Werkzeug rule of what comes before :data:`FEED_FILE`
    (``<value>`` is the scope's value), the scope kind it serves (None: the rule's
    ``<kind>`` names it), and the view that answers it in Flask."""

    scope_rule: str
    kind: str | None
    view: Callable[..., BaseResponse]

    @property
    def rule(self) -> str:
        """The whole Werkzeug rule."""
        return self.scope_rule + FEED_FILE


FEED_ROUTES = (
    FeedRoute("", SITE_SCOPE.kind, site_feed),
    FeedRoute("/<any(category, tag, author, collection):kind>/<value>", None, scoped_feed),
    FeedRoute("/archive/<value>", ARCHIVE, archive_feed),
)
"""Every feed URL: Flask's url rules and the fast path's matcher are both made from it."""

for _route in FEED_ROUTES:
    blueprint.add_url_rule(_route.rule, view_func=_route.view, methods=["GET"])


class FeedPaths:
    """Which feed a path names, matched by Werkzeug on the rules of :data:`FEED_ROUTES`
    alone (no request object, no other route), as Flask would route it."""

    def __init__(self) -> None:
        rules = [Rule(route.rule, endpoint=route) for route in FEED_ROUTES]
        self._urls = Map(rules).bind("localhost")
        self._files = tuple(FEED_FILE.replace("<fmt>", fmt.value) for fmt in FeedFormat)

    def match(self, path: str) -> tuple[FeedScope, FeedFormat] | None:
        """The scope and format ``path`` names; None for any other path, for a format we
        do not serve, and for a path with an empty segment (``//feed.rss``), which Flask
        redirects or reads as another path: the application answers those."""
        if not path.endswith(self._files) or "//" in path:
            # Most paths (pages, the API) name no feed: a suffix test tells at a tenth of
            # a microsecond, where a Werkzeug match that fails costs some twenty.
            return None
        try:
            route, arguments = self._urls.match(path)
        except HTTPException:
            return None
        kind = route.kind or arguments["kind"]
        return FeedScope(kind, arguments.get("value", "")), FeedFormat(arguments["fmt"])


@blueprint.before_app_request
def moved_or_retired_feed() -> BaseResponse | None:
    """301 for a feed that moved, 410 for one that is gone (feed_moved, feed_retired)."""
    settings = services().settings
    moved_to = settings.moved_feeds.get(request.path)
    if moved_to is not None:
        return redirect(settings.base_url + moved_to, code=301)
    if request.path in settings.retired_feeds:
        raise Gone("This feed has been retired; unsubscribe from it.")
    return None


@dataclass(frozen=True)
class Served:
    """What a path serves: the key of the stored document, the scope it belongs to (which
    sets its max-age), its format (None: a document that is no feed, such as a sitemap)
    and the values of its Link headers."""

    key: str
    scope: FeedScope
    fmt: FeedFormat | None
    links: tuple[str, ...]


def sitemap_document(path: str) -> Served | None:
    """The sitemap (or robots.txt) at ``path``, served as feeds are but with no hub."""
    scope = sitemap_scope(path)
    return Served(path, scope, None, ()) if scope is not None else None


def _serve(scope: FeedScope, fmt: str) -> Response:
    try:
        feed_format = FeedFormat(fmt)
    except ValueError:
        raise FeedNotFound(request.path) from None
    links = feed_links(services(), request.path)
    return serve_document(Served(feed_key(scope, feed_format), scope, feed_format, links))


def serve_document(served: Served) -> Response:
    """The answer to the current request for a stored document (a feed, a sitemap), from
    this process's cache, with the feeds' conditional GET, gzip, HEAD and politeness."""
    prepared = feed_cache().document(served.key, served.scope, served.fmt)
    return answer_prepared(prepared, prepared.snapshot.feed_key, served.links)


def answer_prepared(
    prepared: PreparedFeed, poll_key: str, links: tuple[str, ...], shared: bool = True
) -> Response:
    """The answer to the current request with ``prepared``: politeness (429 to a client
    that fetches again unconditionally too soon), conditional GET, gzip and HEAD
    (:func:`~app.web.caching.answer_feed`; ``shared``: whether shared caches may keep
    it), counted in the poll statistics under ``poll_key``."""
    found = services()
    counters = polling()
    now = found.clock()
    user_agent = request.headers.get("User-Agent", "")
    max_age = feed_max_age(found.settings, prepared.scope, prepared.snapshot, now)
    conditional = "If-None-Match" in request.headers or "If-Modified-Since" in request.headers
    if counters.limiter is not None and not conditional:
        client = f"{request.remote_addr}\n{user_agent}"
        wait = counters.limiter.wait_seconds(client, poll_key, prepared.snapshot.etag, now)
        if wait > 0:
            counters.recorder.record(poll_key, 429, 0, user_agent, now)
            raise TooManyUnconditionalRequests(retry_after=retry_after_seconds(wait, max_age))
    status, headers, body = answer_feed(
        prepared,
        method=request.method,
        accept=request.headers.get("Accept"),
        accept_encoding=request.headers.get("Accept-Encoding"),
        if_none_match=request.headers.get("If-None-Match"),
        if_modified_since=request.headers.get("If-Modified-Since"),
        max_age=max_age,
        links=links,
        now=now,
        shared=shared,
    )
    counters.recorder.record(poll_key, status, len(body), user_agent, now)
    response = Response(body, status=status, headers=headers, direct_passthrough=True)
    if status == 304:
        response.headers.pop("Content-Type", None)
    elif request.method == "HEAD":
        # Werkzeug recomputes Content-Length from the empty body of a HEAD; keep the GET's.
        response.headers["Content-Length"] = dict(headers)["Content-Length"]
    return response


def retry_after_seconds(wait: float, max_age: int) -> int:
    """Retry-After of a 429 (RFC 6585 section 4, RFC 9110 section 10.2.3): the seconds
    until the feed can next change, i.e. its Cache-Control max-age (the regeneration
    interval, or less before a scheduled publication), never later than the client's
    interval ends and never 0 (a 0 would invite an immediate retry).

    A write may change the feed sooner; the client then gets its 200 at once anyway,
    since the limiter lets through any fetch of bytes the client has not had.
    """
    return max(1, min(math.ceil(wait), max_age))


def feed_links(found: Services, path: str) -> tuple[str, ...]:
    """The Link header values of a feed: its hubs and itself (W3C WebSub section 4)."""
    hubs = tuple(f'<{hub}>; rel="hub"' for hub in found.settings.hubs)
    return (*hubs, f'<{found.settings.base_url}{path}>; rel="self"')


def feed_cache() -> FeedCache:
    """The running app's feed cache."""
    cache: FeedCache = current_app.extensions["broadsheet_feeds"]
    return cache


class TooManyUnconditionalRequests(TooManyRequests):
    """429 for a client that re-fetches a feed unconditionally too often (RFC 6585 4)."""

    description = (
        "This feed was fetched without If-None-Match or If-Modified-Since too often. "
        "Send the ETag you got with If-None-Match: conditional requests are never limited."
    )


class FeedFastPath:
    """WSGI middleware that answers feed readers' requests from memory, before Flask."""

    def __init__(
        self, app: WSGIApplication, found: Services, cache: FeedCache, counters: Polling
    ) -> None:
        self._app = app
        self._services = found
        self._cache = cache
        self._counters = counters
        self._special = set(found.settings.moved_feeds) | set(found.settings.retired_feeds)
        self._paths = FeedPaths()
        self._routes: dict[str, Served | None] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        if (
            method not in ("GET", "HEAD")
            or path in self._special
            or path.startswith(PRIVATE_PREFIX)
        ):
            # Private feeds are answered by app.web.private only: their keys are checked
            # on every request and are never remembered here.
            return self._app(environ, start_response)
        route = self._route(path)
        if route is None:
            return self._app(environ, start_response)
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if_modified_since = environ.get("HTTP_IF_MODIFIED_SINCE")
        if self._counters.limiter is not None and not (if_none_match or if_modified_since):
            return self._app(environ, start_response)
        prepared = self._cached(route)
        if prepared is None:
            return self._app(environ, start_response)
        found = self._services
        now = found.clock()

        def answer(prepared: PreparedFeed) -> tuple[int, list[tuple[str, str]], bytes]:
            return answer_feed(
                prepared,
                method=method,
                accept=environ.get("HTTP_ACCEPT"),
                accept_encoding=environ.get("HTTP_ACCEPT_ENCODING"),
                if_none_match=if_none_match,
                if_modified_since=if_modified_since,
                max_age=feed_max_age(found.settings, route.scope, prepared.snapshot, now),
                links=route.links,
                now=now,
            )

        status, headers, body = answer(prepared)
        if _may_be_behind(status, prepared, if_none_match, if_modified_since):
            # The reader may hold bytes that another worker served before this one saw
            # them: catch up first, or the reader would be told that older bytes are
            # current (304) or be sent back to them (200).
            caught_up = self._catch_up(route)
            if caught_up is not None and caught_up is not prepared:
                prepared = caught_up
                status, headers, body = answer(prepared)
        self._counters.recorder.record(
            prepared.snapshot.feed_key, status, len(body), environ.get("HTTP_USER_AGENT", ""), now
        )
        start_response(_REASONS[status], headers)
        return [body]

    def _route(self, path: str) -> Served | None:
        """What a path serves, remembered (feed paths are few and polled again and again)."""
        try:
            return self._routes[path]
        except KeyError:
            pass
        feed = self._paths.match(path)
        route = sitemap_document(path)
        if feed is not None:
            scope, fmt = feed
            route = Served(feed_key(scope, fmt), scope, fmt, feed_links(self._services, path))
        if len(self._routes) < 100_000:
            self._routes[path] = route
        return route

    def _catch_up(self, route: Served) -> PreparedFeed | None:
        """The feed after a refresh of this process's cache (one read of a counter when
        nothing changed); None if the refresh failed, and the caller answers from what it
        holds (stale-if-error, RFC 5861). A failure other than the database's outage
        (which the database logs once) is logged with its traceback."""
        try:
            self._cache.refresh()
        except StorageUnavailable:
            return None
        except Exception:
            log.exception("feed cache refresh failed; answering %s from memory", route.key)
            return None
        return self._cached(route)

    def _cached(self, route: Served) -> PreparedFeed | None:
        """The prepared feed, or None to let the application answer: for a feed that is not
        stored (404) or not in memory while the database is down, as for an unexpected
        failure, which is logged with its traceback first."""
        try:
            return self._cache.document(route.key, route.scope, route.fmt)
        except (FeedNotFound, StorageUnavailable):
            return None
        except Exception:
            log.exception("feed cache failed on %s; answering through the application", route.key)
            return None


def _may_be_behind(
    status: int, prepared: PreparedFeed, if_none_match: str | None, if_modified_since: str | None
) -> bool:
    """Whether a conditional request suggests the reader has seen newer bytes than these:
    a 200 to a reader who sent validators (its copy differs from ours: older, or newer),
    or a 304 on a date later than our Last-Modified (RFC 9110 section 13.1.3)."""
    if status == 200:
        return bool(if_none_match or if_modified_since)
    if status == 304 and if_none_match is None and if_modified_since:
        since = parse_date(if_modified_since)
        return since is not None and since > prepared.snapshot.last_modified
    return False
