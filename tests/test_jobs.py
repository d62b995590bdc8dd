"""The scheduler role: job table, one render per change across schedulers, failures."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from app import jobs as job_table
from app import renderer as renderer_module
from app.articles import Articles
from app.documents import render_fingerprint
from app.domain import SITE_SCOPE
from app.domain import Author
from app.domain import FeedFormat
from app.jobs import DELIVER_WEBHOOKS_JOB
from app.jobs import REBUILD_AT_START_JOB
from app.jobs import RENDER_ALL_JOB
from app.jobs import RENDER_DUE_JOB
from app.jobs import add_jobs
from app.jobs import render_due_feeds
from app.rendering import FeedDocument
from app.rendering import FeedEntry
from app.rendering import fragments
from app.rendering.atom import render_atom
from app.services import Services
from app.services import build_services
from app.settings_sources import load_settings
from app.snapshots import RenderReport
from app.storage.feeds import FeedStateRepository
from tests.conftest import FakeClock
from tests.factories import article_input


def test_jobs_have_fixed_ids_and_never_overlap(services: Services) -> None:
    scheduler = BackgroundScheduler()
    add_jobs(scheduler, services)
    add_jobs(scheduler, services)  # registering twice replaces, never duplicates
    jobs = {job.id: job for job in scheduler.get_jobs()}
    # Webhooks are delivered always: they are added while the scheduler runs.
    assert set(jobs) == {RENDER_DUE_JOB, RENDER_ALL_JOB, REBUILD_AT_START_JOB, DELIVER_WEBHOOKS_JOB}
    jobs[DELIVER_WEBHOOKS_JOB].args[1].close()
    assert jobs[REBUILD_AT_START_JOB].func is job_table.rebuild_if_changed
    assert jobs[RENDER_ALL_JOB].args == (services,)
    assert jobs[RENDER_DUE_JOB].trigger.interval == timedelta(
        seconds=services.settings.feed_render_poll_seconds
    )
    assert jobs[RENDER_ALL_JOB].trigger.interval == timedelta(
        seconds=services.settings.feed_regenerate_seconds
    )
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1


def test_concurrent_schedulers_render_each_change_once(
    services: Services, clock: FakeClock, overrides: dict[str, object]
) -> None:
    services.articles.create_article(article_input(published_at=clock()), clock())
    schedulers = [build_services(overrides, clock=clock, environ={}) for _ in range(4)]
    barrier = threading.Barrier(len(schedulers))
    reports: list[RenderReport] = []

    def tick(other: Services) -> None:
        barrier.wait()
        reports.append(other.renderer.render_due_feeds(clock()))

    threads = [threading.Thread(target=tick, args=(other,)) for other in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for other in schedulers:
        other.database.dispose()
    assert len(reports) == 4
    site_renders = sum(report.scopes.count("site") for report in reports)
    assert site_renders == 1
    assert services.feeds.feed_snapshot(SITE_SCOPE, FeedFormat.RSS).body


def test_a_failed_render_keeps_the_last_good_feed(
    services: Services, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    articles.create_article(article_input(title="Primeira", published_at=clock()), clock())
    renderer.render_due_feeds(clock())
    good = feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM)

    articles.create_article(article_input(title="Segunda", published_at=clock()), clock())
    # Fault injection: the Atom renderer produces entries that do not parse.
    layout = fragments._ATOM

    def broken(document: FeedDocument, entries: tuple[FeedEntry, ...]) -> bytes:
        body = render_atom(document, entries)
        return body.replace(b"</entry>", b"</entr>", 1) if entries else body

    monkeypatch.setattr(fragments, "_ATOM", dataclasses.replace(layout, render=broken))
    report = renderer.render_due_feeds(clock())
    assert "site" in report.failed
    assert feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM) == good
    # The failed scope backs off instead of failing every tick...
    assert renderer.render_due_feeds(clock()).scopes == []
    monkeypatch.undo()
    # ...and is rendered again once the retry time has come.
    clock.advance(seconds=services.settings.feed_render_retry_seconds)
    assert "site" in renderer.render_due_feeds(clock()).scopes
    assert b"Segunda" in feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM).body


def test_the_job_logs_and_survives_errors(
    services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(now: object, budget: object = None) -> RenderReport:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services.renderer, "render_due_feeds", explode)
    render_due_feeds(services)  # must not raise: a dead job thread renders nothing ever again
    assert "disk on fire" in caplog.text


def test_the_periodic_safety_net_leaves_archives_to_writes(
    services: Services, clock: FakeClock
) -> None:
    articles = services.articles
    renderer = services.renderer
    publish(articles, clock, services.settings.feed_item_limit + 1)
    assert "archive/0" in renderer.render_due_feeds(clock()).scopes
    renderer.mark_all_feeds_stale(clock(), archives=False)
    periodic = renderer.render_due_feeds(clock()).scopes
    assert "site" in periodic
    assert not [key for key in periodic if key.startswith("archive/")]
    renderer.mark_all_feeds_stale(clock())
    assert "archive/0" in renderer.render_due_feeds(clock()).scopes


def test_a_restart_with_nothing_changed_renders_nothing(
    services: Services, clock: FakeClock, overrides: dict[str, object]
) -> None:
    """The start-up job rebuilds every feed only when what renders them changed: the
    code or a setting that shows in feeds."""
    articles = services.articles
    renderer = services.renderer
    publish(articles, clock, services.settings.feed_item_limit + 1)
    fingerprint = render_fingerprint(services.settings)
    assert renderer.rebuild_if_changed(fingerprint, clock())  # never recorded: rebuilt
    assert "archive/0" in renderer.render_due_feeds(clock()).scopes
    restarted = build_services(overrides, clock=clock, environ={})
    try:
        job_table.rebuild_if_changed(restarted)
        assert restarted.renderer.render_due_feeds(clock()).scopes == []
        retitled = build_services({**overrides, "site_title": "Outro"}, clock=clock, environ={})
        try:
            job_table.rebuild_if_changed(retitled)
            scopes = retitled.renderer.render_due_feeds(clock()).scopes
            assert scopes[0] == "site" and "archive/0" in scopes
        finally:
            retitled.database.dispose()
    finally:
        restarted.database.dispose()


def test_a_pass_renders_a_completed_page_then_the_site_feed_and_archives_last(
    services: Services, clock: FakeClock
) -> None:
    """Writes: the page they completed first (the site feed's prev-archive link points at
    it from its next render), then the site feed, the other archives last. A rebuild: the
    site feed first, archives last."""
    articles = services.articles
    renderer = services.renderer
    for day in range(1, 4):
        articles.create_article(
            article_input(
                title=f"Notícia {day}",
                tags=tuple(f"tema {day} {n}" for n in range(8)),
                published_at=clock() - timedelta(days=31 * day),
            ),
            clock(),
        )
    publish(articles, clock, services.settings.feed_item_limit)  # page 0 complete
    scopes = renderer.render_due_feeds(clock()).scopes
    assert len(scopes) > renderer_module.RENDER_BATCH  # claimed in several batches
    assert scopes[:2] == ["archive/0", "site"]
    assert_archives_last(scopes[1:])
    renderer.mark_all_feeds_stale(clock())
    rebuilt = renderer.render_due_feeds(clock()).scopes
    assert rebuilt[0] == "site" and "archive/0" in rebuilt
    assert_archives_last(rebuilt)


def test_pages_completed_together_wait_behind_the_subscription_feeds(
    services: Services, clock: FakeClock
) -> None:
    """An import (or a migrated back catalogue) completes many archive pages at once: only
    the newest, which the site feed links to, goes before the subscription feeds; the
    others follow them, newest first, so that a reader walking back finds each page it
    is sent to as soon as possible."""
    articles = services.articles
    renderer = services.renderer
    articles.create_article(article_input(published_at=clock()), clock())
    publish(articles, clock, 3 * services.settings.feed_item_limit - 1)  # pages 0-2 complete
    scopes = renderer.render_due_feeds(clock()).scopes
    assert scopes[:2] == ["archive/2", "site"]
    assert_archives_last(scopes[1:])
    assert scopes[-2:] == ["archive/1", "archive/0"]
    assert len(scopes) > 5  # the subscription feeds of the first article came between


def assert_archives_last(scopes: list[str]) -> None:
    archives = [index for index, key in enumerate(scopes) if key.startswith("archive/")]
    assert archives and min(archives) > max(
        index for index, key in enumerate(scopes) if not key.startswith("archive/")
    )


def test_a_scheduler_pass_over_its_budget_leaves_the_rest_to_the_next(
    services: Services, clock: FakeClock
) -> None:
    articles = services.articles
    renderer = services.renderer
    articles.create_article(
        article_input(tags=tuple(f"tema {n}" for n in range(20)), published_at=clock()), clock()
    )
    first = renderer.render_due_feeds(clock(), budget_seconds=0)
    assert first.scopes == ["site"]  # one feed, then the budget is over
    rest = renderer.render_due_feeds(clock())
    assert rest.scopes and not set(rest.scopes) & set(first.scopes)
    assert renderer.render_due_feeds(clock()).scopes == []


def test_a_write_during_a_rebuild_is_rendered_before_the_rebuild(
    services: Services, clock: FakeClock
) -> None:
    """A rebuild (new code or settings, the safety net, ``broadsheet regenerate``) is no
    write: a newly published article's feeds go before every feed the rebuild asked for."""
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    articles.create_article(
        article_input(tags=tuple(f"tema {n}" for n in range(40)), published_at=clock()), clock()
    )
    renderer.render_due_feeds(clock())
    renderer.mark_all_feeds_stale(clock())  # 45 feeds: three batches of the pass
    clock.advance(seconds=1)
    articles.create_article(
        article_input(
            title="Urgente",
            authors=(Author("Rui Prado"),),
            categories=("Plantão",),
            tags=("alerta",),
            published_at=clock(),
        ),
        clock(),
    )
    own = ["site", "author/rui-prado", "category/plantao", "tag/alerta"]
    # Passes over their budget render one feed each: the site feed first, then the rest
    # of the write's feeds in key order, then the rebuild.
    first = renderer.render_due_feeds(clock(), budget_seconds=0).scopes
    assert first == ["site"]
    assert b"Urgente" in feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM).body
    for _ in own[1:]:
        first += renderer.render_due_feeds(clock(), budget_seconds=0).scopes
    assert first == own
    # Then the sitemaps that list the article (app/sitemaps.py), one a pass, the index last.
    sitemaps: list[str] = []
    after = renderer.render_due_feeds(clock(), budget_seconds=0)
    while not after.scopes and after.sitemap_scopes:
        sitemaps += after.sitemap_scopes
        after = renderer.render_due_feeds(clock(), budget_seconds=0)
    assert sitemaps[-1] == "sitemap/index" and len(sitemaps) == len(set(sitemaps))
    first += after.scopes
    assert len(first) == len(own) + 1 and first[-1] not in own
    rest = renderer.render_due_feeds(clock()).scopes
    assert "tag/tema-39" in rest and not set(rest) & set(first)
    assert renderer.render_due_feeds(clock()).scopes == []


