"""RSS 2.0 rendering, following the RSS Advisory Board's best-practice profile.

Contract: ``render_rss(document)`` returns the UTF-8 bytes of one RSS 2.0 document; the same
document always gives the same bytes (no clock, no randomness, no I/O). Items keep the order
of ``document.entries``. Dates are RFC 822 in UTC, to the second.

feedgen builds the document; :mod:`app.rendering.extensions` writes what feedgen 1.0.0 gets
wrong or cannot write (hub and RFC 5005 links, dates without ``locale.setlocale``, Media
RSS, ``sy:*`` refresh hints, ``fh:archive``, the ``xml-stylesheet`` instruction). A fresh
generator is built for every call: each format needs its own ``rel="self"`` URL
(ecosystem.md pitfall 17), and feedgen objects are not safe to share between threads.
"""

from __future__ import annotations

from typing import Any

from feedgen.feed import FeedGenerator

from app.domain import UNKNOWN_LENGTH
from app.domain import FeedFormat
from app.rendering.extensions import EXTENSION_NAME
from app.rendering.extensions import RssChannelExtension
from app.rendering.extensions import RssItemExtension
from app.rendering.model import FeedDocument
from app.rendering.model import FeedEntry
from app.rendering.values import as_html
from app.rendering.values import entry_categories
from app.rendering.values import rss_plain_text

#: feedgen keeps a lastBuildDate that defaults to ``now()`` and always formats it with
#: ``formatRFC2822``, which calls ``locale.setlocale`` (process-global; it races with other
#: threads). FeedGenerator offers no public way to unset it, so the renderer clears this
#: name-mangled attribute and RssChannelExtension writes the element with email.utils.
#: feedgen is pinned to 1.0.0; the guard below fails loudly if the attribute ever moves.
_FEEDGEN_LAST_BUILD_DATE = "_FeedGenerator__rss_lastBuildDate"

_RSS_DOCS = "https://www.rssboard.org/rss-specification"


def render_rss(document: FeedDocument, entries: tuple[FeedEntry, ...] | None = None) -> bytes:
    """Render ``document`` as an RSS 2.0 document (UTF-8 bytes).

    ``entries`` (default: the document's) are the items written; the channel is always the
    document's own.
    """
    generator = FeedGenerator()
    # dc:creator carries every byline: RSS <author> must be an e-mail address, and feedgen
    # silently drops authors without one (mission-anchors.md section 6, item 7).
    generator.load_extension("dc", atom=False, rss=True)
    generator.register_extension(
        EXTENSION_NAME, RssChannelExtension, RssItemExtension, atom=False, rss=True
    )
    # Every text of the model is plain text. RSS 2.0 has HTML only in description, which
    # readers render as HTML, so plain text goes there HTML-escaped; a title is written so
    # that readers who guess (feedparser does) read the same characters (rss_plain_text).
    generator.title(rss_plain_text(document.title))
    # RSS requires a non-empty channel description.
    generator.description(as_html(document.description or document.title))
    generator.language(document.language)
    generator.generator(document.generator)
    generator.docs(_RSS_DOCS)
    # feedgen makes the RSS <link> the href of the LAST link() call, whatever its rel
    # (mission-anchors.md section 6, item 2): self first, the site last. Hubs are not passed
    # to link() at all (a hub would become the channel link, python-feedgen#122).
    generator.link(href=document.self_url(FeedFormat.RSS), rel="self", type="application/rss+xml")
    generator.link(href=document.site_url, rel="alternate", type="text/html")
    if document.ttl_minutes is not None:
        generator.ttl(document.ttl_minutes)
    # Readers show the RSS <image> in their lists of feeds, where a square fits; RSS 2.0
    # gives it a width of at most 144 and a height of at most 400, written only when known
    # (never here: a URL does not say). Title and link are the channel's, as the RSS
    # Advisory Board's profile asks.
    image_url = document.icon_url or document.logo_url
    if image_url:
        generator.image(url=image_url, title=rss_plain_text(document.title), link=document.site_url)
    channel: RssChannelExtension = getattr(generator, EXTENSION_NAME)
    channel.configure(document)
    _clear_feedgen_last_build_date(generator)

    for entry in document.entries if entries is None else entries:
        # add_entry() prepends by default, which would reverse our newest-first order.
        _fill_item(generator.add_entry(order="append"), document, entry)

    body: bytes = generator.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return body


def _fill_item(item: Any, document: FeedDocument, entry: FeedEntry) -> None:
    """Set one feedgen entry from ``entry`` (``item`` is a feedgen FeedEntry)."""
    # id() also writes <guid isPermaLink="false">: our ids are tag: URIs, not URLs.
    item.id(entry.id)
    item.title(rss_plain_text(entry.title))
    item.link(href=entry.url, rel="alternate")
    # With both set, feedgen writes <description> (the summary) and <content:encoded> (the
    # HTML). type="html" escapes; "CDATA" would be invalid in Atom (python-feedgen#123) and
    # buys nothing here. The summary is plain text and description is HTML: escaped.
    if entry.content_html is not None:
        item.content(entry.content_html, type="html")
    if entry.summary:
        item.summary(as_html(entry.summary))
    # Category, dc:creator and media:credit are plain text that no reader takes for HTML
    # (feedparser never does): written as they are.
    categories = entry_categories(document, entry)
    if categories:
        item.category(categories)
    for author in entry.authors:
        item.dc.dc_creator(author.name)
    if entry.language and entry.language != document.language:
        # RSS 2.0 gives an item no language of its own; Dublin Core does (as Atom's
        # xml:lang and JSON Feed's language do in the other formats).
        item.dc.dc_language(entry.language)
    image = entry.image
    # Every lead image the input rules let in has a type; only an image stored before they
    # inferred one may lack it, and RSS requires the type of an enclosure.
    if image is not None and image.type:
        # RSS requires length; the RSS profile writes 0 when it is unknown.
        length = image.length if image.length is not None else UNKNOWN_LENGTH
        item.enclosure(url=image.url, length=str(length), type=image.type)
    # Not emitted in RSS, but set so that nothing in feedgen falls back to now().
    item.updated(entry.updated)
    # pubDate is NOT set through feedgen (published()/pubDate() would format it with
    # locale.setlocale); RssItemExtension writes it.
    extension: RssItemExtension = getattr(item, EXTENSION_NAME)
    extension.configure(entry)


def _clear_feedgen_last_build_date(generator: Any) -> None:
    """Stop feedgen from writing (and locale-formatting) its own lastBuildDate."""
    if not hasattr(generator, _FEEDGEN_LAST_BUILD_DATE):
        raise RuntimeError(
            f"feedgen no longer has {_FEEDGEN_LAST_BUILD_DATE}; revisit app/rendering/rss.py"
        )
    setattr(generator, _FEEDGEN_LAST_BUILD_DATE, None)
