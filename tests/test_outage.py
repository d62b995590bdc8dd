"""The database going away is not an outage for readers (issue 5).

The real service runs as in production (``broadsheet migrate``, then the web role under
granian and the scheduler role, each its own process) on a private PostgreSQL cluster,
which is stopped in the middle of the run, first with ``pg_ctl stop -m fast`` and then,
after recovering, with ``-m immediate`` (a crash). While it is down, feeds and pages
already served keep answering 200 and 304 with the same bytes, writes answer 503 with
Retry-After, and ``/readyz`` says not ready. When it is back, everything recovers by
itself, without a restart: nothing written before is lost or doubled, and nothing refused
was stored.

The web role runs one worker: what survives an outage is what each web process holds in
memory (feeds it has served and the last good rendering of each page it has served), and
the test must know which process served what.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from app.errors import StorageUnavailable
from app.services import build_services
from app.web.application import close_app
from app.web.application import create_app
from tests.conftest import REQUIRE_POSTGRES
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.factories import article_input
from tests.live import free_port
from tests.live import kill_session
from tests.live import run_cli
from tests.live import service_environment
from tests.pgcluster import PostgresCluster
from tests.pgcluster import missing_binaries
from tests.pgcluster import running_cluster

SITE_FEEDS = ("/feed.rss", "/feed.atom", "/feed.json")
CIDADES_FEEDS = ("/category/cidades/feed.rss", "/category/cidades/feed.atom",
                 "/category/cidades/feed.json")  # fmt: skip
CLIMA_FEEDS = ("/category/clima/feed.rss", "/category/clima/feed.atom",
               "/category/clima/feed.json")  # fmt: skip
EVERY_FEED = SITE_FEEDS + CIDADES_FEEDS + CLIMA_FEEDS
OUTAGE_MODES = ("fast", "immediate")


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    problem = missing_binaries()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(problem)
        pytest.skip(problem)
    with running_cluster() as started:
        yield started


@dataclass
class Roles:
    """The web and scheduler processes and where their logs go."""

    web: subprocess.Popen[bytes]
    scheduler: subprocess.Popen[bytes]
    web_log: Path
    scheduler_log: Path

    def assert_alive(self) -> None:
        for name, process in (("web", self.web), ("scheduler", self.scheduler)):
            assert process.poll() is None, f"the {name} role died:\n{self.logs()}"

    def both_say(self, message: str, times: int) -> bool:
        """Whether each role's log holds ``message`` ``times`` times."""
        return all(
            log.read_text(errors="replace").count(message) == times
            for log in (self.web_log, self.scheduler_log)
        )

    def logs(self) -> str:
        return (
            f"--- web ---\n{self.web_log.read_text(errors='replace')[-4000:]}\n"
            f"--- scheduler ---\n{self.scheduler_log.read_text(errors='replace')[-4000:]}"
        )


def _environment(cluster: PostgresCluster, port: int) -> dict[str, str]:
    return service_environment(
        cluster.url,
        port,
        SERVER_WORKERS="1",
        # No safety-net pass during the test: every render follows a write of the test.
        FEED_REGENERATE_SECONDS="3600",
        # Poll counts are written during the outage too.
        STATS_FLUSH_SECONDS="1",
    )


