"""The database: one engine and session factory shared by web, scheduler and CLI.

SQLite gets WAL, a busy timeout, foreign keys and ``BEGIN IMMEDIATE`` for write units (a
deferred transaction that reads then writes is not retried by the busy handler once another
writer commits, and fails with "database is locked"). PostgreSQL runs the same code through
psycopg 3.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import exc
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from app.errors import StorageUnavailable

log = logging.getLogger(__name__)

_WRITE_OPTION = "broadsheet_write"
CONNECT_TIMEOUT_SECONDS = 5


class Database:
    """Owns the engine; hands out read and write sessions as context managers."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine = _create_engine(url, echo, self.is_sqlite)
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._write_engine, expire_on_commit=False)
        self._availability = _Availability()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads; it never writes and is rolled back at the end.

        Raises:
            StorageUnavailable: the database cannot be reached.
        """
        with self._translate_outage(), self._read_sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success.

        Raises:
            StorageUnavailable: the database cannot be reached.
        """
        with self._translate_outage(), self._write_sessions.begin() as session:
            yield session

    def ping(self) -> None:
        """Run ``SELECT 1``.

        Raises:
            StorageUnavailable: the database cannot be reached.
        """
        with self.read() as session:
            session.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def _translate_outage(self) -> Iterator[None]:
        """Turn a lost or refused connection into :class:`StorageUnavailable`.

        Nothing is retried here: a write that meets a dropped connection is rolled back by
        the server and refused to its caller (503), who may send it again. The pool needs no
        reset when the server comes back: SQLAlchemy discards connections that failed with a
        disconnect, and ``pool_pre_ping`` replaces the others at checkout.
        """
        try:
            yield
        except (exc.OperationalError, exc.InterfaceError) as error:
            if isinstance(error, exc.OperationalError) and not _is_outage(error):
                raise
            self._availability.failed(error.orig)
            raise StorageUnavailable("The database is unavailable.") from error
        else:
            self._availability.answered()


def _create_engine(url: str, echo: bool, is_sqlite: bool) -> Engine:
    options: dict[str, Any] = {"echo": echo}
    if is_sqlite:
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        # A connection that died while PostgreSQL restarted is replaced, not handed out.
        options["pool_pre_ping"] = True
        options["pool_size"] = 5
        options["max_overflow"] = 10
        if "connect_timeout" not in make_url(url).query:
            # A database host that drops packets must not hold a request (or a render) for
            # the operating system's TCP timeout of minutes: fail fast, answer 503, retry.
            options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    engine = create_engine(url, **options)
    if is_sqlite:
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module so that "begin" below decides
    # between BEGIN and BEGIN IMMEDIATE (SQLAlchemy SQLite dialect docs, "Serializable
    # isolation / Savepoints / Transactional DDL").
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin_sqlite_transaction(connection: Any) -> None:
    if connection.get_execution_options().get(_WRITE_OPTION):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


class _Availability:
    """Whether the database answered last time: an outage is logged when it starts and when
    it ends, not at every request or scheduler tick that meets it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_since: float | None = None

    def failed(self, cause: BaseException | None) -> None:
        with self._lock:
            if self._down_since is not None:
                return
            self._down_since = time.monotonic()
        log.warning("database unavailable: %s (logged once until it answers again)", cause)

    def answered(self) -> None:
        if self._down_since is None:  # the common case, without taking the lock
            return
        with self._lock:
            since, self._down_since = self._down_since, None
        if since is not None:
            log.warning("database available again after %.1f s", time.monotonic() - since)


def _is_outage(error: exc.OperationalError) -> bool:
    message = str(error.orig).lower()
    if error.connection_invalidated:
        return True
    return any(
        marker in message
        for marker in (
            "connection",
            "could not connect",
            "server closed",
            "terminating",
            "database is locked",
            "unable to open database",
            "the database system is",
        )
    )


def dialect_insert(session: Session, table: Any) -> Any:
    """An INSERT into ``table`` that can say what to do on a conflict (``ON CONFLICT``),
    in the session's own dialect: PostgreSQL and SQLite spell it the same, but each
    dialect builds its own statement."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
