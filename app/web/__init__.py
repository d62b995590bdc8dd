"""The web role: pages, feeds and the write API on one Flask app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from babel import Locale
from babel import UnknownLocaleError
from babel.dates import format_date
from babel.dates import format_time
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
    from app.web import apidocs
    from app.web import collections_api  # noqa: F401  (routes on the API's blueprint)
    from app.web import errors
    from app.web import feeds
    from app.web import health
    from app.web import observe
    from app.web import openapi
    from app.web import pages
    from app.web import private
    from app.web import security
    from app.web import sitemaps

    app.extensions["broadsheet"] = services
    settings = services.settings
    counters = Polling(
        recorder=PollRecorder(services.feeds.record_polls, settings.stats_flush_seconds),
        limiter=PollLimiter(settings.polite_min_interval_seconds)
        if settings.polite_enabled
        else None,
    )
    cache = FeedCache(
        services.feeds, settings.server_feed_cache_bytes, settings.server_feed_refresh_seconds
    )
    app.extensions["broadsheet_polls"] = counters
    app.extensions["broadsheet_feeds"] = cache
    app.extensions["broadsheet_pages"] = StalePages(settings.server_page_memory_bytes)
    app.extensions["broadsheet_private"] = private.PersonalDocuments()
    app.wsgi_app = feeds.FeedFastPath(app.wsgi_app, services, cache, counters)  # type: ignore[method-assign]
    # The API refuses bodies over the limit with 413 before reading them; JSON framing
    # around the article body gets some room.
    app.config["MAX_CONTENT_LENGTH"] = api.max_request_bytes(services.settings)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.register_blueprint(feeds.blueprint)
    app.register_blueprint(private.blueprint)
    app.register_blueprint(sitemaps.blueprint)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(openapi.blueprint)  # public: outside the API's authentication
    app.register_blueprint(apidocs.blueprint)  # public, as the document is
    app.register_blueprint(health.blueprint)
    errors.register_error_handlers(app)
    # Outermost but one: its headers reach feeds answered before Flask.
    security.install_security(app, settings, services.clock)
    # Outermost: request ids, the request's log line and metrics, for every request.
    observe.install_observer(app, services)

    def isodate(value: datetime) -> str:
        return value.isoformat()

    def permalink(article: Article) -> str:
        return permalink_url(settings.base_url, article.slug)

    def scope_url(kind: str, name: str) -> str:
        """The listing page of the category, tag or author ``name``."""
        return f"{settings.base_url}/{kind}/{term_slug(name)}"

    localdate = partial(
        format_local_date, zone=settings.timezone, locale=date_locale(settings.site_language)
    )
    app.add_template_filter(localdate, "localdate")
    app.add_template_filter(isodate, "isodate")
    app.add_template_global(permalink, "permalink")
    app.add_template_global(scope_url, "scope_url")


def date_locale(language: str) -> Locale:
    """The locale (Babel's CLDR data) of dates on pages in ``language``, a BCP 47 tag.

    The tag's own (pt-BR), else its language's (pt for pt-BR-x-house), else English.
    """
    for tag in (language, language.split("-")[0]):
        try:
            return Locale.parse(tag, sep="-")
        except (ValueError, UnknownLocaleError):
            continue
    return Locale("en")


def format_local_date(value: datetime, zone: ZoneInfo, locale: Locale) -> str:
    """A date for people, in the site's zone and language: "28 de novembro de 2026, 10:46".

    The locale's long date and short time (24-hour or not, as the language writes it). A comma
    joins them, as pages always have: CLDR's pattern for Brazilian Portuguese is a bare space.
    """
    local = value.astimezone(zone)
    return (
        f"{format_date(local, 'long', locale=locale)}, {format_time(local, 'short', locale=locale)}"
    )


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
