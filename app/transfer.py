"""Use cases: export every live article as JSON Lines, and import such lines back.

The format is one compact JSON object per line, UTF-8, keys in this order::

    id, slug, title, summary, body, body_format, authors [{name, email, url}],
    categories, tags, language, image ({url, type, length, width, height, caption,
    credit} or null), published_at, created_at, updated_at, revision, former_slugs

Times are RFC 3339 in UTC with microseconds, so an export loses nothing; ``body`` is what
the publisher wrote (Markdown or HTML), not the rendered HTML, which an import makes again.
Lines from other systems may leave out ``id``, ``slug``, ``created_at``, ``updated_at``,
``revision`` and ``former_slugs``: the import then mints an id, makes a free slug from the
title, uses ``now`` and revision 1.

Every imported line goes through the API's field rules (:mod:`app.inputs`) and the same
content pipeline (:meth:`Publisher._build_article <app.publishing.Publisher._build_article>`):
sanitising, absolute URLs, XML-invalid characters removed, slug rules. A bad line is
skipped and reported with its number; so is a line whose id or slug another article holds.
Good lines are stored in batches, one transaction each, and the feeds they touch are
marked stale.
"""

from __future__ import annotations

import json
import os
import re
from collections import deque
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from itertools import chain
from itertools import islice
from multiprocessing import get_context
from typing import Annotated

from pydantic import AfterValidator
from pydantic import Field

from app.content import clean_text
from app.content import first_free_slug
from app.content import is_valid_slug
from app.content import numbered_slug_prefix
from app.domain import ARCHIVE
from app.domain import Article
from app.domain import Author
from app.domain import mint_article_id
from app.errors import FieldError
from app.errors import InvalidInput
from app.errors import PayloadTooLarge
from app.inputs import UTF8_BOM
from app.inputs import ArticleCreate
from app.inputs import Instant
from app.inputs import SlugText
from app.inputs import domain_values
from app.inputs import editable_fields
from app.inputs import instant_text
from app.inputs import parse_json
from app.publishing import ArticleInput
from app.publishing import Publisher
from app.publishing import _scope_keys
from app.settings import Settings
from app.storage.articles import ArticleRepository
from app.storage.bulk import BulkArticleWriter
from app.storage.bulk import ConcurrentWrite
from app.storage.bulk import NewArticle
from app.storage.database import Database
from app.storage.feeds import FeedStateRepository
from app.storage.sequence import PublicationOrder

DEFAULT_BATCH_SIZE = 500
# Past this many pipeline workers the single writer (the calling process) is the limit.
MAX_DEFAULT_JOBS = 8
_WRITE_ATTEMPTS = 3


