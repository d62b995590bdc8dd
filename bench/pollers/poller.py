"""One feed reader (:class:`Poller`) and what all of them saw (:class:`Tally`): each poll's
status, latency and bytes, and every way an answer can be wrong."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from bench.pollers.client import Answer
from bench.pollers.client import Connection
from bench.pollers.client import ProtocolError
from bench.pollers.readers import MEDIA_TYPES
from bench.pollers.readers import Reader
from bench.pollers.readers import check_body


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


def mark_seen(tally: Tally, text: bytes) -> None:
    """Note the first time a site feed carrying a just-published article reached a reader."""
    now = time.perf_counter()
    for item in tally.published:
        if item.seen is None and item.slug.encode() in text:
            item.seen = now
