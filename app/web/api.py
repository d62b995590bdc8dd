"""The write API under ``/api/v1``: JSON in and out, bearer tokens, problem details.

Request bodies are validated by the pydantic models of :mod:`app.inputs` (strict types,
unknown fields refused, the field rules every way in shares) and turned into
:class:`~app.articles.ArticleInput`; the use cases do the rest.
"""

from __future__ import annotations

import logging
from typing import Any
from typing import TypeVar

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import jsonify
from flask import request
from flask import url_for
from pydantic import BaseModel
from werkzeug.exceptions import RequestEntityTooLarge

from app.articles import ArticleInput
from app.domain import Article
from app.domain import ArticleStatus
from app.domain import permalink_url
from app.errors import FieldError
from app.errors import InvalidInput
from app.errors import PreconditionRequired
from app.errors import UnsupportedMediaType
from app.inputs import ARTICLE_FIELDS
from app.inputs import CLEARABLE_FIELDS
from app.inputs import INVALID_ARTICLE
from app.inputs import ArticleChanges
from app.inputs import ArticleCreate
from app.inputs import domain_values
from app.inputs import editable_fields
from app.inputs import instant_text
from app.json_input import UTF8_BOM
from app.json_input import parse_json
from app.settings import Settings
from app.web import services

log = logging.getLogger(__name__)
_Model = TypeVar("_Model", bound=BaseModel)
blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


class ArticlePatch(ArticleChanges):
    """A JSON merge patch (RFC 7396): only the fields present change; null clears."""

    significant: bool = False
    """Not stored: true marks an editorial update, which moves ``updated_at``."""


class ArticleReplace(ArticleCreate):
    """A full replacement (PUT); ``significant`` as in a patch."""

    significant: bool = False


#: Room for the JSON around an article body: a request may be this much larger than
#: ``api.max_body_bytes`` before it is refused unread.
REQUEST_OVERHEAD_BYTES = 65_536


def max_request_bytes(settings: Settings) -> int:
    """The largest request body read at all (Flask's ``MAX_CONTENT_LENGTH``)."""
    return settings.api_max_body_bytes + REQUEST_OVERHEAD_BYTES


# Query bounds, which the OpenAPI document states as well.
MAX_PAGE = 1_000_000
STATS_DAYS = 30
"""Days of poll statistics when ``?days=`` is absent."""
MAX_STATS_DAYS = 3660


# The fields a patch or a replacement may not set to null (the model reads null as absent).
_NOT_NULLABLE = tuple(name for name in ARTICLE_FIELDS if name not in CLEARABLE_FIELDS)


@blueprint.before_request
def authenticate() -> None:
    """Every API call needs an active bearer token (RFC 6750).

    Failures count against the client's address (429 once there are too many); the token's
    name, never its secret, is what the write logs show.
    """
    from app.web.security import authentication_attempt

    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    found = services()
    with authentication_attempt():
        token = found.access.authenticate(
            secret.strip() if scheme.lower() == "bearer" else None, found.clock()
        )
    g.token_name = token.name


@blueprint.post("/articles")
def create_article() -> tuple[Response, int, dict[str, str]]:
    """Create an article; 201 with its representation, Location and ETag."""
    model = _parse(ArticleCreate)
    found = services()
    article = found.articles.create_article(_to_input(model), found.clock())
    log.info("api write=create article=%s token=%s", article.id, g.token_name)
    headers = {
        "Location": found.settings.base_url + url_for("api.get_article", article_id=article.id),
        "ETag": f'"{article.etag}"',
    }
    return jsonify(_represent(article)), 201, headers


@blueprint.get("/articles")
def list_articles() -> Response:
    """A page of articles, newest first; ``?status=draft|scheduled|published&page=&per_page=``."""
    found = services()
    settings = found.settings
    status_arg = request.args.get("status")
    errors: list[FieldError] = []
    status = None
    if status_arg:
        try:
            status = ArticleStatus(status_arg)
        except ValueError:
            errors.append(FieldError("status", "must be draft, scheduled or published"))
    page = _int_arg("page", 1, 1, MAX_PAGE, errors)
    per_page = _int_arg("per_page", settings.api_page_size, 1, settings.api_max_page_size, errors)
    if errors:
        raise InvalidInput(errors, "The query is invalid.")
    listing = found.articles.list_articles(found.clock(), status, page, per_page)
    response = jsonify(
        items=[_represent(article) for article in listing.articles],
        page=listing.page,
        per_page=listing.per_page,
        total=listing.total,
    )
    links = []
    query: dict[str, Any] = {"per_page": per_page}
    if status is not None:
        query["status"] = status.value
    if page * per_page < listing.total:
        links.append(f'<{url_for("api.list_articles", page=page + 1, **query)}>; rel="next"')
    if page > 1:
        links.append(f'<{url_for("api.list_articles", page=page - 1, **query)}>; rel="prev"')
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


@blueprint.get("/articles/<path:article_id>")
def get_article(article_id: str) -> Response:
    """One article, whatever its status, with its ETag for a later If-Match."""
    article = services().articles.get_article(article_id)
    response = jsonify(_represent(article))
    response.set_etag(article.etag)
    return response


@blueprint.patch("/articles/<path:article_id>")
def patch_article(article_id: str) -> Response:
    """Change some fields (JSON merge patch); needs If-Match with the current ETag."""
    model = _parse(ArticlePatch)
    changes = _changes(model, model.model_fields_set - {"significant"})
    return _update(article_id, changes, replace_all=False, significant=model.significant)


