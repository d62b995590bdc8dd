"""``broadsheet import --from wordpress``: a WordPress export (WXR) as articles that keep
their entry ids, and the old site's URLs answering 301 through real HTTP.

tests/data/wordpress-export.xml is written the way WordPress 6 writes an export: the
header comments, authors, categories and tags declared in the channel, CDATA everywhere,
posts published, scheduled, drafted and trashed, a page, a menu item, and attachments
(one after the post whose featured image it is).
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from flask import Flask

from app.errors import SettingsError
from app.services import Services
from app.services import build_services
from app.web.application import close_app
from app.web.application import create_app
from tests.conftest import BASE_URL
from tests.conftest import START
from tests.conftest import Cli
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.feedcheck import assert_valid_atom
from tests.feedcheck import assert_valid_json_feed
from tests.feedcheck import assert_valid_rss
from tests.live import LiveServer
from tests.live import free_port
from tests.live import serve
from tests.live import service_environment
from tests.test_transfer import env_for

EXPORT = Path(__file__).parent / "data" / "wordpress-export.xml"
OLD = "https://folhadovale.example.com"
PATTERNS = ["/noticias/{slug}.html", "/{yyyy}/{mm}/{dd}/{slug}/", "/arquivo/{id}"]


def import_wordpress(cli: Cli, database_url: str, path: Path, *extra: str) -> Any:
    return cli(env_for(database_url), "import", "--from", "wordpress", str(path), *extra)


def web_app(database_url: str, clock: FakeClock, **extra: Any) -> Flask:
    return create_app(settings_for(database_url, **extra), clock=clock, environ={})


def render(services: Services, clock: FakeClock) -> None:
    services.renderer.mark_all_feeds_stale(clock())
    assert not services.renderer.render_due_feeds(clock()).failed


# -- the hand-written export ---------------------------------------------------------------


def test_posts_become_articles_with_their_guids_authors_terms_and_images(
    cli: Cli, database_url: str, clock: FakeClock
) -> None:
    result = import_wordpress(cli, database_url, EXPORT)
    assert result.exit_code == 0, result.output
    # Four posts (published, published, scheduled, draft); the trashed one is counted as
    # left out; the page, the menu item and the attachments are no articles. Redirects:
    # two permalinks, and the four ?p=ID (two of them the posts' only links).
    assert "4 imported, 0 already imported, 0 skipped, 6 redirects made" in result.stdout
    assert "2 shortcodes removed" in result.stdout
    assert "1 posts left out (trash, auto-draft)" in result.stdout
    services = build_services(settings_for(database_url), clock=clock, environ={})
    try:
        listed = services.articles.list_articles(clock(), None, 1, 20)
        assert listed.total == 4
        rain = services.articles.get_article(f"{OLD}/?p=101")
        economy = services.articles.get_article(f"{OLD}/?p=102")
        scheduled = services.articles.get_article(f"{OLD}/?p=103")
        draft = services.articles.get_article(f"{OLD}/?p=104")
    finally:
        services.database.dispose()
    assert rain.slug == "chuva-forte-alaga-avenidas"
    assert [author.name for author in rain.authors] == ["João Araújo"]
    assert rain.categories == ("Cidades",) and rain.tags == ("chuvas", "São José dos Campos")
    assert rain.summary == "Três horas de chuva deixaram avenidas da zona sul debaixo d'água."
    assert rain.published_at == START.replace(month=3, day=14, hour=13, minute=5)
    assert rain.updated_at == START.replace(month=3, day=14, hour=14, minute=30)
    assert rain.image is not None
    assert rain.image.url == f"{OLD}/wp-content/uploads/2026/03/avenida.jpg"
    assert rain.image.caption == "Avenida Andrômeda às 15h"
    assert "<figcaption>Avenida Andrômeda às 15h; foto de leitor</figcaption>" in rain.body_html
    assert "<p>A Defesa Civil emitiu <strong>alerta</strong>" in rain.body_html
    assert "[gallery" not in rain.body_html and "[caption" not in rain.body_html
    # No excerpt: the first paragraph; [embed] gone, its URL kept; "[sic]" is no shortcode.
    assert economy.summary == "O preço do feijão caiu 4,2% no mês, puxando o índice para baixo."
    assert "<p>https://www.youtube.com/watch?v=abc123</p>" in economy.body_html
    assert "continuar [sic] até" in economy.body_html
    assert economy.image is not None and economy.image.type == "image/png"
    assert economy.authors[0].name == "Maria Cecília Gonçalves"
    assert scheduled.published_at is not None and scheduled.published_at > START
    assert [author.name for author in scheduled.authors] == ["Redação"]
    assert draft.published_at is None


def test_a_second_run_imports_nothing_and_succeeds(cli: Cli, database_url: str) -> None:
    assert import_wordpress(cli, database_url, EXPORT).exit_code == 0
    again = import_wordpress(cli, database_url, EXPORT)
    assert again.exit_code == 0, again.output
    assert "0 imported, 4 already imported, 0 skipped, 0 redirects made" in again.stdout


def test_an_export_carries_the_old_paths_to_another_site(
    cli: Cli, database_url: str, tmp_path: Path, migrated_sqlite_file: Path
) -> None:
    assert import_wordpress(cli, database_url, EXPORT).exit_code == 0
    exported = cli(env_for(database_url), "export")
    records = {record["id"]: record for record in map(json.loads, exported.stdout.splitlines())}
    assert records[f"{OLD}/?p=101"]["legacy_paths"] == [
        "/2026/03/14/chuva-forte-alaga-avenidas/",
        "/?p=101",
    ]
    target = tmp_path / "target.db"
    shutil.copyfile(migrated_sqlite_file, target)
    moved = cli(env_for(f"sqlite:///{target}"), "import", "-", stdin=exported.stdout_bytes)
    assert moved.exit_code == 0, moved.output
    assert "4 imported, 0 already imported, 0 skipped, 6 redirects made" in moved.stdout
    again = cli(env_for(f"sqlite:///{target}"), "export")
    assert again.stdout_bytes == exported.stdout_bytes


def test_old_urls_answer_301_to_the_page_and_410_once_deleted(
    cli: Cli, database_url: str, clock: FakeClock
) -> None:
    assert import_wordpress(cli, database_url, EXPORT).exit_code == 0
    app = web_app(database_url, clock, legacy_url_patterns=PATTERNS)
    try:
        with serve(app) as live:
            page = f"{BASE_URL}/articles/chuva-forte-alaga-avenidas"
            for path in (
                "/2026/03/14/chuva-forte-alaga-avenidas/",
                "/2026/03/14/chuva-forte-alaga-avenidas",  # the last slash cut off
                "/2026/03/14/chuva-forte-alaga-avenidas/?utm_source=twitter",
                "/?p=101",
                "/?p=101&utm_medium=social",
                "/noticias/chuva-forte-alaga-avenidas.html",  # a URL shape
                "/arquivo/101",  # a shape with the old id
            ):
                assert_moved(live, path, page)
            assert live.request("HEAD", "/?p=101").status == 301
            # Drafts and scheduled posts do not say where they will be; unknown stays 404.
            for path in ("/arquivo/104", "/arquivo/103", "/noticias/nada.html"):
                assert live.request("GET", path).status == 404, path
            for path in ("/?p=104", "/?p=103", "/?p=99999"):  # the front page, not moved
                response = live.request("GET", path)
                assert (response.status, "location" in response.headers) == (200, False), path
            # A shape with a date must agree with the article's date.
            assert live.request("GET", "/2020/01/01/chuva-forte-alaga-avenidas/").status == 404
            assert live.request("GET", "/").status == 200
            services: Services = app.extensions["broadsheet"]
            services.articles.delete_article(f"{OLD}/?p=101", None, clock())
            for path in ("/?p=101", "/2026/03/14/chuva-forte-alaga-avenidas/"):
                assert live.request("GET", path).status == 410, path
            assert live.request("GET", "/noticias/chuva-forte-alaga-avenidas.html").status == 410
    finally:
        close_app(app)


def assert_moved(live: LiveServer, path: str, location: str) -> None:
    response = live.request("GET", path)
    assert (response.status, response.headers.get("location")) == (301, location), path


def test_url_shapes_are_checked_at_start(database_url: str) -> None:
    for shapes, said in (
        (["noticias/{slug}"], "must be a path starting with /"),
        (["/{yyyy}/{title}/"], "has {title}; the placeholders are"),
        (["/{yyyy}/{mm}/"], "must have {slug} or {id}"),
        (["/{slug}/{slug}"], "names a placeholder twice"),
    ):
        with pytest.raises(SettingsError, match="legacy_url_patterns") as refused:
            build_services(settings_for(database_url, legacy_url_patterns=shapes), environ={})
        assert said in str(refused.value)


def test_a_broken_export_is_a_clear_error(cli: Cli, database_url: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_bytes(EXPORT.read_bytes()[:4000])
    result = import_wordpress(cli, database_url, broken)
    assert result.exit_code == 1
    assert "is not a readable WordPress export" in result.output
    missing = import_wordpress(cli, database_url, tmp_path / "missing.xml")
    assert missing.exit_code == 2
    assert "no such file" in missing.output


# -- a few hundred posts: the feeds keep every id, every old URL moves ---------------------

POSTS = 300


def generated_export(path: Path, posts: int) -> list[tuple[str, str, int]]:
    """A WXR 1.1 export of ``posts`` published posts, one a day, as WordPress writes it;
    (guid, permalink path, post id) of each."""
    first = START - timedelta(days=posts + 1)
    items: list[str] = []
    made = []
    for number in range(1, posts + 1):
        when = first + timedelta(days=number)
        slug = f"noticia-numero-{number}"
        link = f"/{when:%Y/%m/%d}/{slug}/"
        guid = f"http://antigo.example.com/?p={1000 + number}"
        made.append((guid, link, 1000 + number))
        items.append(
            _ITEM.format(
                title=escape(f"Notícia número {number}: ação & reação"),
                link=f"http://antigo.example.com{link}",
                guid=guid,
                post_id=1000 + number,
                gmt=f"{when:%Y-%m-%d %H:%M:%S}",
                slug=slug,
                author=("ana", "bruno")[number % 2],
            )
        )
    path.write_text(_HEAD + "".join(items) + "</channel>\n</rss>\n", encoding="utf-8")
    return made


_HEAD = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.1/excerpt/"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.1/">
<channel><title>Antigo</title><link>http://antigo.example.com</link>
<wp:wxr_version>1.1</wp:wxr_version>
<wp:author><wp:author_id>1</wp:author_id><wp:author_login><![CDATA[ana]]></wp:author_login>
<wp:author_display_name><![CDATA[Ana Lúcia]]></wp:author_display_name></wp:author>
<wp:author><wp:author_id>2</wp:author_id><wp:author_login><![CDATA[bruno]]></wp:author_login>
<wp:author_display_name><![CDATA[Bruno Sá]]></wp:author_display_name></wp:author>
"""
_ITEM = """<item><title>{title}</title><link>{link}</link>
<dc:creator><![CDATA[{author}]]></dc:creator><guid isPermaLink="false">{guid}</guid>
<description></description>
<content:encoded><![CDATA[Primeiro parágrafo.

Segundo parágrafo, com [audio src="a.mp3"] áudio.]]></content:encoded>
<excerpt:encoded><![CDATA[]]></excerpt:encoded><wp:post_id>{post_id}</wp:post_id>
<wp:post_date_gmt>{gmt}</wp:post_date_gmt><wp:post_name>{slug}</wp:post_name>
<wp:status>publish</wp:status><wp:post_type>post</wp:post_type>
<category domain="category" nicename="geral"><![CDATA[Geral]]></category></item>
"""


