"""Fixtures: a real database per test (an SQLite file, and PostgreSQL where reachable),
a fake clock (the only fake), the app, its services and an API token.

PostgreSQL runs at ``TEST_POSTGRES_URL`` (default: the local server, trust auth).
Where it cannot be reached its tests skip with the reason; with
``REQUIRE_POSTGRES=1`` (set by ``.ci/run``) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import click.testing
import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from app.access import Access
from app.articles import Articles
from app.cli import CommandEnvironment
from app.cli import main
from app.feeds import StoredFeeds
from app.renderer import FeedRenderer
from app.services import Services
from app.services import build_services
from app.storage.database import Database
from app.storage.schema import upgrade_database
from app.storage.tables import Base
from app.web.application import close_app
from app.web.application import create_app

POSTGRES_ADMIN = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
BASE_URL = "https://news.example.org"


@dataclass
class FakeClock:
    """The one fake: a clock that moves only when told."""

    now: datetime = START
    ticks: list[datetime] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass(frozen=True)
class Cli:
    """The ``broadsheet`` command run in this process on the test's clock, as a
    deployment runs it on the system's: no test mixes a fake date with the real clock."""

    clock: FakeClock

    def __call__(
        self, env: dict[str, str], *args: str, stdin: bytes | str | None = None
    ) -> click.testing.Result:
        return click.testing.CliRunner().invoke(
            main, list(args), env=env, input=stdin, obj=CommandEnvironment(self.clock)
        )


@pytest.fixture
def cli(clock: FakeClock) -> Cli:
    return Cli(clock)


def _postgres_reachable() -> str | None:
    try:
        with psycopg.connect(POSTGRES_ADMIN, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN}: {error}".strip()
    return None


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated once."""
    problem = _postgres_reachable()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(problem)
        pytest.skip(problem)
    name = f"broadsheet_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{url}/{name}"
    database = Database(url)
    upgrade_database(database)
    database.dispose()
    try:
        yield url
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated once per session; tests get copies of it."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    database = Database(f"sqlite:///{path}")
    upgrade_database(database)
    with database.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: an SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_url")
        return
    url = request.getfixturevalue("postgres_database")
    yield url
    database = Database(url)
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    database.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_sqlite_file: Path) -> str:
    """A migrated SQLite file of this test's own (for tests about SQLite itself, too)."""
    path = tmp_path / "broadsheet.db"
    shutil.copyfile(migrated_sqlite_file, path)
    return f"sqlite:///{path}"


def settings_for(database_url: str, **extra: Any) -> dict[str, Any]:
    """Overrides that make a test deterministic: fixed base URL, language and limits."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "site_base_url": BASE_URL,
        "site_title": "Gazeta de Teste",
        "site_description": "Notícias de teste.",
        "site_language": "pt-BR",
        "site_timezone": "America/Sao_Paulo",
        "site_id_authority": "news.example.org",
        "feed_item_limit": 10,
        "feed_regenerate_seconds": 120,
        # Tests change feeds and read them at once: check before every request.
        "server_feed_refresh_seconds": 0,
        # Tests move the fake clock by hours; poll counts are flushed explicitly, never by
        # a background thread that could outlive the test's database.
        "stats_flush_seconds": 3600,
    }
    values.update(extra)
    return values


@pytest.fixture
def overrides(database_url: str) -> dict[str, Any]:
    return settings_for(database_url)


@pytest.fixture
def services(overrides: dict[str, Any], clock: FakeClock) -> Iterator[Services]:
    built = build_services(overrides, clock=clock, environ={})
    yield built
    built.database.dispose()


@pytest.fixture
def app(overrides: dict[str, Any], clock: FakeClock) -> Iterator[Flask]:
    application = create_app(overrides, clock=clock, environ={})
    yield application
    close_app(application)


@pytest.fixture
def articles(app: Flask) -> Articles:
    found: Articles = app.extensions["broadsheet"].articles
    return found


@pytest.fixture
def feeds(app: Flask) -> StoredFeeds:
    found: StoredFeeds = app.extensions["broadsheet"].feeds
    return found


@pytest.fixture
def renderer(app: Flask) -> FeedRenderer:
    found: FeedRenderer = app.extensions["broadsheet"].renderer
    return found


@pytest.fixture
def access(app: Flask) -> Access:
    found: Access = app.extensions["broadsheet"].access
    return found


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def token(app: Flask, clock: FakeClock) -> str:
    """The secret of an active API token named "tests"."""
    _, secret = app.extensions["broadsheet"].access.create_token("tests", clock())
    return str(secret)


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
