"""The content pipeline: Markdown or HTML in, safe HTML with absolute URLs out.

Every string that reaches storage passes through :func:`clean_text` (no XML-invalid
characters, so no article can ever break a feed) and every body through
:func:`render_body` (sanitised by nh3, relative URLs made absolute).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from typing import Final

import lxml.html
import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from slugify import slugify

from app.domain import BodyFormat
from app.domain import Image

# XML 1.0 section 2.2: Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
# [#x10000-#x10FFFF]. Everything else (C0 controls, lone surrogates, U+FFFE/U+FFFF) is
# removed; lxml refuses to serialise them and feedgen dies on them (ckan/ckan#6371).
# DEL and the C1 controls (U+007F-U+009F) go too: XML 1.0 discourages them, HTML calls them
# a parse error, and feed readers (feedparser among them) turn U+0080-U+009F into the
# windows-1252 punctuation of those bytes, so a title would not read as it was stored.
_XML_INVALID = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl", "dt",
    "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "hreflang", "title"},
    "abbr": {"title"},
    "blockquote": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "figure": {"class"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "q": {"cite"},
    "span": {"class"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
}
_URL_SCHEMES = {"http", "https", "mailto"}
# nh3 (ammonia) checks the scheme of, and makes absolute, only href and src: every other
# URL attribute allowed above goes through _check_url_attribute.
_OTHER_URL_ATTRIBUTES = {"cite"}
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_C0_OR_SPACE = "".join(map(chr, range(0x21)))
_TAB_OR_NEWLINE = re.compile("[\t\n\r]")
_TAG = re.compile(r"<[^>]*>")
# Tags that end a line or a block part words; inline tags (<b>, <a>, <span>...) do not:
# "<strong>Im</strong>portante" reads "Importante", not "Im portante".
_BREAK_TAG = re.compile(
    r"</?(?:p|br|hr|h[1-6]|li|dd|dt|ul|ol|dl|div|blockquote|pre|figure|figcaption|table"
    r"|caption|thead|tbody|tfoot|tr|td|th|img)\b[^>]*>",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")
# Always text-unidecode (a dependency of python-slugify): slugify would otherwise try to
# import unidecode on every call, and installing it would change every slug made after.
_SLUG_BACKEND: Final = "text-unidecode"
_DECIMAL = re.compile(r"(\d)[.,](\d)")


def clean_text(text: str) -> str:
    """Remove characters XML 1.0 forbids (and lone surrogates) or discourages (DEL, C1 controls).

    Everything else is kept.
    """
    return _XML_INVALID.sub("", text)


@lru_cache(maxsize=16)
def _cleaner(base_url: str) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        url_relative=("rewrite_with_base", base_url.rstrip("/") + "/"),
        link_rel="noopener noreferrer",
        attribute_filter=lambda _, name, value: _check_url_attribute(name, value, base_url),
    )


def _check_url_attribute(name: str, value: str, base_url: str) -> str | None:
    """A URL attribute nh3 leaves alone, made absolute, or dropped if its scheme is not allowed.

    The scheme is read as browsers read it (WHATWG URL): C0 controls and spaces around the
    value are ignored and tabs and newlines inside it removed ("jav&#9;ascript:" is caught).
    """
    if name not in _OTHER_URL_ATTRIBUTES:
        return value
    url = _TAB_OR_NEWLINE.sub("", value.strip(_C0_OR_SPACE))
    scheme = _SCHEME.match(url)
    if scheme is None:
        return absolute_url(url, base_url)
    return url if scheme.group(1).lower() in _URL_SCHEMES else None


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # "js-default" keeps raw HTML off (markdown-it-py's own default lets it through).
    parser = MarkdownIt("js-default", {"typographer": False}).enable("table")
    parser.core.ruler.push("figures", _figures)
    return parser


def _figures(state: StateCore) -> None:
    """Turn a paragraph holding only a titled image into a figure with a caption.

    ``![alt](url "Caption | Credit")`` becomes ``<figure><img ...><figcaption>Caption
    <span class="credit">Credit</span></figcaption></figure>``, so image credits survive
    into pages and feeds the way newsrooms write them.
    """
    tokens = state.tokens
    for index in range(len(tokens) - 2):
        opening, inline, closing = tokens[index : index + 3]
        if opening.type != "paragraph_open" or inline.type != "inline":
            continue
        children = inline.children or []
        if len(children) != 1 or children[0].type != "image":
            continue
        image = children[0]
        title = str(image.attrs.pop("title", "") or "")
        if not title:
            continue
        caption, _, credit = (part.strip() for part in title.partition("|"))
        opening.type, opening.tag, opening.nesting = "html_block", "", 0
        opening.content = "<figure>"
        closing.type, closing.tag, closing.nesting = "html_block", "", 0
        closing.content = _figcaption(caption or None, credit or None) + "</figure>\n"


def render_body(body: str, body_format: BodyFormat, base_url: str) -> str:
    """Turn a body into sanitised HTML whose every URL is absolute against ``base_url``."""
    source = clean_text(body)
    raw = _markdown().render(source) if body_format is BodyFormat.MARKDOWN else source
    return clean_text(_cleaner(base_url).clean(raw)).strip()


def absolute_url(url: str, base_url: str) -> str:
    """Resolve a possibly relative URL against the public base URL."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
        return url
    return base_url.rstrip("/") + "/" + url.lstrip("/")


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, whitespace folded."""
    text = _TAG.sub("", _BREAK_TAG.sub(" ", fragment))
    return _SPACE.sub(" ", html.unescape(text)).strip()


def make_excerpt(summary: str, body_html: str, limit: int = 280) -> str:
    """The summary if there is one, else the start of the body cut at a word boundary."""
    if summary.strip():
        return summary.strip()
    text = html_to_text(body_html)
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.-\u2013\u2014")
    return cut + "…"


def make_slug(title: str, max_length: int = 80) -> str:
    """A URL slug from a title, accents transliterated: "Ação é já" -> "acao-e-ja".

    A decimal separator becomes a hyphen, so "R$ 1,6 bilhão" reads "r-1-6-bilhao", not "16".
    """
    title = _DECIMAL.sub(r"\1-\2", title)
    return (
        slugify(title, max_length=max_length, word_boundary=True, backend=_SLUG_BACKEND) or "artigo"
    )


SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def is_valid_slug(slug: str) -> bool:
    """Whether a slug is lowercase ASCII words joined by single hyphens, at most 120 chars."""
    return len(slug) <= 120 and bool(SLUG_PATTERN.fullmatch(slug))


def numbered_slug_prefix(slug: str) -> str:
    """What ``slug``'s numbered variants (``slug-2``, ``slug-3``...) start with: the slug cut
    so that a number still fits in 120 characters, and a hyphen."""
    return f"{slug[:110]}-"


def first_free_slug(slug: str, is_taken: Callable[[str], bool]) -> str:
    """``slug``, or ``slug-2``, ``slug-3``..., the first that ``is_taken`` does not claim."""
    candidate, number = slug, 2
    while is_taken(candidate):
        candidate = f"{numbered_slug_prefix(slug)}{number}"
        number += 1
    return candidate


def figure_html(url: str, alt: str, caption: str | None, credit: str | None) -> str:
    """A ``<figure>`` for an image, its caption and its credit, every value escaped."""
    image = f'<img src="{html.escape(url)}" alt="{html.escape(alt)}">'
    return f"<figure>{image}{_figcaption(caption, credit)}</figure>"


def _figcaption(caption: str | None, credit: str | None) -> str:
    if not caption and not credit:
        return ""
    parts = [html.escape(caption) if caption else ""]
    if credit:
        parts.append(f'<span class="credit">{html.escape(credit)}</span>')
    return "<figcaption>" + " ".join(p for p in parts if p) + "</figcaption>"


def extract_images(body_html: str) -> tuple[Image, ...]:
    """Every ``<img>`` of a sanitised body, in document order, with its figure's caption and credit.

    Pure. ``src`` is taken as is (the pipeline has made it absolute); images without an
    http(s) ``src`` are skipped. ``width``/``height`` are kept when they are positive integers.
    Inside a ``<figure>``, ``caption`` is the ``<figcaption>`` text without its
    ``<span class="credit">`` and ``credit`` is that span's text; each is ``None`` when empty.
    """

    def folded(text: str) -> str | None:
        return " ".join(text.split()) or None

    def is_credit(element: lxml.html.HtmlElement) -> bool:
        return element.tag == "span" and "credit" in (element.get("class") or "").split()

    def caption_text(element: lxml.html.HtmlElement) -> str:
        parts = [element.text or ""]
        for child in element:
            # Comments and processing instructions have a non-string tag and no caption text.
            if isinstance(child.tag, str) and not is_credit(child):
                parts.append(caption_text(child))
            parts.append(child.tail or "")
        return "".join(parts)

    def dimension(value: str | None) -> int | None:
        value = (value or "").strip()
        if value.isascii() and value.isdigit() and int(value) > 0:
            return int(value)
        return None

    if not body_html.strip():
        return ()
    root = lxml.html.fragment_fromstring(body_html, create_parent="div")
    images: list[Image] = []
    for img in root.iter("img"):
        src = (img.get("src") or "").strip()
        if not src.lower().startswith(("https://", "http://")):
            continue
        caption = credit = None
        figure = next(img.iterancestors("figure"), None)
        figcaption = figure.find(".//figcaption") if figure is not None else None
        if figcaption is not None:
            caption = folded(caption_text(figcaption))
            credits = [
                folded(span.text_content()) for span in figcaption.iter("span") if is_credit(span)
            ]
            credit = "; ".join(text for text in credits if text) or None
        images.append(
            Image(
                url=src,
                width=dimension(img.get("width")),
                height=dimension(img.get("height")),
                caption=caption,
                credit=credit,
            )
        )
    return tuple(images)


def clean_image(image: Image | None, base_url: str) -> Image | None:
    """An image's URL made absolute against ``base_url``, and its caption and credit
    cleaned as every text field is (an empty one is no caption)."""
    if image is None:
        return None
    return replace(
        image,
        url=absolute_url(clean_text(image.url).strip(), base_url),
        caption=clean_text(image.caption).strip() or None if image.caption else None,
        credit=clean_text(image.credit).strip() or None if image.credit else None,
    )
