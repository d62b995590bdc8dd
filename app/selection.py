"""Which articles each feed's documents hold, where they sit among the archives (RFC 5005),
the order the due feeds render in, and which feeds a write to an article changes: what ties
articles to feeds, apart from any I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.collection_rules import COLLECTION
from app.collection_rules import Collection
from app.collection_rules import Terms
from app.documents import History
from app.domain import ARCHIVE
from app.domain import ARTICLES_PER_SITEMAP
from app.domain import LISTING_SITEMAPS
from app.domain import NEWS_SITEMAP
from app.domain import SITE_SCOPE
from app.domain import SITEMAP
from app.domain import SITEMAP_INDEX
from app.domain import Article
from app.domain import ArticleVersion
from app.domain import FeedScope
from app.domain import article_sitemap
from app.storage.articles import ArticleRepository
from app.storage.collection_store import CollectionRepository
from app.storage.feeds import DueScope
from app.storage.sequence import Numbered
from app.storage.sequence import PublicationOrder


@dataclass(frozen=True)
class Selection:
    """The article versions a scope's documents hold, where they sit among the archives
    (RFC 5005), and when the next scheduled article changes them by itself."""

    versions: tuple[ArticleVersion, ...]
    history: History
    next_change: datetime | None
    has_document: bool = True
    #: How the scope's feeds are titled, when its articles do not say (a collection's).
    label: str | None = None
    #: The versions are in the editor's order, which the feeds keep (not by date).
    editor_order: bool = False


def select_versions(
    order: PublicationOrder,
    articles: ArticleRepository,
    scope: FeedScope,
    now: datetime,
    item_limit: int,
    declared: Iterable[Collection] = (),
) -> Selection:
    """Which articles a scope's documents hold at ``now`` (``item_limit`` in a
    subscription feed, or more in the site feed), and its place among the archives; read
    in the caller's transaction. ``declared``: the collections of the settings."""
    if scope.kind == COLLECTION:
        return _collection_selection(articles, scope, now, item_limit, declared)
    complete, page_size = order.complete_pages()
    if scope.kind == ARCHIVE:
        # RFC 5005 section 4: an archive's entries do not change, so a page exists
        # once it is complete; only edits and deletions of its own articles
        # change it. It links to the page before it, not to the one after (a link
        # that would change its bytes when that page completes).
        page = page_number(scope.value)
        history = History(older=str(page - 1) if page else None, newer=None)
        if page is None or page >= complete:
            return Selection((), history, None, has_document=False)
        first = page * page_size
        return Selection(articles.page_versions(first, first + page_size), history, None)
    limit = item_limit
    if scope == SITE_SCOPE:
        # Every article after the newest complete page stays in the subscription
        # feed, or an archive walk would miss it (fewer than a page, unless item_limit
        # was lowered after the first number).
        limit = max(limit, articles.public_count_from(complete * page_size))
    versions = articles.public_versions(scope, limit)
    older = str(complete - 1) if complete and scope == SITE_SCOPE else None
    return Selection(
        versions,
        History(older=older, newer=None),
        articles.next_publication(scope, now),
        has_document=bool(versions) or scope == SITE_SCOPE,
    )


def _collection_selection(
    articles: ArticleRepository,
    scope: FeedScope,
    now: datetime,
    item_limit: int,
    declared: Iterable[Collection],
) -> Selection:
    """A collection's public articles (none, and no document, for a collection that is
    gone); no archives of its own, as a section's feed has none."""
    collection = find_collection(articles.session, declared, scope.value)
    if collection is None:
        return Selection((), History(None, None), None, has_document=False)
    versions = articles.collection_versions(collection, item_limit)
    return Selection(
        versions,
        History(None, None),
        articles.next_publication(scope, now, collection),
        has_document=bool(versions),
        label=collection.title,
        editor_order=collection.articles is not None,
    )


def current_collections(session: Session, declared: Iterable[Collection]) -> list[Collection]:
    """Every collection: those of the settings, then those stored (a small table, read
    per write); a slug of the settings is never stored."""
    collections = list(declared)
    slugs = {collection.slug for collection in collections}
    stored = CollectionRepository(session).all()
    return collections + [collection for collection in stored if collection.slug not in slugs]


def find_collection(
    session: Session, declared: Iterable[Collection], slug: str
) -> Collection | None:
    """The collection ``slug``, of the settings or stored; None if there is none."""
    for collection in declared:
        if collection.slug == slug:
            return collection
    return CollectionRepository(session).get(slug)


