"""Commands on the site's content: migrate, demo, regenerate, export, stats (import is
:mod:`app.cli.imports`)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime

import click

from app.cli.common import command_services
from app.cli.common import domain_errors
from app.cli.common import exit_with_parent


@click.command()
@domain_errors
def migrate() -> None:
    """Bring the database schema up to date (safe to run at every deploy)."""
    with command_services() as services:
        services.operations.migrate()
        url = services.database.url.render_as_string()
    click.echo(f"database at the newest schema: {url}")


@click.command()
@domain_errors
def demo() -> None:
    """Load the demo articles that are not there yet."""
    from app.demo import load_demo

    with command_services() as services:
        added = load_demo(services.articles, services.clock())
    click.echo(f"demo articles added: {added}")


@click.command()
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    help="Processes that render side by side  [default: one per CPU, at most 8].",
)
@domain_errors
def regenerate(jobs: int | None) -> None:
    """Render every feed once, now, archive pages included (what the scheduler does at
    start when this version or a setting shown in feeds changed)."""
    from app.transfer.pipeline import default_jobs

    with command_services() as services:
        now = services.clock()
        services.renderer.mark_all_feeds_stale(now)
    count = jobs or default_jobs()
    if count == 1:
        reports = [_render_pass(now)]
    else:
        # Each process claims feeds a few at a time, as schedulers do, so they share the
        # work without rendering any feed twice.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(count, mp_context=spawn) as pool:
            reports = list(pool.map(_render_pass, [now] * count))
    scopes, changed, failed = (sum(report[i] for report in reports) for i in range(3))
    click.echo(f"scopes rendered: {scopes}; documents changed: {changed}; failed: {failed}")
    if failed:
        raise SystemExit(1)


def _render_pass(now: datetime) -> tuple[int, int, int]:
    """One process's share of a regenerate: (scopes rendered, documents changed, failed)."""
    exit_with_parent()
    with command_services() as services:
        report = services.renderer.render_due_feeds(now)
    return len(report.scopes), len(report.changed), len(report.failed)


@click.command("export")
@click.option(
    "--output",
    "-o",
    default="-",
    show_default="stdout",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    help="Write to this file (replaced only when the export is complete).",
)
@domain_errors
def export_command(output: str) -> None:
    """Write every live article as JSON Lines, in creation order (an imported file's
    articles in the order of its lines)."""
    from app.transfer.export import export_lines

    exported = 0
    with (
        command_services() as services,
        click.open_file(output, "wb", atomic=output != "-") as stream,
    ):
        for line in export_lines(services.articles):
            stream.write(line.encode("utf-8") + b"\n")
            exported += 1
    click.echo(f"articles exported: {exported}", err=True)


@click.command()
@click.option("--days", default=30, show_default=True, help="How many UTC days to add up.")
@domain_errors
def stats(days: int) -> None:
    """Who polls each feed: requests, 304 share, bytes, client families, subscribers."""
    with command_services() as services:
        feeds = services.feeds.poll_stats(services.clock(), days)
    if not feeds:
        click.echo("no feed requests counted yet")
        return
    click.echo(f"{'feed':<40} {'requests':>9} {'304':>6} {'429':>6} {'bytes':>12} {'subs':>6}")
    for feed in feeds:
        click.echo(
            f"{feed.feed_key:<40} {feed.requests:>9} {feed.not_modified_share:>6.0%} "
            f"{feed.throttled:>6} {feed.bytes_sent:>12} {feed.subscribers:>6}"
        )
        for client in feed.clients:
            subscribers = "" if client.subscribers is None else f" ({client.subscribers} subs)"
            click.echo(f"    {client.family:<36} {client.requests:>9}{subscribers}")
