"""Builders for test input with sensible defaults (override what a test is about)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.articles import ArticleInput
from app.domain import Author
from app.domain import BodyFormat
from app.domain import Image


def article_input(**overrides: Any) -> ArticleInput:
    """A published-looking Portuguese article with a lead image."""
    values: dict[str, Any] = {
        "title": "Câmara aprova orçamento de R$ 1,6 bilhão para a saúde",
        "summary": "Votação terminou na madrugada, depois de doze horas de sessão.",
        "body": "**Votação longa.** A sessão começou às 14h.\n\n![Plenário](/img/plenario.jpg)",
        "body_format": BodyFormat.MARKDOWN,
        "authors": (Author("Ana Souza", "ana@example.org"), Author("Bruno Lima")),
        "categories": ("Política", "Cidades"),
        "tags": ("orçamento", "saúde"),
        "language": "pt-BR",
        "image": Image(
            url="/img/plenario.jpg",
            type="image/jpeg",
            length=48213,
            width=1200,
            height=675,
            caption="O plenário durante a votação.",
            credit="Foto: Carla Dias",
        ),
        "published_at": None,
    }
    values.update(overrides)
    return ArticleInput(**values)


def api_article(published_at: datetime | None = None, **overrides: Any) -> dict[str, Any]:
    """A JSON body for POST /api/v1/articles."""
    body: dict[str, Any] = {
        "title": "Ação rápida: São Paulo abre 40 novas creches",
        "summary": "Prefeitura promete vagas para 6 mil crianças até março.",
        "body": "**Mais vagas.** As unidades abrem em fevereiro.\n\n<script>alert(1)</script>",
        "body_format": "markdown",
        "authors": [{"name": "Júlia Ramos", "email": "julia@example.org"}],
        "categories": ["Educação", "Cidades"],
        "tags": ["creches"],
        "image": {
            "url": "https://cdn.example.org/creche.jpg",
            "type": "image/jpeg",
            "length": 81234,
            "width": 1600,
            "height": 900,
            "caption": "Sala de uma das novas creches.",
            "credit": "Foto: Pedro Alves",
        },
    }
    if published_at is not None:
        body["published_at"] = published_at.isoformat()
    body.update(overrides)
    return body
