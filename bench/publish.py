"""Target 2, publish latency: from the API's 201 to every feed the article belongs to
serving it, with the scheduler idle, then during a rebuild of every feed.

How: ``bench/publish_latency.py`` takes the samples (each article POSTed, then its feeds
polled with ``If-None-Match`` until each serves it). The second series runs after the
service's own rebuild request (``FeedRenderer.mark_all_feeds_stale``), as after a template
change; the rest of that rebuild is dropped afterwards so that it does not weigh on the
API figures. Goal: p95 within 1 s, a sample not seen in time counting as infinitely slow.
"""

from __future__ import annotations

from bench.hot import HOT_PATH
from bench.loadgen import fetch
from bench.publish_latency import PublishResult
from bench.publish_latency import measure_publish
from bench.results import TargetTable
from bench.results import seconds
from bench.site import Profile
from bench.site import Report
from bench.site import Site

PUBLISH_TARGET_S = 1.0
STALE = "SELECT count(*) FROM feed_states WHERE stale_since IS NOT NULL"


def samples(site: Site, label: str) -> PublishResult:
    """Target 2's samples: from the API's 201 to every affected feed serving it."""
    profile = site.profile
    result = measure_publish(
        site.service.base_url,
        site.token,
        site.extra_lines(profile.publish_samples),
        profile.publish_samples,
        profile.publish_wait,
        profile.publish_budget,
        site.service.database_url,
    )
    if result.error:
        site.report.notes.append(f"publish latency ({label}): {result.error}")
    shown = ", ".join("miss" if v is None else f"{v:.2f}" for v in result.latencies)
    site.log(f"publish latencies (s), {label}: {shown}")
    shown = ", ".join("-" if v is None else f"{v:.2f}" for v in result.rendered)
    site.log(f"  of which rendered (s): {shown}; slowest served: {', '.join(result.slowest)}")
    rounds = ", ".join(f"{v:.2f}" for v in result.longest_round_s)
    requests = ", ".join(f"{v:.0f}" for v in result.slowest_request_ms)
    site.log(f"  longest poll round (s): {rounds}; slowest poll (ms): {requests}")
    return result


def publish(site: Site) -> None:
    """Target 2: from the API's 201 to every affected feed serving the article."""
    site.report.publish = samples(site, "scheduler idle")
    # The site feed holds the newest feed.item_limit articles whatever was published:
    # its size after these writes, next to its size under target 1's load.
    after = fetch(site.service.base_url + HOT_PATH, {})
    entries = after.body.count(b"<item>")
    site.report.feed["after_publish"] = {"entries": entries, "identity_bytes": len(after.body)}
    site.log(f"{HOT_PATH} after the writes: {entries} entries, {len(after.body):,} bytes")


def publish_during_rebuild(site: Site) -> None:
    """Target 2 while a rebuild of every feed, archive pages included, is under way."""
    if site.service.scheduler is None:
        site.report.notes.append("publish during a rebuild: no scheduler running")
        return
    from app.services import build_services

    services = build_services(environ=site.service.env)
    try:
        services.renderer.mark_all_feeds_stale(services.clock())
    finally:
        services.database.dispose()
    asked = site.count(STALE)
    site.report.publish_rebuild = samples(site, "during a rebuild")
    left = site.count(STALE)
    site.report.rebuild_pending = {"asked": asked, "left": left}
    site.log(f"rebuild: {asked:,} feeds asked for, {left:,} not rendered yet when measured")
    site.service.query("UPDATE feed_states SET stale_since = NULL")


def rows(report: Report, profile: Profile, table: TargetTable) -> None:
    pending = report.rebuild_pending
    for name, publish in (
        ("2 publish: 201 -> every feed has it (p95)", report.publish),
        ("2 the same during a full rebuild", report.publish_rebuild),
    ):
        if publish is not None and publish.latencies:
            p95 = publish.percentile(0.95)
            misses = sum(1 for value in publish.latencies if value is None)
            during = (
                f"; {pending.get('left', 0):,}/{pending.get('asked', 0):,} to rebuild"
                if publish is report.publish_rebuild
                else ""
            )
            table.target(
                name,
                f"{seconds(p95)} (n={len(publish.latencies)}, median {seconds(publish.median)}, "
                f"{misses} missed in {profile.publish_wait:.0f} s, ~{max(publish.feeds)} "
                f"feeds{during})",
                "<= 1 s",
                p95 is not None and p95 <= PUBLISH_TARGET_S,
            )
        elif publish is not None and publish.error:
            table.target(name, publish.error[:64], "<= 1 s", False)
        else:
            table.target(name, "not measured", "<= 1 s", None)


def site_feed_rows(report: Report, profile: Profile, table: TargetTable) -> None:
    """The site feed's size after the writes, next to its size under target 1."""
    feed = report.feed
    after = feed.get("after_publish")
    if not after:
        return
    before = (
        f"; {feed['entries']} entries, {feed['identity_bytes']:,} B at target 1"
        if "entries" in feed
        else ""
    )
    table.target(
        f"  ({HOT_PATH} after the publish writes)",
        f"{after['entries']} entries, {after['identity_bytes']:,} B{before}",
        f"{profile.item_limit} entries",
        None,
    )
