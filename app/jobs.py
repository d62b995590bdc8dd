"""The scheduler role: APScheduler 3 in its own process, never inside a web worker.

Jobs with fixed ids, ``coalesce=True`` and ``max_instances=1``:

- ``render-due-feeds`` every ``feed_render_poll_seconds`` (default 0.25 s): renders the feeds
  that writes marked stale and those whose scheduled article has just gone public, so a
  write reaches readers within seconds and an embargo lifts on time.
- ``render-all-feeds`` every ``feed_regenerate_seconds``: the safety net that re-renders
  every subscription feed (bytes are stored only when they change); and
  ``rebuild-if-changed`` once at start: every feed, archive pages included, but only if
  this version's rendering or a setting shown in feeds changed since the feeds were
  stored (a restart with nothing changed renders nothing).
- ``deliver-websub`` (with hubs) and ``deliver-webhooks`` every 2 s: the outboxes' due
  notices and events (:mod:`app.notifying`, :mod:`app.webhook_delivery`).

Feeds are claimed before they are rendered (see :meth:`FeedRenderer.render_due_feeds`), so any
number of schedulers on any number of machines render each change once.

A job never dies: a failure is logged and the job runs again at its next tick. While the
database is unavailable every tick fails the same way; the database logs that once when
it goes and once when it comes back, and the first tick after that catches up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC

import httpx
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from app import liveness
from app.documents import render_fingerprint
from app.errors import StorageUnavailable
from app.logs import job_context
from app.metrics import record_renders
from app.notifying import deliver_due
from app.notifying import hub_client
from app.renderer import SCHEDULER_PASS_SECONDS
from app.services import Services
from app.webhook_delivery import deliver_webhooks
from app.webhook_delivery import webhook_client

log = logging.getLogger(__name__)

RENDER_DUE_JOB = "render-due-feeds"
RENDER_ALL_JOB = "render-all-feeds"
REBUILD_AT_START_JOB = "rebuild-if-changed"
DELIVER_WEBSUB_JOB = "deliver-websub"
DELIVER_WEBSUB_SECONDS = 2.0
DELIVER_WEBHOOKS_JOB = "deliver-webhooks"
DELIVER_WEBHOOKS_SECONDS = 2.0
HEARTBEAT_JOB = "heartbeat"
# Missed ticks collapse into one run, a run never overlaps the previous one, and a tick
# late by up to 30 s still runs.
_NEVER_OVERLAP = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}


@contextmanager
def _next_tick_retries(job: str) -> Iterator[None]:
    """Keep the job alive: log its failure (an outage is already logged) and carry on.
    Every log line of the run carries the job's name and a run id of its own."""
    with job_context(job):
        try:
            yield
        except StorageUnavailable:
            pass
        except Exception:
            log.exception("job %s failed; it runs again at the next tick", job)


def render_due_feeds(services: Services) -> None:
    """Job: render feeds with pending changes, counted in the metrics. Logs failures
    instead of dying."""
    with _next_tick_retries(RENDER_DUE_JOB):
        record_renders(services.renderer.render_due_feeds(services.clock(), SCHEDULER_PASS_SECONDS))


def render_all_feeds(services: Services) -> None:
    """Job: re-render every subscription feed, counted in the metrics. Logs failures
    instead of dying."""
    with _next_tick_retries(RENDER_ALL_JOB):
        services.renderer.mark_all_feeds_stale(services.clock(), archives=False)
        record_renders(services.renderer.render_due_feeds(services.clock(), SCHEDULER_PASS_SECONDS))


def rebuild_if_changed(services: Services) -> None:
    """Job: mark every feed stale if what renders them changed since they were stored;
    the render-due job then renders them, subscription feeds first, writes before both.
    Logs failures instead of dying."""
    with _next_tick_retries(REBUILD_AT_START_JOB):
        services.renderer.rebuild_if_changed(
            render_fingerprint(services.settings), services.clock()
        )


def deliver_websub(services: Services, client: httpx.Client) -> None:
    """Job: send due WebSub notifications. Logs failures instead of dying."""
    with _next_tick_retries(DELIVER_WEBSUB_JOB):
        deliver_due(services.database, services.settings, services.clock(), client)


def deliver_webhook_events(services: Services, client: httpx.Client) -> None:
    """Job: send due webhook events. Logs failures instead of dying."""
    with _next_tick_retries(DELIVER_WEBHOOKS_JOB):
        deliver_webhooks(services.database, services.settings, services.clock(), client)


def add_jobs(scheduler: BaseScheduler, services: Services) -> None:
    """Register the jobs on ``scheduler``; the safety net runs once right away.

    The WebSub job is added only when hubs are configured; it keeps one HTTP client (and
    its connections to the hubs) for the life of the scheduler.
    """
    settings = services.settings
    # At start every feed, archive pages included, if this version or the settings render
    # them differently; then only the subscription feeds: archive pages change only by
    # writes, which mark them.
    scheduler.add_job(
        rebuild_if_changed,
        id=REBUILD_AT_START_JOB,
        args=[services],
        next_run_time=services.clock(),
        replace_existing=True,
        **_NEVER_OVERLAP,
    )
    scheduler.add_job(
        render_all_feeds,
        "interval",
        seconds=settings.feed_regenerate_seconds,
        id=RENDER_ALL_JOB,
        args=[services],
        replace_existing=True,
        **_NEVER_OVERLAP,
    )
    scheduler.add_job(
        render_due_feeds,
        "interval",
        seconds=settings.feed_render_poll_seconds,
        id=RENDER_DUE_JOB,
        args=[services],
        replace_existing=True,
        **_NEVER_OVERLAP,
    )
    if settings.hubs:
        scheduler.add_job(
            deliver_websub,
            "interval",
            seconds=DELIVER_WEBSUB_SECONDS,
            id=DELIVER_WEBSUB_JOB,
            args=[services, hub_client(settings)],
            replace_existing=True,
            **_NEVER_OVERLAP,
        )
    # Always: webhooks are registered while the scheduler runs (one indexed read a tick).
    scheduler.add_job(
        deliver_webhook_events,
        "interval",
        seconds=DELIVER_WEBHOOKS_SECONDS,
        id=DELIVER_WEBHOOKS_JOB,
        args=[services, webhook_client(settings)],
        replace_existing=True,
        **_NEVER_OVERLAP,
    )


def heartbeat(services: Services) -> None:
    """Job: record that this scheduler still runs jobs (``broadsheet health`` checks it).
    Logs failures instead of dying."""
    with _next_tick_retries(HEARTBEAT_JOB):
        liveness.beat(services.settings)


def add_heartbeat(scheduler: BaseScheduler, services: Services) -> None:
    """Register the heartbeat of the scheduler role: at once, then every
    :data:`app.liveness.HEARTBEAT_SECONDS`. It runs on its own thread, so a long render
    does not hold it back; it proves the scheduler is running, not that renders succeed
    (while the database is away the scheduler is alive and waiting, and must not be
    restarted)."""
    scheduler.add_job(
        heartbeat,
        "interval",
        seconds=liveness.HEARTBEAT_SECONDS,
        id=HEARTBEAT_JOB,
        args=[services],
        next_run_time=services.clock(),
        replace_existing=True,
        **_NEVER_OVERLAP,
    )


def build_scheduler(services: Services) -> BlockingScheduler:
    """A blocking scheduler with Broadsheet's jobs, in UTC."""
    scheduler = BlockingScheduler(timezone=UTC, job_defaults=_NEVER_OVERLAP)
    add_jobs(scheduler, services)
    return scheduler
