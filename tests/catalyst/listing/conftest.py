"""Fixtures for the listing tests: a real repository on each test database, two callers
backed by stored tokens, and Patchdemo-like environments."""

from __future__ import annotations

from typing import Any

import pytest

from catalyst.service.caller import Caller
from catalyst.store.database import Database
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.tokens import TokenRepository

# Patchdemo-like values made harder on purpose: a nested secret under a list item, non-ASCII
# text and a float, so rendering, redaction and JSON round-trips are all exercised.
LISTING_VALUES: dict[str, Any] = {
    "mediawikiCore": {
        "branch": "master",
        "ingress": "0123456789.example.org",
        "user": "Patch Demo",
        "password": "patchdemo1",
        "useInstantCommons": True,
        "mainPageText": "Grüße — ünïcödé",
        "language": "en",
        "patches": [{"ref": "refs/changes/45/123445/3", "base": "master", "hash": "a" * 40}],
    },
    "extensions": [{"name": "Echo", "enable": True, "apiToken": {"nested": 1}}],
    "ratio": 0.25,
}


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
