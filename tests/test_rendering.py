"""The three feed renderers: golden files, validity, determinism and cross-format agreement.

Golden files live in tests/golden/. After an intended change to the output, regenerate them
with ``UPDATE_GOLDEN=1 pytest tests/test_rendering.py`` and review the diff.
"""

from __future__ import annotations

import difflib
import html
import json
import locale
import os
import re
import time
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import jsonschema
import pytest
import time_machine
from lxml import etree

from app.content import extract_images
from app.domain import Author
from app.domain import FeedFormat
from app.domain import Image
from app.rendering import FeedDocument
from app.rendering import FeedEntry
from app.rendering import join
from app.rendering import render_entries
from app.rendering import render_feed
from app.rendering.atom import render_atom
from app.rendering.extensions import update_schedule
from app.rendering.jsonfeed import render_json_feed
from app.rendering.rss import render_rss
from tests.feedcheck import assert_valid_atom
from tests.feedcheck import assert_valid_json_feed
from tests.feedcheck import assert_valid_rss
from tests.feedcheck import json_feed_validator

GOLDEN = Path(__file__).parent / "golden"
SITE = "https://www.diario.example"
ATOM = "http://www.w3.org/2005/Atom"
MEDIA = "http://search.yahoo.com/mrss/"
DC = "http://purl.org/dc/elements/1.1/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
SY = "http://purl.org/rss/1.0/modules/syndication/"
FH = "http://purl.org/syndication/history/1.0"
NS = {"atom": ATOM, "media": MEDIA, "sy": SY, "fh": FH, "dc": DC}
FEED_XSL = Path(__file__).parents[1] / "app" / "web" / "static" / "feed.xsl"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
BRT = timezone(timedelta(hours=-3))
PLENARIO_JPG = "https://img.diario.example/2024/03/plenario.jpg"
BOLSA_PNG = "https://img.diario.example/2024/02/bolsa.png"
GALERIA_JPG = "https://img.diario.example/2024/03/galeria.jpg"
MAPA_PNG = "https://img.diario.example/2024/03/mapa-votos.png"

VALIDATORS = {
    FeedFormat.RSS: assert_valid_rss,
    FeedFormat.ATOM: assert_valid_atom,
    FeedFormat.JSON: assert_valid_json_feed,
}
GOLDEN_SUFFIXES = {FeedFormat.RSS: "rss.xml", FeedFormat.ATOM: "atom.xml", FeedFormat.JSON: "json"}
MEDIA_TYPES = {
    FeedFormat.RSS: "application/rss+xml",
    FeedFormat.ATOM: "application/atom+xml",
    FeedFormat.JSON: "application/feed+json",
}

PREVIDENCIA = FeedEntry(
    id="tag:diario.example,2024-03-01:article:7f3a",
    url=f"{SITE}/articles/reforma-da-previdencia-votacao-adiada",
    title="Reforma da previdência: votação é adiada e negociações continuam",
    summary="A votação da reforma foi adiada para a próxima sessão; governo e oposição negociam.",
    content_html=(
        "<p>A Câmara adiou a votação da reforma da previdência. A decisão põe em questão o "
        "calendário do governo, que já conta com as alterações nas regras de transição.</p>"
        f'<figure><img src="{PLENARIO_JPG}" '
        'alt="Plenário da Câmara durante a sessão" width="1200" height="800">'
        "<figcaption>Plenário da Câmara durante a sessão — Foto: Agência Câmara</figcaption>"
        "</figure>"
        "<p>As negociações continuam na comissão especial.</p>"
    ),
    authors=(
        Author(name="Ana Conceição", email="ana@diario.example", url=f"{SITE}/autores/ana"),
        Author(name="João Simões"),
    ),
    categories=("Política", "Economia"),
    tags=("previdência", "Congresso"),
    language="pt-BR",
    image=Image(
        url=PLENARIO_JPG,
        type="image/jpeg",
        length=245_760,
        width=1200,
        height=800,
        caption="Plenário da Câmara durante a sessão",
        credit="Foto: Agência Câmara",
    ),
    published=datetime(2024, 3, 1, 12, 30, 15, tzinfo=UTC),
    updated=datetime(2024, 3, 1, 14, 5, 0, tzinfo=UTC),
)

MARKETS = FeedEntry(
    id="tag:diario.example,2024-02-29:article:51c9",
    url=f"{SITE}/articles/markets-rally-rates-hold",
    title="Markets rally & bonds slip as rates hold; the ]]> edge case",
    summary="Stocks rose after the central bank kept rates at 10.75% & signalled patience.",
    content_html=(
        "<p>Investors cheered the decision: AT&amp;T rose 2% &amp; the index closed "
        "at a record. A literal ]]&gt; must survive every format.</p>"
        f'<figure><img src="{BOLSA_PNG}" alt="Trading floor">'
        "<figcaption>The trading floor on Thursday</figcaption></figure>"
    ),
    authors=(Author(name="Mary O'Brien", url="https://mary.example/"),),
    categories=("Economia",),
    tags=("Economia", "markets"),
    language="en",
    # No type and no length: Media RSS only, no enclosure and no JSON attachment.
    image=Image(
        url=BOLSA_PNG,
        width=800,
        height=533,
        caption="The trading floor on Thursday",
    ),
    # Stored in local time with microseconds: every format must say 2024-02-29T21:40:07Z.
    published=datetime(2024, 2, 29, 18, 40, 7, 654_321, tzinfo=BRT),
    updated=datetime(2024, 2, 29, 19, 0, 0, 999_999, tzinfo=BRT),
)

CULTURA = FeedEntry(
    id="tag:diario.example,2024-02-27:article:0b2e",
    url=f"{SITE}/articles/exposicao-sao-paulo",
    title="Exposição em São Paulo reúne ações de coleções públicas",
    summary="",
    content_html="<p>Mostra reúne 120 obras; a curadoria é de Inês Gonçalves.</p>",
    authors=(Author(name="Inês Gonçalves", email="ines@diario.example"),),
    categories=("Cultura",),
    tags=(),
    language="pt-BR",
    image=None,
    published=datetime(2024, 2, 27, 8, 0, 0, tzinfo=UTC),
    updated=datetime(2024, 2, 27, 8, 0, 0, tzinfo=UTC),
)


def site_document(*entries: FeedEntry) -> FeedDocument:
    """The site feed of a small Brazilian newspaper; by default with the three entries above."""
    chosen = entries or (PREVIDENCIA, MARKETS, CULTURA)
    return FeedDocument(
        id="tag:diario.example,2024:feed:site",
        title="Diário Exemplo",
        description="Notícias, análises & opinião",
        site_url=SITE,
        home_url=SITE,
        language="pt-BR",
        updated=max((entry.updated for entry in chosen), default=datetime(2024, 1, 1, tzinfo=UTC)),
        self_urls={
            FeedFormat.RSS: f"{SITE}/feed.rss",
            FeedFormat.ATOM: f"{SITE}/feed.atom",
            FeedFormat.JSON: f"{SITE}/feed.json",
        },
        entries=chosen,
        ttl_minutes=15,
        hubs=("https://pubsubhubbub.appspot.com/", "https://websub.diario.example/hub"),
        icon_url=f"{SITE}/static/icon-512.png",
    )


# The same article with two more images in the body: a captioned, credited figure and a bare
# chart. The lead photo is repeated in the body too; Media RSS must not repeat it.
_INLINE_FIGURES = (
    f'<figure><img src="{GALERIA_JPG}" alt="Galeria" width="640" height="427">'
    '<figcaption>Galeria lotada durante a votação <span class="credit">Foto: Ana Lima</span>'
    "</figcaption></figure>"
    f'<p>Como votaram os partidos: <img src="{MAPA_PNG}" alt="Mapa de votos"></p>'
)
_PREVIDENCIA_BODY = PREVIDENCIA.content_html + _INLINE_FIGURES
PREVIDENCIA_WITH_MEDIA = replace(
    PREVIDENCIA, content_html=_PREVIDENCIA_BODY, media=extract_images(_PREVIDENCIA_BODY)
)


