"""Hardening for every response and the write API's defences against guessing and bloat.

Three things, installed by :func:`install_security`:

- **Security headers on every response** (:func:`security_headers`): a Content-Security-Policy
  chosen by the response's media type, ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy`` and ``X-Frame-Options``. They are added by a WSGI layer around the
  whole application rather than by an ``after_request`` hook, because feed requests can be
  answered before Flask (:class:`~app.web.feeds.FeedFastPath`) and a feed's browser view
  needs its policy as much as a page does. A header a view set itself is kept.
- **Request header limits**: one header over ``http_max_header_bytes`` or all of them over
  ``http_max_headers_bytes`` get 431 (RFC 6585 section 5), whatever the server in front
  allows (Werkzeug's development server has no limit, gunicorn's are per line and count).
  Oversized requests skip the feed fast path so that Flask answers them with the usual
  error page or problem document.
- **A limiter of failed API authentications** (:class:`FailureLimiter`,
  :func:`authentication_attempt`): after ``api_auth_max_failures`` failures from one client
  address within ``api_auth_failure_window_seconds``, API calls from that address get 429
  with Retry-After until the oldest failure leaves the window. The count lives in the
  memory of each web process: N gunicorn workers on M instances allow up to N x M times
  the limit. That is enough to make guessing a 256-bit secret pointless and to quiet a
  misconfigured client; a shared limit would need a shared store. Behind a proxy,
  ``remote_addr`` is the proxy's address, and every client would share one budget, unless
  ``server_trusted_proxies`` says how many proxies' X-Forwarded-For entries to trust
  (Werkzeug's ``ProxyFix``, applied in :func:`app.web.application.create_app`).

The policies:

- **HTML pages and error pages**: ``default-src 'self'`` with no script at all
  (``script-src 'none'``: the pages need none), styles only from our stylesheet (no inline
  ``style``), images from this site or any ``https:`` origin (articles' lead images and
  inline images live on newsrooms' CDNs; the content pipeline only lets http(s) URLs
  through, and ``data:`` images are never needed), and no plugins, no ``<base>``, no form
  submission, no framing.
- **Feeds (XML)**: the same, except ``script-src 'self'``: Chromium and Firefox load an
  ``<?xml-stylesheet type="text/xsl"?>`` under ``script-src`` and apply the XML document's
  policy to the XSLT output, so the same-origin ``/static/feed.xsl`` must be allowed as a
  "script" for the browser view to render. ``nosniff`` keeps any same-origin response that
  is not JavaScript from running as one.
- **Everything else** (JSON, problem details, CSS, images, text): ``default-src 'none';
  frame-ancestors 'none'; sandbox``: opened on its own, none of it may run or load anything.
- A 304 without a Content-Type gets no policy: it stands for a stored response whose
  headers, policy included, it updates (RFC 9111 section 4.3.4).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from cachetools import FIFOCache
from flask import Flask
from flask import current_app
from flask import request
from werkzeug.exceptions import RequestHeaderFieldsTooLarge
from werkzeug.exceptions import TooManyRequests

from app.clock import Clock
from app.errors import AuthenticationFailed
from app.settings import Settings

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

log = logging.getLogger(__name__)

_COMMON = (
    "style-src 'self'",
    "img-src 'self' https:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
)
PAGE_POLICY = "; ".join(("default-src 'self'", "script-src 'none'", *_COMMON))
FEED_POLICY = "; ".join(("default-src 'self'", "script-src 'self'", *_COMMON))
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
REFERRER_POLICY = "strict-origin-when-cross-origin"
_XML_TYPES = frozenset(
    {
        "application/xml",
        "text/xml",
        "application/rss+xml",
        "application/atom+xml",
        "application/xslt+xml",
        "text/xsl",
    }
)
_EXTENSION = "broadsheet_security"
OVERSIZED_HEADERS = "broadsheet.oversized_headers"
"""WSGI environ key set on a request whose headers are over the limits."""


def security_headers(content_type: str | None, status: int) -> list[tuple[str, str]]:
    """The security headers for a response of ``content_type`` and ``status``."""
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", REFERRER_POLICY),
        ("X-Frame-Options", "DENY"),
    ]
    policy = content_policy(content_type, status)
    if policy is not None:
        headers.append(("Content-Security-Policy", policy))
    return headers


def content_policy(content_type: str | None, status: int) -> str | None:
    """The Content-Security-Policy for a response, or None for a 304 with no media type."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if not media and status == 304:
        return None
    if media in ("text/html", "application/xhtml+xml"):
        return PAGE_POLICY
    if media in _XML_TYPES:
        return FEED_POLICY
    return OTHER_POLICY


def header_bytes(environ: WSGIEnvironment) -> tuple[int, int]:
    """The largest request header and all of them, in bytes as sent (``Name: value``)."""
    largest = total = 0
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name_length = len(key) - 5
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name_length = len(key)
        else:
            continue
        size = name_length + 2 + len(value)  # WSGI values are latin-1: one char, one byte
        largest = max(largest, size)
        total += size + 2
    return largest, total


