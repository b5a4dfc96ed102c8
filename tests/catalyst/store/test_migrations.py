"""Migrations: from empty to head, re-runs, concurrent starts, schema matches the code."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from catalyst.store import Database, sqlite_url_for
from catalyst.store.migrate import current_revision, head_revision
from catalyst.store.schema import metadata

EXPECTED_TABLES = {
    "alembic_version",
    "api_tokens",
    "environments",
    "environment_objects",
    "status_changes",
    "watcher_heartbeat",
    "operation_claims",
    "webhooks",
    "webhook_deliveries",
}


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_connect_migrates_an_empty_database_to_head(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    try:
        async with database.read() as connection:
            assert await connection.run_sync(_table_names) == set()
        await database.connect()
        async with database.read() as connection:
            assert await connection.run_sync(_table_names) == EXPECTED_TABLES
            assert await current_revision(connection) == head_revision()
    finally:
        await database.close()


async def test_migrated_schema_matches_the_code(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    try:
        await database.connect()
        async with database.read() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                )
            )
        # alembic_version is Alembic's own table; anything else is drift.
        drift = [
            d
            for d in differences
            if not (d[0] == "remove_table" and d[1].name == "alembic_version")
        ]
        assert drift == []
    finally:
        await database.close()


async def test_migrating_again_changes_nothing(empty_database_url: str) -> None:
    first = Database(empty_database_url)
    second = Database(empty_database_url)
    try:
        await first.connect()
        from catalyst.store import EnvironmentRepository

        created = await EnvironmentRepository(first).create(
            name="kept", chart_name="mediawiki", values={}
        )
        await first.connect()
        await second.connect()
        async with second.read() as connection:
            assert await current_revision(connection) == head_revision()
        assert await EnvironmentRepository(second).get(created.id) == created
    finally:
        await first.close()
        await second.close()


async def test_replicas_starting_together_migrate_once(empty_database_url: str) -> None:
    replicas = [Database(empty_database_url) for _ in range(4)]
    try:
        await asyncio.wait_for(asyncio.gather(*(r.connect() for r in replicas)), 60)
        async with replicas[0].read() as connection:
            assert await connection.run_sync(_table_names) == EXPECTED_TABLES
            assert await current_revision(connection) == head_revision()
    finally:
        for replica in replicas:
            await replica.close()


def test_the_default_sqlite_url_points_into_the_data_dir(tmp_path: Path) -> None:
    assert sqlite_url_for(tmp_path) == f"sqlite+aiosqlite:///{tmp_path.resolve()}/catalyst.db"


async def test_sqlite_file_is_created_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    database = Database(sqlite_url_for(tmp_path))
    try:
        await database.connect()
        assert (tmp_path / "catalyst.db").is_file()
        async with database.read() as connection:
            assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            busy_timeout = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
            assert busy_timeout is not None
            assert busy_timeout > 0
    finally:
        await database.close()


async def test_connect_without_migrating_leaves_the_schema_alone(tmp_path: Path) -> None:
    database = Database(sqlite_url_for(tmp_path))
    try:
        await database.connect(migrate=False)
        async with database.read() as connection:
            assert await connection.run_sync(_table_names) == set()
    finally:
        await database.close()
