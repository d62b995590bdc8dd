"""What feed profiles cost a render: entries rendered per second in each profile.

How: articles of the benchmark corpus (HTML bodies of 2-6 KB with paragraphs, subheadings,
lists, quotes and figures) are built as every way in builds them (``build_article``) and
made feed entries; then their bytes are rendered in the three formats as a render pass
renders the entries it has not stored (``RenderedEntries.render``, 20 entries a feed),
each profile in turn, best of five rounds. Nothing is kept in memory between rounds, and no
database is involved: the cut is all that differs. The write path is not touched by
profiles (an article is stored as before; only the render cuts).

``python -m bench.profiles [--articles 600]``
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC
from datetime import datetime

from app.articles import ArticleInput
from app.articles import build_article
from app.documents import build_document
from app.documents import feed_entry
from app.domain import SITE_SCOPE
from app.domain import ArticleVersion
from app.entries import RenderedEntries
from app.inputs import domain_values
from app.profiles import parse_profile
from app.rendering import FeedEntry
from app.settings import Settings
from app.settings_sources import load_settings
from app.teasers import leading_paragraphs
from app.transfer.records import ArticleRecord
from bench.corpus import CorpusGenerator

PROFILES = ("full", "summary", "paragraphs:3", "paragraphs:1")
FEED_SIZE = 20
ROUNDS = 5
NOW = datetime(2026, 12, 7, tzinfo=UTC)


def corpus_entries(settings: Settings, count: int) -> list[tuple[ArticleVersion, FeedEntry]]:
    """``count`` corpus articles as feed entries, each with its version."""
    made = []
    for index, record in enumerate(CorpusGenerator().articles(count)):
        parsed = ArticleRecord.model_validate_json(json.dumps(record))
        article = build_article(
            ArticleInput(**domain_values(parsed)),
            settings,
            article_id=f"tag:bench.example,2026:article:{index}",
            created_at=NOW,
            updated_at=NOW,
            revision=1,
        )
        assert article.published_at is not None
        version = ArticleVersion(
            article.id, 1, article.updated_at, article.published_at, article.language
        )
        made.append((version, feed_entry(article, settings.base_url)))
    return made


def entries_per_second(
    settings: Settings, entries: list[tuple[ArticleVersion, FeedEntry]]
) -> dict[str, float]:
    """Each profile's best of :data:`ROUNDS` renders of every entry; the profiles take
    turns within each round, so that a change in the machine's load weighs on them all."""
    document = build_document(
        settings, "tag:bench.example,2026:feed:", SITE_SCOPE, "", "pt-BR", NOW
    )
    best = dict.fromkeys(PROFILES, float("inf"))
    for _ in range(ROUNDS):
        for name in PROFILES:
            profile = parse_profile(name)
            rendered = RenderedEntries(settings)  # nothing kept from the round before
            context = rendered.context("pt-BR", profile)
            started = time.perf_counter()
            for start in range(0, len(entries), FEED_SIZE):
                batch = entries[start : start + FEED_SIZE]
                rendered.render(context, profile, document, batch)
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: len(entries) / seconds for name, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=600)
    count = parser.parse_args().articles
    settings = load_settings({"feed_render_cache_bytes": 0}, environ={})
    entries = corpus_entries(settings, count)
    bodies = [entry.content_html or "" for _, entry in entries]
    started = time.perf_counter()
    for body in bodies:
        leading_paragraphs(body, 3)
    cut_us = (time.perf_counter() - started) / len(bodies) * 1e6
    print(f"{count} corpus entries, {sum(map(len, bodies)) // len(bodies)} bytes of HTML each")
    print(f"the cut alone (paragraphs:3): {cut_us:.0f} µs an entry")
    rates = entries_per_second(settings, entries)
    for name, rate in rates.items():
        print(f"{name:>13}: {rate:6.0f} entries/s ({rate / rates['full']:.2f} of full)")


if __name__ == "__main__":
    main()
