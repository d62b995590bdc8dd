"""The list of the site's feeds, for readers who want several sections at once: an OPML 2.0
subscription list (http://opml.org/spec2.opml) of the site feed, then every collection
(curated and combined feeds), every section (category) and every author that holds a
public article.

Each outline names the Atom feed: of the three formats it is the one whose every text has
one meaning (RSS titles and descriptions leave readers guessing whether they hold HTML),
whose dates and ids every reader keeps, and that links its archive pages (RFC 5005), so a
reader that imports the list gets the same feed a reader that finds it on a page prefers.
Tags are left out: a newsroom has thousands, and a reader that imports a list subscribes
to all of it.

Contract: the document is made from the stored articles at each call, and the same
articles and settings give the same bytes (no clock: OPML's dates are optional).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence

from lxml import etree
from sqlalchemy.orm import Session

from app.collection_rules import COLLECTION
from app.documents import feed_title
from app.documents import page_url
from app.domain import SITE_SCOPE
from app.domain import FeedFormat
from app.domain import FeedScope
from app.domain import feed_key
from app.domain import feed_path
from app.selection import current_collections
from app.settings import Settings
from app.storage.article_rows import AUTHOR
from app.storage.article_rows import CATEGORY
from app.storage.database import Database
from app.storage.feeds import SnapshotRepository
from app.storage.scopes import public_scopes

OPML_PATH = "/feeds.opml"
#: No media type is registered for OPML; text/x-opml is the one readers and servers use.
OPML_MEDIA_TYPE = "text/x-opml; charset=utf-8"
OPML_SPEC = "http://opml.org/spec2.opml"
LISTED_FORMAT = FeedFormat.ATOM
#: The outlines that group the collections, the sections and the authors, in the site's
#: language.
_GROUP_NAMES = {
    COLLECTION: {"pt": "Coleções", "en": "Collections"},
    CATEGORY: {"pt": "Seções", "en": "Sections"},
    AUTHOR: {"pt": "Autores", "en": "Authors"},
}

Listed = Sequence[tuple[FeedScope, str]]


class FeedDirectory:
    """The site's list of feeds, over one database."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.db = database
        self.settings = settings

    def opml(self) -> bytes:
        """The OPML 2.0 document that lists the site feed, each collection's feed, each
        section's and each author's (those with a public article), as UTF-8 bytes."""
        with self.db.read() as session:
            groups = {COLLECTION: self._collections(session)}
            groups.update((kind, public_scopes(session, kind)) for kind in (CATEGORY, AUTHOR))
        return render_opml(self.settings, groups)

    def _collections(self, session: Session) -> Listed:
        """The collections whose feeds are stored (those with a public article), by slug,
        each with its title."""
        collections = current_collections(session, self.settings.declared_collections)
        keys = {feed_key(FeedScope.from_key(c.key), LISTED_FORMAT): c for c in collections}
        stored = SnapshotRepository(session).validators(keys)
        listed = [keys[key] for key in sorted(stored)]
        return [(FeedScope(COLLECTION, c.slug), c.title) for c in listed]


def render_opml(settings: Settings, groups: Mapping[str, Listed]) -> bytes:
    """An OPML 2.0 subscription list: the site feed, then an outline for each kind in
    ``groups`` that lists the feeds of its scopes (each with its name)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = settings.site_title
    etree.SubElement(head, "docs").text = OPML_SPEC
    body = etree.SubElement(root, "body")
    site = _feed_outline(body, settings, SITE_SCOPE, settings.site_title)
    if settings.site_description:
        site.set("description", settings.site_description)
    language = "pt" if settings.site_language.lower().startswith("pt") else "en"
    for kind, listed in groups.items():
        if listed:
            group = etree.SubElement(body, "outline", text=_GROUP_NAMES[kind][language])
            for scope, name in listed:
                _feed_outline(group, settings, scope, name)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)


def _feed_outline(
    parent: etree._Element, settings: Settings, scope: FeedScope, name: str
) -> etree._Element:
    # OPML 2.0: a subscription is type="rss" whatever the feed's format, with text (what
    # a reader shows) and xmlUrl; title is "probably the same as text". Both are the
    # feed's own title, so the subscription reads the same however it was added.
    title = feed_title(settings.site_title, scope, name)
    base = settings.base_url
    return etree.SubElement(
        parent,
        "outline",
        type="rss",
        text=title,
        title=title,
        xmlUrl=base + feed_path(scope, LISTED_FORMAT),
        htmlUrl=page_url(base, scope),
    )
