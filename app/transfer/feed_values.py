"""One feed entry's values, as read from RSS, Atom or JSON Feed, written in the import's
line format (:mod:`app.transfer.records`), and the rules of single values they share.
Pure: no I/O, no clock.

Values are made to fit the line format's limits where that loses nothing an entry needs
(a title or summary cut at a word boundary, an author's bad e-mail address left out,
categories past 20 kept as tags); what cannot be made to fit (a date it cannot read, an
id that is not a URI) is passed on as it is, for the import to refuse by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urljoin
from urllib.parse import urlsplit

import lxml.html

from app.content import clean_text
from app.content import extract_images
from app.content import html_to_text
from app.input_values import check_email
from app.input_values import check_url
from app.inputs import image_type_of
from app.inputs import instant_text
from app.language_tags import is_language_tag

Record = dict[str, Any]

# The limits of the line format (app.inputs): a longer value would refuse the whole entry.
TITLE_MAX, SUMMARY_MAX, TERM_MAX, NAME_MAX = 500, 5000, 100, 200
CATEGORIES_MAX, TAGS_MAX, AUTHORS_MAX = 20, 50, 20
# A title made from the text of an entry that has none (RSS 2.0 makes titles optional).
MADE_TITLE_LENGTH = 100

_MARKUP = re.compile(r"<[A-Za-z/!][^>]*>|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+\d*);")
# Category vocabularies that are free tags: Broadsheet's ({site}/tag/), WordPress's.
_TAG_SCHEME = re.compile(r"/tags?/?$|post_tag", re.IGNORECASE)


def looks_like_html(value: str) -> bool:
    """Whether a value RSS does not type holds markup (a tag or an entity)."""
    return _MARKUP.search(value) is not None


@dataclass
class EntryValues:
    """An entry's values as read, before they are written in the line format by
    :meth:`record`."""

    id: str
    title: str
    summary: str
    html: str
    authors: list[dict[str, str]]
    terms: list[tuple[str | None, str | None]]
    language: str | None
    image: dict[str, Any] | None
    published: datetime | str | None
    updated: datetime | str | None
    link: str | None
    json_tags: bool = False

    def record(self, page_url: str, now: datetime) -> Record:
        """The entry in the line format; ``page_url`` resolves its relative URLs."""
        body, figure = _lead_figure_removed(_absolute_html(self.html, page_url), self.image)
        image = self.image
        if image is not None and figure is not None:
            image = {**image, "caption": figure.caption, "credit": figure.credit or image["credit"]}
        summary = self.summary
        title = self.title or _cut(html_to_text(summary or body), MADE_TITLE_LENGTH)
        categories, tags = self._vocabularies()
        published, updated = _times(self.published, self.updated, now)
        link = urljoin(page_url, self.link) if self.link else None
        record: Record = {
            "id": self.id,
            "title": _cut(title, TITLE_MAX),
            "summary": _cut(summary, SUMMARY_MAX),
            "body": body,
            "body_format": "html",
            "authors": self.authors[:AUTHORS_MAX],
            "categories": categories,
            "tags": tags,
            "language": self.language,
            "image": image,
            "published_at": published,
            "created_at": published,
            "updated_at": updated,
        }
        path = _old_path(link)
        if path:
            record["legacy_paths"] = [path]
        return record

    def _vocabularies(self) -> tuple[list[str], list[str]]:
        categories: dict[str, None] = {}
        tags: dict[str, None] = {}
        for name, scheme in self.terms:
            term = " ".join(clean_text(name or "").split())[:TERM_MAX]
            if not term:
                continue
            free = self.json_tags or bool(scheme and _TAG_SCHEME.search(scheme))
            if free or len(categories) == CATEGORIES_MAX:
                tags.setdefault(term)
            else:
                categories.setdefault(term)
        return list(categories), list(tags)[:TAGS_MAX]


def _times(
    published: datetime | str | None, updated: datetime | str | None, now: datetime
) -> tuple[str, str]:
    """(published_at, updated_at) as the line format writes them: an entry with one date
    was published then; one with none, ``now``; an update never reads before the
    publication (the import would refuse it)."""
    published = published or updated or now
    updated = updated or published
    if isinstance(published, datetime) and isinstance(updated, datetime):
        updated = max(updated, published)
    return _date_text(published), _date_text(updated)


def _date_text(value: datetime | str) -> str:
    return value if isinstance(value, str) else str(instant_text(value))


def author_values(people: Iterable[Any]) -> list[dict[str, str]]:
    """Authors in the line format: a name, and an e-mail address and a URL only when they
    are ones the import takes (a bad address does not cost the entry its author)."""
    authors: list[dict[str, str]] = []
    for person in people:
        name = " ".join(clean_text(person.get("name") or "").split())[:NAME_MAX]
        if not name:
            continue
        author = {"name": name}
        for key, field, check in (("email", "email", check_email), ("href", "url", check_url)):
            value = (person.get(key) or "").strip()
            try:
                if value and check(value) and not value.startswith("/"):
                    author[field] = value
            except ValueError:
                pass
        authors.append(author)
    return authors


def fallback_author(title: Any, url: str) -> dict[str, str]:
    """The byline of an entry whose feed names no author: the publication itself (as
    Atom's own rule for feeds without authors, RFC 4287 section 4.1.1)."""
    name = " ".join(str(title or "").split())[:NAME_MAX]
    return {"name": name or urlsplit(url).hostname or "unknown"}


def image_values(
    href: Any, media_type: Any, length: Any, width: Any, height: Any, url: str
) -> dict[str, Any] | None:
    """An image in the line format, or None: not an absolute http(s) URL, or of a type
    that is neither given as image/* nor told by the URL's extension."""
    if not isinstance(href, str) or not href.strip():
        return None
    absolute = urljoin(url, href.strip())
    if urlsplit(absolute).scheme not in ("http", "https"):
        return None
    given = media_type if isinstance(media_type, str) and media_type.startswith("image/") else None
    if media_type and not given:
        return None  # an audio or video enclosure is not a lead image
    kind = given or image_type_of(absolute)
    if kind is None:
        return None
    return {
        "url": absolute,
        "type": kind,
        "length": _positive(length, minimum=0),
        "width": _positive(width),
        "height": _positive(height),
        "caption": None,
        "credit": None,
    }


def _positive(value: Any, minimum: int = 1) -> int | None:
    text = str(value).strip() if value is not None else ""
    if text.isascii() and text.isdigit() and minimum <= int(text) <= 100_000_000_000:
        return int(text)
    return None


def _lead_figure_removed(body: str, image: dict[str, Any] | None) -> tuple[str, Any]:
    """``body`` without the figure of ``image`` that opens it, and that figure's image (with
    its caption and credit); the body as it is when it opens otherwise."""
    if image is None or not body.strip():
        return body, None
    root = lxml.html.fragment_fromstring(body, create_parent="div")
    first = next(iter(root), None)
    if first is None or (root.text or "").strip() or first.tag != "figure":
        return body, None
    found = extract_images(lxml.html.tostring(first, encoding="unicode"))
    if not found or found[0].url != image["url"]:
        return body, None
    root.text = (root.text or "") + (first.tail or "")
    root.remove(first)
    return _inner_html(root), found[0]


def _absolute_html(fragment: str, base: str) -> str:
    """``fragment`` with every relative link and image made absolute against ``base``."""
    if not fragment.strip() or base.startswith("file:"):
        return fragment
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    root.make_links_absolute(base, resolve_base_href=True, handle_failures="discard")
    return _inner_html(root)


def _inner_html(root: Any) -> str:
    children = "".join(lxml.html.tostring(child, encoding="unicode") for child in root)
    return escape(root.text or "", quote=False) + children


def plain_text(value: str) -> str:
    """Plain text of a title or summary that may be HTML (RSS does not say which)."""
    value = clean_text(value or "")
    return html_to_text(value) if looks_like_html(value) else " ".join(value.split())


def paragraph(text: str) -> str:
    return f"<p>{escape(text.strip())}</p>" if text.strip() else ""


def _cut(text: str, limit: int) -> str:
    """``text``, or its start cut at a word boundary with an ellipsis, within ``limit``."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:.-") + "…"


def language_tag(value: Any) -> str | None:
    return value if isinstance(value, str) and is_language_tag(value) else None


def string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _old_path(link: str | None) -> str | None:
    """The path (and query) of an entry's http(s) link: where the old site showed it."""
    if not link:
        return None
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.path.startswith("/"):
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path if len(path) <= 500 and path != "/" else None
