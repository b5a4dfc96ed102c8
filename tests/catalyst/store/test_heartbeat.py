from __future__ import annotations

from datetime import UTC, datetime, timedelta

from catalyst.store import Database, HeartbeatRepository

NOW = datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC)


async def test_no_heartbeat_until_a_watcher_reports(database: Database) -> None:
    assert await HeartbeatRepository(database).get() is None


async def test_beats_update_the_single_row(database: Database) -> None:
    heartbeats = HeartbeatRepository(database)
    await heartbeats.beat(holder="a", synced=False, fresh_at=None, now=NOW)
    await heartbeats.beat(holder="b", synced=True, fresh_at=NOW, now=NOW + timedelta(seconds=1))
    beat = await heartbeats.get()
    assert beat is not None
    assert (beat.holder, beat.synced, beat.fresh_at) == ("b", True, NOW)
    assert beat.updated_at == NOW + timedelta(seconds=1)


async def test_staleness_follows_sync_and_age(database: Database) -> None:
    heartbeats = HeartbeatRepository(database)
    await heartbeats.beat(holder="a", synced=True, fresh_at=NOW, now=NOW)
    beat = await heartbeats.get()
    assert beat is not None
    assert not beat.is_stale(NOW + timedelta(seconds=119), 120)
    assert beat.is_stale(NOW + timedelta(seconds=121), 120)
    await heartbeats.beat(holder="a", synced=False, fresh_at=NOW, now=NOW)
    unsynced = await heartbeats.get()
    assert unsynced is not None
    assert unsynced.is_stale(NOW, 120)
