"""No input breaks a feed or a page: property-based tests with hostile input (hypothesis).

Every article is either refused with a domain error that names the bad fields (422/413
problem+json over HTTP, never a 500) or stored, rendered into RSS, Atom and JSON Feed
documents that pass the validators of ``tests/feedcheck.py``, keep the article's text and
carry no script, event handler or ``javascript:`` URL, and shown on a permalink page that
parses and is just as clean.

Cheap properties (the content pipeline, and the renderers fed a FeedDocument directly) run
thousands of examples; the database round trips run a few hundred, on one SQLite database
per test function (each example creates, checks and deletes its own article). Examples are
derandomized, so CI runs the same cases every time.

The end of this module holds one example of each input that once got through a way in
other than the API (or through the API and into an invalid feed): instants no time zone
can show, hostile or spaced URLs, bad e-mail addresses, lone surrogates.
"""

from __future__ import annotations

import html
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

import lxml.html
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import currently_in_test_context
from hypothesis import event
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from lxml import etree

from app.articles import ArticleInput
from app.articles import Articles
from app.content import clean_text
from app.content import extract_images
from app.content import html_to_text
from app.content import is_valid_slug
from app.content import make_excerpt
from app.content import make_slug
from app.content import render_body
from app.documents import feed_entry
from app.domain import SITE_SCOPE
from app.domain import Article
from app.domain import Author
from app.domain import BodyFormat
from app.domain import FeedFormat
from app.domain import FeedScope
from app.domain import Image
from app.domain import permalink_path
from app.errors import InvalidInput
from app.errors import PayloadTooLarge
from app.feeds import StoredFeeds
from app.renderer import FeedRenderer
from app.rendering import FeedDocument
from app.rendering import FeedEntry
from app.rendering import join
from app.rendering import render_entries
from app.rendering import render_feed
from app.rendering.atom import render_atom
from app.rendering.jsonfeed import render_json_feed
from app.rendering.rss import render_rss
from tests import strategies as hs
from tests.conftest import BASE_URL
from tests.conftest import FakeClock
from tests.feedcheck import assert_valid_atom
from tests.feedcheck import assert_valid_json_feed
from tests.feedcheck import assert_valid_rss

# -- settings -------------------------------------------------------------------------------

_BASE = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
CHEAP = settings(_BASE, max_examples=2000)
RENDER = settings(_BASE, max_examples=400)
ROUND_TRIP = settings(_BASE, max_examples=200)

ARTICLES = "/api/v1/articles"
PROBLEM = "application/problem+json"
ATOM = "{http://www.w3.org/2005/Atom}"
RSS_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
_XML_CHAR = re.compile("^[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")
#: What clean_text keeps: XML 1.0 characters, less DEL and the C1 controls it discourages.
_KEPT_CHAR = re.compile("^[\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r" (\d{4}) (\d\d):(\d\d):(\d\d) \+0000$"
)
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

#: Elements that must never come out of the sanitiser (the page template adds its own
#: ``meta``, ``link`` and ``title`` in the head; the page check allows those there only).
DANGEROUS_TAGS = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "meta",
        "link", "base", "form", "input", "button", "textarea", "select", "option", "svg", "math",
        "template", "noscript", "xmp", "plaintext", "title", "audio", "video", "source", "track",
        "marquee", "portal",
    }
)  # fmt: skip
URL_ATTRIBUTES = frozenset(
    {
        "href", "src", "srcset", "cite", "action", "formaction", "poster", "data", "background",
        "longdesc", "lowsrc", "dynsrc", "usemap", "codebase", "ping", "xlink:href",
    }
)  # fmt: skip
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})

# Published dates that work end to end (the edge-date tests cover the years outside): as
# often in the past (published) as in the future (scheduled), or within seconds of now;
# wall times a day inside the accepted range (1970-01-01 ... 9999-12-30 in UTC), so that
# every offset (under a day) keeps them in it.
_PAST = hs.aware_datetimes(datetime(1970, 1, 2), datetime(2026, 10, 31))
_FUTURE = hs.aware_datetimes(datetime(2026, 11, 4), datetime(9999, 11, 29))
_SECONDS_FROM_NOW = st.integers(-2, 2)


@st.composite
def published_dates(draw: st.DrawFn, now: datetime) -> datetime:
    kind = draw(st.sampled_from(["past", "future", "now"]))
    if kind == "now":
        moment = now + timedelta(seconds=draw(_SECONDS_FROM_NOW))
        return moment.astimezone(draw(hs.offsets))
    return draw(_PAST if kind == "past" else _FUTURE)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: the round trips here are about content, not the database."""
    return sqlite_url


@pytest.fixture
def serial() -> Iterator[int]:
    """Unique numbers for the slugs of one test's examples (they share one database)."""
    return itertools.count(1)


# -- checks shared by the properties -------------------------------------------------------


def _browser_url(value: str) -> str:
    """A URL as a browser reads it: outer C0/space stripped, tabs and newlines removed."""
    return re.sub("[\t\n\r]", "", value.strip("".join(map(chr, range(0x21)))))


def url_scheme(value: str) -> str | None:
    found = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", _browser_url(value))
    return found.group(1).lower() if found else None


def assert_safe_element(root: Any) -> None:
    """No dangerous element, comment, event handler or style attribute, or unsafe URL scheme."""
    for element in root.iter():
        assert isinstance(element.tag, str), f"comment or instruction survived: {element!r}"
        tag = element.tag.lower()
        assert tag not in DANGEROUS_TAGS, f"<{tag}> survived"
        for name, value in element.attrib.items():
            name = name.lower()
            assert not name.startswith("on"), f"event handler {name}= on <{tag}>"
            assert name not in ("style", "srcdoc", "http-equiv"), f"{name}= on <{tag}>"
            if name in URL_ATTRIBUTES:
                urls = [part.split()[0] for part in value.split(",") if part.split()]
                urls = urls if name == "srcset" else [value]
                for url in urls:
                    scheme = url_scheme(url)
                    assert scheme is None or scheme in SAFE_SCHEMES, f"<{tag} {name}={value!r}>"


def safe_fragment_text(fragment: str) -> str:
    """Parse sanitised HTML, assert it is safe; return its text, whitespace folded."""
    assert _XML_CHAR.match(fragment), "an XML-forbidden character in HTML content"
    if not fragment.strip():
        return ""
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    assert_safe_element(root)
    return " ".join(root.text_content().split())


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def as_feedparser_reads(text: str) -> str:
    """feedparser "repairs" any text that is all Latin-1 and, as Latin-1 bytes, valid UTF-8
    (mojibake such as "Ã©" becomes "é"): a reader heuristic no publisher can avoid."""
    try:
        return text.encode("iso-8859-1").decode("utf-8")
    except UnicodeError:
        return text


