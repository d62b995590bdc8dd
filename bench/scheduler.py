"""The scheduler during ``bench.run``: started as deployed before the load tests, and
target 3's restart with nothing changed.

How: the scheduler starts as ``broadsheet scheduler`` if a full rebuild fit its budget (it
starts with one), else as ``bench/due_scheduler.py`` (the same without that start-up
pass); the load tests wait until nothing is left to render, and pause (SIGSTOP) a
scheduler that still has feeds to render. The restart: the render fingerprint is stored
and every feed settled, the scheduler is stopped and started again, and the bench times
its health mark and counts the feeds it renders in the next 5 seconds.
Goal: ready within 5 s, and no feed rendered.
"""

from __future__ import annotations

import sys
import time

from bench.procs import REPO
from bench.procs import BenchError
from bench.procs import Child
from bench.results import TargetTable
from bench.results import seconds
from bench.site import Profile
from bench.site import Report
from bench.site import Site

RESTART_TARGET_S = 5.0
# How long a restarted scheduler is watched for renders it should not do.
RESTART_WATCH_SECONDS = 5.0


def start_scheduler(site: Site) -> None:
    """The scheduler as deployed, if a full rebuild fits its budget (it starts with one);
    otherwise the same scheduler without that start-up pass (bench/due_scheduler.py)."""
    service = site.service
    if site.report.rebuild.get("seconds") is not None:
        site.report.scheduler = "broadsheet scheduler"
        service.start_scheduler()
        # Its start-up job marks every feed stale (`regenerate` stores no record of what
        # rendered the feeds, so to it they may be out of date), then its passes render
        # them all.
        marked = time.monotonic() + 10
        while site.dirty_count() == 0 and time.monotonic() < marked:
            time.sleep(0.2)
    else:
        site.report.scheduler = "bench.due_scheduler (no start-up pass)"
        service.scheduler = Child(
            "scheduler (due only)",
            [sys.executable, "-m", "bench.due_scheduler"],
            site.root / "scheduler.log",
            service.env,
            REPO,
        )
    # The load tests start when nothing is left to render (or the budget is spent).
    if not settle(site):
        site.report.notes.append(
            f"the scheduler still had feeds to render after {site.profile.settle_budget:.0f} "
            "s, when the load tests began"
        )
    time.sleep(1)
    if service.scheduler is not None and not service.scheduler.alive():
        raise BenchError(f"the scheduler exited:\n{service.scheduler.tail()}")
    site.log(f"scheduler: {site.report.scheduler}")


def settle(site: Site) -> bool:
    """Wait up to the settle budget for no feed to be waiting for a render; whether none
    is."""
    deadline = time.monotonic() + site.profile.settle_budget
    while site.dirty_count() > 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    return site.dirty_count() == 0


def pause_busy_scheduler(site: Site) -> bool:
    """Pause (SIGSTOP) a scheduler that still has feeds to render, so that the load tests
    measure the web role; True if it was paused."""
    scheduler = site.service.scheduler
    if scheduler is None or site.dirty_count() == 0:
        return False
    scheduler.pause()
    site.report.notes.append(
        "the scheduler still had feeds to render: it was paused during the every-feed "
        "and hot-feed load tests"
    )
    site.log("scheduler paused during the load tests (it still had feeds to render)")
    return True


def restart(site: Site) -> None:
    """A scheduler restarted with nothing changed: seconds until it is ready (its health
    mark written, as ``broadsheet health`` reads it) and how many feeds it renders in its
    first seconds (goal: none)."""
    service = site.service
    if service.scheduler is None:
        site.report.notes.append("scheduler restart: no scheduler running")
        return
    from app import liveness
    from app.documents import render_fingerprint
    from app.services import build_services

    services = build_services(environ=service.env)
    try:
        # The render fingerprint of this code and these settings is stored (neither
        # `regenerate` nor the bench's due-only scheduler stores it), and the rebuild that
        # storing it asks for is dropped: every feed is rendered already.
        services.renderer.rebuild_if_changed(
            render_fingerprint(services.settings), services.clock()
        )
        mark = liveness.health_directory(services.settings) / liveness.SCHEDULER
    finally:
        services.database.dispose()
    service.query("UPDATE feed_states SET stale_since = NULL")
    settle(site)
    service.scheduler.stop()
    before = dict(service.query("SELECT scope_key, rendered_at FROM feed_states"))
    mark.unlink(missing_ok=True)
    started = time.monotonic()
    service.start_scheduler()
    ready = None
    while time.monotonic() - started < 30:
        if mark.exists():
            ready = time.monotonic() - started
            break
        time.sleep(0.05)
    time.sleep(RESTART_WATCH_SECONDS)  # its start-up job and first render passes
    after = dict(service.query("SELECT scope_key, rendered_at FROM feed_states"))
    rendered = sorted(key for key, at in after.items() if before.get(key) != at)
    site.report.restart = {"ready_s": ready, "rendered": len(rendered), "scopes": len(after)}
    site.log(f"scheduler restart: ready after {ready} s, {len(rendered)} feeds rendered")


def rows(report: Report, _profile: Profile, table: TargetTable) -> None:
    restart = report.restart
    if not restart:
        table.target("3 scheduler restart, nothing changed", "not measured", "<= 5 s, 0", None)
        return
    ready = restart["ready_s"]
    table.target(
        "3 scheduler restart, nothing changed",
        f"ready in {seconds(ready)}, {restart['rendered']} of {restart['scopes']:,} feeds "
        f"rendered in the next {RESTART_WATCH_SECONDS:.0f} s",
        "<= 5 s, 0",
        ready is not None and ready <= RESTART_TARGET_S and restart["rendered"] == 0,
    )