def test_a_few_hundred_posts_keep_their_ids_in_valid_feeds_and_their_old_urls(
    cli: Cli, database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    export = tmp_path / "antigo.WordPress.xml"
    posts = generated_export(export, POSTS)
    result = import_wordpress(cli, database_url, export, "--batch-size", "64", "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert f"{POSTS} imported, 0 already imported, 0 skipped, {2 * POSTS} redirects made" in (
        result.stdout
    )
    app = web_app(database_url, clock)
    try:
        render(app.extensions["broadsheet"], clock)
        with serve(app) as live:
            ids = ids_through_the_archives(live)
            assert ids == {guid for guid, _, _ in posts}
            rss = assert_valid_rss(live.request("GET", "/feed.rss").body)
            newest = [guid for guid, _, _ in reversed(posts)][:10]
            assert [entry.id for entry in rss.entries] == newest
            feed = assert_valid_json_feed(live.request("GET", "/feed.json").body)
            assert [item["id"] for item in feed["items"]] == newest
            for _, link, post_id in posts[::37]:
                page = f"{BASE_URL}/articles/{link.split('/')[-2]}"
                assert_moved(live, link, page)
                assert_moved(live, f"/?p={post_id}", page)
    finally:
        close_app(app)
    again = import_wordpress(cli, database_url, export)
    assert again.exit_code == 0
    assert f"0 imported, {POSTS} already imported" in again.stdout


def ids_through_the_archives(live: LiveServer) -> set[str]:
    """Every entry id reached from /feed.atom by following prev-archive (RFC 5005)."""
    ids: set[str] = set()
    path: str | None = "/feed.atom"
    for _ in range(POSTS):  # bounded: one page per post at most
        if path is None:
            break
        parsed = assert_valid_atom(live.request("GET", path).body)
        ids.update(entry.id for entry in parsed.entries)
        links = {link.rel: link.href for link in parsed.feed.links}
        path = links["prev-archive"].removeprefix(BASE_URL) if "prev-archive" in links else None
    return ids


def test_a_terminal_gets_a_progress_bar(sqlite_url: str, tmp_path: Path) -> None:
    """stderr on a pseudo-terminal, as when an operator runs the command by hand."""
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", "import", "--from", "wordpress", str(EXPORT)],
            env=service_environment(sqlite_url, free_port()),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=60,
            check=False,
        )
        os.close(follower)
        follower = -1
        shown = b""
        while chunk := _read_some(leader):
            shown += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert result.returncode == 0
    assert b"4 imported, 0 already imported" in result.stdout
    # click redraws the bar in place; the last drawing counts the four posts.
    assert re.search(rb"importing  \[-*\]  4\b", shown), shown


