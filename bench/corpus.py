"""A realistic, deterministic newsroom corpus, written as JSON Lines for ``broadsheet import``.

Each line is one article with the API's fields (title, slug, summary, body, body_format,
authors, categories, tags, language, image, published_at). Articles are Portuguese (about
70%) and English, with HTML bodies of 2-6 KB: paragraphs, subheadings, lists, quotes, links
and 1-2 inline ``<figure>``/``<figcaption>`` images with credits; a few carry markup that the
sanitiser must remove (scripts, event handlers, ``javascript:`` links, iframes). Authors (1-2)
come from a pool of 50, categories (1-2) from 200 and tags (2-5) from 1,000, with a Zipf-like
popularity, and publish times are spread evenly (with jitter) over about two years, oldest
first, ending shortly before ``end``.

``python -m bench.corpus --count 1000 --out corpus.jsonl`` writes a file.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from typing import Any

from bench.corpus_pools import AGENCIES
from bench.corpus_pools import DIRTY_SNIPPETS
from bench.corpus_pools import EN_GLUE
from bench.corpus_pools import EN_WORDS
from bench.corpus_pools import PT_GLUE
from bench.corpus_pools import PT_WORDS
from bench.corpus_pools import SEED
from bench.corpus_pools import ascii_slug
from bench.corpus_pools import make_pools

SPAN_DAYS = 730
GENERATOR_VERSION = 1
BRT = timezone(timedelta(hours=-3))


class CorpusGenerator:
    """Makes articles; the same seed and ``end`` give the same corpus."""

    def __init__(self, seed: int = SEED, end: datetime | None = None, part: int = 0) -> None:
        self.rng = random.Random(seed)
        self.pools = make_pools(seed)
        self.end = end or default_end()
        self._sentences = {
            "pt-BR": [self._sentence(PT_WORDS, PT_GLUE) for _ in range(4000)],
            "en": [self._sentence(EN_WORDS, EN_GLUE) for _ in range(3000)],
        }
        self._titles = {
            language: [(title, ascii_slug(title)[:90].rstrip("-")) for title in titles]
            for language, titles in (
                (language, [s.rstrip(".;?")[:110] for s in sentences])
                for language, sentences in self._sentences.items()
            )
        }
        self._blocks = {
            language: [self._block(sentences, kind) for kind in range(len(sentences) * 2)]
            for language, sentences in self._sentences.items()
        }
        # Each part of a corpus written in parallel draws its own numbers.
        self.rng = random.Random(f"{seed}/{part}")

    def _sentence(self, words: list[str], glue: list[str]) -> str:
        rng = self.rng
        parts = [
            rng.choice(glue) if rng.random() < 0.3 else rng.choice(words)
            for _ in range(rng.randint(8, 22))
        ]
        if rng.random() < 0.3:
            parts.insert(rng.randint(1, len(parts)), f"{rng.randint(2, 980)},{rng.randint(1, 9)}%")
        text = " ".join(parts)
        return text[0].upper() + text[1:] + rng.choice((".", ".", ".", ";", "?"))

    def articles(
        self,
        count: int,
        first: int = 0,
        stop: int | None = None,
        span_days: int = SPAN_DAYS,
        spread: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Articles ``first`` to ``stop`` of a corpus of ``count``, oldest first: the first
        ``spread`` (default: all) spread over ``span_days`` before ``end``, any after them
        later still (spare articles for a benchmark to publish, with a time of its own)."""
        start = self.end - timedelta(days=span_days)
        step = timedelta(days=span_days) / max(spread or count, 1)
        for index in range(first, count if stop is None else stop):
            jitter = step * self.rng.random()
            yield self.article(index, start + step * index + jitter)

    def article(self, index: int, published_at: datetime) -> dict[str, Any]:
        """One article published at ``published_at`` (its ``index`` makes the slug unique)."""
        rng = self.rng
        pools = self.pools
        language = "pt-BR" if rng.random() < 0.7 else "en"
        sentences = self._sentences[language]
        title, title_slug = rng.choice(self._titles[language])
        authors = _pick(rng, pools.authors, pools.author_weights, rng.choice((1, 1, 1, 2)))
        categories = _pick(rng, pools.categories, pools.category_weights, rng.choice((1, 1, 2)))
        tags = _pick(rng, pools.tags, pools.tag_weights, rng.randint(2, 5))
        local = published_at.astimezone(BRT if language == "pt-BR" else UTC)
        slug = f"{title_slug}-{index}"
        return {
            "title": title,
            "slug": slug,
            "summary": " ".join(rng.choices(sentences, k=2))[:400],
            "body": self._body(language, local),
            "body_format": "html",
            "authors": authors,
            "categories": categories,
            "tags": tags,
            "language": language,
            "image": self._image(sentences, local),
            "published_at": local.isoformat(timespec="seconds"),
        }

    def _block(self, sentences: list[str], kind: int) -> str:
        """One block of a body: a paragraph (most), a subheading, a list or a quote."""
        rng = self.rng
        if kind % 8 == 3:
            return f"<h2>{rng.choice(sentences).rstrip('.;?')[:80]}</h2>"
        if kind % 11 == 7:
            items = "".join(f"<li>{s}</li>" for s in rng.choices(sentences, k=3))
            return f"<ul>{items}</ul>"
        if kind % 13 == 9:
            return f"<blockquote><p>{rng.choice(sentences)}</p></blockquote>"
        chosen = rng.choices(sentences, k=rng.randint(2, 5))
        if rng.random() < 0.4:
            chosen[0] = f"<strong>{chosen[0]}</strong>"
        if rng.random() < 0.3:
            href = f"https://news.example.org/{rng.randint(2020, 2026)}/{rng.randrange(10**6)}"
            chosen[-1] = f'<a href="{href}">{chosen[-1]}</a>'
        if rng.random() < 0.2:
            chosen[1] = f"<em>{chosen[1]}</em>"
        return f"<p>{' '.join(chosen)}</p>"

    def _body(self, language: str, when: datetime) -> str:
        rng = self.rng
        target = rng.randint(2000, 5400)
        figures = [self._figure(self._sentences[language], when) for _ in range(rng.randint(1, 2))]
        parts: list[str] = []
        size = 0
        for block in rng.choices(self._blocks[language], k=30):
            if len(parts) in (1, 4) and figures:
                parts.append(figures.pop())
                size += len(parts[-1])
            parts.append(block)
            size += len(block)
            if size >= target:
                break
        if rng.random() < 0.05:
            parts.insert(rng.randint(0, len(parts)), rng.choice(DIRTY_SNIPPETS))
        return "\n".join(parts)

    def _image(self, sentences: list[str], when: datetime) -> dict[str, Any]:
        rng = self.rng
        name = f"{rng.getrandbits(48):012x}"
        return {
            "url": f"https://static.example.org/fotos/{when:%Y/%m}/{name}.jpg",
            "type": "image/jpeg",
            "length": rng.randint(40_000, 400_000),
            "width": 1200,
            "height": rng.choice((675, 800, 900)),
            "caption": rng.choice(sentences)[:200],
            "credit": self._credit(),
        }

    def _credit(self) -> str:
        rng = self.rng
        person = rng.choice(self.pools.authors)["name"]
        return f"Foto: {person}/{rng.choice(AGENCIES)}"

    def _figure(self, sentences: list[str], when: datetime) -> str:
        rng = self.rng
        image = self._image(sentences, when)
        src = image["url"] if rng.random() < 0.9 else f"/media/{when:%Y/%m}/{image['url'][-16:]}"
        return (
            f'<figure><img src="{src}" alt="{image["caption"][:80]}" width="1200" '
            f'height="{image["height"]}"><figcaption>{image["caption"]} '
            f'<span class="credit">{image["credit"]}</span></figcaption></figure>'
        )


