"""Table definitions (SQLAlchemy 2 typed declarative). Only storage modules import this."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import text
from sqlalchemy import true
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zone type and hands back naive values even for
    ``DateTime(timezone=True)``; we store UTC there and attach UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; times must be aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# The longest reporter key kept (a User-Agent with its subscriber count blanked out).
REPORTER_CHARS = 500

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ArticleRow(Base):
    __tablename__ = "articles"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(200), unique=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    body_format: Mapped[str] = mapped_column(String(16))
    body_html: Mapped[str] = mapped_column(Text)
    excerpt: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(35))
    image_url: Mapped[str | None] = mapped_column(Text)
    image_type: Mapped[str | None] = mapped_column(String(255))
    image_length: Mapped[int | None] = mapped_column(BigInteger)
    image_width: Mapped[int | None] = mapped_column(Integer)
    image_height: Mapped[int | None] = mapped_column(Integer)
    image_caption: Mapped[str | None] = mapped_column(Text)
    image_credit: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revision: Mapped[int] = mapped_column(Integer)
    # Its place in publication order, given when it became public (see
    # app/storage/sequence.py); archive page k holds sequences [k*P, (k+1)*P).
    sequence: Mapped[int | None] = mapped_column(BigInteger)
    # False: every feed carries its summary only (the rows before 0015 carried it all).
    full_text_in_feeds: Mapped[bool] = mapped_column(Boolean, server_default=true())

    authors: Mapped[list[ArticleAuthorRow]] = relationship(
        order_by="ArticleAuthorRow.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    terms: Mapped[list[ArticleTermRow]] = relationship(
        order_by="(ArticleTermRow.kind, ArticleTermRow.position)",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    __table_args__ = (
        # The hot query of every feed: live articles, newest first. Partial, so that
        # PostgreSQL walks it in order (it does not treat IS NULL as an equality).
        Index(
            "ix_articles_live_published",
            "published_at",
            "pk",
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_articles_updated", "updated_at"),
        # Partial: drafts, scheduled and deleted articles hold no number, and a query for
        # those without one must take ix_articles_unnumbered, not an equality on NULL here.
        Index(
            "ix_articles_sequence",
            "sequence",
            unique=True,
            sqlite_where=text("sequence IS NOT NULL"),
            postgresql_where=text("sequence IS NOT NULL"),
        ),
        # Public articles not numbered yet: few at any time, found without a scan.
        Index(
            "ix_articles_unnumbered",
            "published_at",
            "pk",
            sqlite_where=text("sequence IS NULL AND deleted_at IS NULL"),
            postgresql_where=text("sequence IS NULL AND deleted_at IS NULL"),
        ),
    )


class ArticleAuthorRow(Base):
    __tablename__ = "article_authors"

    article_pk: Mapped[int] = mapped_column(
        ForeignKey("articles.pk", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    slug: Mapped[str] = mapped_column(String(120))
    # The article's publication sequence number, kept equal to it (app/storage/sequence.py):
    # a scope feed's newest entries are the first rows of an index walk, not a sort of
    # every article in the scope.
    sequence: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_article_authors_scope", "slug", "sequence", "article_pk"),)


class ArticleTermRow(Base):
    __tablename__ = "article_terms"

    article_pk: Mapped[int] = mapped_column(
        ForeignKey("articles.pk", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    slug: Mapped[str] = mapped_column(String(120))
    # As ArticleAuthorRow.sequence.
    sequence: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_article_terms_scope", "kind", "slug", "sequence", "article_pk"),)


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # The non-secret part of the token, by which it is found (see app/storage/tokens.py).
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SubscriberRow(Base):
    """A private feed subscriber (a licensed partner, a paying reader): the feed key is
    kept as tokens are, its non-secret part to find it and the SHA-256 of the rest."""

    __tablename__ = "subscribers"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The profile of every feed the subscriber reads (app/profiles.py): full, summary...
    profile: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CollectionRow(Base):
    """A curated or combined feed declared over the API (those in the settings are not
    stored): its title and its definition, rules over terms or an editor's ordered list of
    article ids, as JSON."""

    __tablename__ = "collections"

    slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    definition: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FeedSnapshotRow(Base):
    __tablename__ = "feed_snapshots"

    feed_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_gzip: Mapped[bytes] = mapped_column(LargeBinary)
    etag: Mapped[str] = mapped_column(String(64))
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime())
    rendered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When the document next changes by itself (a scheduled article goes public); caches
    # must not keep it past then.
    fresh_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    surrogate_keys: Mapped[str | None] = mapped_column(Text)  # app/surrogate_keys.py

    # Web processes compare ETags and fresh-until times without reading the bodies (on
    # SQLite the columns after the two blobs sit in overflow pages; the index answers on
    # its own, and must hold every column that comparison reads).
    __table_args__ = (Index("ix_feed_snapshots_versions", "feed_key", "etag", "fresh_until"),)


class EntryFragmentRow(Base):
    """An article's feed entry as rendered, in the three formats, for one rendering
    context (this rendering code and the settings that show in feeds, the feed's language
    and the site's address): what feeds are joined from, so that a feed is rendered again
    without rendering its entries again, in any process. Current while the article's
    revision and update time are the ones stored with it."""

    __tablename__ = "entry_fragments"

    # The article first: feeds look entries up by a list of article ids (IN), which the
    # primary key's index then answers row by row, however many entries are stored.
    article_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    context: Mapped[str] = mapped_column(String(100), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # zlib of the RSS item, the Atom entry and the JSON Feed item, one after the other;
    # ``lengths`` says where each ends ("rss,atom,json" byte counts).
    lengths: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)


class SiteIdentityRow(Base):
    """One row: what the site's feed ids start with, fixed when the first feed was rendered
    (RFC 4287 section 4.2.6: an id never changes, not even when the site's host does)."""

    __tablename__ = "site_identity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id_prefix: Mapped[str] = mapped_column(String(300))
    # What the stored feeds were rendered with (see FeedRenderer.rebuild_if_changed).
    render_fingerprint: Mapped[str | None] = mapped_column(String(64))


class PublicationCounterRow(Base):
    """One row: the next publication sequence number, and how many articles an archive
    page holds, fixed when the first article was numbered (a page's articles never
    change with the settings)."""

    __tablename__ = "publication_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_sequence: Mapped[int] = mapped_column(BigInteger)
    page_size: Mapped[int] = mapped_column(Integer)


class SnapshotGenerationRow(Base):
    """One row whose counter grows with every render pass that changed a snapshot, so
    web processes learn of new feed bytes with one primary-key read."""

    __tablename__ = "snapshot_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class FeedStateRow(Base):
    """Which feeds need rendering: a write bumps ``dirty_version``; a render catches up.
    A rebuild sets ``stale_since`` instead, so that writes are rendered before it."""

    __tablename__ = "feed_states"

    scope_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    dirty_version: Mapped[int] = mapped_column(BigInteger, default=0)
    rendered_version: Mapped[int] = mapped_column(BigInteger, default=0)
    next_change_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A scheduler rendering this scope holds it until then (see FeedStateRepository.claim).
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A rebuild asked for then, and no render has started since.
    stale_since: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ArticleSlugRow(Base):
    """A slug an article used to have: its old permalink answers 301 to the current one."""

    __tablename__ = "article_slugs"

    slug: Mapped[str] = mapped_column(String(120), primary_key=True)
    article_pk: Mapped[int] = mapped_column(
        ForeignKey("articles.pk", ondelete="CASCADE"), index=True
    )
    retired_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LegacyPathRow(Base):
    """A path of the site an import came from (``/2020/05/04/a-post/``, ``/?p=42``):
    a request for it answers 301 to the article's page."""

    __tablename__ = "legacy_paths"

    path: Mapped[str] = mapped_column(String(500), primary_key=True)
    article_pk: Mapped[int] = mapped_column(
        ForeignKey("articles.pk", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebSubOutboxRow(Base):
    """A pending WebSub publish notification: one row per hub and topic, delivered with
    retries. ``generation`` grows with every change, so a delivery that raced a newer
    change does not delete the newer notification."""

    __tablename__ = "websub_outbox"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hub_url: Mapped[str] = mapped_column(String(2000))
    topic_url: Mapped[str] = mapped_column(String(2000))
    generation: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("hub_url", "topic_url"),)


class FeedStatsRow(Base):
    """Per feed and UTC day: how it was polled."""

    __tablename__ = "feed_stats"

    feed_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    not_modified: Mapped[int] = mapped_column(BigInteger, default=0)
    throttled: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_sent: Mapped[int] = mapped_column(BigInteger, default=0)


class FeedClientRow(Base):
    """Per feed, UTC day and client family (e.g. "Feedly"): requests."""

    __tablename__ = "feed_client_days"

    feed_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    family: Mapped[str] = mapped_column(String(100), primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())


class SubscriberReportRow(Base):
    """Per feed, client family and reporter: the subscriber count it last reported."""

    __tablename__ = "feed_subscriber_reports"

    feed_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    family: Mapped[str] = mapped_column(String(100), primary_key=True)
    reporter: Mapped[str] = mapped_column(String(REPORTER_CHARS), primary_key=True)
    subscribers: Mapped[int] = mapped_column(BigInteger)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
