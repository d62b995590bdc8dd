"""The collection use cases (list, read, create or replace, delete), independent of HTTP.

Collections of the settings are read-only here; those declared over the API are stored.
Every change marks the collection's feeds stale (a deleted one's render removes its
documents, as a scope with nothing to show loses them) and the listing pages' sitemap.
``now`` always comes from the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from app.collection_rules import COLLECTION
from app.collection_rules import RULE_FIELDS
from app.collection_rules import Collection
from app.collection_rules import build_collection
from app.collection_rules import collection_problems
from app.domain import LISTING_SITEMAPS
from app.domain import Article
from app.errors import CollectionDeclared
from app.errors import CollectionNotFound
from app.errors import FieldError
from app.errors import InvalidInput
from app.selection import current_collections
from app.selection import find_collection
from app.settings import Settings
from app.storage.articles import ArticleRepository
from app.storage.collection_store import CollectionRepository
from app.storage.database import Database
from app.storage.feeds import FeedStateRepository

log = logging.getLogger(__name__)

INVALID_COLLECTION = "The collection is invalid."


class Collections:
    """The curated and combined feeds, over one database and the settings."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.db = database
        self.settings = settings

    def list_collections(self) -> list[Collection]:
        """Every collection, those of the settings first, each group by slug."""
        with self.db.read() as session:
            return current_collections(session, self.settings.declared_collections)

    def get_collection(self, slug: str) -> Collection:
        """The collection ``slug``, of the settings or stored.

        Raises:
            CollectionNotFound: there is none.
        """
        with self.db.read() as session:
            found = find_collection(session, self.settings.declared_collections, slug)
        if found is None:
            raise CollectionNotFound(slug)
        return found

    def public_articles(
        self, slug: str, now: datetime, limit: int
    ) -> tuple[Collection, tuple[Article, ...]]:
        """The collection ``slug`` and its public articles as its feeds list them: the
        editor's order, or the ``limit`` published last, newest date first.

        Raises:
            CollectionNotFound: there is none.
        """
        with self.db.read() as session:
            collection = find_collection(session, self.settings.declared_collections, slug)
            if collection is None:
                raise CollectionNotFound(slug)
            repo = ArticleRepository(session)
            versions = repo.collection_versions(collection, limit)
            found = repo.by_ids([version.id for version in versions])
        listed = [found[v.id] for v in versions if v.id in found and found[v.id].is_public(now)]
        if collection.articles is None:
            listed.sort(key=lambda article: article.published_at or now, reverse=True)
        return collection, tuple(listed)

    def put_collection(
        self,
        slug: str,
        title: str,
        rules: Mapping[str, list[str]] | None,
        articles: list[str] | None,
        now: datetime,
    ) -> tuple[Collection, bool]:
        """Create or replace the stored collection ``slug``; say whether it is new. Its
        feeds are marked stale, with the listing pages' sitemap.

        Raises:
            InvalidInput: the slug, the title, the rules or the list are invalid (both
                rules and a list, neither, a list longer than ``feed.item_limit``...).
            CollectionDeclared: the settings declare ``slug``.
        """
        problems = collection_problems(slug, title, rules, articles, self.settings.feed_item_limit)
        if rules is None and articles is None:
            problems.append(("rules", "or articles is required: a collection is one or other"))
        if problems:
            # In the body, the rules are one object: its fields are named within it.
            named = ((f"rules.{f}" if f in RULE_FIELDS else f, m) for f, m in problems)
            errors = [FieldError(field, message) for field, message in named]
            raise InvalidInput(errors, INVALID_COLLECTION)
        self._refuse_declared(slug)
        collection = build_collection(slug, title, rules, articles)
        with self.db.write() as session:
            created = CollectionRepository(session).put(collection, now)
            FeedStateRepository(session).mark_dirty([collection.key, LISTING_SITEMAPS.key])
        log.info("collection %s slug=%s", "created" if created else "replaced", slug)
        return collection, created

    def delete_collection(self, slug: str) -> None:
        """Delete the stored collection ``slug``: its render removes its documents.

        Raises:
            CollectionDeclared: the settings declare ``slug``.
            CollectionNotFound: no collection is stored under ``slug``.
        """
        self._refuse_declared(slug)
        with self.db.write() as session:
            if not CollectionRepository(session).delete(slug):
                raise CollectionNotFound(slug)
            keys = [f"{COLLECTION}/{slug}", LISTING_SITEMAPS.key]
            FeedStateRepository(session).mark_dirty(keys)
        log.info("collection deleted slug=%s", slug)

    def _refuse_declared(self, slug: str) -> None:
        if any(c.slug == slug for c in self.settings.declared_collections):
            raise CollectionDeclared(slug)