def _entry_by_id(entries: list[Any], article_id: str) -> Any:
    found = [entry for entry in entries if entry.get("id") == article_id]
    assert len(found) == 1, f"{len(found)} entries with id {article_id}"
    return found[0]


def site_feeds(feeds: StoredFeeds) -> dict[FeedFormat, bytes]:
    return {fmt: feeds.feed_snapshot(SITE_SCOPE, fmt).body for fmt in FeedFormat}


@dataclass(frozen=True)
class Feeds:
    """The three documents of one feed, each validated once: parsed and as XML trees."""

    rss: Any
    atom: Any
    json: dict[str, Any]
    rss_root: Any
    atom_root: Any


def validated(bodies: dict[FeedFormat, bytes]) -> Feeds:
    return Feeds(
        rss=assert_valid_rss(bodies[FeedFormat.RSS]),
        atom=assert_valid_atom(bodies[FeedFormat.ATOM]),
        json=assert_valid_json_feed(bodies[FeedFormat.JSON]),
        rss_root=_xml(bodies[FeedFormat.RSS]),
        atom_root=_xml(bodies[FeedFormat.ATOM]),
    )


def check_entry(
    feeds: Feeds, entry: FeedEntry, phrases: list[str], check_dates: bool = True
) -> None:
    """The entry is in all three documents with its exact text, safe content and dates."""
    title = entry.title
    # RSS: feedparser reads a title as text or as HTML by its looks; either way it must show
    # the title. The summary is in <description>, which is HTML.
    items = [i for i in feeds.rss_root.iter("item") if i.findtext("guid") == entry.id]
    assert len(items) == 1
    rss_entry = _entry_by_id(feeds.rss.entries, entry.id)
    assert displayed(rss_entry.title, rss_entry.title_detail.type) == as_feedparser_reads(title)
    if entry.summary:
        assert displayed(rss_entry.summary, "text/html") == as_feedparser_reads(entry.summary)
    # Without a summary feedgen puts the HTML in <description> instead of content:encoded.
    rss_html = items[0].findtext(RSS_CONTENT)
    if rss_html is None:
        rss_html = items[0].findtext("description")

    # Atom: type="text" is unambiguous, so feedparser must give title and summary back.
    atom_entry = _entry_by_id(feeds.atom.entries, entry.id)
    assert atom_entry.title == as_feedparser_reads(title)
    assert atom_entry.get("summary", "") == as_feedparser_reads(entry.summary) or (
        not entry.summary
    )
    atom_entries = [
        e for e in feeds.atom_root.iter(f"{ATOM}entry") if e.findtext(f"{ATOM}id") == entry.id
    ]
    assert len(atom_entries) == 1
    atom_html = atom_entries[0].findtext(f"{ATOM}content")

    item = _entry_by_id(feeds.json["items"], entry.id)
    assert item["title"] == title
    assert item.get("summary", "") == entry.summary
    assert [a["name"] for a in item.get("authors", [])] == [a.name for a in entry.authors]
    assert item.get("tags", []) == list(dict.fromkeys((*entry.categories, *entry.tags)))
    assert (rss_html or "") == (atom_html or "") == item["content_html"] == entry.content_html
    text = safe_fragment_text(item["content_html"])
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} lost from the content"

    if check_dates:
        utc = entry.published.astimezone(UTC).replace(microsecond=0)
        assert rss_date(items[0].findtext("pubDate") or "") == utc
        assert tuple(rss_entry.published_parsed)[:6] == utc.timetuple()[:6]
        assert atom_entries[0].findtext(f"{ATOM}published") == utc.isoformat()
        assert item["date_published"] == utc.isoformat()


def entry_of(articles: Articles, article: Article) -> FeedEntry:
    """The feed entry the publisher makes of ``article`` (title, excerpt, lead figure...)."""
    return feed_entry(article, articles.settings.base_url)


def rss_date(text: str) -> datetime:
    """Parse an RSS date strictly (four-digit year, UTC): email.utils guesses about years."""
    found = _RFC822.match(text)
    assert found, f"not an RFC 822 date with a four-digit year: {text!r}"
    weekday, day, month, year, hour, minute, second = found.groups()
    parsed = datetime(
        int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second),
        tzinfo=UTC,
    )  # fmt: skip
    assert f"{parsed:%a}" == weekday, f"{text!r}: wrong day of the week"
    return parsed


def _xml(body: bytes) -> Any:
    return etree.fromstring(body, _XML_PARSER)


