"""The OpenAPI 3.1 description of ``/api/v1``, served at ``GET /api/v1/openapi.json``.

Nothing here is hand-maintained JSON: request bodies are the JSON Schemas of the pydantic
models the API validates with (:mod:`app.web.api`, :mod:`app.inputs`), responses are the
JSON Schemas of the models below, which describe exactly what the views write (the tests
hold ``_represent`` and the poll statistics to them), and bounds come from the running
app's settings.

The document is public: it lives on a blueprint of its own, outside the API blueprint
whose ``before_request`` asks every call for a bearer token.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from typing import Annotated
from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify
from pydantic import AwareDatetime
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic.json_schema import models_json_schema

from app.content import SLUG_PATTERN
from app.domain import ArticleStatus
from app.domain import BodyFormat
from app.inputs import ArticleCreate
from app.settings import LANGUAGE_TAG_PATTERN
from app.settings import Settings
from app.web import api
from app.web import services
from app.web.errors import title_of

OPENAPI_VERSION = "3.1.0"
SPEC_PATH = "/openapi.json"
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
PROBLEM = "application/problem+json"
_REF = "#/components/schemas/{model}"

blueprint = Blueprint("api_spec", __name__, url_prefix=api.blueprint.url_prefix)


# -- response models: what the views write -----------------------------------------------


class _Out(BaseModel):
    """A response document: every field always present, nothing else."""

    model_config = ConfigDict(extra="forbid")


class AuthorOut(_Out):
    name: str
    email: str | None
    url: str | None


class ImageOut(_Out):
    url: str = Field(description="Absolute URL of the image.")
    type: str | None = Field(
        description="The media type, sent or inferred from the URL; null only for an image "
        "stored before types were inferred, which no feed can carry as an enclosure."
    )
    length: Annotated[int, Field(ge=0)] | None = Field(
        description="The size in bytes; 0 when not known."
    )
    width: Annotated[int, Field(gt=0)] | None
    height: Annotated[int, Field(gt=0)] | None
    caption: str | None
    credit: str | None


class ArticleOut(_Out):
    """An article as the API represents it (``_represent`` in :mod:`app.web.api`)."""

    id: str = Field(description="Permanent entry id, a tag: URI (RFC 4151); never changes.")
    slug: str
    title: str
    summary: str
    body: str = Field(description="The body as sent (characters XML 1.0 forbids removed).")
    body_format: BodyFormat
    authors: list[AuthorOut]
    categories: list[str]
    tags: list[str]
    language: str
    image: ImageOut | None
    body_html: str = Field(description="The sanitised HTML readers see.")
    status: ArticleStatus
    url: str = Field(description="Absolute URL of the article's page.")
    published_at: AwareDatetime | None = Field(
        description="Absent (null) for a draft; in the future for a scheduled article."
    )
    created_at: AwareDatetime
    updated_at: AwareDatetime = Field(description='Moves only with "significant": true.')


class ArticleList(_Out):
    """A page of articles, newest first."""

    items: list[ArticleOut]
    page: Annotated[int, Field(ge=1)]
    per_page: Annotated[int, Field(ge=1)]
    total: Annotated[int, Field(ge=0)] = Field(description="Articles over every page.")


class ClientPolls(_Out):
    family: str = Field(
        description=(
            'Client family, from the user agent; "other" for rare ones beyond 20 per feed and day.'
        )
    )
    requests: Annotated[int, Field(ge=0)]
    subscribers: Annotated[int, Field(ge=0)] | None = Field(
        description=(
            "Subscribers the family reports in its user agents: the sum of the latest "
            "count of each of its reporters (e.g. each Feedly feed-id) seen in the period."
        )
    )
    last_seen: AwareDatetime


class FeedPolls(_Out):
    feed: str = Field(description="The feed's key, e.g. site/rss or category/politica/atom.")
    requests: Annotated[int, Field(ge=0)]
    not_modified: Annotated[int, Field(ge=0)]
    not_modified_share: Annotated[float, Field(ge=0, le=1)]
    throttled: Annotated[int, Field(ge=0)]
    bytes_sent: Annotated[int, Field(ge=0)]
    subscribers: Annotated[int, Field(ge=0)]
    clients: list[ClientPolls]


class PollStats(_Out):
    """Who polls each feed over the last ``days`` UTC days."""

    days: Annotated[int, Field(ge=1)]
    feeds: list[FeedPolls]


class ProblemField(_Out):
    field: str = Field(
        description='Dotted path of the field, e.g. "authors.0.email"; "" is the request '
        'body itself (as the JSON Pointer "" is the whole document), whose message is then '
        "a whole sentence."
    )
    message: str


class ProblemDetails(_Out):
    """An error (RFC 9457). ``errors`` names every invalid field of a 422."""

    type: str = Field(description='Always "about:blank": the status says what happened.')
    title: str
    status: Annotated[int, Field(ge=400, le=599)]
    detail: str
    code: str = Field(description='A stable machine-readable name, e.g. "slug-taken".')
    errors: list[ProblemField] = Field(
        default=[], description="Present on 400, 409, 413 and 422: what is wrong, where."
    )


_REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    ArticleCreate,
    api.ArticlePatch,
    api.ArticleReplace,
)
_RESPONSE_MODELS: tuple[type[BaseModel], ...] = (ArticleOut, ArticleList, PollStats, ProblemDetails)


@cache
def _schemas() -> dict[str, Any]:
    """``components.schemas``: the JSON Schemas of every model, refs between them local."""
    _, top = models_json_schema(
        [(model, "validation") for model in (*_REQUEST_MODELS, *_RESPONSE_MODELS)],
        ref_template=_REF,
    )
    schemas: dict[str, Any] = top["$defs"]
    # The models accept null for every patch field (absent and null both parse to None);
    # the view refuses null where a merge patch cannot clear the field, and so does the
    # document: only image, published_at, summary and language are nullable.
    for name in ("ArticlePatch", "ArticleReplace"):
        properties = schemas[name]["properties"]
        for field in api._NOT_NULLABLE:
            properties[field] = _without_null(properties[field])
    # The use cases check some fields further than the models do; so does the document.
    for name in ("ArticleCreate", "ArticlePatch", "ArticleReplace"):
        for field, (pattern, description) in _USE_CASE_RULES.items():
            schema = schemas[name]["properties"][field]
            for branch in schema.get("anyOf", [schema]):
                if branch.get("type") == "string":
                    branch["pattern"] = pattern
            schema["description"] = description
    return schemas


_USE_CASE_RULES: dict[str, tuple[str, str]] = {
    "slug": (
        SLUG_PATTERN.pattern,
        "Lowercase ASCII letters and digits, in words joined by single hyphens.",
    ),
    "language": (
        LANGUAGE_TAG_PATTERN,
        "A language tag such as pt-BR or en; absent or null means the site's language.",
    ),
}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    branches = [branch for branch in schema.get("anyOf", []) if branch != {"type": "null"}]
    if len(branches) != 1:
        return schema
    outer = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    return {**branches[0], **outer}


# -- the document -------------------------------------------------------------------------

_PROBLEMS: dict[int, str] = {
    400: (
        'The body is not UTF-8 JSON (code "malformed-json"); `detail` says where parsing '
        "stopped, or that JSON must be UTF-8 (RFC 8259 section 8.1), and `errors` names the "
        'body itself (field ""). A UTF-8 byte order mark is ignored. Nothing is stored.'
    ),
    401: "The bearer token is missing, wrong, expired or revoked.",
    404: "No article has that id.",
    409: 'Another article already uses that slug (code "slug-taken"); `errors` names `slug`.',
    410: "The article was deleted.",
    412: (
        "If-Match names an old version: someone else edited the article. GET it again; "
        "the ETag header carries the current version."
    ),
    413: (
        'Every 413 is the same document (code "content-too-large"), whose `detail` names the '
        "limit in bytes: the article body over `api.max_body_bytes` (`errors` names `body`), "
        "or the request over its own limit, with Content-Length or chunked, refused unread "
        '(`errors` names "", the body itself). Nothing is stored.'
    ),
    415: "The body is not declared as JSON.",
    422: "A field or query parameter is invalid; `errors` names each one. Nothing is stored.",
    428: "An update needs If-Match with the article's ETag.",
    429: (
        "Too many failed authentications from this address recently; retry after "
        "Retry-After seconds."
    ),
    431: "A request header, or all of them together, is over the limit.",
    503: "The database cannot be reached; nothing was stored. Retry after Retry-After seconds.",
}
_PROBLEM_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}},
    412: {"ETag": {"$ref": "#/components/headers/ETag"}},
    429: {"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
    503: {"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
}


def build_document(settings: Settings) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``/api/v1`` for an app with ``settings``."""
    prefix = api.blueprint.url_prefix or ""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": f"{settings.site_title} API",
            "version": "1",
            "description": (
                "Publish articles to the site's feeds and pages. Every call but this "
                "document's needs `Authorization: Bearer <token>` (`broadsheet token "
                "create`). Errors are `application/problem+json` (RFC 9457)."
            ),
        },
        "servers": [{"url": settings.base_url}],
        "security": [{"bearerAuth": []}],
        "paths": {
            prefix + SPEC_PATH: {"get": _spec_operation()},
            prefix + "/articles": {
                "post": _create_operation(settings),
                "get": _list_operation(),
            },
            prefix + "/articles/{article_id}": {
                "parameters": [{"$ref": "#/components/parameters/article_id"}],
                "get": _get_operation(),
                "patch": _update_operation(api.patch_article, "patchArticle", settings),
                "put": _update_operation(api.put_article, "replaceArticle", settings),
                "delete": _delete_operation(),
            },
            prefix + "/stats": {"get": _stats_operation()},
        },
        "components": {
            "schemas": copy.deepcopy(_schemas()),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token's secret (only its SHA-256 is stored).",
                }
            },
            "parameters": _parameters(settings),
            "headers": _headers(),
            "responses": {
                f"Problem{status}": _problem_response(status, settings) for status in _PROBLEMS
            },
        },
    }


