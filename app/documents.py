"""Feed documents: what a feed says about itself and its entries, made from stored
articles and the settings, before any format is chosen.

Contract: every function here is pure (no clock, no database); the same article and
settings give the same entry, the same scope and entries the same document. The entries'
bytes are joined in later (:mod:`app.rendering.fragments`), so a document is built without
them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app import rendering
from app.content import absolute_url
from app.content import extract_images
from app.content import figure_html
from app.domain import ARCHIVE
from app.domain import SITE_SCOPE
from app.domain import Article
from app.domain import FeedFormat
from app.domain import FeedScope
from app.domain import FeedSnapshot
from app.domain import feed_path
from app.domain import permalink_url
from app.domain import term_slug
from app.rendering import FeedDocument
from app.rendering import FeedEntry
from app.settings import Settings

FEED_STYLESHEET_PATH = "/static/feed.xsl"


@dataclass(frozen=True)
class History:
    """The archive pages next to a feed: ``older`` (prev-archive) and ``newer``."""

    older: str | None
    newer: str | None


def build_document(
    settings: Settings,
    id_prefix: str,
    scope: FeedScope,
    label: str,
    language: str,
    updated: datetime,
    history: History | None = None,
) -> FeedDocument:
    """The neutral feed model of a scope, without its entries (they are joined in as
    bytes): ``id_prefix`` is what the site's feed ids start with, ``label`` names a
    section, tag or author as its articles spell it, ``updated`` is the newest entry's
    update time (the epoch for none)."""
    base = settings.base_url
    links: dict[str, dict[FeedFormat, str]] = {}
    if history is not None:
        if history.older:
            links["prev-archive"] = feed_urls(base, FeedScope(ARCHIVE, history.older))
        if history.newer:
            links["next-archive"] = feed_urls(base, FeedScope(ARCHIVE, history.newer))
        if scope.kind == ARCHIVE:
            links["current"] = feed_urls(base, SITE_SCOPE)
    return FeedDocument(
        id=f"{id_prefix}{scope.key}",
        title=feed_title(settings.site_title, scope, label),
        description=settings.site_description,
        site_url=page_url(base, scope),
        home_url=base + "/",
        language=language,
        updated=updated,
        self_urls=feed_urls(base, scope),
        entries=(),
        # An archive changes only by edits: no refresh hints that invite hourly polls.
        ttl_minutes=None
        if scope.kind == ARCHIVE
        else refresh_minutes(settings.feed_regenerate_seconds),
        archive=scope.kind == ARCHIVE,
        history_links=links,
        hubs=settings.hubs,
        stylesheet_url=f"{base}{FEED_STYLESHEET_PATH}",
        icon_url=site_image_url(settings.site_icon, base),
        favicon_url=site_image_url(settings.site_icon, base),
        logo_url=site_image_url(settings.site_logo, base),
    )


def feed_entry(article: Article, base_url: str, private: bool = False) -> FeedEntry:
    """The feed entry of a published article, the same in every feed that lists it, on
    the site at ``base_url``, before a feed profile cuts it (:mod:`app.teasers`); without
    content for an article that keeps its full text out of feeds, unless the feed is a
    ``private`` one (the flag limits only the public feeds)."""
    assert article.published_at is not None
    content = article.body_html
    if article.image is not None:
        lead = article.image
        alt = lead.caption or article.title
        content = figure_html(lead.url, alt, lead.caption, lead.credit) + content
    return FeedEntry(
        id=article.id,
        url=permalink_url(base_url, article.slug),
        title=article.title,
        summary=article.excerpt,
        # Its summary only, whatever the feed's profile, if it keeps its text out of feeds.
        content_html=content if article.full_text_in_feeds or private else None,
        authors=article.authors,
        categories=article.categories,
        tags=article.tags,
        language=article.language,
        image=article.image,
        published=article.published_at,
        media=extract_images(article.body_html),
        updated=last_update(article),
    )


def last_update(article: Article) -> datetime:
    """When a public article last changed for its readers (its feed entries' and its
    page's modified date): an article scheduled before its publish time was last edited
    before it went public, and must not look older than its own publication."""
    assert article.published_at is not None
    return max(article.updated_at, article.published_at)


def feed_language(scope: FeedScope, entry_languages: Iterable[str], site_language: str) -> str:
    """The language a feed declares: the site's, except for a section, tag, author or
    archive whose entries all share another (an English columnist's feed on a Portuguese
    site is English)."""
    languages = {language for language in entry_languages if language}
    if scope != SITE_SCOPE and len(languages) == 1:
        return languages.pop()
    return site_language


def refresh_minutes(regenerate_seconds: int) -> int:
    """The RSS ``<ttl>`` (whole minutes) for a feed regenerated every ``regenerate_seconds``:
    rounded up, so that no reader is invited to poll more often than the feed can change."""
    return max(1, math.ceil(regenerate_seconds / 60))


def feed_title(site_title: str, scope: FeedScope, label: str) -> str:
    """A feed's title: the site's, followed by the name of the section, tag or author
    (``label``) or by the number of the archive page."""
    if scope == SITE_SCOPE:
        return site_title
    return f"{site_title}: {scope.value if scope.kind == ARCHIVE else label}"


def page_url(base: str, scope: FeedScope) -> str:
    """The HTML page a feed stands for: a section's, tag's or author's listing page, or
    the front page (for the site feed and the archive pages) of the site at ``base``."""
    if scope == SITE_SCOPE or scope.kind == ARCHIVE:
        return base + "/"
    return f"{base}/{scope.kind}/{scope.value}"


def site_image_url(setting: str, base: str) -> str | None:
    """The absolute URL of a site image setting (``site_icon``, ``site_logo``): a path is
    on the site at ``base``; ``None`` when the setting is empty."""
    return absolute_url(setting, base) if setting else None


def feed_urls(base: str, scope: FeedScope) -> dict[FeedFormat, str]:
    return {fmt: base + feed_path(scope, fmt) for fmt in FeedFormat}


def scope_label(scope: FeedScope, articles: Iterable[Article | FeedEntry]) -> str:
    """How people name a scope: the category, tag or author as written in its articles
    (the scope's slug if none spells it)."""
    for article in articles:
        names: Iterable[str] = ()
        if scope.kind == "category":
            names = article.categories
        elif scope.kind == "tag":
            names = article.tags
        elif scope.kind == "author":
            names = (author.name for author in article.authors)
        for name in names:
            if term_slug(name) == scope.value:
                return name
    return scope.value


def render_fingerprint(settings: Settings) -> str:
    """What a feed's bytes depend on besides its articles: the installed version, the
    source of the code that renders feeds (an edited checkout keeps its version number),
    and every setting that shows in a feed."""
    digest = hashlib.sha256(importlib.metadata.version("broadsheet").encode())
    assert rendering.__file__ is not None
    # This module and the render passes, which order entries and choose each feed's;
    # and the profiles' cut of each entry's text.
    here = Path(__file__)
    sources = [*sorted(Path(rendering.__file__).parent.glob("*.py")), here]
    for path in [*sources, *(here.with_name(name) for name in ("renderer.py", "teasers.py"))]:
        digest.update(path.read_bytes())
    shown = {name: getattr(settings, name) for name in sorted(_SETTINGS_IN_FEEDS)}
    digest.update(json.dumps(shown, sort_keys=True, default=str).encode())
    return digest.hexdigest()


# Settings whose value appears in feed documents (links, titles, ids, ttl, hubs).
_SETTINGS_IN_FEEDS = (
    "site_base_url",
    "site_title",
    "site_description",
    "site_language",
    "id_authority",
    "epoch",
    "feed_item_limit",
    "feed_regenerate_seconds",
    "websub_hubs",
    "feed_profile",
    "feed_profiles",
    "site_icon",
    "site_logo",
)


def feed_max_age(
    settings: Settings, scope: FeedScope, snapshot: FeedSnapshot, now: datetime
) -> int:
    """How long caches may keep a feed (Cache-Control max-age, RFC 9111 section 5.2.2.1).

    The regeneration interval, cut short by the next scheduled publication in the feed;
    an archive page changes only by edits, so it gets a day.
    """
    if scope.kind == ARCHIVE:
        return settings.feed_archive_max_age_seconds
    lifetime = settings.feed_regenerate_seconds
    if snapshot.fresh_until is not None:
        remaining = math.ceil((snapshot.fresh_until - now).total_seconds())
        lifetime = max(0, min(lifetime, remaining))
    return lifetime
