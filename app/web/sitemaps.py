"""The sitemaps and robots.txt, stored by the scheduler (:mod:`app.sitemaps`), served in
Flask exactly as feeds are (:func:`app.web.feeds.serve_document`); the fast path in front
of Flask answers most requests for them before they get here.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import request

from app.errors import FeedNotFound
from app.web.feeds import serve_document
from app.web.feeds import sitemap_document

blueprint = Blueprint("sitemaps", __name__)


@blueprint.get("/robots.txt")
@blueprint.get("/sitemap.xml")
@blueprint.get("/sitemap-<name>.xml")
def sitemap(name: str = "") -> Response:
    """A sitemap or robots.txt (``name`` is read from the path); 404 if none is stored."""
    served = sitemap_document(request.path)
    if served is None:
        raise FeedNotFound(request.path)
    return serve_document(served)