def page_number(value: str) -> int | None:
    """The archive page a URL or scope key names (``0``, ``1``...), or ``None``."""
    if not value.isascii() or not value.isdigit() or (value != "0" and value.startswith("0")):
        return None
    return int(value)


def render_priority(
    due: DueScope, complete_pages: int
) -> tuple[bool, bool, bool, bool, bool, bool, int, str]:
    """The sort key of due feeds: feeds with news (writes, scheduled articles now public)
    before a rebuild's; within each, the site feed first, then the other subscription feeds,
    archives (the largest and least read documents) last, the newest page first. One
    exception: the newest complete archive page goes first when it has news, because when
    a write completes a page the site feed's ``prev-archive`` link (RFC 5005) starts to
    point at it, and a reader who follows it must find it. Only that page: an import that
    completes a thousand pages must not hold the subscription feeds back behind them.

    The sitemaps come after the subscription feeds and before the archives, the index after
    the other sitemaps: the listing pages' sitemap lists the scopes whose feeds are stored,
    and the index each sitemap with when it last changed."""
    scope = FeedScope.from_key(due.scope_key)
    archive = scope.kind == ARCHIVE
    page = page_number(scope.value) if archive else None
    linked_page = due.written and page is not None and page == complete_pages - 1
    newest_first = -(page or 0)
    return (
        not due.written,
        not linked_page,
        archive,
        scope.kind == SITEMAP,
        scope == SITEMAP_INDEX,
        scope != SITE_SCOPE,
        newest_first,
        due.scope_key,
    )


def scope_keys(
    articles: Iterable[Article], page_size: int | None, collections: Sequence[Collection] = ()
) -> set[str]:
    """The feed scopes a write to these articles makes stale: the site, and each article's
    categories, tags, authors, archive page (if it is numbered and ``page_size`` is
    given: a page that is not complete yet has no document, and its render does nothing)
    and the ``collections`` that hold it; and, for an article that is or was public, its
    sitemap and those every such write changes (:data:`_WRITTEN_SITEMAPS`)."""
    keys = {SITE_SCOPE.key}
    for article in articles:
        if article.sequence is not None and page_size:
            keys.add(f"{ARCHIVE}/{article.sequence // page_size}")
        if article.sequence is not None:
            keys.update((article_sitemap(article.sequence).key, *_WRITTEN_SITEMAPS))
        terms = article_terms(article)
        keys.update(f"category/{slug}" for slug in terms.categories)
        keys.update(f"tag/{slug}" for slug in terms.tags)
        keys.update(f"author/{slug}" for slug in terms.authors)
        keys.update(c.key for c in collections if c.holds(article.id, terms))
    return keys


def article_terms(article: Article) -> Terms:
    """The slugs of an article's categories, tags and authors, which collections match."""
    authors = (author.name for author in article.authors)
    return Terms.of_names(article.categories, article.tags, authors)


#: The sitemaps a write to a public article changes, besides its own article sitemap: the
#: news sitemap and the index (the listing pages' changes only when a feed comes or goes,
#: and that feed's render marks it). Marked with the write, they render after its feeds,
#: the index last, in the same pass (see :func:`render_priority`).
_WRITTEN_SITEMAPS = (NEWS_SITEMAP.key, SITEMAP_INDEX.key)


def numbered_sitemap_keys(numbered: Numbered) -> set[str]:
    """The sitemap scopes a numbering changes (articles that became public by their time,
    or an import): the article sitemaps of the new numbers, and :data:`_WRITTEN_SITEMAPS`."""
    if not numbered.count:
        return set()
    first, last = numbered.first, numbered.first + numbered.count - 1
    start = first - first % ARTICLES_PER_SITEMAP
    sitemaps = range(start, last + 1, ARTICLES_PER_SITEMAP)
    return {*(article_sitemap(number).key for number in sitemaps), *_WRITTEN_SITEMAPS}


def all_sitemap_keys(newest_number: int | None) -> set[str]:
    """Every sitemap scope of a site whose newest public article holds ``newest_number``
    (a rebuild renders them all: the article sitemaps of a site that has just been
    upgraded, too), but robots.txt, which a scheduler checks when it starts."""
    keys = {LISTING_SITEMAPS.key, *_WRITTEN_SITEMAPS}
    if newest_number is not None:
        keys.update(
            article_sitemap(number).key
            for number in range(0, newest_number + 1, ARTICLES_PER_SITEMAP)
        )
    return keys


def is_article_sitemap(scope_key: str) -> bool:
    """Whether ``scope_key`` is an article sitemap's: like an archive page, it changes only
    by writes, which mark it, so the periodic safety net leaves it alone."""
    return scope_key.startswith(f"{SITEMAP}/articles-")
