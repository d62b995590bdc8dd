"""The one place where errors become HTTP responses.

Under ``/api`` every error is ``application/problem+json`` (RFC 9457); elsewhere it is an
HTML page. Domain errors map to status codes here and nowhere else.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask
from flask import Response
from flask import current_app
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from app import errors
from app.domain import permalink_url
from app.private_feeds import PRIVATE_PREFIX
from app.private_feeds import redact_feed_keys
from app.web import services
from app.web.legacy import old_url_redirect

log = logging.getLogger(__name__)

#: Every 413, whichever limit refused the request: one code, one title.
CONTENT_TOO_LARGE = "content-too-large"
# RFC 9110 renamed these statuses (sections 15.5.14 and 15.5.21); http.HTTPStatus has the
# new phrases only from Python 3.13 on. 413 problem documents use RFC 9110's title.
_TITLES = {413: "Content Too Large"}

_STATUS: dict[type[errors.BroadsheetError], tuple[int, str]] = {
    # RFC 9110 section 15.5.1: a body that is not JSON is a malformed request, not
    # content whose fields are wrong (section 15.5.21).
    errors.MalformedJson: (400, "malformed-json"),
    errors.InvalidInput: (422, "invalid-input"),
    errors.ArticleNotFound: (404, "not-found"),
    errors.FeedNotFound: (404, "not-found"),
    errors.TokenNotFound: (404, "not-found"),
    errors.SubscriberNotFound: (404, "not-found"),
    errors.SubscriberNameTaken: (409, "name-taken"),
    errors.FeedKeyRefused: (403, "forbidden"),
    errors.CollectionNotFound: (404, "not-found"),
    errors.CollectionDeclared: (409, "declared-in-settings"),
    errors.ArticleGone: (410, "gone"),
    errors.ArticleMoved: (301, "moved"),
    errors.SlugTaken: (409, "slug-taken"),
    errors.TokenNameTaken: (409, "name-taken"),
    errors.EditConflict: (412, "edit-conflict"),
    errors.PreconditionRequired: (428, "if-match-required"),
    errors.PayloadTooLarge: (413, CONTENT_TOO_LARGE),
    errors.UnsupportedMediaType: (415, "unsupported-media-type"),
    errors.AuthenticationFailed: (401, "unauthorized"),
    errors.StorageUnavailable: (503, "unavailable"),
}
RETRY_AFTER_SECONDS = 5


def register_error_handlers(app: Flask) -> None:
    """Install the handlers for domain errors and HTTP errors."""
    app.register_error_handler(errors.BroadsheetError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)


def _domain_error(error: errors.BroadsheetError) -> BaseResponse:
    if isinstance(error, errors.ArticleMoved):
        # The old permalink of a renamed article (RFC 9110 section 15.4.2).
        location = permalink_url(services().settings.base_url, error.current_slug)
        return redirect(location, code=301)
    status, code = _status_of(error)
    extra: dict[str, Any] = {"code": code}
    if error.errors:  # the fields a client must change (a 409 names the slug, too)
        extra["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
    if isinstance(error, errors.InvalidInput) and not isinstance(error, errors.MalformedJson):
        detail = _invalid_detail(error)
    else:
        detail = str(error) or HTTPStatus(status).description
    response = _respond(status, detail, extra)
    if isinstance(error, errors.AuthenticationFailed):
        response.headers["WWW-Authenticate"] = 'Bearer realm="broadsheet"'
    if isinstance(error, errors.StorageUnavailable):
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if isinstance(error, errors.EditConflict):
        response.headers["ETag"] = f'"{error.current_etag}"'
    return response


def _http_error(error: HTTPException) -> BaseResponse:
    if error.code == 404:
        # A path no route knows may be an old URL of the site the articles came from.
        try:
            moved = old_url_redirect()
        except errors.ArticleGone as gone:
            return _domain_error(gone)
        if moved is not None:
            return moved
    status = error.code or 500
    detail = error.description or HTTPStatus(status).description
    code = HTTPStatus(status).phrase.lower().replace(" ", "-")
    extra: dict[str, Any] = {"code": code}
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if status == 413 and limit is not None:
        # Refused unread by Werkzeug: the same document as the article body's 413, the
        # request body itself (field "") over its limit.
        detail = f"The request body is over the limit of {limit} bytes."
        extra = {"code": CONTENT_TOO_LARGE, "errors": [{"field": "", "message": detail}]}
    response = _respond(status, detail, extra)
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response


def title_of(status: int) -> str:
    """The title of a problem document with ``status``: its RFC 9110 reason phrase."""
    return _TITLES.get(status) or HTTPStatus(status).phrase


def _status_of(error: errors.BroadsheetError) -> tuple[int, str]:
    for kind in type(error).__mro__:
        if kind in _STATUS:
            return _STATUS[kind]
    log.error("unmapped domain error %r", error)
    return 500, "internal-error"


def _invalid_detail(error: errors.InvalidInput) -> str:
    named = "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in error.errors)
    return f"{error.detail} {named}".strip()


def _respond(status: int, detail: str, extra: dict[str, Any]) -> Response:
    title = title_of(status)
    if request.path.startswith(PRIVATE_PREFIX):
        # A private feed's refusal: a short line for the feed reader, no page with links,
        # nothing a search engine keeps, and never the key (it is in the path).
        response = Response(
            f"{status} {title}: {redact_feed_keys(detail)}\n",
            status=status,
            content_type="text/plain; charset=utf-8",
        )
        response.headers["X-Robots-Tag"] = "noindex"
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response
    if request.path.startswith("/api/"):
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        body.update(extra)
        response = jsonify(body)
        response.status_code = status
        response.content_type = "application/problem+json"
        return response
    html = render_template(
        "error.html",
        status=status,
        title=title,
        detail=detail,
        site=services().settings,
        feed_links=[],
        canonical_url=services().settings.base_url + request.path,
        og={"type": "website", "title": title, "description": detail, "url": None,
            "image": None, "locale": None, "site_name": services().settings.site_title},
    )  # fmt: skip
    return Response(html, status=status, content_type="text/html; charset=utf-8")