def _summary(view: Callable[..., Any]) -> str:
    return (view.__doc__ or "").strip().splitlines()[0]


def _operation(
    view: Callable[..., Any],
    operation_id: str,
    responses: dict[str, Any],
    problems: tuple[int, ...],
    tag: str = "articles",
    **extra: Any,
) -> dict[str, Any]:
    """An authenticated operation: its responses, ``problems``, and those of any call."""
    every = {**responses}
    for status in (*problems, 401, 429, 431, 503):
        every[str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
    return {
        "operationId": operation_id,
        "summary": _summary(view),
        "tags": [tag],
        **extra,
        "responses": dict(sorted(every.items())),
    }


def _article_response(description: str, *headers: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {name: {"$ref": f"#/components/headers/{name}"} for name in headers},
        "content": {JSON: {"schema": {"$ref": _REF.format(model="ArticleOut")}}},
    }


_EXAMPLE_ARTICLE: dict[str, Any] = {
    "title": "Prefeitura inaugura ciclovia de 12 km às margens do rio",
    "summary": "Obra liga o centro aos bairros da zona norte.",
    "body": "**Mais segurança.** A ciclovia tem iluminação própria.",
    "body_format": "markdown",
    "authors": [{"name": "Ana Souza", "email": "ana@example.org"}],
    "categories": ["Cidades", "Mobilidade"],
    "tags": ["ciclovia"],
    "image": {
        "url": "/static/demo/tram.svg",
        "type": "image/svg+xml",
        "length": 3303,
        "width": 1200,
        "height": 675,
        "caption": "A nova ciclovia",
        "credit": "Foto: Redação",
    },
    "published_at": "2026-11-28T09:00:00-03:00",
}
_EXAMPLES: dict[str, dict[str, Any]] = {
    "ArticleCreate": _EXAMPLE_ARTICLE,
    "ArticleReplace": {**_EXAMPLE_ARTICLE, "significant": True},
    "ArticlePatch": {"summary": "Obra liga o centro à zona norte.", "image": None},
}


def _body(model: str, *media_types: str, description: str = "") -> dict[str, Any]:
    media = {"schema": {"$ref": _REF.format(model=model)}, "example": _EXAMPLES[model]}
    body: dict[str, Any] = {"required": True, "content": dict.fromkeys(media_types, media)}
    if description:
        body["description"] = description
    return body


def _spec_operation() -> dict[str, Any]:
    return {
        "operationId": "getOpenApiDocument",
        "summary": _summary(openapi_document),
        "tags": ["meta"],
        "security": [],
        "responses": {
            "200": {
                "description": "This document.",
                "content": {JSON: {"schema": {"type": "object", "required": ["openapi"]}}},
            },
            "431": {"$ref": "#/components/responses/Problem431"},
        },
    }


def _create_operation(settings: Settings) -> dict[str, Any]:
    return _operation(
        api.create_article,
        "createArticle",
        {"201": _article_response("Created.", "Location", "ETag")},
        (400, 409, 413, 415, 422),
        description=(
            "`published_at` in the past or now publishes, in the future schedules, absent "
            f"makes a draft. The body may hold at most {settings.api_max_body_bytes} bytes."
        ),
        requestBody=_body("ArticleCreate", JSON),
    )


def _list_operation() -> dict[str, Any]:
    return _operation(
        api.list_articles,
        "listArticles",
        {
            "200": {
                "description": "A page of articles.",
                "headers": {"Link": {"$ref": "#/components/headers/Link"}},
                "content": {JSON: {"schema": {"$ref": _REF.format(model="ArticleList")}}},
            }
        },
        (422,),
        parameters=[
            {"$ref": "#/components/parameters/status"},
            {"$ref": "#/components/parameters/page"},
            {"$ref": "#/components/parameters/per_page"},
        ],
    )


def _get_operation() -> dict[str, Any]:
    return _operation(
        api.get_article,
        "getArticle",
        {"200": _article_response("The article, whatever its status.", "ETag")},
        (404, 410),
    )


def _update_operation(
    view: Callable[..., Any], operation_id: str, settings: Settings
) -> dict[str, Any]:
    if operation_id == "patchArticle":
        body = _body(
            "ArticlePatch",
            MERGE_PATCH,
            JSON,
            description=(
                "A JSON merge patch (RFC 7396): only the fields present change; null clears "
                "`image`, `published_at`, `summary` and `language`. Objects and arrays are "
                "replaced whole."
            ),
        )
    else:
        body = _body(
            "ArticleReplace",
            JSON,
            description="Every field; an absent slug keeps the permalink. The id never changes.",
        )
    return _operation(
        view,
        operation_id,
        {"200": _article_response("The article as changed.", "ETag")},
        (400, 404, 409, 410, 412, 413, 415, 422, 428),
        description=(
            '`"significant": true` marks an editorial update, which moves `updated_at`; '
            f"the body may hold at most {settings.api_max_body_bytes} bytes."
        ),
        parameters=[{"$ref": "#/components/parameters/If-Match"}],
        requestBody=body,
    )


def _delete_operation() -> dict[str, Any]:
    return _operation(
        api.delete_article,
        "deleteArticle",
        {"204": {"description": "Deleted: it left every feed and its page answers 410."}},
        (404, 410, 412),
        parameters=[{"$ref": "#/components/parameters/If-Match-optional"}],
    )


def _stats_operation() -> dict[str, Any]:
    return _operation(
        api.poll_stats,
        "getPollStats",
        {
            "200": {
                "description": "Per feed: requests, 304 share, 429s, bytes and clients.",
                "content": {JSON: {"schema": {"$ref": _REF.format(model="PollStats")}}},
            }
        },
        (422,),
        tag="stats",
        parameters=[{"$ref": "#/components/parameters/days"}],
    )


def _parameters(settings: Settings) -> dict[str, Any]:
    if_match = {
        "name": "If-Match",
        "in": "header",
        "description": 'The ETag of the version you read, e.g. "3-1f2e…", or * for any.',
        "schema": {"type": "string", "minLength": 1},
    }
    return {
        "article_id": {
            "name": "article_id",
            "in": "path",
            "required": True,
            "description": "The article's id (a tag: URI), percent-encoded.",
            "schema": {"type": "string", "minLength": 1},
        },
        "If-Match": {**if_match, "required": True},
        "If-Match-optional": {**if_match, "required": False},
        "status": {
            "name": "status",
            "in": "query",
            "description": "Only articles with this status.",
            "schema": {"type": "string", "enum": [status.value for status in ArticleStatus]},
        },
        "page": {
            "name": "page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
        },
        "per_page": {
            "name": "per_page",
            "in": "query",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": settings.api_max_page_size,
                "default": settings.api_page_size,
            },
        },
        "days": {
            "name": "days",
            "in": "query",
            "description": "UTC days to count, today included.",
            "schema": {"type": "integer", "minimum": 1, "maximum": 3660, "default": 30},
        },
    }


