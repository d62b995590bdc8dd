"""What feedgen 1.0.0 cannot write, written by hand for the RSS and Atom renderers.

feedgen calls an extension through three duck-typed methods: ``extend_ns()`` (namespaces for
the root element; only feed-level extensions are asked), ``extend_rss(element)`` and
``extend_atom(element)`` (the channel's ``<rss>`` root, an ``<item>``, the ``<feed>`` root or an
``<entry>``). The classes here implement that interface without subclassing feedgen's untyped
``BaseExtension``. An extension instance is created by feedgen itself, so each renderer hands
it the neutral model through ``configure()`` right after creating the feed or entry.

Besides elements, the feed-level extensions put the ``xml-stylesheet`` processing instruction
before the root element (feedgen has no API for it, python-feedgen#28): lxml lets a root
element take processing-instruction siblings, and feedgen serialises the whole document.

Pure: the same inputs always append the same elements. Dates, text types and images come
from :mod:`app.rendering.values`, which the JSON Feed renderer shares.
"""

from __future__ import annotations

from lxml import etree

from app.domain import FeedFormat
from app.domain import Image
from app.rendering.model import FeedDocument
from app.rendering.model import FeedEntry
from app.rendering.values import entry_images
from app.rendering.values import history_links
from app.rendering.values import reads_as_markup
from app.rendering.values import rfc822_date
from app.rendering.values import rfc3339_date
from app.rendering.values import rss_plain_text

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DCTERMS_NS = "http://purl.org/dc/terms/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: RSS 1.0 syndication module; element names are camelCase (``updatePeriod``), which feedgen's
#: own ``syndication`` extension gets wrong (mission-anchors.md section 6, item 8).
SY_NS = "http://purl.org/rss/1.0/modules/syndication/"
#: RFC 5005 (Feed Paging and Archiving), section 4: ``fh:archive``.
FH_NS = "http://purl.org/syndication/history/1.0"

#: The key under which the renderers register these extensions with feedgen; feedgen
#: exposes each instance as an attribute of that name on the generator and on each entry.
EXTENSION_NAME = "broadsheet"


