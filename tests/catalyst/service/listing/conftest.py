"""Fixtures for the listing tests: a real repository on each test database and callers
backed by stored tokens (Patchdemo-like values: `tests.support.patchdemo.LISTING_VALUES`)."""

from __future__ import annotations

import pytest

from catalyst.service.caller import Caller
from catalyst.store.database import Database
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.tokens import TokenRepository


@pytest.fixture
def repo(database: Database) -> EnvironmentRepository:
    return EnvironmentRepository(database)


async def stored_caller(database: Database, name: str, *, admin: bool) -> Caller:
    record = await TokenRepository(database).create(name=name, token=f"{name}-t", admin=admin)
    return Caller(token_id=record.id, name=record.name, admin=record.admin)


@pytest.fixture
async def admin(database: Database) -> Caller:
    return await stored_caller(database, "admin", admin=True)


@pytest.fixture
async def alice(database: Database) -> Caller:
    return await stored_caller(database, "alice", admin=False)


@pytest.fixture
async def bob(database: Database) -> Caller:
    return await stored_caller(database, "bob", admin=False)
