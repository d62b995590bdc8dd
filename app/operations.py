"""What operators run against the database: the readiness check behind ``/readyz``, and
schema migration (``broadsheet migrate`` and ``broadsheet serve``)."""

from __future__ import annotations

from app.errors import StorageUnavailable
from app.storage.database import Database
from app.storage.schema import schema_is_current
from app.storage.schema import upgrade_database


class Operations:
    """Readiness and migration over one database."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def readiness(self) -> str | None:
        """Why the service is not ready to take writes, or ``None`` when it is."""
        try:
            self.db.ping()
            if not schema_is_current(self.db):
                return "schema not migrated"
        except StorageUnavailable:
            return "database unreachable"
        return None

    def migrate(self) -> None:
        """Bring the database schema to the newest migration."""
        upgrade_database(self.db)