def _headers() -> dict[str, Any]:
    return {
        "ETag": {
            "description": "The version (strong); send it back in If-Match to update.",
            "required": True,
            "schema": {"type": "string", "pattern": '^"[^"]+"$'},
        },
        "Location": {
            "description": "The article's API URL.",
            "required": True,
            "schema": {"type": "string", "format": "uri"},
        },
        "Link": {
            "description": 'The next and previous pages (RFC 8288): `<url>; rel="next"`.',
            "required": False,
            "schema": {"type": "string"},
        },
        "WWW-Authenticate": {
            "description": "The bearer challenge (RFC 6750).",
            "required": True,
            "schema": {"type": "string"},
        },
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        },
    }


def _problem_response(status: int, settings: Settings) -> dict[str, Any]:
    description = _PROBLEMS[status]
    if status == 413:
        description += (
            f" Article bodies may hold at most {settings.api_max_body_bytes} bytes (in "
            f"UTF-8), requests at most {api.max_request_bytes(settings)}."
        )
    response: dict[str, Any] = {
        "description": f"{title_of(status)}. {description}",
        "content": {PROBLEM: {"schema": {"$ref": _REF.format(model="ProblemDetails")}}},
    }
    if status in _PROBLEM_HEADERS:
        response["headers"] = _PROBLEM_HEADERS[status]
    return response


@blueprint.get(SPEC_PATH)
def openapi_document() -> Response:
    """This API's OpenAPI 3.1 document; needs no token."""
    return jsonify(build_document(services().settings))
