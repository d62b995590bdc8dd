"""The write API under ``/api/v1``: JSON in and out, bearer tokens, problem details.

Request bodies are validated by pydantic models (strict types, unknown fields refused) and
turned into :class:`~app.publishing.ArticleInput`; the use cases do the rest.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC
from datetime import datetime
from typing import Annotated
from typing import Any
from typing import Literal
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Blueprint
from flask import Response
from flask import g
from flask import jsonify
from flask import request
from flask import url_for
from pydantic import AfterValidator
from pydantic import AwareDatetime
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError

from app.domain import Article
from app.domain import ArticleStatus
from app.domain import Author
from app.domain import BodyFormat
from app.domain import Image
from app.domain import permalink_url
from app.errors import FieldError
from app.errors import InvalidInput
from app.errors import PreconditionRequired
from app.errors import UnsupportedMediaType
from app.publishing import ArticleInput
from app.web import services

log = logging.getLogger(__name__)
_Model = TypeVar("_Model", bound=BaseModel)
blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
# Control characters and the non-characters XML 1.0 forbids have no place in a URL
# (RFC 3986 section 2), and URLs are stored as sent: one would break every feed it reaches.
_URL_FORBIDDEN = re.compile("[\x00-\x1f\x7f\ufffe\uffff]")


def _check_url(value: str) -> str:
    """An absolute http(s) URL, or a path on this site starting with ``/``."""
    if _URL_FORBIDDEN.search(value):
        raise ValueError("must not contain control characters")
    if value.startswith("/") and not value.startswith("//"):
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL or a path starting with /")
    return value


def _check_email(value: str) -> str:
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in value):
        raise ValueError("must be an e-mail address")
    return value


def _check_instant(value: datetime) -> datetime:
    """An instant UTC can hold, as the database stores UTC ("0001-01-01T00:00+01:00" cannot)."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must fall between the years 1 and 9999 in UTC") from None
    return value


