"""Test databases for Catalyst: the same tests run on SQLite, PostgreSQL and MariaDB.

Fixtures:

- ``database_url`` (parametrised ``sqlite`` / ``postgresql`` / ``mariadb``): a URL of a
  database with no rows in it. Its schema is either absent or already at head; go
  through ``Database.connect()``, which migrates, and either way you get the current
  schema. SQLite: a new file per test. Servers: one database per test session (named
  ``catalyst_t_<random hex>``, created on first use and dropped at session end, so
  parallel runs never collide), emptied before each test (TRUNCATE when the schema is at
  head, which is fast; otherwise every table is dropped).
- ``empty_database_url``: the same, but always without any tables (for migration tests).
- ``database``: a connected (migrated) ``Database`` on ``database_url``, closed afterwards.

Servers: throwaway PostgreSQL and MariaDB servers that the session starts on first use
and removes at its end (`tests/support/database_servers.py`), or the servers of the admin
URLs in ``CATALYST_TEST_POSTGRES_URL`` / ``CATALYST_TEST_MARIADB_URL`` (only their database
name is replaced). A server that cannot be started or reached makes the tests error, never
skip.

Set-up and clean-up run in a worker thread with their own event loop, so these fixtures
work for sync and async tests alike and never touch the test's loop
(`tests.support.databases`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from catalyst.store.database import Database, sqlite_url_for
from tests.support.databases import ServerDatabases, empty_database, run_in_thread
from tests.support.databases import server_databases as server_databases

BACKENDS = ("sqlite", "postgresql", "mariadb")


def _prepare_url(
    backend: str, tmp_path: Path, server_databases: ServerDatabases, *, keep_schema: bool
) -> str:
    if backend == "sqlite":
        # tmp_path is new for every test: the file does not exist yet.
        return sqlite_url_for(tmp_path)
    url = server_databases.url(backend)
    run_in_thread(lambda: empty_database(url, keep_schema_at_head=keep_schema))
    return url


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, server_databases: ServerDatabases
) -> str:
    return _prepare_url(request.param, tmp_path, server_databases, keep_schema=True)


@pytest.fixture(params=BACKENDS)
def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, server_databases: ServerDatabases
) -> str:
    return _prepare_url(request.param, tmp_path, server_databases, keep_schema=False)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await db.connect()
    try:
        yield db
    finally:
        await db.close()
