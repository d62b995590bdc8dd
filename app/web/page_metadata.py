"""What a page tells other sites about itself: Open Graph (https://ogp.me), the Twitter/X
card, and on an article's page schema.org's NewsArticle as JSON-LD.

Each is made from the values the page itself shows, so that a search engine, a social
site and a person read the same title, dates, bylines and image. JSON-LD goes into the page
through Jinja's ``tojson``, which escapes ``<``, ``>``, ``&`` and ``'`` as JSON ``\\u``
escapes: no text can end the ``<script type="application/ld+json">`` data block, which
the browser never runs (the pages' ``script-src 'none'`` applies to scripts, not data).
"""

from __future__ import annotations

from typing import Any

from app.documents import last_update
from app.documents import page_url
from app.documents import site_image_url
from app.domain import Article
from app.domain import Author
from app.domain import FeedScope
from app.domain import Image
from app.domain import term_slug
from app.settings import Settings

SCHEMA_ORG = "https://schema.org"


def open_graph(
    settings: Settings,
    kind: str,
    title: str,
    description: str,
    url: str,
    article: Article | None = None,
) -> dict[str, Any]:
    """The Open Graph properties of a page (``og:<key>``), in the order they are written;
    ``None`` or empty values are left out."""
    language = article.language if article else settings.site_language
    image = article.image if article else None
    return {
        "type": kind,
        "site_name": settings.site_title,
        "locale": language.replace("-", "_"),
        "title": title,
        "description": description,
        "url": url,
        "image": image.url if image else None,
        "image:width": image.width if image else None,
        "image:height": image.height if image else None,
        "image:alt": _image_alt(image, title) if image else None,
    }


def twitter_card(og: dict[str, Any]) -> dict[str, Any]:
    """The Twitter/X card of a page (``twitter:<key>``) from its Open Graph properties: a
    large image card when the page has an image, else the summary card."""
    return {
        "card": "summary_large_image" if og["image"] else "summary",
        "title": og["title"],
        "description": og["description"],
        "image": og["image"],
        "image:alt": og["image:alt"],
    }


def news_article(settings: Settings, article: Article, url: str) -> dict[str, Any]:
    """schema.org NewsArticle of a public article whose page is at ``url`` (JSON-LD, with
    the schema.org context): headline, dates, bylines, lead image, sections and tags as
    the page shows them, and the site as publisher."""
    assert article.published_at is not None
    data: dict[str, Any] = {
        "@context": SCHEMA_ORG,
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "url": url,
        "headline": article.title,
        "description": article.excerpt or None,
        "inLanguage": article.language,
        "datePublished": article.published_at.isoformat(),
        "dateModified": last_update(article).isoformat(),
        "author": [_person(settings, author) for author in article.authors] or None,
        "image": _image_object(article.image, article.title) if article.image else None,
        "articleSection": list(article.categories) or None,
        "keywords": list(article.tags) or None,
        "publisher": _publisher(settings),
    }
    return {key: value for key, value in data.items() if value is not None}


def _person(settings: Settings, author: Author) -> dict[str, Any]:
    # The byline's own page if it has one, else its listing page here (where the page's
    # byline links): either identifies the person to a search engine.
    listing = page_url(settings.base_url, FeedScope("author", term_slug(author.name)))
    return {"@type": "Person", "name": author.name, "url": author.url or listing}


def _image_object(image: Image, title: str) -> dict[str, Any]:
    data = {
        "@type": "ImageObject",
        "url": image.url,
        "width": image.width,
        "height": image.height,
        "caption": _image_alt(image, title),
        "creditText": image.credit,
    }
    return {key: value for key, value in data.items() if value is not None}


def _publisher(settings: Settings) -> dict[str, Any]:
    publisher: dict[str, Any] = {
        "@type": "Organization",
        "name": settings.site_title,
        "url": settings.base_url + "/",
    }
    logo = site_image_url(settings.site_logo, settings.base_url)
    if logo:
        publisher["logo"] = {"@type": "ImageObject", "url": logo}
    return publisher


def _image_alt(image: Image, title: str) -> str:
    """What the page's ``<img alt>`` says of a lead image: its caption, else the title."""
    return image.caption or title
