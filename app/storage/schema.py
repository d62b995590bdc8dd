"""Schema migrations with Alembic, run as an explicit step (``broadsheet migrate``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from app.storage.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database.url.render_as_string(hide_password=False))
    return config


def upgrade_database(database: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest)."""
    config = _config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade_database(database: Database, revision: str) -> None:
    """Take the schema back to ``revision`` (``"base"``: no tables); for tests and operators
    undoing an upgrade."""
    config = _config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def schema_is_current(database: Database) -> bool:
    """Whether the database is at the newest migration.

    Raises:
        StorageUnavailable: the database cannot be reached.
    """
    heads = set(ScriptDirectory.from_config(_config(database)).get_heads())
    with database.read() as session:
        current = set(MigrationContext.configure(session.connection()).get_current_heads())
    return current == heads
