"""Use cases: everything Broadsheet does, independent of HTTP, CLI or scheduler.

Web views, CLI commands and scheduler jobs call a :class:`Publisher`; it talks to storage
and rendering and raises only domain errors. ``now`` always comes from the caller.
"""

from __future__ import annotations

import functools
import gzip
import logging
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from app.content import absolute_url
from app.content import clean_text
from app.content import first_free_slug
from app.content import is_valid_slug
from app.content import make_excerpt
from app.content import make_slug
from app.content import render_body
from app.documents import History
from app.documents import build_document
from app.documents import feed_entry
from app.documents import feed_language
from app.documents import render_fingerprint
from app.documents import scope_label
from app.domain import ARCHIVE
from app.domain import SITE_SCOPE
from app.domain import Article
from app.domain import ArticlePage
from app.domain import ArticleStatus
from app.domain import ArticleVersion
from app.domain import Author
from app.domain import BodyFormat
from app.domain import ClientCount
from app.domain import FeedFormat
from app.domain import FeedPolls
from app.domain import FeedScope
from app.domain import FeedSnapshot
from app.domain import Image
from app.domain import PollCount
from app.domain import SubscriberReport
from app.domain import content_etag
from app.domain import feed_key
from app.domain import feed_path
from app.domain import mint_article_id
from app.domain import term_slug
from app.errors import ArticleMoved
from app.errors import ArticleNotFound
from app.errors import EditConflict
from app.errors import FeedNotFound
from app.errors import FieldError
from app.errors import InvalidInput
from app.errors import PayloadTooLarge
from app.errors import StorageUnavailable
from app.inputs import INVALID_ARTICLE
from app.inputs import article_errors
from app.inputs import complete_image
from app.notifying import enqueue_notifications
from app.rendering import FeedDocument
from app.rendering import FeedEntry
from app.rendering import SizedLru
from app.rendering import join
from app.rendering import render_entries
from app.settings import Settings
from app.settings import is_language_tag
from app.storage.articles import ArticleRepository
from app.storage.articles import period_bounds
from app.storage.database import Database
from app.storage.feeds import DueScope
from app.storage.feeds import FeedStateRepository
from app.storage.feeds import SnapshotRepository
from app.storage.feeds import feed_id_prefix
from app.storage.feeds import store_fingerprint
from app.storage.feeds import stored_fingerprint
from app.storage.fragments import EntryBytes
from app.storage.fragments import EntryFragmentRepository
from app.storage.schema import schema_is_current
from app.storage.schema import upgrade_database
from app.storage.sequence import NUMBER_BATCH
from app.storage.sequence import Numbered
from app.storage.sequence import PublicationOrder
from app.storage.stats import StatsRepository

log = logging.getLogger(__name__)

# How long a scheduler may hold its claim on a feed before another may take it over: far
# longer than one feed's render (milliseconds; seconds for a large archive), and the most
# a scheduler that died while rendering holds up the one feed it had claimed.
FRAGMENT_CONTEXT_DIGITS = 32
"""How much of the render fingerprint names the context of stored entries."""

RENDER_LEASE_SECONDS = 30
#: Due feeds read at a time by a render pass (the subscription feeds first), and how many
#: times a pass reads them (the next tick goes on).
RENDER_BATCH = 16
MAX_RENDER_BATCHES = 1000
#: How long one scheduler pass may run before it leaves the rest to the next tick. A pass
#: renders with the time it began, so an article published during a pass waits for the
#: next: half a second keeps that wait, during a rebuild of every feed, well inside the
#: second a write's feeds have.
SCHEDULER_PASS_SECONDS = 0.5


@dataclass(frozen=True)
class ArticleInput:
    """What a publisher sends for an article; validated by :meth:`Publisher.create_article`."""

    title: str
    body: str
    authors: tuple[Author, ...]
    body_format: BodyFormat = BodyFormat.MARKDOWN
    slug: str | None = None
    summary: str = ""
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    language: str | None = None
    image: Image | None = None
    published_at: datetime | None = None


EDITABLE_FIELDS = frozenset(
    {
        "title",
        "body",
        "authors",
        "body_format",
        "slug",
        "summary",
        "categories",
        "tags",
        "language",
        "image",
        "published_at",
    }
)


