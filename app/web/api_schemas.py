"""The API's bodies as its OpenAPI document (:mod:`app.web.openapi`) describes them.

Requests are validated by pydantic models (:mod:`app.inputs`, :mod:`app.web.api`). What the
views write is described by the models below; the tests hold ``_represent`` of
:mod:`app.web.api`, the poll statistics and the problem details of :mod:`app.web.errors` to
them. :func:`component_schemas` gives the JSON Schemas of both, refined where the use cases
check more than the models do; :data:`REQUEST_EXAMPLES` an example of each request; and
:func:`problem_response` what each error status means.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated
from typing import Any

from pydantic import AwareDatetime
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic.json_schema import models_json_schema

from app.content import SLUG_PATTERN
from app.domain import ArticleStatus
from app.domain import BodyFormat
from app.inputs import ArticleCreate
from app.language_tags import LANGUAGE_TAG_PATTERN
from app.settings import Settings
from app.web import api
from app.web import collections_api
from app.web.errors import title_of

_REF = "#/components/schemas/{model}"


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
    full_text_in_feeds: bool = Field(
        description=ArticleCreate.model_fields["full_text_in_feeds"].description
    )
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


class CollectionRulesOut(_Out):
    """A collection's rules, each name as its slug."""

    include_categories: list[str]
    include_tags: list[str]
    include_authors: list[str]
    exclude_categories: list[str]
    exclude_tags: list[str]
    exclude_authors: list[str]


class CollectionOut(_Out):
    """A curated or combined feed (``_represent`` in :mod:`app.web.collections_api`)."""

    slug: str
    title: str
    rules: CollectionRulesOut | None = Field(description="Null for an editor's list.")
    articles: list[str] | None = Field(description="The editor's list; null for rules.")
    declared_in_settings: bool = Field(
        description="Declared in the settings: the API can neither change nor delete it."
    )
    url: str = Field(description="Absolute URL of its listing page.")
    feeds: dict[str, str] = Field(description="Absolute URL of its feed in each format.")


class CollectionList(_Out):
    """Every collection, those of the settings first."""

    items: list[CollectionOut]


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
    collections_api.CollectionPut,
)
_RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    ArticleOut,
    ArticleList,
    PollStats,
    CollectionOut,
    CollectionList,
    ProblemDetails,
)


@cache
def component_schemas() -> dict[str, Any]:
    """``components.schemas``: the JSON Schemas of every model, refs between them local.

    Cached for the process: callers copy what they change (apispec copies what it is
    given).
    """
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


# -- examples of request bodies, one per model ------------------------------------------

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
REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "ArticleCreate": _EXAMPLE_ARTICLE,
    "ArticleReplace": {**_EXAMPLE_ARTICLE, "significant": True},
    "ArticlePatch": {"summary": "Obra liga o centro à zona norte.", "image": None},
    "CollectionPut": {
        "title": "Política + Economia",
        "rules": {"include_categories": ["Política", "Economia"], "exclude_tags": ["opinião"]},
    },
}
"""An example body of each request model, by model name; the tests validate each one."""


# -- problems: what each error status means ---------------------------------------------

PROBLEM = "application/problem+json"
PROBLEMS: dict[int, str] = {
    400: (
        'The body is not UTF-8 JSON (code "malformed-json"); `detail` says where parsing '
        "stopped, or that JSON must be UTF-8 (RFC 8259 section 8.1), and `errors` names the "
        'body itself (field ""). A UTF-8 byte order mark is ignored. Nothing is stored.'
    ),
    401: "The bearer token is missing, wrong, expired or revoked.",
    404: "No article has that id, or no collection that slug.",
    409: (
        'Another article already uses that slug (code "slug-taken"); `errors` names `slug`. '
        'For a collection: the settings declare it (code "declared-in-settings").'
    ),
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
"""What each error status of the API means; every one is a :class:`ProblemDetails`."""
_PROBLEM_HEADERS: dict[int, str] = {
    401: "WWW-Authenticate",
    412: "ETag",
    429: "Retry-After",
    503: "Retry-After",
}


def problem_response(status: int, settings: Settings) -> dict[str, Any]:
    """The OpenAPI response of an error ``status``; components are named, not referenced."""
    description = PROBLEMS[status]
    if status == 413:
        description += (
            f" Article bodies may hold at most {settings.api_max_body_bytes} bytes (in "
            f"UTF-8), requests at most {api.max_request_bytes(settings)}."
        )
    response: dict[str, Any] = {
        "description": f"{title_of(status)}. {description}",
        "content": {PROBLEM: {"schema": "ProblemDetails"}},
    }
    if status in _PROBLEM_HEADERS:
        header = _PROBLEM_HEADERS[status]
        response["headers"] = {header: header}
    return response
