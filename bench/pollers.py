"""Issue 5, point 7: a thousand feed readers poll the production server while articles are
published. ``python -m bench.pollers`` (``make bench-pollers``); ``--smoke`` for CI.

The service runs as deployed (``broadsheet migrate``, ``broadsheet import`` of a few
hundred corpus articles, ``broadsheet web`` with the default server settings and
``broadsheet scheduler``) on SQLite in a scratch directory and a free port of 127.0.0.1.
Then, for a fixed time, asyncio pollers each keep one keep-alive connection and fetch one
feed again and again after a random think time, as feed readers do: the site's RSS, Atom
and JSON Feed and the busiest categories' feeds, conditionally (the ETag and/or
Last-Modified of their last answer) or not, with and without gzip. Meanwhile a publisher
POSTs an article to the JSON API at a steady rate, so the feeds change under the readers.

Every answer is checked: a 200 must carry the feed's media type and a body that parses
(gunzipped when gzip was sent; lxml for RSS and Atom, json for JSON Feed) with at least
one entry, and one ETag must always name the same bytes; a 304 must answer a validator the
client sent, with the ETag the client holds. Connection errors, timeouts and any other
status are errors. Bodies are checked once per distinct byte string (by SHA-256), which
keeps the load generator light without trusting anything: a body that differs by one byte
is parsed on its own.

Prints one table (and saves it as ``bench/out/pollers-*.{txt,json}``); exits 1 unless
there were no errors and no unparsable feeds and readers saw feeds change, 2 if the
service could not be set up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import hashlib
import json
import os
import platform
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

from bench import corpus as corpus_module
from bench.procs import BenchError
from bench.procs import command_line
from bench.procs import stop_all
from bench.publish import feed_path
from bench.service import REPO
from bench.service import Service
from bench.service import api_article
from bench.service import read_lines

OUT = REPO / "bench" / "out"
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
class Profile:
    """Sizes and times (seconds) of one kind of run."""

    name: str
    pollers: int
    seconds: float
    articles: int
    categories: int
    think_min: float
    think_max: float
    ramp: float
    publish_every: float
    request_timeout: float
    render_budget: float


FULL = Profile(
    name="full",
    pollers=1000,
    seconds=60,
    articles=300,
    categories=8,
    think_min=0.5,
    think_max=2.0,
    ramp=2.0,
    publish_every=1.0,
    request_timeout=10.0,
    render_budget=180,
)
SMOKE = Profile(
    name="smoke",
    pollers=100,
    seconds=5,
    articles=100,
    categories=4,
    think_min=0.2,
    think_max=1.0,
    ramp=0.5,
    publish_every=1.0,
    request_timeout=10.0,
    render_budget=120,
)


# -- who polls what ---------------------------------------------------------------------


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


# -- a small HTTP/1.1 client: one keep-alive connection, exact control of every header ---


class ProtocolError(Exception):
    """The server's answer is not valid HTTP/1.1 framing."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One keep-alive connection to the server, opened on first use and again after the
    server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0
        self.idle_since = time.perf_counter()

    async def get(self, path: str, headers: list[tuple[str, str]]) -> tuple[Answer, bool]:
        """GET ``path``; the answer, and whether it was sent again on a new connection
        because the server had closed the kept-alive one before answering (RFC 9112
        9.3.1 lets a client retry an idempotent request then)."""
        if self.reader is None or self.reader.at_eof():
            await self.open()
        reused = self.used > 0
        try:
            return await self._exchange(path, headers), False
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as error:
            partial = getattr(error, "partial", b"")
            if not reused or partial:
                raise
        await self.open()
        return await self._exchange(path, headers), True

    async def open(self) -> None:
        self.close()
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, limit=1 << 20
        )
        self.used = 0
        self.idle_since = time.perf_counter()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
        self.used = 0

    async def _exchange(self, path: str, headers: list[tuple[str, str]]) -> Answer:
        assert self.reader is not None and self.writer is not None
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await self.writer.drain()
        self.used += 1
        answer = await self._read_answer()
        self.idle_since = time.perf_counter()
        if answer.headers.get("connection", "").lower() == "close":
            self.close()
        return answer

    async def _read_answer(self) -> Answer:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"bad status line {status_line!r}")
        headers: dict[str, str] = {}
        for line in header_lines:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise ProtocolError(f"bad header line {line!r}")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        status = int(parts[1])
        if status == 304 or status == 204 or status < 200:
            return Answer(status, headers, b"")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return Answer(status, headers, await self._read_chunked())
        if "content-length" in headers:
            length = int(headers["content-length"])
            return Answer(status, headers, await self.reader.readexactly(length))
        body = await self.reader.read()  # no length: the body ends with the connection
        self.close()
        return Answer(status, headers, body)

    async def _read_chunked(self) -> bytes:
        assert self.reader is not None
        chunks: list[bytes] = []
        for _ in range(1_000_000):
            size_line = await self.reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while (await self.reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailer fields
                return b"".join(chunks)
            chunks.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)
        raise ProtocolError("over a million chunks")


