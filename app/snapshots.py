"""A feed scope's render: read what its documents hold (one read transaction), render
them with no transaction open, and store the snapshots whose bytes changed with their
WebSub notices (one write transaction). Writers never wait for a render.

:class:`~app.renderer.FeedRenderer` decides which scopes are due and claims them; this
module renders one scope it has claimed.
"""

from __future__ import annotations

import gzip
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from datetime import timedelta

from app.documents import build_document
from app.documents import feed_language
from app.documents import scope_label
from app.domain import ARCHIVE
from app.domain import LISTING_SITEMAPS
from app.domain import SITE_SCOPE
from app.domain import ArticleVersion
from app.domain import FeedFormat
from app.domain import FeedScope
from app.domain import FeedSnapshot
from app.domain import content_etag
from app.domain import feed_key
from app.entries import RenderedEntries
from app.notifying import enqueue_notifications
from app.private_feeds import private_document
from app.private_renders import PrivateRead
from app.private_renders import read_private
from app.profiles import FeedProfile
from app.rendering import FeedDocument
from app.rendering import FeedEntry
from app.rendering import join
from app.selection import Selection
from app.selection import select_versions
from app.settings import Settings
from app.storage.articles import ArticleRepository
from app.storage.database import Database
from app.storage.feeds import FeedStateRepository
from app.storage.feeds import SnapshotRepository
from app.storage.feeds import feed_id_prefix
from app.storage.fragments import EntryBytes
from app.storage.fragments import EntryFragmentRepository
from app.storage.fragments import PackedEntry
from app.storage.fragments import pack_entries
from app.storage.sequence import PublicationOrder
from app.storage.webhooks import announce_feed_change
from app.surrogate_keys import document_keys


@dataclass
class RenderReport:
    """What one render pass did: feed scopes rendered, feed documents changed or deleted,
    failures (of feeds and sitemaps); and apart, the sitemap scopes rendered and the
    sitemap documents (and robots.txt) changed or deleted, by path."""

    scopes: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    sitemap_scopes: list[str] = field(default_factory=list)
    sitemap_changes: list[str] = field(default_factory=list)
    durations: list[tuple[str, float]] = field(default_factory=list)  # scope, seconds


@dataclass(frozen=True)
class _Read:
    """Everything a scope's render reads, in one read transaction."""

    dirty_version: int
    selected: Selection
    ordered: tuple[ArticleVersion, ...]
    """The versions, newest date first."""
    language: str
    label: str
    profile: FeedProfile
    context: str
    stored: dict[ArticleVersion, EntryBytes]
    """The entries already rendered in this context."""
    unrendered: list[tuple[ArticleVersion, FeedEntry]]
    previous: dict[str, tuple[str, datetime, datetime | None]]
    """ETag, Last-Modified and fresh-until of the stored documents, by feed key."""
    keys: dict[FeedFormat, str]
    """Where each format's document is stored."""
    private: str | None = None
    """The profile of a private variant; None for the public feed."""
    variants: tuple[_Read, ...] = ()
    """The private variants of a subscription feed, one per profile some active
    subscriber reads, from the same selection."""
    retired: tuple[str, ...] = ()
    """The stored private documents of profiles no active subscriber reads any more."""

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


