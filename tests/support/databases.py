"""Scratch databases on the suite's throwaway servers (`tests.support.database_servers`).

- `ServerDatabases`: one database per server for the test session (``catalyst_t_<random
  hex>``), created on first use, dropped by `ServerDatabases.drop_all`.
- `empty_database`: remove every row, and every table unless the schema is at head.
- `run_in_thread`: run set-up and clean-up on a fresh event loop in a worker thread, so
  fixtures work for sync and async tests alike and never touch the test's loop.
- ``server_databases``: the session fixture owning both (servers stopped at session end).
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from catalyst.store.migrate import head_revision
from catalyst.store.schema import metadata
from tests.support.database_servers import DatabaseServers

# Generous for a loaded CI machine; a refused connection fails at once anyway.
SERVER_TIMEOUT_S = 30.0

T = TypeVar("T")


def run_in_thread(make_coro: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a fresh loop in a worker thread."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(asyncio.wait_for(make_coro(), SERVER_TIMEOUT_S))
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="test-database-setup")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value


class ServerDatabases:
    """One scratch database per server for this test session, created on first use."""

    def __init__(self, servers: DatabaseServers) -> None:
        self._servers = servers
        self._name = f"catalyst_t_{secrets.token_hex(6)}"
        self._urls: dict[str, str] = {}

    def url(self, backend: str) -> str:
        if backend not in self._urls:
            # A throwaway server starts here, not under the set-up timeout of run_in_thread.
            admin = self._servers.admin_url(backend)
            self._urls[backend] = run_in_thread(functools.partial(self._create, backend, admin))
        return self._urls[backend]

    def drop_all(self) -> None:
        """Drop every database created; one failure does not keep the others alive."""
        errors: list[BaseException] = []
        for backend in list(self._urls):
            try:
                run_in_thread(functools.partial(self._drop, backend))
            except BaseException as exc:
                errors.append(exc)
            del self._urls[backend]
        if errors:
            raise errors[0]

    async def _create(self, backend: str, admin: str) -> str:
        statement = (
            f"CREATE DATABASE {self._name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            if backend == "mariadb"
            else f"CREATE DATABASE {self._name} ENCODING 'UTF8' TEMPLATE template0"
        )
        await _execute_autocommit(admin, statement)
        return make_url(admin).set(database=self._name).render_as_string(hide_password=False)

    async def _drop(self, backend: str) -> None:
        statement = (
            f"DROP DATABASE IF EXISTS {self._name}"
            if backend == "mariadb"
            # FORCE: a test that leaked a connection must not keep the database alive.
            else f"DROP DATABASE IF EXISTS {self._name} WITH (FORCE)"
        )
        await _execute_autocommit(self._servers.admin_url(backend), statement)


async def _execute_autocommit(url: str, statement: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def empty_database(url: str, *, keep_schema_at_head: bool) -> None:
    """Remove every row; also every table unless the schema is at head and may stay."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            at_head = await connection.run_sync(_schema_is_at_head)
            if at_head and keep_schema_at_head:
                await connection.run_sync(_truncate_all)
            else:
                await connection.run_sync(_drop_all)
            await connection.commit()
    finally:
        await engine.dispose()


def _schema_is_at_head(connection: Connection) -> bool:
    expected = set(metadata.tables) | {"alembic_version"}
    if set(inspect(connection).get_table_names()) != expected:
        return False
    return MigrationContext.configure(connection).get_current_revision() == head_revision()


def _truncate_all(connection: Connection) -> None:
    names = [table.name for table in metadata.sorted_tables]
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"TRUNCATE TABLE {', '.join(names)} RESTART IDENTITY CASCADE")
        return
    connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
    try:
        for name in names:
            connection.exec_driver_sql(f"TRUNCATE TABLE {name}")
    finally:
        connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")


def _drop_all(connection: Connection) -> None:
    reflected = MetaData()
    reflected.reflect(connection)
    if connection.dialect.name == "mysql":
        connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
    reflected.drop_all(connection)
    if connection.dialect.name == "mysql":
        connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")


@pytest.fixture(scope="session")
def server_databases() -> Iterator[ServerDatabases]:
    servers = DatabaseServers()
    databases = ServerDatabases(servers)
    try:
        yield databases
    finally:
        try:
            databases.drop_all()
        finally:
            servers.stop_all()
