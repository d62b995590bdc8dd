"""The article use cases (create, edit, delete, read), independent of HTTP, CLI or scheduler.

Web views, CLI commands and the demo call :class:`Articles`; it raises only domain errors,
and ``now`` always comes from the caller. Every way in (the API, the CLI, an import) builds
articles with :func:`build_article`: one set of field rules, one content pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import fields
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from typing import Any

from app.content import absolute_url
from app.content import clean_image
from app.content import clean_text
from app.content import first_free_slug
from app.content import is_valid_slug
from app.content import make_excerpt
from app.content import make_slug
from app.content import render_body
from app.domain import ARCHIVE
from app.domain import SITE_SCOPE
from app.domain import Article
from app.domain import ArticlePage
from app.domain import ArticleStatus
from app.domain import Author
from app.domain import BodyFormat
from app.domain import FeedScope
from app.domain import Image
from app.domain import mint_article_id
from app.errors import ArticleMoved
from app.errors import ArticleNotFound
from app.errors import EditConflict
from app.errors import FieldError
from app.errors import InvalidInput
from app.errors import PayloadTooLarge
from app.inputs import ARTICLE_FIELDS
from app.inputs import INVALID_ARTICLE
from app.inputs import article_errors
from app.inputs import complete_image
from app.language_tags import is_language_tag
from app.selection import current_collections
from app.selection import scope_keys
from app.settings import Settings
from app.storage.articles import ArticleRepository
from app.storage.database import Database
from app.storage.feeds import FeedStateRepository
from app.storage.fragments import EntryFragmentRepository
from app.storage.sequence import Numbered
from app.storage.sequence import PublicationOrder
from app.storage.webhooks import announce_write

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArticleInput:
    """What a publisher sends for an article; validated by :func:`build_article`."""

    title: str
    body: str
    authors: tuple[Author, ...]
    body_format: BodyFormat = BodyFormat.MARKDOWN
    slug: str | None = None
    summary: str = ""
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    language: str | None = None
    image: Image | None = None
    full_text_in_feeds: bool = True
    published_at: datetime | None = None


#: What an edit may change: every field of the declaration (:class:`app.inputs.ArticleCreate`).
EDITABLE_FIELDS = frozenset(ARTICLE_FIELDS)

_INPUT_FIELDS = tuple(field.name for field in fields(ArticleInput))


class Articles:
    """The article use cases over one database: every write marks the feeds it changes."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.db = database
        self.settings = settings
        self._page_size: int | None = None

    def create_article(self, data: ArticleInput, now: datetime) -> Article:
        """Validate, clean and store a new article; mark its feeds stale.

        Raises:
            InvalidInput: a field is invalid (every bad field is named).
            PayloadTooLarge: the body is over ``api_max_body_bytes``.
            SlugTaken: the slug (given or made from the title) is in use.
        """
        slug_given = data.slug is not None
        # An article that arrives already published (an import, a story first run
        # elsewhere) was last changed when it was published, not when it reached us:
        # readers must not be told it was updated (RFC 4287 section 4.2.15).
        published = data.published_at
        updated_at = published if published is not None and published <= now else now
        article = build_article(
            data, self.settings, article_id=mint_article_id(self.settings.id_authority, now),
            created_at=now, updated_at=updated_at, revision=1,
        )  # fmt: skip
        with self.db.write() as session:
            repo = ArticleRepository(session)
            if not slug_given:
                article = replace(
                    article,
                    slug=first_free_slug(article.slug, lambda slug: not repo.slug_is_free(slug)),
                )
            order = PublicationOrder(session)
            stored, numbered = order.settle(repo.add(article), now, self.settings.feed_item_limit)
            FeedStateRepository(session).mark_dirty(self._scopes(order, [stored], numbered))
            announce_write(session, None, stored, self.settings.base_url, now)
        log.info("article created id=%s slug=%s", stored.id, stored.slug)
        return stored

    def update_article(
        self,
        article_id: str,
        changes: Mapping[str, Any],
        if_match: str | None,
        now: datetime,
        replace_all: bool = False,
        significant: bool = False,
    ) -> Article:
        """Apply ``changes`` (a merge patch, or a full replacement) to an article.

        ``if_match`` must name the article's current ETag; ``None`` skips the check (CLI).
        Only a ``significant`` edit moves ``updated_at`` (and so the entries' updated date
        in every feed); a silent correction changes the content and keeps the date, so
        readers are not told that an article changed when it did not.

        Raises:
            ArticleNotFound, ArticleGone, EditConflict, InvalidInput, PayloadTooLarge, SlugTaken.
        """
        unknown = sorted(set(changes) - EDITABLE_FIELDS)
        if unknown:
            raise InvalidInput(
                [FieldError(name, "is not a known field") for name in unknown], INVALID_ARTICLE
            )
        with self.db.write() as session:
            repo = ArticleRepository(session)
            current = repo.get(article_id)
            if if_match is not None and if_match != current.etag:
                raise EditConflict(current.etag)
            base = _input_of(current) if not replace_all else ArticleInput("", "", ())
            merged = replace(base, **dict(changes))
            if replace_all and "slug" not in changes:
                merged = replace(merged, slug=current.slug)
            article = build_article(
                merged,
                self.settings,
                article_id=current.id,
                created_at=current.created_at,
                updated_at=now if significant else current.updated_at,
                revision=current.revision + 1,
            )
            order = PublicationOrder(session)
            stored, numbered = order.settle(
                repo.replace(article, now), now, self.settings.feed_item_limit
            )
            FeedStateRepository(session).mark_dirty(
                self._scopes(order, [current, stored], numbered)
            )
            announce_write(session, current, stored, self.settings.base_url, now)
        log.info("article updated id=%s revision=%d", stored.id, stored.revision)
        return stored

    def delete_article(self, article_id: str, if_match: str | None, now: datetime) -> Article:
        """Delete an article: it leaves every feed and its page answers 410 Gone.

        Raises:
            ArticleNotFound, ArticleGone, EditConflict.
        """
        with self.db.write() as session:
            repo = ArticleRepository(session)
            current = repo.get(article_id)
            if if_match is not None and if_match != current.etag:
                raise EditConflict(current.etag)
            deleted = repo.delete(article_id, now)
            EntryFragmentRepository(session).delete_article(article_id)
            order = PublicationOrder(session)
            # Its page and feeds are those of its number, which it gives back.
            scopes = self._scopes(order, [current])
            order.forget(article_id)
            FeedStateRepository(session).mark_dirty(scopes)
            announce_write(session, current, deleted, self.settings.base_url, now, deleted=True)
        log.info("article deleted id=%s", article_id)
        return deleted

    def _scopes(
        self, order: PublicationOrder, articles: Iterable[Article], numbered: Numbered | None = None
    ) -> set[str]:
        """The feed scopes these articles are in (collections too), and the archive pages
        a numbering completed: what a write to them makes stale."""
        if self._page_size is None:  # fixed once set: read once per process
            self._page_size = order.page_size()
        collections = current_collections(order.session, self.settings.declared_collections)
        keys = scope_keys(articles, self._page_size, collections)
        if numbered is not None:
            keys.update(f"{ARCHIVE}/{page}" for page in numbered.completed_pages)
        return keys

    def get_article(self, article_id: str) -> Article:
        """Any live article by id, whatever its status (for the API).

        Raises:
            ArticleNotFound, ArticleGone.
        """
        with self.db.read() as session:
            return ArticleRepository(session).get(article_id)

    def list_articles(
        self, now: datetime, status: ArticleStatus | None, page: int, per_page: int
    ) -> ArticlePage:
        """A page of live articles, optionally of one status."""
        with self.db.read() as session:
            return ArticleRepository(session).list(now, status, page, per_page)

    def public_article(self, slug: str, now: datetime) -> Article:
        """The article readers may see at ``now`` under ``slug``.

        Raises:
            ArticleNotFound: no such slug, or a draft or scheduled article, or a former
                slug of one (a redirect would tell where it will be published).
            ArticleGone: it was deleted.
            ArticleMoved: ``slug`` is a former slug of a public article.
        """
        with self.db.read() as session:
            articles = ArticleRepository(session)
            try:
                article = articles.get_by_slug(slug)
            except ArticleMoved as moved:
                if not articles.get_by_slug(moved.current_slug).is_public(now):
                    raise ArticleNotFound(slug) from None
                raise
        if not article.is_public(now):
            raise ArticleNotFound(slug)
        return article

    def latest_public(
        self, now: datetime, limit: int, scope: FeedScope = SITE_SCOPE
    ) -> tuple[Article, ...]:
        """The newest public articles of the site, or of one category, tag or author."""
        with self.db.read() as session:
            return ArticleRepository(session).latest_public(scope, now, limit)


