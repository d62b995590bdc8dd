"""JSON Feed 1.1 rendering (https://www.jsonfeed.org/version/1.1/).

Contract: ``render_json_feed(document)`` returns UTF-8 JSON bytes; the same document always
gives the same bytes (keys in a fixed order, two-space indent, non-ASCII kept as is, one
trailing newline; no clock, no randomness, no I/O). Items keep the order of
``document.entries``. Dates are RFC 3339 in UTC, to the second, written by the same
function as the Atom dates, so that they mean exactly what the RSS and Atom documents say.
Optional members are left out rather than emitted empty.

RFC 5005 history maps onto the one paging member JSON Feed 1.1 defines: ``next_url`` is the
``prev-archive`` document (the older items). ``current`` and ``next-archive`` have no JSON
Feed equivalent, and neither has ``fh:archive``. Inline images need nothing here: they are in
``content_html``; the lead image is ``image`` and an attachment (unless stored without a
type, before the input rules inferred one).
"""

from __future__ import annotations

import json

from app.domain import Author
from app.domain import FeedFormat
from app.rendering.model import FeedDocument
from app.rendering.model import FeedEntry
from app.rendering.values import history_links
from app.rendering.values import rfc3339_date

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"

JsonObject = dict[str, object]


def render_json_feed(document: FeedDocument) -> bytes:
    """Render ``document`` as a JSON Feed 1.1 document (UTF-8 bytes)."""
    # "version" first: the spec asks for it at the very top.
    feed: JsonObject = {
        "version": JSON_FEED_VERSION,
        "title": document.title,
        "home_page_url": document.site_url,
        "feed_url": document.self_url(FeedFormat.JSON),
    }
    if document.description:
        feed["description"] = document.description
    older = [
        href for rel, href, _ in history_links(document, FeedFormat.JSON) if rel == "prev-archive"
    ]
    if older:
        feed["next_url"] = older[0]
    if document.language:
        feed["language"] = document.language
    if document.icon_url:
        feed["icon"] = document.icon_url
    if document.favicon_url:
        feed["favicon"] = document.favicon_url
    if document.hubs:
        feed["hubs"] = [{"type": "WebSub", "url": hub} for hub in document.hubs]
    feed["items"] = [json_feed_item(entry) for entry in document.entries]
    text = json.dumps(feed, ensure_ascii=False, indent=2) + "\n"
    return text.encode("utf-8")


def json_feed_item(entry: FeedEntry) -> JsonObject:
    """One item of a JSON Feed, members in the document's order."""
    item: JsonObject = {"id": entry.id, "url": entry.url, "title": entry.title}
    # content_html or content_text is required: an item that carries no body carries its
    # summary, which is plain text, as its content.
    if entry.content_html is not None:
        item["content_html"] = entry.content_html
    else:
        item["content_text"] = entry.summary
    if entry.summary:
        item["summary"] = entry.summary
    if entry.image is not None:
        item["image"] = entry.image.url
    item["date_published"] = rfc3339_date(entry.published)
    item["date_modified"] = rfc3339_date(entry.updated)
    if entry.authors:
        item["authors"] = [_author(author) for author in entry.authors]
    # JSON Feed has one flat list of tags: sections first, then free tags, each name once.
    tags = list(dict.fromkeys((*entry.categories, *entry.tags)))
    if tags:
        item["tags"] = tags
    if entry.language:
        item["language"] = entry.language
    image = entry.image
    if image is not None and image.type:
        attachment: JsonObject = {"url": image.url, "mime_type": image.type}
        # size_in_bytes is optional: an unknown size (0 in RSS) is left out, not claimed.
        if image.known_length is not None:
            attachment["size_in_bytes"] = image.known_length
        item["attachments"] = [attachment]
    return item


def _author(author: Author) -> JsonObject:
    # A JSON Feed author has name, url and avatar, and no e-mail: the address is left out.
    person: JsonObject = {"name": author.name}
    if author.url:
        person["url"] = author.url
    return person