def history(*relations: str) -> dict[str, dict[FeedFormat, str]]:
    """RFC 5005 links of the March 2024 archive, in the order given."""
    paths = {
        "current": "feed",
        "prev-archive": "archive/2024-02",
        "next-archive": "archive/2024-04",
    }
    return {
        relation: {fmt: f"{SITE}/{paths[relation]}.{fmt}" for fmt in FeedFormat}
        for relation in relations
    }


def archive_document() -> FeedDocument:
    """March 2024 as an RFC 5005 archive, with the browser stylesheet and inline media."""
    return replace(
        site_document(PREVIDENCIA_WITH_MEDIA, MARKETS),
        self_urls={fmt: f"{SITE}/archive/2024-03.{fmt}" for fmt in FeedFormat},
        archive=True,
        ttl_minutes=7 * 24 * 60,  # an archive does not change: weekly refresh hints
        # Deliberately not in the written order: the output must not depend on it.
        history_links=history("next-archive", "prev-archive", "current"),
        stylesheet_url="/static/feed.xsl",
    )


def branded_document() -> FeedDocument:
    """The site feed with the site's icon for lists of feeds and its wide logo as well."""
    return replace(
        site_document(),
        favicon_url=f"{SITE}/static/icon-64.png",
        logo_url=f"{SITE}/static/logo-600x300.png",
    )


DOCUMENTS = {
    "site": site_document,
    "archive-2024-03": archive_document,
    "branded": branded_document,
}


def _xml(body: bytes) -> etree._Element:
    return etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))


