"""OperationClaims on every database: one live claim per environment, renewal, expiry,
release, and the sweep's list of pending operations nobody holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from catalyst.store.database import Database
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.operation_claims import OperationClaims

TTL = timedelta(seconds=15)
T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


async def pending_environment(database: Database, name: str) -> int:
    """A new environment: its create is pending."""
    record = await EnvironmentRepository(database).create(name=name, chart_name="test", values={})
    assert record.operation == "create"
    return record.id


async def test_one_live_claim_per_environment_until_it_expires(database: Database) -> None:
    env_id = await pending_environment(database, "one")
    a = OperationClaims(database, holder="replica-a", ttl=TTL)
    b = OperationClaims(database, holder="replica-b", ttl=TTL)

    assert await a.claim(env_id, now=T0)
    assert await a.claim(env_id, now=T0 + timedelta(seconds=1)), "a holder may claim again"
    assert not await b.claim(env_id, now=T0 + timedelta(seconds=2))

    assert await a.renew(env_id, now=T0 + timedelta(seconds=10))  # lasts until T0 + 25 s
    assert not await b.claim(env_id, now=T0 + timedelta(seconds=20))
    assert await b.claim(env_id, now=T0 + timedelta(seconds=25)), "an expired claim is free"
    assert not await a.renew(env_id, now=T0 + timedelta(seconds=26)), "a's claim was taken"

    await a.release(env_id)  # not a's any more: nothing happens
    assert not await a.claim(env_id, now=T0 + timedelta(seconds=27))
    await b.release(env_id)
    assert await a.claim(env_id, now=T0 + timedelta(seconds=28))


async def test_replicas_claiming_at_once_get_one_claim(database: Database) -> None:
    env_id = await pending_environment(database, "race")
    replicas = [OperationClaims(database, holder=f"replica-{n}", ttl=TTL) for n in range(5)]
    won = await asyncio.gather(*(r.claim(env_id, now=T0) for r in replicas))
    assert sum(won) == 1, won


async def test_the_sweep_lists_pending_operations_nobody_holds(database: Database) -> None:
    repo = EnvironmentRepository(database)
    held = await pending_environment(database, "held")
    expired = await pending_environment(database, "expired")
    free = await pending_environment(database, "free")
    idle = await repo.create(name="idle", chart_name="test", values={})
    await repo.clear_operation(idle.id, expected_version=idle.version)
    a = OperationClaims(database, holder="replica-a", ttl=TTL)
    assert await a.claim(held, now=T0)
    assert await a.claim(expired, now=T0 - TTL)

    assert await a.pending_unclaimed(now=T0) == [expired, free]
    assert idle.id not in await a.pending_unclaimed(now=T0)
    assert await a.pending_unclaimed(now=T0 + TTL) == [held, expired, free]
