"""What the pollers report: the figures summed up from the tally, the verdict, and the
table."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from bench.pollers.poller import Tally
from bench.pollers.profile import Profile
from bench.results import Table
from bench.results import nearest_rank
from bench.results import verdict


@dataclass
class Report:
    """Everything a pollers run reports, for the table and the JSON file."""

    profile: str
    started: str
    machine: dict[str, str] = field(default_factory=dict)
    setup: dict[str, Any] = field(default_factory=dict)
    mix: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_examples: dict[str, str] = field(default_factory=dict)
    parse_failures: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    passed: bool = False


def summarise(report: Report, tally: Tally, seconds: float) -> None:
    """The figures, the errors, and the verdict: no error, no unparsable feed, and feeds
    seen changing under the readers."""
    changed = sorted(path for path, etags in tally.etags_per_feed.items() if len(etags) > 1)
    report.figures = {
        "seconds": round(seconds, 1),
        "requests": tally.requests,
        "requests_per_s": round(tally.requests / seconds, 1) if seconds else 0.0,
        "status_200": tally.status_200,
        "status_200_gzip": tally.gzip_200,
        "status_304": tally.status_304,
        "bytes": tally.bytes_received,
        "retried_on_closed": tally.retried_on_closed,
        "latency": latency_figures(tally),
        "distinct_bodies_parsed": len(tally.verdicts),
        "feeds_seen_changing": len(changed),
        "changes_seen_by_readers": tally.changes_seen,
        "needless_200": tally.needless_200,
        **publish_figures(tally),
        "timeouts_on_new_connection": tally.timeouts_on_new_connection,
        "accept_queue_max": tally.accept_queue_max,
        "worker_sockets_max": sorted(tally.worker_sockets_max.values(), reverse=True),
        "incidents": tally.incidents,
        "loop_lag_ms": {
            "p99": nearest_rank(tally.loop_lag, 0.99),
            "max": max(tally.loop_lag) if tally.loop_lag else float("nan"),
        },
    }
    report.errors = dict(tally.errors)
    if tally.publish_failed:
        report.errors["publish (API) failed"] = tally.publish_failed
        report.error_examples["publish (API) failed"] = tally.publish_error
    report.error_examples.update(tally.error_examples)
    report.parse_failures = dict(tally.parse_failures)
    if not changed:
        report.notes.append("no feed was seen changing: the run did not test publishing")
    report.passed = (
        sum(report.errors.values()) == 0
        and sum(report.parse_failures.values()) == 0
        and bool(changed)
    )


def latency_figures(tally: Tally) -> dict[str, dict[str, float]]:
    """Latency percentiles (ms) of every answer, then of each kind of answer."""
    every = [value for values in tally.latencies.values() for value in values]
    return {
        kind: {
            "n": len(values),
            "p50_ms": nearest_rank(values, 0.50),
            "p90_ms": nearest_rank(values, 0.90),
            "p99_ms": nearest_rank(values, 0.99),
            "max_ms": max(values) if values else float("nan"),
        }
        for kind, values in [("all", every), *sorted(tally.latencies.items())]
    }


def publish_figures(tally: Tally) -> dict[str, Any]:
    """The articles published, and how long until a reader of the site feed had each."""
    created = [item for item in tally.published if item.created is not None]
    seen = sorted(
        max(0.0, item.seen - item.created)
        for item in created
        if item.seen is not None and item.created is not None
    )
    return {
        "published": len(created),
        "publish_failed": tally.publish_failed,
        "publish_error": tally.publish_error,
        "published_seen": len(seen),
        "publish_timeline": [
            {
                "created_at_s": round(item.created - tally.began, 2),
                "seen_after_s": None if item.seen is None else round(item.seen - item.created, 2),
            }
            for item in created
            if item.created is not None
        ],
        "publish_to_seen_s": {
            "median": nearest_rank(seen, 0.5),
            "p90": nearest_rank(seen, 0.9),
            "max": max(seen) if seen else float("nan"),
        },
    }


def render(report: Report, profile: Profile) -> str:
    """The table: the run, the machine and the readers' mix, then one row a measure."""
    machine, setup, mix = report.machine, report.setup, report.mix
    table = Table((40,), gap=" ")
    for line in (
        "",
        f"Broadsheet pollers ({report.profile}), {report.started}: "
        f"{mix['pollers']:,} pollers for {profile.seconds:.0f} s while publishing",
        f"machine: {machine['cpus']} CPUs (shared with other work: figures are noisy), "
        f"Python {machine['python']}; load average {machine['load_start']} at start, "
        f"{machine['load_end']} at end",
        f"service: commit {machine['commit']}; SQLite; {setup['articles']:,} articles, "
        f"{setup['feeds']:,} feeds rendered in {setup['render_s']:.1f} s",
        f"web: {machine['web']}"
        + (f" (environment: {machine['granian_env']})" if machine["granian_env"] else ""),
        f"scheduler: broadsheet scheduler; open files limit {machine['nofile']}",
        f"readers: {mix['site']} on site feeds, {mix['category']} on {mix['categories']} "
        f"category feeds; {mix['rss']} RSS, {mix['atom']} Atom, {mix['json']} JSON; "
        f"{mix['conditional']} conditional ({mix['etag_and_date']} ETag+date, "
        f"{mix['etag_only']} ETag, {mix['date_only']} date), {mix['gzip']} gzip; "
        f"think {profile.think_min:g}-{profile.think_max:g} s, started over {profile.ramp:g} s",
        f"publisher: one article every {profile.publish_every:g} s (POST /api/v1/articles)",
        "",
    ):
        table.line(line)
    table.row("measure", "value")
    answer_rows(report, table)
    publish_rows(report, table)
    for note in report.notes:
        table.line(f"note: {note}")
    table.line("")
    table.line(
        f"verdict: {verdict(report.passed)}"
        " (zero errors and zero unparsable feeds, with feeds changing under the readers)"
    )
    return table.text()