def _seconds(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


def _parsed_time(value: time.struct_time) -> datetime:
    return datetime(*value[:6], tzinfo=UTC)


# --- golden files -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_matches_golden_file(name: str, fmt: FeedFormat) -> None:
    body = render_feed(DOCUMENTS[name](), fmt)
    path = GOLDEN / f"{name}.{GOLDEN_SUFFIXES[fmt]}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_bytes(body)
        return
    assert path.exists(), f"{path} is missing; run with UPDATE_GOLDEN=1"
    expected = path.read_bytes()
    if body != expected:
        diff = "\n".join(
            difflib.unified_diff(
                expected.decode("utf-8").splitlines(),
                body.decode("utf-8").splitlines(),
                str(path),
                "rendered",
                lineterm="",
            )
        )
        pytest.fail(f"{fmt} output differs from {path.name} (byte for byte):\n{diff}")


# --- entries kept between documents ---------------------------------------------------------


def _whole(document: FeedDocument, fmt: FeedFormat) -> bytes:
    """The document rendered in one piece, without fragments: the reference bytes."""
    render = {FeedFormat.RSS: render_rss, FeedFormat.ATOM: render_atom}.get(fmt)
    return render(document) if render else render_json_feed(document)


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_joined_documents_are_the_whole_render_byte_for_byte(name: str, fmt: FeedFormat) -> None:
    document = DOCUMENTS[name]()
    expected = _whole(document, fmt)
    fragments = render_entries(document, fmt)
    assert len(fragments) == len(document.entries)
    assert join(document, fmt, fragments) == expected
    assert render_feed(document, fmt) == expected
    # Another feed with some of the same entries, in another order, one entry fewer, and
    # another title: the entries rendered for the first document join into it.
    other = replace(document, entries=document.entries[::-1][1:], title="Outra seção")
    kept = dict(zip(document.entries, fragments, strict=True))
    assert join(other, fmt, [kept[entry] for entry in other.entries]) == _whole(other, fmt)
    assert join(other, fmt, []) == _whole(replace(other, entries=()), fmt)


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
def test_an_entry_reads_differently_in_another_language_or_site(fmt: FeedFormat) -> None:
    # What the stored entries are keyed by besides the article's version: the feed's
    # language and the site's address change an XML entry's bytes (xml:lang, vocabulary
    # URLs); nothing else of the document changes any entry's bytes.
    document = site_document()
    fragments = render_entries(document, fmt)
    english = replace(document, language="en")
    moved = replace(document, home_url="https://outro.example/")
    for changed in (english, moved):
        if fmt is not FeedFormat.JSON:
            assert render_entries(changed, fmt) != fragments
        assert join(changed, fmt, render_entries(changed, fmt)) == _whole(changed, fmt)
    retitled = replace(document, title="Outro título", description="Outra descrição")
    assert render_entries(retitled, fmt) == fragments


# --- validity and determinism -------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_every_format_passes_its_validator(name: str, fmt: FeedFormat) -> None:
    VALIDATORS[fmt](render_feed(DOCUMENTS[name](), fmt))


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_rendering_is_deterministic_and_ignores_the_clock(name: str, fmt: FeedFormat) -> None:
    make = DOCUMENTS[name]
    first = render_feed(make(), fmt)
    assert render_feed(make(), fmt) == first
    # feedgen stamps now() by default; a different wall clock must not change a byte.
    with time_machine.travel(datetime(2031, 7, 4, 3, 2, 1, tzinfo=UTC), tick=False):
        assert render_feed(make(), fmt) == first


def test_rss_dates_never_touch_the_process_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    # feedgen's formatRFC2822 calls locale.setlocale, which is process-global and races
    # between threads; the RSS renderer must not reach it, for channel or item dates.
    def forbidden(*args: object) -> str:
        raise AssertionError(f"locale.setlocale{args} called while rendering")

    monkeypatch.setattr(locale, "setlocale", forbidden)
    body = render_feed(site_document(), FeedFormat.RSS)
    channel = _xml(body).find("channel")
    assert channel is not None
    assert channel.findtext("lastBuildDate") == "Fri, 01 Mar 2024 14:05:00 +0000"
    assert [item.findtext("pubDate") for item in channel.iter("item")] == [
        "Fri, 01 Mar 2024 12:30:15 +0000",
        "Thu, 29 Feb 2024 21:40:07 +0000",
        "Tue, 27 Feb 2024 08:00:00 +0000",
    ]


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
def test_naive_datetimes_are_refused(fmt: FeedFormat) -> None:
    naive = replace(CULTURA, published=datetime(2024, 2, 27, 8, 0, 0))
    with pytest.raises(ValueError, match=r"timezone|naive"):
        render_feed(site_document(naive), fmt)


# --- the same entries, in the same order, in every format --------------------------------


def _entries_as_read(fmt: FeedFormat, body: bytes) -> list[dict[str, Any]]:
    """What a reader gets per entry: id, title, dates, author names and categories."""
    if fmt is FeedFormat.JSON:
        return [
            {
                "id": item["id"],
                "title": item["title"],
                "published": datetime.fromisoformat(item["date_published"]),
                "updated": datetime.fromisoformat(item["date_modified"]),
                "authors": [author["name"] for author in item.get("authors", [])],
                "categories": item.get("tags", []),
            }
            for item in assert_valid_json_feed(body)["items"]
        ]
    parsed = VALIDATORS[fmt](body)
    return [
        {
            "id": entry["id"],
            "title": entry["title"],
            "published": _parsed_time(entry["published_parsed"]),
            "updated": _parsed_time(entry["updated_parsed"]),
            "authors": [author["name"] for author in entry.get("authors", [])],
            "categories": [(tag["term"], tag["scheme"]) for tag in entry.get("tags", [])],
        }
        for entry in parsed["entries"]
    ]


def _entries_as_given(fmt: FeedFormat, document: FeedDocument) -> list[dict[str, Any]]:
    def categories(entry: FeedEntry) -> list[Any]:
        if fmt is FeedFormat.JSON:
            return list(dict.fromkeys((*entry.categories, *entry.tags)))
        return [(name, f"{SITE}/category/") for name in entry.categories] + [
            (name, f"{SITE}/tag/") for name in entry.tags
        ]

    return [
        {
            "id": entry.id,
            "title": entry.title,
            "published": _seconds(entry.published),
            "updated": _seconds(entry.updated),
            "authors": [author.name for author in entry.authors],
            "categories": categories(entry),
        }
        for entry in document.entries
    ]


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
def test_entries_read_back_as_given_and_in_order(fmt: FeedFormat) -> None:
    document = site_document()
    read = _entries_as_read(fmt, render_feed(document, fmt))
    assert read == _entries_as_given(fmt, document)
    assert [entry["id"] for entry in read] == [entry.id for entry in document.entries]


def test_entry_order_is_the_documents_even_when_not_by_date() -> None:
    # The renderers never sort: the document's order is the serving order.
    document = site_document(CULTURA, PREVIDENCIA, MARKETS)
    expected = [CULTURA.id, PREVIDENCIA.id, MARKETS.id]
    for fmt in FeedFormat:
        assert [entry["id"] for entry in _entries_as_read(fmt, render_feed(document, fmt))] == (
            expected
        )


def test_the_three_formats_agree_with_each_other() -> None:
    document = site_document()
    read = {fmt: _entries_as_read(fmt, render_feed(document, fmt)) for fmt in FeedFormat}
    for rss_entry, atom_entry, json_item in zip(
        read[FeedFormat.RSS], read[FeedFormat.ATOM], read[FeedFormat.JSON], strict=True
    ):
        for key in ("id", "title", "published", "updated", "authors"):
            assert rss_entry[key] == atom_entry[key] == json_item[key], key
        assert rss_entry["categories"] == atom_entry["categories"]
        names = [term for term, _scheme in rss_entry["categories"]]
        assert json_item["categories"] == list(dict.fromkeys(names))


def test_special_characters_round_trip_exactly() -> None:
    document = site_document()
    rss_item = _xml(render_feed(document, FeedFormat.RSS)).findall("channel/item")[1]
    assert rss_item.findtext("title") == MARKETS.title
    assert rss_item.findtext(f"{{{CONTENT}}}encoded") == MARKETS.content_html
    # RSS description is HTML: the plain-text summary is in it HTML-escaped.
    assert rss_item.findtext("description") == (
        "Stocks rose after the central bank kept rates at 10.75% &amp; signalled patience."
    )

    atom_entry = _xml(render_feed(document, FeedFormat.ATOM)).findall(f"{{{ATOM}}}entry")[1]
    assert atom_entry.findtext(f"{{{ATOM}}}title") == MARKETS.title
    assert atom_entry.findtext(f"{{{ATOM}}}content") == MARKETS.content_html
    assert atom_entry.findtext(f"{{{ATOM}}}summary") == MARKETS.summary

    item = json.loads(render_feed(document, FeedFormat.JSON))["items"][1]
    assert (item["title"], item["content_html"], item["summary"]) == (
        MARKETS.title,
        MARKETS.content_html,
        MARKETS.summary,
    )


def test_non_ascii_text_is_written_as_utf8_not_escaped() -> None:
    for fmt in FeedFormat:
        body = render_feed(site_document(), fmt)
        assert "Conceição".encode() in body
        assert "Simões".encode() in body


# --- feed-level links and metadata --------------------------------------------------------


def test_rss_channel_link_is_the_site_and_self_is_the_rss_url() -> None:
    document = site_document()
    body = render_feed(document, FeedFormat.RSS)
    channel = _xml(body).find("channel")
    assert channel is not None
    # feedgen bug: the channel <link> is the last link() call (mission-anchors §6.2).
    assert channel.findtext("link") == SITE
    self_links = channel.findall(f"{{{ATOM}}}link[@rel='self']")
    assert [(link.get("href"), link.get("type")) for link in self_links] == [
        (f"{SITE}/feed.rss", "application/rss+xml")
    ]
    assert assert_valid_rss(body)["feed"]["link"] == SITE
    assert channel.findtext("ttl") == "15"
    assert channel.findtext("language") == "pt-BR"
    assert channel.findtext("generator") == "Broadsheet"
    assert channel.findtext("image/url") == f"{SITE}/static/icon-512.png"
    assert channel.findtext("image/link") == SITE


def test_atom_and_json_self_urls_are_their_own() -> None:
    document = site_document()
    feed = _xml(render_feed(document, FeedFormat.ATOM))
    links = {(link.get("rel"), link.get("type")): link.get("href") for link in feed}
    assert links[("self", "application/atom+xml")] == f"{SITE}/feed.atom"
    assert links[("alternate", "text/html")] == SITE
    assert feed.get(XML_LANG) == "pt-BR"
    assert feed.findtext(f"{{{ATOM}}}icon") == f"{SITE}/static/icon-512.png"
    json_feed = json.loads(render_feed(document, FeedFormat.JSON))
    assert json_feed["feed_url"] == f"{SITE}/feed.json"
    assert json_feed["home_page_url"] == SITE


def test_icon_favicon_and_logo_go_where_each_format_wants_them() -> None:
    document = branded_document()
    channel = _xml(render_feed(document, FeedFormat.RSS)).find("channel")
    assert channel is not None
    # One <image>: the square icon, titled and linked as the channel; no size is claimed.
    (image,) = channel.findall("image")
    assert [(child.tag, child.text) for child in image] == [
        ("url", f"{SITE}/static/icon-512.png"),
        ("title", "Diário Exemplo"),
        ("link", SITE),
    ]
    feed = _xml(render_feed(document, FeedFormat.ATOM))
    assert feed.findtext(f"{{{ATOM}}}icon") == f"{SITE}/static/icon-512.png"
    assert feed.findtext(f"{{{ATOM}}}logo") == f"{SITE}/static/logo-600x300.png"
    json_feed = json.loads(render_feed(document, FeedFormat.JSON))
    assert (json_feed["icon"], json_feed["favicon"]) == (
        f"{SITE}/static/icon-512.png",
        f"{SITE}/static/icon-64.png",
    )


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
def test_a_logo_alone_is_the_rss_image_and_the_atom_logo(fmt: FeedFormat) -> None:
    document = replace(branded_document(), icon_url=None, favicon_url=None)
    body = render_feed(document, fmt)
    VALIDATORS[fmt](body)
    logo = f"{SITE}/static/logo-600x300.png"
    if fmt is FeedFormat.RSS:
        assert _xml(body).findtext("channel/image/url") == logo
    elif fmt is FeedFormat.ATOM:
        assert _xml(body).find(f"{{{ATOM}}}icon") is None
        assert _xml(body).findtext(f"{{{ATOM}}}logo") == logo
    else:
        assert not {"icon", "favicon"} & json.loads(body).keys()


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
def test_no_image_of_the_site_writes_none(fmt: FeedFormat) -> None:
    body = render_feed(replace(site_document(), icon_url=None), fmt)
    for marker in (b"<image>", b"<icon>", b"<logo>", b'"icon"', b'"favicon"', b"icon-"):
        assert marker not in body


def test_every_hub_is_advertised_in_every_format() -> None:
    document = site_document()
    hubs = list(document.hubs)
    channel = _xml(render_feed(document, FeedFormat.RSS)).find("channel")
    assert channel is not None
    # feedgen drops non-self atom:links in RSS (python-feedgen#122).
    assert [link.get("href") for link in channel.findall(f"{{{ATOM}}}link[@rel='hub']")] == hubs
    feed = _xml(render_feed(document, FeedFormat.ATOM))
    assert [link.get("href") for link in feed.findall(f"{{{ATOM}}}link[@rel='hub']")] == hubs
    json_feed = json.loads(render_feed(document, FeedFormat.JSON))
    assert json_feed["hubs"] == [{"type": "WebSub", "url": hub} for hub in hubs]


@pytest.mark.parametrize("fmt", [FeedFormat.RSS, FeedFormat.ATOM], ids=str)
def test_namespaces_are_declared_once_on_the_root(fmt: FeedFormat) -> None:
    root = _xml(render_feed(site_document(), fmt))
    for element in root.iter():
        assert element.nsmap == root.nsmap, f"{element.tag!r} declares its own namespaces"


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
def test_an_empty_feed_is_valid_and_dated_by_the_document(fmt: FeedFormat) -> None:
    document = replace(
        site_document(), entries=(), updated=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    )
    body = render_feed(document, fmt)
    VALIDATORS[fmt](body)
    if fmt is FeedFormat.RSS:
        channel = _xml(body).find("channel")
        assert channel is not None
        assert channel.findtext("lastBuildDate") == "Mon, 06 May 2024 07:08:09 +0000"
        assert channel.findall("item") == []
    elif fmt is FeedFormat.ATOM:
        feed = _xml(body)
        assert feed.findtext(f"{{{ATOM}}}updated") == "2024-05-06T07:08:09+00:00"
        assert feed.findall(f"{{{ATOM}}}entry") == []
    else:
        assert json.loads(body)["items"] == []


def test_no_relative_urls_anywhere() -> None:
    document = site_document()
    found: list[str] = []
    url_attributes = {"href", "url", "domain", "scheme", "src"}
    url_elements = {"link", "url", "icon", "logo", "uri", "docs"}
    html_url = re.compile(r"""(?:src|href)=["']([^"']*)["']""")
    for fmt in (FeedFormat.RSS, FeedFormat.ATOM):
        for element in _xml(render_feed(document, fmt)).iter():
            local = etree.QName(element).localname
            found += [value for name, value in element.attrib.items() if name in url_attributes]
            if local in url_elements and element.text:
                found.append(element.text)
            if local in {"encoded", "content"} and element.text:
                found += html_url.findall(element.text)

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, dict):
            for child_key, child in value.items():
                walk(child, child_key)
        elif isinstance(value, list):
            for child in value:
                walk(child, key)
        elif isinstance(value, str):
            if key.endswith("url") or key in {"icon", "favicon", "image", "avatar"}:
                found.append(value)
            if key == "content_html":
                found.extend(html_url.findall(value))

    walk(json.loads(render_feed(document, FeedFormat.JSON)))
    assert len(found) > 40  # the walk really reached the URLs
    relative = [url for url in found if urlsplit(url).scheme not in {"http", "https"}]
    relative += [url for url in found if not urlsplit(url).netloc]
    assert relative == []


