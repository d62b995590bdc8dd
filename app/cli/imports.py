"""``broadsheet import [--from jsonl|wordpress|feed] SOURCE``: every source, one import.

Each source is a function that reads its input and gives records (the JSON Lines format
of :mod:`app.transfer.records`, as lines or as dicts), which go through the same pipeline
(:func:`app.transfer.importing.import_lines`): the API's checks, the same content
cleaning, batches stored in order. What differs is only how records are read, so every
source shares the progress display and the closing report below.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import IO
from typing import Any

import click

from app.cli.common import command_services
from app.cli.common import domain_errors
from app.services import Services
from app.transfer.importing import DEFAULT_BATCH_SIZE
from app.transfer.report import ImportReport

#: Plain progress lines (when stderr is not a terminal) come every this many records.
PROGRESS_EVERY = 500
#: How many skipped records the report shows for each reason.
SHOWN_PER_REASON = 3

Record = bytes | str | dict[str, Any]


@dataclass
class SourceContext:
    """What a source may use: the wired services (settings, clock), the options given for
    it, ``notes`` to count what it did to the records (printed in the closing report, e.g.
    "shortcodes removed") and ``log`` for a line to the operator."""

    services: Services
    options: dict[str, Any]
    notes: Counter[str] = field(default_factory=Counter)
    log: Callable[[str], None] = lambda text: click.echo(text, err=True)
    # Entries the source read but could not give as records (each logged with its reason,
    # e.g. a feed entry without an id): lost input, so the command exits 1 as for skipped.
    left_out: int = 0


Source = Callable[[str, SourceContext], Iterable[Record]]


def _jsonl(location: str, context: SourceContext) -> Iterable[Record]:
    """A JSON Lines file as export writes it (``-``: standard input)."""
    stream: IO[bytes] = click.File("rb").convert(location, None, click.get_current_context())
    return stream


def _wordpress(location: str, context: SourceContext) -> Iterable[Record]:
    """A WordPress export (WXR 1.1 or 1.2): its posts, published, scheduled and drafts."""
    from app.transfer.wordpress import wordpress_records

    path = Path(location)
    if not path.is_file():
        raise click.BadParameter(f"no such file: {location}", param_hint="'SOURCE'")
    return wordpress_records(path, context.notes)


def _feed(location: str, context: SourceContext) -> Iterator[Record]:
    """A feed (RSS 2.0, Atom 1.0, JSON Feed 1.x), a file or an http(s) URL, with its whole
    history: RFC 5005 prev-archive pages and WordPress ?paged=N pages, read within
    --max-requests, --interval seconds apart."""
    from app.transfer.feed_source import FeedReading
    from app.transfer.feed_source import feed_records
    from app.transfer.feed_source import user_agent

    services, reading = context.services, FeedReading()
    yield from feed_records(
        location,
        budget=context.options["max_requests"],
        interval=context.options["interval"],
        user_agent=user_agent(services.settings.base_url),
        clock=services.clock,
        log=context.log,
        reading=reading,
    )
    context.notes["feed pages read"] = reading.pages
    if reading.stopped:
        what = "requests made (the whole budget: older pages not read; see --max-requests)"
    else:
        what = "feed requests made"
    context.notes[what] = reading.requests
    if reading.skipped:
        context.notes["feed entries left out (no id)"] = len(reading.skipped)
        context.left_out += len(reading.skipped)


# The sources by the name --from takes. The feed source's options are declared on the
# command below and reach it through ``context.options``.
SOURCES: dict[str, Source] = {
    "jsonl": _jsonl,
    "wordpress": _wordpress,
    "feed": _feed,
}


@click.command("import")
@click.argument("source")
@click.option(
    "--from",
    "kind",
    default="jsonl",
    show_default=True,
    type=click.Choice(sorted(SOURCES)),
    help="What SOURCE is: JSON Lines as export writes them (a file or - for stdin), a "
    "WordPress export (WXR), or a feed.",
)
@click.option(
    "--batch-size",
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Articles stored per transaction.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    help="Processes for the content pipeline  [default: one per CPU, at most 8].",
)
@click.option(
    "--max-requests",
    default=500,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="--from feed: the most HTTP requests to make; past it the pages read are imported.",
)
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, 3600),
    help="--from feed: seconds to wait between two requests to the feed's site.",
)
@domain_errors
def import_command(
    source: str, kind: str, batch_size: int, jobs: int | None, **options: Any
) -> None:
    """Import articles from SOURCE: JSON Lines (the default), a WordPress export or a feed.

    Every record is checked and cleaned as the API does. Records already imported (their
    id is stored) are counted, not stored again, so a second run adds nothing and an
    interrupted one continues. Bad records are skipped and reported by reason; the command
    then exits 1.
    """
    from app.transfer.importing import import_lines
    from app.transfer.pipeline import default_jobs

    with command_services() as services:
        context = SourceContext(services, options)
        records = SOURCES[kind](source, context)
        with _Progress() as progress:
            report = import_lines(
                services.articles,
                _as_lines(records),
                services.clock(),
                batch_size=batch_size,
                jobs=jobs or default_jobs(),
                on_batch=progress.advance,
            )
    _print_report(report, context.notes)
    if report.imported:
        click.echo(
            "feeds marked stale: the scheduler renders them; `broadsheet regenerate` does now",
            err=True,
        )
    if report.skipped or context.left_out:
        raise SystemExit(1)


def _as_lines(records: Iterable[Record]) -> Iterator[bytes | str]:
    for record in records:
        if isinstance(record, dict):
            yield json.dumps(record, ensure_ascii=False)
        else:
            yield record


class _Progress:
    """A progress bar on a terminal; otherwise a plain line every :data:`PROGRESS_EVERY`
    records (a log file or a CI job keeps lines, not redrawn bars)."""

    def __init__(self) -> None:
        self.done = 0
        self.shown = 0
        self.bar: Any = None

    def __enter__(self) -> _Progress:
        if sys.stderr.isatty():
            # The total is not known before the source is read: the bar counts records.
            # click needs an iterable or a length: an empty one without a length (the bar
            # is moved by update() only).
            self.bar = click.progressbar(
                _nothing(), label="importing", show_pos=True, file=sys.stderr
            ).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def advance(self, records: int, report: ImportReport) -> None:
        """``records`` more were read; ``report`` is the import so far."""
        self.done += records
        if self.bar is not None:
            self.bar.update(records)
        elif self.done - self.shown >= PROGRESS_EVERY:
            self.shown = self.done
            click.echo(
                f"... {self.done} read: {report.imported} imported, "
                f"{report.already_imported} already imported, {len(report.skipped)} skipped",
                err=True,
            )


def _nothing() -> Iterator[None]:
    yield from ()


def _print_report(report: ImportReport, notes: Counter[str]) -> None:
    """The closing report: the counts on standard output, the skipped records grouped by
    reason (each group's first few) on standard error."""
    counts = [
        f"{report.imported} imported",
        f"{report.already_imported} already imported",
        f"{len(report.skipped)} skipped",
        f"{report.redirects} redirects made",
        *(f"{count} {what}" for what, count in sorted(notes.items())),
    ]
    click.echo(", ".join(counts))
    if not report.skipped:
        return
    click.echo("skipped, by reason:", err=True)
    by_reason: dict[str, list[str]] = {}
    for problem in report.skipped:
        by_reason.setdefault(problem.reason, []).append(str(problem))
    for reason, problems in sorted(by_reason.items(), key=lambda item: -len(item[1])):
        click.echo(f"  {len(problems)} x {reason}", err=True)
        for shown in problems[:SHOWN_PER_REASON]:
            click.echo(f"      {shown}", err=True)
        if len(problems) > SHOWN_PER_REASON:
            click.echo(f"      ... and {len(problems) - SHOWN_PER_REASON} more", err=True)
