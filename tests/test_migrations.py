"""The migrations build exactly the schema the table definitions describe, on both
databases, and every one of them can be undone and done again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.storage.database import Database
from app.storage.schema import downgrade_database
from app.storage.schema import schema_is_current
from app.storage.schema import upgrade_database
from app.storage.tables import Base


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