@dataclass
class RenderReport:
    """What one render pass did: scopes rendered, documents changed, failures."""

    scopes: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class Publisher:
    """The application's use cases over one database."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.db = database
        self.settings = settings
        # What renders keep for the next ones in this process: each article's feed entry
        # by version, and each entry's bytes in the three formats by rendering context and
        # version (the database keeps those too, for every process). Three quarters of the
        # budget go to the bytes.
        budget = settings.feed_render_cache_bytes
        self._fragments: SizedLru[tuple[str, ArticleVersion], EntryBytes] = SizedLru(
            budget - budget // 4, _fragment_weight
        )
        self._entries: SizedLru[ArticleVersion, FeedEntry] = SizedLru(budget // 4, _entry_weight)
        self._fingerprint: str | None = None
        # Threads start on the first render: a web process never starts one.
        self._compressor = ThreadPoolExecutor(len(FeedFormat), thread_name_prefix="gzip")
        # Claims taken by a render pass that the database cut short, by scope key, with
        # the lease they hold; released as soon as the database answers again.
        self._abandoned_claims: dict[str, datetime] = {}
        self._feed_ids: str | None = None
        self._page_size: int | None = None

    # -- articles -------------------------------------------------------------------------

    def create_article(self, data: ArticleInput, now: datetime) -> Article:
        """Validate, clean and store a new article; mark its feeds stale.

        Raises:
            InvalidInput: a field is invalid (every bad field is named).
            PayloadTooLarge: the body is over ``api_max_body_bytes``.
            SlugTaken: the slug (given or made from the title) is in use.
        """
        slug_given = data.slug is not None
        # An article that arrives already published (an import, a story first run
        # elsewhere) was last changed when it was published, not when it reached us:
        # readers must not be told it was updated (RFC 4287 section 4.2.15).
        published = data.published_at
        updated_at = published if published is not None and published <= now else now
        article = self._build_article(
            data, article_id=mint_article_id(self.settings.id_authority, now), created_at=now,
            updated_at=updated_at, revision=1,
        )  # fmt: skip
        with self.db.write() as session:
            repo = ArticleRepository(session)
            if not slug_given:
                article = replace(
                    article,
                    slug=first_free_slug(article.slug, lambda slug: not repo.slug_is_free(slug)),
                )
            order = PublicationOrder(session)
            stored, numbered = order.settle(repo.add(article), now, self.settings.feed_item_limit)
            FeedStateRepository(session).mark_dirty(self._scopes(order, [stored], numbered))
        log.info("article created id=%s slug=%s", stored.id, stored.slug)
        return stored

    def update_article(
        self,
        article_id: str,
        changes: Mapping[str, Any],
        if_match: str | None,
        now: datetime,
        replace_all: bool = False,
        significant: bool = False,
    ) -> Article:
        """Apply ``changes`` (a merge patch, or a full replacement) to an article.

        ``if_match`` must name the article's current ETag; ``None`` skips the check (CLI).
        Only a ``significant`` edit moves ``updated_at`` (and so the entries' updated date
        in every feed); a silent correction changes the content and keeps the date, so
        readers are not told that an article changed when it did not.

        Raises:
            ArticleNotFound, ArticleGone, EditConflict, InvalidInput, PayloadTooLarge, SlugTaken.
        """
        unknown = sorted(set(changes) - EDITABLE_FIELDS)
        if unknown:
            raise InvalidInput(
                [FieldError(name, "is not a known field") for name in unknown], INVALID_ARTICLE
            )
        with self.db.write() as session:
            repo = ArticleRepository(session)
            current = repo.get(article_id)
            if if_match is not None and if_match != current.etag:
                raise EditConflict(current.etag)
            base = _input_of(current) if not replace_all else ArticleInput("", "", ())
            merged = replace(base, **dict(changes))
            if replace_all and "slug" not in changes:
                merged = replace(merged, slug=current.slug)
            article = self._build_article(
                merged,
                article_id=current.id,
                created_at=current.created_at,
                updated_at=now if significant else current.updated_at,
                revision=current.revision + 1,
            )
            order = PublicationOrder(session)
            stored, numbered = order.settle(
                repo.replace(article, now), now, self.settings.feed_item_limit
            )
            FeedStateRepository(session).mark_dirty(
                self._scopes(order, [current, stored], numbered)
            )
        log.info("article updated id=%s revision=%d", stored.id, stored.revision)
        return stored

    def delete_article(self, article_id: str, if_match: str | None, now: datetime) -> Article:
        """Delete an article: it leaves every feed and its page answers 410 Gone.

        Raises:
            ArticleNotFound, ArticleGone, EditConflict.
        """
        with self.db.write() as session:
            repo = ArticleRepository(session)
            current = repo.get(article_id)
            if if_match is not None and if_match != current.etag:
                raise EditConflict(current.etag)
            deleted = repo.delete(article_id, now)
            EntryFragmentRepository(session).delete_article(article_id)
            order = PublicationOrder(session)
            # Its page and feeds are those of its number, which it gives back.
            scopes = self._scopes(order, [current])
            order.forget(article_id)
            FeedStateRepository(session).mark_dirty(scopes)
        log.info("article deleted id=%s", article_id)
        return deleted

    def _scopes(
        self, order: PublicationOrder, articles: Iterable[Article], numbered: Numbered | None = None
    ) -> set[str]:
        """The feed scopes these articles are in, and the archive pages a numbering
        completed: what a write to them makes stale."""
        if self._page_size is None:  # fixed once set: read once per process
            self._page_size = order.page_size()
        keys = _scope_keys(articles, self._page_size)
        if numbered is not None:
            keys.update(f"{ARCHIVE}/{page}" for page in numbered.completed_pages)
        return keys

    def get_article(self, article_id: str) -> Article:
        """Any live article by id, whatever its status (for the API).

        Raises:
            ArticleNotFound, ArticleGone.
        """
        with self.db.read() as session:
            return ArticleRepository(session).get(article_id)

    def list_articles(
        self, now: datetime, status: ArticleStatus | None, page: int, per_page: int
    ) -> ArticlePage:
        """A page of live articles, optionally of one status."""
        with self.db.read() as session:
            return ArticleRepository(session).list(now, status, page, per_page)

    def public_article(self, slug: str, now: datetime) -> Article:
        """The article readers may see at ``now`` under ``slug``.

        Raises:
            ArticleNotFound: no such slug, or a draft or scheduled article, or a former
                slug of one (a redirect would tell where it will be published).
            ArticleGone: it was deleted.
            ArticleMoved: ``slug`` is a former slug of a public article.
        """
        with self.db.read() as session:
            articles = ArticleRepository(session)
            try:
                article = articles.get_by_slug(slug)
            except ArticleMoved as moved:
                if not articles.get_by_slug(moved.current_slug).is_public(now):
                    raise ArticleNotFound(slug) from None
                raise
        if not article.is_public(now):
            raise ArticleNotFound(slug)
        return article

    def latest_public(
        self, now: datetime, limit: int, scope: FeedScope = SITE_SCOPE
    ) -> tuple[Article, ...]:
        """The newest public articles of the site, or of one category, tag or author."""
        with self.db.read() as session:
            return ArticleRepository(session).latest_public(scope, now, limit)

    def _build_article(
        self,
        data: ArticleInput,
        *,
        article_id: str,
        created_at: datetime,
        updated_at: datetime,
        revision: int,
    ) -> Article:
        # The field rules every way in shares; then what only the cleaned values show.
        errors = article_errors(asdict(data))

        def refuse(field: str, message: str) -> None:
            if all(error.field != field for error in errors):
                errors.append(FieldError(field, message))

        base_url = self.settings.base_url
        title = clean_text(data.title).strip()
        if not title:
            refuse("title", "must not be empty")
        limit = self.settings.api_max_body_bytes
        if len(clean_text(data.body).encode("utf-8")) > limit:
            raise PayloadTooLarge(
                f"The article body is over the limit of {limit} bytes.",
                [FieldError("body", f"is over the limit of {limit} bytes (in UTF-8)")],
            )
        slug = data.slug if data.slug is not None else make_slug(title or "artigo")
        if not is_valid_slug(slug):
            refuse("slug", "must be lowercase letters, digits and single hyphens")
        if not data.authors:
            refuse("authors", "must name at least one author")
        authors = tuple(
            Author(
                name=clean_text(a.name).strip(),
                email=clean_text(a.email).strip() if a.email else None,
                url=absolute_url(clean_text(a.url).strip(), base_url) if a.url else None,
            )
            for a in data.authors
        )
        for index, author in enumerate(authors):
            if not author.name:
                refuse(f"authors.{index}.name", "must not be empty")
        categories = _clean_terms(data.categories, "categories", refuse)
        tags = _clean_terms(data.tags, "tags", refuse)
        language = (data.language or self.settings.site_language).strip()
        if not is_language_tag(language):
            refuse("language", "must be a language tag such as pt-BR or en")
        if errors:
            raise InvalidInput(errors, INVALID_ARTICLE)
        body_format = BodyFormat(data.body_format)
        body = clean_text(data.body)
        body_html = render_body(body, body_format, base_url)
        summary = clean_text(data.summary).strip()
        # Every lead image becomes an enclosure: it needs a type and a length.
        image = _clean_image(complete_image(data.image) if data.image else None, base_url)
        return Article(
            id=article_id,
            slug=slug,
            title=title,
            summary=summary,
            body=body,
            body_format=body_format,
            body_html=body_html,
            excerpt=make_excerpt(summary, body_html),
            authors=authors,
            categories=categories,
            tags=tags,
            language=language,
            image=image,
            # Stored and compared in UTC: an archive month is a UTC month.
            published_at=data.published_at.astimezone(UTC) if data.published_at else None,
            created_at=created_at,
            updated_at=updated_at,
            revision=revision,
        )

    # -- poll statistics ------------------------------------------------------------------

    def record_polls(
        self,
        polls: list[PollCount],
        clients: list[ClientCount],
        reports: list[SubscriberReport],
    ) -> None:
        """Add counted feed requests and subscriber reports to the stored statistics."""
        with self.db.write() as session:
            repo = StatsRepository(session)
            repo.add_polls(polls)
            repo.add_clients(clients)
            repo.add_subscriber_reports(reports)

    def poll_stats(self, now: datetime, days: int = 30) -> list[FeedPolls]:
        """Per feed, how it was polled over the last ``days`` UTC days."""
        since = f"{now - timedelta(days=days - 1):%Y-%m-%d}"
        with self.db.read() as session:
            return StatsRepository(session).feed_polls(since)

    # -- operations ----------------------------------------------------------------------

    def readiness(self) -> str | None:
        """Why the service is not ready to take writes, or ``None`` when it is."""
        try:
            self.db.ping()
            if not schema_is_current(self.db):
                return "schema not migrated"
        except StorageUnavailable:
            return "database unreachable"
        return None

    def migrate(self) -> None:
        """Bring the database schema to the newest migration."""
        upgrade_database(self.db)

    # -- feeds ----------------------------------------------------------------------------

    def feed_snapshot(self, scope: FeedScope, fmt: FeedFormat) -> FeedSnapshot:
        """The stored document of a feed, ready to serve.

        Raises:
            FeedNotFound: the feed has not been rendered (or its scope is empty).
        """
        with self.db.read() as session:
            snapshot = SnapshotRepository(session).get(feed_key(scope, fmt))
        if snapshot is None:
            raise FeedNotFound(feed_path(scope, fmt))
        return snapshot

    def feed_snapshots(self, keys: Iterable[str]) -> dict[str, FeedSnapshot]:
        """The stored documents under these feed keys, by key (missing ones are absent)."""
        with self.db.read() as session:
            return SnapshotRepository(session).get_many(keys)

    def snapshot_generation(self) -> int:
        """A number that changes whenever any feed's bytes change (one cheap read)."""
        with self.db.read() as session:
            return SnapshotRepository(session).generation()

    def snapshot_versions(self) -> dict[str, tuple[str, datetime | None]]:
        """The ETag and fresh-until of every stored feed document, by feed key (bodies are
        not read): what a cache of snapshots compares to learn which it must read again."""
        with self.db.read() as session:
            return SnapshotRepository(session).versions()

    def archive_for_period(self, period: str, now: datetime) -> FeedScope:
        """Where the archive of a period (``2026-08``, ``2026-08-14``, ``2026-08-14T09``:
        the archives of earlier versions) went: the archive page that holds the period's
        newest article, or the site feed while that page is not complete.

        Raises:
            FeedNotFound: ``period`` is not a period, or no public article is in it.
        """
        bounds = period_bounds(period)
        with self.db.read() as session:
            sequence = None
            if bounds is not None:
                sequence = ArticleRepository(session).newest_sequence_between(*bounds, now)
            complete, page_size = PublicationOrder(session).complete_pages()
        if sequence is None:
            raise FeedNotFound(f"/{ARCHIVE}/{period}")
        page = sequence // page_size
        return FeedScope(ARCHIVE, str(page)) if page < complete else SITE_SCOPE

    def render_due_feeds(self, now: datetime, budget_seconds: float | None = None) -> RenderReport:
        """Render every feed with unrendered writes or newly public articles.

        With ``budget_seconds``, the pass ends after the feed that runs past it, and the
        rest is left for the next pass: a pass sees the articles public at ``now``, so the
        scheduler's passes stay short enough that a write made during one is rendered, with
        a ``now`` that includes it, a moment later.

        Each due feed is first claimed (a short write transaction, just before its render),
        so that of several schedulers running at once exactly one renders it. Its articles
        are read in a read transaction, rendered with no transaction open, and the new
        snapshot stored in another short write transaction: writers never wait for a render.
        A snapshot is written only when its bytes change; a render that fails or does not
        parse keeps the last good snapshot.
        """
        report = RenderReport()
        self._release_abandoned_claims()
        started = time.monotonic()
        self._number_due(now)
        # Due feeds are read a few at a time, written ones first, subscription feeds
        # before archives: a write made while a long pass (a rebuild) is under way has its
        # feeds rendered in the next batch, not after the rebuild.
        deadline = None if budget_seconds is None else started + budget_seconds
        for _ in range(MAX_RENDER_BATCHES):
            with self.db.read() as session:
                due = FeedStateRepository(session).due(now)
                complete_pages, _size = PublicationOrder(session).complete_pages()
            order = functools.partial(_render_priority, complete_pages=complete_pages)
            batch = [item.scope_key for item in sorted(due, key=order)]
            if not batch or not self._render_batch(
                batch[:RENDER_BATCH], now, started, deadline, report
            ):
                break
        if report.changed or report.failed:
            log.info(
                "rendered scopes=%s changed=%s failed=%s",
                report.scopes,
                report.changed,
                report.failed,
            )
        return report

    def _render_batch(
        self,
        batch: list[str],
        now: datetime,
        started: float,
        deadline: float | None,
        report: RenderReport,
    ) -> bool:
        """Claim and render ``batch`` in order; False once the pass is past ``deadline``
        (monotonic), after the feed that ran past it."""
        for scope_key in batch:
            # Each feed is claimed just before its render, not all at once: a scheduler
            # killed mid-pass holds up only the feed it was rendering, for one lease,
            # and one that starts in its place renders every other feed at once. The
            # lease runs from the real time of the claim, however long the pass.
            lease = RENDER_LEASE_SECONDS + time.monotonic() - started
            until = now + timedelta(seconds=lease)
            with self.db.write() as session:
                claimed = FeedStateRepository(session).claim(scope_key, now, until)
            if not claimed:
                continue
            try:
                self._render_claimed(scope_key, now, report)
            except StorageUnavailable:
                # Left alone, the claim would keep every scheduler off this feed for the
                # rest of its lease after the database comes back.
                self._abandoned_claims[scope_key] = until
                raise
            if deadline is not None and time.monotonic() > deadline:
                return False
        return True

    def _render_claimed(self, scope_key: str, now: datetime, report: RenderReport) -> None:
        try:
            self._render_scope(FeedScope.from_key(scope_key), now, report)
        except StorageUnavailable:
            raise
        except Exception:
            # One feed that cannot be read or rendered must not hold up the others: it
            # backs off and keeps its last good snapshot, in service.
            log.exception("render failed scope=%s; the last good feed stays", scope_key)
            report.failed.append(scope_key)
            retry_at = now + timedelta(seconds=self.settings.feed_render_retry_seconds)
            with self.db.write() as session:
                FeedStateRepository(session).mark_failed(scope_key, retry_at)

    def _number_due(self, now: datetime) -> None:
        """Give their numbers to the articles public at ``now`` that have none (scheduled
        articles whose time came, the back catalogue of a site that has just been
        migrated), in batches, each in its own short write transaction. Their feeds are
        stale already (a scheduled publication is each feed's ``next_change_at``); a page
        they complete is marked, with the site feed, whose prev-archive link changes."""
        with self.db.read() as session:
            if not PublicationOrder(session).has_due(now):
                return
        while True:
            with self.db.write() as session:
                numbered = PublicationOrder(session).number_due(now, self.settings.feed_item_limit)
                FeedStateRepository(session).mark_dirty(
                    [SITE_SCOPE.key, *(f"{ARCHIVE}/{page}" for page in numbered.completed_pages)]
                )
            if numbered.count < NUMBER_BATCH:
                return

    def _release_abandoned_claims(self) -> None:
        """Give back the claims of a pass the database cut short (only those still ours)."""
        if not self._abandoned_claims:
            return
        abandoned = dict(self._abandoned_claims)
        with self.db.write() as session:
            FeedStateRepository(session).release(abandoned)
        for key, until in abandoned.items():
            if self._abandoned_claims.get(key) == until:
                del self._abandoned_claims[key]

    def rebuild_if_changed(self, fingerprint: str, now: datetime) -> bool:
        """Mark every feed stale if the stored feeds were rendered with something else
        than ``fingerprint`` (this version's rendering code and the settings that show in
        feeds, :func:`render_fingerprint`); say if it did. A scheduler that restarts with
        nothing changed renders nothing; after a change, the render passes refresh the
        subscription feeds first and the archive pages after them, and each feed serves
        its current bytes until its new ones are stored. Feeds with new writes go first."""
        with self.db.read() as session:
            stored = stored_fingerprint(session)
        if stored == fingerprint:
            return False
        self.mark_all_feeds_stale(now, archives=True)
        self._feed_id_prefix()  # the row that keeps the fingerprint
        with self.db.write() as session:
            store_fingerprint(session, fingerprint)
            # Entries rendered by other code or settings are never joined again.
            EntryFragmentRepository(session).delete_other_contexts(
                fingerprint[:FRAGMENT_CONTEXT_DIGITS] + "/"
            )
        log.info("feeds are rebuilt: rendering changed since they were stored")
        return True

    def mark_all_feeds_stale(self, now: datetime, archives: bool = True) -> None:
        """Ask for every known feed scope to be rendered again (the periodic safety net,
        ``broadsheet regenerate``, and after upgrades). A rebuild is no write: render
        passes take every feed with unrendered writes before it.

        ``archives=False`` leaves the archives alone: they change only by writes, which
        mark them, so the periodic safety net need not rebuild the whole back catalogue.
        """
        with self.db.write() as session:
            states = FeedStateRepository(session)
            keys = set(states.all_keys()) | {SITE_SCOPE.key}
            if not archives:
                keys = {key for key in keys if not key.startswith(f"{ARCHIVE}/")}
            states.mark_stale(keys, now)

    def _render_scope(self, scope: FeedScope, now: datetime, report: RenderReport) -> None:
        report.scopes.append(scope.key)
        keys = {fmt: feed_key(scope, fmt) for fmt in FeedFormat}
        with self.db.read() as session:
            # The version first: a write committed after this read leaves the scope dirty.
            dirty_version = FeedStateRepository(session).dirty_version(scope.key)
            articles_repo = ArticleRepository(session)
            complete, page_size = PublicationOrder(session).complete_pages()
            older = str(complete - 1) if complete else None
            next_change: datetime | None = None
            if scope.kind == ARCHIVE:
                # RFC 5005 section 4: an archive's entries do not change, so a page exists
                # once it is complete; only edits and deletions of its own articles
                # change it. It links to the page before it, not to the one after (a link
                # that would change its bytes when that page completes).
                page = _page_number(scope.value)
                has_document = page is not None and page < complete
                versions: tuple[ArticleVersion, ...] = ()
                if page is not None and has_document:
                    first = page * page_size
                    versions = articles_repo.page_versions(first, first + page_size)
                history = History(older=str(page - 1) if page else None, newer=None)
            else:
                limit = self.settings.feed_item_limit
                if scope == SITE_SCOPE:
                    # Every article after the newest complete page stays in the
                    # subscription feed, or an archive walk would miss it (fewer than a
                    # page, unless item_limit was lowered after the first number).
                    limit = max(limit, articles_repo.public_count_from(complete * page_size))
                versions = articles_repo.public_versions(scope, limit)
                next_change = articles_repo.next_publication(scope, now)
                history = History(older=older if scope == SITE_SCOPE else None, newer=None)
                has_document = bool(versions) or scope == SITE_SCOPE
            # Which articles: the last published (by number). In what order: newest date
            # first, as readers list them; a backdated article takes its date's place.
            ordered = tuple(
                sorted(versions, key=lambda version: version.published_at, reverse=True)
            )
            language = feed_language(
                scope, {version.language for version in ordered}, self.settings.site_language
            )
            context = self._fragment_context(language)
            stored = self._stored_entries(EntryFragmentRepository(session), context, ordered)
            # Articles are read whole only for the entries not rendered yet in this context,
            # and the newest one, whose names give the feed its title.
            unrendered = [version for version in ordered if version not in stored]
            named = scope.kind != ARCHIVE and scope != SITE_SCOPE
            entries = self._entries_of(articles_repo, [*ordered[: int(named)], *unrendered])
            previous = SnapshotRepository(session).validators(keys.values())
        rendered: dict[FeedFormat, bytes] = {}
        changed: dict[FeedFormat, tuple[str, Future[bytes]]] = {}
        changed_at: dict[FeedFormat, datetime] = {}
        fresh: dict[ArticleVersion, EntryBytes] = {}
        if has_document:
            updated = max(
                (max(version.updated_at, version.published_at) for version in ordered),
                default=self.settings.epoch,
            )
            label = scope_label(scope, [entries[ordered[0]]] if named and ordered else [])
            document = build_document(
                self.settings, self._feed_id_prefix(), scope, label, language, updated, history
            )
            fresh = self._render_entries(document, [(v, entries[v]) for v in unrendered])
            for article_version, entry_bytes in fresh.items():
                self._fragments.put((context, article_version), entry_bytes)
            stored.update(fresh)
            for fmt in FeedFormat:
                fragments = [stored[version].of(fmt) for version in ordered]
                before = previous.get(keys[fmt])
                changed_at[fmt] = _next_change_time(before, now)
                body = self._render_changed(document, fmt, fragments, before, changed_at[fmt])
                rendered[fmt] = body
                etag = content_etag(body)
                if before is not None and before[0] == etag:
                    continue
                # zlib lets go of the GIL: the formats compress side by side, and
                # before the write transaction, which writers would otherwise wait for.
                changed[fmt] = (etag, self._compressor.submit(_gzip, body))
        with self.db.write() as session:
            EntryFragmentRepository(session).save(context, fresh)
            snapshots = SnapshotRepository(session)
            states = FeedStateRepository(session)
            changed_topics: list[str] = []
            refreshed = False
            for fmt in rendered.keys() - changed.keys():
                kept = previous.get(keys[fmt])
                if kept is not None and kept[2] != next_change:
                    # Same bytes, but a publication was scheduled or moved: caches must
                    # learn the new max-age (RFC 9111 section 5.2.2.1) before it comes.
                    snapshots.set_fresh_until(keys[fmt], next_change)
                    refreshed = True
            if not rendered:
                for key in previous:
                    snapshots.delete(key)
                    report.deleted.append(key)
            for fmt, (etag, compressed) in changed.items():
                key = keys[fmt]
                snapshots.save(
                    FeedSnapshot(
                        feed_key=key,
                        media_type=fmt.media_type,
                        body=rendered[fmt],
                        body_gzip=compressed.result(),
                        etag=etag,
                        last_modified=changed_at[fmt],
                        rendered_at=now,
                        fresh_until=next_change,
                    )
                )
                report.changed.append(key)
                changed_topics.append(document.self_url(fmt))
            # WebSub section 6: each hub must hear of every changed topic. Only an outbox
            # row here, committed with the new snapshot; the deliver-websub job sends it.
            enqueue_notifications(session, self.settings.hubs, changed_topics, now)
            if changed_topics or refreshed or (not rendered and previous):
                snapshots.bump_generation()
            states.mark_rendered(scope.key, dirty_version, next_change, now)

    def _render_changed(
        self,
        document: FeedDocument,
        fmt: FeedFormat,
        fragments: list[bytes],
        before: tuple[str, datetime, datetime | None] | None,
        changed_at: datetime,
    ) -> bytes:
        """The bytes of ``document`` in ``fmt`` around these entries. RSS says when its
        content last changed (``lastBuildDate``): the stored document's time if the content
        is the same, else ``changed_at``, the time these bytes will be stored with."""
        if fmt is not FeedFormat.RSS:
            return join(document, fmt, fragments)
        if before is not None:
            body = join(replace(document, content_changed=before[1]), fmt, fragments)
            if content_etag(body) == before[0]:
                return body
        return join(replace(document, content_changed=changed_at), fmt, fragments)

    def _fragment_context(self, language: str) -> str:
        """What an entry's stored bytes were rendered for: this rendering code and the
        settings that show in feeds (the site's address among them), and the feed's
        language."""
        if self._fingerprint is None:
            self._fingerprint = render_fingerprint(self.settings)
        return f"{self._fingerprint[:FRAGMENT_CONTEXT_DIGITS]}/{language}"

    def _stored_entries(
        self, repo: EntryFragmentRepository, context: str, versions: Sequence[ArticleVersion]
    ) -> dict[ArticleVersion, EntryBytes]:
        """The entries of these versions already rendered in ``context``: kept in this
        process, else stored in the database (then kept)."""
        found: dict[ArticleVersion, EntryBytes] = {}
        for version in versions:
            kept = self._fragments.get((context, version))
            if kept is not None:
                found[version] = kept
        missing = [version for version in versions if version not in found]
        if missing:
            for version, entry_bytes in repo.current(context, missing).items():
                found[version] = entry_bytes
                self._fragments.put((context, version), entry_bytes)
        return found

    @staticmethod
    def _render_entries(
        document: FeedDocument, entries: Sequence[tuple[ArticleVersion, FeedEntry]]
    ) -> dict[ArticleVersion, EntryBytes]:
        """These entries rendered in the three formats as they read in ``document``."""
        if not entries:
            return {}
        with_entries = replace(document, entries=tuple(entry for _, entry in entries))
        rss, atom, json_feed = (render_entries(with_entries, fmt) for fmt in FeedFormat)
        return {
            version: EntryBytes(rss=r, atom=a, json=j)
            for (version, _), r, a, j in zip(entries, rss, atom, json_feed, strict=True)
        }

    def _entries_of(
        self, repo: ArticleRepository, versions: Sequence[ArticleVersion]
    ) -> dict[ArticleVersion, FeedEntry]:
        """The feed entries of these article versions: only articles whose version has no
        entry in this process are read whole. Read in one transaction with the versions,
        so every version listed is found."""
        known = {version: self._entries.get(version) for version in versions}
        missing = {version.id: version for version, entry in known.items() if entry is None}
        for article in repo.by_ids(missing).values():
            version = missing[article.id]
            known[version] = entry = feed_entry(article, self.settings.base_url)
            self._entries.put(version, entry)
        return {version: entry for version, entry in known.items() if entry is not None}

    def _feed_id_prefix(self) -> str:
        """What feed ids start with: fixed by the first render of the site and kept in the
        database, so a new host or epoch in the settings never changes a feed's id
        (RFC 4287 section 4.2.6); read once per process."""
        if self._feed_ids is None:
            settings = self.settings
            proposed = f"tag:{settings.id_authority},{settings.epoch:%Y-%m-%d}:feed:"
            with self.db.write() as session:
                self._feed_ids = feed_id_prefix(session, proposed)
        return self._feed_ids