def check_page(client: FlaskClient, article: Article, phrases: list[str]) -> None:
    """The permalink page answers 200, parses, shows the title and runs nothing."""
    response = client.get(permalink_path(article.slug), headers={"Accept": "text/html"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    parser = lxml.html.HTMLParser(encoding="utf-8", huge_tree=True)
    document = lxml.html.document_fromstring(response.data, parser=parser)
    assert_safe_element(document.body)
    for element in document.head:
        assert isinstance(element.tag, str)
        assert element.tag in ("meta", "link", "title", "script")
        if element.tag == "script":
            # The article's JSON-LD: a data block that no stored text can end.
            assert dict(element.attrib) == {"type": "application/ld+json"}
            assert not {"<", ">", "&"} & set(element.text)
            assert json.loads(element.text)["headline"] == article.title
        assert not {"http-equiv", "refresh"} & set(element.attrib), element.attrib
        assert not [name for name in element.attrib if name.lower().startswith("on")]
        href = element.get("href") or (
            element.get("content") if element.get("property") in ("og:image", "og:url") else None
        )
        assert href is None or url_scheme(href) in {None, *SAFE_SCHEMES}, href
    (heading,) = document.find_class("story-title")
    assert _newlines(heading.text_content()) == _newlines(article.title)
    # Every plain-text field shows as the characters stored (HTML reads CR LF as LF).
    shown = {
        "summary": [_newlines(e.text_content()) for e in document.find_class("standfirst")],
        "authors": [_newlines(e.text_content()) for e in document.find_class("p-author")],
        "categories": [_newlines(e.text_content()) for e in document.find_class("p-category")],
        "tags": [
            _newlines(e.text_content()) for e in document.xpath("//ul[@class='terms-list tags']/li")
        ],
    }
    assert shown == {
        "summary": [_newlines(article.excerpt)] if article.excerpt else [],
        "authors": [_newlines(a.name) for a in article.authors],
        "categories": [_newlines(name) for name in article.categories],
        "tags": [_newlines(name) for name in article.tags],
    }
    assert _newlines(document.findtext("head/title")).startswith(_newlines(article.title))
    lead = article.image
    if lead is not None and (lead.caption or lead.credit):
        (figcaption,) = document.xpath("//figure[@class='lead-image']/figcaption")
        credits = [_newlines(e.text_content()) for e in figcaption.find_class("credit")]
        assert credits == ([_newlines(lead.credit)] if lead.credit else [])
        space = " " if lead.caption and lead.credit else ""
        assert _newlines(figcaption.text or "") == _newlines(lead.caption or "") + space
    (body,) = document.find_class("story-body")
    text = " ".join(body.text_content().split())
    for phrase in phrases:
        assert phrase in text


def check_published(
    articles: Articles,
    feeds: StoredFeeds,
    renderer: FeedRenderer,
    client: FlaskClient,
    article: Article,
    now: datetime,
    phrases: list[str],
    scope_feeds: bool = True,
) -> None:
    """Render, then check every changed document, the site feeds' entry and the page."""
    report = renderer.render_due_feeds(now)
    assert report.failed == []
    validators = {
        "rss": assert_valid_rss,
        "atom": assert_valid_atom,
        "json": assert_valid_json_feed,
    }
    for key in report.changed:  # the article's category, tag, author and archive feeds
        scope_key, _, fmt = key.rpartition(":")
        if scope_feeds and scope_key != SITE_SCOPE.key:
            scope = FeedScope.from_key(scope_key)
            validators[fmt](feeds.feed_snapshot(scope, FeedFormat(fmt)).body)
    check_entry(validated(site_feeds(feeds)), entry_of(articles, article), phrases)
    check_page(client, article, phrases)


def expected_refusal(data: ArticleInput, max_body: int) -> tuple[bool, set[str]]:
    """(too large, the fields InvalidInput must name) for ``data``, from the documented rules:
    lengths count the characters sent (less lone surrogates), emptiness what is left after
    cleaning."""

    def length(text: str) -> int:
        return len(_LONE_SURROGATE.sub("", text))

    fields: set[str] = set()
    if not 1 <= length(data.title) <= 500 or not clean_text(data.title).strip():
        fields.add("title")
    if data.slug is not None and not is_valid_slug(data.slug):
        fields.add("slug")
    if not data.authors:
        fields.add("authors")
    for index, author in enumerate(data.authors):
        if not 1 <= length(author.name) <= 200 or not clean_text(author.name).strip():
            fields.add(f"authors.{index}.name")
        if author.email in _BAD_EMAILS:
            fields.add(f"authors.{index}.email")
        if author.url in _BAD_URLS:
            fields.add(f"authors.{index}.url")
    for kind, names in (("categories", data.categories), ("tags", data.tags)):
        for index, name in enumerate(names):
            if not 1 <= length(name) <= 100 or not clean_text(name).strip():
                fields.add(f"{kind}.{index}")
    if data.image is not None and data.image.url in _BAD_URLS:
        fields.add("image.url")
    elif data.image is not None and data.image.type is None:
        # No type sent: the URL's extension must name an image type (the generated URLs
        # end in .jpg, .png, .exe or nothing).
        path = data.image.url.split("?")[0].split("#")[0].lower()
        if not path.endswith((".jpg", ".jpeg", ".png", ".svg", ".gif", ".webp")):
            fields.add("image.type")
    language = data.language
    if language is not None and (
        not 2 <= length(language) <= 35 or not _LANGUAGE.match(language.strip())
    ):
        fields.add("language")
    if data.published_at is not None and data.published_at.tzinfo is None:
        fields.add("published_at")
    return len(data.body.encode("utf-8")) > max_body, fields


# -- cheap properties: the content pipeline --------------------------------------------------


@CHEAP
@given(text=st.one_of(hs.hostile_text(12), st.text()))
def test_clean_text_keeps_exactly_the_xml_characters(text: str) -> None:
    cleaned = clean_text(text)
    assert cleaned == "".join(c for c in text if _KEPT_CHAR.match(c))
    assert clean_text(cleaned) == cleaned
    element = etree.Element("p")
    element.text = cleaned  # lxml refuses XML-invalid text
    assert etree.fromstring(etree.tostring(element)).text == (cleaned or None)


@CHEAP
@given(data=st.data(), body_format=st.sampled_from(BodyFormat))
def test_render_body_is_safe_and_keeps_visible_words(
    data: st.DataObject, body_format: BodyFormat
) -> None:
    body, phrases = data.draw(hs.bodies(body_format.value, max_blocks=6))
    html = render_body(body, body_format, BASE_URL)
    text = safe_fragment_text(html)
    for phrase in phrases:
        assert phrase in text
    for image in extract_images(html):
        assert url_scheme(image.url) in ("http", "https")
    assert _XML_CHAR.match(html_to_text(html))


@CHEAP
@given(title=st.one_of(hs.titles(), st.text()), max_length=st.integers(1, 120))
def test_make_slug_is_always_a_valid_slug(title: str, max_length: int) -> None:
    slug = make_slug(title, max_length)
    assert is_valid_slug(slug)
    assert slug == "artigo" or len(slug) <= max_length
    assert make_slug(title, max_length) == slug


@CHEAP
@given(
    summary=st.one_of(st.just(""), hs.hostile_text(6, surrogates=False)),
    body=hs.bodies("markdown", surrogates=False, max_blocks=6),
    limit=st.integers(1, 400),
)
def test_make_excerpt_is_short_plain_and_xml_safe(
    summary: str, body: tuple[str, list[str]], limit: int
) -> None:
    html = render_body(body[0], BodyFormat.MARKDOWN, BASE_URL)
    summary = clean_text(summary)
    excerpt = make_excerpt(summary, html, limit)
    assert _XML_CHAR.match(excerpt)
    if summary.strip():
        assert excerpt == summary.strip()
        return
    text = html_to_text(html)
    assert len(excerpt) <= limit + 1
    assert excerpt == text or excerpt.endswith("\u2026")
    # Visible words are not torn apart or glued together by markup (a word-boundary check).
    for phrase in body[1]:
        if len(text) <= limit:
            assert phrase in excerpt


_INLINE = st.sampled_from(
    [
        ("**{a}**{b}", BodyFormat.MARKDOWN),
        ("*{a}*{b}", BodyFormat.MARKDOWN),  # "_" does not open emphasis inside a word
        ("`{a}`{b}", BodyFormat.MARKDOWN),
        ("[{a}](/x){b}", BodyFormat.MARKDOWN),
        ("<b>{a}</b>{b}", BodyFormat.HTML),
        ('<a href="/x" title="t">{a}</a>{b}', BodyFormat.HTML),
        ('<span class="c">{a}<sup>{b}</sup></span>', BodyFormat.HTML),
        ("<em>{a}<strong>{b}</strong></em>", BodyFormat.HTML),
    ]
)


@CHEAP
@given(
    word=st.sampled_from([w for w in hs.WORDS if len(w) > 1]),
    cut=st.integers(1, 99),
    inline=_INLINE,
)
def test_excerpt_keeps_a_word_whole_across_inline_markup(
    word: str, cut: int, inline: tuple[str, BodyFormat]
) -> None:
    template, body_format = inline
    cut = 1 + cut % (len(word) - 1)
    body = "Antes " + template.format(a=word[:cut], b=word[cut:]) + " depois."
    html = render_body(body, body_format, BASE_URL)
    assert make_excerpt("", html) == f"Antes {word} depois."


# -- cheap properties: the renderers, fed a FeedDocument directly ----------------------------


_TEXT = hs.hostile_text(6)
_CLEAN_OR_NONE = st.none() | hs.hostile_text(4).map(lambda s: clean_text(s).strip() or None)
_FEED_AUTHORS = st.lists(
    st.builds(
        Author,
        name=hs.terms().map(lambda s: clean_text(s).strip() or "a"),
        email=st.none() | hs.safe_emails,
        url=st.none() | hs.safe_urls.map(lambda u: BASE_URL + u if u[0] == "/" else u),
    ),
    max_size=3,
).map(tuple)
_FEED_TERMS = st.lists(hs.terms().map(lambda s: clean_text(s).strip()), max_size=2).map(
    lambda names: tuple(filter(None, names))
)
_FEED_IMAGES = st.none() | st.builds(
    Image,
    url=st.sampled_from(["https://cdn.example.org/a.jpg", f"{BASE_URL}/img/b.png"]),
    type=st.sampled_from([None, "image/jpeg", "image/svg+xml"]),
    length=st.none() | st.integers(0, 2**40),
    width=st.none() | st.integers(1, 100_000),
    height=st.none() | st.integers(1, 100_000),
    caption=_CLEAN_OR_NONE,
    credit=_CLEAN_OR_NONE,
)
_FEED_LANGUAGES = st.sampled_from(["pt-BR", "en", "ar", "he-IL", "zh-Hant-TW", "sr-Latn"])
_FORMATS = st.sampled_from(BodyFormat)


@st.composite
def feed_entries(draw: st.DrawFn, index: int) -> tuple[FeedEntry, list[str]]:
    """An entry as the pipeline would make it: every string cleaned, HTML sanitised, and any
    instant from year 1 to 9999 (the model's datetimes are aware; storage hands out UTC)."""
    body_format = draw(_FORMATS)
    body, phrases = draw(hs.bodies(body_format.value, max_blocks=4))
    content = render_body(body, body_format, BASE_URL)
    published = draw(hs.instants)
    updated = max(published, draw(hs.instants))
    entry = FeedEntry(
        id=f"tag:news.example.org,2026-11-02:article:{index}",
        url=f"{BASE_URL}/articles/a-{index}",
        title=clean_text(draw(hs.titles())).strip() or "t",
        summary=clean_text(draw(_TEXT)).strip(),
        content_html=content,
        authors=draw(_FEED_AUTHORS),
        categories=draw(_FEED_TERMS),
        tags=draw(_FEED_TERMS),
        language=draw(_FEED_LANGUAGES),
        image=draw(_FEED_IMAGES),
        published=published,
        updated=updated,
        media=extract_images(content),
    )
    return entry, phrases


_TTLS = st.none() | st.integers(1, 100_000)


@RENDER
@given(data=st.data(), count=st.integers(0, 2), archive=st.booleans())
def test_any_feed_document_renders_valid_in_every_format(
    data: st.DataObject, count: int, archive: bool
) -> None:
    drawn = [data.draw(feed_entries(index)) for index in range(count)]
    entries = tuple(entry for entry, _ in drawn)
    formats = {fmt: f"{BASE_URL}/feed.{fmt.value}" for fmt in FeedFormat}
    document = FeedDocument(
        id="tag:news.example.org,2026-11-02:feed:site",
        title=clean_text(data.draw(hs.titles())).strip() or "Gazeta",
        description=clean_text(data.draw(_TEXT)).strip(),
        site_url=f"{BASE_URL}/",
        home_url=f"{BASE_URL}/",
        language="pt-BR",
        updated=max((e.updated for e in entries), default=datetime(2026, 1, 1, tzinfo=UTC)),
        self_urls=formats,
        entries=entries,
        ttl_minutes=data.draw(_TTLS),
        hubs=("https://hub.example.org/",),
        archive=archive,
        history_links={"current": formats} if archive else {},
        stylesheet_url=f"{BASE_URL}/static/feed.xsl?a=1&b=<2>",
    )
    bodies = {fmt: render_feed(document, fmt) for fmt in FeedFormat}
    feeds = validated(bodies)
    assert bodies == {fmt: render_feed(document, fmt) for fmt in FeedFormat}  # deterministic
    # Assembled from entry fragments: the same bytes as feedgen's render of the whole.
    assert bodies[FeedFormat.RSS] == render_rss(document)
    assert bodies[FeedFormat.ATOM] == render_atom(document)
    assert bodies[FeedFormat.JSON] == render_json_feed(document)
    # Entries rendered in another document of the same context (another title, order,
    # channel) and joined here give the same bytes as rendering them here.
    other = replace(document, entries=entries[::-1], title="Outra", ttl_minutes=None)
    for fmt in FeedFormat:
        kept = dict(zip(other.entries, render_entries(other, fmt), strict=True))
        assert join(document, fmt, [kept[entry] for entry in entries]) == bodies[fmt]
    for entry, phrases in drawn:
        check_entry(feeds, entry, phrases)


# -- plain text reads back as sent, in every format and reader -------------------------------

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_MEDIA = "{http://search.yahoo.com/mrss/}"
_PLAIN = hs.plain_texts().map(lambda text: clean_text(text).strip() or "x")


def displayed(value: str, content_type: str) -> str:
    """What a reader shows for ``value`` of ``content_type``: text as is; HTML as its text,
    which for text that was sent as text must be free of any element."""
    if content_type not in _HTML_TYPES:
        return value
    assert "<" not in value, f"markup in what was sent as text: {value!r}"
    return html.unescape(value)


def media_descriptions(root: Any) -> list[str]:
    """Each ``media:description`` as its declared type says to read it (Media RSS: "plain",
    the default, or "html")."""
    found = []
    for element in root.iter(f"{_MEDIA}description"):
        declared = {"html": "text/html", "plain": "text/plain"}[element.get("type", "plain")]
        found.append(displayed(element.text or "", declared))
    return found


@RENDER
@given(data=st.data())
def test_plain_text_reads_back_exactly_in_every_format(data: st.DataObject) -> None:
    """Every plain-text field of a document, holding text that looks like markup or entity
    references, is read back as exactly that text: by feedparser from RSS and Atom (as text,
    or as HTML shown as its text, whichever type feedparser gives it), from the JSON Feed
    document as is, and from each media:description as its declared type says."""
    text = {name: data.draw(_PLAIN, label=name) for name in _PLAIN_FIELDS}
    images = {
        name: Image(
            url=f"https://cdn.example.org/{name}.jpg",
            type="image/jpeg",
            caption=text[f"{name}_caption"],
            credit=text[f"{name}_credit"],
        )
        for name in ("lead", "inline")
    }
    bylined = FeedEntry(
        id="tag:news.example.org,2026-11-02:article:1",
        url=f"{BASE_URL}/articles/a-1",
        title=text["title"],
        summary=text["summary"],
        content_html="<p>Corpo.</p>",
        authors=(Author(name=text["author"]), Author(name=text["second_author"])),
        categories=(text["category"],),
        tags=(text["tag"],),
        language="pt-BR",
        image=images["lead"],
        published=datetime(2026, 11, 2, 9, tzinfo=UTC),
        updated=datetime(2026, 11, 2, 10, tzinfo=UTC),
        media=(images["inline"],),
    )
    # No byline: the Atom feed names the publication (the document's title) as its author.
    unsigned = replace(bylined, id=bylined.id[:-1] + "2", authors=(), media=())
    formats = {fmt: f"{BASE_URL}/feed.{fmt.value}" for fmt in FeedFormat}
    document = FeedDocument(
        id="tag:news.example.org,2026-11-02:feed:site",
        title=text["feed_title"],
        description=text["feed_description"],
        site_url=f"{BASE_URL}/",
        home_url=f"{BASE_URL}/",
        language="pt-BR",
        updated=bylined.updated,
        self_urls=formats,
        entries=(bylined, unsigned),
        icon_url=f"{BASE_URL}/icon.png",
    )
    bodies = {fmt: render_feed(document, fmt) for fmt in FeedFormat}
    assert bodies[FeedFormat.RSS] == render_rss(document)
    assert bodies[FeedFormat.ATOM] == render_atom(document)
    feeds = validated(bodies)

    def read(detail: Any) -> str:
        return displayed(detail["value"], detail["type"])

    def sent(value: str) -> str:
        return as_feedparser_reads(value)

    # RSS: titles are read by feedparser's guess (text or HTML); every description is HTML.
    rss = feeds.rss
    assert read(rss.feed.title_detail) == sent(document.title)
    assert read(rss.feed.image.title_detail) == sent(document.title)
    assert displayed(rss.feed.subtitle, "text/html") == sent(document.description)
    rss_entry = _entry_by_id(rss.entries, bylined.id)
    assert read(rss_entry.title_detail) == sent(bylined.title)
    # feedparser labels the summary with the type of the last description-like element (a
    # media:description) but keeps the value of <description>: HTML, by RSS 2.0.
    assert displayed(rss_entry.summary, "text/html") == sent(bylined.summary)
    assert [a.name for a in rss_entry.authors] == [sent(a.name) for a in bylined.authors]
    assert [t.term for t in rss_entry.tags] == [sent(text["category"]), sent(text["tag"])]
    credits = [sent(text["lead_credit"]), sent(text["inline_credit"])]
    assert [c["content"] for c in rss_entry.media_credit] == credits

    # Atom: text constructs of type "text" (RFC 4287 section 3.1.1.1).
    atom = feeds.atom
    assert read(atom.feed.title_detail) == sent(document.title)
    assert read(atom.feed.subtitle_detail) == sent(document.description)
    assert [a.name for a in atom.feed.authors] == [sent(document.title)]
    atom_entry = _entry_by_id(atom.entries, bylined.id)
    assert read(atom_entry.title_detail) == sent(bylined.title)
    # The same feedparser label is wrong here too; the element says type="text".
    assert atom_entry.summary == sent(bylined.summary)
    summaries = [e.get("type") for e in feeds.atom_root.iter(f"{ATOM}summary")]
    assert summaries == ["text", "text"]
    assert [a.name for a in atom_entry.authors] == [sent(a.name) for a in bylined.authors]
    terms = [sent(text["category"]), sent(text["tag"])]
    assert [(t.term, t.label) for t in atom_entry.tags] == list(zip(terms, terms, strict=True))
    assert [c["content"] for c in atom_entry.media_credit] == credits

    for root in (feeds.rss_root, feeds.atom_root):
        captions = [text["lead_caption"], text["inline_caption"], text["lead_caption"]]
        assert media_descriptions(root) == captions

    # JSON Feed: title, summary, author names and tags are plain strings by the spec.
    feed = feeds.json
    assert (feed["title"], feed["description"]) == (document.title, document.description)
    item = _entry_by_id(feed["items"], bylined.id)
    assert (item["title"], item["summary"]) == (bylined.title, bylined.summary)
    assert [a["name"] for a in item["authors"]] == [a.name for a in bylined.authors]
    assert item["tags"] == list(dict.fromkeys((text["category"], text["tag"])))


_PLAIN_FIELDS = (
    "feed_title", "feed_description", "title", "summary", "author", "second_author",
    "category", "tag", "lead_caption", "lead_credit", "inline_caption", "inline_credit",
)  # fmt: skip


# -- database round trips: the domain path ---------------------------------------------------


# URLs and e-mail addresses the API refuses, which the domain path must refuse too.
_BAD_URLS = (*hs.HOSTILE_URLS, "https://cdn.example.org/a b.jpg", "https://x.org/a\u2028.png")
_BAD_EMAILS = ("not-an-address", "a@b", "@example.org", "ana @example.org", "ana@exa\u3000mple.org")
_DOMAIN_URLS = hs.weighted((8, hs.safe_urls), (1, st.sampled_from(_BAD_URLS)))
_DOMAIN_AUTHORS = st.lists(
    st.builds(
        Author,
        name=hs.terms(),
        email=st.none() | hs.weighted((8, hs.safe_emails), (1, st.sampled_from(_BAD_EMAILS))),
        url=st.none() | _DOMAIN_URLS,
    ),
    min_size=1,
    max_size=2,
).map(tuple)
_DOMAIN_AUTHORS = hs.weighted((9, _DOMAIN_AUTHORS), (1, st.just(())))
_DOMAIN_IMAGES = st.none() | st.builds(
    Image,
    url=_DOMAIN_URLS,
    type=st.sampled_from([None, "image/jpeg", "image/png"]),
    length=st.none() | st.integers(0, 10**9),
    width=st.none() | st.integers(1, 5000),
    height=st.none() | st.integers(1, 5000),
    caption=st.none() | hs.hostile_text(6),
    credit=st.none() | hs.hostile_text(4),
)
_DOMAIN_TERMS = st.lists(hs.terms(), max_size=2).map(tuple)
_DOMAIN_LANGUAGES = st.sampled_from(
    [None] * 12 + ["en", "pt-BR", " en-GB ", "zh-Hant-TW", "sr-Latn", "ar", "he-IL"] * 2
    + ["x", "en_US", "e\u0301n", "en\x00", "\u202een", "pt-BR\n", "english-language", ""]
)  # fmt: skip
_SUMMARIES = st.just("") | hs.hostile_text(8)
_SLUG_KINDS = st.sampled_from([None] * 9 + ["serial"] * 9 + ["Not A Slug", "a--b", "", "x" * 121])


@st.composite
def article_inputs(draw: st.DrawFn, slug_number: int) -> tuple[ArticleInput, list[str]]:
    """Hostile input for Articles.create_article, and the phrases that must survive."""
    body_format = draw(_FORMATS)
    body, phrases = draw(hs.bodies(body_format.value, surrogates=False))
    slug = draw(_SLUG_KINDS)
    data = ArticleInput(
        title=draw(hs.titles()),
        body=body,
        authors=draw(_DOMAIN_AUTHORS),
        body_format=body_format,
        slug=f"p-{slug_number}" if slug == "serial" else slug,
        summary=draw(_SUMMARIES),
        categories=draw(_DOMAIN_TERMS),
        tags=draw(_DOMAIN_TERMS),
        language=draw(_DOMAIN_LANGUAGES),
        image=draw(_DOMAIN_IMAGES),
    )
    return data, phrases


@ROUND_TRIP
@given(data=st.data())
def test_domain_articles_are_refused_clearly_or_published_intact(
    data: st.DataObject,
    articles: Articles,
    feeds: StoredFeeds,
    renderer: FeedRenderer,
    client: FlaskClient,
    clock: FakeClock,
    serial: Iterator[int],
) -> None:
    now = clock.advance(seconds=1)
    article_input, phrases = data.draw(article_inputs(next(serial)))
    article_input = replace(article_input, published_at=now)
    too_large, bad_fields = expected_refusal(article_input, articles.settings.api_max_body_bytes)
    try:
        article = articles.create_article(article_input, now)
    except PayloadTooLarge:
        event("refused: PayloadTooLarge")
        assert too_large
        return
    except InvalidInput as error:
        event("refused: InvalidInput")
        assert not too_large
        assert {e.field for e in error.errors} == bad_fields
        return
    event("stored and published")
    assert not too_large and not bad_fields
    assert article.title == clean_text(article_input.title).strip()
    assert [a.name for a in article.authors] == [
        clean_text(a.name).strip() for a in article_input.authors
    ]
    assert article.body == clean_text(article_input.body)
    if article.image is not None:  # every lead image can be an enclosure
        assert article.image.type is not None and article.image.length is not None
    check_published(articles, feeds, renderer, client, article, now, phrases)
    articles.delete_article(article.id, None, now)


# -- database round trips: the JSON API -------------------------------------------------------


def benign_payload(slug: str) -> dict[str, Any]:
    return {
        "title": "Creches abertas",
        "slug": slug,
        "body": "Texto **curto**.",
        "authors": [{"name": "Júlia Ramos", "email": "julia@example.org"}],
    }


_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.lists(st.none())
)
# Lone surrogates are escaped by json.dumps and removed by the API, like every character
# XML 1.0 forbids. Hostile text used as a URL never starts with "/", so the API must refuse it.
_API_TEXT = hs.hostile_text(10)
_API_URLS = hs.weighted(
    (4, hs.safe_urls),
    (2, st.sampled_from(_BAD_URLS)),
    (1, _API_TEXT.map(lambda text: "x" + text)),
)
_API_AUTHOR = st.fixed_dictionaries(
    {"name": hs.terms()},
    optional={
        "email": hs.weighted((4, hs.safe_emails), (1, st.none()), (1, _API_TEXT)),
        "url": hs.weighted((4, _API_URLS), (1, st.none())),
    },
)
_API_AUTHORS = hs.weighted(
    (8, st.lists(_API_AUTHOR, min_size=1, max_size=2)),
    (1, st.sampled_from([[], [{}], [{"name": "A", "evil": 1}]])),
    (1, _JSON_SCALARS),
)
_API_BODY_FORMATS = st.sampled_from(["markdown", "html"])
HOSTILE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "title": hs.weighted((8, hs.titles()), (1, _JSON_SCALARS)),
    "slug": hs.weighted(
        (3, _API_TEXT), (1, st.sampled_from(["UPPER", "a--b", "-a", "x" * 121, "artigo"]))
    ),
    "summary": hs.weighted(
        (8, _API_TEXT), (1, hs.long_words), (1, st.sampled_from(["s" * 5001, None, 7]))
    ),
    "body_format": st.sampled_from(["markdown", "html"] * 3 + ["HTML", "rtf", "", 1, None]),
    "authors": _API_AUTHORS,
    "categories": hs.weighted((8, st.lists(hs.terms(), max_size=2)), (1, st.just(["c"] * 21))),
    "tags": hs.weighted((8, st.lists(hs.terms(), max_size=2)), (1, st.just(["t"] * 51))),
    "language": hs.weighted(
        (6, st.sampled_from(["en", "pt-BR", "zh-Hant-TW", " en ", "ar"])),
        (1, st.sampled_from(["x", "en_US", "e" * 36, "", "en-\u0661"])),
        (1, _API_TEXT),
    ),
    "image": hs.weighted(
        (
            8,
            st.fixed_dictionaries(
                {"url": _API_URLS},
                optional={
                    "type": st.sampled_from(["image/png", "image/svg+xml", "text/html", "x"]),
                    "length": st.integers(-1, 2**64),
                    "width": st.integers(-1, 100_001),
                    "height": st.integers(-1, 100_001),
                    "caption": st.none() | _API_TEXT,
                    "credit": st.none() | _API_TEXT,
                },
            ),
        ),
        (1, _JSON_SCALARS),
    ),
    "published_at": st.sampled_from(["1970-01-01T00:00:00Z", "2026-11-02T12:00:00", "now"]),
    "evil": st.just("<script>"),
}


