"""The migrations build exactly the schema the table definitions describe, on both
databases, and every one of them can be undone and done again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import feedparser
import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text

from app.domain import ARCHIVE
from app.domain import SITE_SCOPE
from app.domain import FeedFormat
from app.domain import FeedScope
from app.services import build_services
from app.storage.database import Database
from app.storage.schema import downgrade_database
from app.storage.schema import schema_is_current
from app.storage.schema import upgrade_database
from app.storage.tables import Base
from app.storage.tables import FeedSnapshotRow
from tests.conftest import POSTGRES_ADMIN
from tests.conftest import REQUIRE_POSTGRES
from tests.conftest import FakeClock
from tests.conftest import _postgres_reachable
from tests.conftest import settings_for
from tests.factories import article_input


def _differences(database: Database) -> list[object]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_the_migrated_schema_is_the_table_definitions(database_url: str) -> None:
    database = Database(database_url)
    try:
        assert schema_is_current(database)
        assert _differences(database) == []
    finally:
        database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated database of this test's own: an SQLite file, or a PostgreSQL database
    created for it and dropped after (never the session's, which other tests share)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_url")
        return
    problem = _postgres_reachable()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(problem)
        pytest.skip(problem)
    name = f"broadsheet_migrations_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    server = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{server}/{name}"
    try:
        database = Database(url)
        upgrade_database(database)
        database.dispose()
        yield url
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_every_migration_can_be_undone_and_redone(scratch_url: str) -> None:
    database = Database(scratch_url)
    try:
        downgrade_database(database, "base")
        assert not schema_is_current(database)
        upgrade_database(database)
        assert schema_is_current(database)
        assert _differences(database) == []
    finally:
        database.dispose()


def test_a_snapshot_dated_before_its_render_is_dated_when_it_was_rendered(
    sqlite_url: str,
) -> None:
    """0009: Last-Modified is when the bytes existed, never an old entry's date."""
    database = Database(sqlite_url)
    rendered = datetime(2026, 11, 2, 12, tzinfo=UTC)
    try:
        downgrade_database(database, "0008")
        with database.write() as session:
            for key, modified in (("archive/0001-01:atom", datetime(1, 1, 2, tzinfo=UTC)),
                                  ("site:atom", rendered - timedelta(seconds=1)),
                                  ("site:rss", rendered + timedelta(seconds=1))):  # fmt: skip
                # The columns of 0008 only (an ORM row would write those added since).
                session.execute(
                    insert(FeedSnapshotRow).values(
                        feed_key=key,
                        media_type="application/atom+xml",
                        body=b"<feed/>",
                        body_gzip=b"",
                        etag='"x"',
                        last_modified=modified,
                        rendered_at=rendered,
                    )
                )
        upgrade_database(database, "0009")
        with database.read() as session:
            rows = session.execute(select(FeedSnapshotRow.feed_key, FeedSnapshotRow.last_modified))
            dates = {key: modified for key, modified in rows}
        assert dates == {
            "archive/0001-01:atom": rendered,
            "site:atom": rendered,
            "site:rss": rendered + timedelta(seconds=1),
        }
    finally:
        database.dispose()


@pytest.mark.postgres
def test_a_site_with_period_archives_moves_to_archive_pages(
    scratch_url: str, clock: FakeClock
) -> None:
    """0010: a site whose archives were months (or days, or hours) keeps every article and
    every entry id; its first render numbers the back catalogue in date order and makes
    the pages, and its period archives are gone (their URLs redirect)."""
    overrides = settings_for(scratch_url, feed_item_limit=3)
    built = build_services(overrides, clock=clock, environ={})
    ids = []
    for days_ago in (200, 3, 90, 40, 1, 60, 10):
        when = clock() - timedelta(days=days_ago)
        ids.append(built.articles.create_article(article_input(published_at=when), clock()).id)
    built.database.dispose()
    database = Database(scratch_url)
    try:
        downgrade_database(database, "0009")
        with database.write() as session:
            for key in ("archive/2026-08", "archive/2026-10-23", "archive/2026-11-01T09"):
                session.execute(
                    text("INSERT INTO feed_states (scope_key, dirty_version, rendered_version)"
                         " VALUES (:key, 1, 1)"), {"key": key},
                )  # fmt: skip
        upgrade_database(database)
        with database.read() as session:
            left = session.scalar(
                text("SELECT count(*) FROM feed_states WHERE scope_key LIKE 'archive/%'")
            )
        assert left == 0
    finally:
        database.dispose()
    built = build_services(overrides, clock=clock, environ={})
    try:
        feeds = built.feeds
        renderer = built.renderer
        renderer.render_due_feeds(clock())
        pages = [feeds.feed_snapshot(FeedScope(ARCHIVE, page), FeedFormat.ATOM) for page in "01"]
        archived = [entry.id for page in pages for entry in feedparser.parse(page.body).entries]
        site = feedparser.parse(feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM).body)
        assert sorted([*archived, site.entries[0].id]) == sorted(ids)
        # In date order: the oldest three on page 0.
        oldest = [ids[0], ids[2], ids[5]]
        assert sorted(entry.id for entry in feedparser.parse(pages[0].body).entries) == sorted(
            oldest
        )
        assert feeds.archive_for_period("2026-08", clock()) == FeedScope(ARCHIVE, "0")
        assert feeds.archive_for_period("2026-10", clock()) == FeedScope(ARCHIVE, "1")
        assert feeds.archive_for_period("2026-11", clock()) == SITE_SCOPE
    finally:
        built.database.dispose()