def update_schedule(ttl_minutes: int) -> tuple[str, int]:
    """``(sy:updatePeriod, sy:updateFrequency)`` for a refresh interval of ``ttl_minutes``.

    Up to an hour: ``hourly``, 60 // ttl times; up to a day: ``daily``, 1440 // ttl times;
    beyond: ``weekly``, 10080 // ttl times; never less than once per period.
    """
    if ttl_minutes < 1:
        raise ValueError(f"ttl_minutes must be positive, got {ttl_minutes}")
    if ttl_minutes <= 60:
        return "hourly", max(1, 60 // ttl_minutes)
    if ttl_minutes <= 1440:
        return "daily", max(1, 1440 // ttl_minutes)
    return "weekly", max(1, 10080 // ttl_minutes)


def append_update_schedule(parent: etree._Element, ttl_minutes: int) -> None:
    """Append ``sy:updatePeriod`` and ``sy:updateFrequency`` for ``ttl_minutes`` to ``parent``."""
    period, frequency = update_schedule(ttl_minutes)
    etree.SubElement(parent, f"{{{SY_NS}}}updatePeriod").text = period
    etree.SubElement(parent, f"{{{SY_NS}}}updateFrequency").text = str(frequency)


def add_stylesheet(root: etree._Element, href: str) -> None:
    """Put ``<?xml-stylesheet type="text/xsl" href="..."?>`` before the root element.

    Pseudo-attribute values may use the predefined entities (W3C "Associating Style Sheets
    with XML documents", section 2), so ``&``, ``<``, ``>`` and ``"`` are escaped; that also
    keeps ``?>`` out of the instruction.
    """
    escaped = (
        href.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
    root.addprevious(
        etree.ProcessingInstruction("xml-stylesheet", f'type="text/xsl" href="{escaped}"')
    )


def append_media_content(parent: etree._Element, image: Image) -> None:
    """Append a Media RSS ``media:content`` for ``image``, with its caption and credit.

    feedgen's own ``media`` extension always wraps media:content in a media:group, which
    validators reject without alternatives, and cannot write media:description or
    media:credit (mission-anchors.md section 6, item 9). Image credits must survive into
    readers, so the element is written here, unwrapped.
    """
    content = etree.SubElement(parent, f"{{{MEDIA_NS}}}content", url=image.url)
    if image.type:
        content.set("type", image.type)
    content.set("medium", "image")
    if image.width is not None:
        content.set("width", str(image.width))
    if image.height is not None:
        content.set("height", str(image.height))
    if image.known_length is not None:  # optional: an unknown size is left out, not 0
        content.set("fileSize", str(image.known_length))
    if image.caption:
        # Media RSS lets the element say what it holds ("plain" or "html", HTML entity-encoded).
        # feedparser still guesses on "plain" text in RSS, so a caption that would read
        # differently as HTML is declared and written as HTML (see rss_plain_text).
        caption_type = "html" if reads_as_markup(image.caption) else "plain"
        description = etree.SubElement(content, f"{{{MEDIA_NS}}}description", type=caption_type)
        description.text = rss_plain_text(image.caption)
    if image.credit:
        credit = etree.SubElement(content, f"{{{MEDIA_NS}}}credit")
        credit.text = image.credit


def _refresh_ttl(document: FeedDocument) -> int | None:
    """The ttl behind the ``sy:*`` hints; ``None`` when it is unset or not positive."""
    ttl = document.ttl_minutes
    return ttl if ttl is not None and ttl > 0 else None


def _optional_ns(document: FeedDocument | None) -> dict[str, str]:
    """The ``sy`` and ``fh`` namespaces, each only when ``document`` uses it."""
    namespaces = {}
    if document is not None and _refresh_ttl(document) is not None:
        namespaces["sy"] = SY_NS
    if document is not None and document.archive:
        namespaces["fh"] = FH_NS
    return namespaces


class _Extension:
    """The interface feedgen calls; every hook does nothing unless overridden."""

    def extend_ns(self) -> dict[str, str]:
        """Namespaces to declare once, on the root element."""
        return {}

    def extend_rss(self, element: etree._Element) -> etree._Element:
        """Add to an RSS ``<rss>`` root or ``<item>``."""
        return element

    def extend_atom(self, element: etree._Element) -> etree._Element:
        """Add to an Atom ``<feed>`` root or ``<entry>``."""
        return element


class RssChannelExtension(_Extension):
    """Channel-level RSS: ``lastBuildDate``, refresh hints, hub and RFC 5005 links, archive flag.

    - feedgen writes only the first ``rel="self"`` atom:link in RSS and drops every other
      rel (python-feedgen#122), so WebSub hubs and the RFC 5005 links (``current``,
      ``prev-archive``, ``next-archive``) are appended here as ``atom:link``.
    - feedgen formats ``lastBuildDate`` with ``locale.setlocale`` (see :func:`rfc822_date`);
      the renderer clears feedgen's value and this extension writes the element instead.
    - ``sy:updatePeriod``/``sy:updateFrequency`` repeat ``<ttl>`` for readers that only
      know the RSS 1.0 syndication module; ``fh:archive`` marks an RFC 5005 archive document.
    - It also declares the namespaces the item extensions use, so that they are declared once
      on ``<rss>`` rather than on every item. ``sy`` and ``fh`` are declared only when used.
    """

    def __init__(self) -> None:
        self.document: FeedDocument | None = None

    def configure(self, document: FeedDocument) -> None:
        """Take the channel values from ``document``."""
        self.document = document

    def extend_ns(self) -> dict[str, str]:
        return {"media": MEDIA_NS, "dcterms": DCTERMS_NS, **_optional_ns(self.document)}

    def extend_rss(self, element: etree._Element) -> etree._Element:
        document = self.document
        if document is None:
            raise ValueError("RssChannelExtension used before configure()")
        channel = element.find("channel")
        if channel is None:
            raise ValueError("feedgen produced an RSS document without a channel")
        last_build_date = etree.SubElement(channel, "lastBuildDate")
        last_build_date.text = rfc822_date(document.content_changed or document.updated)
        ttl = _refresh_ttl(document)
        if ttl is not None:
            append_update_schedule(channel, ttl)
        for hub in document.hubs:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", href=hub, rel="hub")
        for relation, href, media_type in history_links(document, FeedFormat.RSS):
            etree.SubElement(
                channel, f"{{{ATOM_NS}}}link", href=href, rel=relation, type=media_type
            )
        if document.archive:
            etree.SubElement(channel, f"{{{FH_NS}}}archive")
        if document.stylesheet_url:
            add_stylesheet(element, document.stylesheet_url)
        return element


class RssItemExtension(_Extension):
    """Item-level RSS: ``pubDate``, ``dcterms:modified`` and Media RSS for every image.

    - ``pubDate`` is written here, not by feedgen, to keep ``locale.setlocale`` out of
      rendering (see :func:`rfc822_date`).
    - RSS 2.0 has no modification date; ``dcterms:modified`` (W3C-DTF, a profile of ISO 8601)
      gives readers the same ``updated`` value as Atom and JSON Feed.
    """

    def __init__(self) -> None:
        self.entry: FeedEntry | None = None

    def configure(self, entry: FeedEntry) -> None:
        """Take the item values from ``entry``."""
        self.entry = entry

    def extend_rss(self, element: etree._Element) -> etree._Element:
        entry = self.entry
        if entry is None:
            raise ValueError("RssItemExtension used before configure()")
        pub_date = etree.SubElement(element, "pubDate")
        pub_date.text = rfc822_date(entry.published)
        modified = etree.SubElement(element, f"{{{DCTERMS_NS}}}modified")
        modified.text = rfc3339_date(entry.updated)
        for image in entry_images(entry):
            append_media_content(element, image)
        return element


class AtomFeedExtension(_Extension):
    """Feed-level Atom: refresh hints, the archive flag and the stylesheet instruction.

    RFC 4287 section 6.4 allows foreign elements on ``<feed>``, so ``sy:*`` and ``fh:archive``
    are written as they are in RSS. The RFC 5005 links are ordinary feed links and are
    written by the renderer through feedgen, which keeps feed-level link attributes. The
    Media RSS namespace is declared once here, for the entries.
    """

    def __init__(self) -> None:
        self.document: FeedDocument | None = None

    def configure(self, document: FeedDocument) -> None:
        """Take the feed values from ``document``."""
        self.document = document

    def extend_ns(self) -> dict[str, str]:
        return {"media": MEDIA_NS, **_optional_ns(self.document)}

    def extend_atom(self, element: etree._Element) -> etree._Element:
        document = self.document
        if document is None:
            raise ValueError("AtomFeedExtension used before configure()")
        ttl = _refresh_ttl(document)
        if ttl is not None:
            append_update_schedule(element, ttl)
        if document.archive:
            etree.SubElement(element, f"{{{FH_NS}}}archive")
        if document.stylesheet_url:
            add_stylesheet(element, document.stylesheet_url)
        return element


class AtomEntryExtension(_Extension):
    """Entry-level Atom: the entry's links, its language, and Media RSS for every image.

    feedgen 1.0.0 loses ``rel``, ``type`` and ``length`` on every entry link (a shadowed loop
    variable in ``FeedEntry.atom_entry``, python-feedgen#135, fixes unmerged in #136/#139): the
    enclosure would become a second alternate link. The renderer therefore never calls
    ``FeedEntry.link()`` for Atom and the links are written here, complete.
    """

    def __init__(self) -> None:
        self.entry: FeedEntry | None = None
        self.feed_language = ""

    def configure(self, entry: FeedEntry, feed_language: str) -> None:
        """Take the entry values from ``entry``; ``feed_language`` is the feed's xml:lang."""
        self.entry = entry
        self.feed_language = feed_language

    def extend_atom(self, element: etree._Element) -> etree._Element:
        entry = self.entry
        if entry is None:
            raise ValueError("AtomEntryExtension used before configure()")
        # feedgen builds Atom elements without a namespace and sets xmlns on <feed> as a plain
        # attribute, so unqualified names here serialise as Atom elements. A link feedgen
        # wrote (an entry without content needs one for feedgen) has lost its rel: gone.
        for written in element.findall("link"):
            element.remove(written)
        etree.SubElement(element, "link", rel="alternate", type="text/html", href=entry.url)
        image = entry.image
        # Every lead image the input rules let in has a type; only an image stored before
        # they inferred one may lack it, and an enclosure without a type says nothing.
        if image is not None and image.type:
            # RFC 4287 section 4.2.7.2: rel="enclosure" SHOULD carry a length; it is omitted
            # rather than invented (or written as 0) when the size is unknown.
            enclosure = etree.SubElement(
                element, "link", rel="enclosure", type=image.type, href=image.url
            )
            if image.known_length is not None:
                enclosure.set("length", str(image.known_length))
        if entry.language and entry.language != self.feed_language:
            element.set(XML_LANG, entry.language)
        for media_image in entry_images(entry):
            append_media_content(element, media_image)
        return element
