"""The OpenAPI 3.1 description of ``/api/v1``, served at ``GET /api/v1/openapi.json``.

apispec assembles the document. Each operation's path, method and path parameters are
those of its route in the running app, its summary is the first line of its view's
docstring, request bodies are the JSON Schemas of the pydantic models the API validates
with (:mod:`app.web.api`, :mod:`app.inputs`), responses are those of the models of
:mod:`app.web.api_schemas` (problems too), and bounds come from the app's settings. What
neither a route nor a model can say (status codes, parameters, headers) is the table
:data:`OPERATIONS` and the components below.

The document is public: it lives on a blueprint of its own, outside the API blueprint
whose ``before_request`` asks every call for a bearer token.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apispec import APISpec
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import jsonify
from werkzeug.routing import Rule

from app.collection_rules import MAX_SLUG_LENGTH
from app.domain import ArticleStatus
from app.inputs import CLEARABLE_FIELDS
from app.settings import Settings
from app.web import api
from app.web import collections_api
from app.web import services
from app.web.api_schemas import PROBLEMS
from app.web.api_schemas import REQUEST_EXAMPLES
from app.web.api_schemas import component_schemas
from app.web.api_schemas import problem_response

OPENAPI_VERSION = "3.1.0"
SPEC_PATH = "/openapi.json"
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
_ANY_CALL_PROBLEMS = (401, 429, 431, 503)
"""What any authenticated call may answer, whatever its operation."""
_AUTOMATIC_METHODS = frozenset({"HEAD", "OPTIONS"})
_ROUTE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

blueprint = Blueprint("api_spec", __name__, url_prefix=api.blueprint.url_prefix)


@blueprint.get(SPEC_PATH)
def openapi_document() -> Response:
    """This API's OpenAPI 3.1 document; needs no token."""
    return jsonify(build_document(services().settings, current_app))