API_FIELDS = (
    "title", "slug", "summary", "body", "body_format", "authors", "categories", "tags",
    "language", "image", "published_at", "evil",
)  # fmt: skip


@ROUND_TRIP
@given(data=st.data(), fields=st.sets(st.sampled_from(API_FIELDS), min_size=1, max_size=3))
def test_api_articles_are_refused_with_the_field_named_or_published_intact(
    data: st.DataObject,
    fields: set[str],
    articles: Articles,
    feeds: StoredFeeds,
    renderer: FeedRenderer,
    client: FlaskClient,
    auth: dict[str, str],
    clock: FakeClock,
    serial: Iterator[int],
) -> None:
    now = clock.advance(seconds=1)
    payload = benign_payload(f"api-{next(serial)}")
    payload["published_at"] = now.isoformat()
    phrases: list[str] = []
    for field in sorted(fields):
        if field == "body":
            payload["body_format"] = data.draw(_API_BODY_FORMATS)
            payload["body"], phrases = data.draw(
                hs.bodies(payload["body_format"], surrogates=False), label="body"
            )
        else:
            payload[field] = data.draw(HOSTILE_VALUES[field], label=field)
    if "body_format" in fields:
        phrases = []  # the visible words were promised for the format they were written in
    response = client.post(
        ARTICLES, data=json.dumps(payload), content_type="application/json", headers=auth
    )
    assert response.status_code in (201, 409, 413, 422), response.get_data(as_text=True)[:500]
    event(f"API answered {response.status_code}")
    if response.status_code != 201:
        assert response.content_type == PROBLEM
        problem = response.get_json()
        assert problem["status"] == response.status_code
        assert isinstance(problem["detail"], str) and problem["detail"]
        if response.status_code == 413:
            assert "body" in fields
            return
        if response.status_code == 409:  # SlugTaken: a hostile slug that is a valid slug
            assert "slug" in fields and problem["code"] == "slug-taken"
            return
        named = {error["field"].split(".")[0] for error in problem["errors"]}
        assert named and named <= fields, (named, fields, problem)
        return
    represented = response.get_json()
    assert represented["title"] == clean_text(payload["title"]).strip()
    article = articles.get_article(represented["id"])
    published = article.published_at
    if published is not None and published <= now:
        check_published(articles, feeds, renderer, client, article, now, phrases)
    articles.delete_article(article.id, None, now)


