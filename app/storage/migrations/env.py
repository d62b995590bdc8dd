"""Alembic environment: run by ``broadsheet migrate`` (app.storage.schema), never on import."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from app.storage.tables import Base

# Serialises concurrent `migrate` runs on PostgreSQL (Alembic has none of its own,
# sqlalchemy/alembic#633); released when the migration connection closes.
MIGRATION_LOCK = 0x62736D67

connection = context.config.attributes["connection"]
is_sqlite = connection.dialect.name == "sqlite"
if not is_sqlite:
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=is_sqlite,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
if not is_sqlite:
    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
