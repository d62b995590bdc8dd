"""The web role: pages, feeds and the write API on one Flask app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from flask import current_app

from app.domain import Article
from app.domain import permalink_url
from app.domain import term_slug
from app.services import Services
from app.web.feedcache import FeedCache
from app.web.polling import PollLimiter
from app.web.polling import PollRecorder
from app.web.stalepages import StalePages


def register_web(app: Flask, services: Services) -> None:
    """Attach services, blueprints, error handlers and template helpers to ``app``."""
    from app.web import api
    from app.web import errors
    from app.web import feeds
    from app.web import health
    from app.web import openapi
    from app.web import pages
    from app.web import security

    app.extensions["broadsheet"] = services
    settings = services.settings
    counters = Polling(
        recorder=PollRecorder(services.publisher.record_polls, settings.stats_flush_seconds),
        limiter=PollLimiter(settings.polite_min_interval_seconds)
        if settings.polite_enabled
        else None,
    )
    cache = FeedCache(
        services.publisher, settings.server_feed_cache_bytes, settings.server_feed_refresh_seconds
    )
    app.extensions["broadsheet_polls"] = counters
    app.extensions["broadsheet_feeds"] = cache
    app.extensions["broadsheet_pages"] = StalePages(settings.server_page_memory_bytes)
    app.wsgi_app = feeds.FeedFastPath(app.wsgi_app, services, cache, counters)  # type: ignore[method-assign]
    # The API refuses bodies over the limit with 413 before reading them; JSON framing
    # around the article body gets some room.
    app.config["MAX_CONTENT_LENGTH"] = api.max_request_bytes(services.settings)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.register_blueprint(feeds.blueprint)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(openapi.blueprint)  # public: outside the API's authentication
    app.register_blueprint(health.blueprint)
    errors.register_error_handlers(app)
    # Last: the outermost WSGI layer, so that its headers reach feeds answered before Flask.
    security.install_security(app, settings, services.clock)

    def localdate(value: datetime) -> str:
        return format_local_date(value, services)

    def isodate(value: datetime) -> str:
        return value.isoformat()

    def permalink(article: Article) -> str:
        return permalink_url(settings.base_url, article.slug)

    def scope_url(kind: str, name: str) -> str:
        """The listing page of the category, tag or author ``name``."""
        return f"{settings.base_url}/{kind}/{term_slug(name)}"

    app.add_template_filter(localdate, "localdate")
    app.add_template_filter(isodate, "isodate")
    app.add_template_global(permalink, "permalink")
    app.add_template_global(scope_url, "scope_url")


_MONTHS_PT = (
    "janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro",
    "outubro", "novembro", "dezembro",
)  # fmt: skip


def format_local_date(value: datetime, services: Services) -> str:
    """A date for people, in the site's zone and language: "28 de novembro de 2026, 10:46"."""
    local = value.astimezone(services.settings.timezone)
    if services.settings.site_language.lower().startswith("pt"):
        month = _MONTHS_PT[local.month - 1]
        return f"{local.day} de {month} de {local.year}, {local:%H:%M}"
    return f"{local:%B} {local.day}, {local.year}, {local:%H:%M}"


@dataclass(frozen=True)
class Polling:
    """The web process's poll counter and, when politeness is on, its limiter."""

    recorder: PollRecorder
    limiter: PollLimiter | None


def polling() -> Polling:
    """The poll counter and limiter of the running app."""
    found: Polling = current_app.extensions["broadsheet_polls"]
    return found


def services() -> Services:
    """The services of the running app."""
    found: Services = current_app.extensions["broadsheet"]
    return found
