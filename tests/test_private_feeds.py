"""Private feeds: subscribers made, listed and revoked from the command line; their feeds
read over real HTTP with their own keys, in their profile, rendered once per profile,
counted per subscriber, and their keys kept out of every log (SQLite and PostgreSQL)."""

from __future__ import annotations

import gzip
import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.domain import FeedFormat
from app.errors import FeedKeyRefused
from app.private_feeds import KEY_PLACEHOLDER
from app.services import Services
from app.services import build_services
from app.storage.tables import EntryFragmentRow
from app.storage.tables import FeedSnapshotRow
from app.storage.tables import SubscriberRow
from app.storage.tables import WebSubOutboxRow
from app.web.application import close_app
from app.web.application import create_app
from tests.conftest import BASE_URL
from tests.conftest import Cli
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.live import LiveServer
from tests.live import free_port
from tests.live import run_cli
from tests.live import serve
from tests.live import service_environment
from tests.live import stop_role
from tests.test_feed_profiles import publish
from tests.test_feed_profiles import read_entries

WHOLE = "<p>Primeiro parágrafo.</p>\n<p>Segundo parágrafo.</p>\n<p>Terceiro parágrafo.</p>"
SCOPES = ("site", "category/educacao", "category/cidades", "tag/creches", "author/julia-ramos")


def services_of(app: Flask) -> Services:
    found: Services = app.extensions["broadsheet"]
    return found


def stored_keys(app: Flask) -> set[str]:
    with services_of(app).database.read() as session:
        return set(session.scalars(select(FeedSnapshotRow.feed_key)))


def content_of(live: LiveServer, path: str, fmt: FeedFormat, url: str) -> str | None:
    """The content of the entry of ``url`` in the feed at ``path`` in ``fmt``, as served
    over HTTP and read by a real parser (after the validators of tests/feedcheck.py)."""
    response = live.request("GET", f"{path}.{fmt}")
    assert response.status == 200, response.body
    by_link = {entry["link"]: entry["content"] for entry in read_entries(fmt, response.body)}
    return by_link[url]


def self_link(fmt: FeedFormat, body: bytes) -> str:
    if fmt is FeedFormat.JSON:
        return str(json.loads(body)["feed_url"])
    links = feedparser.parse(body).feed.links
    return next(str(link.href) for link in links if link.rel == "self")


# -- the command line -------------------------------------------------------------------


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {
        "BROADSHEET_DATABASE_URL": database_url,
        "BROADSHEET_LOG_LEVEL": "WARNING",
        "BROADSHEET_SITE_BASE_URL": BASE_URL,
    }


@pytest.mark.postgres
def test_subscribers_are_created_listed_and_revoked(
    cli: Cli, clock: FakeClock, env: dict[str, str]
) -> None:
    created = cli(env, "subscriber", "create", "--name", "agencia-x", "--expires-in", "90d")
    assert created.exit_code == 0, created.output
    key, *urls = created.stdout.split()
    assert key.startswith("bsf_") and len(key) > 60
    assert urls == [f"{BASE_URL}/private/{key}/feed.{fmt}" for fmt in FeedFormat]
    assert "profile full" in created.stderr and "expires 2027-01-31 12:00 UTC" in created.stderr
    summary = cli(env, "subscriber", "create", "--name", "leitor.1", "--profile", "summary")
    assert summary.exit_code == 0, summary.output

    listing = cli(env, "subscriber", "list")
    assert listing.exit_code == 0, listing.output
    lines = listing.stdout.splitlines()
    assert lines[0].split("\t") == [
        "agencia-x", "profile full", "created 2026-11-02 12:00 UTC", "active",
        "expires 2027-01-31 12:00 UTC", "never used",
    ]  # fmt: skip
    assert lines[1].split("\t")[:2] == ["leitor.1", "profile summary"]
    assert "never expires" in lines[1]
    assert key not in listing.output

    clock.advance(hours=1)
    revoked = cli(env, "subscriber", "revoke", "agencia-x")
    assert revoked.exit_code == 0, revoked.output
    assert "revoked 2026-11-02 13:00 UTC" in cli(env, "subscriber", "list").stdout
    clock.advance(days=100)
    assert "\texpired\t" not in cli(env, "subscriber", "list").stdout  # revoked says revoked

    # Only the SHA-256 of the key is stored.
    with services_of_env(env, clock) as services, services.database.read() as session:
        hashes = set(session.scalars(select(SubscriberRow.key_hash)))
    assert key not in hashes and len(hashes) == 2


