"""Pages for people: the front page and each article's permalink page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import lxml.html
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.articles import Articles
from app.domain import Article
from app.domain import Author
from app.domain import BodyFormat
from app.domain import Image
from app.web.application import close_app
from app.web.application import create_app
from tests.conftest import BASE_URL
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.factories import article_input

HTML = "text/html; charset=utf-8"
FEED_TYPES = {
    "application/rss+xml": f"{BASE_URL}/feed.rss",
    "application/atom+xml": f"{BASE_URL}/feed.atom",
    "application/feed+json": f"{BASE_URL}/feed.json",
}


def publish(articles: Articles, clock: FakeClock, ago: timedelta | None, **fields: Any) -> Article:
    """Store an article published ``ago`` before now (negative: scheduled; None: a draft)."""
    published_at = None if ago is None else clock() - ago
    return articles.create_article(article_input(published_at=published_at, **fields), clock())


def page(client: FlaskClient, path: str, status: int = 200, **headers: str) -> Any:
    """GET ``path`` as a browser would; assert the status and HTML; return the parsed tree."""
    response = client.get(path, headers={"Accept": "text/html", **headers})
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.content_type == HTML
    return lxml.html.document_fromstring(response.data)


def text(element: Any) -> str:
    return " ".join(element.text_content().split())


def meta(tree: Any, prop: str) -> str:
    (content,) = tree.xpath(f'//head/meta[@property="{prop}"]/@content')
    return str(content)


# -- the front page -----------------------------------------------------------------------


def test_home_lists_public_articles_newest_first(
    client: FlaskClient, articles: Articles, clock: FakeClock
) -> None:
    older = publish(articles, clock, timedelta(days=2), title="Notícia antiga", summary="Ontem.")
    newer = publish(articles, clock, timedelta(hours=1), title="Notícia nova", summary="Hoje.")
    publish(articles, clock, None, title="Rascunho secreto")
    publish(articles, clock, -timedelta(hours=1), title="Embargada até amanhã")
    deleted = publish(articles, clock, timedelta(hours=3), title="Apagada")
    articles.delete_article(deleted.id, None, clock())

    tree = page(client, "/")

    teasers = tree.xpath('//main//article[contains(@class, "h-entry")]')
    assert [text(t.xpath('.//*[contains(@class, "p-name")]')[0]) for t in teasers] == [
        "Notícia nova",
        "Notícia antiga",
    ]
    for teaser, article in zip(teasers, (newer, older), strict=True):
        (link,) = teaser.xpath('.//a[contains(@class, "u-url")]/@href')
        assert link == f"{BASE_URL}/articles/{article.slug}"
        (published,) = teaser.xpath('.//time[contains(@class, "dt-published")]')
        assert published.get("datetime") == article.published_at.isoformat()  # type: ignore[union-attr]
        assert text(published)  # a date for people, too
        assert text(teaser.xpath('.//*[contains(@class, "p-summary")]')[0]) == article.summary
        assert text(teaser.xpath('.//*[contains(@class, "byline")]')[0]) == (
            "por Ana Souza e Bruno Lima"
        )
    body = text(tree.body)
    assert "Rascunho secreto" not in body
    assert "Embargada até amanhã" not in body
    assert "Apagada" not in body


def test_home_without_articles_says_so(client: FlaskClient) -> None:
    tree = page(client, "/")
    assert tree.xpath('//main//article[contains(@class, "h-entry")]') == []
    assert "Nenhum artigo publicado ainda." in text(tree.body)


# -- the permalink page -------------------------------------------------------------------


def test_article_page_shows_the_article(
    client: FlaskClient, articles: Articles, clock: FakeClock
) -> None:
    article = publish(articles, clock, timedelta(hours=1))

    tree = page(client, f"/articles/{article.slug}")

    (story,) = tree.xpath("//main//article")
    (title,) = story.xpath(".//h1")
    assert text(title) == "Câmara aprova orçamento de R$ 1,6 bilhão para a saúde"
    assert tree.findtext(".//title").startswith(article.title)
    (byline,) = story.xpath('.//*[contains(@class, "byline")]')
    assert text(byline) == "por Ana Souza e Bruno Lima"
    (published,) = story.xpath('.//time[contains(@class, "dt-published")]')
    assert published.get("datetime") == article.published_at.isoformat()  # type: ignore[union-attr]
    assert "2026" in text(published)

    (figure,) = story.xpath(".//figure")
    (image,) = figure.xpath("./img")
    assert image.get("src") == f"{BASE_URL}/img/plenario.jpg"
    assert (image.get("width"), image.get("height")) == ("1200", "675")
    assert image.get("alt") == "O plenário durante a votação."
    (caption,) = figure.xpath("./figcaption")
    assert "O plenário durante a votação." in text(caption)
    assert text(caption.xpath('.//*[@class="credit"]')[0]) == "Foto: Carla Dias"

    (body,) = story.xpath('.//*[contains(@class, "e-content")]')
    assert text(body.xpath(".//strong")[0]) == "Votação longa."
    assert "A sessão começou às 14h." in text(body)
    assert body.xpath(".//img/@src") == [f"{BASE_URL}/img/plenario.jpg"]


def test_an_article_without_image_has_no_figure(
    client: FlaskClient, articles: Articles, clock: FakeClock
) -> None:
    article = publish(articles, clock, timedelta(hours=1), image=None, body="Só texto.")
    tree = page(client, f"/articles/{article.slug}")
    assert tree.xpath("//figure") == []
    assert tree.xpath('//head/meta[@property="og:image"]') == []


def test_a_caption_without_credit_and_a_credit_without_caption(
    client: FlaskClient, articles: Articles, clock: FakeClock
) -> None:
    only_credit = publish(
        articles, clock, timedelta(hours=1), title="Só crédito",
        image=Image(url="https://cdn.example.org/a.jpg", credit="Foto: Ana"),
    )  # fmt: skip
    tree = page(client, f"/articles/{only_credit.slug}")
    (caption,) = tree.xpath("//figure/figcaption")
    assert text(caption) == "Foto: Ana"
    assert tree.xpath("//figure/img/@alt") == ["Só crédito"]


@pytest.mark.parametrize("language", ["pt-BR", "en", "es"])
def test_html_lang_is_the_article_language(
    client: FlaskClient, articles: Articles, clock: FakeClock, language: str
) -> None:
    article = publish(articles, clock, timedelta(hours=1), language=language)
    assert page(client, f"/articles/{article.slug}").get("lang") == language
    assert page(client, "/").get("lang") == "pt-BR"  # the site's language


def test_english_article_byline_reads_in_english(
    client: FlaskClient, articles: Articles, clock: FakeClock
) -> None:
    article = publish(articles, clock, timedelta(hours=1), language="en")
    tree = page(client, f"/articles/{article.slug}")
    assert text(tree.xpath('//*[contains(@class, "byline")]')[0]) == "by Ana Souza and Bruno Lima"


# -- what every page carries in its head --------------------------------------------------


@pytest.fixture
def paths(articles: Articles, clock: FakeClock) -> dict[str, str]:
    article = publish(articles, clock, timedelta(hours=1))
    return {"/": f"{BASE_URL}/", f"/articles/{article.slug}": f"{BASE_URL}/articles/{article.slug}"}


@pytest.mark.parametrize("which", ["home", "article"])
def test_pages_announce_feeds_canonical_url_and_open_graph(
    client: FlaskClient, paths: dict[str, str], which: str
) -> None:
    path, canonical = list(paths.items())[0 if which == "home" else 1]

    tree = page(client, path)

    alternates = tree.xpath('//head/link[@rel="alternate"]')
    assert {link.get("type"): link.get("href") for link in alternates} == FEED_TYPES
    assert len(alternates) == 3
    assert all(link.get("title") for link in alternates)
    assert tree.xpath('//head/link[@rel="canonical"]/@href') == [canonical]
    assert meta(tree, "og:url") == canonical
    assert meta(tree, "og:type") == ("website" if which == "home" else "article")
    expected_title = (
        "Gazeta de Teste"
        if which == "home"
        else "Câmara aprova orçamento de R$ 1,6 bilhão para a saúde"
    )
    assert meta(tree, "og:title") == expected_title


def test_article_open_graph_image_is_the_lead_image(
    client: FlaskClient, articles: Articles, clock: FakeClock
) -> None:
    article = publish(articles, clock, timedelta(hours=1))
    tree = page(client, f"/articles/{article.slug}")
    assert meta(tree, "og:image") == f"{BASE_URL}/img/plenario.jpg"
    assert meta(tree, "og:description") == article.summary


HOSTILE = (
    '<p onclick="steal()">Olá</p><script>alert(1)</script>'
    '<img src="/x.jpg" onerror="alert(2)"><a href="javascript:alert(3)">x</a>'
    '<iframe src="https://evil.example/"></iframe>'
)


@pytest.mark.parametrize("body_format", [BodyFormat.HTML, BodyFormat.MARKDOWN])
def test_pages_have_no_script_at_all(
    client: FlaskClient, articles: Articles, clock: FakeClock, body_format: BodyFormat
) -> None:
    article = publish(
        articles, clock, timedelta(hours=1), body=HOSTILE, body_format=body_format,
        title='<script>alert("título")</script>', summary="<script>alert(4)</script>",
    )  # fmt: skip

    for path in ("/", f"/articles/{article.slug}"):
        tree = page(client, path)
        # The article's JSON-LD is data, not script (tests/test_structured_data.py).
        assert tree.xpath('//script[not(@type="application/ld+json")] | //iframe') == [], path
        handlers = [name for el in tree.iter() for name in el.attrib if name.startswith("on")]
        assert handlers == [], path
        urls = tree.xpath("//@href | //@src")
        assert not [url for url in urls if url.strip().lower().startswith("javascript:")], path
    # The title is shown as text, escaped, not run.
    assert text(tree.xpath("//h1")[0]) == '<script>alert("título")</script>'


# -- what is not public -------------------------------------------------------------------


@pytest.mark.parametrize("state", ["draft", "scheduled", "unknown", "unknown with odd characters"])
def test_pages_not_public_are_404_html(
    client: FlaskClient, articles: Articles, clock: FakeClock, state: str
) -> None:
    slugs = {
        "draft": lambda: publish(articles, clock, None).slug,
        "scheduled": lambda: publish(articles, clock, -timedelta(minutes=1)).slug,
        "unknown": lambda: "nao-existe",
        "unknown with odd characters": lambda: "Não%20existe",
    }

    tree = page(client, f"/articles/{slugs[state]()}", status=404)

    assert "404" in text(tree.body)
    assert tree.xpath('//meta[@name="robots"]/@content') == ["noindex"]
    assert tree.xpath("//script") == []


def test_a_deleted_article_is_410_html(
    client: FlaskClient, articles: Articles, clock: FakeClock
) -> None:
    article = publish(articles, clock, timedelta(hours=1))
    page(client, f"/articles/{article.slug}")
    articles.delete_article(article.id, None, clock())

    tree = page(client, f"/articles/{article.slug}", status=410)

    assert "410" in text(tree.body)
    assert article.title not in text(tree.body)


def test_a_scheduled_page_opens_when_its_time_comes(
    client: FlaskClient, articles: Articles, clock: FakeClock
) -> None:
    article = publish(articles, clock, -timedelta(hours=2))
    page(client, f"/articles/{article.slug}", status=404)
    assert article.title not in text(page(client, "/").body)

    clock.advance(hours=1, minutes=59)
    page(client, f"/articles/{article.slug}", status=404)
    clock.advance(minutes=1)

    tree = page(client, f"/articles/{article.slug}")
    assert text(tree.xpath("//h1")[0]) == article.title
    assert article.title in text(page(client, "/").body)


def test_a_page_disappears_when_its_article_goes_back_to_draft(
    client: FlaskClient, articles: Articles, clock: FakeClock
) -> None:
    article = publish(articles, clock, timedelta(hours=1))
    articles.update_article(article.id, {"published_at": None}, article.etag, clock())
    page(client, f"/articles/{article.slug}", status=404)


def test_a_new_slug_moves_the_page(
    client: FlaskClient, articles: Articles, clock: FakeClock
) -> None:
    article = publish(articles, clock, timedelta(hours=1))
    articles.update_article(article.id, {"slug": "orcamento-aprovado"}, article.etag, clock())
    tree = page(client, "/articles/orcamento-aprovado")
    assert tree.xpath('//link[@rel="canonical"]/@href') == [
        f"{BASE_URL}/articles/orcamento-aprovado"
    ]
    assert text(tree.xpath("//h1")[0]) == article.title


# -- conditional GET ----------------------------------------------------------------------


def _get(client: FlaskClient, path: str, **headers: str) -> TestResponse:
    return client.get(path, headers=headers)


@pytest.mark.parametrize("which", ["home", "article"])
def test_pages_answer_304_to_their_etag(
    client: FlaskClient, paths: dict[str, str], which: str
) -> None:
    path = list(paths)[0 if which == "home" else 1]
    first = _get(client, path)
    etag = first.headers["ETag"]
    assert first.status_code == 200
    assert etag.startswith('"')

    again = _get(client, path, **{"If-None-Match": etag})

    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert _get(client, path, **{"If-None-Match": '"something-else"'}).status_code == 200


def test_a_changed_article_gets_a_new_page_etag(
    client: FlaskClient, articles: Articles, clock: FakeClock
) -> None:
    article = publish(articles, clock, timedelta(hours=1))
    path = f"/articles/{article.slug}"
    etag = _get(client, path).headers["ETag"]
    home_etag = _get(client, "/").headers["ETag"]
    clock.advance(minutes=5)

    articles.update_article(article.id, {"title": "Título corrigido"}, article.etag, clock())

    changed = _get(client, path, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert "Título corrigido" in changed.get_data(as_text=True)
    assert _get(client, "/", **{"If-None-Match": home_etag}).status_code == 200


def test_each_category_tag_and_author_has_a_listing_with_its_feeds(
    client: FlaskClient, app: Flask, clock: FakeClock
) -> None:
    articles = app.extensions["broadsheet"].articles
    articles.create_article(article_input(published_at=clock()), clock())
    articles.create_article(
        article_input(title="Só esportes", categories=("Esportes",), published_at=clock()),
        clock(),
    )
    page = client.get("/category/politica")
    assert page.status_code == 200
    tree = lxml.html.fromstring(page.data)
    assert tree.findtext(".//h1") == "Política"
    assert tree.findtext(".//title") == "Política · Gazeta de Teste"
    titles = [a.text_content() for a in tree.iterfind(".//h2/a")]
    assert titles == ["Câmara aprova orçamento de R$ 1,6 bilhão para a saúde"]
    alternates = {
        link.get("type"): link.get("href") for link in tree.iterfind(".//link[@rel='alternate']")
    }
    assert alternates == {
        "application/rss+xml": f"{BASE_URL}/category/politica/feed.rss",
        "application/atom+xml": f"{BASE_URL}/category/politica/feed.atom",
        "application/feed+json": f"{BASE_URL}/category/politica/feed.json",
    }
    assert client.get("/author/bruno-lima").status_code == 200
    assert client.get("/tag/saude").status_code == 200
    assert client.get("/category/nada-aqui").status_code == 404


def test_an_article_links_its_categories_tags_and_authors_to_their_listings(
    client: FlaskClient, app: Flask, clock: FakeClock
) -> None:
    articles = app.extensions["broadsheet"].articles
    article = articles.create_article(article_input(published_at=clock()), clock())
    tree = lxml.html.fromstring(client.get(f"/articles/{article.slug}").data)
    listings = {
        "kicker": tree.xpath("//p[@class='kicker']/a/@href"),
        "byline": tree.xpath("//p[@class='byline']/a/@href"),
        "categories": tree.xpath("//ul[contains(@class, 'categories')]//a/@href"),
        "tags": tree.xpath("//ul[contains(@class, 'tags')]//a/@href"),
    }
    assert listings == {
        "kicker": [f"{BASE_URL}/category/politica"],
        "byline": [f"{BASE_URL}/author/ana-souza", f"{BASE_URL}/author/bruno-lima"],
        "categories": [f"{BASE_URL}/category/politica", f"{BASE_URL}/category/cidades"],
        "tags": [f"{BASE_URL}/tag/orcamento", f"{BASE_URL}/tag/saude"],
    }
    for url in (href for hrefs in listings.values() for href in hrefs):
        assert client.get(url.removeprefix(BASE_URL)).status_code == 200, url


def test_an_old_permalink_redirects_to_the_new_one(
    client: FlaskClient, app: Flask, clock: FakeClock
) -> None:
    articles = app.extensions["broadsheet"].articles
    article = articles.create_article(article_input(published_at=clock()), clock())
    articles.update_article(article.id, {"slug": "novo-endereco"}, None, clock())
    moved = client.get(f"/articles/{article.slug}")
    assert moved.status_code == 301
    assert moved.headers["Location"] == f"{BASE_URL}/articles/novo-endereco"
    assert client.get("/articles/novo-endereco").status_code == 200


def test_plain_text_that_looks_like_html_shows_as_sent(
    client: FlaskClient, articles: Articles, clock: FakeClock
) -> None:
    """Title, summary, byline, terms, caption and credit (of the lead image and of a figure
    in the body) are shown as the characters sent, never as markup or decoded references."""
    sent = "Use <Nome> e <b>negrito</b> & mais &amp; &lt; &#39; \"q\" 'a'"
    article = publish(
        articles, clock, timedelta(hours=1),
        title="T " + sent, summary="S " + sent,
        authors=(Author("A " + sent),), categories=("C " + sent,), tags=("G " + sent,),
        image=Image(url="/img/a.jpg", type="image/jpeg", caption="L " + sent, credit="R " + sent),
        body='Texto.\n\n![alt](/img/b.jpg "F <i>x</i> &amp; | K <b>y</b> &lt;")',
    )  # fmt: skip
    tree = page(client, f"/articles/{article.slug}")
    (story,) = tree.xpath("//main//article")
    assert story.xpath(".//b | .//i | .//nome") == []
    assert tree.findtext(".//title").startswith("T " + sent)
    assert meta(tree, "og:title").startswith("T " + sent)
    assert text(story.xpath(".//h1")[0]) == "T " + sent
    assert text(story.find_class("standfirst")[0]) == "S " + sent
    assert [text(a) for a in story.find_class("p-author")] == ["A " + sent]
    assert [text(c) for c in story.find_class("p-category")] == ["C " + sent]
    assert text(story.xpath(".//ul[contains(@class, 'tags')]/li")[0]) == "G " + sent
    lead, inline = story.xpath(".//figure/figcaption")
    assert (lead.text, text(lead.find_class("credit")[0])) == ("L " + sent + " ", "R " + sent)
    # In Markdown, references in an image title are decoded (CommonMark): "&amp;" means "&".
    assert text(inline) == "F <i>x</i> & K <b>y</b> <"
    assert text(inline.find_class("credit")[0]) == "K <b>y</b> <"


@pytest.mark.parametrize("when", ["draft", "scheduled"])
def test_a_former_slug_of_an_article_not_yet_public_is_404_like_the_article(
    client: FlaskClient, app: Flask, clock: FakeClock, when: str
) -> None:
    # A 301 would tell anyone who knew the old permalink where the unpublished article
    # now lives.
    articles = app.extensions["broadsheet"].articles
    published_at = None if when == "draft" else clock() + timedelta(days=1)
    article = articles.create_article(article_input(published_at=published_at), clock())
    articles.update_article(article.id, {"slug": "novo-endereco"}, None, clock())
    old = client.get(f"/articles/{article.slug}")
    new = client.get("/articles/novo-endereco")
    assert (old.status_code, new.status_code) == (404, 404)
    assert "Location" not in old.headers
    assert b"novo-endereco" not in old.get_data()
    # Once it is public, the old permalink leads to it.
    articles.update_article(article.id, {"published_at": clock()}, None, clock())
    moved = client.get(f"/articles/{article.slug}")
    assert moved.status_code == 301
    assert moved.headers["Location"] == f"{BASE_URL}/articles/novo-endereco"


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("pt-BR", "2 de novembro de 2026, 06:05"),  # as pages have always read
        ("pt-BR-x-house", "2 de novembro de 2026, 06:05"),  # the language's, for a private use
        ("en", "November 2, 2026, 6:05 AM"),
        ("en-GB", "2 November 2026, 06:05"),
        ("es", "2 de noviembre de 2026, 6:05"),
        ("de-CH", "2. November 2026, 06:05"),
        ("tlh", "November 2, 2026, 6:05 AM"),  # no locale data: English
    ],
)
def test_a_date_on_a_page_reads_in_the_site_language(
    sqlite_url: str, clock: FakeClock, language: str, shown: str
) -> None:
    """Dates are written with the CLDR data of the site's language, in the site's zone."""
    site = create_app(settings_for(sqlite_url, site_language=language), clock=clock, environ={})
    try:
        published = clock() - timedelta(hours=2, minutes=55)  # 09:05 UTC, 06:05 in São Paulo
        article = site.extensions["broadsheet"].articles.create_article(
            article_input(published_at=published), clock()
        )
        tree = page(site.test_client(), f"/articles/{article.slug}")
        (date,) = tree.xpath('//time[contains(@class, "dt-published")]')
        assert text(date) == shown
    finally:
        close_app(site)
