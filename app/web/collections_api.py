"""The collections of the write API, ``/api/v1/collections``: curated and combined feeds.

Routed on the API's blueprint (:mod:`app.web.api`), so every call needs its bearer token
and every error is a problem document (RFC 9457). A body is validated by
:class:`CollectionPut` (strict types, unknown fields refused), then by the use case
(:class:`~app.curation.Collections`), which names each bad field.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response
from flask import g
from flask import jsonify
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field

from app.collection_rules import Collection
from app.curation import INVALID_COLLECTION
from app.domain import FeedFormat
from app.domain import FeedScope
from app.domain import feed_path
from app.json_input import parse_json
from app.web import services
from app.web.api import blueprint
from app.web.api import request_body

log = logging.getLogger(__name__)

#: What the OpenAPI document says of a PUT (:mod:`app.web.openapi`).
PUT_DESCRIPTION = (
    "`rules` (articles with any included term, every article when none is, and no "
    "excluded one) or `articles` (an editor's list of ids, in the feed's order), not both. "
    "A collection of the settings cannot be changed here (409)."
)


def _names() -> Any:
    return Field(
        default=[],
        description="Category, tag or author names, or their slugs, as articles carry them.",
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CollectionRules(_Strict):
    """Which articles a collection holds: those with any included term (every article
    when none is) and no excluded one."""

    include_categories: list[str] = _names()
    include_tags: list[str] = _names()
    include_authors: list[str] = _names()
    exclude_categories: list[str] = _names()
    exclude_tags: list[str] = _names()
    exclude_authors: list[str] = _names()


class CollectionPut(_Strict):
    """A collection: a title, and either rules or an editor's ordered list of article ids."""

    title: str = Field(min_length=1, max_length=300)
    rules: CollectionRules | None = None
    articles: list[str] | None = Field(
        default=None,
        description="Article ids in the feed's order (at most feed.item_limit); only the "
        "public ones show.",
    )


@blueprint.get("/collections")
def list_collections() -> Response:
    """Every collection, those of the settings first."""
    found = services()
    return jsonify(items=[_represent(c) for c in found.collections.list_collections()])


@blueprint.get("/collections/<slug>")
def get_collection(slug: str) -> Response:
    """One collection, of the settings or of the API."""
    return jsonify(_represent(services().collections.get_collection(slug)))


@blueprint.put("/collections/<slug>")
def put_collection(slug: str) -> tuple[Response, int]:
    """Create or replace a collection; its feeds are rendered again."""
    raw = request_body("the collection")
    body = parse_json(CollectionPut, raw, "The request body", INVALID_COLLECTION)
    rules = body.rules.model_dump() if body.rules is not None else None
    found = services()
    collection, created = found.collections.put_collection(
        slug, body.title, rules, body.articles, found.clock()
    )
    log.info("api write=put collection=%s token=%s", slug, g.token_name)
    return jsonify(_represent(collection)), 201 if created else 200


@blueprint.delete("/collections/<slug>")
def delete_collection(slug: str) -> tuple[str, int]:
    """Delete a collection: its feeds and listing page answer 404."""
    services().collections.delete_collection(slug)
    log.info("api write=delete collection=%s token=%s", slug, g.token_name)
    return "", 204


def _represent(collection: Collection) -> dict[str, Any]:
    base = services().settings.base_url
    scope = FeedScope.from_key(collection.key)
    return {
        "slug": collection.slug,
        "title": collection.title,
        "rules": None,
        "articles": None,
        **collection.definition(),
        "declared_in_settings": collection.declared,
        "url": f"{base}/{collection.key}",
        "feeds": {fmt.value: base + feed_path(scope, fmt) for fmt in FeedFormat},
    }
