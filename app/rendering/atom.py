"""Atom 1.0 rendering (RFC 4287).

Contract: ``render_atom(document)`` returns the UTF-8 bytes of one Atom feed document; the
same document always gives the same bytes (no clock, no randomness, no I/O). Entries keep the
order of ``document.entries``; ``feed/updated`` is ``document.updated`` and every entry's
``updated`` and ``published`` are set from the model (feedgen would default them to now()).
Dates are RFC 3339 in UTC, to the second, matching the RSS and JSON Feed documents.

feedgen builds the document; :mod:`app.rendering.extensions` writes the entry links (feedgen
1.0.0 loses their rel/type/length, python-feedgen#135), the entry xml:lang, Media RSS, the
refresh hints (``sy:*``), ``fh:archive`` and the ``xml-stylesheet`` instruction. The RFC 5005
links (``current``, ``prev-archive``, ``next-archive``: registered relations, RFC 5005 section
4) are feed-level links, which feedgen writes correctly.
"""

from __future__ import annotations

from typing import Any

from feedgen.feed import FeedGenerator

from app.domain import Author
from app.domain import FeedFormat
from app.rendering.extensions import EXTENSION_NAME
from app.rendering.extensions import AtomEntryExtension
from app.rendering.extensions import AtomFeedExtension
from app.rendering.model import FeedDocument
from app.rendering.model import FeedEntry
from app.rendering.values import entry_categories
from app.rendering.values import history_links
from app.rendering.values import utc_seconds


def render_atom(document: FeedDocument, entries: tuple[FeedEntry, ...] | None = None) -> bytes:
    """Render ``document`` as an Atom 1.0 feed document (UTF-8 bytes).

    ``entries`` (default: the document's) are the entries written; the feed's own elements
    are always the document's, whichever entries are written.
    """
    generator = FeedGenerator()
    generator.register_extension(
        EXTENSION_NAME, AtomFeedExtension, AtomEntryExtension, atom=True, rss=False
    )
    generator.id(document.id)
    generator.title(document.title)
    if document.description:
        generator.subtitle(document.description)
    generator.updated(utc_seconds(document.updated))
    generator.language(document.language)  # xml:lang on <feed>
    generator.generator(document.generator)
    # Feed-level links keep their attributes in feedgen (only entry links lose them).
    generator.link(href=document.self_url(FeedFormat.ATOM), rel="self", type="application/atom+xml")
    generator.link(href=document.site_url, rel="alternate", type="text/html")
    for hub in document.hubs:
        generator.link(href=hub, rel="hub")
    for relation, href, media_type in history_links(document, FeedFormat.ATOM):
        generator.link(href=href, rel=relation, type=media_type)
    if document.icon_url:
        generator.icon(document.icon_url)
    if document.logo_url:
        generator.logo(document.logo_url)
    if any(not entry.authors for entry in document.entries):
        # RFC 4287 section 4.1.1: a feed needs an author unless every entry has one. The
        # publication itself stands in for entries without a byline.
        generator.author({"name": document.title, "uri": document.home_url})
    feed_extension: AtomFeedExtension = getattr(generator, EXTENSION_NAME)
    feed_extension.configure(document)

    for entry in document.entries if entries is None else entries:
        # add_entry() prepends by default, which would reverse our newest-first order.
        _fill_entry(generator.add_entry(order="append"), document, entry)

    body: bytes = generator.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return body


def _fill_entry(atom_entry: Any, document: FeedDocument, entry: FeedEntry) -> None:
    """Set one feedgen entry from ``entry`` (``atom_entry`` is a feedgen FeedEntry)."""
    atom_entry.id(entry.id)
    atom_entry.title(entry.title)
    atom_entry.updated(utc_seconds(entry.updated))
    atom_entry.published(utc_seconds(entry.published))
    if entry.authors:
        atom_entry.author([_person(author) for author in entry.authors])
    # type="html": escaped HTML; never "CDATA", which feedgen writes as an invalid media
    # type (python-feedgen#123).
    if entry.content_html is not None:
        atom_entry.content(entry.content_html, type="html")
    else:
        # Without content the alternate link stands for it (RFC 4287 section 4.1.1), and
        # feedgen refuses the entry unless it has one of its own: AtomEntryExtension, which
        # writes the entry's links whole (python-feedgen#135), drops this one.
        atom_entry.link(href=entry.url, rel="alternate")
    if entry.summary:
        atom_entry.summary(entry.summary, type="text")
    categories = entry_categories(document, entry)
    if categories:
        atom_entry.category(categories)
    # No atom_entry.link(): see AtomEntryExtension (python-feedgen#135).
    extension: AtomEntryExtension = getattr(atom_entry, EXTENSION_NAME)
    extension.configure(entry, feed_language=document.language)


def _person(author: Author) -> dict[str, str]:
    """An Atom person construct as feedgen wants it: name, then e-mail and URI when known."""
    person = {"name": author.name}
    if author.email:
        person["email"] = author.email
    if author.url:
        person["uri"] = author.url
    return person
