"""WatcherHeartbeat against a real database: a new term keeps reporting when the data was
last known fresh until its own data is fresh, so a term that ends before its first sync does
not erase the moment the next term must credit the unwatched time from."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from catalyst.leader.heartbeat import WatcherHeartbeat
from catalyst.store.database import Database
from catalyst.store.heartbeat import HeartbeatRepository
from tests.support.waiting import eventually

WAIT = 10.0
LAST_FRESH = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class Sync:
    """What the heartbeat reads of a status sync."""

    def __init__(self, *, synced: bool, stale: bool) -> None:
        self.synced = asyncio.Event()
        if synced:
            self.synced.set()
        self.stale = stale

    def is_stale(self) -> bool:
        return self.stale


async def beat_once(database: Database, sync: Sync) -> None:
    heartbeats = HeartbeatRepository(database)
    heartbeat = WatcherHeartbeat(
        heartbeats=heartbeats,
        sync=sync,  # type: ignore[arg-type]  # only .synced and .is_stale() are read
        holder="replica-b",
        interval=3600,
        last_fresh_at=LAST_FRESH,
    )
    task = asyncio.create_task(heartbeat.run())

    async def written() -> bool:
        return (await heartbeats.get()) is not None

    try:
        await eventually(written, "the first heartbeat row", within=WAIT, interval=0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_term_not_synced_yet_keeps_the_last_fresh_moment(database: Database) -> None:
    await beat_once(database, Sync(synced=False, stale=True))
    beat = await HeartbeatRepository(database).get()
    assert beat is not None
    assert (beat.holder, beat.synced, beat.fresh_at) == ("replica-b", False, LAST_FRESH)


async def test_a_synced_term_reports_its_own_fresh_moment(database: Database) -> None:
    await beat_once(database, Sync(synced=True, stale=False))
    beat = await HeartbeatRepository(database).get()
    assert beat is not None
    assert beat.synced
    assert beat.fresh_at is not None
    assert beat.fresh_at > LAST_FRESH
