"""The migrations build exactly the schema the table definitions describe, on both
databases, and every one of them can be undone and done again."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from app.storage.database import Database
from app.storage.schema import downgrade_database
from app.storage.schema import schema_is_current
from app.storage.schema import upgrade_database
from app.storage.tables import Base
from app.storage.tables import FeedSnapshotRow


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


def test_every_migration_can_be_undone_and_redone(sqlite_url: str) -> None:
    database = Database(sqlite_url)
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
                session.add(
                    FeedSnapshotRow(
                        feed_key=key,
                        media_type="application/atom+xml",
                        body=b"<feed/>",
                        body_gzip=b"",
                        etag='"x"',
                        last_modified=modified,
                        rendered_at=rendered,
                    )
                )
        upgrade_database(database)
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