# -- what every answer must be --------------------------------------------------------------


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


@dataclass
class Published:
    """An article the publisher sent: when the API created it, when a reader first had it."""

    slug: str
    created: float | None = None
    seen: float | None = None


@dataclass
class Tally:
    """Everything the pollers and the publisher saw."""

    requests: int = 0
    status_200: int = 0
    status_304: int = 0
    gzip_200: int = 0
    bytes_received: int = 0
    retried_on_closed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    error_examples: dict[str, str] = field(default_factory=dict)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    parse_failures: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    verdicts: dict[tuple[str, bool, str], str | None] = field(default_factory=dict)
    etag_bytes: dict[tuple[str, str], str] = field(default_factory=dict)
    etags_per_feed: dict[str, set[str]] = field(default_factory=dict)
    changes_seen: int = 0
    needless_200: int = 0
    timeouts_on_new_connection: int = 0
    published: list[Published] = field(default_factory=list)
    publish_failed: int = 0
    publish_error: str = ""
    loop_lag: list[float] = field(default_factory=list)
    accept_queue_max: int = 0
    worker_sockets_max: dict[int, int] = field(default_factory=dict)
    began: float = field(default_factory=time.perf_counter)

    def error(self, kind: str, example: str, **details: Any) -> None:
        self.errors[kind] += 1
        self.error_examples.setdefault(kind, example[:300])
        self.incident(kind, example=example[:300], **details)

    def incident(self, kind: str, **details: Any) -> None:
        """Keep the details of the first few hundred things that went wrong."""
        if len(self.incidents) < 300:
            at = round(time.perf_counter() - self.began, 3)
            self.incidents.append({"kind": kind, "at_s": at} | details)

    def latency(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds * 1000)