# -- database round trips: dates ---------------------------------------------------------------


_DATE_LITERALS = (
    "2016-12-31T23:59:60Z",  # leap seconds: Python has no 60th second, so 422
    "1998-12-31T23:59:60-03:00",
    "2026-02-29T00:00:00Z",
    "2024-02-29T12:00:00+05:45",
    "2026-11-02T12:00:00+24:00",
    "2026-11-02T12:00:00.123456789Z",
    "2026-11-02T12:00Z",
    "20261102T120000Z",
    "1000-01-01T00:00:00Z",
    "9999-11-30T23:59:59Z",
    "",
    "now",
)
_DATE_SPELLINGS = st.sampled_from(
    ["iso", "iso", "Z", "lower", "-00:00", "leap", "naive", "literal", "literal"]
)
_TIMESPECS = st.sampled_from(["seconds", "microseconds"])


@st.composite
def api_dates(draw: st.DrawFn, now: datetime) -> str:
    """A published_at as a client may send it: offsets, fractions, leap seconds, junk."""
    moment = draw(published_dates(now))
    spelled = moment.isoformat(timespec=draw(_TIMESPECS))
    spelling = draw(_DATE_SPELLINGS)
    if spelling == "Z":
        return spelled.replace("+00:00", "Z")
    if spelling == "lower":
        return spelled.replace("T", "t").replace("+00:00", "z")
    if spelling == "-00:00":
        return spelled[:-6] + "-00:00"
    if spelling == "leap":
        return spelled[:17] + "60" + spelled[19:]
    if spelling == "naive":
        return spelled[:-6]
    if spelling == "literal":
        return draw(st.sampled_from(_DATE_LITERALS))
    return spelled