class SecurityLayer:
    """WSGI middleware: refuses oversized headers and adds the security headers."""

    def __init__(self, app: Flask, max_header: int, max_headers: int) -> None:
        self._next: WSGIApplication = app.wsgi_app
        # Flask itself, past any layer in front of it (the feed fast path): it renders the
        # 431 page or problem document.
        self._flask: WSGIApplication = partial(Flask.wsgi_app, app)
        self._max_header = max_header
        self._max_headers = max_headers

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        largest, total = header_bytes(environ)
        target = self._next
        if largest > self._max_header or total > self._max_headers:
            environ[OVERSIZED_HEADERS] = (largest, total)
            target = self._flask
        return target(environ, partial(_start_with_headers, start_response))


def _start_with_headers(
    start_response: StartResponse,
    status: str,
    headers: list[tuple[str, str]],
    exc_info: OptExcInfo | None = None,
) -> Callable[[bytes], object]:
    present = {name.lower() for name, _ in headers}
    content_type = next((value for name, value in headers if name.lower() == "content-type"), None)
    code = int(status.split(" ", 1)[0])
    # A new list: the caller's may be shared (the feed fast path prepares its headers once).
    added = [
        pair for pair in security_headers(content_type, code) if pair[0].lower() not in present
    ]
    return start_response(status, [*headers, *added], exc_info)


class FailureLimiter:
    """Failures per key in a sliding window, in this process's memory (thread-safe)."""

    def __init__(self, max_failures: int, window: timedelta, max_keys: int = 10_000) -> None:
        self.max_failures = max_failures
        self.window = window
        # First in, first out, where a key that fails again goes last: the keys that failed
        # longest ago are forgotten first. Not thread-safe on its own: the lock.
        self._failures: FIFOCache[str, deque[datetime]] = FIFOCache(max_keys)
        self._lock = threading.Lock()

    def retry_after(self, key: str, now: datetime) -> int:
        """Seconds ``key`` must wait before trying again; 0 when it may try now."""
        with self._lock:
            times = self._failures.get(key)
            if times is None:
                return 0
            self._forget_old(times, now)
            if not times:
                del self._failures[key]
                return 0
            if len(times) < self.max_failures:
                return 0
            return max(1, math.ceil((times[0] + self.window - now).total_seconds()))

    def record_failure(self, key: str, now: datetime) -> None:
        """Count one failure of ``key`` at ``now``."""
        with self._lock:
            times = self._failures.get(key)
            if times is None:
                times = deque(maxlen=self.max_failures)
            self._forget_old(times, now)
            times.append(now)
            self._failures[key] = times  # stored again: it goes last

    def _forget_old(self, times: deque[datetime], now: datetime) -> None:
        while times and times[0] <= now - self.window:
            times.popleft()


class TooManyFailedAuthentications(TooManyRequests):
    """429 for a client address with too many failed authentications (RFC 6585 4)."""

    description = "Too many failed authentications from this address; try again later."


def install_security(app: Flask, settings: Settings, clock: Clock) -> None:
    """Add the security headers, header limits and authentication limiter to ``app``.

    Call it after every other WSGI layer is in place: it must be the outermost but for
    the request observer (:mod:`app.web.observe`), which only adds ``X-Request-ID``.
    """
    app.extensions[_EXTENSION] = _Security(
        clock,
        FailureLimiter(
            settings.api_auth_max_failures,
            timedelta(seconds=settings.api_auth_failure_window_seconds),
        ),
    )
    app.before_request(_refuse_oversized_headers)
    app.wsgi_app = SecurityLayer(  # type: ignore[method-assign]
        app, settings.http_max_header_bytes, settings.http_max_headers_bytes
    )


class _Security:
    def __init__(self, clock: Clock, limiter: FailureLimiter) -> None:
        self.clock = clock
        self.limiter = limiter


def _refuse_oversized_headers() -> None:
    sizes = request.environ.get(OVERSIZED_HEADERS)
    if sizes is not None:
        log.warning(
            "refused oversized headers client=%s largest=%d total=%d",
            request.remote_addr,
            *sizes,
        )
        raise RequestHeaderFieldsTooLarge()


@contextmanager
def authentication_attempt() -> Iterator[None]:
    """Guard one API authentication of the current request's client address.

    Raises:
        TooManyFailedAuthentications: the address failed too often recently (429).
        AuthenticationFailed: from the block, after counting it against the address.
    """
    found: _Security = current_app.extensions[_EXTENSION]
    client = request.remote_addr or "unknown"
    now = found.clock()
    wait = found.limiter.retry_after(client, now)
    if wait:
        log.warning("api authentication throttled client=%s retry_after=%d", client, wait)
        raise TooManyFailedAuthentications(retry_after=wait)
    try:
        yield
    except AuthenticationFailed:
        found.limiter.record_failure(client, now)
        log.warning("api authentication failed client=%s", client)
        raise