def build_article(
    data: ArticleInput,
    settings: Settings,
    *,
    article_id: str,
    created_at: datetime,
    updated_at: datetime,
    revision: int,
) -> Article:
    """The article ``data`` makes, checked and cleaned as every way in does (the API's field
    rules, sanitised HTML, absolute URLs, slug rules), with the given identity and times;
    nothing is stored.

    Raises:
        InvalidInput: a field is invalid (every bad field is named).
        PayloadTooLarge: the body is over ``api_max_body_bytes``.
    """
    checked = _checked_fields(data, settings)
    base_url = settings.base_url
    body_format = BodyFormat(data.body_format)
    body = clean_text(data.body)
    body_html = render_body(body, body_format, base_url)
    summary = clean_text(data.summary).strip()
    return Article(
        id=article_id,
        slug=checked.slug,
        title=checked.title,
        summary=summary,
        body=body,
        body_format=body_format,
        body_html=body_html,
        excerpt=make_excerpt(summary, body_html),
        authors=checked.authors,
        categories=checked.categories,
        tags=checked.tags,
        language=checked.language,
        # Every lead image becomes an enclosure: it needs a type and a length.
        image=clean_image(complete_image(data.image) if data.image else None, base_url),
        # Stored and compared in UTC: an archive month is a UTC month.
        published_at=data.published_at.astimezone(UTC) if data.published_at else None,
        created_at=created_at,
        updated_at=updated_at,
        revision=revision,
        full_text_in_feeds=data.full_text_in_feeds,
    )