def test_scope_rows_get_their_article_s_number_and_deleted_articles_give_it_back(
    scratch_url: str, clock: FakeClock
) -> None:
    """0012: the author and term rows of a site stored before it carry their article's
    number, a deleted article holds none, and the scope feeds list what they did."""
    overrides = settings_for(scratch_url, feed_item_limit=3)
    built = build_services(overrides, clock=clock, environ={})
    articles = built.articles
    kept = [
        articles.create_article(article_input(title=f"N{n}", published_at=clock()), clock())
        for n in range(4)
    ]
    gone = articles.create_article(article_input(published_at=clock()), clock())
    built.database.dispose()
    database = Database(scratch_url)
    try:
        downgrade_database(database, "0011")
        with database.write() as session:
            # Before 0012 a deleted article kept its number.
            session.execute(
                text("UPDATE articles SET deleted_at = :now, sequence = 4 "
                     "WHERE public_id = :id"), {"now": clock(), "id": gone.id},
            )  # fmt: skip
        upgrade_database(database)
        with database.read() as session:
            rows = session.execute(
                text(
                    "SELECT a.public_id, a.sequence, t.sequence FROM articles a "
                    "JOIN article_terms t ON t.article_pk = a.pk UNION ALL "
                    "SELECT a.public_id, a.sequence, w.sequence FROM articles a "
                    "JOIN article_authors w ON w.article_pk = a.pk"
                )
            ).all()
    finally:
        database.dispose()
    numbers = {article.id: number for number, article in enumerate(kept)}
    assert {(article_id, own) for article_id, _, own in rows} == {
        *((article_id, number) for article_id, number in numbers.items()),
        (gone.id, None),
    }
    assert all(own == article for _, article, own in rows)
    built = build_services(overrides, clock=clock, environ={})
    try:
        built.renderer.render_due_feeds(clock())
        body = built.feeds.feed_snapshot(FeedScope("category", "politica"), FeedFormat.ATOM)
        listed = [entry.id for entry in feedparser.parse(body.body).entries]
        assert listed == [kept[3].id, kept[2].id, kept[1].id]
    finally:
        built.database.dispose()


@pytest.mark.postgres
def test_every_article_stored_before_carries_its_full_text_in_feeds(
    scratch_url: str, clock: FakeClock
) -> None:
    """0015: articles stored before the flag existed keep their full text in feeds; the
    flag is a column of its own, which a downgrade drops and an upgrade gives back true."""
    overrides = settings_for(scratch_url)
    built = build_services(overrides, clock=clock, environ={})
    articles = built.articles
    before = articles.create_article(article_input(published_at=clock()), clock())
    kept_out = articles.create_article(
        article_input(title="Da agência", full_text_in_feeds=False), clock()
    )
    assert articles.get_article(kept_out.id).full_text_in_feeds is False
    built.database.dispose()
    database = Database(scratch_url)
    try:
        downgrade_database(database, "0014")
        with database.read() as session:
            columns = session.execute(text("SELECT * FROM articles")).keys()
        assert "full_text_in_feeds" not in columns
        upgrade_database(database)
    finally:
        database.dispose()
    built = build_services(overrides, clock=clock, environ={})
    try:
        for article in (before, kept_out):
            assert built.articles.get_article(article.id).full_text_in_feeds is True
    finally:
        built.database.dispose()
