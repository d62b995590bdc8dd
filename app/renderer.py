"""The render passes: which feeds are due, claiming them, rendering them from stored
articles and stored entries, and storing their snapshots.

Requests never render: the scheduler (and ``broadsheet regenerate``) runs
:meth:`FeedRenderer.render_due_feeds`, and web processes serve what it stored.
"""

from __future__ import annotations

import functools
import gzip
import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from datetime import timedelta

from app.documents import History
from app.documents import build_document
from app.documents import feed_entry
from app.documents import feed_language
from app.documents import render_fingerprint
from app.documents import scope_label
from app.domain import ARCHIVE
from app.domain import SITE_SCOPE
from app.domain import ArticleVersion
from app.domain import FeedFormat
from app.domain import FeedScope
from app.domain import FeedSnapshot
from app.domain import content_etag
from app.domain import feed_key
from app.errors import StorageUnavailable
from app.notifying import enqueue_notifications
from app.rendering import FeedDocument
from app.rendering import FeedEntry
from app.rendering import SizedLru
from app.rendering import join
from app.rendering import render_entries
from app.settings import Settings
from app.storage.articles import ArticleRepository
from app.storage.database import Database
from app.storage.feeds import DueScope
from app.storage.feeds import FeedStateRepository
from app.storage.feeds import SnapshotRepository
from app.storage.feeds import feed_id_prefix
from app.storage.feeds import store_fingerprint
from app.storage.feeds import stored_fingerprint
from app.storage.fragments import EntryBytes
from app.storage.fragments import EntryFragmentRepository
from app.storage.fragments import PackedEntry
from app.storage.fragments import pack_entries
from app.storage.sequence import NUMBER_BATCH
from app.storage.sequence import PublicationOrder

log = logging.getLogger(__name__)

FRAGMENT_CONTEXT_DIGITS = 32
"""How much of the render fingerprint names the context of stored entries."""

# How long a scheduler may hold its claim on a feed before another may take it over: far
# longer than one feed's render (milliseconds; seconds for a large archive), and the most
# a scheduler that died while rendering holds up the one feed it had claimed.
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


@dataclass
class RenderReport:
    """What one render pass did: scopes rendered, documents changed, failures."""

    scopes: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Selection:
    """The article versions a scope's documents hold, where they sit among the archives
    (RFC 5005), and when the next scheduled article changes them by itself."""

    versions: tuple[ArticleVersion, ...]
    history: History
    next_change: datetime | None
    has_document: bool = True


@dataclass(frozen=True)
class _Read:
    """Everything a scope's render reads, in one read transaction."""

    dirty_version: int
    selected: _Selection
    ordered: tuple[ArticleVersion, ...]
    """The versions, newest date first."""
    language: str
    label: str
    context: str
    stored: dict[ArticleVersion, EntryBytes]
    """The entries already rendered in this context."""
    unrendered: list[tuple[ArticleVersion, FeedEntry]]
    previous: dict[str, tuple[str, datetime, datetime | None]]
    """ETag, Last-Modified and fresh-until of the stored documents, by feed key."""

    @property
    def has_document(self) -> bool:
        return self.selected.has_document


@dataclass
class _Rendered:
    """A scope's documents: every format's bytes, the changed ones (ETag, Last-Modified
    and their gzip, being compressed), and the entries rendered for them."""

    document: FeedDocument
    packed: list[PackedEntry]
    """The entries rendered for them, as rows to store."""
    bodies: dict[FeedFormat, bytes] = field(default_factory=dict)
    changed: dict[FeedFormat, tuple[str, datetime, Future[bytes]]] = field(default_factory=dict)


