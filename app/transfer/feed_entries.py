"""One feed document read as import records: RSS 2.0 and Atom 1.0 through feedparser,
JSON Feed 1.0 and 1.1 through :mod:`json`; each entry a plain dict in the line format of
:mod:`app.transfer.records`. Pure: no I/O, no clock (``now`` is passed in).

Contract:

- An entry's id is its RSS ``guid``, Atom ``id`` or JSON Feed ``id`` exactly as written
  (never resolved against the document's URL, never made up): an entry without one is
  left out, with the reason in :attr:`FeedPage.skipped`. An id that is not a URI is passed
  on as it is, and the import refuses it by name.
- Content is HTML (``body_format`` html) with its relative URLs resolved against the
  document's URL; the import's pipeline sanitises it as it does every body.
- The lead image is the entry's enclosure, ``media:content``, ``media:thumbnail`` or JSON
  Feed ``image``; the ``<figure>`` of that image that opens the content (as Broadsheet's
  own feeds write it) gives its caption and credit and is taken out of the body, since a
  lead image is shown again above the body.
- The entry's link becomes an old path (``legacy_paths``), answered with 301 to the new page.
"""

from __future__ import annotations

import json
import xml.sax
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from time import struct_time
from typing import Any
from urllib.parse import urljoin

import feedparser
import lxml.etree

from app.errors import SourceUnreadable
from app.transfer.feed_values import EntryValues
from app.transfer.feed_values import Record
from app.transfer.feed_values import author_values
from app.transfer.feed_values import fallback_author
from app.transfer.feed_values import image_values
from app.transfer.feed_values import language_tag
from app.transfer.feed_values import looks_like_html
from app.transfer.feed_values import paragraph
from app.transfer.feed_values import plain_text
from app.transfer.feed_values import string

ATOM_NS = "http://www.w3.org/2005/Atom"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1"
_XML = lxml.etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclass(frozen=True)
class FeedPage:
    """What one feed document, read from ``url``, holds: its entries as records, in
    document order; the entries left out, each with its reason; and ``older``, the
    absolute URL of the page before it (RFC 5005 ``prev-archive``, JSON Feed
    ``next_url``), if it names one."""

    url: str
    records: tuple[Record, ...]
    skipped: tuple[str, ...]
    older: str | None


def read_page(body: bytes, media_type: str, url: str, now: datetime) -> FeedPage:
    """Read one feed document fetched from ``url`` (a file is read as ``file:`` URL).
    ``now`` dates an entry that carries no date at all (it is published as of the import).

    Raises:
        SourceUnreadable: not well-formed, or not an RSS, Atom or JSON feed.
    """
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if "json" in media_type or head == b"{":
        return _json_feed(body, url, now)
    return _xml_feed(body, media_type, url, now)


# -- RSS and Atom ---------------------------------------------------------------------------


