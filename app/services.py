"""The composition root shared by every role: settings, database and use cases, wired once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.access import Access
from app.articles import Articles
from app.clock import Clock
from app.clock import system_clock
from app.curation import Collections
from app.feeds import StoredFeeds
from app.monitoring import Monitoring
from app.old_urls import OldUrls
from app.operations import Operations
from app.opml import FeedDirectory
from app.renderer import FeedRenderer
from app.settings import Settings
from app.settings_sources import load_settings
from app.storage.database import Database
from app.subscribers import Subscribers
from app.webhooks import Webhooks


@dataclass(frozen=True)
class Services:
    """Everything a role needs, wired once."""

    settings: Settings
    database: Database
    articles: Articles
    feeds: StoredFeeds
    operations: Operations
    renderer: FeedRenderer
    access: Access
    directory: FeedDirectory
    clock: Clock
    subscribers: Subscribers
    collections: Collections
    old_urls: OldUrls
    monitoring: Monitoring
    webhooks: Webhooks


def build_services(
    overrides: Mapping[str, Any] | None = None,
    clock: Clock = system_clock,
    environ: Mapping[str, str] | None = None,
) -> Services:
    """Read settings and wire the database and use cases.

    Raises:
        SettingsError: a setting is invalid; the message names it.
    """
    settings = load_settings(overrides, environ=environ)
    database = Database(settings.database_url, echo=settings.database_echo)
    renderer = FeedRenderer(database, settings)
    return Services(
        settings,
        database,
        Articles(database, settings),
        StoredFeeds(database),
        Operations(database),
        renderer,
        Access(database),
        FeedDirectory(database, settings),
        clock,
        # A new profile is rendered for every subscription feed, archives aside.
        Subscribers(database, lambda now: renderer.mark_all_feeds_stale(now, archives=False)),
        Collections(database, settings),
        OldUrls(database, settings),
        monitoring=Monitoring(database),
        webhooks=Webhooks(database, settings),
    )
