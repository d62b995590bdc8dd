"""HTTP caching for everything Broadsheet serves, in one place, on Werkzeug.

Strong ETags come from the bytes (RFC 9110 section 8.8.3); Last-Modified from the content
(section 8.8.2). A gzip body, and the same bytes labelled for a browser, are other
representations with their own ETags, and responses name what they vary on (section
12.5.5). A 304 answers If-None-Match (weak comparison, section 13.1.2) and, only without
it, If-Modified-Since (section 13.1.3); it repeats ETag, Cache-Control, Vary and
Last-Modified and carries no body or content headers (section 15.4.5).

Feeds are the hot path: :func:`prepare_feed` builds every header of every representation
once per snapshot, and :func:`answer_feed` picks one and decides 200 or 304 with string
comparisons, falling back to Werkzeug's parsers only for unusual headers. Pages use
Werkzeug's ``make_conditional`` directly (:func:`conditional_response`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Request
from flask import Response
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import http_date
from werkzeug.http import parse_accept_header
from werkzeug.http import parse_date
from werkzeug.http import parse_etags

from app.domain import FeedFormat
from app.domain import FeedScope
from app.domain import FeedSnapshot
from app.surrogate_keys import key_headers

GZIP_ETAG_SUFFIX = "-gz"
BROWSER_ETAG_SUFFIX = "-xml"
BROWSER_MEDIA_TYPE = "application/xml; charset=utf-8"
# Left out of a 304: the body's own headers, and the CDN keys, which are those of the 200
# the matching ETag came with; a cache that revalidates keeps the stored ones (RFC 9111
# section 4.3.4 updates only the headers a 304 carries), and a 304 is the most frequent
# answer (50 article keys are over 1.5 KB: four times the rest of it).
_NOT_IN_304 = frozenset(
    {"Content-Type", "Content-Length", "Content-Encoding", "Surrogate-Key", "Cache-Tag"}
)

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class Representation:
    """One way to send a feed: its bytes, its quoted ETag and its fixed headers."""

    body: bytes
    etag: str
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class PreparedFeed:
    """A feed snapshot with every representation ready to send."""

    snapshot: FeedSnapshot
    scope: FeedScope
    fmt: FeedFormat | None
    """The feed's format; None for a document that is no feed (a sitemap, robots.txt)."""
    plain: Representation
    plain_gzip: Representation
    browser: Representation | None
    browser_gzip: Representation | None

    @property
    def size(self) -> int:
        """Bytes held (bodies are shared between representations)."""
        return len(self.snapshot.body) + len(self.snapshot.body_gzip)


def prepare_feed(snapshot: FeedSnapshot, scope: FeedScope, fmt: FeedFormat | None) -> PreparedFeed:
    """Build every representation of a feed snapshot, once (``fmt`` None: a stored
    document that is no feed, such as a sitemap, served the same way but never relabelled
    for browsers)."""
    readable = fmt is not None and fmt is not FeedFormat.JSON
    vary = "Accept-Encoding, Accept" if readable else "Accept-Encoding"
    last_modified = http_date(snapshot.last_modified)

    def representation(media_type: str, gzip: bool, suffix: str) -> Representation:
        body = snapshot.body_gzip if gzip else snapshot.body
        etag = f'"{snapshot.etag}{suffix}{GZIP_ETAG_SUFFIX if gzip else ""}"'
        headers = [("Content-Type", media_type), ("Content-Length", str(len(body)))]
        if gzip:
            headers.append(("Content-Encoding", "gzip"))
        headers += [("ETag", etag), ("Last-Modified", last_modified), ("Vary", vary)]
        # The CDN keys stored with the snapshot when it was rendered (app/surrogate_keys.py),
        # so a CDN can purge it by feed or by article; never made per request.
        headers += key_headers(snapshot.surrogate_keys) if snapshot.surrogate_keys else ()
        if suffix == BROWSER_ETAG_SUFFIX:
            # Safari and others would otherwise sniff the XML and offer a download.
            headers.append(("X-Content-Type-Options", "nosniff"))
        return Representation(body, etag, tuple(headers))

    media = snapshot.media_type
    return PreparedFeed(
        snapshot=snapshot,
        scope=scope,
        fmt=fmt,
        plain=representation(media, False, ""),
        plain_gzip=representation(media, True, ""),
        browser=representation(BROWSER_MEDIA_TYPE, False, BROWSER_ETAG_SUFFIX)
        if readable
        else None,
        browser_gzip=representation(BROWSER_MEDIA_TYPE, True, BROWSER_ETAG_SUFFIX)
        if readable
        else None,
    )


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding value takes gzip (an explicit ``q=0`` refuses it)."""
    if not accept_encoding or "gzip" not in accept_encoding:
        return False
    if ";" not in accept_encoding:
        return True
    return parse_accept_header(accept_encoding)["gzip"] > 0


def prefers_html(accept: str | None, media_type: str) -> bool:
    """Whether a client names ``text/html`` and prefers it to the feed's media type."""
    if not accept or "text/html" not in accept:
        return False
    parsed = parse_accept_header(accept, MIMEAccept)
    if not any(value == "text/html" for value, _ in parsed):
        return False
    return parsed["text/html"] > parsed[media_type.split(";")[0]]


