"""What an article's page tells search engines and social sites: schema.org NewsArticle as
JSON-LD (expanded by a JSON-LD processor, PyLD, and compared with what the page shows),
the Twitter/X card and Open Graph."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import lxml.html
import pytest
from flask import Flask
from flask.testing import FlaskClient
from pyld import jsonld

from app.articles import Articles
from app.domain import Article
from app.domain import Author
from app.web.application import close_app
from app.web.application import create_app
from tests.conftest import BASE_URL
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.factories import article_input

SCHEMA = "https://schema.org/"
# The schema.org context as far as expansion needs it: every term is a schema.org term.
# Given to PyLD in place of the published context, so that no test reaches the network.
SCHEMA_CONTEXT = {"@context": {"@vocab": SCHEMA}}
HOSTILE_TITLE = "</script><script>alert(1)</script> <!-- “Ação” & 'aspas' -->"


def _offline_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    assert url.rstrip("/") == SCHEMA.rstrip("/"), f"the page asks for another context: {url}"
    return {"contextUrl": None, "documentUrl": url, "document": SCHEMA_CONTEXT}


def publish(articles: Articles, clock: FakeClock, **fields: Any) -> Article:
    data = article_input(published_at=clock() - timedelta(hours=3), **fields)
    return articles.create_article(data, clock())


def open_page(client: FlaskClient, path: str) -> tuple[Any, str]:
    """The parsed page and its HTML as sent."""
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200
    return lxml.html.document_fromstring(response.data), response.get_data(as_text=True)


def expanded_article(tree: Any) -> dict[str, Any]:
    """The page's one JSON-LD block, expanded against schema.org: its NewsArticle node."""
    (block,) = tree.xpath('//script[@type="application/ld+json"]')
    data = json.loads(block.text)
    nodes = jsonld.expand(data, {"documentLoader": _offline_loader})
    (node,) = nodes
    assert node["@type"] == [f"{SCHEMA}NewsArticle"]
    # Every term the page wrote is a schema.org property: expansion dropped nothing.
    assert {f"{SCHEMA}{key}" for key in data if not key.startswith("@")} == {
        key for key in node if not key.startswith("@")
    }
    return node


def value(node: dict[str, Any], name: str) -> Any:
    (found,) = node[f"{SCHEMA}{name}"]
    return found.get("@value", found.get("@id", found))


def values(node: dict[str, Any], name: str) -> list[Any]:
    return [found.get("@value", found) for found in node.get(f"{SCHEMA}{name}", [])]


def text(element: Any) -> str:
    return " ".join(element.text_content().split())


def meta(tree: Any, attribute: str, name: str) -> list[str]:
    return [str(content) for content in tree.xpath(f'//head/meta[@{attribute}="{name}"]/@content')]


@pytest.fixture
def branded_client(sqlite_url: str, clock: FakeClock) -> Iterator[FlaskClient]:
    overrides = settings_for(sqlite_url, site_logo="/static/marca/logo.png")
    application: Flask = create_app(overrides, clock=clock, environ={})
    yield application.test_client()
    close_app(application)


@pytest.mark.postgres
def test_the_news_article_says_what_the_page_shows(
    client: FlaskClient, articles: Articles, clock: FakeClock
) -> None:
    article = publish(
        articles,
        clock,
        authors=(Author("Ana Souza", "ana@example.org", "https://ana.example/"), Author("Bruno")),
    )
    clock.advance(hours=1)
    article = articles.update_article(
        article.id, {"summary": "Resumo novo."}, article.etag, clock(), significant=True
    )
    url = f"{BASE_URL}/articles/{article.slug}"

    tree, _ = open_page(client, f"/articles/{article.slug}")
    node = expanded_article(tree)

    (heading,) = tree.xpath("//h1")
    assert value(node, "headline") == text(heading) == article.title
    assert value(node, "description") == text(tree.xpath('//*[@class="standfirst p-summary"]')[0])
    (published,) = tree.xpath('//time[contains(@class, "dt-published")]/@datetime')
    (updated,) = tree.xpath('//time[contains(@class, "dt-updated")]/@datetime')
    assert (
        value(node, "datePublished")
        == published
        == meta(tree, "property", "article:published_time")[0]
    )
    assert (
        value(node, "dateModified") == updated == meta(tree, "property", "article:modified_time")[0]
    )
    byline = [text(a) for a in tree.xpath('//*[contains(@class, "byline")]//a')]
    authors = node[f"{SCHEMA}author"]
    assert [value(person, "name") for person in authors] == byline == ["Ana Souza", "Bruno"]
    assert all(person["@type"] == [f"{SCHEMA}Person"] for person in authors)
    # A byline's own page, else its author page here (where the page's byline links).
    assert [value(person, "url") for person in authors] == [
        "https://ana.example/",
        f"{BASE_URL}/author/bruno",
    ]
    (main,) = node[f"{SCHEMA}mainEntityOfPage"]
    assert main["@id"] == url == tree.xpath('//link[@rel="canonical"]/@href')[0]
    assert value(node, "inLanguage") == tree.xpath("/html/@lang")[0] == "pt-BR"
    assert values(node, "articleSection") == ["Política", "Cidades"]
    assert values(node, "keywords") == ["orçamento", "saúde"]
    (image,) = node[f"{SCHEMA}image"]
    (img,) = tree.xpath('//figure[@class="lead-image"]/img')
    assert value(image, "url") == img.get("src") == meta(tree, "property", "og:image")[0]
    assert (value(image, "width"), value(image, "height")) == (1200, 675)
    assert value(image, "caption") == img.get("alt")
    assert value(image, "creditText") == "Foto: Carla Dias"
    (publisher,) = node[f"{SCHEMA}publisher"]
    assert publisher["@type"] == [f"{SCHEMA}Organization"]
    assert value(publisher, "name") == "Gazeta de Teste"
    assert f"{SCHEMA}logo" not in publisher  # no site.logo here


