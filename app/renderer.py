"""The render passes: which feeds are due (the written ones first, :mod:`app.selection`),
claiming them, numbering the articles that became public, and rebuilding every feed when
the rendering changed. Each claimed feed is rendered and stored by :mod:`app.snapshots`.

Requests never render: the scheduler (and ``broadsheet regenerate``) runs
:meth:`FeedRenderer.render_due_feeds`, and web processes serve what it stored.
"""

from __future__ import annotations

import functools
import logging
import time
from datetime import datetime
from datetime import timedelta

from app.collection_rules import COLLECTION
from app.domain import ARCHIVE
from app.domain import ROBOTS
from app.domain import SITE_SCOPE
from app.domain import SITEMAP
from app.domain import FeedScope
from app.entries import context_prefix
from app.errors import StorageUnavailable
from app.selection import all_sitemap_keys
from app.selection import current_collections
from app.selection import is_article_sitemap
from app.selection import numbered_sitemap_keys
from app.selection import render_priority
from app.settings import Settings
from app.sitemaps import SitemapRenderer
from app.snapshots import RenderReport
from app.snapshots import SnapshotRenderer
from app.storage.database import Database
from app.storage.feeds import FeedStateRepository
from app.storage.feeds import store_fingerprint
from app.storage.feeds import stored_fingerprint
from app.storage.fragments import EntryFragmentRepository
from app.storage.sequence import NUMBER_BATCH
from app.storage.sequence import PublicationOrder
from app.storage.sitemaps import SitemapReads
from app.storage.webhooks import announce_numbered

log = logging.getLogger(__name__)

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


class FeedRenderer:
    """Renders the feeds that are due, over one database."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.db = database
        self.settings = settings
        self._snapshots = SnapshotRenderer(database, settings)
        self._sitemaps = SitemapRenderer(database, settings)
        # Claims taken by a render pass that the database cut short, by scope key, with
        # the lease they hold; released as soon as the database answers again.
        self._abandoned_claims: dict[str, datetime] = {}

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
            order = functools.partial(render_priority, complete_pages=complete_pages)
            batch = [item.scope_key for item in sorted(due, key=order)]
            if not batch or not self._render_batch(
                batch[:RENDER_BATCH], now, started, deadline, report
            ):
                break
        if report.changed or report.failed or report.sitemap_changes:
            log.info(
                "rendered scopes=%s changed=%s failed=%s sitemaps=%s",
                report.scopes,
                report.changed,
                report.failed,
                report.sitemap_changes,
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
        scope = FeedScope.from_key(scope_key)
        started = time.perf_counter()
        try:
            if scope.kind == SITEMAP:
                self._sitemaps.render(scope, now, report)
            else:
                self._snapshots.render(scope, now, report)
            report.durations.append((scope_key, time.perf_counter() - started))
        except StorageUnavailable:
            raise
        except Exception:
            report.durations.append((scope_key, time.perf_counter() - started))
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
        they complete is marked, with the site feed, whose prev-archive link changes, and
        so are the sitemaps that list them."""
        with self.db.read() as session:
            if not PublicationOrder(session).has_due(now):
                return
        while True:
            with self.db.write() as session:
                numbered = PublicationOrder(session).number_due(now, self.settings.feed_item_limit)
                # Scheduled articles are published now: their webhooks hear it with them.
                announce_numbered(
                    session, numbered.first, numbered.count, self.settings.base_url, now
                )
                FeedStateRepository(session).mark_dirty(
                    [
                        SITE_SCOPE.key,
                        *(f"{ARCHIVE}/{page}" for page in numbered.completed_pages),
                        *numbered_sitemap_keys(numbered),
                    ]
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
        its current bytes until its new ones are stored. Feeds with new writes go first.
        robots.txt, which shows a setting no feed does, is asked for if it changed, and
        the collections' feeds always (the settings may have changed a definition)."""
        if self._sitemaps.robots_outdated():
            # robots.txt shows a setting no feed does (robots.extra).
            with self.db.write() as session:
                FeedStateRepository(session).mark_stale([ROBOTS.key], now)
        with self.db.write() as session:
            # The collections of the settings are not in the fingerprint (a new one would
            # rebuild every feed): theirs, and those of collections no longer declared,
            # are asked for at every start; a render that changes nothing writes nothing.
            states = FeedStateRepository(session)
            declared = {c.key for c in self.settings.declared_collections}
            known = {key for key in states.all_keys() if key.startswith(f"{COLLECTION}/")}
            states.mark_stale(declared | known, now)
        with self.db.read() as session:
            stored = stored_fingerprint(session)
        if stored == fingerprint:
            return False
        self.mark_all_feeds_stale(now, archives=True)
        self._snapshots.feed_id_prefix()  # the row that keeps the fingerprint
        with self.db.write() as session:
            store_fingerprint(session, fingerprint)
            # Entries rendered by other code or settings are never joined again.
            EntryFragmentRepository(session).delete_other_contexts(context_prefix(fingerprint))
        log.info("feeds are rebuilt: rendering changed since they were stored")
        return True

    def mark_all_feeds_stale(self, now: datetime, archives: bool = True) -> None:
        """Ask for every known feed scope to be rendered again (the periodic safety net,
        ``broadsheet regenerate``, and after upgrades). A rebuild is no write: render
        passes take every feed with unrendered writes before it.

        ``archives=False`` leaves the archives and the article sitemaps alone: they change
        only by writes, which mark them, so the periodic safety net need not rebuild the
        whole back catalogue. Every sitemap is asked for, even one never written to (a site
        upgraded to a version with sitemaps).
        """
        with self.db.write() as session:
            states = FeedStateRepository(session)
            sitemaps = all_sitemap_keys(SitemapReads(session).newest_number())
            declared = self.settings.declared_collections
            collections = {c.key for c in current_collections(session, declared)}
            keys = set(states.all_keys()) | {SITE_SCOPE.key} | sitemaps | collections
            if not archives:
                keys = {
                    key
                    for key in keys
                    if not key.startswith(f"{ARCHIVE}/") and not is_article_sitemap(key)
                }
            states.mark_stale(keys, now)