def _xml_feed(body: bytes, media_type: str, url: str, now: datetime) -> FeedPage:
    # No base URL is passed on purpose: feedparser would resolve every id against it
    # (an RSS guid is a permalink unless it says otherwise), and ids must stay as written.
    parsed = feedparser.parse(
        body,
        response_headers={"content-type": media_type or "application/xml"},
        sanitize_html=False,
    )
    problem = parsed.get("bozo_exception")
    if isinstance(problem, xml.sax.SAXParseException):
        raise SourceUnreadable(
            f"{url} is not well-formed XML: line {problem.getLineNumber()}: {problem.getMessage()}"
        )
    if not str(parsed.get("version", "")).startswith(("rss", "atom")):
        raise SourceUnreadable(f"{url} is not an RSS, Atom or JSON feed")
    feed = parsed.feed
    people = _atom_people(body) if parsed.version.startswith("atom") else None
    feed_authors = (people or {}).get(-1) or author_values(feed.get("authors", ()))
    fallback = fallback_author(feed.get("title"), url)
    language = language_tag(feed.get("language"))
    records: list[Record] = []
    skipped: list[str] = []
    for position, entry in enumerate(parsed.entries):
        entry_id = entry.get("id") or ""
        if not entry_id.strip():
            skipped.append(f"{url}: entry {position + 1} has no id (guid): not imported")
            continue
        authors = (
            (people or {}).get(position) if people else author_values(entry.get("authors", ()))
        )
        html, summary = _entry_html(entry)
        item = EntryValues(
            id=entry_id,
            title=plain_text(entry.get("title", "")),
            summary=summary,
            html=html,
            authors=authors or feed_authors or [fallback],
            terms=[(tag.get("label") or tag.get("term"), tag.get("scheme")) for tag in entry.tags]
            if "tags" in entry
            else [],
            language=language_tag(_content_language(entry)) or language,
            image=_xml_image(entry, url),
            # dict.get: feedparser's own get() answers an absent updated date with the
            # published one (and a DeprecationWarning); an entry's dates are read as written.
            published=_struct_time(dict.get(entry, "published_parsed")),
            updated=_struct_time(dict.get(entry, "updated_parsed")),
            link=entry.get("link"),
        )
        records.append(item.record(url, now))
    older = next(
        (link.get("href") for link in feed.get("links", ()) if link.get("rel") == "prev-archive"),
        None,
    )
    return FeedPage(url, tuple(records), tuple(skipped), urljoin(url, older) if older else None)


def _entry_html(entry: Any) -> tuple[str, str]:
    """The entry's HTML and its summary's text: its content (RSS ``content:encoded``,
    Atom ``content``) and its summary (RSS ``description``); or, without content, the
    description as the body (the whole item in many RSS feeds) and no summary, which the
    import then makes from the body."""
    description = entry.get("summary") or ""
    for content in entry.get("content", ()):
        value = content.get("value") or ""
        if value.strip():
            html = value if "html" in content.get("type", "html") else paragraph(value)
            return html, plain_text(description)
    return (description if looks_like_html(description) else paragraph(description)), ""


def _atom_people(body: bytes) -> dict[int, list[dict[str, str]]] | None:
    """The authors of an Atom feed (-1) and of each entry by position, read from the XML.

    feedparser mixes one author's e-mail address into the next author's when that one has
    none (it reparses its own joined ``author`` string), so Atom persons are read here.
    """
    try:
        root = lxml.etree.fromstring(body, _XML)
    except lxml.etree.XMLSyntaxError:
        return None  # read leniently by feedparser only (a wrong encoding declared...)
    people: dict[int, list[dict[str, str]]] = {-1: _atom_authors(root)}
    for position, entry in enumerate(root.iterfind(f"{{{ATOM_NS}}}entry")):
        people[position] = _atom_authors(entry)
    return people


def _atom_authors(element: Any) -> list[dict[str, str]]:
    persons = element.iterfind(f"{{{ATOM_NS}}}author")
    return author_values(
        {
            "name": person.findtext(f"{{{ATOM_NS}}}name") or "",
            "email": person.findtext(f"{{{ATOM_NS}}}email"),
            "href": person.findtext(f"{{{ATOM_NS}}}uri"),
        }
        for person in persons
    )


def _xml_image(entry: Any, url: str) -> dict[str, Any] | None:
    """The lead image: the first image enclosure, ``media:content`` or ``media:thumbnail``."""
    candidates = [
        (link.get("href"), link.get("type"), link.get("length"), None, None)
        for link in entry.get("links", ())
        if link.get("rel") == "enclosure"
    ]
    candidates += [
        (media.get("url"), media.get("type"), media.get("filesize"), media.get("width"),
         media.get("height"))
        for media in entry.get("media_content", ())
        if media.get("medium", "image") == "image"
    ]  # fmt: skip
    candidates += [
        (media.get("url"), None, None, media.get("width"), media.get("height"))
        for media in entry.get("media_thumbnail", ())
    ]
    credits = [credit.get("content") for credit in entry.get("media_credit", ())]
    # An enclosure has no size in pixels; the media:content of the same image may.
    sizes = {
        media.get("url"): (media.get("width"), media.get("height"))
        for media in entry.get("media_content", ())
    }
    for href, media_type, length, width, height in candidates:
        width, height = (width, height) if width else sizes.get(href, (None, None))
        image = image_values(href, media_type, length, width, height, url)
        if image is not None:
            image["credit"] = next((c.strip()[:500] for c in credits if c and c.strip()), None)
            return image
    return None


