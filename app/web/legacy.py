"""Old URLs of the site the articles were imported from: a request that nothing else
answers, for a path an import kept or of a shape of ``legacy.url_patterns``, is sent to
the article's page with 301 (RFC 9110 section 15.4.2: moved for good, so search engines
and readers' bookmarks follow it and keep it)."""

from __future__ import annotations

from flask import Response
from flask import request

from app.domain import permalink_url
from app.errors import ArticleNotFound
from app.errors import StorageUnavailable
from app.private_feeds import PRIVATE_PREFIX
from app.web import services

#: WordPress's short link of a post, ``/?p=<id>``, which its default permalinks also are.
WORDPRESS_POST_QUERY = "p"


def old_url_redirect() -> Response | None:
    """The 301 for an unknown GET or HEAD request whose path is an old URL, or ``None``
    (the caller then answers its 404). The API and private feeds have no old URLs.

    Raises:
        ArticleGone: the old URL's article was deleted (its page answers 410 too).
    """
    path = request.path
    if request.method not in ("GET", "HEAD") or path.startswith(("/api/", PRIVATE_PREFIX)):
        return None
    found = services()
    if path == "/":
        post = request.args.get(WORDPRESS_POST_QUERY, "")
        if not post:
            return None
        query = f"{WORDPRESS_POST_QUERY}={post}"  # other parameters (tracking) aside
    else:
        query = request.query_string.decode("utf-8", "replace")
    try:
        slug = found.old_urls.current_slug(path, query, found.clock())
    except (ArticleNotFound, StorageUnavailable):
        # Unavailable: the 404 the request would have had; a redirect waits for the
        # database, and a wrong 301 would be cached for good.
        return None
    location = permalink_url(found.settings.base_url, slug)
    return Response(f"Moved to {location}\n", 301, {"Location": location}, mimetype="text/plain")
