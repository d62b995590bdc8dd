"""``broadsheet import --from feed``: RSS, Atom and JSON Feed with their whole history.

Feeds are served over real HTTP on 127.0.0.1 by a small server that records each request
(its path, its User-Agent, when it came); the import runs through the command and lands in
a real database (SQLite and PostgreSQL). The promise: every entry keeps its id, each is
imported once, oldest first; prev-archive links and ?paged=N pages bring the history, a
cycle or the request budget stops the walk, a bad page stops the import naming its URL;
a second run adds nothing; and a Broadsheet site's own feeds, imported into an empty
site, give back every entry id.
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import click.testing
import feedparser
import httpx
import pytest

from app.demo import load_demo
from app.services import build_services
from app.transfer.export import export_lines
from app.web.application import close_app
from app.web.application import create_app
from tests.conftest import BASE_URL
from tests.conftest import Cli
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.feedsite import ATOM
from tests.feedsite import JSON_FEED
from tests.feedsite import RSS
from tests.feedsite import FeedSite
from tests.feedsite import atom
from tests.feedsite import entry_id
from tests.feedsite import json_feed
from tests.feedsite import rss
from tests.feedsite import serve_feeds
from tests.live import free_port
from tests.live import serve
from tests.test_transfer import empty_database_url  # noqa: F401  (a fixture)

USER_AGENT = f"Broadsheet/{importlib.metadata.version('broadsheet')} (+{BASE_URL}; feed import)"


@pytest.fixture
def site() -> Iterator[FeedSite]:
    with serve_feeds() as served:
        yield served


# -- running the command ----------------------------------------------------------------------


def env_for(database_url: str, **settings: Any) -> dict[str, str]:
    values = settings_for(database_url, **settings)
    return {
        **{f"BROADSHEET_{name.upper()}": str(value) for name, value in values.items()},
        "BROADSHEET_LOG_LEVEL": "WARNING",
    }


def import_feed(cli: Cli, database_url: str, location: str, *options: str) -> click.testing.Result:
    return cli(
        env_for(database_url),
        "import", "--from", "feed", location, "--interval", "0", "--jobs", "1", *options,
    )  # fmt: skip


def stored(database_url: str, clock: FakeClock) -> list[dict[str, Any]]:
    """Every stored article as its export line, in the order they were stored."""
    services = build_services(settings_for(database_url), clock=clock, environ={})
    try:
        return [json.loads(line) for line in export_lines(services.articles)]
    finally:
        services.database.dispose()


# -- tests ------------------------------------------------------------------------------------


def test_an_atom_feed_and_its_archive_pages_are_imported_once_oldest_first(
    cli: Cli, clock: FakeClock, database_url: str, site: FeedSite
) -> None:
    # The feed links its archive relatively; the archive page also holds an older copy of
    # entry 4, which must not win over the newer one in the feed.
    site.add("/feed.atom", atom([5, 4], prev="archive/2.atom"))
    site.add("/archive/2.atom", atom([4, 3, 2], prev=f"{site.url}/archive/1.atom", **{"4": "Old"}))
    site.add("/archive/1.atom", atom([1]))

    result = import_feed(cli, database_url, f"{site.url}/feed.atom")

    assert result.exit_code == 0, result.output
    assert "5 imported, 0 already imported, 0 skipped" in result.stdout
    assert "3 feed pages read" in result.stdout
    assert site.paths == ["/feed.atom", "/archive/2.atom", "/archive/1.atom"]
    assert {agent for _, agent, _ in site.requests} == {USER_AGENT}
    articles = stored(database_url, clock)
    assert [a["id"] for a in articles] == [entry_id(n) for n in (1, 2, 3, 4, 5)]
    fourth = articles[3]
    assert fourth["title"] == "Post 4" and fourth["updated_at"].startswith("2020-01-04T12:00")
    assert fourth["published_at"] == "2020-01-04T10:00:00.000000+00:00"
    # Each person as written (feedparser alone would give Rui Ana's address).
    assert fourth["authors"] == [
        {"name": "Ana", "email": "ana@old.example", "url": None},
        {"name": "Rui", "email": None, "url": None},
    ]
    assert (fourth["categories"], fourth["tags"]) == (["Cidade"], ["chuva"])
    assert fourth["image"]["url"] == "https://img.old.example/4.jpg"
    assert (fourth["image"]["caption"], fourth["image"]["credit"]) == ("Legenda 4", "Foto: Eva")
    # The lead figure is shown above the body again, so it leaves the body; relative
    # links are resolved against the page they were read from.
    assert "<figure>" not in fourth["body"]
    assert f'href="{site.url}/about"' in fourth["body"]
    assert fourth["summary"] == "Resumo 4"

    again = import_feed(cli, database_url, f"{site.url}/feed.atom")
    assert again.exit_code == 0, again.output
    assert "0 imported, 5 already imported, 0 skipped" in again.stdout
    assert len(stored(database_url, clock)) == 5


def test_a_paged_rss_feed_is_read_until_a_page_is_missing(
    cli: Cli, clock: FakeClock, database_url: str, site: FeedSite
) -> None:
    site.add("/?feed=rss2", rss([6, 5]), RSS)
    site.add("/?feed=rss2&paged=2", rss([4, 3]), RSS)
    site.add("/?feed=rss2&paged=3", rss([2, 1]), RSS)

    result = import_feed(cli, database_url, f"{site.url}/?feed=rss2")

    assert result.exit_code == 0, result.output
    assert "6 imported" in result.stdout
    assert site.paths == [
        "/?feed=rss2", "/?feed=rss2&paged=2", "/?feed=rss2&paged=3", "/?feed=rss2&paged=4",
    ]  # fmt: skip
    articles = stored(database_url, clock)
    assert [a["id"] for a in articles] == [entry_id(n) for n in range(1, 7)]
    first = articles[0]
    assert first["title"] == "Item 1" and first["body"] == "<p>Corpo 1</p>"
    assert first["authors"] == [{"name": "Eva Lima", "email": None, "url": None}]
    assert (first["categories"], first["tags"]) == (["Geral"], ["praia"])
    assert first["language"] == "pt-br"


def test_paging_stops_at_a_page_with_nothing_new(
    cli: Cli, clock: FakeClock, database_url: str, site: FeedSite
) -> None:
    # A server that does not know ?paged answers the first page again.
    site.add("/feed.xml", rss([2, 1]), RSS)
    site.add("/feed.xml?paged=2", rss([2, 1]), RSS)
    site.add("/feed.xml?paged=3", rss([2, 1]), RSS)

    result = import_feed(cli, database_url, f"{site.url}/feed.xml")

    assert result.exit_code == 0, result.output
    assert "2 imported" in result.stdout
    assert site.paths == ["/feed.xml", "/feed.xml?paged=2"]


def test_json_feeds_follow_next_url(
    cli: Cli, clock: FakeClock, database_url: str, site: FeedSite
) -> None:
    site.add("/feed.json", json_feed([3, 2], next_url="/feed-2.json"), JSON_FEED)
    # JSON Feed 1.0: one author, not a list; served as plain JSON.
    site.add("/feed-2.json", json_feed([1], version="1"), "application/json")

    result = import_feed(cli, database_url, f"{site.url}/feed.json")

    assert result.exit_code == 0, result.output
    articles = stored(database_url, clock)
    assert [a["id"] for a in articles] == [entry_id(n) for n in (1, 2, 3)]
    assert [a["authors"][0]["name"] for a in articles] == ["Old Author", "New Author", "New Author"]
    assert articles[2]["tags"] == ["mar"] and articles[2]["body"] == "<p>JSON body 3</p>"
    assert articles[2]["image"]["url"] == "https://img.old.example/3.png"


def test_an_archive_cycle_stops_the_walk(
    cli: Cli, clock: FakeClock, database_url: str, site: FeedSite
) -> None:
    site.add("/feed.atom", atom([3], prev="/a.atom"))
    site.add("/a.atom", atom([2], prev="/b.atom"))
    site.add("/b.atom", atom([1], prev="/a.atom"))

    result = import_feed(cli, database_url, f"{site.url}/feed.atom")

    assert result.exit_code == 0, result.output
    assert "3 imported" in result.stdout
    assert "go round" in result.stderr
    assert site.paths == ["/feed.atom", "/a.atom", "/b.atom"]


def test_entries_without_title_or_date_and_ids_that_are_not_uris(
    cli: Cli, clock: FakeClock, database_url: str, site: FeedSite
) -> None:
    undated = (
        '<item><guid isPermaLink="false">urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66</guid>'
        "<description>Uma nota curta, sem título nem data.</description></item>"
    )
    not_a_uri = "<item><title>Número</title><guid>12345</guid><description>x</description></item>"
    feed = rss([1]).replace("<item>", undated + not_a_uri + "<item>", 1)
    site.add("/feed.rss", feed, RSS)

    result = import_feed(cli, database_url, f"{site.url}/feed.rss")

    # The id is kept as written, not resolved into a URL: the import refuses it by name.
    assert result.exit_code == 1
    assert "2 imported, 0 already imported, 1 skipped" in result.stdout
    # Entries are imported oldest first (the undated ones as of now, after entry 1), and
    # the log names the entry that the report's line number stands for.
    assert "line 2: id: must be a URI" in result.stderr
    assert f"line 2 is the entry 12345 of {site.url}/feed.rss" in result.stderr
    articles = {a["id"]: a for a in stored(database_url, clock)}
    note = articles["urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"]
    assert note["title"] == "Uma nota curta, sem título nem data."
    assert note["published_at"] == "2026-11-02T12:00:00.000000+00:00"  # the import's time


@pytest.mark.parametrize(
    ("status", "body", "media_type", "message"),
    [
        (500, "oops", "text/plain", "answered 500"),
        (200, "<html><body>Hello</body></html>", "text/html", "is not an RSS, Atom or JSON feed"),
        (200, "<feed xmlns='http://www.w3.org/2005/Atom'><entry>", ATOM, "not well-formed"),
        (200, '{"items": []}', JSON_FEED, "is not a JSON feed"),
    ],
)
def test_a_bad_page_stops_the_import_and_names_its_url(
    cli: Cli,
    clock: FakeClock,
    database_url: str,
    site: FeedSite,
    status: int,
    body: str,
    media_type: str,
    message: str,
) -> None:
    site.add("/feed.atom", atom([3, 2], prev="/bad"))
    site.add("/bad", body, media_type, status)

    result = import_feed(cli, database_url, f"{site.url}/feed.atom")

    assert result.exit_code == 1
    assert f"{site.url}/bad" in result.stderr and message in result.stderr
    # Nothing half-imported: a run after the page is mended numbers articles in order.
    assert stored(database_url, clock) == []


def test_the_request_budget_stops_the_walk_and_a_second_run_continues(
    cli: Cli, clock: FakeClock, database_url: str, site: FeedSite
) -> None:
    site.add("/feed.atom", atom([5, 4], prev="/archive/2.atom"))
    site.add("/archive/2.atom", atom([3, 2], prev="/archive/1.atom"))
    site.add("/archive/1.atom", atom([1]))

    result = import_feed(cli, database_url, f"{site.url}/feed.atom", "--max-requests", "2")

    assert result.exit_code == 0, result.output
    assert len(site.requests) == 2
    assert "4 imported" in result.stdout
    assert "2 requests made (the whole budget: older pages not read" in result.stdout
    assert "budget of 2 requests was used up" in result.stderr

    rest = import_feed(cli, database_url, f"{site.url}/feed.atom")
    assert rest.exit_code == 0, rest.output
    assert "1 imported, 4 already imported" in rest.stdout
    # The articles of the first run were stored oldest first, then the oldest of all.
    assert [a["id"] for a in stored(database_url, clock)] == [entry_id(n) for n in (2, 3, 4, 5, 1)]


def test_requests_are_spaced_by_the_interval(cli: Cli, database_url: str, site: FeedSite) -> None:
    site.add("/feed.atom", atom([3], prev="/2.atom"))
    site.add("/2.atom", atom([2], prev="/1.atom"))
    site.add("/1.atom", atom([1]))

    result = cli(
        env_for(database_url),
        "import", "--from", "feed", f"{site.url}/feed.atom", "--interval", "0.3",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    times = [when for _, _, when in site.requests]
    assert len(times) == 3
    assert all(later - earlier >= 0.28 for earlier, later in pairwise(times))


def test_an_entry_without_an_id_is_left_out_and_named(
    cli: Cli, clock: FakeClock, database_url: str, site: FeedSite
) -> None:
    site.add("/feed.rss", rss([2, 1], without_guid=(2,)), RSS)

    result = import_feed(cli, database_url, f"{site.url}/feed.rss")

    assert result.exit_code == 1
    assert "1 imported" in result.stdout
    assert "1 feed entries left out (no id)" in result.stdout
    assert "entry 1 has no id" in result.stderr
    assert [a["id"] for a in stored(database_url, clock)] == [entry_id(1)]


def test_redirects_are_followed_up_to_five(
    cli: Cli, clock: FakeClock, database_url: str, site: FeedSite
) -> None:
    site.add("/feed.atom", atom([1]))
    site.redirect("/old-feed", "/feed.atom")
    for hop in range(6):
        site.redirect(f"/loop/{hop}", f"/loop/{hop + 1}")
    site.add("/loop/6", atom([2]))

    moved = import_feed(cli, database_url, f"{site.url}/old-feed")
    assert moved.exit_code == 0, moved.output
    assert "1 imported" in moved.stdout

    looping = import_feed(cli, database_url, f"{site.url}/loop/0")
    assert looping.exit_code == 1
    assert f"{site.url}/loop/0 redirects more than 5 times" in looping.stderr


def test_a_feed_file_and_its_archive_files(
    cli: Cli, clock: FakeClock, database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "feed.atom").write_text(atom([2], prev="older.atom"), encoding="utf-8")
    (tmp_path / "older.atom").write_text(atom([1]), encoding="utf-8")

    result = import_feed(cli, database_url, str(tmp_path / "feed.atom"))

    assert result.exit_code == 0, result.output
    assert [a["id"] for a in stored(database_url, clock)] == [entry_id(1), entry_id(2)]
    missing = import_feed(cli, database_url, str(tmp_path / "nothing.atom"))
    assert missing.exit_code == 1 and "no such file" in missing.stderr


# -- the round trip ---------------------------------------------------------------------------


def history_ids(url: str) -> set[str]:
    """Every entry id of a site's feed and its archive pages, as a feed reader finds them
    by following prev-archive (JSON Feed: next_url) from ``url``."""
    ids: set[str] = set()
    seen: set[str] = set()
    with httpx.Client(timeout=10) as client:
        next_url: str | None = url
        while next_url and next_url not in seen and len(seen) < 50:
            seen.add(next_url)
            body = client.get(next_url).raise_for_status().content
            if next_url.endswith(".json"):
                page = json.loads(body)
                ids.update(item["id"] for item in page["items"])
                next_url = page.get("next_url")
                continue
            parsed = feedparser.parse(body)
            assert not parsed.bozo, parsed.get("bozo_exception")
            ids.update(entry.id for entry in parsed.entries)
            links = {link.rel: link.href for link in parsed.feed.get("links", ())}
            next_url = links.get("prev-archive")
    return ids


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_a_broadsheet_sites_feeds_imported_into_an_empty_site_keep_every_entry_id(
    cli: Cli,
    clock: FakeClock,
    database_url: str,
    empty_database_url: str,  # noqa: F811
    fmt: str,
) -> None:
    old_port, new_port = free_port(), free_port()
    old = create_app(
        settings_for(database_url, site_base_url=f"http://127.0.0.1:{old_port}", feed_item_limit=3),
        clock=clock,
        environ={},
    )
    new_settings: dict[str, Any] = {
        "site_base_url": f"http://127.0.0.1:{new_port}",
        "feed_item_limit": 3,
    }
    new = create_app(settings_for(empty_database_url, **new_settings), clock=clock, environ={})
    try:
        assert load_demo(old.extensions["broadsheet"].articles, clock()) == 12
        old.extensions["broadsheet"].renderer.render_due_feeds(clock())
        with serve(old, old_port) as old_site, serve(new, new_port) as new_site:
            before = history_ids(f"{old_site.url}/feed.atom")
            assert len(before) == 10  # the demo's published articles, on 3 archive pages
            result = cli(
                env_for(empty_database_url, **new_settings),
                "import", "--from", "feed", f"{old_site.url}/feed.{fmt}", "--interval", "0",
            )  # fmt: skip
            assert result.exit_code == 0, result.output
            assert "10 imported" in result.stdout and "4 feed pages read" in result.stdout
            new.extensions["broadsheet"].renderer.render_due_feeds(clock())
            for kind in ("atom", "rss", "json"):
                assert history_ids(f"{new_site.url}/feed.{kind}") == before, kind
    finally:
        close_app(old)
        close_app(new)