class Poller:
    """One feed reader: polls its feed until the end of the run, keeping what a reader
    keeps (the ETag and Last-Modified of the feed it holds)."""

    def __init__(self, reader: Reader, tally: Tally, host: str, port: int) -> None:
        self.reader = reader
        self.tally = tally
        self.connection = Connection(host, port)
        self.etag: str | None = None
        self.last_modified: str | None = None

    def headers(self) -> tuple[list[tuple[str, str]], str | None, str | None]:
        reader = self.reader
        headers = [("User-Agent", reader.user_agent), ("Accept", MEDIA_TYPES[reader.fmt])]
        headers.append(("Accept-Encoding", "gzip" if reader.gzip else "identity"))
        etag = self.etag if reader.send_etag else None
        since = self.last_modified if reader.send_date else None
        if etag:
            headers.append(("If-None-Match", etag))
        if since:
            headers.append(("If-Modified-Since", since))
        return headers, etag, since

    async def run(
        self,
        start: float,
        stop: float,
        think: tuple[float, float],
        timeout: float,
        rng: random.Random,
    ) -> None:
        """Poll from ``start`` until ``stop`` (loop times), pausing ``think`` seconds (a
        random value in that range) after each answer."""
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, start - loop.time()))
        try:
            while loop.time() < stop:
                await self.poll_once(timeout)
                pause = rng.uniform(*think)
                if loop.time() + pause >= stop:
                    break
                await asyncio.sleep(pause)
        finally:
            self.connection.close()

    async def poll_once(self, timeout: float) -> None:
        tally = self.tally
        headers, sent_etag, sent_since = self.headers()
        began = time.perf_counter()
        tally.requests += 1
        connection = self.connection
        where = {
            "path": self.reader.path,
            "request_on_connection": connection.used + 1,
            "idle_s": round(began - connection.idle_since, 3),
        }
        try:
            async with asyncio.timeout(timeout):
                answer, retried = await connection.get(self.reader.path, headers)
        except TimeoutError:
            connection.close()
            tally.timeouts_on_new_connection += where["request_on_connection"] == 1
            tally.error("timeout", f"{self.reader.path}: no answer in {timeout:.0f} s", **where)
            return
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
            connection.close()
            kind = f"connection: {type(error).__name__}"
            tally.error(kind, f"{self.reader.path}: {error!r}", **where)
            return
        except (ProtocolError, ValueError) as error:
            connection.close()
            tally.error("bad HTTP framing", f"{self.reader.path}: {error!r}", **where)
            return
        elapsed = time.perf_counter() - began
        tally.retried_on_closed += retried
        tally.bytes_received += len(answer.body)
        if answer.status == 200:
            tally.status_200 += 1
            tally.latency("200 gzip" if self.reader.gzip else "200 identity", elapsed)
            self.check_200(answer, sent_etag, sent_since)
        elif answer.status == 304:
            tally.status_304 += 1
            tally.latency("304", elapsed)
            self.check_304(answer, sent_etag, sent_since)
        else:
            tally.latency("other", elapsed)
            tally.error(f"HTTP {answer.status}", f"{self.reader.path}: {answer.body[:200]!r}")

    def check_200(self, answer: Answer, sent_etag: str | None, sent_since: str | None) -> None:
        tally = self.tally
        reader = self.reader
        encoding = answer.headers.get("content-encoding", "identity").lower()
        if encoding not in ("identity", "gzip") or (encoding == "gzip" and not reader.gzip):
            tally.error("wrong Content-Encoding", f"{reader.path}: {encoding}")
            return
        compressed = encoding == "gzip"
        tally.gzip_200 += compressed
        media_type = answer.headers.get("content-type", "").split(";")[0].strip()
        if media_type != MEDIA_TYPES[reader.fmt]:
            tally.error("wrong Content-Type", f"{reader.path}: {media_type!r}")
        digest = hashlib.sha256(answer.body).hexdigest()
        key = (reader.fmt, compressed, digest)
        if key in tally.verdicts:
            problem = tally.verdicts[key]
        else:
            problem, text = check_body(reader.fmt, answer.body, compressed)
            tally.verdicts[key] = problem
            if reader.site and problem is None:
                mark_seen(tally, text)
        if problem is not None:
            tally.parse_failures[problem[:80]] += 1
            tally.incident("unparsable", path=reader.path, gzip=compressed, problem=problem)
            return
        etag = answer.headers.get("etag")
        last_modified = answer.headers.get("last-modified")
        if etag is None or last_modified is None:
            tally.error("no ETag or Last-Modified", reader.path)
        if etag is not None:
            known = tally.etag_bytes.setdefault((reader.path, etag), digest)
            if known != digest:
                tally.error("one ETag, different bytes", f"{reader.path}: {etag}")
            tally.etags_per_feed.setdefault(reader.path, set()).add(etag)
            if self.etag is not None and etag != self.etag:
                tally.changes_seen += 1
            if (sent_etag is not None or sent_since is not None) and etag == self.etag:
                tally.needless_200 += 1
                tally.incident(
                    "200 for the ETag the reader held",
                    path=reader.path,
                    gzip=reader.gzip,
                    if_none_match=sent_etag,
                    if_modified_since=sent_since,
                    etag=etag,
                    last_modified=last_modified,
                )
        self.etag, self.last_modified = etag, last_modified

    def check_304(self, answer: Answer, sent_etag: str | None, sent_since: str | None) -> None:
        tally = self.tally
        if sent_etag is None and sent_since is None:
            tally.error("304 without a validator", self.reader.path)
            return
        etag = answer.headers.get("etag")
        if etag is not None and etag != self.etag:
            # The client keeps bytes with its ETag; a 304 tells it they are current.
            tally.error(
                "304 for bytes the client does not hold",
                f"{self.reader.path}: {etag}",
                held_etag=self.etag,
                if_none_match=sent_etag,
                if_modified_since=sent_since,
                last_modified=answer.headers.get("last-modified"),
            )


def check_body(fmt: str, raw: bytes, compressed: bool) -> tuple[str | None, bytes]:
    """Why a received body is not a feed (None if it is one), and the feed's bytes."""
    if compressed:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            return f"gzip: {error}", b""
    return feed_problem(fmt, raw), raw


def mark_seen(tally: Tally, text: bytes) -> None:
    """Note the first time a site feed carrying a just-published article reached a reader."""
    now = time.perf_counter()
    for item in tally.published:
        if item.seen is None and item.slug.encode() in text:
            item.seen = now