@ROUND_TRIP
@given(data=st.data(), via_api=st.booleans())
def test_any_date_is_refused_or_scheduled_or_published_with_exact_feed_dates(
    data: st.DataObject,
    via_api: bool,
    articles: Articles,
    feeds: StoredFeeds,
    renderer: FeedRenderer,
    client: FlaskClient,
    auth: dict[str, str],
    clock: FakeClock,
    serial: Iterator[int],
) -> None:
    now = clock.advance(seconds=1)
    slug = f"d-{next(serial)}"
    if via_api:
        payload = benign_payload(slug) | {"published_at": data.draw(api_dates(now), label="date")}
        response = client.post(ARTICLES, json=payload, headers=auth)
        event(f"API answered {response.status_code}")
        if response.status_code == 422:
            assert response.content_type == PROBLEM
            assert [e["field"] for e in response.get_json()["errors"]] == ["published_at"]
            return
        assert response.status_code == 201, response.get_data(as_text=True)[:500]
        article = articles.get_article(response.get_json()["id"])
    else:
        published_at = data.draw(published_dates(now), label="date")
        article = articles.create_article(
            ArticleInput(
                title="Datas", body="Texto **curto**.", authors=(Author("A"),), slug=slug,
                published_at=published_at,
            ),
            now,
        )  # fmt: skip
        assert article.published_at == published_at
    check_dated_article(articles, feeds, renderer, client, article, now)


