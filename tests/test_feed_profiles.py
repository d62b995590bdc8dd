"""Feed profiles: how much of each article's text a feed carries (full, summary, the first
N paragraphs), per site and per scope, and the article flag that keeps an article's text
out of every feed; read back as a reader reads them (feedparser), valid in every validator.

Golden files of the profiles other than full live in tests/golden/ (``site-summary.*``,
``site-paragraphs-1.*``); regenerate them with ``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import lxml.etree
import lxml.html
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.domain import FeedFormat
from app.errors import SettingsError
from app.profiles import FULL_PROFILE
from app.profiles import SUMMARY_PROFILE
from app.profiles import FeedProfile
from app.profiles import parse_profile
from app.profiles import scope_profile
from app.rendering import FeedDocument
from app.rendering import render_feed
from app.settings_sources import load_settings
from app.storage.tables import EntryFragmentRow
from app.teasers import continue_reading_html
from app.teasers import entry_in_profile
from app.teasers import leading_paragraphs
from app.transfer.export import export_lines
from app.transfer.importing import import_lines
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.factories import api_article
from tests.feedcheck import assert_valid_atom
from tests.feedcheck import assert_valid_json_feed
from tests.feedcheck import assert_valid_rss
from tests.live import LiveServer
from tests.live import serve
from tests.test_rendering import CULTURA
from tests.test_rendering import MARKETS
from tests.test_rendering import PREVIDENCIA

GOLDEN = Path(__file__).parent / "golden"
SUFFIXES = {FeedFormat.RSS: "rss.xml", FeedFormat.ATOM: "atom.xml", FeedFormat.JSON: "json"}
SITE = "https://www.diario.example"
ARTICLES = "/api/v1/articles"
THREE_PARAGRAPHS = "Primeiro parágrafo.\n\nSegundo parágrafo.\n\nTerceiro parágrafo."


# -- naming and choosing profiles ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "profile"),
    [
        ("full", FULL_PROFILE),
        ("summary", SUMMARY_PROFILE),
        ("paragraphs:1", FeedProfile("paragraphs", 1)),
        ("paragraphs:100", FeedProfile("paragraphs", 100)),
    ],
)
def test_a_profile_is_named_as_the_settings_name_it(name: str, profile: FeedProfile) -> None:
    assert parse_profile(name) == profile
    assert profile.name == name


@pytest.mark.parametrize(
    "name", ["", "Full", "excerpt", "paragraphs", "paragraphs:0", "paragraphs:101",
             "paragraphs:03", "paragraphs: 3", "paragraphs:-1", "summary "],
)  # fmt: skip
def test_anything_else_is_no_profile(name: str) -> None:
    with pytest.raises(ValueError, match="full, summary or paragraphs:N"):
        parse_profile(name)


def test_a_scope_takes_its_own_profile_then_its_kinds_then_the_default() -> None:
    by_scope = {"category/opiniao": "summary", "category": "paragraphs:2", "site": "full"}
    assert scope_profile("category/opiniao", "paragraphs:5", by_scope) == SUMMARY_PROFILE
    assert scope_profile("category/politica", "paragraphs:5", by_scope).paragraphs == 2
    assert scope_profile("tag/eleicoes", "paragraphs:5", by_scope).paragraphs == 5
    assert scope_profile("site", "summary", by_scope) == FULL_PROFILE
    # An archive page is the site feed's history: it carries what the site feed carries...
    assert scope_profile("archive/3", "summary", by_scope) == FULL_PROFILE
    assert scope_profile("archive/3", "summary", {}) == SUMMARY_PROFILE
    # ...unless archives have a profile of their own.
    assert scope_profile("archive/3", "full", {"archive": "summary", "site": "full"}) == (
        SUMMARY_PROFILE
    )


# -- settings -----------------------------------------------------------------------------


def test_profiles_are_read_from_the_settings_file_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "broadsheet.toml"
    config.write_text(
        '[feed]\nprofile = "paragraphs:3"\n\n'
        '[feed.profiles]\n"category/opiniao" = "summary"\ntag = "full"\n',
        encoding="utf-8",
    )
    settings = load_settings(environ={}, config_file=config)
    assert settings.feed_profile == "paragraphs:3"
    assert settings.feed_profiles == {"category/opiniao": "summary", "tag": "full"}

    environ = {"BROADSHEET_FEED_PROFILES": '{"author/ana-souza": "paragraphs:1"}'}
    settings = load_settings(environ=environ, config_file=config)
    assert settings.feed_profiles == {"author/ana-souza": "paragraphs:1"}


def test_the_default_profile_is_full_for_every_scope(tmp_path: Path) -> None:
    settings = load_settings(environ={}, config_file=tmp_path / "none.toml")
    assert (settings.feed_profile, settings.feed_profiles) == ("full", {})


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"feed_profile": "teaser"}, "Setting feed_profile: must be full, summary or "
         "paragraphs:N with N from 1 to 100, got 'teaser'."),
        ({"feed_profiles": {"category/opiniao": "paragraphs:0"}}, "Setting feed_profiles: "
         "the profile of 'category/opiniao' must be full, summary or paragraphs:N"),
        ({"feed_profiles": {"categoria/opiniao": "summary"}}, "Setting feed_profiles: must "
         "map scope keys"),
        ({"feed_profiles": {"site/x": "summary"}}, "got the key 'site/x'"),
        ({"feed_profiles": {"category/Opinião": "summary"}}, "got the key 'category/Opinião'"),
        ({"feed_profiles": '{"site": "summary"'}, "Setting feed_profiles"),
    ],
)  # fmt: skip
def test_a_bad_profile_setting_stops_the_start_naming_it(
    tmp_path: Path, overrides: dict[str, Any], named: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(overrides, environ={}, config_file=tmp_path / "none.toml")
    assert named in str(refused.value)


# -- cutting the text ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fragment", "count", "teaser"),
    [
        ("<p>Um.</p><p>Dois.</p><p>Três.</p>", 2, "<p>Um.</p><p>Dois.</p>"),
        ("<p>Um.</p>\n<p>Dois.</p>\n", 2, None),  # nothing left out: no teaser
        ("<p>Um.</p>", 3, None),
        ("", 1, None),
        # Figures and headings before the N-th paragraph stay; they are not paragraphs.
        ('<figure><img src="https://x.example/a.jpg" alt="A"></figure><h2>T</h2><p>Um.</p>'
         "<p>Dois.</p>", 1,
         '<figure><img src="https://x.example/a.jpg" alt="A"></figure><h2>T</h2><p>Um.</p>'),
        # A block is kept or left whole, never cut inside.
        ("<ul><li>a</li><li>b</li></ul><p>Um.</p><blockquote><p>Q</p></blockquote>", 1,
         "<ul><li>a</li><li>b</li></ul><p>Um.</p>"),
        # An HTML body need not wrap its paragraphs: text between blocks is one.
        ("Solto &amp; <b>forte</b><p>Dois.</p><p>Três.</p>", 1, "Solto &amp; <b>forte</b>"),
        ("<p>Um.</p>\n<p>Dois &lt;b&gt; <a href=\"https://x.example/?a=1&amp;b=2\">l</a></p>"
         "\n<hr><p>Três.</p>", 2,
         "<p>Um.</p>\n<p>Dois &lt;b&gt; <a href=\"https://x.example/?a=1&amp;b=2\">l</a></p>"),
    ],
)  # fmt: skip
def test_the_first_paragraphs_are_cut_at_top_level_blocks(
    fragment: str, count: int, teaser: str | None
) -> None:
    assert leading_paragraphs(fragment, count) == teaser
    if teaser is not None:
        # Well-formed HTML that says what the start of the body says.
        assert lxml.html.fragment_fromstring(teaser, create_parent="div") is not None
        assert fragment.startswith(teaser.rstrip())


@pytest.mark.parametrize(
    ("language", "label"),
    [
        ("pt-BR", "Continuar lendo"),
        ("pt", "Continuar lendo"),
        ("pt-PT", "Continuar a ler"),
        ("en", "Continue reading"),
        ("en-GB", "Continue reading"),
        ("es-419", "Seguir leyendo"),
        ("fr-CA", "Lire la suite"),
        ("de", "Weiterlesen"),
        ("zh-Hant-TW", "Continue reading"),  # not known: English
    ],
)
def test_continue_reading_is_said_in_the_feeds_language(language: str, label: str) -> None:
    link = continue_reading_html(f"{SITE}/articles/a?x=1&y=2", language)
    assert link == f'<p><a href="{SITE}/articles/a?x=1&amp;y=2">{label}</a></p>'


def test_an_entry_keeps_everything_but_its_content() -> None:
    teaser = entry_in_profile(PREVIDENCIA, FeedProfile("paragraphs", 1), "pt-BR")
    summary = entry_in_profile(PREVIDENCIA, SUMMARY_PROFILE, "pt-BR")
    for changed in (teaser, summary):
        assert {
            name: value
            for name, value in vars(changed).items()
            if name != "content_html" and value != getattr(PREVIDENCIA, name)
        } == {}
    assert summary.content_html is None
    assert teaser.content_html is not None
    assert teaser.content_html.endswith(continue_reading_html(PREVIDENCIA.url, "pt-BR"))
    assert entry_in_profile(PREVIDENCIA, FULL_PROFILE, "pt-BR") is PREVIDENCIA
    # An entry that carries no text already stays so under any profile.
    textless = entry_in_profile(PREVIDENCIA, SUMMARY_PROFILE, "pt-BR")
    assert entry_in_profile(textless, FeedProfile("paragraphs", 3), "pt-BR") is textless


# -- each profile in each format ----------------------------------------------------------

PROFILES = {"summary": SUMMARY_PROFILE, "paragraphs-1": FeedProfile("paragraphs", 1)}
VALIDATORS = {
    FeedFormat.RSS: assert_valid_rss,
    FeedFormat.ATOM: assert_valid_atom,
    FeedFormat.JSON: assert_valid_json_feed,
}


def profiled_document(profile: FeedProfile) -> FeedDocument:
    """A small site feed whose entries carry what ``profile`` lets them."""
    entries = tuple(
        entry_in_profile(entry, profile, "pt-BR") for entry in (PREVIDENCIA, MARKETS, CULTURA)
    )
    return FeedDocument(
        id="tag:diario.example,2024:feed:site",
        title="Diário Exemplo",
        description="Notícias, análises & opinião",
        site_url=SITE,
        home_url=SITE,
        language="pt-BR",
        updated=max(entry.updated for entry in entries),
        self_urls={fmt: f"{SITE}/feed.{fmt}" for fmt in FeedFormat},
        entries=entries,
        ttl_minutes=15,
    )


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
@pytest.mark.parametrize("name", list(PROFILES))
def test_each_profile_matches_its_golden_file_and_its_validator(name: str, fmt: FeedFormat) -> None:
    body = render_feed(profiled_document(PROFILES[name]), fmt)
    VALIDATORS[fmt](body)
    path = GOLDEN / f"site-{name}.{SUFFIXES[fmt]}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_bytes(body)
        return
    assert path.exists(), f"{path} is missing; run with UPDATE_GOLDEN=1"
    assert body == path.read_bytes(), f"{fmt} output differs from {path.name}"


def read_entries(fmt: FeedFormat, body: bytes) -> list[dict[str, Any]]:
    """What a reader shows of each entry: its link, summary and content (``None``: none),
    as feedparser reads them (and the JSON Feed's own members)."""
    VALIDATORS[fmt](body)
    if fmt is FeedFormat.JSON:
        items = json.loads(body)["items"]
        return [
            {
                "link": item["url"],
                "summary": item.get("summary", ""),
                "content": item.get("content_html"),
                "text": item.get("content_text"),
            }
            for item in items
        ]
    parsed = feedparser.parse(body)
    return [
        {
            "link": entry.link,
            "summary": shown_text(entry.get("summary_detail")),
            "content": html_content(entry),
        }
        for entry in parsed.entries
    ]


def html_content(entry: Any) -> str | None:
    """The entry's HTML content as feedparser reads it, or ``None``. (Of an entry with a
    summary and no content, feedparser takes a Media RSS description for a plain-text
    content: that is the lead image's caption, not a body.)"""
    found = [content.value for content in entry.get("content", []) if content.type == "text/html"]
    assert len(found) <= 1
    return found[0] if found else None


def shown_text(detail: Any) -> str:
    """The text a reader shows of a feedparser text construct (HTML or plain)."""
    if detail is None:
        return ""
    if detail.type != "text/html" or not detail.value:
        return str(detail.value)
    return str(lxml.html.fragment_fromstring(detail.value, create_parent="div").text_content())


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
def test_every_profile_keeps_the_summary_as_it_is(fmt: FeedFormat) -> None:
    # As written (feedparser lets a Media RSS description stand for the summary).
    written = {
        name: summaries_written(fmt, render_feed(profiled_document(profile), fmt))
        for name, profile in {"full": FULL_PROFILE, **PROFILES}.items()
    }
    # Without a summary, RSS writes the content as the description (CULTURA, in full).
    assert written["summary"][:2] == written["paragraphs-1"][:2] == written["full"][:2]
    assert all(written["full"][:2])


def summaries_written(fmt: FeedFormat, body: bytes) -> list[str | None]:
    """Each entry's RSS description, Atom summary or JSON Feed summary, as written."""
    if fmt is FeedFormat.JSON:
        return [item.get("summary") for item in json.loads(body)["items"]]
    root = lxml.etree.fromstring(body)
    if fmt is FeedFormat.RSS:
        return [item.findtext("description") for item in root.iter("item")]
    atom = "{http://www.w3.org/2005/Atom}"
    return [entry.findtext(f"{atom}summary") for entry in root.iter(f"{atom}entry")]


def paragraphs_of(content: str) -> list[str]:
    """The text of each top-level paragraph of a content, as a reader shows them."""
    root = lxml.html.fragment_fromstring(content, create_parent="div")
    return [child.text_content() for child in root if child.tag == "p"]


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
def test_a_summary_feed_carries_no_body_and_the_same_summary(fmt: FeedFormat) -> None:
    full = read_entries(fmt, render_feed(profiled_document(FULL_PROFILE), fmt))
    summary = read_entries(fmt, render_feed(profiled_document(SUMMARY_PROFILE), fmt))
    given = [entry.summary for entry in (PREVIDENCIA, MARKETS, CULTURA)]
    assert [entry["summary"] for entry in summary] == given
    assert [entry["content"] for entry in summary] == [None, None, None]
    # (Without a summary, feedgen writes an RSS item's content as its description.)
    assert all(entry["content"] for entry in full[: 2 if fmt is FeedFormat.RSS else 3])
    if fmt is FeedFormat.JSON:  # JSON Feed requires a content: the summary, as text
        assert [entry["text"] for entry in summary] == given


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
def test_a_paragraphs_feed_carries_n_paragraphs_and_the_link(fmt: FeedFormat) -> None:
    full = read_entries(fmt, render_feed(profiled_document(FULL_PROFILE), fmt))
    teasers = read_entries(fmt, render_feed(profiled_document(PROFILES["paragraphs-1"]), fmt))
    previdencia, markets, cultura = teasers
    for entry, whole in ((previdencia, full[0]), (markets, full[1])):
        assert paragraphs_of(entry["content"]) == [
            paragraphs_of(whole["content"])[0],
            "Continuar lendo",
        ]
        link = lxml.html.fragment_fromstring(entry["content"], create_parent="div")
        assert link.xpath("./p[last()]/a/@href") == [entry["link"]]
    # The lead figure before the first paragraph stays; the one after it goes.
    assert "<figure>" not in markets["content"]
    assert cultura["content"] == full[2]["content"]  # one paragraph: nothing to cut


# -- stored articles, scopes and the article flag (SQLite and PostgreSQL) -------------------


@pytest.fixture
def overrides(database_url: str) -> dict[str, Any]:
    return settings_for(
        database_url,
        feed_profile="paragraphs:1",
        feed_profiles={"category/opiniao": "summary", "tag": "full"},
    )


def publish(
    client: FlaskClient, auth: dict[str, str], clock: FakeClock, **fields: Any
) -> tuple[dict[str, Any], str]:
    """A published article of three paragraphs and no lead image; and its ETag."""
    body = api_article(published_at=clock() - timedelta(minutes=5), body=THREE_PARAGRAPHS)
    del body["image"]
    response = client.post(ARTICLES, json={**body, **fields}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json(), response.headers["ETag"]


def contents(live: LiveServer, path: str, url: str) -> set[str | None]:
    """The content the entry of ``url`` has in the feed at ``path``, in each format, as
    served over HTTP."""
    found = set()
    for fmt in FeedFormat:
        response = live.request("GET", f"{path}.{fmt}")
        assert response.status == 200
        by_link = {entry["link"]: entry["content"] for entry in read_entries(fmt, response.body)}
        found.add(by_link[url])
    return found


@pytest.mark.postgres
def test_each_scope_carries_its_profile_and_the_flag_keeps_text_out(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    with serve(app) as live:
        feeds_of_each_scope(app, client, live, auth, clock)


def feeds_of_each_scope(
    app: Flask, client: FlaskClient, live: LiveServer, auth: dict[str, str], clock: FakeClock
) -> None:
    """The site takes paragraphs:1 by default, category/opiniao summary, every tag full;
    the feeds are read as served over HTTP."""
    renderer = app.extensions["broadsheet"].renderer
    opinion, _ = publish(client, auth, clock, categories=["Opinião"], tags=["eleições"])
    wire, etag = publish(client, auth, clock, title="Da agência", full_text_in_feeds=False)
    renderer.render_due_feeds(clock())

    first = "<p>Primeiro parágrafo.</p>"
    teaser = first + continue_reading_html(opinion["url"], "pt-BR")
    assert contents(live, "/feed", opinion["url"]) == {teaser}  # the site's default
    assert contents(live, "/category/opiniao/feed", opinion["url"]) == {None}
    whole = first + "\n<p>Segundo parágrafo.</p>\n<p>Terceiro parágrafo.</p>"
    assert contents(live, "/tag/eleicoes/feed", opinion["url"]) == {whole}  # by its kind
    # Kept out of every feed, whatever the feed's profile.
    for path in ("/feed", "/tag/creches/feed", "/category/educacao/feed"):
        assert contents(live, path, wire["url"]) == {None}

    # Each profile's entries are stored in a context of their own; the full one is named
    # as before profiles were (the render fingerprint's prefix, then the language).
    with app.extensions["broadsheet"].database.read() as session:
        stored = set(session.scalars(select(EntryFragmentRow.context)))
    assert {context.partition("/")[2] for context in stored} == {
        "pt-BR",
        "pt-BR/summary",
        "pt-BR/paragraphs:1",
    }

    patched = client.patch(
        f"{ARTICLES}/{wire['id']}",
        json={"full_text_in_feeds": True},
        headers={**auth, "If-Match": etag},
    )
    assert patched.status_code == 200, patched.get_json()
    renderer.render_due_feeds(clock())
    teaser = first + continue_reading_html(wire["url"], "pt-BR")
    assert contents(live, "/feed", wire["url"]) == {teaser}
    assert contents(live, "/tag/creches/feed", wire["url"]) == {whole}


@pytest.mark.postgres
def test_the_api_takes_and_answers_the_flag_every_way(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    created = client.post(ARTICLES, json=api_article(), headers=auth)
    assert created.get_json()["full_text_in_feeds"] is True  # the default
    kept_out = client.post(
        ARTICLES, json=api_article(title="Da agência", full_text_in_feeds=False), headers=auth
    )
    assert kept_out.status_code == 201
    path = f"{ARTICLES}/{kept_out.get_json()['id']}"
    assert kept_out.get_json()["full_text_in_feeds"] is False
    assert client.get(path, headers=auth).get_json()["full_text_in_feeds"] is False

    etag = kept_out.headers["ETag"]
    # Only JSON booleans; and null does not clear it.
    for value in ("false", 0, None):
        refused = client.patch(
            path, json={"full_text_in_feeds": value}, headers={**auth, "If-Match": etag}
        )
        assert refused.status_code == 422
        fields = [error["field"] for error in refused.get_json()["errors"]]
        assert fields == ["full_text_in_feeds"]

    patched = client.patch(
        path, json={"full_text_in_feeds": True}, headers={**auth, "If-Match": etag}
    )
    assert patched.get_json()["full_text_in_feeds"] is True
    replaced = client.put(
        path,
        json={**api_article(), "full_text_in_feeds": False},
        headers={**auth, "If-Match": patched.headers["ETag"]},
    )
    assert replaced.get_json()["full_text_in_feeds"] is False
    # A replacement that leaves it out sets the default, as for every other field.
    again = client.put(
        path, json=api_article(), headers={**auth, "If-Match": replaced.headers["ETag"]}
    )
    assert again.get_json()["full_text_in_feeds"] is True


@pytest.mark.postgres
def test_the_flag_survives_an_export_and_an_import(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    articles = app.extensions["broadsheet"].articles
    publish(client, auth, clock, title="Da agência", full_text_in_feeds=False)
    publish(client, auth, clock, title="Da redação")
    records = [json.loads(line) for line in export_lines(articles)]
    assert {record["title"]: record["full_text_in_feeds"] for record in records} == {
        "Da agência": False,
        "Da redação": True,
    }

    for record in records:
        assert client.delete(f"{ARTICLES}/{record['id']}", headers=auth).status_code == 204
    # Imported as new articles (lines of another system: without id, slug, times and
    # revision); and one without the flag, as earlier exports wrote them.
    dropped = ("id", "slug", "created_at", "updated_at", "revision", "former_slugs")
    lines = [{k: v for k, v in record.items() if k not in dropped} for record in records]
    legacy = {**lines[0], "title": "De antes"}
    del legacy["full_text_in_feeds"]
    report = import_lines(articles, [json.dumps(line) for line in [*lines, legacy]], clock())
    assert (report.imported, report.skipped) == (3, [])
    listed = client.get(f"{ARTICLES}?per_page=10", headers=auth).get_json()["items"]
    assert {article["title"]: article["full_text_in_feeds"] for article in listed} == {
        "Da agência": False,
        "Da redação": True,
        "De antes": True,
    }