@dataclass(frozen=True)
class _CheckedFields:
    """The fields whose rules need their cleaned values, cleaned and found valid."""

    title: str
    slug: str
    authors: tuple[Author, ...]
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    language: str


def _checked_fields(data: ArticleInput, settings: Settings) -> _CheckedFields:
    """The field rules every way in shares; then what only the cleaned values show. A body
    over the limit is refused at once; every other bad field is named together.

    Raises:
        InvalidInput, PayloadTooLarge.
    """
    errors = article_errors(asdict(data))

    def refuse(field: str, message: str) -> None:
        if all(error.field != field for error in errors):
            errors.append(FieldError(field, message))

    title = clean_text(data.title).strip()
    if not title:
        refuse("title", "must not be empty")
    _check_body_size(data.body, settings.api_max_body_bytes)
    slug = data.slug if data.slug is not None else make_slug(title or "artigo")
    if not is_valid_slug(slug):
        refuse("slug", "must be lowercase letters, digits and single hyphens")
    authors = _clean_authors(data.authors, settings.base_url, refuse)
    categories = _clean_terms(data.categories, "categories", refuse)
    tags = _clean_terms(data.tags, "tags", refuse)
    language = (data.language or settings.site_language).strip()
    if not is_language_tag(language):
        refuse("language", "must be a language tag such as pt-BR or en")
    if errors:
        raise InvalidInput(errors, INVALID_ARTICLE)
    return _CheckedFields(title, slug, authors, categories, tags, language)


def _check_body_size(body: str, limit: int) -> None:
    """Raises PayloadTooLarge if the cleaned body is over ``limit`` bytes in UTF-8."""
    if len(clean_text(body).encode("utf-8")) > limit:
        raise PayloadTooLarge(
            f"The article body is over the limit of {limit} bytes.",
            [FieldError("body", f"is over the limit of {limit} bytes (in UTF-8)")],
        )


def _clean_authors(
    authors: Iterable[Author], base_url: str, refuse: Callable[[str, str], None]
) -> tuple[Author, ...]:
    cleaned = tuple(
        Author(
            name=clean_text(a.name).strip(),
            email=clean_text(a.email).strip() if a.email else None,
            url=absolute_url(clean_text(a.url).strip(), base_url) if a.url else None,
        )
        for a in authors
    )
    if not cleaned:
        refuse("authors", "must name at least one author")
    for index, author in enumerate(cleaned):
        if not author.name:
            refuse(f"authors.{index}.name", "must not be empty")
    return cleaned


def _input_of(article: Article) -> ArticleInput:
    """What a publisher would send to make ``article`` as it is."""
    return ArticleInput(**{name: getattr(article, name) for name in _INPUT_FIELDS})


def _clean_terms(
    names: Iterable[str], field_name: str, refuse: Callable[[str, str], None]
) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for index, raw in enumerate(names):
        name = clean_text(raw).strip()
        if not name or len(name) > 100:
            refuse(f"{field_name}.{index}", "must be 1 to 100 characters")
            continue
        seen.setdefault(name.casefold(), name)
    return tuple(seen.values())