def _read_some(descriptor: int) -> bytes:
    try:
        return os.read(descriptor, 65536)
    except OSError:  # Linux: EIO once the other end is closed and everything read
        return b""


def test_progress_lines_and_the_report_when_not_on_a_terminal(cli: Cli, database_url: str) -> None:
    good = [json.dumps({"title": f"T {n}", "body": "x", "authors": [{"name": "A"}]})
            for n in range(1100)]  # fmt: skip
    good[5] = good[9] = good[700] = json.dumps({"title": "", "body": "x", "authors": []})
    good[6] = json.dumps({"title": "Sem corpo", "authors": [{"name": "A"}]})
    result = cli(env_for(database_url), "import", "-", "--batch-size", "250",
                 stdin="\n".join(good).encode())  # fmt: skip
    assert result.exit_code == 1
    assert "... 500 read: " in result.stderr and "... 1000 read: " in result.stderr
    assert "1096 imported, 0 already imported, 4 skipped" in result.stdout
    assert "skipped, by reason:" in result.stderr
    grouped = result.stderr.split("skipped, by reason:")[1].splitlines()
    assert grouped[1].startswith("  3 x title: ")
    assert grouped[2].strip().startswith("line 6: ")
    assert "line 701: " in result.stderr
    assert any(line.startswith("  1 x body: ") for line in grouped)
