"""The one declaration of an article's fields, and what is made from it."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC
from datetime import datetime
from typing import Any

import pytest

from app.articles import EDITABLE_FIELDS
from app.articles import ArticleInput
from app.domain import Article
from app.domain import Author
from app.domain import BodyFormat
from app.domain import Image
from app.inputs import ARTICLE_FIELDS
from app.inputs import CLEARABLE_FIELDS
from app.inputs import ArticleCreate
from app.inputs import domain_values
from app.inputs import editable_fields
from app.web.api import ArticlePatch

WHEN = datetime(2026, 11, 28, 12, tzinfo=UTC)


def _article(**overrides: Any) -> Article:
    values: dict[str, Any] = {
        "id": "tag:example.org,2026-11-28:article:1",
        "slug": "obra-do-metro",
        "title": "Obra do metrô",
        "summary": "Começa a obra.",
        "body": "Texto *em* Markdown.",
        "body_format": BodyFormat.MARKDOWN,
        "body_html": "<p>Texto <em>em</em> Markdown.</p>",
        "excerpt": "Texto em Markdown.",
        "authors": (Author("Ana", "ana@example.org", None), Author("Rui")),
        "categories": ("Cidade",),
        "tags": ("metrô", "obras"),
        "language": "pt-BR",
        "image": Image("https://example.org/capa.jpg", "image/jpeg", 0, 800, 600, "Capa", None),
        "published_at": WHEN,
        "created_at": WHEN,
        "updated_at": WHEN,
        "revision": 1,
    }
    return Article(**(values | overrides))


def test_the_use_cases_take_the_declared_fields() -> None:
    assert {field.name for field in fields(ArticleInput)} == set(ARTICLE_FIELDS)
    assert set(ARTICLE_FIELDS) == EDITABLE_FIELDS


def _rules(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null branches of a property's schema, without its title, default and
    description (a patch's describes the property, beside its branches)."""
    return [
        {
            key: value
            for key, value in branch.items()
            if key not in ("title", "default", "description")
        }
        for branch in schema.get("anyOf", [schema])
        if branch != {"type": "null"}
    ]


def test_a_patch_has_every_declared_field_optional_with_its_rules() -> None:
    patch = ArticlePatch.model_json_schema()["properties"]
    create = ArticleCreate.model_json_schema()["properties"]
    assert list(patch) == [*ARTICLE_FIELDS, "significant"]
    for name in ARTICLE_FIELDS:
        assert {"type": "null"} in patch[name]["anyOf"], name
        assert patch[name]["default"] is None, name
        assert _rules(patch[name]) == _rules(create[name]), name
        assert patch[name].get("description") == create[name].get("description"), name
    assert set(CLEARABLE_FIELDS) < set(ARTICLE_FIELDS)


@pytest.mark.parametrize(
    "article",
    [
        _article(),
        _article(image=None, summary="", categories=(), tags=()),
        _article(body_format=BodyFormat.HTML, body="<p>Olá</p>"),
    ],
    ids=["every-field", "fields-left-empty", "html"],
)
def test_what_is_written_out_reads_back_as_the_same_article(article: Article) -> None:
    written = editable_fields(article)
    assert list(written) == [
        name for name in ARTICLE_FIELDS if name not in ("slug", "published_at")
    ]
    read = domain_values(ArticleCreate.model_validate(written))
    for name in written:
        assert read[name] == getattr(article, name), name


def test_nested_values_are_written_as_their_models_read_them() -> None:
    written = editable_fields(_article())
    assert written["authors"][1] == {"name": "Rui", "email": None, "url": None}
    assert list(written["image"]) == [
        "url",
        "type",
        "length",
        "width",
        "height",
        "caption",
        "credit",
    ]
    assert written["body_format"] == "markdown"
    assert isinstance(written["tags"], list)