class FeedRenderer:
    """Renders the feeds that are due, over one database."""

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
        """Read what the scope's documents are made of (one read transaction), render
        them with no transaction open, and store what changed (one write transaction)."""
        report.scopes.append(scope.key)
        keys = {fmt: feed_key(scope, fmt) for fmt in FeedFormat}
        read = self._read_scope(scope, keys, now)
        rendered = self._render_read(scope, read, keys, now) if read.has_document else None
        self._store_scope(scope, read, rendered, keys, now, report)

    def _read_scope(self, scope: FeedScope, keys: dict[FeedFormat, str], now: datetime) -> _Read:
        with self.db.read() as session:
            # The version first: a write committed after this read leaves the scope dirty.
            dirty_version = FeedStateRepository(session).dirty_version(scope.key)
            articles = ArticleRepository(session)
            selected = self._select_versions(PublicationOrder(session), articles, scope, now)
            # Which articles: the last published (by number). In what order: newest date
            # first, as readers list them; a backdated article takes its date's place.
            ordered = tuple(
                sorted(selected.versions, key=lambda version: version.published_at, reverse=True)
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
            entries = self._entries_of(articles, [*ordered[: int(named)], *unrendered])
            label = scope_label(scope, [entries[ordered[0]]] if named and ordered else [])
            return _Read(
                dirty_version=dirty_version,
                selected=selected,
                ordered=ordered,
                language=language,
                label=label,
                context=context,
                stored=stored,
                unrendered=[(version, entries[version]) for version in unrendered],
                previous=SnapshotRepository(session).validators(keys.values()),
            )

    def _select_versions(
        self, order: PublicationOrder, articles: ArticleRepository, scope: FeedScope, now: datetime
    ) -> _Selection:
        """Which articles a scope's documents hold, and its place among the archives."""
        complete, page_size = order.complete_pages()
        if scope.kind == ARCHIVE:
            # RFC 5005 section 4: an archive's entries do not change, so a page exists
            # once it is complete; only edits and deletions of its own articles
            # change it. It links to the page before it, not to the one after (a link
            # that would change its bytes when that page completes).
            page = _page_number(scope.value)
            history = History(older=str(page - 1) if page else None, newer=None)
            if page is None or page >= complete:
                return _Selection((), history, None, has_document=False)
            first = page * page_size
            return _Selection(articles.page_versions(first, first + page_size), history, None)
        limit = self.settings.feed_item_limit
        if scope == SITE_SCOPE:
            # Every article after the newest complete page stays in the subscription
            # feed, or an archive walk would miss it (fewer than a page, unless item_limit
            # was lowered after the first number).
            limit = max(limit, articles.public_count_from(complete * page_size))
        versions = articles.public_versions(scope, limit)
        older = str(complete - 1) if complete and scope == SITE_SCOPE else None
        return _Selection(
            versions,
            History(older=older, newer=None),
            articles.next_publication(scope, now),
            has_document=bool(versions) or scope == SITE_SCOPE,
        )

    def _render_read(
        self, scope: FeedScope, read: _Read, keys: dict[FeedFormat, str], now: datetime
    ) -> _Rendered:
        """The scope's documents from what was read: missing entries rendered, every entry
        joined, and the changed documents' compression started."""
        updated = max(
            (max(version.updated_at, version.published_at) for version in read.ordered),
            default=self.settings.epoch,
        )
        document = build_document(
            self.settings,
            self._feed_id_prefix(),
            scope,
            read.label,
            read.language,
            updated,
            read.selected.history,
        )
        fresh = self._render_entries(document, read.unrendered)
        rendered = _Rendered(document, pack_entries(read.context, fresh))
        for version, entry_bytes in fresh.items():
            self._fragments.put((read.context, version), entry_bytes)
        entry_bytes_of = {**read.stored, **fresh}
        for fmt in FeedFormat:
            fragments = [entry_bytes_of[version].of(fmt) for version in read.ordered]
            before = read.previous.get(keys[fmt])
            changed_at = _next_change_time(before, now)
            body = self._render_changed(document, fmt, fragments, before, changed_at)
            rendered.bodies[fmt] = body
            etag = content_etag(body)
            if before is not None and before[0] == etag:
                continue
            # zlib lets go of the GIL: the formats compress side by side, and before the
            # write transaction, which writers would otherwise wait for.
            rendered.changed[fmt] = (etag, changed_at, self._compressor.submit(_gzip, body))
        return rendered

    def _store_scope(
        self,
        scope: FeedScope,
        read: _Read,
        rendered: _Rendered | None,
        keys: dict[FeedFormat, str],
        now: datetime,
        report: RenderReport,
    ) -> None:
        """Store what changed, in one write transaction: new entries, new snapshots and
        their WebSub notices, fresh-until times, and that the scope is rendered."""
        next_change = read.selected.next_change
        with self.db.write() as session:
            snapshots = SnapshotRepository(session)
            changed_topics: list[str] = []
            refreshed = False
            if rendered is None:
                for key in read.previous:
                    snapshots.delete(key)
                    report.deleted.append(key)
            else:
                EntryFragmentRepository(session).save(rendered.packed)
                for fmt in rendered.bodies.keys() - rendered.changed.keys():
                    kept = read.previous.get(keys[fmt])
                    if kept is not None and kept[2] != next_change:
                        # Same bytes, but a publication was scheduled or moved: caches
                        # must learn the new max-age (RFC 9111 section 5.2.2.1) before it
                        # comes.
                        snapshots.set_fresh_until(keys[fmt], next_change)
                        refreshed = True
                for fmt, (etag, changed_at, compressed) in rendered.changed.items():
                    snapshots.save(
                        FeedSnapshot(
                            feed_key=keys[fmt],
                            media_type=fmt.media_type,
                            body=rendered.bodies[fmt],
                            body_gzip=compressed.result(),
                            etag=etag,
                            last_modified=changed_at,
                            rendered_at=now,
                            fresh_until=next_change,
                        )
                    )
                    report.changed.append(keys[fmt])
                    changed_topics.append(rendered.document.self_url(fmt))
            # WebSub section 6: each hub must hear of every changed topic. Only an outbox
            # row here, committed with the new snapshot; the deliver-websub job sends it.
            enqueue_notifications(session, self.settings.hubs, changed_topics, now)
            if changed_topics or refreshed or (rendered is None and read.previous):
                snapshots.bump_generation()
            FeedStateRepository(session).mark_rendered(
                scope.key, read.dirty_version, next_change, now
            )

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


def _gzip(body: bytes) -> bytes:
    # mtime=0: the same bytes always compress to the same bytes (stable gzip ETags).
    return gzip.compress(body, compresslevel=6, mtime=0)


def _fragment_weight(key: tuple[str, ArticleVersion], entry: EntryBytes) -> int:
    return len(entry.rss) + len(entry.atom) + len(entry.json) + 256


def _entry_weight(version: ArticleVersion, entry: FeedEntry) -> int:
    # Its text, and a rough allowance for the rest of the objects.
    return len(entry.content_html) + len(entry.summary) + len(entry.title) + 1024
