"""What the three formats write alike: text as text or HTML, dates, categories, RFC 5005
links and the images an entry describes.

Pure functions of the neutral model; the RSS, Atom and JSON Feed renderers and the feedgen
extensions (:mod:`app.rendering.extensions`) all take their values from here, so the same
article reads the same in every format.
"""

from __future__ import annotations

import email.utils
import html
import re
from datetime import UTC
from datetime import datetime

from app.domain import FeedFormat
from app.domain import Image
from app.rendering.model import FeedDocument
from app.rendering.model import FeedEntry

#: The RFC 5005 link relations a document may carry, in the order they are written, so that
#: the bytes never depend on the order in which the caller filled ``history_links``.
HISTORY_RELATIONS = ("current", "prev-archive", "next-archive")

#: What an HTML reader takes for markup in text: a tag's opening, or anything shaped like a
#: character reference (feedparser's own test for "looks like HTML" is ``&#?\w+;``).
_MARKUP_LIKE = re.compile(r"<|&#?\w+;")


def as_html(text: str) -> str:
    """Plain ``text`` as HTML that displays exactly those characters.

    For the elements whose content is HTML: RSS 2.0 says "entity-encoded HTML is allowed" in
    ``description``, and readers (feedparser among them) render it as HTML, so plain text is
    HTML-escaped here and XML-escaped again by the serialiser. Quotes need no escaping in
    HTML text; ``&``, ``<`` and ``>`` do. A carriage return is written as a character
    reference: HTML turns a literal CR (and CR LF) into LF before anything else (WHATWG HTML,
    "preprocessing the input stream"), a reference it keeps.
    """
    return html.escape(text, quote=False).replace("\r", "&#13;")


def reads_as_markup(text: str) -> bool:
    """Whether a reader that takes ``text`` as HTML would show other characters than these.

    True when it has a ``<``, something shaped like a character reference (``&amp;``,
    ``&#39;``, ``&x;``), or a reference HTML decodes without its semicolon (``&copy``).
    """
    return bool(_MARKUP_LIKE.search(text)) or html.unescape(text) != text


def rss_plain_text(text: str) -> str:
    """Plain ``text`` for an RSS element that readers may take as text or as HTML (``title``).

    RSS 2.0 allows HTML only in ``description``, and the RSS Advisory Board says titles hold
    no HTML; yet readers guess: feedparser reads a title as HTML when it looks like HTML (a
    closing tag or a character reference) and as text otherwise. Text that reads the same
    both ways is written as is; text that does not (see :func:`reads_as_markup`) is written
    HTML-escaped, which carries entity references and so is read as HTML, showing exactly
    ``text``. ``Saúde & bem-estar`` and ``AT&T`` stay as they are.
    """
    return as_html(text) if reads_as_markup(text) else text


def utc_seconds(value: datetime) -> datetime:
    """``value`` in UTC, to the second. Naive datetimes are a caller bug and raise."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime in a feed document: {value!r}")
    return value.astimezone(UTC).replace(microsecond=0)


def rfc822_date(value: datetime) -> str:
    """An RSS date (RFC 822 as updated by RFC 1123), e.g. ``Tue, 02 Jan 2024 10:00:00 +0000``.

    ``email.utils.format_datetime`` spells day and month names itself, so unlike feedgen's
    ``formatRFC2822`` it never calls ``locale.setlocale``, which is process-global and races
    between threads (mission-anchors.md section 6, item 12).
    """
    return email.utils.format_datetime(utc_seconds(value))


def rfc3339_date(value: datetime) -> str:
    """An RFC 3339 date-time in UTC, e.g. ``2024-01-02T10:00:00+00:00`` (Atom, dcterms, JSON)."""
    return utc_seconds(value).isoformat()


def category_scheme(document: FeedDocument, kind: str) -> str:
    """The URI that names one of the site's vocabularies: ``{site}/category/`` or ``{site}/tag/``.

    Used as RSS ``category/@domain`` and Atom ``category/@scheme``, so that readers can tell a
    section from a free tag with the same name.
    """
    return f"{document.home_url.rstrip('/')}/{kind}/"


def entry_categories(document: FeedDocument, entry: FeedEntry) -> list[dict[str, str]]:
    """feedgen category dicts (term, scheme, label): the entry's categories, then its tags."""
    vocabularies = (("category", entry.categories), ("tag", entry.tags))
    return [
        {"term": name, "scheme": category_scheme(document, kind), "label": name}
        for kind, names in vocabularies
        for name in names
    ]


def history_links(document: FeedDocument, fmt: FeedFormat) -> list[tuple[str, str, str]]:
    """``(rel, href, type)`` of each RFC 5005 link of ``document`` in ``fmt``, in a fixed order.

    The type is the format's media type without its charset parameter: a link names a
    document, not how one response happens to be encoded.
    """
    unknown = sorted(set(document.history_links) - set(HISTORY_RELATIONS))
    if unknown:
        raise ValueError(f"unknown RFC 5005 relations in a feed document: {unknown}")
    media_type = fmt.media_type.split(";", 1)[0].strip()
    links = []
    for relation in HISTORY_RELATIONS:
        urls = document.history_links.get(relation)
        if urls is None:
            continue
        if fmt not in urls:
            raise ValueError(f"the {relation!r} link has no {fmt} URL")
        links.append((relation, urls[fmt], media_type))
    return links


def entry_images(entry: FeedEntry) -> list[Image]:
    """The images an entry's Media RSS describes: the lead image, then each inline image, once.

    An inline image whose URL is already described (the lead image repeated in the body, or
    the same image twice) is left out.
    """
    seen: set[str] = set()
    images = []
    for image in (entry.image, *entry.media):
        if image is None or image.url in seen:
            continue
        seen.add(image.url)
        images.append(image)
    return images