@contextmanager
def services_of_env(env: dict[str, str], clock: FakeClock) -> Iterator[Services]:
    services = build_services(environ=env, clock=clock)
    try:
        yield services
    finally:
        services.database.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "--name", "agencia-x"), "exists already"),
        (("create", "--name", "outra", "--profile", "excerpt"), "full, summary or paragraphs:N"),
        (("create", "--name", "outra", "--profile", "paragraphs:0"), "paragraphs:N"),
        (("create", "--name", "outra", "--expires-in", "3w"), "is not a lifetime"),
        (("create", "--name", "outra", "--expires-in", "0h"), "one hour to 100 years"),
        (("create", "--name", "agência x"), "name: must be 1 to 100 letters"),
        (("create", "--name", "-x"), "name: must be 1 to 100 letters"),
        (("revoke", "ninguem"), "No subscriber is named 'ninguem'"),
    ],
)
def test_bad_input_is_a_clear_error(
    cli: Cli, env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    assert cli(env, "subscriber", "create", "--name", "agencia-x").exit_code == 0
    failed = cli(env, "subscriber", *args)
    assert failed.exit_code != 0
    assert message in failed.output


# -- the feeds over HTTP ---------------------------------------------------------------


@pytest.mark.postgres
def test_private_feeds_carry_their_profile_and_their_key(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    services = services_of(app)
    wire, _ = publish(client, auth, clock, title="Da agência", full_text_in_feeds=False)
    _, partner = services.subscribers.create("agencia-x", clock())
    _, second = services.subscribers.create("agencia-y", clock())
    _, reader = services.subscribers.create("leitor", clock(), profile="summary")
    services.renderer.render_due_feeds(clock())

    # Rendered once per profile, not per subscriber: two subscribers of "full", one set.
    private = {key for key in stored_keys(app) if key.startswith("private/")}
    assert private == {
        f"private/{profile}/{scope}:{fmt}"
        for profile in ("full", "summary")
        for scope in SCOPES
        for fmt in FeedFormat
    }
    # Private entries are stored apart: no public feed can join one.
    with services.database.read() as session:
        contexts = {c.partition("/")[2] for c in session.scalars(select(EntryFragmentRow.context))}
    assert contexts == {"pt-BR", "pt-BR/private/full", "pt-BR/private/summary"}
    with serve(app) as live:
        for fmt in FeedFormat:
            # The public feeds carry the summary only; the full profile the whole text.
            assert content_of(live, "/feed", fmt, wire["url"]) is None
            assert content_of(live, f"/private/{partner}/feed", fmt, wire["url"]) == WHOLE
            assert content_of(live, f"/private/{second}/feed", fmt, wire["url"]) == WHOLE
            path = f"/private/{partner}/category/educacao/feed"
            assert content_of(live, path, fmt, wire["url"]) == WHOLE
            assert content_of(live, f"/private/{reader}/feed", fmt, wire["url"]) is None
            # Each subscriber's document names its own key; none holds the placeholder.
            for key in (partner, second):
                body = live.request("GET", f"/private/{key}/tag/creches/feed.{fmt}").body
                assert self_link(fmt, body) == f"{BASE_URL}/private/{key}/tag/creches/feed.{fmt}"
                assert KEY_PLACEHOLDER.encode() not in body
            public = live.request("GET", f"/feed.{fmt}").body
            assert self_link(fmt, public) == f"{BASE_URL}/feed.{fmt}"
            assert b"Segundo par" not in public
        # No public list names a private feed.
        for path in ("/sitemap-pages-0.xml", "/feeds.opml", "/sitemap.xml"):
            listing = live.request("GET", path)
            assert listing.status == 200 and b"private" not in listing.body, path


@pytest.mark.postgres
def test_private_answers_cache_privately_and_conditionally(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    services = services_of(app)
    publish(client, auth, clock)
    _, key = services.subscribers.create("agencia-x", clock())
    services.renderer.render_due_feeds(clock())
    path = f"/private/{key}/feed.atom"
    with serve(app) as live:
        first = live.request("GET", path)
        assert first.status == 200
        assert first.headers["cache-control"] == "private, max-age=120"
        assert first.headers["x-robots-tag"] == "noindex"
        assert first.headers["referrer-policy"] == "no-referrer"
        assert first.headers["content-type"] == "application/atom+xml; charset=utf-8"
        etag = first.headers["etag"]
        again = live.request("GET", path, {"If-None-Match": etag})
        assert (again.status, again.body) == (304, b"")
        assert again.headers["cache-control"] == "private, max-age=120"
        zipped = live.request("GET", path, {"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert gzip.decompress(zipped.body) == first.body
        assert key.encode() in first.body
        assert zipped.headers["etag"] != etag
        head = live.request("HEAD", path)
        assert (head.status, head.body) == (200, b"")
        assert head.headers["content-length"] == str(len(first.body))
        # The public feed is public, and not the private bytes.
        public = live.request("GET", "/feed.atom")
        assert public.headers["cache-control"].startswith("public, ")
        assert public.headers["etag"] != etag


@pytest.mark.postgres
def test_unknown_revoked_and_expired_keys_never_get_the_feed(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    services = services_of(app)
    publish(client, auth, clock)
    _, kept = services.subscribers.create("agencia-x", clock())
    _, revoked = services.subscribers.create("agencia-y", clock())
    _, expiring = services.subscribers.create("leitor", clock(), expires_in=timedelta(hours=1))
    _, reader = services.subscribers.create("resumo", clock(), profile="summary")
    services.renderer.render_due_feeds(clock())
    services.subscribers.revoke("agencia-y", clock())
    with serve(app) as live:
        assert live.request("GET", f"/private/{kept}/feed.rss").status == 200
        assert live.request("GET", f"/private/{expiring}/feed.rss").status == 200
        refused = live.request("GET", f"/private/{revoked}/feed.rss")
        assert refused.status == 403
        assert refused.headers["content-type"] == "text/plain; charset=utf-8"
        assert refused.body == b"403 Forbidden: This feed key has been revoked or has expired.\n"
        assert refused.headers["x-robots-tag"] == "noindex"
        clock.advance(hours=2)
        assert live.request("GET", f"/private/{expiring}/feed.rss").status == 403
        assert live.request("GET", f"/private/{kept}/feed.rss").status == 200

        forged = kept[:-4] + ("AAAA" if not kept.endswith("AAAA") else "BBBB")
        for path in (
            f"/private/{forged}/feed.rss",  # a well-formed key that is no one's
            "/private/not-a-key/feed.rss",
            f"/private/{kept}/category/nenhuma/feed.rss",  # no such feed
            f"/private/{kept}/archive/0/feed.atom",  # archives are public only
            f"/private/{kept}/feed.html",
        ):
            missing = live.request("GET", path)
            assert missing.status == 404, path
            assert kept.encode() not in missing.body
            assert missing.body.startswith(b"404 Not Found: ")

    # The summary profile's last subscriber goes: its documents go with it.
    assert any(key.startswith("private/summary/") for key in stored_keys(app))
    services.subscribers.revoke("resumo", clock())
    assert not any(key.startswith("private/summary/") for key in stored_keys(app))
    with pytest.raises(FeedKeyRefused):
        services.subscribers.open(reader, "/private/<redacted>/feed.rss", clock())


@pytest.mark.postgres
def test_a_new_profile_is_rendered_for_every_feed_and_an_unread_one_leaves(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    services = services_of(app)
    publish(client, auth, clock)
    services.renderer.render_due_feeds(clock())
    assert not any(key.startswith("private/") for key in stored_keys(app))
    clock.advance(seconds=1)
    _, key = services.subscribers.create(
        "leitor", clock(), profile="paragraphs:1", expires_in=timedelta(days=30)
    )
    services.renderer.render_due_feeds(clock())
    expected = {f"private/paragraphs:1/{scope}:{fmt}" for scope in SCOPES for fmt in FeedFormat}
    assert {k for k in stored_keys(app) if k.startswith("private/")} == expected
    with serve(app) as live:
        teaser = live.request("GET", f"/private/{key}/feed.json")
        assert "Continuar lendo" in json.loads(teaser.body)["items"][0]["content_html"]
    # Expired with nobody revoking it: the next render of each feed deletes them.
    clock.advance(days=31)
    services.renderer.mark_all_feeds_stale(clock(), archives=False)
    services.renderer.render_due_feeds(clock())
    assert not any(k.startswith("private/") for k in stored_keys(app))


@pytest.mark.postgres
def test_polls_are_counted_per_subscriber_and_use_is_written_once_a_minute(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    services = services_of(app)
    publish(client, auth, clock)
    _, partner = services.subscribers.create("agencia-x", clock())
    _, other = services.subscribers.create("agencia-y", clock())
    services.renderer.render_due_feeds(clock())
    with serve(app) as live:
        for _ in range(3):
            live.request("GET", f"/private/{partner}/feed.atom")
        first_use = clock()
        clock.advance(seconds=30)
        live.request("GET", f"/private/{other}/tag/creches/feed.rss")
        live.request("GET", f"/private/{partner}/feed.atom")
        used = {s.name: s.last_used_at for s in services.subscribers.list()}
        assert used == {"agencia-x": first_use, "agencia-y": clock()}
        clock.advance(seconds=31)
        live.request("GET", f"/private/{partner}/feed.atom")
        assert services.subscribers.list()[0].last_used_at == clock()
    app.extensions["broadsheet_polls"].recorder.flush()
    counted = {feed.feed_key: feed.requests for feed in services.feeds.poll_stats(clock())}
    assert counted == {"private/agencia-x/site:atom": 5, "private/agencia-y/tag/creches:rss": 1}


@pytest.mark.postgres
def test_keys_never_reach_the_logs(
    app: Flask,
    client: FlaskClient,
    auth: dict[str, str],
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    services = services_of(app)
    publish(client, auth, clock)
    _, key = services.subscribers.create("agencia-x", clock())
    services.renderer.render_due_feeds(clock())
    caplog.set_level(logging.INFO)
    with serve(app) as live:
        assert live.request("GET", f"/private/{key}/feed.atom").status == 200
        assert live.request("GET", f"/private/{key}/category/nenhuma/feed.atom").status == 404
        assert live.request("POST", f"/private/{key}/feed.atom").status == 405
    try:
        raise RuntimeError(f"failed on /private/{key}/feed.atom")
    except RuntimeError:
        logging.getLogger("app.web").exception("answering /private/%s/feed.rss", key)
    # The server's access log (Werkzeug's here, gunicorn's and granian's alike) and the
    # application's own lines: each path is there, its key is not.
    access = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert len(access) == 3
    assert all("/private/<redacted>/" in line for line in access)
    assert "/private/<redacted>/feed.rss" in caplog.text
    assert key not in caplog.text
    assert key[4:20] not in caplog.text  # not even its key id


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_the_production_servers_access_logs_hide_keys(tmp_path: Path, server: str) -> None:
    """`broadsheet web` with the server's own access log turned on (by the server's own
    environment variable, as an operator would): the line is there, the key is not."""
    port = free_port()
    env = service_environment(
        f"sqlite:///{tmp_path / 'site.db'}", port, SERVER_WORKERS="1", SERVER_KIND=server
    )
    env.update(GRANIAN_LOG_ACCESS_ENABLED="true", GUNICORN_CMD_ARGS="--access-logfile -")
    run_cli(env, tmp_path, "migrate")
    key = run_cli(env, tmp_path, "subscriber", "create", "--name", "agencia-x").split()[0]
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "web"],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            live = LiveServer("127.0.0.1", port)
            deadline = time.monotonic() + 30
            while not _answers(live):
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the web server did not start in 30 s"
                time.sleep(0.1)
            # No feed is rendered yet: a 404, logged as any request is.
            assert live.request("GET", f"/private/{key}/feed.atom").status == 404
            time.sleep(0.5)  # the access line is written after the answer
        finally:
            stop_role(process)
    text = log.read_text()
    assert "GET /private/<redacted>/feed.atom" in text
    assert key not in text and key[4:20] not in text


def _answers(live: LiveServer) -> bool:
    try:
        return live.request("GET", "/healthz").status == 200
    except OSError:
        return False


@pytest.mark.postgres
def test_private_variants_tell_no_hub_and_name_none(database_url: str, clock: FakeClock) -> None:
    """Hubs are public: a private document is no topic of theirs, and names none."""
    hub = "https://hub.example/"
    application = create_app(settings_for(database_url, websub_hubs=hub), clock=clock, environ={})
    try:
        services = services_of(application)
        _, token = services.access.create_token("tests", clock())
        client = application.test_client()
        publish(client, {"Authorization": f"Bearer {token}"}, clock)
        _, key = services.subscribers.create("agencia-x", clock())
        services.renderer.render_due_feeds(clock())
        with services.database.read() as session:
            topics = set(session.scalars(select(WebSubOutboxRow.topic_url)))
        assert f"{BASE_URL}/feed.atom" in topics
        assert not any("/private/" in topic for topic in topics)
        with serve(application) as live:
            public = live.request("GET", "/feed.atom")
            private = live.request("GET", f"/private/{key}/feed.atom")
        assert hub.encode() in public.body
        assert hub.encode() not in private.body
        # The Link headers (RFC 8288) likewise: the public feed's name the hub.
        links = client.get("/feed.atom").headers.getlist("Link")
        assert f'<{hub}>; rel="hub"' in links
        links = client.get(f"/private/{key}/feed.atom").headers.getlist("Link")
        assert links == [f'<{BASE_URL}/private/{key}/feed.atom>; rel="self"']
    finally:
        close_app(application)
