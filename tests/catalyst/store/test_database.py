"""Database: URLs, transactions, and what `read()` / `write()` promise."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from catalyst.store import Database, EnvironmentRepository, redact_url
from catalyst.store.schema import environments


def test_passwords_never_appear_in_logged_urls() -> None:
    url = "postgresql+asyncpg://catalyst:s3cret@db.example:5432/catalyst"
    assert "s3cret" not in redact_url(url)
    assert "s3cret" not in Database(url).url


def test_mariadb_connections_use_full_unicode() -> None:
    database = Database("mysql+aiomysql://root@127.0.0.1:3306/x")
    assert "charset=utf8mb4" in database.url
    assert database.dialect_name == "mysql"


async def test_write_commits_on_success_and_rolls_back_on_error(database: Database) -> None:
    repo = EnvironmentRepository(database)
    created = await repo.create(name="x", chart_name="c", values={})

    async def update_then_fail() -> None:
        async with database.write() as connection:
            await connection.execute(
                environments.update()
                .values(status="running")
                .where(environments.c.id == created.id)
            )
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError, match="abort"):
        await update_then_fail()
    assert await repo.get(created.id) == created

    async with database.write() as connection:
        await connection.execute(
            environments.update().values(status="running").where(environments.c.id == created.id)
        )
    stored = await repo.get(created.id)
    assert stored is not None
    assert stored.status == "running"


async def test_read_never_commits(database: Database) -> None:
    repo = EnvironmentRepository(database)
    created = await repo.create(name="x", chart_name="c", values={})
    async with database.read() as connection:
        await connection.execute(environments.delete().where(environments.c.id == created.id))
    async with database.read() as connection:
        assert await connection.scalar(select(func.count()).select_from(environments)) == 1


async def test_an_in_memory_sqlite_database_works() -> None:
    database = Database("sqlite+aiosqlite:///:memory:")
    try:
        await database.connect()
        created = await EnvironmentRepository(database).create(name="x", chart_name="c", values={})
        assert await EnvironmentRepository(database).get(created.id) == created
    finally:
        await database.close()


async def test_sessions_are_available_for_orm_style_callers(database: Database) -> None:
    await EnvironmentRepository(database).create(name="x", chart_name="c", values={})
    async with database.sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(environments))
    assert count == 1