def test_a_rebuild_asked_for_during_a_render_is_kept(services: Services, clock: FakeClock) -> None:
    """A render covers the rebuilds asked for before it began, not one asked for while it
    ran (it may have read the old settings)."""
    articles = services.articles
    renderer = services.renderer
    publish(articles, clock, 1)
    renderer.render_due_feeds(clock())
    began = clock()
    with services.database.write() as session:
        FeedStateRepository(session).mark_stale(["site"], began + timedelta(seconds=1))
    with services.database.write() as session:
        FeedStateRepository(session).mark_rendered("site", 1, None, began)
    clock.advance(seconds=1)
    assert renderer.render_due_feeds(clock()).scopes == ["site"]
    assert renderer.render_due_feeds(clock()).scopes == []


def publish(articles: Articles, clock: FakeClock, count: int) -> None:
    """Publish ``count`` plain articles now, one after the other."""
    for number in range(count):
        articles.create_article(
            article_input(title=f"Nota {number}", categories=(), tags=(), published_at=clock()),
            clock(),
        )


def test_the_job_table_states_the_render_poll_default() -> None:
    """Operators read the job table in app.jobs; its default must be the setting's."""
    default = load_settings({}, environ={}, config_file=None).feed_render_poll_seconds
    assert f"``feed_render_poll_seconds`` (default {default:g} s)" in (job_table.__doc__ or "")