def _next_change_time(
    before: tuple[str, datetime, datetime | None] | None, now: datetime
) -> datetime:
    """The Last-Modified of a feed document whose bytes change at ``now``: when the new
    bytes were made, to the second (HTTP dates count whole seconds, RFC 9110 section
    5.6.7), and later than the one before, or If-Modified-Since would answer 304 for a
    changed document (section 8.8.2). Two changes within a second put it a second ahead
    of now; the web sends the Date until then (section 8.8.2.1)."""
    made = now.replace(microsecond=0)
    if before is None:
        return made
    return max(made, before[1] + timedelta(seconds=1))


def _page_number(value: str) -> int | None:
    """The archive page a URL or scope key names (``0``, ``1``...), or ``None``."""
    if not value.isascii() or not value.isdigit() or (value != "0" and value.startswith("0")):
        return None
    return int(value)


def _render_priority(due: DueScope, complete_pages: int) -> tuple[bool, bool, bool, bool, int, str]:
    """Feeds with news (writes, scheduled articles now public) before a rebuild's; within
    each, the site feed first, then the other subscription feeds, archives (the largest
    and least read documents) last, the newest page first. One exception: the newest
    complete archive page goes first when it has news, because when a write completes a
    page the site feed's ``prev-archive`` link (RFC 5005) starts to point at it, and a
    reader who follows it must find it. Only that page: an import that completes a
    thousand pages must not hold the subscription feeds back behind them."""
    scope = FeedScope.from_key(due.scope_key)
    archive = scope.kind == ARCHIVE
    page = _page_number(scope.value) if archive else None
    linked_page = due.written and page is not None and page == complete_pages - 1
    newest_first = -(page or 0)
    return (
        not due.written,
        not linked_page,
        archive,
        scope != SITE_SCOPE,
        newest_first,
        due.scope_key,
    )