async def publish(
    base_url: str,
    token: str,
    articles: Iterator[dict[str, Any]],
    tally: Tally,
    every: float,
    stop: float,
) -> None:
    """POST one article every ``every`` seconds until ``stop`` (never two at once)."""
    loop = asyncio.get_running_loop()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    next_at = loop.time()
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        for line in articles:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            if loop.time() >= stop:
                return
            next_at += every
            body = api_article(line) | {"published_at": datetime.now(UTC).isoformat()}
            item = Published(line["slug"])
            tally.published.append(item)
            try:
                response = await client.post("/api/v1/articles", json=body)
            except httpx.HTTPError as error:
                tally.publish_failed += 1
                tally.publish_error = tally.publish_error or repr(error)
                continue
            if response.status_code == 201:
                item.created = time.perf_counter()
            else:
                tally.publish_failed += 1
                tally.publish_error = tally.publish_error or (
                    f"{response.status_code} {response.text[:200]}"
                )


async def watch_loop(tally: Tally, stop: float) -> None:
    """How late this process's event loop wakes up (a busy client inflates latencies)."""
    loop = asyncio.get_running_loop()
    while loop.time() < stop:
        asked = loop.time()
        await asyncio.sleep(0.1)
        tally.loop_lag.append((loop.time() - asked - 0.1) * 1000)


def listen_queues(port: int) -> list[int]:
    """For each socket listening on ``port``, the connections the kernel has completed that
    the server has not accepted yet (a LISTEN socket's rx_queue in /proc/net/tcp)."""
    queues = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            queues.append(int(fields[4].split(":")[1], 16))
    return queues


def open_sockets(pid: int) -> int:
    """How many sockets a process has open (its listening socket and its connections)."""
    count = 0
    with contextlib.suppress(OSError):
        for entry in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                count += os.readlink(entry).startswith("socket:")
    return count


async def watch_server(tally: Tally, port: int, workers: list[int], stop: float) -> None:
    """Once a second: connections waiting in the web role's accept queues, and each
    worker's open sockets (the most seen)."""
    loop = asyncio.get_running_loop()
    while loop.time() < stop:
        queued = sum(await asyncio.to_thread(listen_queues, port))
        tally.accept_queue_max = max(tally.accept_queue_max, queued)
        for pid in workers:
            sockets = await asyncio.to_thread(open_sockets, pid)
            tally.worker_sockets_max[pid] = max(tally.worker_sockets_max.get(pid, 0), sockets)
        await asyncio.sleep(1.0)


async def drive(
    profile: Profile,
    readers: list[Reader],
    service: Service,
    token: str,
    articles: Iterator[dict[str, Any]],
    seed: int,
    workers: list[int],
) -> tuple[Tally, float]:
    """Run the pollers and the publisher for ``profile.seconds``; a hard deadline cancels
    whatever is still running ``request_timeout + 5`` seconds after that."""
    tally = Tally()
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    began = loop.time()
    stop = began + profile.ramp + profile.seconds
    tasks = [
        asyncio.create_task(
            Poller(reader, tally, "127.0.0.1", service.port).run(
                began + rng.uniform(0, profile.ramp),
                stop,
                (profile.think_min, profile.think_max),
                profile.request_timeout,
                random.Random(rng.random()),
            )
        )
        for reader in readers
    ]
    tasks.append(
        asyncio.create_task(
            publish(service.base_url, token, articles, tally, profile.publish_every, stop)
        )
    )
    tasks.append(asyncio.create_task(watch_loop(tally, stop)))
    tasks.append(asyncio.create_task(watch_server(tally, service.port, workers, stop)))
    _, pending = await asyncio.wait(tasks, timeout=stop + profile.request_timeout + 5 - began)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5)
        tally.error("still running at the hard deadline", f"{len(pending)} tasks cancelled")
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            tally.error("load generator crashed", repr(task.exception()))
    return tally, loop.time() - began


# -- the service ----------------------------------------------------------------------------