def _start(role: str, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", role],
            env=env,
            cwd=cwd,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the role's main process (it stops granian, granian its workers), then
    whatever is left of its session."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    kill_session(process.pid)


@contextmanager
def running_roles(env: dict[str, str], cwd: Path) -> Iterator[Roles]:
    """`broadsheet web` and `broadsheet scheduler` until the block ends."""
    web_log, scheduler_log = cwd / "web.log", cwd / "scheduler.log"
    started: list[subprocess.Popen[bytes]] = []
    try:
        started.append(_start("web", env, cwd, web_log))
        started.append(_start("scheduler", env, cwd, scheduler_log))
        roles = Roles(started[0], started[1], web_log, scheduler_log)
        try:
            yield roles
        except BaseException:
            print(roles.logs())  # shown by pytest with the failure
            raise
    finally:
        for process in started:
            _stop(process)


def _wait_until(check: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll ``check`` until it holds; fail naming ``what`` after ``seconds``."""
    start = time.monotonic()
    while True:
        with contextlib.suppress(httpx.TransportError):
            if check():
                return time.monotonic() - start
        assert time.monotonic() - start < seconds, f"{what}: not within {seconds} s"
        time.sleep(0.1)


def _article(title: str, categories: list[str]) -> dict[str, object]:
    return {
        "title": title,
        "summary": f"Resumo: {title}.",
        "body": f"**{title}.** Texto da reportagem.",
        "authors": [{"name": "Marta Nogueira"}],
        "categories": categories,
        "published_at": datetime.now(UTC).isoformat(),
    }


@dataclass(frozen=True)
class Published:
    id: str
    title: str
    location: str
    etag: str
    path: str


def _publish(client: httpx.Client, auth: dict[str, str], title: str, *cats: str) -> Published:
    response = client.post("/api/v1/articles", json=_article(title, list(cats)), headers=auth)
    assert response.status_code == 201, response.text
    body = response.json()
    path = body["url"].removeprefix(str(client.base_url).rstrip("/"))
    return Published(body["id"], title, response.headers["location"], response.headers["etag"],
                     path)  # fmt: skip


def _feeds_have(client: httpx.Client, paths: tuple[str, ...], ids: list[str]) -> bool:
    for path in paths:
        response = client.get(path)
        if response.status_code != 200 or not all(id_ in response.text for id_ in ids):
            return False
    return True


def _nothing_to_render(cluster: PostgresCluster) -> bool:
    with cluster.connect() as connection:
        row = connection.execute(
            "SELECT count(*) FROM feed_states"
            " WHERE dirty_version > rendered_version OR claimed_until IS NOT NULL"
        ).fetchone()
    return row is not None and row[0] == 0


def _serves_what_is_stored(
    client: httpx.Client, cluster: PostgresCluster, paths: tuple[str, ...]
) -> bool:
    """Whether the web role serves the feeds of ``paths`` as last rendered (the ETag of the
    identity bytes is the stored one). Each is asked for with an ETag no render made, which
    makes the web process catch up with every render first, for every feed it holds."""
    with cluster.connect() as connection:
        stored = {str(row[0]) for row in connection.execute("SELECT etag FROM feed_snapshots")}
    headers = {"Accept-Encoding": "identity", "If-None-Match": '"never-rendered"'}
    for path in paths:
        response = client.get(path, headers=headers)
        if response.status_code != 200 or response.headers["etag"].strip('"') not in stored:
            return False
    return True


def _capture(client: httpx.Client, paths: list[str]) -> dict[str, httpx.Response]:
    served = {path: client.get(path) for path in paths}
    for path, response in served.items():
        assert response.status_code == 200, (path, response.status_code)
        assert response.headers.get("etag"), path
    return served


def _assert_served_as_before(client: httpx.Client, served: dict[str, httpx.Response]) -> None:
    for path, before in served.items():
        now = client.get(path)
        assert now.status_code == 200, (path, now.status_code, now.text[:300])
        assert now.content == before.content, path
        assert now.headers["etag"] == before.headers["etag"], path
        again = client.get(path, headers={"If-None-Match": before.headers["etag"]})
        assert again.status_code == 304, (path, again.status_code)


def _assert_unavailable(response: httpx.Response, problem_json: bool) -> None:
    assert response.status_code == 503, (response.request.url, response.status_code)
    assert int(response.headers["retry-after"]) > 0
    if problem_json:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 503


def _stored_titles(cluster: PostgresCluster) -> dict[str, int]:
    with cluster.connect() as connection:
        rows = connection.execute(
            "SELECT title, count(*) FROM articles WHERE deleted_at IS NULL GROUP BY title"
        ).fetchall()
    return {str(title): int(count) for title, count in rows}


def test_database_outage_is_not_a_reader_outage(cluster: PostgresCluster, tmp_path: Path) -> None:
    env = _environment(cluster, free_port())
    run_cli(env, tmp_path, "migrate")
    secret = run_cli(env, tmp_path, "token", "create", "--name", "outage").strip()
    auth = {"Authorization": f"Bearer {secret}"}
    base = env["BROADSHEET_SITE_BASE_URL"]
    # One connection per request: what is checked is each answer, and a kept-alive
    # connection that the server closes just as a request goes out fails that request
    # before it reaches the service (seen about once in a few hundred requests, outage or
    # not).
    client = httpx.Client(base_url=base, timeout=10, headers={"Connection": "close"})
    with running_roles(env, tmp_path) as roles, client:
        _wait_until(lambda: client.get("/readyz").status_code == 200, 60, "web role ready")
        articles = [
            _publish(client, auth, "Ponte do Limoeiro reabre após dois anos", "Cidades"),
            _publish(client, auth, "Chuva forte alaga a avenida central", "Cidades", "Clima"),
            _publish(client, auth, "Feira do livro começa no sábado", "Cidades"),
        ]
        ids = [article.id for article in articles]
        _wait_until(lambda: _feeds_have(client, SITE_FEEDS + CIDADES_FEEDS, ids), 30, "feeds")
        # The Clima feeds are served once, then change (a new article) without being
        # served again: the web process must keep them current, not just forget them.
        _wait_until(lambda: _feeds_have(client, CLIMA_FEEDS, ids[1:2]), 30, "clima feeds")
        articles.append(_publish(client, auth, "Frente fria chega na quinta-feira", "Clima"))
        ids.append(articles[-1].id)
        _wait_until(lambda: _feeds_have(client, SITE_FEEDS, ids), 30, "feeds with the 4th")
        _wait_until(lambda: _nothing_to_render(cluster), 30, "every feed rendered")
        # Not the Clima feeds: the outage checks that they were kept current unasked.
        served_feeds = SITE_FEEDS + CIDADES_FEEDS
        _wait_until(
            lambda: _serves_what_is_stored(client, cluster, served_feeds), 30, "cache current"
        )
        pages = ["/", "/category/cidades", *(article.path for article in articles)]
        served = _capture(client, [*SITE_FEEDS, *CIDADES_FEEDS, *pages])
        refused_titles: list[str] = []

        for outage, mode in enumerate(OUTAGE_MODES, start=1):
            cluster.stop(mode)
            # At least 3 s, for scheduler ticks (0.25 s), feed-cache refreshes and a poll-count
            # flush to meet the dead database, and until both roles have said they did.
            outage_started = time.monotonic()
            while True:
                _assert_served_as_before(client, served)
                if outage == 1:
                    for path in CLIMA_FEEDS:
                        current = client.get(path)
                        assert current.status_code == 200, (path, current.status_code)
                        assert articles[-1].id in current.text, path
                assert client.get("/healthz").status_code == 200
                ready = client.get("/readyz")
                assert ready.status_code == 503, ready.text
                _assert_unavailable(client.get("/articles/never-served"), problem_json=False)
                _assert_unavailable(client.get("/api/v1/articles", headers=auth), True)
                title = f"Escrito durante a queda {outage}.{len(refused_titles)}"
                refused_titles.append(title)
                _assert_unavailable(
                    client.post("/api/v1/articles", json=_article(title, ["Cidades"]),
                                headers=auth),
                    problem_json=True,
                )  # fmt: skip
                _assert_unavailable(
                    client.patch(articles[0].location, json={"title": "Título trocado"},
                                 headers={**auth, "If-Match": articles[0].etag}),
                    problem_json=True,
                )  # fmt: skip
                _assert_unavailable(
                    client.delete(articles[2].location,
                                  headers={**auth, "If-Match": articles[2].etag}),
                    problem_json=True,
                )  # fmt: skip
                roles.assert_alive()
                waited = time.monotonic() - outage_started
                if waited > 3 and roles.both_say("database unavailable", outage):
                    break
                assert waited < 30, f"outage {mode}: not noticed by both roles in 30 s"
                time.sleep(0.5)

            cluster.start()
            recovery = _wait_until(
                lambda: client.get("/readyz").status_code == 200, 30, "ready after the outage"
            )
            print(f"outage {mode}: ready {recovery:.2f} s after PostgreSQL started")
            articles.append(_publish(client, auth, f"Tudo volta ao normal ({mode})", "Cidades"))
            ids.append(articles[-1].id)
            _wait_until(
                lambda: _feeds_have(client, SITE_FEEDS + CIDADES_FEEDS, ids[-1:]), 30,
                "the scheduler renders a write made after the outage",
            )  # fmt: skip
            assert _feeds_have(client, SITE_FEEDS, ids)
            for article in articles[:3]:
                current = client.get(article.location, headers=auth)
                assert current.status_code == 200, current.text
                assert current.headers["etag"] == article.etag, "a refused write was stored"
            roles.assert_alive()
            _wait_until(lambda: _nothing_to_render(cluster), 30, "every feed rendered")
            _wait_until(
                lambda: _serves_what_is_stored(client, cluster, EVERY_FEED), 30, "cache current"
            )
            pages.append(articles[-1].path)
            served = _capture(client, [*SITE_FEEDS, *CIDADES_FEEDS, *CLIMA_FEEDS, *pages])

        # Each write that got 201 is stored once; none that got 503 is stored at all.
        stored = _stored_titles(cluster)
        assert stored == {article.title: 1 for article in articles}, stored
        assert not set(refused_titles) & set(stored)
        items = client.get("/feed.json").json()["items"]
        assert sorted(item["id"] for item in items) == sorted(ids)

    logs = roles.logs()
    assert "Traceback" not in logs, logs
    for log in (roles.web_log, roles.scheduler_log):
        text = log.read_text(errors="replace")
        # Each role says once per outage that the database went away and once that it is back.
        assert text.count("database unavailable") == len(OUTAGE_MODES), logs
        assert text.count("database available again") == len(OUTAGE_MODES), logs


def test_a_render_cut_short_by_an_outage_gives_its_claims_back(cluster: PostgresCluster) -> None:
    """A pass claims its feeds for a lease of minutes; if the database goes away in the
    middle of it, the claims are released as soon as it is back, not when the lease ends."""
    clock = FakeClock()
    services = build_services(settings_for(cluster.url), clock=clock, environ={})
    articles = services.articles
    operations = services.operations
    renderer = services.renderer
    try:
        operations.migrate()
        articles.create_article(article_input(published_at=clock.now), clock.now)
        failures: list[BaseException] = []

        def render() -> None:
            try:
                renderer.render_due_feeds(clock.now)
            except BaseException as error:  # reported by the test below
                failures.append(error)

        rendering = threading.Thread(target=render)
        blocker = cluster.connect()
        try:
            # The pass claims its feeds (feed_states), then waits to read the articles.
            blocker.execute("BEGIN")
            blocker.execute("LOCK TABLE articles IN ACCESS EXCLUSIVE MODE")
            rendering.start()
            _wait_until(lambda: _waiting_on_a_lock(cluster), 30, "the render waits for articles")
            cluster.stop("fast")
            rendering.join(timeout=30)
        finally:
            blocker.close()
        assert not rendering.is_alive()
        assert [type(error) for error in failures] == [StorageUnavailable]

        cluster.start()
        report = renderer.render_due_feeds(clock.now)  # the same instant: the lease holds
        assert "site" in report.scopes, report
        assert _nothing_to_render(cluster)
    finally:
        services.database.dispose()


def _waiting_on_a_lock(cluster: PostgresCluster) -> bool:
    with cluster.connect() as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return row is not None and row[0] > 0


def test_a_page_that_left_is_not_served_from_memory(cluster: PostgresCluster) -> None:
    """Only pages that were last seen public are served while the database is down."""
    clock = FakeClock()
    app = create_app(settings_for(cluster.url), clock=clock, environ={})
    articles = app.extensions["broadsheet"].articles
    operations = app.extensions["broadsheet"].operations
    try:
        operations.migrate()
        kept = articles.create_article(article_input(title="Fica"), clock.now)
        gone = articles.create_article(article_input(title="Sai"), clock.now)
        for article in (kept, gone):
            articles.update_article(article.id, {"published_at": clock.now}, None, clock.now)
        client = app.test_client()
        kept_page = client.get(f"/articles/{kept.slug}")
        assert kept_page.status_code == 200
        assert client.get(f"/articles/{gone.slug}").status_code == 200
        articles.delete_article(gone.id, None, clock.now)
        assert client.get(f"/articles/{gone.slug}").status_code == 410

        cluster.stop("immediate")
        during = client.get(f"/articles/{kept.slug}")
        assert during.status_code == 200
        assert during.data == kept_page.data
        left = client.get(f"/articles/{gone.slug}")
        assert left.status_code == 503
        assert int(left.headers["Retry-After"]) > 0
    finally:
        close_app(app)