def _pick(
    rng: random.Random, pool: tuple[Any, ...], weights: tuple[float, ...], count: int
) -> list[Any]:
    chosen: list[Any] = []
    for _ in range(count * 4):
        item = rng.choices(pool, cum_weights=weights)[0]
        if item not in chosen:
            chosen.append(item)
        if len(chosen) == count:
            break
    return chosen


def default_end() -> datetime:
    """The newest publish time of a corpus made today: an hour before today began (UTC), so
    that every run of the day can reuse the same file and its articles are all in the
    past."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=1)


@dataclass(frozen=True)
class CorpusFile:
    """A written corpus: where, how many articles, how big, how long it took."""

    path: Path
    count: int
    size_bytes: int
    seconds: float
    cached: bool = False


def _write_part(args: tuple[str, int, int, int, int, str, int]) -> None:
    path, count, first, stop, seed, end, spread = args
    generator = CorpusGenerator(seed, datetime.fromisoformat(end), part=first)
    with open(path, "w", encoding="utf-8") as out:
        for article in generator.articles(count, first, stop, spread=spread):
            out.write(json.dumps(article, ensure_ascii=False))
            out.write("\n")


def write_jsonl(
    path: Path,
    count: int,
    seed: int = SEED,
    end: datetime | None = None,
    workers: int = 2,
    reuse: bool = False,
    spread: int | None = None,
) -> CorpusFile:
    """Write ``count`` articles, one JSON object a line, oldest first, in ``workers``
    processes; the first ``spread`` (default: all) over the two years before ``end``.
    With ``reuse``, a file already written with the same parameters is kept."""
    started = time.perf_counter()
    end = end or default_end()
    spread = spread or count
    marker = path.with_suffix(".done")
    signature = f"{count} {spread} {seed} {end.isoformat()} {GENERATOR_VERSION}"
    if reuse and path.is_file() and marker.is_file() and marker.read_text() == signature:
        return CorpusFile(path, count, path.stat().st_size, 0.0, cached=True)
    marker.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = max(1, min(workers, count // 1000 or 1))
    bounds = [count * i // parts for i in range(parts + 1)]
    part_paths = [path.with_suffix(f".part{i}") for i in range(parts)]
    jobs = [
        (str(part_paths[i]), count, bounds[i], bounds[i + 1], seed, end.isoformat(), spread)
        for i in range(parts)
    ]
    if parts == 1:
        _write_part(jobs[0])
    else:
        with multiprocessing.get_context("fork").Pool(parts) as pool:
            pool.map(_write_part, jobs)
    with path.open("wb") as out:
        for part_path in part_paths:
            with part_path.open("rb") as part_file:
                shutil.copyfileobj(part_file, out, 1 << 20)
            part_path.unlink()
    marker.write_text(signature)
    return CorpusFile(path, count, path.stat().st_size, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=Path("bench/out/corpus.jsonl"))
    args = parser.parse_args()
    written = write_jsonl(args.out, args.count, args.seed)
    print(
        f"{written.count} articles, {written.size_bytes / 1e6:.1f} MB, "
        f"{written.seconds:.1f} s -> {written.path}"
    )


if __name__ == "__main__":
    main()
