"""Who polls what, and what a feed must be: the readers' mix (feed, format, gzip, the
validators they send, their User-Agent) and the checks of every body they get."""

from __future__ import annotations

import gzip
import json
import random
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

from lxml import etree

from bench.feeds import feed_path

ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
# What readers send as User-Agent (the service counts client families by it).
USER_AGENTS = (
    "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 120 subscribers; like FeedFetcher-Google)",
    "Inoreader/1.0 (+http://www.inoreader.com/feed-fetcher; 35 subscribers; )",
    "NetNewsWire (RSS Reader; https://netnewswire.com/)",
    "Miniflux/2.2.0 (https://miniflux.app)",
    "FreshRSS/1.24.0 (Linux; https://freshrss.org)",
    "Tiny Tiny RSS/24.01 (https://tt-rss.org/)",
    "python-feedparser/6.0.11 +https://github.com/kurtmckee/feedparser/",
)


@dataclass(frozen=True)
class Reader:
    """One poller's habits: its feed, whether it asks for gzip, which validators it sends."""

    path: str
    fmt: str
    site: bool
    gzip: bool
    send_etag: bool
    send_date: bool
    user_agent: str

    @property
    def conditional(self) -> bool:
        return self.send_etag or self.send_date


def make_readers(count: int, categories: list[str], seed: int) -> list[Reader]:
    """``count`` readers: two thirds on the site's feeds (RSS the most), the rest on the
    given categories' feeds; 75% conditional (ETag and date, ETag only, date only), 75%
    with gzip."""
    rng = random.Random(seed)
    formats = ("rss", "atom", "json")
    readers: list[Reader] = []
    for _ in range(count):
        fmt = rng.choices(formats, weights=(55, 25, 20))[0]
        site = not categories or rng.random() < 0.65
        scope = "site" if site else f"category/{rng.choice(categories)}"
        validators = rng.choices(
            (("etag", "date"), ("etag",), ("date",), ()), weights=(45, 20, 10, 25)
        )[0]
        readers.append(
            Reader(
                path=feed_path(scope, fmt),
                fmt=fmt,
                site=site,
                gzip=rng.random() < 0.75,
                send_etag="etag" in validators,
                send_date="date" in validators,
                user_agent=rng.choice(USER_AGENTS),
            )
        )
    return readers


def feed_problem(fmt: str, body: bytes) -> str | None:
    """Why ``body`` is not a usable feed of format ``fmt`` (None if it is one)."""
    if not body:
        return "empty body"
    if fmt == "json":
        try:
            document = json.loads(body)
        except ValueError as error:
            return f"JSON: {error}"
        if not isinstance(document, dict) or not str(document.get("version", "")).startswith(
            "https://jsonfeed.org/version/1"
        ):
            return "JSON: not a JSON Feed"
        items = document.get("items")
        return None if isinstance(items, list) and items else "JSON Feed without items"
    try:
        root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as error:
        return f"XML: {error}"
    if fmt == "rss":
        if root.tag != "rss" or root.find("channel") is None:
            return f"RSS: root is {root.tag!s}"
        return None if root.find("channel/item") is not None else "RSS without items"
    if root.tag != f"{ATOM}feed":
        return f"Atom: root is {root.tag!s}"
    return None if root.find(f"{ATOM}entry") is not None else "Atom without entries"


def check_body(fmt: str, raw: bytes, compressed: bool) -> tuple[str | None, bytes]:
    """Why a received body is not a feed (None if it is one), and the feed's bytes."""
    if compressed:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            return f"gzip: {error}", b""
    return feed_problem(fmt, raw), raw


def describe_mix(readers: list[Reader], categories: list[str]) -> dict[str, Any]:
    paths = Counter(reader.path for reader in readers)
    return {
        "pollers": len(readers),
        "site": sum(reader.site for reader in readers),
        "category": sum(not reader.site for reader in readers),
        "categories": len(categories),
        "rss": sum(reader.fmt == "rss" for reader in readers),
        "atom": sum(reader.fmt == "atom" for reader in readers),
        "json": sum(reader.fmt == "json" for reader in readers),
        "conditional": sum(reader.conditional for reader in readers),
        "etag_and_date": sum(reader.send_etag and reader.send_date for reader in readers),
        "etag_only": sum(reader.send_etag and not reader.send_date for reader in readers),
        "date_only": sum(reader.send_date and not reader.send_etag for reader in readers),
        "gzip": sum(reader.gzip for reader in readers),
        "feeds": len(paths),
        "paths": dict(paths),
    }