# --- entries: authors, images, language ---------------------------------------------------


def test_rss_bylines_are_dc_creators_even_without_email() -> None:
    items = _xml(render_feed(site_document(), FeedFormat.RSS)).findall("channel/item")
    # RSS <author> must be an e-mail address; feedgen would drop João (no e-mail).
    assert [element.text for element in items[0].findall(f"{{{DC}}}creator")] == [
        "Ana Conceição",
        "João Simões",
    ]
    assert all(item.find("author") is None for item in items)


def test_rss_items_name_their_language_only_when_it_is_not_the_channels() -> None:
    document = site_document()
    items = _xml(render_feed(document, FeedFormat.RSS)).findall("channel/item")
    languages = [item.findtext(f"{{{DC}}}language") for item in items]
    expected = [
        entry.language if entry.language != document.language else None
        for entry in document.entries
    ]
    assert languages == expected
    assert "en" in languages and None in languages
    parsed = assert_valid_rss(render_feed(document, FeedFormat.RSS))
    assert parsed.entries[languages.index("en")].language == "en"


def test_atom_authors_keep_email_and_uri() -> None:
    entry = _xml(render_feed(site_document(), FeedFormat.ATOM)).find(f"{{{ATOM}}}entry")
    assert entry is not None
    authors = [
        {etree.QName(child).localname: child.text for child in author}
        for author in entry.findall(f"{{{ATOM}}}author")
    ]
    assert authors == [
        {"name": "Ana Conceição", "email": "ana@diario.example", "uri": f"{SITE}/autores/ana"},
        {"name": "João Simões"},
    ]


def test_json_authors_have_no_email() -> None:
    items = json.loads(render_feed(site_document(), FeedFormat.JSON))["items"]
    assert items[0]["authors"] == [
        {"name": "Ana Conceição", "url": f"{SITE}/autores/ana"},
        {"name": "João Simões"},
    ]
    assert items[2]["authors"] == [{"name": "Inês Gonçalves"}]


def test_atom_feed_names_an_author_when_an_entry_has_none() -> None:
    anonymous = replace(CULTURA, authors=())
    body = render_feed(site_document(PREVIDENCIA, anonymous), FeedFormat.ATOM)
    assert_valid_atom(body)  # RFC 4287 §4.1.1: checked by the validator
    feed_authors = _xml(body).findall(f"{{{ATOM}}}author")
    assert [author.findtext(f"{{{ATOM}}}name") for author in feed_authors] == ["Diário Exemplo"]
    with_bylines = render_feed(site_document(PREVIDENCIA), FeedFormat.ATOM)
    assert _xml(with_bylines).findall(f"{{{ATOM}}}author") == []


def test_atom_entry_links_keep_rel_type_and_length() -> None:
    # python-feedgen#135: feedgen 1.0.0 drops rel/type/length on entry links, turning the
    # enclosure into a second alternate link.
    body = render_feed(site_document(), FeedFormat.ATOM)
    entries = _xml(body).findall(f"{{{ATOM}}}entry")
    links = [dict(link.attrib) for link in entries[0].findall(f"{{{ATOM}}}link")]
    assert links == [
        {"rel": "alternate", "type": "text/html", "href": PREVIDENCIA.url},
        {
            "rel": "enclosure",
            "type": "image/jpeg",
            "href": PLENARIO_JPG,
            "length": "245760",
        },
    ]
    # No type known: no enclosure, just the alternate link.
    assert [link.get("rel") for link in entries[1].findall(f"{{{ATOM}}}link")] == ["alternate"]
    enclosures = assert_valid_atom(body)["entries"][0]["enclosures"]
    assert [(e["href"], e["type"], e["length"]) for e in enclosures] == [
        (PLENARIO_JPG, "image/jpeg", "245760")
    ]


def test_rss_enclosure_and_json_attachment_for_typed_images_only() -> None:
    document = site_document()
    items = _xml(render_feed(document, FeedFormat.RSS)).findall("channel/item")
    enclosure = items[0].find("enclosure")
    assert enclosure is not None
    assert dict(enclosure.attrib) == {"url": PLENARIO_JPG, "length": "245760", "type": "image/jpeg"}
    assert items[1].find("enclosure") is None
    assert items[2].find("enclosure") is None
    json_items = json.loads(render_feed(document, FeedFormat.JSON))["items"]
    assert json_items[0]["attachments"] == [
        {"url": PLENARIO_JPG, "mime_type": "image/jpeg", "size_in_bytes": 245_760}
    ]
    assert json_items[0]["image"] == PLENARIO_JPG
    assert json_items[1]["image"] == BOLSA_PNG
    assert "attachments" not in json_items[1]
    assert "image" not in json_items[2]


