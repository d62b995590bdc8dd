"""The import: lines built by the pipeline (:mod:`app.transfer.pipeline`) are stored in
batches, one transaction each, after their ids and slugs are claimed; the feeds they touch
are marked stale in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime

from app.articles import Articles
from app.collection_rules import Collection
from app.content import first_free_slug
from app.content import numbered_slug_prefix
from app.domain import ARCHIVE
from app.domain import Article
from app.domain import Author
from app.errors import FieldError
from app.selection import article_terms
from app.selection import current_collections
from app.selection import numbered_sitemap_keys
from app.selection import scope_keys
from app.storage.bulk import BulkArticleWriter
from app.storage.bulk import ConcurrentWrite
from app.storage.bulk import NewArticle
from app.storage.database import Database
from app.storage.feeds import FeedStateRepository
from app.storage.legacy_paths import LegacyPathRepository
from app.storage.sequence import PublicationOrder
from app.transfer.pipeline import BuiltLine
from app.transfer.pipeline import build_batches
from app.transfer.report import ImportReport
from app.transfer.report import SkippedLine

DEFAULT_BATCH_SIZE = 500
_WRITE_ATTEMPTS = 3


def import_lines(
    articles: Articles,
    lines: Iterable[bytes | str],
    now: datetime,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    jobs: int = 1,
    on_skip: Callable[[SkippedLine], None] | None = None,
    on_batch: Callable[[int, ImportReport], None] | None = None,
) -> ImportReport:
    """Import articles from JSON Lines (the export format); return what was done.

    Each line is validated and cleaned exactly as the API does (so it may be refused for
    the same reasons); refused lines, and lines whose id or slug is already held by an
    earlier line or (the slug) by another article, are skipped: reported to ``on_skip``
    batch by batch, in line order, and listed in the report. A line whose id an article
    stored before already has is counted as already imported, not skipped: that is what
    makes a second run of the same file add nothing and an interrupted run continue.
    Blank lines are ignored. Good lines are stored in input order, ``batch_size`` per
    transaction, with their old paths (``legacy_paths``, those no article holds yet), and
    their feed scopes are marked stale in the same transaction, so the scheduler renders
    them. ``now`` fills missing times and stamps former slugs and old paths. After each
    batch ``on_batch`` gets how many lines it held and the report so far. With ``jobs`` > 1
    the content pipeline (the costly part: Markdown and sanitising) runs in that many
    worker processes while this one writes.

    Raises:
        StorageUnavailable: the database went away; the batches committed before stay.
    """
    report = ImportReport()
    settings = articles.settings
    for built in build_batches(settings, lines, now, batch_size=batch_size, jobs=jobs):
        refused = [item for item in built if isinstance(item, SkippedLine)]
        accepted = [item for item in built if isinstance(item, BuiltLine)]
        stored = _store(
            articles.db, accepted, now, settings.feed_item_limit, settings.declared_collections
        )
        report.imported += stored.imported
        report.already_imported += stored.already_imported
        report.redirects += stored.redirects
        for problem in sorted(refused + stored.duplicates, key=lambda problem: problem.line):
            report.skipped.append(problem)
            if on_skip is not None:
                on_skip(problem)
        if on_batch is not None:
            on_batch(len(built), report)
    return report


@dataclass
class _Stored:
    """What storing one batch did."""

    imported: int = 0
    already_imported: int = 0
    redirects: int = 0
    duplicates: list[SkippedLine] = field(default_factory=list)


def _store(
    db: Database,
    built: list[BuiltLine],
    now: datetime,
    page_size: int,
    declared: tuple[Collection, ...],
) -> _Stored:
    """Store a batch in one transaction; return what was stored and the duplicates.

    The batch's public articles are numbered in publication order, oldest first, after
    every article stored before (``page_size``: the archive page size, if none was
    numbered before); the archive pages they complete are marked stale with their feeds
    (and the collections, those of the settings, ``declared``, and the stored ones)."""
    if not built:
        return _Stored()
    attempt = 1
    while True:
        try:
            with db.write() as session:
                writer = BulkArticleWriter(session)
                claimed = _claim(writer, built)
                accepted = [new for new, _ in claimed.accepted]
                pks = writer.insert(accepted, now)
                old_paths = zip(pks, (paths for _, paths in claimed.accepted), strict=True)
                redirects = LegacyPathRepository(session).add(
                    ((pk, path) for pk, paths in old_paths for path in paths), now
                )
                if accepted:
                    articles = [item.article for item in accepted]
                    numbered = PublicationOrder(session).number(
                        [article.id for article in articles], now, page_size
                    )
                    scopes = _batch_scope_keys(articles, current_collections(session, declared))
                    scopes.update(f"{ARCHIVE}/{page}" for page in numbered.completed_pages)
                    scopes.update(numbered_sitemap_keys(numbered))
                    FeedStateRepository(session).mark_dirty(scopes)
            return _Stored(len(accepted), claimed.already_imported, redirects, claimed.duplicates)
        except ConcurrentWrite:
            # PostgreSQL: another writer took an id or slug after the check; check again.
            if attempt == _WRITE_ATTEMPTS:
                raise
            attempt += 1


@dataclass
class _Claimed:
    """Which lines of a batch may be stored (each with its old paths), how many name an
    article stored before, and which are duplicates."""

    accepted: list[tuple[NewArticle, tuple[str, ...]]] = field(default_factory=list)
    already_imported: int = 0
    duplicates: list[SkippedLine] = field(default_factory=list)


def _claim(writer: BulkArticleWriter, built: list[BuiltLine]) -> _Claimed:
    """Which lines of a batch may be stored: ids and slugs that no stored article and no
    earlier line holds (a line whose id is stored is already imported). A line without a
    slug gets the first free one of ``slug``, ``slug-2``, ``slug-3``... (the rule of
    :meth:`Articles.create_article <app.articles.Articles.create_article>`)."""
    stored_ids = writer.existing_ids(item.article.id for item in built)
    held_ids = set(stored_ids)
    unavailable = writer.taken_slugs(
        slug for item in built for slug in (item.article.slug, *item.former_slugs)
    )
    probed: set[str] = set()
    claimed = _Claimed()
    for item in built:
        article = item.article
        if article.id in stored_ids:
            claimed.already_imported += 1
            stored_ids.discard(article.id)  # a second line with the id is a duplicate
            continue
        errors: list[FieldError] = []
        if article.id in held_ids:
            errors.append(FieldError("id", "another article has this id"))
        if item.slug_given and article.slug in unavailable:
            errors.append(FieldError("slug", "another article has this slug"))
        errors.extend(
            FieldError(f"former_slugs.{index}", "another article has this slug")
            for index, slug in enumerate(item.former_slugs)
            if slug in unavailable
        )
        if errors:
            claimed.duplicates.append(SkippedLine(item.line, tuple(errors)))
            continue
        if not item.slug_given and article.slug in unavailable:
            prefix = numbered_slug_prefix(article.slug)
            if prefix not in probed:
                unavailable |= writer.taken_slugs_starting(prefix)
                probed.add(prefix)
            article = replace(article, slug=first_free_slug(article.slug, unavailable.__contains__))
        held_ids.add(article.id)
        unavailable.update((article.slug, *item.former_slugs))
        claimed.accepted.append((NewArticle(article, item.former_slugs), item.legacy_paths))
    return claimed


def _batch_scope_keys(articles: list[Article], collections: list[Collection]) -> set[str]:
    """:func:`~app.selection.scope_keys` of many new articles, calling it once for all
    names: each term slug costs ~0.3 ms, and names repeat across a batch. (New articles
    have no archive page yet.) A collection is marked if it may hold any of them: its
    excludes cannot tell from the names put together."""
    names = replace(
        articles[0],
        sequence=None,
        categories=tuple({name: None for a in articles for name in a.categories}),
        tags=tuple({name: None for a in articles for name in a.tags}),
        authors=tuple({Author(author.name): None for a in articles for author in a.authors}),
    )
    keys = scope_keys([names], None)
    ids, terms = [article.id for article in articles], article_terms(names)
    keys.update(c.key for c in collections if c.may_hold(ids, terms))
    return keys
