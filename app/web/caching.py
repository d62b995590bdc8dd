"""HTTP caching for everything Broadsheet serves, in one place, on Werkzeug.

Strong ETags come from the bytes (RFC 9110 section 8.8.3); Last-Modified from the content
(section 8.8.2); a gzip body is a different representation with its own ETag, and every
response says ``Vary: Accept-Encoding`` (section 12.5.5). ``make_conditional`` answers 304
for If-None-Match (weak comparison, section 13.1.2) and, only without it,
If-Modified-Since (section 13.1.3), repeating ETag, Cache-Control and Vary (section 15.4.5).
"""

from __future__ import annotations

from datetime import datetime

from flask import Request
from flask import Response

from app.domain import FeedSnapshot

GZIP_ETAG_SUFFIX = "-gz"


def accepts_gzip(request: Request) -> bool:
    """Whether the client accepts gzip (an explicit ``q=0`` refuses it, RFC 9110 12.5.3)."""
    return request.accept_encodings["gzip"] > 0


def conditional_response(
    request: Request,
    body: bytes,
    *,
    content_type: str,
    etag: str,
    last_modified: datetime | None,
    max_age: int,
    gzip_body: bytes | None = None,
    public: bool = True,
) -> Response:
    """A 200 or 304 for ``body`` (or ``gzip_body`` when the client takes gzip).

    ``etag`` is the strong ETag of the identity bytes, without quotes.
    """
    use_gzip = gzip_body is not None and accepts_gzip(request)
    response = Response(gzip_body if use_gzip else body, content_type=content_type)
    if use_gzip:
        response.headers["Content-Encoding"] = "gzip"
    response.set_etag(etag + GZIP_ETAG_SUFFIX if use_gzip else etag)
    if last_modified is not None:
        response.last_modified = last_modified
    if public:
        response.cache_control.public = True
    response.cache_control.max_age = max_age
    if gzip_body is not None:
        response.vary.add("Accept-Encoding")
    response.make_conditional(request)
    return response


def feed_response(
    request: Request,
    snapshot: FeedSnapshot,
    max_age: int,
    media_type: str | None = None,
    etag_suffix: str = "",
) -> Response:
    """Serve a stored feed snapshot with its validators.

    ``media_type`` overrides the snapshot's; the same bytes under another media type are
    another representation, so they get another ETag (``etag_suffix``).
    """
    return conditional_response(
        request,
        snapshot.body,
        content_type=media_type or snapshot.media_type,
        etag=snapshot.etag + etag_suffix,
        last_modified=snapshot.last_modified,
        max_age=max_age,
        gzip_body=snapshot.body_gzip,
    )