# The patterns say in the OpenAPI document (JSON Schema) what the checks above accept.
_URL_CHAR = r"[^\x00-\x1f\x7f\ufffe\uffff]"
_URL_PATTERN = (
    rf"^(?:/(?:[^/\x00-\x1f\x7f\ufffe\uffff]{_URL_CHAR}*)?"
    rf"|[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(?::[0-9]{{1,5}})?(?:[/?#]{_URL_CHAR}*)?)$"
)
_EMAIL_PATTERN = r"^[^@\s\x1c-\x1f\x85]+@[^\s\x1c-\x1f\x85]*\.[^\s\x1c-\x1f\x85]*$"
Url = Annotated[
    str,
    Field(max_length=2000, json_schema_extra={"pattern": _URL_PATTERN}),
    AfterValidator(_check_url),
]
Instant = Annotated[AwareDatetime, AfterValidator(_check_instant)]
Email = Annotated[
    str,
    Field(max_length=320, json_schema_extra={"pattern": _EMAIL_PATTERN}),
    AfterValidator(_check_email),
]
Term = Annotated[str, Field(min_length=1, max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AuthorModel(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: Email | None = None
    url: Url | None = None


class ImageModel(_Strict):
    url: Url
    type: Annotated[str, Field(pattern=r"^image/[A-Za-z0-9.+-]+$")] | None = None
    length: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None  # a BIGINT column
    width: Annotated[int, Field(gt=0, le=100_000)] | None = None
    height: Annotated[int, Field(gt=0, le=100_000)] | None = None
    caption: Annotated[str, Field(max_length=2000)] | None = None
    credit: Annotated[str, Field(max_length=500)] | None = None


class ArticleCreate(_Strict):
    title: Annotated[str, Field(min_length=1, max_length=500)]
    slug: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    summary: Annotated[str, Field(max_length=5000)] = ""
    body: str
    body_format: Literal["markdown", "html"] = "markdown"
    authors: Annotated[list[AuthorModel], Field(min_length=1, max_length=20)]
    categories: Annotated[list[Term], Field(max_length=20)] = []
    tags: Annotated[list[Term], Field(max_length=50)] = []
    language: Annotated[str, Field(min_length=2, max_length=35)] | None = None
    image: ImageModel | None = None
    published_at: Instant | None = None


class ArticlePatch(_Strict):
    """A JSON merge patch (RFC 7396): only the fields present change; null clears."""

    title: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    slug: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    summary: Annotated[str, Field(max_length=5000)] | None = None
    body: str | None = None
    body_format: Literal["markdown", "html"] | None = None
    authors: Annotated[list[AuthorModel], Field(min_length=1, max_length=20)] | None = None
    categories: Annotated[list[Term], Field(max_length=20)] | None = None
    tags: Annotated[list[Term], Field(max_length=50)] | None = None
    language: Annotated[str, Field(min_length=2, max_length=35)] | None = None
    image: ImageModel | None = None
    published_at: Instant | None = None
    significant: bool = False
    """Not stored: true marks an editorial update, which moves ``updated_at``."""


class ArticleReplace(ArticleCreate):
    """A full replacement (PUT); ``significant`` as in a patch."""

    significant: bool = False


_NOT_NULLABLE = ("title", "slug", "body", "body_format", "authors", "categories", "tags")


@blueprint.before_request
def authenticate() -> None:
    """Every API call needs an active bearer token (RFC 6750).

    Failures count against the client's address (429 once there are too many); the token's
    name, never its secret, is what the write logs show.
    """
    from app.web.security import authentication_attempt

    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    with authentication_attempt():
        token = services().publisher.authenticate(
            secret.strip() if scheme.lower() == "bearer" else None
        )
    g.token_name = token.name


@blueprint.post("/articles")
def create_article() -> tuple[Response, int, dict[str, str]]:
    """Create an article; 201 with its representation, Location and ETag."""
    model = _parse(ArticleCreate)
    found = services()
    article = found.publisher.create_article(_to_input(model), found.clock())
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
    page = _int_arg("page", 1, 1, 1_000_000, errors)
    per_page = _int_arg("per_page", settings.api_page_size, 1, settings.api_max_page_size, errors)
    if errors:
        raise InvalidInput(errors, "The query is invalid.")
    listing = found.publisher.list_articles(found.clock(), status, page, per_page)
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
    article = services().publisher.get_article(article_id)
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
    names = set(ArticleCreate.model_fields)
    if "slug" not in model.model_fields_set:
        # No slug sent: the permalink stays (checked before _changes, which refuses a null).
        names.discard("slug")
    changes = _changes(model, names)
    return _update(article_id, changes, replace_all=True, significant=model.significant)


@blueprint.delete("/articles/<path:article_id>")
def delete_article(article_id: str) -> tuple[str, int]:
    """Delete an article: it leaves the feeds, its page answers 410. If-Match is optional."""
    found = services()
    found.publisher.delete_article(article_id, _if_match(required=False), found.clock())
    log.info("api write=delete article=%s token=%s", article_id, g.token_name)
    return "", 204


@blueprint.get("/stats")
def poll_stats() -> Response:
    """Who polls each feed over the last ``?days=`` UTC days (default 30)."""
    errors: list[FieldError] = []
    days = _int_arg("days", 30, 1, 3660, errors)
    if errors:
        raise InvalidInput(errors, "The query is invalid.")
    found = services()
    feeds = found.publisher.poll_stats(found.clock(), days)
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
                        "last_seen": _time(client.last_seen),
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
    article = found.publisher.update_article(
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
        InvalidInput: not JSON, or a field is missing, unknown or of the wrong type.
    """
    if not request.is_json:
        raise UnsupportedMediaType("Send the article as application/json.")
    try:
        return model.model_validate_json(request.get_data(cache=False) or b"")
    except ValidationError as error:
        raise InvalidInput(
            [_field_error(detail) for detail in error.errors(include_url=False)],
            "The article is invalid.",
        ) from None


def _field_error(detail: Any) -> FieldError:
    location = ".".join(str(part) for part in detail["loc"]) or "body"
    kind = detail["type"]
    if kind == "json_invalid":
        return FieldError("body", "is not valid JSON: " + str(detail.get("ctx", {}).get("error")))
    if kind == "extra_forbidden":
        return FieldError(location, "is not a known field")
    if kind == "missing":
        return FieldError(location, "is required")
    if kind == "timezone_aware":
        return FieldError(location, "must carry a time zone offset, e.g. 2026-11-28T10:00:00-03:00")
    message = str(detail["msg"])
    return FieldError(location, message.removeprefix("Value error, "))


def _changes(model: BaseModel, names: set[str]) -> dict[str, Any]:
    errors = [
        FieldError(name, "must not be null")
        for name in sorted(names)
        if name in _NOT_NULLABLE and getattr(model, name) is None
    ]
    if errors:
        raise InvalidInput(errors, "The article is invalid.")
    converted = _input_fields(model)
    return {name: converted[name] for name in names if name in converted}


def _input_fields(model: BaseModel) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in type(model).model_fields:
        if name == "significant":
            continue
        value = getattr(model, name)
        if name == "authors" and value is not None:
            value = tuple(Author(a.name, a.email, a.url) for a in value)
        elif name in ("categories", "tags") and value is not None:
            value = tuple(value)
        elif name == "image" and value is not None:
            value = Image(**value.model_dump())
        elif name == "body_format" and value is not None:
            value = BodyFormat(value)
        elif name == "summary" and value is None:
            value = ""
        data[name] = value
    return data


def _to_input(model: ArticleCreate) -> ArticleInput:
    fields = _input_fields(model)
    return ArticleInput(**fields)


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
    image = article.image
    return {
        "id": article.id,
        "title": article.title,
        "slug": article.slug,
        "summary": article.summary,
        "body": article.body,
        "body_format": article.body_format.value,
        "body_html": article.body_html,
        "authors": [{"name": a.name, "email": a.email, "url": a.url} for a in article.authors],
        "categories": list(article.categories),
        "tags": list(article.tags),
        "language": article.language,
        "image": None
        if image is None
        else {
            "url": image.url,
            "type": image.type,
            "length": image.length,
            "width": image.width,
            "height": image.height,
            "caption": image.caption,
            "credit": image.credit,
        },
        "status": article.status(found.clock()).value,
        "url": permalink_url(found.settings.base_url, article.slug),
        "published_at": _time(article.published_at),
        "created_at": _time(article.created_at),
        "updated_at": _time(article.updated_at),
    }


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