def build_document(settings: Settings, app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``/api/v1`` as ``app`` routes it, for ``settings``.

    Raises:
        LookupError: a view of :data:`OPERATIONS` has no route in ``app``.
        ValueError: a view answers more than one method (each needs an operation).
    """
    spec = APISpec(
        title=f"{settings.site_title} API",
        version="1",
        openapi_version=OPENAPI_VERSION,
        info={
            "description": (
                "Publish articles to the site's feeds and pages. Every call but this "
                "document's needs `Authorization: Bearer <token>` (`broadsheet token "
                "create`). Errors are `application/problem+json` (RFC 9457)."
            ),
        },
        servers=[{"url": settings.base_url}],
        security=[{"bearerAuth": []}],
    )
    _register_components(spec, settings)
    for operation in OPERATIONS:
        rule = _route(app, operation.view)
        (method,) = (rule.methods or set()) - _AUTOMATIC_METHODS
        spec.path(
            path=_ROUTE_ARGUMENT.sub(r"{\1}", rule.rule),
            operations={method.lower(): operation.describe(settings)},
            # Each path parameter is the parameter component of the same name: apispec
            # makes a name a reference, though its annotation admits only whole objects.
            parameters=sorted(rule.arguments),  # type: ignore[arg-type]
        )
    return spec.to_dict()


def _route(app: Flask, view: Callable[..., Any]) -> Rule:
    for rule in app.url_map.iter_rules():
        if app.view_functions.get(rule.endpoint) is view:
            return rule
    raise LookupError(f"{view.__qualname__} is not routed")


# -- the operations -----------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """What the route of a view cannot say about its operation.

    Responses, parameters and bodies name components (``"ETag"``, ``"ArticleOut"``) by
    their bare names, which apispec makes references. ``description`` may use
    ``{max_body_bytes}``.
    """

    view: Callable[..., Any]
    operation_id: str
    responses: dict[int, dict[str, Any]]
    problems: tuple[int, ...] = ()
    parameters: tuple[str, ...] = ()
    body: dict[str, Any] | None = None
    description: str = ""
    tag: str = "articles"
    public: bool = False
    """Needs no token: none of the authentication problems, no security requirement."""

    def describe(self, settings: Settings) -> dict[str, Any]:
        """The OpenAPI operation object, with the problems every call may have."""
        problems = (*self.problems, *((431,) if self.public else _ANY_CALL_PROBLEMS))
        responses = {**self.responses, **{status: f"Problem{status}" for status in problems}}
        described: dict[str, Any] = {
            "operationId": self.operation_id,
            "summary": (self.view.__doc__ or "").strip().splitlines()[0],
            "tags": [self.tag],
            "responses": {str(status): responses[status] for status in sorted(responses)},
        }
        if self.public:
            described["security"] = []
        if self.description:
            described["description"] = self.description.format(
                max_body_bytes=settings.api_max_body_bytes
            )
        if self.parameters:
            described["parameters"] = list(self.parameters)
        if self.body is not None:
            described["requestBody"] = self.body
        return described


def _response(description: str, schema: str | dict[str, Any], *headers: str) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if headers:
        response["headers"] = {name: name for name in headers}
    response["content"] = {JSON: {"schema": schema}}
    return response


def _body(model: str, *media_types: str, about: str = "") -> dict[str, Any]:
    media = {"schema": model, "example": REQUEST_EXAMPLES[model]}
    body: dict[str, Any] = {"required": True, "content": dict.fromkeys(media_types, media)}
    if about:
        body["description"] = about
    return body


def _clearable_fields() -> str:
    """The fields a merge patch may clear with null, as prose: "`a`, `b` and `c`"."""
    names = [f"`{name}`" for name in CLEARABLE_FIELDS]
    return f"{', '.join(names[:-1])} and {names[-1]}"


_UPDATE_PROBLEMS = (400, 404, 409, 410, 412, 413, 415, 422, 428)
_UPDATE_DESCRIPTION = (
    '`"significant": true` marks an editorial update, which moves `updated_at`; '
    "the body may hold at most {max_body_bytes} bytes."
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        openapi_document,
        "getOpenApiDocument",
        {200: _response("This document.", {"type": "object", "required": ["openapi"]})},
        tag="meta",
        public=True,
    ),
    Operation(
        api.create_article,
        "createArticle",
        {201: _response("Created.", "ArticleOut", "Location", "ETag")},
        (400, 409, 413, 415, 422),
        body=_body("ArticleCreate", JSON),
        description=(
            "`published_at` in the past or now publishes, in the future schedules, absent "
            "makes a draft. The body may hold at most {max_body_bytes} bytes."
        ),
    ),
    Operation(
        api.list_articles,
        "listArticles",
        {200: _response("A page of articles.", "ArticleList", "Link")},
        (422,),
        parameters=("status", "page", "per_page"),
    ),
    Operation(
        api.get_article,
        "getArticle",
        {200: _response("The article, whatever its status.", "ArticleOut", "ETag")},
        (404, 410),
    ),
    Operation(
        api.patch_article,
        "patchArticle",
        {200: _response("The article as changed.", "ArticleOut", "ETag")},
        _UPDATE_PROBLEMS,
        parameters=("If-Match",),
        body=_body(
            "ArticlePatch",
            MERGE_PATCH,
            JSON,
            about=(
                "A JSON merge patch (RFC 7396): only the fields present change; null clears "
                f"{_clearable_fields()}. Objects and arrays are replaced whole."
            ),
        ),
        description=_UPDATE_DESCRIPTION,
    ),
    Operation(
        api.put_article,
        "replaceArticle",
        {200: _response("The article as changed.", "ArticleOut", "ETag")},
        _UPDATE_PROBLEMS,
        parameters=("If-Match",),
        body=_body(
            "ArticleReplace",
            JSON,
            about="Every field; an absent slug keeps the permalink. The id never changes.",
        ),
        description=_UPDATE_DESCRIPTION,
    ),
    Operation(
        api.delete_article,
        "deleteArticle",
        {204: {"description": "Deleted: it left every feed and its page answers 410."}},
        (404, 410, 412),
        parameters=("If-Match-optional",),
    ),
    Operation(
        api.poll_stats,
        "getPollStats",
        {200: _response("Per feed: requests, 304 share, 429s, bytes and clients.", "PollStats")},
        (422,),
        parameters=("days",),
        tag="stats",
    ),
    Operation(
        collections_api.list_collections,
        "listCollections",
        {200: _response("Every collection.", "CollectionList")},
        tag="collections",
    ),
    Operation(
        collections_api.get_collection,
        "getCollection",
        {200: _response("The collection.", "CollectionOut")},
        (404,),
        tag="collections",
    ),
    Operation(
        collections_api.put_collection,
        "putCollection",
        {
            200: _response("Replaced.", "CollectionOut"),
            201: _response("Created.", "CollectionOut"),
        },
        (400, 404, 409, 413, 415, 422),
        body=_body("CollectionPut", JSON),
        description=collections_api.PUT_DESCRIPTION,
        tag="collections",
    ),
    Operation(
        collections_api.delete_collection,
        "deleteCollection",
        {204: {"description": "Deleted: its feeds and listing page answer 404."}},
        (404, 409),
        tag="collections",
    ),
)
"""Every operation of the API, in the document's order."""


# -- the components -----------------------------------------------------------------------


def _register_components(spec: APISpec, settings: Settings) -> None:
    components = spec.components
    for name, schema in component_schemas().items():
        components.schema(name, schema)
    components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token's secret (only its SHA-256 is stored).",
        },
    )
    for name, (location, parameter) in _parameters(settings).items():
        components.parameter(name, location, parameter)
    for name, header in _HEADERS.items():
        components.header(name, header)
    for status in PROBLEMS:
        components.response(f"Problem{status}", problem_response(status, settings))


def _parameters(settings: Settings) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each parameter component's location and object; the name is the key unless given."""
    if_match = {
        "name": "If-Match",
        "description": 'The ETag of the version you read, e.g. "3-1f2e…", or * for any.',
        "schema": {"type": "string", "minLength": 1},
    }
    whole_number = {"type": "integer", "minimum": 1}
    slug = {"type": "string", "minLength": 1, "maxLength": MAX_SLUG_LENGTH}
    return {
        "article_id": (
            "path",
            {
                "description": "The article's id (a tag: URI), percent-encoded.",
                "schema": {"type": "string", "minLength": 1},
            },
        ),
        "slug": ("path", {"description": "A collection's slug.", "schema": slug}),
        "If-Match": ("header", {**if_match, "required": True}),
        "If-Match-optional": ("header", {**if_match, "required": False}),
        "status": (
            "query",
            {
                "description": "Only articles with this status.",
                "schema": {"type": "string", "enum": [status.value for status in ArticleStatus]},
            },
        ),
        "page": ("query", {"schema": {**whole_number, "maximum": api.MAX_PAGE, "default": 1}}),
        "per_page": (
            "query",
            {
                "schema": {
                    **whole_number,
                    "maximum": settings.api_max_page_size,
                    "default": settings.api_page_size,
                }
            },
        ),
        "days": (
            "query",
            {
                "description": "UTC days to count, today included.",
                "schema": {
                    **whole_number,
                    "maximum": api.MAX_STATS_DAYS,
                    "default": api.STATS_DAYS,
                },
            },
        ),
    }


_HEADERS: dict[str, dict[str, Any]] = {
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