@pytest.mark.parametrize("unknown", [0, None], ids=["stored as 0", "absent"])
def test_an_unknown_enclosure_length_is_zero_in_rss_and_left_out_elsewhere(
    unknown: int | None,
) -> None:
    # The input rules store 0 for an unknown length (the RSS profile's value); images
    # stored before them may have none. Either way RSS, which requires a length, says 0;
    # Atom, JSON Feed and Media RSS, where it is optional, leave it out: 0 would claim
    # an empty file.
    unsized = replace(
        CULTURA,
        image=Image(url="https://img.diario.example/x.webp", type="image/webp", length=unknown),
    )
    document = site_document(unsized)
    body = render_feed(document, FeedFormat.RSS)
    assert_valid_rss(body)
    enclosure = _xml(body).find("channel/item/enclosure")
    assert enclosure is not None
    assert enclosure.get("length") == "0"
    atom = _xml(render_feed(document, FeedFormat.ATOM))
    atom_link = atom.find(f"{{{ATOM}}}entry/{{{ATOM}}}link[@rel='enclosure']")
    assert atom_link is not None
    assert "length" not in atom_link.attrib  # Atom: omitted rather than invented
    for root in (_xml(body), atom):
        media = root.find(f".//{{{MEDIA}}}content")
        assert media is not None
        assert "fileSize" not in media.attrib
    item = json.loads(render_feed(document, FeedFormat.JSON))["items"][0]
    assert item["attachments"] == [
        {"url": "https://img.diario.example/x.webp", "mime_type": "image/webp"}
    ]


@pytest.mark.parametrize("fmt", [FeedFormat.RSS, FeedFormat.ATOM], ids=str)
def test_media_rss_lead_image_is_unwrapped_with_caption_and_credit(fmt: FeedFormat) -> None:
    root = _xml(render_feed(site_document(), fmt))
    assert root.find(f".//{{{MEDIA}}}group") is None  # feedgen's media ext always wraps
    entries = (
        root.findall("channel/item") if fmt is FeedFormat.RSS else root.findall(f"{{{ATOM}}}entry")
    )
    first = entries[0].findall(f"{{{MEDIA}}}content")
    assert len(first) == 1
    assert dict(first[0].attrib) == {
        "url": PLENARIO_JPG,
        "type": "image/jpeg",
        "medium": "image",
        "width": "1200",
        "height": "800",
        "fileSize": "245760",
    }
    description = first[0].find(f"{{{MEDIA}}}description")
    assert description is not None
    assert (description.text, description.get("type")) == (
        "Plenário da Câmara durante a sessão",
        "plain",
    )
    assert first[0].findtext(f"{{{MEDIA}}}credit") == "Foto: Agência Câmara"
    second = entries[1].find(f"{{{MEDIA}}}content")
    assert second is not None
    assert "type" not in second.attrib and "fileSize" not in second.attrib
    assert second.find(f"{{{MEDIA}}}credit") is None
    assert entries[2].find(f"{{{MEDIA}}}content") is None


def test_entry_language_is_marked_only_where_it_differs() -> None:
    entries = _xml(render_feed(site_document(), FeedFormat.ATOM)).findall(f"{{{ATOM}}}entry")
    assert [entry.get(XML_LANG) for entry in entries] == [None, "en", None]
    items = json.loads(render_feed(site_document(), FeedFormat.JSON))["items"]
    assert [item["language"] for item in items] == ["pt-BR", "en", "pt-BR"]


def test_summary_and_content_are_kept_apart() -> None:
    document = site_document()
    item = _xml(render_feed(document, FeedFormat.RSS)).find("channel/item")
    assert item is not None
    assert item.findtext("description") == PREVIDENCIA.summary
    assert item.findtext(f"{{{CONTENT}}}encoded") == PREVIDENCIA.content_html
    entry = _xml(render_feed(document, FeedFormat.ATOM)).find(f"{{{ATOM}}}entry")
    assert entry is not None
    content = entry.find(f"{{{ATOM}}}content")
    summary = entry.find(f"{{{ATOM}}}summary")
    assert content is not None and summary is not None
    assert (content.get("type"), summary.get("type")) == ("html", "text")  # never "CDATA"
    assert b"CDATA" not in render_feed(document, FeedFormat.RSS)


# --- inline images as Media RSS -----------------------------------------------------------


def _entries_of(fmt: FeedFormat, root: etree._Element) -> list[etree._Element]:
    return root.xpath("channel/item" if fmt is FeedFormat.RSS else "atom:entry", namespaces=NS)


@pytest.mark.parametrize("fmt", [FeedFormat.RSS, FeedFormat.ATOM], ids=str)
def test_every_inline_image_gets_media_content_after_the_lead(fmt: FeedFormat) -> None:
    body = render_feed(site_document(PREVIDENCIA_WITH_MEDIA), fmt)
    parsed = VALIDATORS[fmt](body)
    root = _xml(body)
    assert root.xpath("//media:group", namespaces=NS) == []
    entry = _entries_of(fmt, root)[0]
    contents = entry.xpath("media:content", namespaces=NS)
    # Lead first; the lead repeated in the body is not described twice.
    assert [dict(content.attrib) for content in contents] == [
        {
            "url": PLENARIO_JPG,
            "type": "image/jpeg",
            "medium": "image",
            "width": "1200",
            "height": "800",
            "fileSize": "245760",
        },
        {"url": GALERIA_JPG, "medium": "image", "width": "640", "height": "427"},
        {"url": MAPA_PNG, "medium": "image"},
    ]
    described = [
        (
            content.xpath("string(media:description[@type='plain'])", namespaces=NS),
            content.xpath("string(media:credit)", namespaces=NS),
        )
        for content in contents
    ]
    assert described == [
        ("Plenário da Câmara durante a sessão", "Foto: Agência Câmara"),
        ("Galeria lotada durante a votação", "Foto: Ana Lima"),
        ("", ""),
    ]
    assert contents[2].xpath("*") == []  # no empty description or credit
    # Readers see the same list (feedparser's Media RSS support).
    assert [media["url"] for media in parsed["entries"][0]["media_content"]] == [
        PLENARIO_JPG,
        GALERIA_JPG,
        MAPA_PNG,
    ]


@pytest.mark.parametrize("fmt", [FeedFormat.RSS, FeedFormat.ATOM], ids=str)
def test_inline_images_without_a_lead_image_and_repeated_ones(fmt: FeedFormat) -> None:
    twice = Image(url=MAPA_PNG, caption="Mapa")
    entry = replace(CULTURA, media=(twice, Image(url=GALERIA_JPG), replace(twice, caption="X")))
    body = render_feed(site_document(entry), fmt)
    VALIDATORS[fmt](body)
    item = _entries_of(fmt, _xml(body))[0]
    assert item.xpath("media:content/@url", namespaces=NS) == [MAPA_PNG, GALERIA_JPG]
    assert item.xpath("media:content[1]/media:description/text()", namespaces=NS) == ["Mapa"]
    # Inline images are never enclosures: that is the lead image's role.
    assert item.xpath("enclosure | atom:link[@rel='enclosure']", namespaces=NS) == []


def test_json_feed_keeps_only_the_lead_image_when_there_are_inline_images() -> None:
    plain = json.loads(render_feed(site_document(PREVIDENCIA), FeedFormat.JSON))["items"][0]
    body = render_feed(site_document(PREVIDENCIA_WITH_MEDIA), FeedFormat.JSON)
    item = assert_valid_json_feed(body)["items"][0]
    # Inline images are in content_html already; nothing else changes.
    assert item["content_html"] == _PREVIDENCIA_BODY
    assert {key: value for key, value in item.items() if key != "content_html"} == {
        key: value for key, value in plain.items() if key != "content_html"
    }


