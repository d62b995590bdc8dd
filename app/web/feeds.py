"""Feed URLs: stored snapshots served with conditional GET. Requests never render."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import request

from app.domain import SITE_SCOPE
from app.domain import FeedFormat
from app.domain import FeedScope
from app.errors import FeedNotFound
from app.web import services
from app.web.caching import feed_response

blueprint = Blueprint("feeds", __name__)

SCOPE_KINDS = ("category", "tag", "author")


@blueprint.get("/feed.<fmt>")
def site_feed(fmt: str) -> Response:
    """The site's feed in one of the three formats."""
    return _serve(SITE_SCOPE, fmt)


@blueprint.get("/<any(category, tag, author):kind>/<value>/feed.<fmt>")
def scoped_feed(kind: str, value: str, fmt: str) -> Response:
    """The feed of one category, tag or author."""
    return _serve(FeedScope(kind, value), fmt)


def _serve(scope: FeedScope, fmt: str) -> Response:
    try:
        feed_format = FeedFormat(fmt)
    except ValueError:
        raise FeedNotFound(request.path) from None
    found = services()
    snapshot = found.publisher.feed_snapshot(scope, feed_format)
    response = feed_response(request, snapshot, found.settings.feed_regenerate_seconds)
    self_url = found.settings.base_url + request.path
    response.headers.add("Link", f'<{self_url}>; rel="self"')
    return response