@blueprint.put("/articles/<path:article_id>")
def put_article(article_id: str) -> Response:
    """Replace the article's fields (its id never changes); needs If-Match."""
    model = _parse(ArticleReplace)
    names = set(ARTICLE_FIELDS)
    if "slug" not in model.model_fields_set:
        # No slug sent: the permalink stays (checked before _changes, which refuses a null).
        names.discard("slug")
    changes = _changes(model, names)
    return _update(article_id, changes, replace_all=True, significant=model.significant)


@blueprint.delete("/articles/<path:article_id>")
def delete_article(article_id: str) -> tuple[str, int]:
    """Delete an article: it leaves the feeds, its page answers 410. If-Match is optional."""
    found = services()
    found.articles.delete_article(article_id, _if_match(required=False), found.clock())
    log.info("api write=delete article=%s token=%s", article_id, g.token_name)
    return "", 204


@blueprint.get("/stats")
def poll_stats() -> Response:
    """Who polls each feed over the last ``?days=`` UTC days (default 30)."""
    errors: list[FieldError] = []
    days = _int_arg("days", STATS_DAYS, 1, MAX_STATS_DAYS, errors)
    if errors:
        raise InvalidInput(errors, "The query is invalid.")
    found = services()
    feeds = found.feeds.poll_stats(found.clock(), days)
    return jsonify(
        days=days,
        feeds=[
            {
                "feed": feed.feed_key,
                "requests": feed.requests,
                "not_modified": feed.not_modified,
                "not_modified_share": round(feed.not_modified_share, 4),
                "throttled": feed.throttled,
                "bytes_sent": feed.bytes_sent,
                "subscribers": feed.subscribers,
                "clients": [
                    {
                        "family": client.family,
                        "requests": client.requests,
                        "subscribers": client.subscribers,
                        "last_seen": instant_text(client.last_seen),
                    }
                    for client in feed.clients
                ],
            }
            for feed in feeds
        ],
    )


def _update(
    article_id: str, changes: dict[str, Any], replace_all: bool, significant: bool
) -> Response:
    found = services()
    if_match = _if_match(required=True)
    article = found.articles.update_article(
        article_id,
        changes,
        if_match,
        found.clock(),
        replace_all=replace_all,
        significant=significant,
    )
    log.info("api write=update article=%s token=%s", article.id, g.token_name)
    response = jsonify(_represent(article))
    response.set_etag(article.etag)
    return response


def _if_match(required: bool) -> str | None:
    header = request.headers.get("If-Match")
    if header is None:
        if required:
            raise PreconditionRequired(
                "Send If-Match with the article's ETag so that edits never overwrite each other."
            )
        return None
    if header.strip() == "*":
        return None
    # If-Match uses the strong comparison (RFC 9110 section 13.1.1): weak tags never match.
    strong = [tag for tag in request.if_match.as_set(include_weak=False)]
    return strong[0] if len(strong) == 1 else "\x00no-match"


def _parse(model: type[_Model]) -> _Model:
    """The request's JSON body validated against ``model``.

    Raises:
        UnsupportedMediaType: the body is not declared as JSON.
        RequestEntityTooLarge: the body is over the request limit, however it is framed.
        MalformedJson: the body is not UTF-8, or not JSON at all (400).
        InvalidInput: a field is missing, unknown, of the wrong type or invalid.
    """
    return parse_json(model, request_body("the article"), "The request body", INVALID_ARTICLE)


def request_body(what: str) -> bytes:
    """The request's body, declared as JSON, without a byte order mark; ``what`` names
    what it should hold ("the article").

    Raises:
        UnsupportedMediaType: the body is not declared as JSON.
        RequestEntityTooLarge: the body is over the request limit, however it is framed.
    """
    if not request.is_json:
        raise UnsupportedMediaType(f"Send {what} as application/json.")
    raw = request.get_data(cache=False) or b""
    # A body without Content-Length (chunked, RFC 9112 section 7.1) is read up to the limit
    # and no further, silently: whether the client sent more, only the server's own stream
    # can tell. One byte more is over the limit, as it is with Content-Length.
    if (
        request.content_length is None
        and len(raw) >= current_app.config["MAX_CONTENT_LENGTH"]
        and request.environ["wsgi.input"].read(1)
    ):
        raise RequestEntityTooLarge()
    # RFC 8259 section 8.1: a parser may ignore a UTF-8 byte order mark; some clients
    # (Windows tools, .NET) send one.
    return raw.removeprefix(UTF8_BOM)


def _changes(model: BaseModel, names: set[str]) -> dict[str, Any]:
    errors = [
        FieldError(name, "must not be null")
        for name in sorted(names)
        if name in _NOT_NULLABLE and getattr(model, name) is None
    ]
    if errors:
        raise InvalidInput(errors, INVALID_ARTICLE)
    converted = domain_values(model)
    return {name: converted[name] for name in names if name in converted}


def _to_input(model: ArticleCreate) -> ArticleInput:
    return ArticleInput(**domain_values(model))


def _int_arg(name: str, default: int, low: int, high: int, errors: list[FieldError]) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    # ASCII digits only: isdigit() alone passes "²", which int() refuses, as it refuses
    # more than 4300 digits; either was a 500.
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None
    if value is None or not low <= value <= high:
        errors.append(FieldError(name, f"must be a whole number from {low} to {high}"))
        return default
    return value


def _represent(article: Article) -> dict[str, Any]:
    found = services()
    return {
        "id": article.id,
        "slug": article.slug,
        **editable_fields(article),
        "body_html": article.body_html,
        "status": article.status(found.clock()).value,
        "url": permalink_url(found.settings.base_url, article.slug),
        "published_at": instant_text(article.published_at),
        "created_at": instant_text(article.created_at),
        "updated_at": instant_text(article.updated_at),
    }