def check_dated_article(
    articles: Articles,
    feeds: StoredFeeds,
    renderer: FeedRenderer,
    client: FlaskClient,
    article: Article,
    now: datetime,
) -> None:
    """Scheduled: in no feed, no page. Published: in the feeds with exact dates, and a page."""
    assert article.published_at is not None
    report = renderer.render_due_feeds(now)
    assert report.failed == []
    documents = validated(site_feeds(feeds))
    if article.published_at > now:
        note_event("scheduled")
        assert article.id not in {item["id"] for item in documents.json["items"]}
        assert client.get(permalink_path(article.slug)).status_code == 404
    else:
        note_event("published")
        check_entry(documents, entry_of(articles, article), ["Texto curto."])
        check_page(client, article, ["Texto curto."])
    articles.delete_article(article.id, None, now)


def note_event(name: str) -> None:
    """Count an outcome in hypothesis' statistics (when running under hypothesis)."""
    if currently_in_test_context():
        event(name)


def _edge(value: str) -> Any:
    return pytest.param(value, id=value)


@pytest.mark.parametrize(
    "published_at",
    [
        _edge("0001-01-01T00:00:00Z"),  # no wall time west of UTC (the page's zone): 422
        _edge("0001-01-01T23:59:00-23:59"),
        _edge("0001-01-01T00:00:00+23:59"),  # before year 1 in UTC: 422
        _edge("1969-12-31T23:59:59.999999Z"),  # before the Unix epoch: 422
        _edge("1970-01-01T00:00:00Z"),
        _edge("1970-01-01T00:00:00+00:01"),  # 1969-12-31T23:59Z: 422
        _edge("1969-12-31T23:59:59.999999-00:01"),  # 1970-01-01T00:00:59.999999Z
        _edge("9999-11-30T23:59:59Z"),
        _edge("9999-12-01T00:00:00+23:59"),
        _edge("9999-12-31T23:59:59Z"),
        _edge("9999-12-31T23:59:59-23:59"),  # after year 9999 in UTC: 422
        _edge("2016-12-31T23:59:60Z"),  # a real leap second; Python has no :60, so 422
    ],
)
def test_edge_dates_through_the_api_work_end_to_end_or_are_refused(
    articles: Articles,
    feeds: StoredFeeds,
    renderer: FeedRenderer,
    client: FlaskClient,
    auth: dict[str, str],
    clock: FakeClock,
    published_at: str,
) -> None:
    payload = benign_payload("edge") | {"published_at": published_at}
    response = client.post(ARTICLES, json=payload, headers=auth)
    if response.status_code == 422:
        assert response.content_type == PROBLEM
        assert [e["field"] for e in response.get_json()["errors"]] == ["published_at"]
        return
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    article = articles.get_article(response.get_json()["id"])
    check_dated_article(articles, feeds, renderer, client, article, clock())