def raise_open_files(needed: int) -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE (children inherit it) to ``needed``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise BenchError(f"{needed} open files needed, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def query(database: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as connection:
        return connection.execute(sql, params).fetchall()


def wait_rendered(database: Path, budget: float, scheduler_started: float) -> float:
    """Wait until the scheduler's start-up pass has rendered every feed; seconds waited."""
    began = time.monotonic()
    deadline = began + budget
    sql = "SELECT count(*) FROM feed_states WHERE dirty_version > rendered_version"
    seen_dirty = False
    while time.monotonic() < deadline:
        dirty = query(database, sql)[0][0]
        seen_dirty = seen_dirty or dirty > 0
        # The start-up pass marks every feed stale a moment after the scheduler starts.
        if dirty == 0 and (seen_dirty or time.monotonic() - scheduler_started > 10):
            return time.monotonic() - began
        time.sleep(0.25)
    raise BenchError(f"the scheduler had not rendered every feed after {budget:.0f} s")


def busiest_categories(database: Path, count: int) -> list[str]:
    rows = query(
        database,
        "SELECT slug, count(*) AS n FROM article_terms WHERE kind = 'category' "
        "GROUP BY slug ORDER BY n DESC, slug LIMIT ?",
        count,
    )
    return [str(row[0]) for row in rows]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def git_commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "--", "app")
    return git("rev-parse", "--short", "HEAD") + (
        " (app/ has uncommitted changes)" if dirty else ""
    )


# -- the report -----------------------------------------------------------------------------


@dataclass
class Report:
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


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (nan for no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(fraction * len(ordered) + 0.999999) - 1))]