class SnapshotRenderer:
    """Renders one feed scope and stores its snapshots, over one database.

    Contract: a snapshot is written only when its bytes change, with a WebSub notice for
    each changed document and the generation bumped, in the transaction that marks the
    scope rendered; a scope with nothing to show loses its documents. A read or render
    that fails raises, and the stored snapshots stay as they were.
    """

    def __init__(self, database: Database, settings: Settings) -> None:
        self.db = database
        self.settings = settings
        # What renders keep for the next ones in this process.
        self._entries = RenderedEntries(settings)
        # Threads start on the first render: a web process never starts one.
        self._compressor = ThreadPoolExecutor(len(FeedFormat), thread_name_prefix="gzip")
        self._feed_ids: str | None = None

    def render(self, scope: FeedScope, now: datetime, report: RenderReport) -> None:
        """Read what the scope's documents are made of (one read transaction), render
        them with no transaction open, and store what changed (one write transaction);
        add the scope, and the feed keys changed or deleted, to ``report``."""
        report.scopes.append(scope.key)
        keys = {fmt: feed_key(scope, fmt) for fmt in FeedFormat}
        read = self._read_scope(scope, keys, now)
        rendered = self._render_read(scope, read, keys, now) if read.has_document else None
        # Private variants: rendered once per profile, whatever the number of subscribers.
        variants = [
            (variant, self._render_read(scope, variant, variant.keys, now) if rendered else None)
            for variant in read.variants
        ]
        self._store_scope(scope, read, [(read, rendered), *variants], now, report)

    def _read_scope(self, scope: FeedScope, keys: dict[FeedFormat, str], now: datetime) -> _Read:
        with self.db.read() as session:
            # The version first: a write committed after this read leaves the scope dirty.
            dirty_version = FeedStateRepository(session).dirty_version(scope.key)
            articles = ArticleRepository(session)
            selected = select_versions(
                PublicationOrder(session),
                articles,
                scope,
                now,
                self.settings.feed_item_limit,
                self.settings.declared_collections,
            )
            # Which articles: the last published (by number). In what order: newest date
            # first, as readers list them; a backdated article takes its date's place.
            # An editor's list keeps the editor's order.
            ordered = selected.versions
            if not selected.editor_order:
                ordered = tuple(sorted(ordered, key=lambda v: v.published_at, reverse=True))
            language = feed_language(
                scope, {version.language for version in ordered}, self.settings.site_language
            )
            profile = self._entries.profile(scope)
            context = self._entries.context(language, profile)
            stored = self._entries.stored(EntryFragmentRepository(session), context, ordered)
            # Articles are read whole only for the entries not rendered yet in this context,
            # and the newest one, whose names give the feed its title.
            unrendered = [version for version in ordered if version not in stored]
            named = scope.kind != ARCHIVE and scope != SITE_SCOPE and not selected.label
            entries = self._entries.entries_of(articles, [*ordered[: int(named)], *unrendered])
            label = selected.label or scope_label(
                scope, [entries[ordered[0]]] if named and ordered else []
            )
            read = _Read(
                dirty_version=dirty_version,
                selected=selected,
                ordered=ordered,
                language=language,
                label=label,
                profile=profile,
                context=context,
                stored=stored,
                unrendered=[(version, entries[version]) for version in unrendered],
                previous=SnapshotRepository(session).validators(keys.values()),
                keys=keys,
            )
            if scope.kind == ARCHIVE:
                return read  # archives are public documents only
            found, retired = read_private(session, self._entries, scope, language, ordered, now)
            return replace(read, variants=tuple(_variant(read, v) for v in found), retired=retired)

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
            self.feed_id_prefix(),
            scope,
            read.label,
            read.language,
            updated,
            read.selected.history,
        )
        if read.private is not None:
            document = private_document(document, self.settings.base_url, scope, read.private)
        fresh = self._entries.render(read.context, read.profile, document, read.unrendered)
        rendered = _Rendered(document, pack_entries(read.context, fresh))
        entry_bytes_of = {**read.stored, **fresh}
        for fmt in FeedFormat:
            fragments = [entry_bytes_of[version].of(fmt) for version in read.ordered]
            before = read.previous.get(keys[fmt])
            changed_at = next_change_time(before, now)
            body = self._render_changed(document, fmt, fragments, before, changed_at)
            rendered.bodies[fmt] = body
            etag = content_etag(body)
            if before is not None and before[0] == etag:
                continue
            # zlib lets go of the GIL: the formats compress side by side, and before the
            # write transaction, which writers would otherwise wait for.
            rendered.changed[fmt] = (etag, changed_at, self._compressor.submit(gzip_body, body))
        return rendered

    def _store_scope(
        self,
        scope: FeedScope,
        read: _Read,
        parts: list[tuple[_Read, _Rendered | None]],
        now: datetime,
        report: RenderReport,
    ) -> None:
        """Store what changed, in one write transaction: new entries, new snapshots (the
        public feed's and its private variants'), the public ones' WebSub notices,
        fresh-until times, the retired profiles' documents gone, and that the scope is
        rendered. ``parts`` pairs each read (the public one first) with its render."""
        next_change = read.selected.next_change
        with self.db.write() as session:
            snapshots = SnapshotRepository(session)
            changed_topics: list[str] = []
            moved = False
            for part, rendered in parts:
                if rendered is None:
                    for key in part.previous:
                        snapshots.delete(key)
                        report.deleted.append(key)
                        moved = True
                    continue
                EntryFragmentRepository(session).save(rendered.packed)
                topics, refreshed = _save_documents(
                    snapshots, scope, part, rendered, next_change, now, report
                )
                moved = moved or refreshed or bool(topics)
                if part.private is None:
                    # Hubs are public: a private variant's change is no topic of theirs.
                    changed_topics += topics
            for key in read.retired:
                snapshots.delete(key)
                report.deleted.append(key)
            moved = moved or bool(read.retired)
            # WebSub section 6: each hub must hear of every changed topic. Only an outbox
            # row here, committed with the new snapshot; the deliver-websub job sends it.
            enqueue_notifications(session, self.settings.hubs, changed_topics, now)
            gone = () if parts[0][1] is not None else read.previous  # public documents removed
            announce_feed_change(session, self.settings.base_url, scope, changed_topics, gone, now)
            if moved:
                snapshots.bump_generation()
            FeedStateRepository(session).mark_rendered(
                scope.key, read.dirty_version, next_change, now, _listings(scope, read, parts[0][1])
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

    def feed_id_prefix(self) -> str:
        """What feed ids start with: fixed by the first render of the site and kept in the
        database, so a new host or epoch in the settings never changes a feed's id
        (RFC 4287 section 4.2.6); read once per process."""
        if self._feed_ids is None:
            settings = self.settings
            proposed = f"tag:{settings.id_authority},{settings.epoch:%Y-%m-%d}:feed:"
            with self.db.write() as session:
                self._feed_ids = feed_id_prefix(session, proposed)
        return self._feed_ids


def _variant(read: _Read, private: PrivateRead) -> _Read:
    """The public feed's ``read`` as the private variant ``private`` describes."""
    return replace(
        read,
        private=private.private,
        profile=private.profile,
        context=private.context,
        stored=private.stored,
        unrendered=private.unrendered,
        previous=private.previous,
        keys=private.keys,
    )


def _save_documents(
    snapshots: SnapshotRepository,
    scope: FeedScope,
    read: _Read,
    rendered: _Rendered,
    next_change: datetime | None,
    now: datetime,
    report: RenderReport,
) -> tuple[list[str], bool]:
    """Save the changed documents of one render and the new fresh-until of the unchanged
    ones; the URLs of the changed documents, and whether a fresh-until changed."""
    refreshed = False
    for fmt in rendered.bodies.keys() - rendered.changed.keys():
        kept = read.previous.get(read.keys[fmt])
        if kept is not None and kept[2] != next_change:
            # Same bytes, but a publication was scheduled or moved: caches must learn
            # the new max-age (RFC 9111 section 5.2.2.1) before it comes.
            snapshots.set_fresh_until(read.keys[fmt], next_change)
            refreshed = True
    topics = []
    keys = document_keys(scope, (v.id for v in read.ordered)) if read.private is None else None
    for fmt, (etag, changed_at, compressed) in rendered.changed.items():
        snapshots.save(
            FeedSnapshot(
                feed_key=read.keys[fmt],
                media_type=fmt.media_type,
                body=rendered.bodies[fmt],
                body_gzip=compressed.result(),
                etag=etag,
                last_modified=changed_at,
                rendered_at=now,
                fresh_until=next_change,
                surrogate_keys=keys,
            )
        )
        report.changed.append(read.keys[fmt])
        topics.append(rendered.document.self_url(fmt))
    return topics, refreshed


def _listings(scope: FeedScope, read: _Read, rendered: _Rendered | None) -> list[str]:
    """The listing pages' sitemaps, if this render of a subscription feed gives its scope
    its first documents or takes its last (its listing page comes or goes)."""
    if scope.kind == ARCHIVE:
        return []
    first = rendered is not None and feed_key(scope, FeedFormat.ATOM) not in read.previous
    if first or (rendered is None and read.previous):
        return [LISTING_SITEMAPS.key]
    return []


def next_change_time(
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


def gzip_body(body: bytes) -> bytes:
    """``body`` compressed as every stored document is (feeds and sitemaps alike)."""
    # mtime=0: the same bytes always compress to the same bytes (stable gzip ETags).
    return gzip.compress(body, compresslevel=6, mtime=0)
