"""`Database`: one async engine per process, migrated to head on `connect()`.

Supported URLs: ``sqlite+aiosqlite:///<path>``, ``postgresql+asyncpg://...`` and
``mysql+aiomysql://...`` (MariaDB). The same code and schema run on all three.

Guarantees and the awkward cases:

- `connect()` applies the Alembic migrations up to head before returning, so the schema
  is always current once it returns; several replicas may start at once (see
  `catalyst.store.migrate` for how that is serialised). It also proves the database is
  reachable: a wrong URL fails here, not on the first request.
- `read()` and `write()` hand out an `AsyncConnection` inside one transaction. `write()`
  commits when the block ends normally and rolls back on any exception; `read()` always
  rolls back (it never writes).
- SQLite: Python's sqlite3 driver does its own, non-standard transaction handling (no
  BEGIN before SELECT or DDL). We switch that off and emit BEGIN ourselves, so reads are
  repeatable and DDL is transactional. Write transactions start with ``BEGIN IMMEDIATE``:
  they take SQLite's single write lock up front (waiting up to the busy timeout) instead
  of failing with "database is locked" when a read transaction later tries to write.
  A file database runs in WAL mode (readers never block the writer), with foreign keys
  enforced. WAL is switched on once, in `connect()`, and retried there: the switch needs
  the file to itself, and SQLite answers "database is locked" at once (no busy wait)
  when replicas starting together collide on it.
- MariaDB: connections use utf8mb4 and READ COMMITTED, like PostgreSQL's default, so
  optimistic locking and the inventory rewrite behave the same on both servers (and
  InnoDB takes no gap locks that could deadlock two unrelated environments).
- Pooled server connections are pinged before use (a database restart or MariaDB's idle
  timeout costs a reconnect, not a failed request) and recycled after 30 minutes.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from catalyst.store import json_codec
from catalyst.store.migrate import upgrade_to_head

log = logging.getLogger(__name__)

SQLITE_FILE_NAME = "catalyst.db"
SQLITE_BUSY_TIMEOUT_MS = 15_000

# Execution option that makes the SQLite begin hook take the write lock at once.
_SQLITE_IMMEDIATE = "catalyst_sqlite_immediate"


def sqlite_url_for(data_dir: Path) -> str:
    """URL of the embedded default database: ``<data_dir>/catalyst.db``.

    The directory must exist (creating it is the caller's job); the file itself is
    created by `Database.connect()`.
    """
    return f"sqlite+aiosqlite:///{(data_dir / SQLITE_FILE_NAME).resolve()}"


def redact_url(url: str) -> str:
    """The URL with any password hidden, for logs and error messages."""
    return make_url(url).render_as_string(hide_password=True)


class Database:
    """The process's database: an engine, its transactions and its sessions."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 20) -> None:
        self._url = _normalise_url(make_url(url))
        self._engine = _create_engine(self._url, pool_size=pool_size, max_overflow=max_overflow)
        # Same pool and event hooks; only the begin statement differs on SQLite.
        self._write_engine = self._engine.execution_options(**{_SQLITE_IMMEDIATE: True})
        self._sessionmaker = async_sessionmaker(self._engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        """The URL in use, password hidden."""
        return self._url.render_as_string(hide_password=True)

    @property
    def dialect_name(self) -> str:
        """``sqlite``, ``postgresql`` or ``mysql`` (MariaDB)."""
        return self._engine.dialect.name

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """ORM sessions bound to this database (`expire_on_commit` is off)."""
        return self._sessionmaker

    async def connect(self, *, migrate: bool = True) -> None:
        """Check the database is reachable and bring its schema to head."""
        # The write engine, so that on SQLite the migration transaction holds the lock.
        if self.dialect_name == "sqlite" and _is_sqlite_file(self._url):
            await self._enable_wal()
        async with self._write_engine.connect() as connection:
            if migrate:
                await upgrade_to_head(connection)
            else:
                await connection.exec_driver_sql("SELECT 1")
        log.info("database ready: %s", self.url)

    async def _enable_wal(self) -> None:
        """Put the SQLite file in WAL mode (persistent; a no-op once it is)."""
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        delay = 0.01
        while True:
            try:
                async with self._engine.connect() as connection:
                    # On the driver connection: SQLAlchemy would open a transaction
                    # first, and the journal mode cannot change inside one.
                    raw = await connection.get_raw_connection()
                    driver = raw.driver_connection
                    assert driver is not None  # a checked-out connection always has one
                    cursor = await driver.execute("PRAGMA journal_mode=WAL")
                    await cursor.close()
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() + delay > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def close(self) -> None:
        """Close every pooled connection. Safe to call more than once."""
        await self._engine.dispose()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (always rolled back at the end)."""
        async with self._engine.connect() as connection:
            yield connection

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A read-write transaction: committed on success, rolled back on any exception."""
        async with self._write_engine.begin() as connection:
            yield connection


def _normalise_url(url: URL) -> URL:
    if url.get_backend_name() == "mysql" and "charset" not in url.query:
        # MariaDB's server default may be latin1 or 3-byte utf8; we need full Unicode.
        return url.update_query_dict({"charset": "utf8mb4"})
    return url


def _create_engine(url: URL, *, pool_size: int, max_overflow: int) -> AsyncEngine:
    backend = url.get_backend_name()
    options: dict[str, Any] = {
        # Servers restart and drop idle connections; a SQLite file does neither, and there
        # each ping would cost four more trips to aiosqlite's thread.
        "pool_pre_ping": backend != "sqlite",
        "json_serializer": json_codec.dumps,
        "json_deserializer": json_codec.loads,
    }
    if backend == "sqlite":
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        if _is_sqlite_file(url):
            options["pool_size"] = pool_size
            options["max_overflow"] = max_overflow
    else:
        options.update(
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_recycle=1800,
            isolation_level="READ COMMITTED",
        )
    engine = create_async_engine(url, **options)
    if backend == "sqlite":
        _install_sqlite_hooks(engine, file=_is_sqlite_file(url))
    return engine


def _is_sqlite_file(url: URL) -> bool:
    database = url.database or ""
    return database not in ("", ":memory:") and not database.startswith("file::memory:")


def _install_sqlite_hooks(engine: AsyncEngine, *, file: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 driver (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if file:
                # Safe with WAL (switched on by `Database.connect()`): a power cut may lose
                # the last commits, never corrupt the file.
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_SQLITE_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