def _scope_keys(articles: Iterable[Article], page_size: int | None) -> set[str]:
    """The site, and each article's categories, tags, authors and archive page (if it is
    numbered: a page that is not complete yet has no document, and its render does
    nothing)."""
    keys = {SITE_SCOPE.key}
    for article in articles:
        if article.sequence is not None and page_size:
            keys.add(f"{ARCHIVE}/{article.sequence // page_size}")
        keys.update(f"category/{term_slug(name)}" for name in article.categories)
        keys.update(f"tag/{term_slug(name)}" for name in article.tags)
        keys.update(f"author/{term_slug(author.name)}" for author in article.authors)
    return keys


def _input_of(article: Article) -> ArticleInput:
    return ArticleInput(
        title=article.title,
        body=article.body,
        authors=article.authors,
        body_format=article.body_format,
        slug=article.slug,
        summary=article.summary,
        categories=article.categories,
        tags=article.tags,
        language=article.language,
        image=article.image,
        published_at=article.published_at,
    )


def _clean_terms(
    names: Iterable[str], field_name: str, refuse: Callable[[str, str], None]
) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for index, raw in enumerate(names):
        name = clean_text(raw).strip()
        if not name or len(name) > 100:
            refuse(f"{field_name}.{index}", "must be 1 to 100 characters")
            continue
        seen.setdefault(name.casefold(), name)
    return tuple(seen.values())


def _clean_image(image: Image | None, base_url: str) -> Image | None:
    if image is None:
        return None
    return replace(
        image,
        url=absolute_url(clean_text(image.url).strip(), base_url),
        caption=clean_text(image.caption).strip() or None if image.caption else None,
        credit=clean_text(image.credit).strip() or None if image.credit else None,
    )


def _gzip(body: bytes) -> bytes:
    # mtime=0: the same bytes always compress to the same bytes (stable gzip ETags).
    return gzip.compress(body, compresslevel=6, mtime=0)


def _fragment_weight(key: tuple[str, ArticleVersion], entry: EntryBytes) -> int:
    return len(entry.rss) + len(entry.atom) + len(entry.json) + 256


def _entry_weight(version: ArticleVersion, entry: FeedEntry) -> int:
    # Its text, and a rough allowance for the rest of the objects.
    return len(entry.content_html) + len(entry.summary) + len(entry.title) + 1024
