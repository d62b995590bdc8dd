"""Feed URLs: stored snapshots served with conditional GET. Requests never render.

A browser that opens an RSS or Atom feed (it asks for ``text/html`` before anything a feed
could be) gets the same bytes as ``application/xml``, which browsers display through the
document's XSLT stylesheet; feed readers get the registered feed media types.
"""

from __future__ import annotations

import math

from flask import Blueprint
from flask import Request
from flask import Response
from flask import redirect
from flask import request
from werkzeug.exceptions import Gone
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response as BaseResponse

from app.domain import SITE_SCOPE
from app.domain import FeedFormat
from app.domain import FeedScope
from app.errors import FeedNotFound
from app.publishing import feed_max_age
from app.web import polling
from app.web import services
from app.web.caching import feed_response

blueprint = Blueprint("feeds", __name__)

BROWSER_MEDIA_TYPE = "application/xml; charset=utf-8"
BROWSER_ETAG_SUFFIX = "-xml"


@blueprint.get("/feed.<fmt>")
def site_feed(fmt: str) -> Response:
    """The site's feed in one of the three formats."""
    return _serve(SITE_SCOPE, fmt)


@blueprint.get("/<any(category, tag, author, archive):kind>/<value>/feed.<fmt>")
def scoped_feed(kind: str, value: str, fmt: str) -> Response:
    """The feed of one category, tag or author, or one month's archive (RFC 5005)."""
    return _serve(FeedScope(kind, value), fmt)


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


def _serve(scope: FeedScope, fmt: str) -> Response:
    try:
        feed_format = FeedFormat(fmt)
    except ValueError:
        raise FeedNotFound(request.path) from None
    found = services()
    snapshot = found.publisher.feed_snapshot(scope, feed_format)
    now = found.clock()
    max_age = feed_max_age(found.settings, scope, snapshot, now)
    user_agent = request.headers.get("User-Agent", "")
    counters = polling()
    if counters.limiter is not None and not _is_conditional(request):
        client = f"{request.remote_addr}\n{user_agent}"
        wait = counters.limiter.wait_seconds(client, snapshot.feed_key, now)
        if wait > 0:
            counters.recorder.record(snapshot.feed_key, 429, 0, user_agent, now)
            raise TooManyUnconditionalRequests(retry_after=math.ceil(wait))
    browser = feed_format is not FeedFormat.JSON and _is_browser(request, snapshot.media_type)
    response = feed_response(
        request,
        snapshot,
        max_age,
        media_type=BROWSER_MEDIA_TYPE if browser else None,
        etag_suffix=BROWSER_ETAG_SUFFIX if browser else "",
    )
    if feed_format is not FeedFormat.JSON:
        response.vary.add("Accept")
    if browser:
        # Safari and others would otherwise sniff and download (aboutfeeds' advice).
        response.headers["X-Content-Type-Options"] = "nosniff"
    self_url = found.settings.base_url + request.path
    for hub in found.settings.hubs:
        # WebSub discovery (W3C WebSub section 4): hub and self as HTTP Link headers.
        response.headers.add("Link", f'<{hub}>; rel="hub"')
    response.headers.add("Link", f'<{self_url}>; rel="self"')
    # A 304 keeps the Content-Length of the 200 it stands for (RFC 9110 8.6) but sends none.
    has_body = request.method != "HEAD" and response.status_code == 200
    sent = response.content_length or 0 if has_body else 0
    counters.recorder.record(snapshot.feed_key, response.status_code, sent, user_agent, now)
    return response


def _is_conditional(incoming: Request) -> bool:
    return "If-None-Match" in incoming.headers or "If-Modified-Since" in incoming.headers


class TooManyUnconditionalRequests(TooManyRequests):
    """429 for a client that re-fetches a feed unconditionally too often (RFC 6585 4)."""

    description = (
        "This feed was fetched without If-None-Match or If-Modified-Since too often. "
        "Send the ETag you got with If-None-Match: conditional requests are never limited."
    )


def _is_browser(incoming: Request, media_type: str) -> bool:
    """Whether the client explicitly prefers HTML to the feed's own media type."""
    accept = incoming.accept_mimetypes
    if not any(value == "text/html" for value, _ in accept):
        return False
    return accept["text/html"] > accept[media_type.split(";")[0]]
