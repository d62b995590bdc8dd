"""A WordPress export (WXR, "WordPress eXtended RSS", versions 1.1 and 1.2) read as import
records (the JSON Lines format of :mod:`app.transfer.records`).

WXR is RSS 2.0 with WordPress's elements: the channel names the authors
(``wp:author``), and each ``item`` is a post, a page, an attachment or a menu item
(``wp:post_type``). Only posts become articles; attachments are read for the featured
images (``_thumbnail_id``) they are; pages and menu items are left out. The file is read
twice with ``iterparse`` (attachments first, as they may come after the posts that use
them), each element dropped once read, so an export of any size holds little memory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from urllib.parse import urlsplit

from lxml import etree

from app.content import html_to_text
from app.content import is_valid_slug
from app.errors import SourceUnreadable
from app.inputs import image_type_of
from app.legacy_urls import wordpress_id_key
from app.transfer.wp_content import post_html

# Namespaces by their start: 1.1 and 1.2 differ in the version in the URI only.
_WP = "http://wordpress.org/export/"
_CONTENT = "http://purl.org/rss/1.0/modules/content/"
_DC = "http://purl.org/dc/elements/1.1/"
_NO_DATE = "0000-00-00 00:00:00"  # what WordPress writes for a draft's post_date_gmt

#: wp:status -> how the article is published: "publish" (now public), "future"
#: (scheduled: public at its date), the rest drafts (no publication time).
PUBLISHED, SCHEDULED = "publish", "future"
DRAFTS = frozenset({"draft", "pending", "private"})
# Notes of the import report (its closing lines): what a WordPress export had that
# did not become an article or part of one.
SHORTCODES_REMOVED = "shortcodes removed"
LEFT_OUT = "posts left out (trash, auto-draft)"
IMAGES_LEFT_OUT = "featured images left out (not an image URL)"


@dataclass(frozen=True)
class _Attachment:
    url: str
    caption: str


def wordpress_records(path: Path, notes: Counter[str]) -> Iterator[dict[str, Any]]:
    """The posts of the WordPress export at ``path``, in file order, as import records;
    ``notes`` counts what was changed or left out (shortcodes removed, posts in the trash).

    Each record carries the post's ``guid`` as its id (so the feeds keep their entries'
    ids), its slug (``wp:post_name``) when it is one here, and its old permalink and
    ``/?p=<id>`` as ``legacy_paths``. A post whose fields the import refuses (no title,
    a guid that is not a URI) is reported by the import like any bad line.

    Raises:
        SourceUnreadable: the file is not well-formed XML (the records given before stay
            given: an import stores them, and a second run continues after them).
    """
    try:
        yield from _posts(path, notes)
    except (etree.XMLSyntaxError, OSError) as error:
        raise SourceUnreadable(f"{path} is not a readable WordPress export: {error}") from None


def _posts(path: Path, notes: Counter[str]) -> Iterator[dict[str, Any]]:
    attachments: dict[str, _Attachment] = {}
    for item in _items(path):
        if _wp(item, "post_type") == "attachment":
            url = _wp(item, "attachment_url")
            if url:
                caption = html_to_text(_text(item, f"{{{_excerpt_ns(item)}}}encoded"))
                attachments[_wp(item, "post_id")] = _Attachment(url, caption)
    authors = _authors(path)
    for item in _items(path):
        if _wp(item, "post_type") != "post":
            continue
        status = _wp(item, "status")
        if status not in DRAFTS and status not in (PUBLISHED, SCHEDULED):
            notes[LEFT_OUT] += 1
            continue
        yield _record(item, status, authors, attachments, notes)


def _items(path: Path) -> Iterator[etree._Element]:
    """Each ``item`` of the channel, dropped from memory after the caller has it."""
    # No entities resolved and no network: an export is data, never instructions
    # (XML external entities). huge_tree: one post's text may pass libxml2's 10 MB limit.
    with path.open("rb") as source:
        for _, element in etree.iterparse(
            source, events=("end",), tag="item", resolve_entities=False, huge_tree=True
        ):
            yield element
            element.clear()
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]


def _authors(path: Path) -> dict[str, str]:
    """Login -> display name, from the channel's ``wp:author`` elements."""
    names: dict[str, str] = {}
    with path.open("rb") as source:
        for _, element in etree.iterparse(source, events=("end",), resolve_entities=False):
            if not isinstance(element.tag, str):
                continue
            name = etree.QName(element).localname
            if name == "item":
                break  # the authors come before the first item
            if name == "author" and element.tag.startswith(f"{{{_WP}"):
                login = _wp(element, "author_login")
                if login:
                    names[login] = _wp(element, "author_display_name") or login
    return names