# --- refresh hints ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "period", "frequency"),
    [
        (1, "hourly", 60),
        (15, "hourly", 4),
        (45, "hourly", 1),
        (60, "hourly", 1),
        (61, "daily", 23),
        (90, "daily", 16),
        (1440, "daily", 1),
        (1441, "weekly", 6),
        (2880, "weekly", 3),
        (20_000, "weekly", 1),
    ],
)
def test_refresh_hints_follow_the_ttl(ttl: int, period: str, frequency: int) -> None:
    assert update_schedule(ttl) == (period, frequency)
    document = replace(site_document(), ttl_minutes=ttl)
    for fmt, level in ((FeedFormat.RSS, "/rss/channel"), (FeedFormat.ATOM, "/atom:feed")):
        body = render_feed(document, fmt)
        VALIDATORS[fmt](body)
        root = _xml(body)
        hints = root.xpath(f"{level}/sy:*", namespaces=NS)
        assert [(etree.QName(hint).localname, hint.text) for hint in hints] == [
            ("updatePeriod", period),
            ("updateFrequency", str(frequency)),
        ]
        assert b"sy:Update" not in body  # feedgen's syndication extension's capitalisation
    channel = _xml(render_feed(document, FeedFormat.RSS)).find("channel")
    assert channel is not None
    assert channel.findtext("ttl") == str(ttl)


@pytest.mark.parametrize("fmt", [FeedFormat.RSS, FeedFormat.ATOM], ids=str)
def test_no_ttl_no_refresh_hints(fmt: FeedFormat) -> None:
    body = render_feed(replace(site_document(), ttl_minutes=None), fmt)
    VALIDATORS[fmt](body)
    assert _xml(body).xpath("//sy:*", namespaces=NS) == []
    assert SY.encode() not in body  # not even the namespace declaration


def test_update_schedule_refuses_a_non_positive_ttl() -> None:
    with pytest.raises(ValueError, match="positive"):
        update_schedule(0)


# --- RFC 5005 archives --------------------------------------------------------------------

_HISTORY_XPATH = "atom:link[@rel='current' or @rel='prev-archive' or @rel='next-archive']"


@pytest.mark.parametrize(
    ("fmt", "level"), [(FeedFormat.RSS, "/rss/channel"), (FeedFormat.ATOM, "/atom:feed")], ids=str
)
def test_archive_documents_carry_fh_archive_and_history_links(fmt: FeedFormat, level: str) -> None:
    body = render_feed(archive_document(), fmt)
    parsed = VALIDATORS[fmt](body)  # for Atom: RELAX NG too
    root = _xml(body)
    assert len(root.xpath(f"{level}/fh:archive", namespaces=NS)) == 1
    assert len(root.xpath("//fh:*", namespaces=NS)) == 1
    links = root.xpath(f"{level}/{_HISTORY_XPATH}", namespaces=NS)
    media_type = MEDIA_TYPES[fmt]
    assert [(link.get("rel"), link.get("href"), link.get("type")) for link in links] == [
        ("current", f"{SITE}/feed.{fmt}", media_type),
        ("prev-archive", f"{SITE}/archive/2024-02.{fmt}", media_type),
        ("next-archive", f"{SITE}/archive/2024-04.{fmt}", media_type),
    ]
    # Only at feed level, never inside an entry.
    assert len(root.xpath(f"//{_HISTORY_XPATH}", namespaces=NS)) == 3
    # The document's own self link is the archive's URL.
    assert root.xpath(f"{level}/atom:link[@rel='self']/@href", namespaces=NS) == [
        f"{SITE}/archive/2024-03.{fmt}"
    ]
    rels = [link["rel"] for link in parsed["feed"]["links"]]
    assert {"current", "prev-archive", "next-archive"} <= set(rels)


def test_json_feed_next_url_is_the_previous_archive() -> None:
    feed = assert_valid_json_feed(render_feed(archive_document(), FeedFormat.JSON))
    assert feed["next_url"] == f"{SITE}/archive/2024-02.json"
    assert feed["feed_url"] == f"{SITE}/archive/2024-03.json"
    # current and next-archive have no JSON Feed member; the newest archive has no next_url.
    newest = replace(archive_document(), history_links=history("current"))
    assert "next_url" not in assert_valid_json_feed(render_feed(newest, FeedFormat.JSON))


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
def test_history_link_order_does_not_depend_on_the_caller(fmt: FeedFormat) -> None:
    one = replace(archive_document(), history_links=history("current", "prev-archive"))
    other = replace(archive_document(), history_links=history("prev-archive", "current"))
    assert render_feed(one, fmt) == render_feed(other, fmt)


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
def test_a_subscription_document_may_link_its_archives_without_being_one(fmt: FeedFormat) -> None:
    # RFC 5005 section 4: the current document links to the newest archive, no fh:archive.
    document = replace(site_document(), history_links=history("prev-archive"))
    body = render_feed(document, fmt)
    VALIDATORS[fmt](body)
    if fmt is FeedFormat.JSON:
        assert json.loads(body)["next_url"] == f"{SITE}/archive/2024-02.json"
        return
    root = _xml(body)
    assert root.xpath("//fh:archive", namespaces=NS) == []
    assert FH.encode() not in body
    assert root.xpath(f"//{_HISTORY_XPATH}/@rel", namespaces=NS) == ["prev-archive"]


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
def test_history_links_must_be_known_relations_with_a_url_per_format(fmt: FeedFormat) -> None:
    unknown = replace(site_document(), history_links={"previous": history("current")["current"]})
    with pytest.raises(ValueError, match="previous"):
        render_feed(unknown, fmt)
    urls = {other: f"{SITE}/archive/2024-02.{other}" for other in FeedFormat if other is not fmt}
    partial = replace(site_document(), history_links={"prev-archive": urls})
    with pytest.raises(ValueError, match=f"no {fmt} URL"):
        render_feed(partial, fmt)


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=str)
def test_documents_without_the_new_fields_have_none_of_their_output(fmt: FeedFormat) -> None:
    body = render_feed(site_document(PREVIDENCIA, MARKETS, CULTURA), fmt)
    for marker in (FH.encode(), b"xml-stylesheet", b"archive", b"next_url"):
        assert marker not in body
    if fmt is not FeedFormat.JSON:
        assert _xml(body).getprevious() is None


# --- the browser view: xml-stylesheet and feed.xsl ----------------------------------------


@pytest.mark.parametrize("fmt", [FeedFormat.RSS, FeedFormat.ATOM], ids=str)
def test_stylesheet_instruction_comes_right_after_the_xml_declaration(fmt: FeedFormat) -> None:
    body = render_feed(archive_document(), fmt)
    VALIDATORS[fmt](body)
    assert body.split(b"\n")[:2] == [
        b"<?xml version='1.0' encoding='UTF-8'?>",
        b'<?xml-stylesheet type="text/xsl" href="/static/feed.xsl"?>',
    ]
    instruction = _xml(body).getprevious()
    assert isinstance(instruction, etree._ProcessingInstruction)
    assert instruction.target == "xml-stylesheet"
    assert (instruction.get("type"), instruction.get("href")) == ("text/xsl", "/static/feed.xsl")
    assert instruction.getprevious() is None


@pytest.mark.parametrize("fmt", [FeedFormat.RSS, FeedFormat.ATOM], ids=str)
def test_stylesheet_url_is_escaped_as_a_pseudo_attribute(fmt: FeedFormat) -> None:
    document = replace(site_document(), stylesheet_url='/static/feed.xsl?v=2&x="?>"')
    body = render_feed(document, fmt)
    VALIDATORS[fmt](body)
    instruction = _xml(body).getprevious()
    assert isinstance(instruction, etree._ProcessingInstruction)
    assert instruction.text == (
        'type="text/xsl" href="/static/feed.xsl?v=2&amp;x=&quot;?&gt;&quot;"'
    )


def test_json_feed_ignores_the_stylesheet() -> None:
    styled = replace(site_document(), stylesheet_url="/static/feed.xsl")
    assert render_feed(styled, FeedFormat.JSON) == render_feed(site_document(), FeedFormat.JSON)