# -- megabyte bodies (a few examples) ----------------------------------------------------------


# Kept to what CI can afford: feedparser needs 10-40 s per document to read 1 MB of "&",
# "<b><i>" or "]]>" content, and the pipeline itself 15 s to 3 minutes on some 1 MB bodies
# (see the report: markdown-it-py on "[ " * 500_000, nh3 on "& " * 500_000).
@settings(_BASE, phases=[Phase.explicit])
@example(piece="\U0001f469\u200d\U0001f467 ", body_format=BodyFormat.MARKDOWN, over=False)
@example(piece="<script>alert(1)</script>\U0001f600 ", body_format=BodyFormat.HTML, over=False)
@example(piece="<iframe><b>\u202e", body_format=BodyFormat.HTML, over=False)
@example(piece="a ", body_format=BodyFormat.MARKDOWN, over=True)  # one byte over: 413
@given(piece=st.just("a "), body_format=st.sampled_from(BodyFormat), over=st.booleans())
def test_megabyte_bodies_are_published_or_refused_with_413(
    piece: str,
    body_format: BodyFormat,
    over: bool,
    articles: Articles,
    feeds: StoredFeeds,
    renderer: FeedRenderer,
    client: FlaskClient,
    auth: dict[str, str],
    clock: FakeClock,
    serial: Iterator[int],
) -> None:
    now = clock.advance(seconds=1)
    size = len(piece.encode())
    limit = articles.settings.api_max_body_bytes  # 1 MiB by default
    body = "Começo visível\n\n" + piece * ((limit - 40) // size)
    body += "x" * (limit - len(body.encode()) + (1 if over else 0))
    payload = benign_payload(f"mb-{next(serial)}") | {
        "body": body,
        "body_format": body_format.value,
        "published_at": now.isoformat(),
    }
    response = client.post(ARTICLES, json=payload, headers=auth)
    if over:
        assert response.status_code == 413
        assert response.content_type == PROBLEM
        return
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    article = articles.get_article(response.get_json()["id"])
    check_published(
        articles, feeds, renderer, client, article, now, ["Começo visível"], scope_feeds=False
    )
    articles.delete_article(article.id, None, now)


# -- every way in refuses what the API refuses ----------------------------------------------


def _create(articles: Articles, clock: FakeClock, **fields: Any) -> Article:
    values: dict[str, Any] = {"title": "T", "body": "B", "authors": (Author("A"),)}
    return articles.create_article(ArticleInput(**(values | fields)), clock())


@pytest.mark.parametrize(
    "published_at",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=23, minutes=59))),
        datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=23, minutes=59))),
    ],
    ids=["year-1+23:59", "year-9999-23:59"],
)
def test_the_domain_path_refuses_instants_no_time_zone_can_show(
    articles: Articles, clock: FakeClock, published_at: datetime
) -> None:
    with pytest.raises(InvalidInput) as refused:
        _create(articles, clock, published_at=published_at)
    assert [e.field for e in refused.value.errors] == ["published_at"]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>x</script>"])
def test_the_domain_path_refuses_hostile_image_urls(
    articles: Articles, feeds: StoredFeeds, renderer: FeedRenderer, clock: FakeClock, url: str
) -> None:
    try:
        article = _create(articles, clock, image=Image(url, "image/png"), published_at=clock())
    except InvalidInput as error:
        assert [e.field for e in error.errors] == ["image.url"]
        return
    renderer.render_due_feeds(clock())
    item = json.loads(site_feeds(feeds)[FeedFormat.JSON])["items"][0]
    assert item["id"] == article.id
    safe_fragment_text(item["content_html"])  # no <img src="javascript:..."> either


@pytest.mark.parametrize(
    "fields",
    [
        {"authors": (Author("A", email="not-an-address"),)},  # Atom: email needs .+@.+
        {"image": Image("https://cdn.example.org/a b.jpg", "image/jpeg")},  # JSON Feed: no space
    ],
    ids=["email", "url-with-space"],
)
def test_domain_input_cannot_make_an_invalid_feed(
    articles: Articles,
    feeds: StoredFeeds,
    renderer: FeedRenderer,
    clock: FakeClock,
    fields: dict[str, Any],
) -> None:
    try:
        _create(articles, clock, published_at=clock(), **fields)
    except InvalidInput:
        return
    assert renderer.render_due_feeds(clock()).failed == []
    validated(site_feeds(feeds))


def test_a_lone_surrogate_in_the_json_is_cleaned_or_refused_naming_its_field(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    payload = benign_payload("surrogate") | {"title": "Oi \ud800 mundo"}
    response = client.post(
        ARTICLES, data=json.dumps(payload), content_type="application/json", headers=auth
    )
    if response.status_code == 201:
        assert response.get_json()["title"] == "Oi  mundo"
        return
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["title"]


@pytest.mark.parametrize("url", ["https://cdn.example.org/a b.jpg", "https://x.org/a\u2028.png"])
def test_api_image_urls_cannot_make_an_invalid_json_feed(
    feeds: StoredFeeds,
    renderer: FeedRenderer,
    client: FlaskClient,
    auth: dict[str, str],
    clock: FakeClock,
    url: str,
) -> None:
    payload = benign_payload("ws") | {"image": {"url": url}, "published_at": clock().isoformat()}
    response = client.post(ARTICLES, json=payload, headers=auth)
    if response.status_code == 422:
        assert [e["field"] for e in response.get_json()["errors"]] == ["image.url"]
        return
    renderer.render_due_feeds(clock())
    validated(site_feeds(feeds))


def test_a_lone_surrogate_in_the_body_is_cleaned(articles: Articles, clock: FakeClock) -> None:
    article = _create(articles, clock, body="a\ud800b")
    assert article.body == "ab"
