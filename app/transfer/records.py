"""The line format, both ways: an article written as one export line, and the declaration
an import reads a line with.

The article fields and their rules are the API's (:mod:`app.inputs`); a line adds its id,
its times, its revision and its former slugs. The key order is the one documented in
:mod:`app.transfer`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator
from pydantic import Field

from app.content import clean_text
from app.domain import Article
from app.input_values import Instant
from app.input_values import SlugText
from app.inputs import ArticleCreate
from app.inputs import editable_fields
from app.inputs import instant_text
from app.legacy_urls import path_key


def article_line(
    article: Article, former_slugs: Iterable[str] = (), legacy_paths: Iterable[str] = ()
) -> str:
    """One article in the export format: compact JSON, keys in the documented order;
    ``legacy_paths`` (the old URLs an import kept) last, and only when there are any, so
    the lines of a site that imported none are as they always were."""
    record = {
        "id": article.id,
        "slug": article.slug,
        **editable_fields(article),
        "published_at": instant_text(article.published_at),
        "created_at": instant_text(article.created_at),
        "updated_at": instant_text(article.updated_at),
        "revision": article.revision,
        "former_slugs": list(former_slugs),
    }
    if old_paths := list(legacy_paths):
        record["legacy_paths"] = old_paths
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    # JSON lets these stand unescaped in strings, but str.splitlines() and JavaScript
    # readers break lines at them; escaped, every line holds exactly one record.
    return text.translate(_LINE_BREAKS)


_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def _check_entry_id(value: str) -> str:
    """A URI (``tag:``, ``urn:uuid:``, http...): it becomes the Atom id and RSS guid."""
    if not _URI.match(value) or clean_text(value) != value:
        raise ValueError("must be a URI such as tag:example.org,2026-01-01:article:1")
    return value


_EntryId = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_check_entry_id)]


def _check_legacy_path(value: str) -> str:
    """A path of the old site (its query too, as in ``/?p=42``), stored as requests are
    looked up (:func:`~app.legacy_urls.path_key`)."""
    if not value.startswith("/") or value.startswith("//") or clean_text(value) != value:
        raise ValueError("must be a path of the old site, such as /2020/05/04/a-post/")
    if any(character.isspace() and character != " " for character in value):
        raise ValueError("must be one line")
    path, _, query = value.partition("?")
    return path_key(path, query)


_LegacyPath = Annotated[
    str, Field(min_length=1, max_length=500), AfterValidator(_check_legacy_path)
]


class ArticleRecord(ArticleCreate):
    """One import line: the API's article fields, and what an export adds to them (each may
    be left out by lines from other systems)."""

    id: _EntryId | None = None
    created_at: Instant | None = None
    updated_at: Instant | None = None
    revision: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None
    former_slugs: Annotated[list[SlugText], Field(max_length=100)] = Field(default_factory=list)
    # The article's URLs on the site it came from, each answered with 301 to its page
    # here (app.old_urls); an export writes them when there are any.
    legacy_paths: Annotated[list[_LegacyPath], Field(max_length=20)] = Field(default_factory=list)