def _content_language(entry: Any) -> str | None:
    for content in entry.get("content", ()):
        if content.get("language"):
            return str(content["language"])
    return None


def _struct_time(value: struct_time | None) -> datetime | None:
    # feedparser gives every date it could read as a UTC struct_time.
    return datetime(*value[:6], tzinfo=UTC) if value else None


# -- JSON Feed ------------------------------------------------------------------------------


def _json_feed(body: bytes, url: str, now: datetime) -> FeedPage:
    try:
        feed = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SourceUnreadable(f"{url} is not a JSON feed: {error}") from None
    version = feed.get("version") if isinstance(feed, dict) else None
    if not isinstance(version, str) or not version.startswith(JSON_FEED_VERSION):
        raise SourceUnreadable(f"{url} is not a JSON feed: no JSON Feed 1.x version")
    items = feed.get("items")
    if not isinstance(items, list):
        raise SourceUnreadable(f"{url} is not a JSON feed: no list of items")
    feed_authors = _json_authors(feed) or [fallback_author(feed.get("title"), url)]
    language = language_tag(feed.get("language"))
    records: list[Record] = []
    skipped: list[str] = []
    for position, item in enumerate(items):
        item_id = item.get("id") if isinstance(item, dict) else None
        if isinstance(item_id, int) and not isinstance(item_id, bool):
            item_id = str(item_id)  # JSON Feed 1.0 let numbers stand; the import judges it
        if not isinstance(item_id, str) or not item_id.strip():
            skipped.append(f"{url}: item {position + 1} has no id: not imported")
            continue
        html = string(item.get("content_html"))
        if not html.strip() and string(item.get("content_text")).strip():
            html = paragraph(string(item.get("content_text")))
        image = _json_image(item, url)
        records.append(
            EntryValues(
                id=item_id,
                title=string(item.get("title")).strip(),
                summary=" ".join(string(item.get("summary")).split()),
                html=html,
                authors=_json_authors(item) or feed_authors,
                terms=[(tag, None) for tag in item.get("tags", ()) if isinstance(tag, str)],
                language=language_tag(item.get("language")) or language,
                image=image,
                published=_json_date(item.get("date_published")),
                updated=_json_date(item.get("date_modified")),
                link=string(item.get("url")) or None,
                json_tags=True,
            ).record(url, now)
        )
    older = string(feed.get("next_url"))
    return FeedPage(url, tuple(records), tuple(skipped), urljoin(url, older) if older else None)


def _json_authors(holder: dict[str, Any]) -> list[dict[str, str]]:
    """JSON Feed 1.1 ``authors``, or 1.0's single ``author``."""
    people = holder.get("authors")
    if not isinstance(people, list):
        people = [holder["author"]] if isinstance(holder.get("author"), dict) else []
    return author_values(
        {"name": person.get("name") or "", "href": person.get("url")}
        for person in people
        if isinstance(person, dict)
    )


def _json_image(item: dict[str, Any], url: str) -> dict[str, Any] | None:
    candidates = [(item.get("image"), None, None)]
    candidates += [
        (attachment.get("url"), attachment.get("mime_type"), attachment.get("size_in_bytes"))
        for attachment in item.get("attachments", ())
        if isinstance(attachment, dict)
        and str(attachment.get("mime_type", "image/")).startswith("image/")
    ]
    candidates.append((item.get("banner_image"), None, None))
    for href, media_type, length in candidates:
        image = image_values(href, media_type, length, None, None, url)
        if image is not None:
            return image
    return None


def _json_date(value: Any) -> datetime | str | None:
    """An RFC 3339 date as a datetime; any other text as it is, for the import to refuse
    by name (an entry with a date it cannot read is not published at another date)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    return parsed if parsed.utcoffset() is not None else value