def default_jobs() -> int:
    """Pipeline processes for an import: one per CPU this process may run on, at most 8."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_DEFAULT_JOBS, usable or 1))


# -- export ---------------------------------------------------------------------------------


def export_lines(publisher: Publisher, page_size: int = DEFAULT_BATCH_SIZE) -> Iterator[str]:
    """Every live article as one JSON line (without its newline), in creation order (the
    order they were stored; imported ones in file order).

    Streams: reads ``page_size`` articles at a time, each page in a read transaction of
    its own, paging by storage position, so memory stays flat however many articles there
    are, and an article written during the export is either exported once or not at all.
    """
    after = 0
    while True:
        with publisher.db.read() as session:
            repo = ArticleRepository(session)
            articles, after = repo.live_in_storage_order(after, page_size)
            if not articles:
                return
            former = repo.former_slugs([article.id for article in articles])
        for article in articles:
            yield article_line(article, former.get(article.id, ()))


def article_line(article: Article, former_slugs: Iterable[str] = ()) -> str:
    """One article in the export format: compact JSON, keys in the documented order."""
    record = {
        "id": article.id,
        "slug": article.slug,
        **editable_fields(article),
        "published_at": instant_text(article.published_at),
        "created_at": instant_text(article.created_at),
        "updated_at": instant_text(article.updated_at),
        "revision": article.revision,
        "former_slugs": list(former_slugs),
    }
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    # JSON lets these stand unescaped in strings, but str.splitlines() and JavaScript
    # readers break lines at them; escaped, every line holds exactly one record.
    return text.translate(_LINE_BREAKS)


_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


# -- import ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SkippedLine:
    """A line that was not imported: its number (from 1) and why, field by field."""

    line: int
    errors: tuple[FieldError, ...]

    def __str__(self) -> str:
        # An error of the whole line (field "") is a sentence of its own.
        reasons = "; ".join(
            f"{error.field}: {error.message}" if error.field else error.message
            for error in self.errors
        )
        return f"line {self.line}: {reasons}"


@dataclass
class ImportReport:
    """What an import did: how many articles it stored and which lines it skipped."""

    imported: int = 0
    skipped: list[SkippedLine] = field(default_factory=list)


def import_lines(
    publisher: Publisher,
    lines: Iterable[bytes | str],
    now: datetime,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    jobs: int = 1,
    on_skip: Callable[[SkippedLine], None] | None = None,
) -> ImportReport:
    """Import articles from JSON Lines (the export format); return what was done.

    Each line is validated and cleaned exactly as the API does (so it may be refused for
    the same reasons); refused lines, and lines whose id or slug is already held by an
    article or by an earlier line, are skipped: reported to ``on_skip`` batch by batch, in
    line order, and listed in the report. Blank lines are ignored. Good lines are stored in
    input order, ``batch_size`` per transaction, and their feed scopes are marked stale in
    the same transaction, so the scheduler renders them. ``now`` fills missing times and stamps
    former slugs. With ``jobs`` > 1 the content pipeline (the costly part: Markdown and
    sanitising) runs in that many worker processes while this one writes.

    Re-running an interrupted import is safe for lines that carry an ``id``: those already
    stored are reported as duplicates and nothing is stored twice.

    Raises:
        StorageUnavailable: the database went away; the batches committed before stay.
    """
    report = ImportReport()
    batches = _numbered_batches(lines, batch_size)
    for built in _build_batches(publisher, batches, now, jobs):
        refused = [item for item in built if isinstance(item, SkippedLine)]
        accepted = [item for item in built if isinstance(item, _Built)]
        imported, duplicates = _store(
            publisher.db, accepted, now, publisher.settings.feed_item_limit
        )
        report.imported += imported
        for problem in sorted(refused + duplicates, key=lambda problem: problem.line):
            report.skipped.append(problem)
            if on_skip is not None:
                on_skip(problem)
    return report


@dataclass(frozen=True)
class _Built:
    """A line that passed validation and the content pipeline, ready to store."""

    line: int
    article: Article
    former_slugs: tuple[str, ...]
    slug_given: bool


_Outcome = _Built | SkippedLine
_Numbered = list[tuple[int, bytes | str]]


def _numbered_batches(lines: Iterable[bytes | str], size: int) -> Iterator[_Numbered]:
    """Non-blank lines with their 1-based numbers, ``size`` at a time."""
    numbered = (
        (number, _strip_bom(raw) if number == 1 else raw)
        for number, raw in enumerate(lines, start=1)
        if raw.strip()
    )
    while batch := list(islice(numbered, size)):
        yield batch


def _strip_bom(raw: bytes | str) -> bytes | str:
    if isinstance(raw, bytes):
        return raw.removeprefix(UTF8_BOM)
    return raw.removeprefix("\ufeff")


def _build_batches(
    publisher: Publisher, batches: Iterator[_Numbered], now: datetime, jobs: int
) -> Iterator[list[_Outcome]]:
    """Run every batch through the pipeline, in order; in worker processes when ``jobs`` > 1
    and there is more than one batch (starting processes costs more than a small import)."""
    head = list(islice(batches, 2))
    if jobs <= 1 or len(head) < 2:
        for batch in chain(head, batches):
            yield [_build_line(publisher, number, raw, now) for number, raw in batch]
        return
    context = get_context("spawn")  # no inherited database connections in the workers
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start_worker, initargs=(publisher.settings,)
    ) as pool:
        pending: deque[Future[list[_Outcome]]] = deque()
        try:
            for batch in chain(head, batches):
                pending.append(pool.submit(_build_in_worker, batch, now))
                # Read ahead a little to keep the workers busy, not the whole input.
                if len(pending) > 2 * jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:  # the import stopped early: drop work not started
                future.cancel()


_worker_publisher: Publisher | None = None


def _start_worker(settings: Settings) -> None:
    global _worker_publisher  # one per worker process, set once
    # Only the content pipeline runs here; the database object never connects.
    _worker_publisher = Publisher(Database(settings.database_url), settings)


def _build_in_worker(batch: _Numbered, now: datetime) -> list[_Outcome]:
    assert _worker_publisher is not None
    return [_build_line(_worker_publisher, number, raw, now) for number, raw in batch]


def _build_line(publisher: Publisher, number: int, raw: bytes | str, now: datetime) -> _Outcome:
    """Parse, validate and clean one line, as the API would; store nothing."""
    try:
        record = parse_json(_Record, raw, "The line", "The line is invalid.")
    except InvalidInput as refused:
        return SkippedLine(number, tuple(refused.errors))
    errors: list[FieldError] = []
    created_at = _utc(record.created_at or record.updated_at) or now
    updated_at = _utc(record.updated_at) or created_at
    if updated_at < created_at:
        errors.append(FieldError("updated_at", "must not be before created_at"))
    article_id = record.id or mint_article_id(publisher.settings.id_authority, created_at)
    try:
        article = publisher._build_article(
            ArticleInput(**domain_values(record)),
            article_id=article_id,
            created_at=created_at,
            updated_at=updated_at,
            revision=record.revision or 1,
        )
    except InvalidInput as error:
        errors.extend(error.errors)
    except PayloadTooLarge as error:
        errors.extend(error.errors)
    else:
        errors.extend(_former_slug_errors(article.slug, record.former_slugs))
    if errors:
        return SkippedLine(number, tuple(errors))
    return _Built(number, article, tuple(record.former_slugs), record.slug is not None)


def _store(
    db: Database, built: list[_Built], now: datetime, page_size: int
) -> tuple[int, list[SkippedLine]]:
    """Store a batch in one transaction; return how many were stored and the duplicates.

    The batch's public articles are numbered in publication order, oldest first, after
    every article stored before (``page_size``: the archive page size, if none was
    numbered before); the archive pages they complete are marked stale with their feeds."""
    if not built:
        return 0, []
    attempt = 1
    while True:
        try:
            with db.write() as session:
                writer = BulkArticleWriter(session)
                accepted, duplicates = _claim(writer, built)
                writer.insert(accepted, now)
                if accepted:
                    articles = [item.article for item in accepted]
                    numbered = PublicationOrder(session).number(
                        [article.id for article in articles], now, page_size
                    )
                    scopes = _batch_scope_keys(articles)
                    scopes.update(f"{ARCHIVE}/{page}" for page in numbered.completed_pages)
                    FeedStateRepository(session).mark_dirty(scopes)
            return len(accepted), duplicates
        except ConcurrentWrite:
            # PostgreSQL: another writer took an id or slug after the check; check again.
            if attempt == _WRITE_ATTEMPTS:
                raise
            attempt += 1


def _claim(
    writer: BulkArticleWriter, built: list[_Built]
) -> tuple[list[NewArticle], list[SkippedLine]]:
    """Which lines of a batch may be stored: ids and slugs that no stored article and no
    earlier line holds. A line without a slug gets the first free one of ``slug``,
    ``slug-2``, ``slug-3``... (the rule of :meth:`Publisher.create_article`)."""
    held_ids = writer.existing_ids(item.article.id for item in built)
    unavailable = writer.taken_slugs(
        slug for item in built for slug in (item.article.slug, *item.former_slugs)
    )
    probed: set[str] = set()
    accepted: list[NewArticle] = []
    duplicates: list[SkippedLine] = []
    for item in built:
        article = item.article
        errors: list[FieldError] = []
        if article.id in held_ids:
            errors.append(FieldError("id", "another article has this id"))
        if item.slug_given and article.slug in unavailable:
            errors.append(FieldError("slug", "another article has this slug"))
        errors.extend(
            FieldError(f"former_slugs.{index}", "another article has this slug")
            for index, slug in enumerate(item.former_slugs)
            if slug in unavailable
        )
        if errors:
            duplicates.append(SkippedLine(item.line, tuple(errors)))
            continue
        if not item.slug_given and article.slug in unavailable:
            prefix = numbered_slug_prefix(article.slug)
            if prefix not in probed:
                unavailable |= writer.taken_slugs_starting(prefix)
                probed.add(prefix)
            article = replace(article, slug=first_free_slug(article.slug, unavailable.__contains__))
        held_ids.add(article.id)
        unavailable.update((article.slug, *item.former_slugs))
        accepted.append(NewArticle(article, item.former_slugs))
    return accepted, duplicates


def _batch_scope_keys(articles: list[Article]) -> set[str]:
    """``_scope_keys`` of many new articles, calling it once for all names: each term
    slug costs ~0.3 ms, and names repeat across a batch. (New articles have no archive
    page yet.)"""
    names = replace(
        articles[0],
        sequence=None,
        categories=tuple({name: None for a in articles for name in a.categories}),
        tags=tuple({name: None for a in articles for name in a.tags}),
        authors=tuple({Author(author.name): None for a in articles for author in a.authors}),
    )
    return _scope_keys([names], None)


def _former_slug_errors(slug: str, former_slugs: list[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, former in enumerate(former_slugs):
        if not is_valid_slug(former):
            errors.append(
                FieldError(
                    f"former_slugs.{index}", "must be lowercase letters, digits and single hyphens"
                )
            )
        elif former == slug:
            errors.append(FieldError(f"former_slugs.{index}", "is the article's current slug"))
        elif former in seen:
            errors.append(FieldError(f"former_slugs.{index}", "is listed twice"))
        seen.add(former)
    return errors


def _utc(value: datetime | None) -> datetime | None:
    # Stored times are UTC; normalising here makes the article we hold equal the stored one.
    return value.astimezone(UTC) if value is not None else None


# -- the line format ------------------------------------------------------------------------
# The article fields and their rules are the API's (app/inputs.py); an export adds these.

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def _check_entry_id(value: str) -> str:
    """A URI (``tag:``, ``urn:uuid:``, http...): it becomes the Atom id and RSS guid."""
    if not _URI.match(value) or clean_text(value) != value:
        raise ValueError("must be a URI such as tag:example.org,2026-01-01:article:1")
    return value


_EntryId = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_check_entry_id)]


class _Record(ArticleCreate):
    id: _EntryId | None = None
    created_at: Instant | None = None
    updated_at: Instant | None = None
    revision: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None
    former_slugs: Annotated[list[SlugText], Field(max_length=100)] = Field(default_factory=list)
