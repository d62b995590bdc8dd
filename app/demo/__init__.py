"""Demo content: a dozen articles of our own writing, loaded by ``broadsheet demo``."""

from __future__ import annotations

import json
from datetime import datetime
from datetime import timedelta
from importlib import resources
from typing import Any

from app.articles import ArticleInput
from app.articles import Articles
from app.content import make_slug
from app.domain import Author
from app.domain import BodyFormat
from app.domain import Image
from app.errors import SlugTaken


def demo_articles() -> list[dict[str, Any]]:
    """The demo articles as stored in ``articles.json``."""
    text = resources.files(__package__).joinpath("articles.json").read_text(encoding="utf-8")
    loaded: list[dict[str, Any]] = json.loads(text)
    return loaded


def load_demo(articles: Articles, now: datetime) -> int:
    """Store the demo articles that are not there yet; return how many were added.

    Publish times are relative to ``now`` (one is a draft, one is scheduled), so the demo
    always looks fresh. Loading twice adds nothing the second time.
    """
    added = 0
    for item in demo_articles():
        hours = item.get("published_hours_ago")
        image = item.get("image")
        data = ArticleInput(
            title=item["title"],
            slug=make_slug(item["title"]),
            summary=item.get("summary", ""),
            body=item["body"],
            body_format=BodyFormat(item.get("body_format", "markdown")),
            authors=tuple(Author(**author) for author in item["authors"]),
            categories=tuple(item.get("categories", ())),
            tags=tuple(item.get("tags", ())),
            language=item.get("language"),
            image=Image(**image) if image else None,
            published_at=None if hours is None else now - timedelta(hours=hours),
        )
        try:
            articles.create_article(data, now)
        except SlugTaken:
            continue
        added += 1
    return added