def answer_rows(report: Report, table: Table) -> None:
    """Requests, errors, unparsable feeds and latencies."""
    figures, row = report.figures, table.row
    seconds = figures["seconds"]
    row("requests", f"{figures['requests']:,} in {seconds:.1f} s ({figures['requests_per_s']:,}/s)")
    row(
        "  200 / 304",
        f"{figures['status_200']:,} ({figures['status_200_gzip']:,} gzip) / "
        f"{figures['status_304']:,}",
    )
    row("  bytes received", f"{figures['bytes'] / 1e6:,.1f} MB")
    row("errors", f"{sum(report.errors.values()):,}")
    for kind, count in sorted(report.errors.items()):
        row(f"  {kind}", f"{count:,}: {report.error_examples.get(kind, '')[:70]}")
    if report.errors.get("timeout"):
        row("    first request on a new connection", f"{figures['timeouts_on_new_connection']:,}")
    row("unparsable feeds", f"{sum(report.parse_failures.values()):,}")
    for problem, count in sorted(report.parse_failures.items()):
        row(f"  {count:,} x", problem[:70])
    row("distinct bodies parsed", f"{figures['distinct_bodies_parsed']:,}")
    row("kept-alive connection closed, retried", f"{figures['retried_on_closed']:,}")
    row("latency (ms)", f"{'n':>8} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8}")
    for kind, values in figures["latency"].items():
        row(
            f"  {kind}",
            f"{values['n']:>8,} {values['p50_ms']:>8.1f} {values['p90_ms']:>8.1f} "
            f"{values['p99_ms']:>8.1f} {values['max_ms']:>8.1f}",
        )
    lag = figures["loop_lag_ms"]
    row("  client event-loop lag", f"p99 {lag['p99']:.1f}, max {lag['max']:.1f}")


def publish_rows(report: Report, table: Table) -> None:
    """Publishing as the readers saw it, and the server's sockets and CPU time."""
    figures, row = report.figures, table.row
    row("articles published", f"{figures['published']:,} ({figures['publish_failed']:,} failed)")
    seen = figures["publish_to_seen_s"]
    row(
        "  201 -> first reader has it (site)",
        f"{figures['published_seen']:,} seen; median {seen['median']:.2f} s, "
        f"p90 {seen['p90']:.2f} s, max {seen['max']:.2f} s",
    )
    row(
        "feeds seen changing",
        f"{figures['feeds_seen_changing']:,} of {report.mix['feeds']:,} polled; "
        f"{figures['changes_seen_by_readers']:,} new ETags seen by readers",
    )
    row("200 for the ETag the reader held", f"{figures['needless_200']:,}")
    row(
        "web workers' open sockets (max each)",
        " / ".join(f"{n:,}" for n in figures["worker_sockets_max"]),
    )
    row("connections waiting to be accepted (max)", f"{figures['accept_queue_max']:,}")
    row("client CPU / web CPU / scheduler CPU", report.machine.get("cpu_seconds", "?"))