def not_modified(
    etag: str,
    last_modified: datetime,
    if_none_match: str | None,
    if_modified_since: str | None,
    now: datetime,
) -> bool:
    """Whether a conditional GET or HEAD at ``now`` may be answered with 304 (RFC 9110 13.1)."""
    if if_none_match is not None:
        candidate = if_none_match.strip()
        if candidate in (etag, "W/" + etag, "*"):
            return True
        return parse_etags(candidate).contains_weak(etag.strip('"'))
    if if_modified_since:
        since = parse_date(if_modified_since)
        # A date later than our clock was never a Last-Modified of ours: it is invalid
        # (RFC 2616 section 14.25) and would hide every change made before it.
        return since is not None and last_modified.replace(microsecond=0) <= since <= now
    return False


def answer_feed(
    prepared: PreparedFeed,
    *,
    method: str,
    accept: str | None,
    accept_encoding: str | None,
    if_none_match: str | None,
    if_modified_since: str | None,
    max_age: int,
    links: tuple[str, ...],
    now: datetime,
    shared: bool = True,
) -> tuple[int, Headers, bytes]:
    """Status, headers and body for one request for a prepared feed, answered at ``now``;
    ``shared`` False for a document only its requester may keep (``Cache-Control:
    private``, RFC 9111 section 5.2.2.7: no shared cache stores it)."""
    gzip = accepts_gzip(accept_encoding)
    chosen = prepared.plain_gzip if gzip else prepared.plain
    if prepared.browser is not None and prefers_html(accept, prepared.snapshot.media_type):
        chosen = (prepared.browser_gzip if gzip else prepared.browser) or chosen
    headers = list(chosen.headers)
    if prepared.snapshot.last_modified > now:
        # A feed that changed twice within a second is stamped with the next second, so
        # that If-Modified-Since tells its versions apart; until then the message's own
        # date stands in, never a later one (RFC 9110 section 8.8.2.1).
        headers = [
            (name, http_date(now) if name == "Last-Modified" else value) for name, value in headers
        ]
    headers.append(("Cache-Control", f"{'public' if shared else 'private'}, max-age={max_age}"))
    headers.extend(("Link", link) for link in links)
    if not_modified(
        chosen.etag, prepared.snapshot.last_modified, if_none_match, if_modified_since, now
    ):
        return 304, [h for h in headers if h[0] not in _NOT_IN_304], b""
    return 200, headers, b"" if method == "HEAD" else chosen.body


def conditional_response(
    request: Request,
    body: bytes,
    *,
    content_type: str,
    etag: str,
    last_modified: datetime | None,
    max_age: int,
) -> Response:
    """A 200 or 304 for a page (``etag`` is strong, without quotes)."""
    response = Response(body, content_type=content_type)
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    response.make_conditional(request)
    return response
