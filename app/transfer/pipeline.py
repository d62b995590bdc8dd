"""The content pipeline of an import: each line numbered, parsed, validated and cleaned
exactly as the API would (:func:`app.articles.build_article`), in worker processes when
asked. Nothing here touches the database: storing is :mod:`app.transfer.importing`'s.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from itertools import chain
from itertools import islice
from multiprocessing import get_context

from app.articles import ArticleInput
from app.articles import build_article
from app.content import is_valid_slug
from app.domain import Article
from app.domain import mint_article_id
from app.errors import FieldError
from app.errors import InvalidInput
from app.errors import PayloadTooLarge
from app.inputs import domain_values
from app.json_input import UTF8_BOM
from app.json_input import parse_json
from app.settings import Settings
from app.transfer.records import ArticleRecord
from app.transfer.report import SkippedLine

# Past this many pipeline workers the single writer (the calling process) is the limit.
MAX_DEFAULT_JOBS = 8


def default_jobs() -> int:
    """Pipeline processes for an import: one per CPU this process may run on, at most 8."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_DEFAULT_JOBS, usable or 1))


@dataclass(frozen=True)
class BuiltLine:
    """A line that passed validation and the content pipeline, ready to store."""

    line: int
    article: Article
    former_slugs: tuple[str, ...]
    slug_given: bool
    legacy_paths: tuple[str, ...] = ()


LineOutcome = BuiltLine | SkippedLine
_Numbered = list[tuple[int, bytes | str]]


def build_batches(
    settings: Settings,
    lines: Iterable[bytes | str],
    now: datetime,
    *,
    batch_size: int,
    jobs: int,
) -> Iterator[list[LineOutcome]]:
    """The non-blank ``lines``, ``batch_size`` at a time and in order, each one built or
    refused. With ``jobs`` > 1 and more than one batch (starting processes costs more than
    a small import) the batches are built in that many worker processes, a few ahead of
    the caller; stopping early cancels the work not started.

    ``now`` fills a line's missing times and is the creation time of the ids it mints.
    """
    batches = _numbered_batches(lines, batch_size)
    head = list(islice(batches, 2))
    if jobs <= 1 or len(head) < 2:
        for batch in chain(head, batches):
            yield [_build_line(settings, number, raw, now) for number, raw in batch]
        return
    yield from _build_in_pool(settings, chain(head, batches), now, jobs)


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


def _build_in_pool(
    settings: Settings, batches: Iterator[_Numbered], now: datetime, jobs: int
) -> Iterator[list[LineOutcome]]:
    context = get_context("spawn")  # no inherited database connections in the workers
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start_worker, initargs=(settings,)
    ) as pool:
        pending: deque[Future[list[LineOutcome]]] = deque()
        try:
            for batch in batches:
                pending.append(pool.submit(_build_in_worker, batch, now))
                # Read ahead a little to keep the workers busy, not the whole input.
                if len(pending) > 2 * jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:  # the import stopped early: drop work not started
                future.cancel()


_worker_settings: Settings | None = None


def _start_worker(settings: Settings) -> None:
    global _worker_settings  # one per worker process, set once
    # Only the content pipeline runs here: no database.
    _worker_settings = settings


def _build_in_worker(batch: _Numbered, now: datetime) -> list[LineOutcome]:
    assert _worker_settings is not None
    return [_build_line(_worker_settings, number, raw, now) for number, raw in batch]


def _build_line(settings: Settings, number: int, raw: bytes | str, now: datetime) -> LineOutcome:
    """Parse, validate and clean one line, as the API would; store nothing."""
    try:
        record = parse_json(ArticleRecord, raw, "The line", "The line is invalid.")
    except InvalidInput as refused:
        return SkippedLine(number, tuple(refused.errors))
    errors: list[FieldError] = []
    created_at = _utc(record.created_at or record.updated_at) or now
    updated_at = _utc(record.updated_at) or created_at
    if updated_at < created_at:
        errors.append(FieldError("updated_at", "must not be before created_at"))
    article_id = record.id or mint_article_id(settings.id_authority, created_at)
    try:
        article = build_article(
            ArticleInput(**domain_values(record)),
            settings,
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
    return BuiltLine(
        number,
        article,
        tuple(record.former_slugs),
        record.slug is not None,
        tuple(dict.fromkeys(record.legacy_paths)),
    )


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
