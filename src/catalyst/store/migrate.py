"""Apply the Alembic migrations (``migrations/``) from code; no ``alembic.ini`` needed.

Alembic is synchronous, so it runs inside ``AsyncConnection.run_sync`` on the service's
own async driver (aiosqlite, asyncpg or aiomysql); no second, blocking driver is needed.

Several replicas may start at the same moment against one database. Each backend gets
the strongest guarantee it can give:

- PostgreSQL: DDL is transactional. The whole upgrade runs in one transaction that first
  takes a transaction-scoped advisory lock (per database), so a second replica waits,
  then finds ``alembic_version`` already at head and does nothing. A crash mid-way rolls
  everything back.
- SQLite: DDL is transactional too (the driver's own transaction handling is switched
  off, see `catalyst.store.database`). The transaction starts with ``BEGIN IMMEDIATE``,
  which takes the database's single write lock, so concurrent starts serialise the same
  way.
- MariaDB: DDL commits implicitly and cannot be rolled back. Replicas serialise on a named
  server lock (``GET_LOCK``, scoped to the database name so parallel test databases do not
  contend), and every migration step is written to be re-runnable (``IF NOT EXISTS``), so
  a replica that crashed half-way leaves a state the next start completes instead of a
  "table already exists" error.

Blocking work on the event loop: Alembic reads its few small script files (about 2 ms)
inside ``run_sync``, once per `upgrade_to_head`. That happens at start-up, before the
service accepts requests, so it is accepted rather than worked around with Alembic's
private API.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Arbitrary but fixed: identifies "Catalyst schema migration" among advisory locks.
POSTGRES_LOCK_KEY = 0x6361_7461_6C79_7374  # b"catalyst" as a (positive) bigint
MYSQL_LOCK_TIMEOUT_S = 300


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migration scripts."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migration scripts found in {MIGRATIONS_DIR}")
    return head


async def current_revision(connection: AsyncConnection) -> str | None:
    """The revision the database is at (None for an empty database)."""
    return await connection.run_sync(
        lambda sync: MigrationContext.configure(sync).get_current_revision()
    )


async def upgrade_to_head(connection: AsyncConnection) -> None:
    """Migrate the database behind `connection` to head, holding the migration lock.

    `connection` must not be in a transaction yet; on SQLite it must come from an engine
    whose transactions begin with ``BEGIN IMMEDIATE``. On return, everything is committed.
    """
    if connection.dialect.name == "mysql":
        await _upgrade_mysql(connection)
        return
    await connection.begin()
    if connection.dialect.name == "postgresql":
        await connection.execute(select(func.pg_advisory_xact_lock(POSTGRES_LOCK_KEY)))
    await connection.run_sync(_run_alembic_upgrade)
    await connection.commit()


async def _upgrade_mysql(connection: AsyncConnection) -> None:
    lock_name = await _mysql_lock_name(connection)
    acquired = await connection.scalar(select(func.get_lock(lock_name, MYSQL_LOCK_TIMEOUT_S)))
    if acquired != 1:
        raise TimeoutError(
            f"could not take the migration lock {lock_name!r} within {MYSQL_LOCK_TIMEOUT_S}s"
        )
    try:
        await connection.run_sync(_run_alembic_upgrade)
        await connection.commit()
    finally:
        try:
            await connection.execute(select(func.release_lock(lock_name)))
            await connection.commit()
        except Exception:
            # The server drops the lock with the connection anyway; keep the first error.
            log.warning("could not release migration lock %s", lock_name, exc_info=True)


async def _mysql_lock_name(connection: AsyncConnection) -> str:
    database = await connection.scalar(select(func.database()))
    # Lock names are server-wide and at most 64 characters.
    digest = hashlib.sha256(str(database).encode()).hexdigest()[:32]
    return f"catalyst-migrate-{digest}"


def _run_alembic_upgrade(connection: Connection) -> None:
    config = alembic_config()
    # migrations/env.py picks the connection up from here instead of creating an engine.
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