def _record(
    item: etree._Element,
    status: str,
    authors: dict[str, str],
    attachments: dict[str, _Attachment],
    notes: Counter[str],
) -> dict[str, Any]:
    content = post_html(_text(item, f"{{{_CONTENT}}}encoded"))
    notes[SHORTCODES_REMOVED] += content.shortcodes_removed
    excerpt = html_to_text(_text(item, f"{{{_excerpt_ns(item)}}}encoded"))
    published = _gmt(_wp(item, "post_date_gmt")) or _rfc822(_text(item, "pubDate"))
    modified = _gmt(_wp(item, "post_modified_gmt"))
    when = status in (PUBLISHED, SCHEDULED)
    login = _text(item, f"{{{_DC}}}creator").strip()
    record: dict[str, Any] = {
        "id": _text(item, "guid").strip(),
        "title": html_to_text(_text(item, "title")),
        "summary": excerpt or _first_paragraph(content.html),
        "body": content.html,
        "body_format": "html",
        "authors": [{"name": authors.get(login, login) or "WordPress"}],
        "categories": _terms(item, "category"),
        "tags": _terms(item, "post_tag"),
        "published_at": _instant(published) if when else None,
        "legacy_paths": _old_paths(item),
    }
    slug = unquote(_wp(item, "post_name"))
    if is_valid_slug(slug):
        record["slug"] = slug
    if status == PUBLISHED and published is not None:
        record["created_at"] = _instant(published)
        record["updated_at"] = _instant(max(published, modified or published))
    elif modified is not None:  # scheduled or draft: written when last saved
        record["created_at"] = record["updated_at"] = _instant(modified)
    image = _featured_image(item, attachments, notes)
    if image is not None:
        record["image"] = image
    return record


def _featured_image(
    item: etree._Element, attachments: dict[str, _Attachment], notes: Counter[str]
) -> dict[str, Any] | None:
    """The post's featured image (``_thumbnail_id``), with its caption, as the lead image."""
    for meta in item.iterfind(f"{{{_wp_ns(item)}}}postmeta"):
        if _wp(meta, "meta_key") != "_thumbnail_id":
            continue
        attachment = attachments.get(_wp(meta, "meta_value").strip())
        if attachment is None:
            return None
        if image_type_of(attachment.url) is None:
            notes[IMAGES_LEFT_OUT] += 1
            return None
        return {"url": attachment.url, "caption": attachment.caption or None}
    return None


def _old_paths(item: etree._Element) -> list[str]:
    """The post's permalink on the old site (path and query) and its ``/?p=<id>``."""
    paths: list[str] = []
    link = urlsplit(_text(item, "link").strip())
    if link.path or link.query:
        paths.append((link.path or "/") + (f"?{link.query}" if link.query else ""))
    post_id = _wp(item, "post_id").strip()
    if post_id.isdigit():
        paths.append(wordpress_id_key(post_id))
    return list(dict.fromkeys(paths))


def _terms(item: etree._Element, domain: str) -> list[str]:
    names = (
        html_to_text(element.text or "")
        for element in item.iterfind("category")
        if element.get("domain") == domain
    )
    return list(dict.fromkeys(name for name in names if name))


def _first_paragraph(body: str) -> str:
    """The text of the first paragraph, for a post without an excerpt."""
    start = body.find("<p>")
    if start < 0:
        return ""
    end = body.find("</p>", start)
    return html_to_text(body[start : end if end > 0 else len(body)])


def _gmt(value: str) -> datetime | None:
    """``2020-05-04 12:00:00`` (UTC); ``None`` for WordPress's no-date or none."""
    value = value.strip()
    if not value or value == _NO_DATE:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _rfc822(value: str) -> datetime | None:
    """An RSS ``pubDate`` (RFC 822); "-0000" (no zone said) read as UTC."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _instant(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _wp_ns(element: etree._Element) -> str:
    """The WXR namespace this document uses (``.../export/1.2/`` or ``.../1.1/``)."""
    for uri in (element.nsmap or {}).values():
        if uri and uri.startswith(_WP) and not uri.endswith("excerpt/"):
            return uri
    return f"{_WP}1.2/"


def _excerpt_ns(element: etree._Element) -> str:
    return f"{_wp_ns(element)}excerpt/"


def _wp(element: etree._Element, name: str) -> str:
    return _text(element, f"{{{_wp_ns(element)}}}{name}")


def _text(element: etree._Element, tag: str) -> str:
    found = element.find(tag)
    return "" if found is None or found.text is None else found.text