def test_the_publisher_shows_the_site_logo(branded_client: FlaskClient, clock: FakeClock) -> None:
    articles = branded_client.application.extensions["broadsheet"].articles
    article = publish(articles, clock)
    tree, _ = open_page(branded_client, f"/articles/{article.slug}")
    (publisher,) = expanded_article(tree)[f"{SCHEMA}publisher"]
    (logo,) = publisher[f"{SCHEMA}logo"]
    assert value(logo, "url") == f"{BASE_URL}/static/marca/logo.png"


@pytest.mark.postgres
def test_a_scheduled_article_is_not_modified_before_it_was_published(
    client: FlaskClient, articles: Articles, clock: FakeClock
) -> None:
    scheduled = articles.create_article(
        article_input(published_at=clock() + timedelta(hours=2)), clock()
    )
    clock.advance(hours=3)
    tree, _ = open_page(client, f"/articles/{scheduled.slug}")
    node = expanded_article(tree)
    assert value(node, "dateModified") == value(node, "datePublished")
    assert meta(tree, "property", "article:modified_time") == [value(node, "datePublished")]


@pytest.mark.postgres
def test_no_text_can_end_the_data_block(
    client: FlaskClient, articles: Articles, clock: FakeClock
) -> None:
    article = publish(
        articles,
        clock,
        title=HOSTILE_TITLE,
        summary="</SCRIPT >fim & <b>",
        authors=(Author("<script>Ana</script>"),),
        categories=("</script",),
    )
    tree, html = open_page(client, f"/articles/{article.slug}")

    # Only the block's own end tag: every <, > and & inside is a JSON escape.
    start = html.index('<script type="application/ld+json">') + len(
        '<script type="application/ld+json">'
    )
    block = html[start : html.index("</script>", start)]
    assert not {"<", ">", "&"} & set(block)
    assert html.lower().count("<script") == 1
    assert tree.xpath("//script/@type") == ["application/ld+json"]
    node = expanded_article(tree)
    assert value(node, "headline") == HOSTILE_TITLE == text(tree.xpath("//h1")[0])
    assert value(node, "description") == "</SCRIPT >fim & <b>"
    assert [value(person, "name") for person in node[f"{SCHEMA}author"]] == ["<script>Ana</script>"]


@pytest.mark.postgres
@pytest.mark.parametrize("with_image", [True, False])
def test_the_twitter_card_and_open_graph_describe_the_article(
    client: FlaskClient, articles: Articles, clock: FakeClock, with_image: bool
) -> None:
    article = publish(articles, clock, **({} if with_image else {"image": None}))
    tree, _ = open_page(client, f"/articles/{article.slug}")

    card = {
        str(name).removeprefix("twitter:"): str(content)
        for name, content in (
            (element.get("name"), element.get("content"))
            for element in tree.xpath('//head/meta[starts-with(@name, "twitter:")]')
        )
    }
    image = f"{BASE_URL}/img/plenario.jpg"
    expected = {
        "card": "summary_large_image" if with_image else "summary",
        "title": article.title,
        "description": article.summary,
    }
    if with_image:
        expected |= {"image": image, "image:alt": "O plenário durante a votação."}
    assert card == expected
    og = {
        name: meta(tree, "property", f"og:{name}")
        for name in ("image", "image:width", "image:height", "image:alt")
    }
    if with_image:
        assert og == {
            "image": [image],
            "image:width": ["1200"],
            "image:height": ["675"],
            "image:alt": ["O plenário durante a votação."],
        }
    else:
        assert og == {name: [] for name in og}


@pytest.mark.postgres
def test_the_front_page_has_a_summary_card_and_no_article_data(
    client: FlaskClient, articles: Articles, clock: FakeClock
) -> None:
    publish(articles, clock)
    tree, _ = open_page(client, "/")
    assert meta(tree, "name", "twitter:card") == ["summary"]
    assert meta(tree, "name", "twitter:title") == ["Gazeta de Teste"]
    assert tree.xpath("//script") == []
