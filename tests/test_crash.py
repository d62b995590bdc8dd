"""A crash loses nothing acknowledged (issue 5, point 3).

The real roles run as processes of their own: ``broadsheet web`` (granian, two workers)
and ``broadsheet scheduler``. Client threads POST ``CRASH_ARTICLES`` articles (10,000 by
default) over HTTP, each with a slug of its own, so a client whose connection died with
the server sends the same article again until it hears 201 (stored now) or 409 (stored by
the attempt whose answer was lost). Meanwhile a killer thread SIGKILLs the web server's
process group or the scheduler at random moments and starts it again, and a poller fetches
the feeds all the time.

What must hold:

- every article that got 201 (or 409 after a lost answer) is stored, and exactly once;
  nothing else got 409, and every request got one of those answers in the end;
- every 200 the poller saw is a valid feed; once a feed had entries it was never served
  empty, never with fewer entries than it had before (no truncation) and never with an
  entry twice;
- both roles start again after every kill;
- after a clean restart the scheduler renders everything within a bounded time, each
  feed lists the newest ``FEED_SIZE`` articles exactly as the database orders them, and
  every stored snapshot is whole: its body parses, its gzip body decompresses to the body
  and its ETag is the hash of the body.

Knobs for local runs: ``CRASH_ARTICLES``, ``CRASH_KILLS``, ``CRASH_CLIENTS``, ``CRASH_SEED``.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import suppress
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import IO
from typing import Any

import httpx
import pytest
from lxml import etree
from sqlalchemy import distinct
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from app.domain import content_etag
from app.storage.database import Database
from app.storage.tables import ArticleRow
from app.storage.tables import FeedSnapshotRow
from app.storage.tables import FeedStateRow
from tests.feedcheck import assert_valid_atom
from tests.feedcheck import assert_valid_json_feed
from tests.feedcheck import assert_valid_rss
from tests.live import free_port
from tests.live import kill_session
from tests.live import run_cli
from tests.live import service_environment

ARTICLES = int(os.environ.get("CRASH_ARTICLES", "10000"))
CLIENTS = int(os.environ.get("CRASH_CLIENTS", "16"))
SEED = int(os.environ.get("CRASH_SEED", str(random.SystemRandom().randrange(2**32))))
FEED_SIZE = 20
# Kills in all, alternately the web role and the scheduler, at random moments of the ingest.
KILLS = int(os.environ.get("CRASH_KILLS", "16"))
INGEST_SECONDS = 1200  # the whole ingest, kills included
START_SECONDS = 60  # a role that is not up by then cannot restart
RENDER_SECONDS = (
    120  # after the clean restart, everything is rendered by then (one lease and a full pass)
)
SECTIONS = ("Política", "Economia", "Esportes", "Cultura")
AUTHORS = ("Ana Souza", "Bruno Lima", "Carla Dias")
# Every article is in "Cidades": its category feed is as full as the site feed.
FEEDS = ("/feed.rss", "/feed.atom", "/feed.json", "/category/cidades/feed.atom")


@dataclass
class Role:
    """One role of the service, run as its own process group so that a kill takes it all."""

    name: str
    env: dict[str, str]
    cwd: Path
    log: IO[bytes]
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", self.name],
            env=self.env,
            cwd=self.cwd,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )
        self.starts += 1

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the role and every process it started (granian and its workers too),
        and reap the leader."""
        assert self.process is not None
        kill_session(self.process.pid)
        self.process.wait(timeout=30)
        self.kills += 1

    def stop(self) -> None:
        """Stop the role as an operator would (SIGTERM), then make sure nothing is left."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        kill_session(self.process.pid)
        self.process.wait(timeout=30)

    def _signal_group(self, signum: int) -> None:
        assert self.process is not None
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)


@dataclass
class Ingest:
    """What the clients saw: which slugs were acknowledged, and anything unexpected."""

    acknowledged: set[str] = field(default_factory=set)
    after_lost_answer: set[str] = field(default_factory=set)
    lost_answers: int = 0
    unavailable: int = 0
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Polls:
    """What the poller saw, per feed path."""

    ok: int = 0
    down: int = 0
    not_yet: int = 0
    rounds: int = 0  # rounds of every feed, in one encoding each
    most_entries: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FEEDS, 0))
    problems: list[str] = field(default_factory=list)


def _article(index: int, first: datetime) -> dict[str, Any]:
    return {
        "title": f"Boletim {index:05d}: obras na avenida do rio",
        "slug": f"boletim-{index:05d}",
        "summary": f"Resumo do boletim {index}.",
        "body": f"**Boletim {index}.** A obra segue no trecho {index % 97}.",
        "authors": [{"name": AUTHORS[index % len(AUTHORS)]}],
        "categories": ["Cidades", SECTIONS[index % len(SECTIONS)]],
        "tags": [f"trecho-{index % 5}"],
        # Three hours apart, the newest sent last.
        "published_at": (first + timedelta(hours=3 * index)).isoformat(),
    }


def _progress(ingest: Ingest) -> int:
    with ingest.lock:
        return len(ingest.acknowledged) + len(ingest.after_lost_answer)


def _slug(index: int) -> str:
    return f"boletim-{index:05d}"


def _entries(path: str, body: bytes) -> list[str]:
    """The entry links of a feed body, after validating it in its format."""
    if path.endswith(".json"):
        return [item["url"] for item in assert_valid_json_feed(body)["items"]]
    if path.endswith(".rss"):
        return [entry.link for entry in assert_valid_rss(body).entries]
    return [entry.link for entry in assert_valid_atom(body).entries]


def _wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} not within {seconds} s"
        time.sleep(0.1)


def _answers(client: httpx.Client, path: str) -> bool:
    try:
        return client.get(path).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def _roles(env: dict[str, str], cwd: Path) -> Iterator[tuple[Role, Role]]:
    """The web and scheduler roles, started; both stopped (and their groups killed) after."""
    with (cwd / "web.log").open("ab") as web_log, (cwd / "scheduler.log").open("ab") as sched_log:
        web = Role("web", env, cwd, web_log)
        scheduler = Role("scheduler", env, cwd, sched_log)
        try:
            web.start()
            scheduler.start()
            yield web, scheduler
        finally:
            for role in (web, scheduler):
                role.stop()


def _log_tail(cwd: Path, name: str) -> str:
    text = (cwd / f"{name}.log").read_text(encoding="utf-8", errors="replace")
    return f"--- {name}.log (end) ---\n{text[-4000:]}"


@pytest.mark.postgres
def test_crashes_lose_nothing_acknowledged(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = service_environment(
        database_url,
        port,
        SERVER_WORKERS="2",
        SERVER_THREADS="8",
        FEED_ITEM_LIMIT=str(FEED_SIZE),
        # Every request checks for new snapshots first, so what one client sees never
        # goes back in time (the poller's no-truncation check relies on it).
        SERVER_FEED_REFRESH_SECONDS="0",
    )
    secret = run_cli(env, tmp_path, "token", "create", "--name", "crash").strip()
    print(f"\ncrash test: seed {SEED}, {ARTICLES} articles, {CLIENTS} clients")
    rng = random.Random(SEED)
    # Every article dated in the past, so each is public when it is stored.
    month_start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    first = month_start - timedelta(hours=3 * ARTICLES + 24)
    ingest = Ingest()
    polls = Polls()
    stop = threading.Event()
    killer_problems: list[str] = []
    web_restarts: list[float] = []

    with _roles(env, tmp_path) as (web, scheduler):
        probe = httpx.Client(base_url=base, timeout=5)
        try:
            _wait_until(lambda: _answers(probe, "/healthz"), START_SECONDS, "the web role")

            def send(indices: range) -> None:
                headers = {"Authorization": f"Bearer {secret}"}
                with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
                    for index in indices:
                        payload = _article(index, first)
                        answer_lost = False
                        while not stop.is_set():
                            try:
                                response = client.post("/api/v1/articles", json=payload)
                            except httpx.TransportError:
                                # The server died with the request in flight: it may or may
                                # not have stored the article. The slug makes a retry safe.
                                answer_lost = True
                                with ingest.lock:
                                    ingest.lost_answers += 1
                                time.sleep(0.2)
                                continue
                            if response.status_code == 503:
                                with ingest.lock:
                                    ingest.unavailable += 1
                                time.sleep(0.2)
                                continue
                            with ingest.lock:
                                if response.status_code == 201:
                                    ingest.acknowledged.add(payload["slug"])
                                elif response.status_code == 409 and answer_lost:
                                    ingest.after_lost_answer.add(payload["slug"])
                                else:
                                    ingest.problems.append(
                                        f"{payload['slug']}: {response.status_code} "
                                        f"{response.text[:300]}"
                                    )
                            break

            def kill_at_random() -> None:
                # The moments: random points of the ingest's progress, so that kills strike
                # all through it, each at least half a second after the role came back.
                moments = sorted(rng.randrange(ARTICLES) for _ in range(KILLS))
                for number, moment in enumerate(moments):
                    while _progress(ingest) < moment:
                        if stop.wait(0.05):
                            return
                    if stop.wait(rng.uniform(0.5, 3.0)):
                        return
                    for role in (web, scheduler):
                        if not role.running():
                            killer_problems.append(f"{role.name} died on its own")
                            return
                    role = (web, scheduler)[number % 2]
                    role.kill()
                    role.start()
                    if role is web:
                        restarted = time.monotonic()
                        try:
                            _wait_until(
                                lambda: _answers(probe, "/healthz"), START_SECONDS, "web restart"
                            )
                        except AssertionError as error:
                            killer_problems.append(str(error))
                            return
                        web_restarts.append(time.monotonic() - restarted)

            def poll() -> None:
                with httpx.Client(base_url=base, timeout=10) as client:
                    identity = False
                    while not stop.is_set():
                        identity = not identity
                        # Both stored bodies get served: identity and gzip.
                        headers = {"Accept-Encoding": "identity" if identity else "gzip"}
                        for path in FEEDS:
                            try:
                                response = client.get(path, headers=headers)
                            except httpx.TransportError:
                                polls.down += 1
                                continue
                            if response.status_code == 404 and polls.most_entries[path] == 0:
                                polls.not_yet += 1  # not rendered yet: nothing published
                                continue
                            polls.ok += 1
                            problem = _check_poll(path, response, polls.most_entries)
                            if problem:
                                polls.problems.append(problem)
                        polls.rounds += 1
                        time.sleep(0.05)

            senders = [
                threading.Thread(target=send, args=(range(n, ARTICLES, CLIENTS),), daemon=True)
                for n in range(CLIENTS)
            ]
            killer = threading.Thread(target=kill_at_random, daemon=True)
            poller = threading.Thread(target=poll, daemon=True)
            started = time.monotonic()
            for thread in [*senders, killer, poller]:
                thread.start()
            try:
                deadline = started + INGEST_SECONDS
                for thread in senders:
                    thread.join(timeout=max(0.0, deadline - time.monotonic()))
                ingest_seconds = time.monotonic() - started
                assert not any(thread.is_alive() for thread in senders), (
                    f"the ingest did not finish in {INGEST_SECONDS} s; "
                    f"{len(ingest.acknowledged)} acknowledged"
                )
            finally:
                if any(thread.is_alive() for thread in senders):
                    stop.set()
                # The last kill may come just after the last answer. The poller goes on
                # through the clean restart below.
                killer.join(timeout=START_SECONDS + 30)

            rate = ARTICLES / ingest_seconds
            print(
                f"ingest: {ingest_seconds:.1f} s, {rate:.1f} articles/s; kills: web "
                f"{web.kills}, scheduler {scheduler.kills}; lost answers {ingest.lost_answers}"
                f" (409 after one: {len(ingest.after_lost_answer)}); 503: {ingest.unavailable}"
            )
            if web_restarts:
                print(
                    f"web restarts: {sum(web_restarts) / len(web_restarts):.1f} s on average, "
                    f"{max(web_restarts):.1f} s at most"
                )
            assert not killer_problems, "\n".join(
                [*killer_problems, _log_tail(tmp_path, "web"), _log_tail(tmp_path, "scheduler")]
            )
            assert not ingest.problems, "\n".join(ingest.problems[:20])
            assert web.kills + scheduler.kills == KILLS, "the killer did not strike every time"

            # A clean restart, then the scheduler catches up within a bounded time.
            for role in (web, scheduler):
                role.stop()
            for role in (web, scheduler):
                role.start()
            _wait_until(lambda: _answers(probe, "/healthz"), START_SECONDS, "the web role")
            database = Database(database_url)
            try:
                render_started = time.monotonic()
                try:
                    _wait_until(
                        lambda: _all_rendered(database),
                        RENDER_SECONDS,
                        "every feed rendered",
                    )
                except AssertionError as error:
                    raise AssertionError(
                        f"{error}; not rendered: {_pending(database)}\n"
                        + _log_tail(tmp_path, "scheduler")
                    ) from None
                render_seconds = time.monotonic() - render_started
                print(f"clean restart: no feed behind after {render_seconds:.1f} s")
                # Polls see the final snapshots: a whole round in each encoding that
                # started after every feed was rendered (the one under way may not have).
                seen = polls.rounds
                _wait_until(lambda: polls.rounds >= seen + 3, 30, "polls of the final feeds")
            finally:
                stop.set()
                poller.join(timeout=30)
            print(
                f"polls: {polls.ok} answered, {polls.down} while the server was down, "
                f"{polls.not_yet} before the first render"
            )
            assert not polls.problems, "\n".join(polls.problems[:20])
            assert polls.ok > 0

            try:
                _check_stored(database, ingest)
                _check_snapshots(database)
                _check_feeds(database, probe, base)
                _check_api_total(probe, secret)
            finally:
                database.dispose()
        finally:
            stop.set()
            probe.close()


def _check_poll(path: str, response: httpx.Response, most_entries: dict[str, int]) -> str | None:
    """What is wrong with one answer of the poller, if anything."""
    if response.status_code != 200:
        return f"{path}: {response.status_code} {response.text[:200]}"
    try:
        links = _entries(path, response.content)
    except (AssertionError, etree.XMLSyntaxError, json.JSONDecodeError) as error:
        return f"{path}: invalid feed served: {error}"
    count, most = len(links), most_entries[path]
    most_entries[path] = max(most, count)
    if len(set(links)) != count:
        return f"{path}: an entry twice in one feed"
    if most and not count:
        return f"{path}: served empty after {most} entries"
    if count < min(most, FEED_SIZE):
        return f"{path}: served {count} entries after {most} (truncated)"
    if count > FEED_SIZE:
        return f"{path}: {count} entries, more than the feed size {FEED_SIZE}"
    return None


def _all_rendered(database: Database) -> bool:
    """Whether no feed has writes left, and every feed was rendered once (the site feed
    among them). A restarted scheduler renders only what is left, so this proves that no
    claim left by a killed scheduler holds up the new one for long."""
    with database.read() as session:
        behind = session.scalar(
            select(func.count())
            .select_from(FeedStateRow)
            .where(
                or_(
                    FeedStateRow.dirty_version > FeedStateRow.rendered_version,
                    FeedStateRow.rendered_at.is_(None),
                )
            )
        )
        site = session.scalar(
            select(func.count()).select_from(FeedStateRow).where(FeedStateRow.scope_key == "site")
        )
    return behind == 0 and site == 1


def _pending(database: Database) -> list[tuple[str, int, int, str]]:
    """The feeds with writes left or never rendered: key, versions and claim."""
    with database.read() as session:
        rows = session.execute(
            select(
                FeedStateRow.scope_key,
                FeedStateRow.dirty_version,
                FeedStateRow.rendered_version,
                FeedStateRow.claimed_until,
            ).where(
                or_(
                    FeedStateRow.dirty_version > FeedStateRow.rendered_version,
                    FeedStateRow.rendered_at.is_(None),
                )
            )
        )
        return [
            (key, dirty, rendered, f"claimed until {claim}") for key, dirty, rendered, claim in rows
        ]


def _check_stored(database: Database, ingest: Ingest) -> None:
    """Every acknowledged article is stored exactly once, and nothing else is."""
    answered = ingest.acknowledged | ingest.after_lost_answer
    assert not ingest.acknowledged & ingest.after_lost_answer
    assert len(answered) == ARTICLES, f"{ARTICLES - len(answered)} articles never answered"
    with database.read() as session:
        slugs = Counter(session.scalars(select(ArticleRow.slug)))
        titles = Counter(session.scalars(select(ArticleRow.title)))
    missing = sorted(answered - set(slugs))
    assert not missing, f"{len(missing)} acknowledged articles lost, e.g. {missing[:5]}"
    extra = sorted(set(slugs) - answered)
    assert not extra, f"stored but never acknowledged: {extra[:5]}"
    assert sum(slugs.values()) == ARTICLES
    assert titles.most_common(1)[0][1] == 1, f"stored twice: {titles.most_common(3)}"


def _check_snapshots(database: Database) -> None:
    """Every stored snapshot is whole: parses, its gzip matches, its ETag is its hash."""
    with database.read() as session:
        rows = session.execute(
            select(
                FeedSnapshotRow.feed_key,
                FeedSnapshotRow.body,
                FeedSnapshotRow.body_gzip,
                FeedSnapshotRow.etag,
            )
        ).all()
    assert rows
    for row in rows:
        # A feed is stored as "scope:format"; a sitemap or robots.txt under its own path.
        fmt = row.feed_key.rsplit(".", 1)[1] if row.feed_key.startswith("/") else ""
        fmt = fmt or row.feed_key.rsplit(":", 1)[1]
        try:
            if fmt == "json":
                json.loads(row.body)
            elif fmt == "txt":
                row.body.decode("utf-8")
            else:
                etree.fromstring(row.body, etree.XMLParser(resolve_entities=False))
        except (ValueError, etree.XMLSyntaxError) as error:
            raise AssertionError(f"snapshot {row.feed_key} does not parse: {error}") from error
        assert gzip.decompress(row.body_gzip) == row.body, f"{row.feed_key}: gzip differs"
        assert row.etag == content_etag(row.body), f"{row.feed_key}: ETag is not of its body"


def _check_feeds(database: Database, client: httpx.Client, base: str) -> None:
    """Each feed holds the articles published last as the database numbered them, listed
    newest date first (articles of one date in the order they were numbered, newest first),
    and every article has its own number."""
    with database.read() as session:
        newest = session.execute(
            select(ArticleRow.slug, ArticleRow.published_at)
            .where(ArticleRow.deleted_at.is_(None))
            .order_by(ArticleRow.sequence.desc())
            .limit(FEED_SIZE)
        ).all()
        numbered = session.scalar(select(func.count(distinct(ArticleRow.sequence))))
    assert numbered == ARTICLES
    assert len(newest) == FEED_SIZE
    by_date = sorted(newest, key=lambda row: row.published_at, reverse=True)
    expected = [f"{base}/articles/{row.slug}" for row in by_date]
    for path in FEEDS:
        response = client.get(path)
        assert response.status_code == 200, path
        assert _entries(path, response.content) == expected, path


def _check_api_total(client: httpx.Client, secret: str) -> None:
    response = client.get(
        "/api/v1/articles",
        params={"status": "published", "per_page": 1},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200
    assert response.json()["total"] == ARTICLES
