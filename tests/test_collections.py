"""Collections: curated and combined feeds, declared in the settings or over the API, served
at /collection/<slug>/feed.* over real HTTP, read by the parsers and validators of
tests/feedcheck.py, on both databases; their listing pages, OPML and sitemap entries; and
which writes make their feeds stale.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import listparser
import lxml.html
import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.articles import Articles
from app.collection_rules import COLLECTION
from app.collection_rules import Collection
from app.collection_rules import Terms
from app.collection_rules import build_collection
from app.documents import render_fingerprint
from app.domain import FeedFormat
from app.domain import FeedScope
from app.errors import FeedNotFound
from app.errors import SettingsError
from app.profiles import SUMMARY_PROFILE
from app.profiles import scope_profile
from app.renderer import FeedRenderer
from app.services import Services
from app.services import build_services
from app.settings_sources import load_settings
from app.storage.articles import ArticleRepository
from app.transfer.export import export_lines
from app.transfer.importing import import_lines
from tests.conftest import BASE_URL
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.factories import article_input
from tests.feedcheck import assert_valid_atom
from tests.feedcheck import assert_valid_json_feed
from tests.feedcheck import assert_valid_rss
from tests.live import LiveServer
from tests.live import serve

COLLECTIONS = "/api/v1/collections"
DECLARED = {
    "politica-economia": {
        "title": "Política + Economia",
        "include_categories": ["Política", "economia"],  # a name and a slug
    },
    "sem-opiniao": {"title": "Tudo menos Opinião", "exclude_categories": ["Opinião"]},
}

PROFILES = {"feed_profiles": {"collection/destaques": "summary"}}


@pytest.fixture
def overrides(database_url: str) -> dict[str, Any]:
    return settings_for(database_url, collections=DECLARED, **PROFILES)


@pytest.fixture
def live(app: Flask) -> Iterator[LiveServer]:
    with serve(app) as server:
        yield server


def publish(articles: Articles, clock: FakeClock, title: str, **fields: Any) -> str:
    """A public article (published an hour ago unless ``published_at`` is given); its id."""
    fields.setdefault("published_at", clock() - timedelta(hours=1))
    fields.setdefault("tags", ())
    return articles.create_article(article_input(title=title, **fields), clock()).id


def newsroom(articles: Articles, clock: FakeClock) -> dict[str, str]:
    """Four public articles, one per section, published an hour apart (Política newest)."""
    return {
        section: publish(
            articles, clock, f"Notícia de {section}", categories=(section,),
            published_at=clock() - timedelta(hours=hours),
        )
        for hours, section in enumerate(("Política", "Economia", "Opinião", "Esportes"), 1)
    }  # fmt: skip


def titles(live: LiveServer, path: str) -> list[str]:
    """The entry titles of the feed at ``path`` (without ``.<format>``), in document order,
    the same in the three formats, each valid, read as served over HTTP; and its title."""
    found = []
    for fmt in FeedFormat:
        response = live.request("GET", f"{path}.{fmt}")
        assert response.status == 200, (path, fmt, response.status)
        if fmt is FeedFormat.JSON:
            feed = assert_valid_json_feed(response.body)
            found.append([feed["title"], *(item["title"] for item in feed["items"])])
        else:
            parsed = (assert_valid_rss if fmt is FeedFormat.RSS else assert_valid_atom)(
                response.body
            )
            found.append([parsed.feed.title, *(entry.title for entry in parsed.entries)])
    assert found[0] == found[1] == found[2], found
    return found[0]


# -- rules, pure --------------------------------------------------------------------------


def test_an_article_is_in_a_collection_if_it_matches_an_include_and_no_exclude() -> None:
    combined = build_collection(
        "c", "C", {"include_categories": ["Política"], "exclude_tags": ["Opinião"]}, None
    )
    assert combined.holds("x", Terms.of_names(["política"], [], []))
    assert not combined.holds("x", Terms.of_names(["Política"], ["opiniao"], []))
    assert not combined.holds("x", Terms.of_names(["Esportes"], [], []))
    everything = build_collection("e", "E", {"exclude_authors": ["Ana Souza"]}, None)
    assert everything.holds("x", Terms())
    assert not everything.holds("x", Terms.of_names([], [], ["ana-souza"]))
    # A batch put together: an exclude one article carries does not rule out the others.
    assert everything.may_hold(["x", "y"], Terms.of_names([], [], ["Ana Souza", "Bruno"]))
    listed = Collection("l", "L", articles=("b", "a"))
    assert listed.holds("a", Terms()) and not listed.holds("c", Terms())
    assert listed.may_hold(["c", "b"], Terms()) and not listed.may_hold(["c"], Terms())


# -- settings -----------------------------------------------------------------------------


def test_collections_are_read_from_the_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "broadsheet.toml"
    config.write_text(
        '[collections.destaques]\ntitle = "Destaques"\narticles = ["tag:a", "tag:b"]\n\n'
        '[collections.politica-economia]\ntitle = "Política + Economia"\n'
        'include_categories = ["Política", "Economia"]\n\n'
        '[feed.profiles]\n"collection/destaques" = "summary"\n',
        encoding="utf-8",
    )
    settings = load_settings(environ={}, config_file=config)
    destaques, combined = settings.declared_collections
    assert destaques == Collection("destaques", "Destaques", articles=("tag:a", "tag:b"),
                                   declared=True)  # fmt: skip
    assert combined.include.categories == {"politica", "economia"} and combined.declared
    assert scope_profile("collection/destaques", "full", settings.feed_profiles) == (
        SUMMARY_PROFILE
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[collections.x]\ntitle = " "', "Setting collections.x.title must be a text"),
        ("[collections.x]\ninclude_tags = []", "Setting collections.x.title must be a text"),
        ('[collections.Destaques]\ntitle = "D"', "Setting collections.Destaques: a collection's"),
        ('[collections.x]\ntitle = "X"\ninclude = ["a"]', "collections.x.include is not a known"),
        ('[collections.x]\ntitle = "X"\ninclude_tags = "a"', "x.include_tags must be a list"),
        ('[collections.x]\ntitle = "X"\narticles = ["a"]\nexclude_tags = ["b"]',
         "collections.x.articles cannot be given with rules"),
        ('[collections.x]\ntitle = "X"\narticles = ["a", "b", "c"]\n[feed]\nitem_limit = 2',
         "collections.x.articles must list at most 2 articles"),
        ('[collections.x]\ntitle = "X"\narticles = ["a", "a"]',
         "collections.x.articles must name each article once"),
    ],
)  # fmt: skip
def test_a_bad_collection_in_the_settings_is_named_with_its_field(
    tmp_path: Path, table: str, message: str
) -> None:
    config = tmp_path / "broadsheet.toml"
    config.write_text(table, encoding="utf-8")
    with pytest.raises(SettingsError, match=message):
        load_settings(environ={}, config_file=config)


def test_a_profile_may_be_set_per_collection_or_for_every_collection() -> None:
    with pytest.raises(SettingsError, match="scope keys"):
        load_settings({"feed_profiles": {"collection/Destaques": "summary"}}, environ={})
    load_settings({"feed_profiles": {"collection": "summary"}}, environ={})


# -- feeds ----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_collections_of_the_settings_combine_sections(
    app: Flask, articles: Articles, renderer: FeedRenderer, clock: FakeClock, live: LiveServer
) -> None:
    newsroom(articles, clock)
    publish(articles, clock, "Rascunho de Política", categories=("Política",), published_at=None)
    soon = clock() + timedelta(seconds=60)
    publish(articles, clock, "Esportes agendada", categories=("Esportes",), published_at=soon)
    renderer.render_due_feeds(clock())
    # A scheduled article cuts the max-age of the collections it will be in, only.
    ages = {
        slug: live.request("GET", f"/collection/{slug}/feed.atom").headers["cache-control"]
        for slug in DECLARED
    }
    assert ages == {
        "politica-economia": "public, max-age=120",
        "sem-opiniao": "public, max-age=60",
    }

    assert titles(live, "/collection/politica-economia/feed") == [
        "Gazeta de Teste: Política + Economia",
        "Notícia de Política",
        "Notícia de Economia",
    ]
    assert titles(live, "/collection/sem-opiniao/feed") == [
        "Gazeta de Teste: Tudo menos Opinião",
        "Notícia de Política",
        "Notícia de Economia",
        "Notícia de Esportes",
    ]
    # No archives of their own, as a section's feed has none.
    atom = live.request("GET", "/collection/sem-opiniao/feed.atom").body
    assert b"prev-archive" not in atom
    assert live.request("GET", "/collection/nenhuma/feed.atom").status == 404


@pytest.mark.postgres
def test_an_editors_list_keeps_its_order_and_shows_only_public_articles(
    app: Flask,
    client: FlaskClient,
    auth: dict[str, str],
    articles: Articles,
    renderer: FeedRenderer,
    clock: FakeClock,
    live: LiveServer,
) -> None:
    ids = newsroom(articles, clock)
    draft = publish(articles, clock, "Rascunho", published_at=None)
    scheduled = publish(articles, clock, "Agendada", published_at=clock() + timedelta(hours=2))
    deleted = publish(articles, clock, "Apagada")
    articles.delete_article(deleted, None, clock())
    listed = [ids["Esportes"], draft, ids["Política"], deleted, scheduled, ids["Opinião"]]
    body = {"title": "Destaques", "articles": listed}
    response = client.put(f"{COLLECTIONS}/destaques", json=body, headers=auth)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["articles"] == listed
    renderer.render_due_feeds(clock())

    # The editor's order, not the dates' (Política is the newest).
    expected = ["Notícia de Esportes", "Notícia de Política", "Notícia de Opinião"]
    assert titles(live, "/collection/destaques/feed") == ["Gazeta de Teste: Destaques", *expected]
    # [feed.profiles] "collection/destaques" = "summary": no content.
    feed = json.loads(live.request("GET", "/collection/destaques/feed.json").body)
    assert all("content_html" not in item for item in feed["items"])
    page = lxml.html.fromstring(live.request("GET", "/collection/destaques").body)
    assert [a.text_content() for a in page.iterfind(".//h2/a")] == expected

    # The scheduled article shows when its time comes, in its place in the list.
    clock.advance(hours=3)
    renderer.render_due_feeds(clock())
    assert titles(live, "/collection/destaques/feed")[1:] == [
        "Notícia de Esportes", "Notícia de Política", "Agendada", "Notícia de Opinião",
    ]  # fmt: skip


@pytest.mark.postgres
def test_a_write_marks_only_the_collections_that_hold_the_article(
    client: FlaskClient,
    auth: dict[str, str],
    articles: Articles,
    renderer: FeedRenderer,
    clock: FakeClock,
    live: LiveServer,
) -> None:
    ids = newsroom(articles, clock)
    listed = {"title": "Destaques", "articles": [ids["Opinião"]]}
    assert client.put(f"{COLLECTIONS}/destaques", json=listed, headers=auth).status_code == 201
    renderer.render_due_feeds(clock())
    before = live.request("GET", "/collection/politica-economia/feed.atom").headers["etag"]

    changed = client.patch(
        f"/api/v1/articles/{ids['Economia']}",
        json={"title": "Economia revista"},
        headers={**auth, "If-Match": "*"},
    )
    assert changed.status_code == 200, changed.get_json()
    report = renderer.render_due_feeds(clock())
    assert {"collection/politica-economia", "collection/sem-opiniao"} <= set(report.scopes)
    assert "collection/destaques" not in report.scopes
    assert "Economia revista" in titles(live, "/collection/politica-economia/feed")
    after = live.request("GET", "/collection/politica-economia/feed.atom").headers["etag"]
    assert after != before

    # Outside every rule but the one that takes all but Opinião, and off the list.
    client.patch(
        f"/api/v1/articles/{ids['Esportes']}", json={"title": "Esportes revista"},
        headers={**auth, "If-Match": "*"},
    )  # fmt: skip
    report = renderer.render_due_feeds(clock())
    assert "collection/sem-opiniao" in report.scopes
    assert not {"collection/politica-economia", "collection/destaques"} & set(report.scopes)

    # An article that leaves a collection marks it too (the version before the write).
    client.patch(
        f"/api/v1/articles/{ids['Opinião']}", json={"categories": ["Política"]},
        headers={**auth, "If-Match": "*"},
    )  # fmt: skip
    report = renderer.render_due_feeds(clock())
    assert {"collection/politica-economia", "collection/sem-opiniao", "collection/destaques"} <= (
        set(report.scopes)
    )
    assert "Notícia de Opinião" in titles(live, "/collection/sem-opiniao/feed")


@pytest.mark.postgres
def test_an_import_marks_the_collections_its_articles_may_be_in(
    app: Flask, articles: Articles, renderer: FeedRenderer, clock: FakeClock
) -> None:
    newsroom(articles, clock)
    renderer.render_due_feeds(clock())
    # Esportes again, as a new article: the collection of every section but Opinião holds
    # it; the one of Política and Economia does not.
    record = [json.loads(line) for line in export_lines(articles)][3]
    assert record["categories"] == ["Esportes"]
    record = {
        name: value
        for name, value in record.items()
        if name not in ("id", "slug", "created_at", "updated_at")
    }
    assert import_lines(articles, [json.dumps(record)], clock()).imported == 1
    scopes = set(renderer.render_due_feeds(clock()).scopes)
    assert "collection/sem-opiniao" in scopes
    assert "collection/politica-economia" not in scopes
    site = [article.title for article in articles.latest_public(clock(), 10)]
    assert site.count("Notícia de Esportes") == 2


@pytest.mark.postgres
def test_a_scheduler_that_starts_renders_the_collections_of_its_settings(
    database_url: str, articles: Articles, renderer: FeedRenderer, clock: FakeClock
) -> None:
    newsroom(articles, clock)
    renderer.rebuild_if_changed(render_fingerprint(articles.settings), clock())
    renderer.render_due_feeds(clock())
    # The settings gain a collection and lose one: no write names either, and no other
    # feed is rebuilt for it.
    declared = {"esportes": {"title": "Só esportes", "include_categories": ["Esportes"]},
                "politica-economia": DECLARED["politica-economia"]}  # fmt: skip
    restarted = build_services(
        {**settings_for(database_url, **PROFILES), "collections": declared},
        clock=clock,
        environ={},
    )
    try:
        fingerprint = render_fingerprint(restarted.settings)
        assert not restarted.renderer.rebuild_if_changed(fingerprint, clock())
        report = restarted.renderer.render_due_feeds(clock())
        assert {scope.partition("/")[0] for scope in report.scopes} == {COLLECTION}
        assert "collection/esportes:atom" in report.changed
        assert "collection/sem-opiniao:atom" in report.deleted
        assert "collection/politica-economia:atom" not in report.changed  # the same bytes
        with pytest.raises(FeedNotFound):
            restarted.feeds.feed_snapshot(FeedScope(COLLECTION, "sem-opiniao"), FeedFormat.ATOM)
    finally:
        restarted.database.dispose()


# -- over the API -------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_definition_changes_the_feed_and_a_deletion_removes_it(
    client: FlaskClient,
    auth: dict[str, str],
    articles: Articles,
    renderer: FeedRenderer,
    clock: FakeClock,
    live: LiveServer,
) -> None:
    ids = newsroom(articles, clock)
    rules = {"title": "Esportes e Opinião",
             "rules": {"include_categories": ["esportes"], "include_tags": ["nada"]}}  # fmt: skip
    created = client.put(f"{COLLECTIONS}/mista", json=rules, headers=auth)
    assert created.status_code == 201, created.get_json()
    assert created.get_json() == {
        "slug": "mista",
        "title": "Esportes e Opinião",
        "rules": {"include_categories": ["esportes"], "include_tags": ["nada"],
                  "include_authors": [], "exclude_categories": [], "exclude_tags": [],
                  "exclude_authors": []},
        "articles": None,
        "declared_in_settings": False,
        "url": f"{BASE_URL}/collection/mista",
        "feeds": {fmt.value: f"{BASE_URL}/collection/mista/feed.{fmt}" for fmt in FeedFormat},
    }  # fmt: skip
    renderer.render_due_feeds(clock())
    assert titles(live, "/collection/mista/feed")[1:] == ["Notícia de Esportes"]
    assert client.get(f"{COLLECTIONS}/mista", headers=auth).get_json() == created.get_json()

    rules["rules"] = {"include_categories": ["Esportes", "Opinião"]}
    assert client.put(f"{COLLECTIONS}/mista", json=rules, headers=auth).status_code == 200
    renderer.render_due_feeds(clock())
    assert titles(live, "/collection/mista/feed")[1:] == [
        "Notícia de Opinião", "Notícia de Esportes",
    ]  # fmt: skip
    listed = {"title": "Só uma", "articles": [ids["Economia"]]}
    assert client.put(f"{COLLECTIONS}/mista", json=listed, headers=auth).status_code == 200
    renderer.render_due_feeds(clock())
    assert titles(live, "/collection/mista/feed") == ["Gazeta de Teste: Só uma",
                                                       "Notícia de Economia"]  # fmt: skip
    slugs = [c["slug"] for c in client.get(COLLECTIONS, headers=auth).get_json()["items"]]
    assert slugs == ["politica-economia", "sem-opiniao", "mista"]
    assert "/collection/mista" in live.request("GET", "/sitemap-pages-0.xml").body.decode()

    assert client.delete(f"{COLLECTIONS}/mista", headers=auth).status_code == 204
    renderer.render_due_feeds(clock())
    for fmt in FeedFormat:
        assert live.request("GET", f"/collection/mista/feed.{fmt}").status == 404
    assert live.request("GET", "/collection/mista").status == 404
    assert client.get(f"{COLLECTIONS}/mista", headers=auth).status_code == 404
    assert client.delete(f"{COLLECTIONS}/mista", headers=auth).status_code == 404
    assert "/collection/mista" not in live.request("GET", "/sitemap-pages-0.xml").body.decode()
    assert b"/collection/mista" not in live.request("GET", "/feeds.opml").body


@pytest.mark.postgres
def test_the_listing_page_has_its_feeds_and_the_opml_lists_it(
    articles: Articles, renderer: FeedRenderer, clock: FakeClock, live: LiveServer
) -> None:
    newsroom(articles, clock)
    renderer.render_due_feeds(clock())
    response = live.request("GET", "/collection/politica-economia")
    assert response.status == 200
    page = lxml.html.fromstring(response.body)
    assert page.findtext(".//h1") == "Política + Economia"
    assert page.findtext(".//title") == "Política + Economia · Gazeta de Teste"
    alternates = {
        link.get("type"): link.get("href") for link in page.iterfind(".//link[@rel='alternate']")
    }
    assert alternates == {
        "application/rss+xml": f"{BASE_URL}/collection/politica-economia/feed.rss",
        "application/atom+xml": f"{BASE_URL}/collection/politica-economia/feed.atom",
        "application/feed+json": f"{BASE_URL}/collection/politica-economia/feed.json",
    }
    assert live.request("GET", "/collection/nenhuma").status == 404

    opml = listparser.parse(live.request("GET", "/feeds.opml").body)
    assert not opml.bozo, opml.bozo_exception
    listed = {feed.url: (feed.title, feed.categories) for feed in opml.feeds}
    assert listed[f"{BASE_URL}/collection/politica-economia/feed.atom"] == (
        "Gazeta de Teste: Política + Economia", [["Coleções"]],
    )  # fmt: skip
    sitemap = live.request("GET", "/sitemap-pages-0.xml").body.decode()
    assert f"<loc>{BASE_URL}/collection/sem-opiniao</loc>" in sitemap


@pytest.mark.postgres
def test_collections_of_the_settings_are_read_only_over_the_api(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    shown = client.get(f"{COLLECTIONS}/sem-opiniao", headers=auth).get_json()
    assert shown["declared_in_settings"] is True
    assert shown["rules"]["exclude_categories"] == ["opiniao"]
    body = {"title": "Outra", "articles": ["tag:x"]}
    for response in (
        client.put(f"{COLLECTIONS}/sem-opiniao", json=body, headers=auth),
        client.delete(f"{COLLECTIONS}/sem-opiniao", headers=auth),
    ):
        assert response.status_code == 409
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "declared-in-settings"
        assert "[collections.sem-opiniao]" in response.get_json()["detail"]


def test_every_call_needs_a_token(client: FlaskClient) -> None:
    assert client.get(COLLECTIONS).status_code == 401
    assert client.put(f"{COLLECTIONS}/x", json={"title": "X", "rules": {}}).status_code == 401


@pytest.mark.parametrize(
    ("slug", "body", "status", "field", "message"),
    [
        ("Destaques", {"title": "D", "rules": {}}, 422, "slug", "lowercase ASCII"),
        ("x", {"title": " ", "rules": {}}, 422, "title", "not empty"),
        ("x", {"title": "", "rules": {}}, 422, "title", "at least 1 character"),
        ("x", {"title": "X"}, 422, "rules", "or articles is required"),
        ("x", {"title": "X", "rules": {"include_tags": ["a"]}, "articles": ["a"]},
         422, "articles", "cannot be given with rules"),
        ("x", {"title": "X", "articles": [f"tag:{n}" for n in range(11)]},
         422, "articles", "at most 10 articles"),
        ("x", {"title": "X", "articles": []}, 422, "articles", "not empty"),
        ("x", {"title": "X", "articles": ["a", "a"]}, 422, "articles", "each article once"),
        ("x", {"title": "X", "rules": {"include": ["a"]}}, 422, "rules.include", "not a known"),
        ("x", {"title": "X", "rules": {}, "feed": "x"}, 422, "feed", "not a known field"),
        ("x", {"title": "X", "rules": {"include_tags": [""]}}, 422, "rules.include_tags",
         "list of names"),
        ("x", {"title": "X", "rules": {"include_tags": "a"}}, 422, "rules.include_tags",
         "valid array"),
    ],
)  # fmt: skip
def test_a_bad_collection_is_refused_with_every_field_named(
    client: FlaskClient,
    auth: dict[str, str],
    slug: str,
    body: dict[str, Any],
    status: int,
    field: str,
    message: str,
) -> None:
    response = client.put(f"{COLLECTIONS}/{slug}", json=body, headers=auth)
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert [error["field"] for error in problem["errors"]] == [field]
    assert message in problem["errors"][0]["message"]
    assert client.get(f"{COLLECTIONS}/{slug}", headers=auth).status_code == 404


def test_a_body_that_is_not_json_is_refused(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.put(
        f"{COLLECTIONS}/x", data=b'{"title": ', headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "malformed-json"
    response = client.put(f"{COLLECTIONS}/x", data=b"title=X", headers=auth)
    assert response.status_code == 415
    assert "the collection" in response.get_json()["detail"]
    unknown = client.get(f"{COLLECTIONS}/nenhuma", headers=auth)
    assert unknown.status_code == 404
    assert unknown.get_json()["detail"] == "No collection 'nenhuma'."


# -- the rules' query ----------------------------------------------------------------------


def test_included_terms_give_the_newest_matches_however_far_back_they_are(
    services: Services, clock: FakeClock
) -> None:
    """The rules' query reads each included term's newest numbers and widens its reach
    until it is sure: checked against every article, newest first, for collections whose
    newest candidates are all excluded, whose terms interleave, and whose term is rare."""
    held: list[tuple[str, Terms]] = []
    for index in range(160):
        categories = ["Política" if index % 2 == 0 else "Economia"]
        tags = [name for name, every in (("raro", 37), ("pauta", 3)) if index % every == 0]
        if index < 20 and index % 2:
            tags.append("velho")  # ten old articles of Economia
        if index >= 40 and index % 2 == 0:
            tags.append("urgente")  # the newest 60 of Política, all excluded below
        article_id = publish(
            services.articles,
            clock,
            f"Notícia {index}",
            categories=categories,
            tags=tags,
            published_at=clock() - timedelta(hours=200 - index),
        )
        held.append((article_id, Terms.of_names(categories, tags, ["Ana Souza", "Bruno Lima"])))
    newest_first = list(reversed(held))
    limit = 10
    collections = [
        build_collection("raro", "R", {"include_tags": ["raro"]}, None),
        build_collection(
            "politica", "P", {"include_categories": ["Política"], "exclude_tags": ["urgente"]}, None
        ),
        # Política's newest 50 are all excluded; a term with older articles must not
        # stand in for the Política articles beyond them.
        build_collection(
            "antigos",
            "A",
            {
                "include_categories": ["Política"],
                "include_tags": ["velho"],
                "exclude_tags": ["urgente"],
            },
            None,
        ),
        build_collection(
            "mistura",
            "M",
            {
                "include_categories": ["Economia"],
                "include_tags": ["pauta"],
                "exclude_tags": ["urgente"],
            },
            None,
        ),
        build_collection(
            "quase-nada",
            "Q",
            {"include_tags": ["pauta"], "exclude_categories": ["Economia", "Política"]},
            None,
        ),
    ]
    with services.database.read() as session:
        articles = ArticleRepository(session)
        for collection in collections:
            expected = [i for i, terms in newest_first if collection.holds(i, terms)][:limit]
            found = [v.id for v in articles.collection_versions(collection, limit)]
            assert found == expected, collection.slug
    assert len(expected) == 0  # the last one holds nothing: every candidate excluded
