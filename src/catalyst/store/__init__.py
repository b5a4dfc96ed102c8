"""Catalyst's persistence: schema, migrations (applied on connect) and repositories.

Usage::

    database = Database(settings.database_url)   # or sqlite_url_for(data_dir)
    await database.connect()                       # migrates to head
    environments = EnvironmentRepository(database)
    tokens = TokenRepository(database)
    ...
    await database.close()

Repositories return frozen records (`catalyst.store.records`), never ORM objects, and
each of their methods is one transaction. Expected failures are the exceptions in
`catalyst.store.errors`.
"""

from __future__ import annotations

from catalyst.store.database import Database, redact_url, sqlite_url_for
from catalyst.store.environments import EnvironmentChanges, EnvironmentRepository
from catalyst.store.errors import (
    EnvironmentRowMissing,
    NameTaken,
    StaleRecord,
    StoreError,
    TokenNameTaken,
    UnsupportedJsonValue,
)
from catalyst.store.heartbeat import Heartbeat, HeartbeatRepository
from catalyst.store.records import (
    EnvironmentRecord,
    Inventory,
    ObjectRef,
    StatusChangeRecord,
    TokenRecord,
)
from catalyst.store.tokens import TokenRepository, hash_token

__all__ = [
    "Database",
    "EnvironmentChanges",
    "EnvironmentRecord",
    "EnvironmentRepository",
    "EnvironmentRowMissing",
    "Heartbeat",
    "HeartbeatRepository",
    "Inventory",
    "NameTaken",
    "ObjectRef",
    "StaleRecord",
    "StatusChangeRecord",
    "StoreError",
    "TokenNameTaken",
    "TokenRecord",
    "TokenRepository",
    "UnsupportedJsonValue",
    "hash_token",
    "redact_url",
    "sqlite_url_for",
]