def summarise(report: Report, tally: Tally, seconds: float, profile: Profile) -> None:
    every = [value for values in tally.latencies.values() for value in values]
    latency = {
        kind: {
            "n": len(values),
            "p50_ms": percentile(values, 0.50),
            "p90_ms": percentile(values, 0.90),
            "p99_ms": percentile(values, 0.99),
            "max_ms": max(values) if values else float("nan"),
        }
        for kind, values in [("all", every), *sorted(tally.latencies.items())]
    }
    created = [item for item in tally.published if item.created is not None]
    seen = sorted(
        max(0.0, item.seen - item.created)
        for item in created
        if item.seen is not None and item.created is not None
    )
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
        "latency": latency,
        "distinct_bodies_parsed": len(tally.verdicts),
        "feeds_seen_changing": len(changed),
        "changes_seen_by_readers": tally.changes_seen,
        "needless_200": tally.needless_200,
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
            "median": percentile(seen, 0.5),
            "p90": percentile(seen, 0.9),
            "max": max(seen) if seen else float("nan"),
        },
        "timeouts_on_new_connection": tally.timeouts_on_new_connection,
        "accept_queue_max": tally.accept_queue_max,
        "worker_sockets_max": sorted(tally.worker_sockets_max.values(), reverse=True),
        "incidents": tally.incidents,
        "loop_lag_ms": {
            "p99": percentile(tally.loop_lag, 0.99),
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


def render(report: Report, profile: Profile) -> str:
    figures = report.figures
    machine = report.machine
    setup = report.setup
    mix = report.mix
    lines = [
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
        f"{'measure':<40} value",
    ]

    def row(name: str, value: str) -> None:
        lines.append(f"{name:<40} {value}")

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
    row(
        "articles published",
        f"{figures['published']:,} ({figures['publish_failed']:,} failed)",
    )
    seen = figures["publish_to_seen_s"]
    row(
        "  201 -> first reader has it (site)",
        f"{figures['published_seen']:,} seen; median {seen['median']:.2f} s, "
        f"p90 {seen['p90']:.2f} s, max {seen['max']:.2f} s",
    )
    row(
        "feeds seen changing",
        f"{figures['feeds_seen_changing']:,} of {mix['feeds']:,} polled; "
        f"{figures['changes_seen_by_readers']:,} new ETags seen by readers",
    )
    row("200 for the ETag the reader held", f"{figures['needless_200']:,}")
    row(
        "web workers' open sockets (max each)",
        " / ".join(f"{n:,}" for n in figures["worker_sockets_max"]),
    )
    row("connections waiting to be accepted (max)", f"{figures['accept_queue_max']:,}")
    row("client CPU / web CPU / scheduler CPU", machine.get("cpu_seconds", "?"))
    for note in report.notes:
        lines.append(f"note: {note}")
    lines.append("")
    lines.append(
        "verdict: "
        + ("PASS" if report.passed else "FAIL")
        + " (zero errors and zero unparsable feeds, with feeds changing under the readers)"
    )
    return "\n".join(lines)


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


# -- the run --------------------------------------------------------------------------------


def log(began: float, message: str) -> None:
    print(f"[{time.monotonic() - began:6.1f}s] {message}", file=sys.stderr, flush=True)


def run(profile: Profile, seed: int, keep: bool) -> Report:
    began = time.monotonic()
    report = Report(profile.name, datetime.now(UTC).isoformat(timespec="seconds"))
    nofile = raise_open_files(profile.pollers * 2 + 1024)
    report.machine = {
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        "commit": git_commit(),
        "load_start": load_average(),
        "nofile": f"{nofile[0]} (soft)",
        "granian_env": " ".join(
            f"{k}={v}" for k, v in os.environ.items() if k.startswith("GRANIAN_")
        ),
    }
    root = Path(tempfile.mkdtemp(prefix="broadsheet-pollers-"))
    database = root / "broadsheet.db"
    service = Service(root, f"sqlite:///{database}")
    try:
        spare = int(profile.seconds / profile.publish_every) + 10
        corpus = corpus_module.write_jsonl(
            root / "corpus.jsonl", profile.articles + spare, spread=profile.articles
        )
        log(began, f"corpus: {profile.articles} articles (+{spare} to publish) in {root}")
        service.cli("migrate", timeout=120)
        lines = list(read_lines(corpus.path, profile.articles))
        loaded = root / "loaded.jsonl"
        loaded.write_text(
            "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines),
            encoding="utf-8",
        )
        service.cli("import", str(loaded), timeout=300)
        service.start_web()
        token = service.create_token()
        started = time.monotonic()
        service.start_scheduler()
        render_s = wait_rendered(database, profile.render_budget, started)
        feeds = query(database, "SELECT count(*) FROM feed_snapshots")[0][0]
        report.setup = {"articles": profile.articles, "feeds": feeds, "render_s": render_s}
        log(began, f"service up: {feeds} feeds rendered in {render_s:.1f} s")
        categories = busiest_categories(database, profile.categories)
        readers = make_readers(profile.pollers, categories, seed)
        report.mix = describe_mix(readers, categories)
        assert service.web is not None and service.scheduler is not None
        report.machine["web"] = command_line(service.web.pid)
        web_pids = [service.web.pid, *service.web.descendants()]
        scheduler_pids = [service.scheduler.pid, *service.scheduler.descendants()]
        cpu_before = (
            resource.getrusage(resource.RUSAGE_SELF),
            cpu_seconds(web_pids),
            cpu_seconds(scheduler_pids),
        )
        articles = read_lines(corpus.path, spare, skip=profile.articles)
        log(began, f"{profile.pollers} pollers for {profile.seconds:.0f} s...")
        workers = service.web.descendants() or [service.web.pid]
        tally, seconds = asyncio.run(
            drive(profile, readers, service, token, articles, seed, workers)
        )
        usage = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = (usage.ru_utime + usage.ru_stime) - (
            cpu_before[0].ru_utime + cpu_before[0].ru_stime
        )
        report.machine["cpu_seconds"] = (
            f"{client_cpu:.1f} s / {cpu_seconds(web_pids) - cpu_before[1]:.1f} s / "
            f"{cpu_seconds(scheduler_pids) - cpu_before[2]:.1f} s"
        )
        report.machine["load_end"] = load_average()
        for child in (service.web, service.scheduler):
            if not child.alive():
                tally.error(f"{child.name} exited", child.tail(5))
        summarise(report, tally, seconds, profile)
    finally:
        report.machine.setdefault("load_end", load_average())
        service.stop()
        stop_all()
        if keep:
            report.notes.append(f"scratch directory kept: {root}")
        else:
            subprocess.run(["rm", "-rf", str(root)], check=False)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="100 pollers for 5 s (CI)")
    parser.add_argument("--pollers", type=int, help="how many pollers")
    parser.add_argument("--seconds", type=float, help="how long they poll")
    parser.add_argument("--seed", type=int, default=7, help="the readers' mix and think times")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    os.chdir(REPO)
    profile = SMOKE if args.smoke else FULL
    changes = {"pollers": args.pollers, "seconds": args.seconds}
    profile = Profile(**(asdict(profile) | {k: v for k, v in changes.items() if v}))
    try:
        report = run(profile, args.seed, args.keep)
    except BenchError as error:
        print(f"bench.pollers: {error}", file=sys.stderr)
        return 2
    table = render(report, profile)
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    data = asdict(report) | {"profile_settings": asdict(profile)}
    data["mix"].pop("paths", None)
    (OUT / f"pollers-{profile.name}-{stamp}.json").write_text(
        json.dumps(data, indent=2, default=str), encoding="utf-8"
    )
    (OUT / f"pollers-{profile.name}-{stamp}.txt").write_text(table + "\n", encoding="utf-8")
    print(table)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