def _browser_view(body: bytes) -> etree._Element:
    """What a browser shows for a feed document: feed.xsl applied to it."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    transform = etree.XSLT(etree.parse(str(FEED_XSL), parser))
    page = transform(etree.fromstring(body, parser))
    root = page.getroot()
    assert root is not None, str(transform.error_log)
    return root


def _text(element: etree._Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _assert_inert(page: etree._Element) -> None:
    """No script, no inline style or handler, nothing loaded but the site stylesheet."""
    assert page.xpath("//script | //style | //iframe | //object | //embed | //img") == []
    assert page.xpath("//@*[starts-with(translate(name(), 'ON', 'on'), 'on')]") == []
    assert page.xpath("//@style") == []
    assert page.xpath("//link[@rel='stylesheet']/@href") == ["/static/style.css"]
    assert page.xpath("//link/@href") == ["/static/style.css"]
    hrefs = page.xpath("//@href | //@src | //@action")
    assert all(href.startswith(("https://", "http://", "/static/")) for href in hrefs), hrefs


@pytest.mark.parametrize("fmt", [FeedFormat.RSS, FeedFormat.ATOM], ids=str)
@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_feed_xsl_renders_a_readable_page(name: str, fmt: FeedFormat) -> None:
    document = DOCUMENTS[name]()
    page = _browser_view(render_feed(document, fmt))
    _assert_inert(page)
    assert page.tag == "html" and page.get("lang") == "pt-BR"
    text = _text(page)
    assert "Este é um feed" in text and "This is a web feed" in text
    assert document.self_url(fmt) in page.xpath("string(//code)")
    assert page.xpath("string(//title)").startswith(document.title)
    assert document.description in text
    assert page.xpath("//a[@href=$site]", site=document.site_url)
    articles = page.xpath("//article")
    assert len(articles) == len(document.entries)
    for article, entry in zip(articles, document.entries, strict=True):
        links = article.xpath(".//h2/a")
        assert [(link.get("href"), _text(link)) for link in links] == [(entry.url, entry.title)]
        article_text = _text(article)
        assert all(author.name in article_text for author in entry.authors)
        assert article.xpath("string(.//time)").strip()
        if entry.summary:
            assert entry.summary in article_text
    # The summary of an entry with none is its body's text, tags removed, not live HTML.
    if CULTURA in document.entries:
        assert "Mostra reúne 120 obras" in _text(articles[-1])
        assert "<p>" not in _text(articles[-1])


def test_feed_xsl_dates_and_authors_per_format() -> None:
    rss = _browser_view(render_feed(site_document(), FeedFormat.RSS))
    atom = _browser_view(render_feed(site_document(), FeedFormat.ATOM))
    assert rss.xpath("string(//article[1]//time)").strip() == "Fri, 01 Mar 2024 12:30:15 +0000"
    assert atom.xpath("string(//article[1]//time)").strip() == "2024-03-01 12:30 UTC"
    assert atom.xpath("string(//article[1]//time/@datetime)") == "2024-03-01T12:30:15+00:00"
    for page in (rss, atom):
        assert _text(page.xpath("//article[1]//p[@class='byline']")[0]) == (
            "Ana Conceição, João Simões"
        )


@pytest.mark.parametrize("fmt", [FeedFormat.RSS, FeedFormat.ATOM], ids=str)
def test_feed_xsl_never_turns_feed_content_into_live_html(fmt: FeedFormat) -> None:
    hostile = replace(
        CULTURA,
        url="javascript:alert(1)",
        title='<script>alert("t")</script> Título',
        summary="",
        content_html=(
            '<p>Texto <img src="x" onerror="alert(1)"></p><script>alert("c")</script>'
            '<a href="javascript:alert(2)">clique</a>'
        ),
    )
    page = _browser_view(render_feed(site_document(hostile), fmt))
    _assert_inert(page)
    assert page.xpath("//article//a/@href") == []  # a javascript: permalink is not linked
    assert '<script>alert("t")</script> Título' in _text(page)  # shown as text
    summary = _text(page.xpath("//article//p[@class='teaser-summary']")[0])
    assert "Texto" in summary and "<" not in summary


#: The summary of issue 9, point 2, which RSS readers showed as "Use  e **negrito** & mais".
ISSUE_TEXT = "Use <Nome> e <b>negrito</b> & mais"


def test_plain_text_that_looks_like_html_reaches_rss_readers_as_sent() -> None:
    """RSS description is HTML (RSS 2.0: "entity-encoded HTML is allowed"), so the summary is
    HTML-escaped there; a title that would read as markup is too, since feedparser then takes
    it as HTML. Categories, dc:creator and media:credit are never read as HTML: as they are."""
    caption = "Foto <i>sem</i> &amp; legenda"
    entry = replace(
        MARKETS,
        title=ISSUE_TEXT,
        summary=ISSUE_TEXT,
        authors=(Author(name="Ana &amp; <Bia>"),),
        image=replace(MARKETS.image, caption=caption, credit="Crédito &lt;x&gt;"),  # type: ignore[arg-type]
    )
    body = render_feed(site_document(entry), FeedFormat.RSS)
    escaped = "Use &amp;lt;Nome&amp;gt; e &amp;lt;b&amp;gt;negrito&amp;lt;/b&amp;gt; &amp;amp; mais"
    assert f"<description>{escaped}</description>".encode() in body
    assert f"<title>{escaped}</title>".encode() in body
    (item,) = assert_valid_rss(body).entries
    assert (item.title_detail.type, html.unescape(item.title)) == ("text/html", ISSUE_TEXT)
    assert html.unescape(item.summary) == ISSUE_TEXT
    assert "<" not in item.summary + item.title
    assert [author.name for author in item.authors] == ["Ana &amp; <Bia>"]
    assert item.media_credit == [{"content": "Crédito &lt;x&gt;"}]
    (description,) = _xml(body).iter(f"{{{MEDIA}}}description")
    assert (description.get("type"), description.text) == ("html", html.escape(caption))
    # A reader that does not sanitise gets no element either.
    (raw,) = feedparser.parse(body, sanitize_html=False).entries
    assert html.unescape(raw.summary) == ISSUE_TEXT and "<" not in raw.summary


def test_plain_text_without_markup_is_written_as_it_is() -> None:
    """Text that reads the same as text and as HTML is not escaped for any reader."""
    entry = replace(MARKETS, title="Saúde & bem-estar: AT&T, 1 > 0", summary="Tom & Jerry")
    item = _xml(render_feed(site_document(entry), FeedFormat.RSS)).findall("channel/item")[0]
    assert item.findtext("title") == "Saúde & bem-estar: AT&T, 1 > 0"
    assert item.findtext("description") == "Tom &amp; Jerry"  # HTML, as every description


@pytest.mark.parametrize("fmt", [FeedFormat.RSS, FeedFormat.ATOM], ids=str)
def test_feed_xsl_shows_plain_text_as_sent(fmt: FeedFormat) -> None:
    entry = replace(MARKETS, title=ISSUE_TEXT + " &amp;", summary=ISSUE_TEXT + " &lt;")
    document = replace(site_document(entry), title="Diário &amp; <Cia>", description=ISSUE_TEXT)
    page = _browser_view(render_feed(document, fmt))
    _assert_inert(page)
    assert page.xpath("//b | //Nome") == []
    assert page.xpath("string(//title)") == "Diário &amp; <Cia> · Feed"
    assert _text(page.xpath("//p[@class='site-description']")[0]) == ISSUE_TEXT
    assert _text(page.xpath("//article//h2")[0]) == ISSUE_TEXT + " &amp;"
    assert _text(page.xpath("//article//p[@class='teaser-summary']")[0]) == ISSUE_TEXT + " &lt;"


@pytest.mark.parametrize("fmt", [FeedFormat.RSS, FeedFormat.ATOM], ids=str)
def test_feed_xsl_says_so_when_the_feed_is_empty(fmt: FeedFormat) -> None:
    page = _browser_view(render_feed(replace(site_document(), entries=()), fmt))
    _assert_inert(page)
    assert page.xpath("//article") == []
    assert "Nenhum artigo por enquanto." in _text(page)


def test_feed_xsl_is_plain_xslt_1_without_escape_hatches() -> None:
    stylesheet = etree.parse(str(FEED_XSL)).getroot()
    xsl = {"xsl": "http://www.w3.org/1999/XSL/Transform"}
    assert stylesheet.get("version") == "1.0"
    assert stylesheet.xpath("//@disable-output-escaping") == []
    # Nothing but the feed itself is read: no imports, no document().
    assert stylesheet.xpath("//xsl:import | //xsl:include", namespaces=xsl) == []
    expressions = stylesheet.xpath("//@select | //@test | //@match", namespaces=xsl)
    assert not [value for value in expressions if "document(" in value]
    # No literal script or style, no inline style or handler attributes, in any output.
    assert stylesheet.xpath("//*[local-name() = 'script' or local-name() = 'style']") == []
    created = stylesheet.xpath("//xsl:element/@name | //xsl:attribute/@name", namespaces=xsl)
    assert not [name for name in created if name in {"script", "style"} or name.startswith("on")]
    literal_attributes = [
        etree.QName(attribute).localname
        for element in stylesheet.iter()
        if isinstance(element.tag, str) and not element.tag.startswith("{http://www.w3.org/1999")
        for attribute in element.attrib
    ]
    assert not [name for name in literal_attributes if name == "style" or name.startswith("on")]


# --- the validators reject what they must -------------------------------------------------


def test_rss_validator_rejects_broken_documents() -> None:
    with pytest.raises(AssertionError, match="feedparser rejects"):
        assert_valid_rss(b"<rss version='2.0'><channel><title>x</title></channel>")
    with pytest.raises(AssertionError, match="description"):
        assert_valid_rss(
            b"<rss version='2.0'><channel><title>x</title><link>https://a.example/</link>"
            b"</channel></rss>"
        )


def _atom_with(entry_xml: str, feed_extra: str = "") -> bytes:
    return (
        '<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:x</id><title>t</title>'
        f"<updated>2024-01-01T00:00:00Z</updated>{feed_extra}"
        f"<entry><id>urn:e</id><title>e</title><updated>2024-01-01T00:00:00Z</updated>"
        f"{entry_xml}</entry></feed>"
    ).encode()


def test_atom_validator_accepts_a_minimal_valid_feed() -> None:
    assert_valid_atom(_atom_with('<author><name>A</name></author><content type="html">x</content>'))


def test_atom_validator_rejects_cdata_content_type() -> None:
    # What feedgen writes for content(type='CDATA') (python-feedgen#123).
    with pytest.raises(AssertionError, match="RFC 4287"):
        assert_valid_atom(
            _atom_with('<author><name>A</name></author><content type="CDATA">x</content>')
        )


def test_atom_validator_rejects_an_entry_without_any_author() -> None:
    with pytest.raises(AssertionError, match="no author"):
        assert_valid_atom(_atom_with('<content type="html">x</content>'))


def test_atom_validator_rejects_an_entry_without_content_or_alternate_link() -> None:
    # The enclosure-only entry that feedgen's dropped rel would otherwise hide.
    entry = '<author><name>A</name></author><link rel="enclosure" href="https://a.example/i.jpg"/>'
    with pytest.raises(AssertionError, match="alternate link nor content"):
        assert_valid_atom(_atom_with(entry))


def _json_feed(item: dict[str, object]) -> bytes:
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [item]}
    return json.dumps(feed).encode()


_VALID_ITEM: dict[str, object] = {"id": "1", "content_html": "<p>x</p>"}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"content_html": "<p>x</p>"}, "'id' is a required property"),
        ({"id": 1, "content_html": "<p>x</p>"}, "1 is not of type 'string'"),
        ({"id": "1", "summary": "no content"}, "not valid under any of the given schemas"),
        ({**_VALID_ITEM, "date_published": "2024-01-01T00:00:00"}, "date_published"),
        ({**_VALID_ITEM, "date_modified": "2024-01-01 00:00:00Z"}, "date_modified"),
        ({**_VALID_ITEM, "attachments": [{"url": "https://a.example/i.jpg"}]}, "'mime_type'"),
        ({**_VALID_ITEM, "authors": [{"email": "a@a.example"}]}, "authors[0]"),
        ({**_VALID_ITEM, "image": "/relative.jpg"}, "image"),
        ({**_VALID_ITEM, "tracking": {"x": 1}}, "'tracking' does not match any of the regexes"),
        (
            {**_VALID_ITEM, "_ext.dotted": {"x": 1}},
            "'_ext.dotted' does not match any of the regexes",
        ),
    ],
)
def test_json_feed_validator_rejects(item: dict[str, object], message: str) -> None:
    assert_valid_json_feed(_json_feed(_VALID_ITEM))  # the baseline is valid
    with pytest.raises(AssertionError, match=re.escape(message)):
        assert_valid_json_feed(_json_feed(item))


def test_json_feed_validator_accepts_extensions_and_hubs() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "t",
            "_blue_shed": {"about": "https://blueshed.example/docs"},
            "hubs": [{"type": "WebSub", "url": "https://hub.example/"}],
            "items": [{"id": "1", "content_text": "x", "_blue_shed": {"explicit": False}}],
        }
    ).encode()
    assert assert_valid_json_feed(body)["title"] == "t"


def test_json_feed_validator_refuses_an_invalid_schema() -> None:
    with pytest.raises(jsonschema.SchemaError):
        json_feed_validator({"type": "objekt"})


@pytest.mark.parametrize(
    ("channel_extra", "item_extra", "message"),
    [
        ("<sy:UpdatePeriod>hourly</sy:UpdatePeriod>", "", "undefined syndication element"),
        ("<sy:updatePeriod>often</sy:updatePeriod>", "", "invalid sy:updatePeriod"),
        ("<sy:updateFrequency>0</sy:updateFrequency>", "", "invalid sy:updateFrequency"),
        ("", "<sy:updatePeriod>daily</sy:updatePeriod>", "must be a child of the feed"),
        ("", "<fh:archive/>", "fh:archive must be a child of the feed"),
        ("<fh:archive>yes</fh:archive>", "", "fh:archive must be empty"),
        ("", '<atom:link rel="prev-archive" href="https://a.example/"/>', "inside an entry"),
        (
            "",
            '<media:group><media:content url="https://a.example/i.jpg"/></media:group>',
            "media:group without alternatives",
        ),
    ],
)
def test_xml_validators_reject_invalid_extension_elements(
    channel_extra: str, item_extra: str, message: str
) -> None:
    namespaces = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NS.items())
    rss = (
        f'<rss version="2.0" {namespaces}><channel><title>t</title>'
        f"<link>https://a.example/</link><description>d</description>{channel_extra}"
        f"<item><title>i</title>{item_extra}</item></channel></rss>"
    ).encode()
    with pytest.raises(AssertionError, match=message):
        assert_valid_rss(rss)
    atom_item = item_extra.replace("atom:link", "link")
    atom = _atom_with(
        f'<author><name>A</name></author><content type="html">x</content>{atom_item}',
        feed_extra=channel_extra,
    ).replace(b"<feed ", f"<feed {namespaces} ".encode(), 1)
    with pytest.raises(AssertionError, match=message):
        assert_valid_atom(atom)
