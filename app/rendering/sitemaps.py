"""Sitemaps (the sitemaps.org protocol 0.9, with Google's image and news extensions) and
robots.txt (RFC 9309), as bytes.

Contract: every function here is pure and deterministic (the same values give the same
bytes, whatever the order of namespaces or the time of the render); what to list and in
which order is the caller's (:mod:`app.sitemaps`). A sitemap over the protocol's limits
(50,000 URLs, 50 MB uncompressed) raises instead of being written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from app.rendering.values import rfc3339_date

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
IMAGE_NS = "http://www.google.com/schemas/sitemap-image/1.1"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
SITEMAP_MEDIA_TYPE = "application/xml; charset=utf-8"
ROBOTS_MEDIA_TYPE = "text/plain; charset=utf-8"
#: The protocol's limits of one sitemap (and of one index): URLs, and bytes uncompressed.
MAX_URLS = 50_000
MAX_BYTES = 50 * 1024 * 1024
#: What robots.txt asks of every crawler before the site's own rules: the API is for
#: programs that hold a token, and its pages are no news.
ROBOTS_GROUP = ("User-agent: *", "Disallow: /api/")


@dataclass(frozen=True)
class NewsArticle:
    """What Google News needs of an article (``news:news``): its title and when it was
    published, under the publication's name and language."""

    publication: str
    language: str
    title: str
    published: datetime


@dataclass(frozen=True)
class PageUrl:
    """One page of a sitemap: its absolute URL, when its content last changed, its lead
    image (``image:image``) and, in a news sitemap, its article."""

    loc: str
    lastmod: datetime | None = None
    image: str | None = None
    news: NewsArticle | None = None


@dataclass(frozen=True)
class ChildSitemap:
    """One sitemap of an index: its absolute URL and when its bytes last changed."""

    loc: str
    lastmod: datetime


def render_urlset(urls: Sequence[PageUrl]) -> bytes:
    """A sitemap (``urlset``) of ``urls``, in the order given. The image and news
    namespaces are declared only when used.

    Raises:
        ValueError: no URL (the protocol needs one), or over :data:`MAX_URLS` or
            :data:`MAX_BYTES`.
    """
    namespaces: dict[str | None, str] = {None: SITEMAP_NS}
    if any(url.image for url in urls):
        namespaces["image"] = IMAGE_NS
    if any(url.news for url in urls):
        namespaces["news"] = NEWS_NS
    root = etree.Element(f"{{{SITEMAP_NS}}}urlset", nsmap=namespaces)
    for url in urls:
        element = etree.SubElement(root, f"{{{SITEMAP_NS}}}url")
        _text(element, SITEMAP_NS, "loc", url.loc)
        if url.lastmod is not None:
            _text(element, SITEMAP_NS, "lastmod", rfc3339_date(url.lastmod))
        if url.image:
            image = etree.SubElement(element, f"{{{IMAGE_NS}}}image")
            _text(image, IMAGE_NS, "loc", url.image)
        if url.news is not None:
            _news(element, url.news)
    return _document(root, len(urls))


def render_index(sitemaps: Sequence[ChildSitemap]) -> bytes:
    """A sitemap index (``sitemapindex``) of ``sitemaps``, in the order given.

    Raises:
        ValueError: no sitemap, or over the limits.
    """
    root = etree.Element(f"{{{SITEMAP_NS}}}sitemapindex", nsmap={None: SITEMAP_NS})
    for sitemap in sitemaps:
        element = etree.SubElement(root, f"{{{SITEMAP_NS}}}sitemap")
        _text(element, SITEMAP_NS, "loc", sitemap.loc)
        _text(element, SITEMAP_NS, "lastmod", rfc3339_date(sitemap.lastmod))
    return _document(root, len(sitemaps))


def render_robots(sitemaps: Sequence[str], extra: str) -> bytes:
    """robots.txt: :data:`ROBOTS_GROUP`, the site's own lines (``extra``, one rule a line:
    a crawler reads lines before any ``User-agent`` of their own as rules of that group,
    RFC 9309 section 2.2), and a ``Sitemap`` line for each absolute URL of ``sitemaps``.
    Blank lines are the renderer's own: one before each other group, and the sitemaps."""
    lines = list(ROBOTS_GROUP)
    for rule in (line.strip() for line in extra.splitlines()):
        if _is_user_agent(rule) and not _is_user_agent(lines[-1]):
            lines.append("")  # a blank line before each group, for people
        if rule:
            lines.append(rule)
    lines += ["", *(f"Sitemap: {url}" for url in sitemaps)]
    return ("\n".join(lines) + "\n").encode()


def _is_user_agent(line: str) -> bool:
    return line.lower().startswith("user-agent")


def news_language(language_tag: str) -> str:
    """The language of a publication as Google News names it: the ISO 639 code of a BCP 47
    tag (``pt`` for ``pt-BR``), except Chinese, which is ``zh-cn`` (simplified) or ``zh-tw``
    (traditional: Taiwan, Hong Kong, Macau, or the ``Hant`` script)."""
    subtags = language_tag.lower().split("-")
    if subtags[0] != "zh":
        return subtags[0]
    traditional = {"hant", "tw", "hk", "mo"} & set(subtags[1:])
    return "zh-tw" if traditional else "zh-cn"


def _news(parent: etree._Element, article: NewsArticle) -> None:
    news = etree.SubElement(parent, f"{{{NEWS_NS}}}news")
    publication = etree.SubElement(news, f"{{{NEWS_NS}}}publication")
    _text(publication, NEWS_NS, "name", article.publication)
    _text(publication, NEWS_NS, "language", article.language)
    _text(news, NEWS_NS, "publication_date", rfc3339_date(article.published))
    _text(news, NEWS_NS, "title", article.title)


def _text(parent: etree._Element, namespace: str, name: str, text: str) -> None:
    etree.SubElement(parent, f"{{{namespace}}}{name}").text = text


def _document(root: etree._Element, count: int) -> bytes:
    if not 1 <= count <= MAX_URLS:
        raise ValueError(f"a sitemap holds 1 to {MAX_URLS} URLs, not {count}")
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    if len(body) > MAX_BYTES:
        raise ValueError(f"a sitemap holds at most {MAX_BYTES} bytes, not {len(body)}")
    return body
