"""The freshness policy read from the leader's heartbeat: fresh, stale, none yet, and how
often the row is read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from catalyst.service.freshness import Freshness, heartbeat_freshness
from catalyst.store.database import Database
from catalyst.store.heartbeat import Heartbeat, HeartbeatRepository

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


class FixedHeartbeats:
    def __init__(self, heartbeat: Heartbeat | None) -> None:
        self.heartbeat = heartbeat

    async def get(self) -> Heartbeat | None:
        return self.heartbeat


def beat(*, synced: bool, fresh_at: datetime | None) -> Heartbeat:
    return Heartbeat(holder="replica-1", synced=synced, fresh_at=fresh_at, updated_at=T0)


async def test_a_recent_synced_heartbeat_gives_its_fresh_time_to_everyone() -> None:
    freshness = heartbeat_freshness(
        FixedHeartbeats(beat(synced=True, fresh_at=T0)),
        stale_after_seconds=120,
        clock=lambda: T0 + timedelta(seconds=119),
    )

    assert await freshness() == Freshness(stale=False, observed_at=T0)


@pytest.mark.parametrize(
    ("heartbeat", "age"),
    [
        (None, 0),
        (beat(synced=True, fresh_at=T0), 121),
        (beat(synced=False, fresh_at=T0), 0),
    ],
    ids=["no heartbeat yet", "too old", "not synced"],
)
async def test_no_old_or_unsynced_heartbeat_is_stale_with_each_rows_own_time(
    heartbeat: Heartbeat | None, age: int
) -> None:
    freshness = heartbeat_freshness(
        FixedHeartbeats(heartbeat),
        stale_after_seconds=120,
        clock=lambda: T0 + timedelta(seconds=age),
    )

    assert await freshness() == Freshness(stale=True)


async def test_heartbeat_is_read_at_most_once_a_second(database: Database) -> None:
    reads: list[None] = []

    class CountingHeartbeats(HeartbeatRepository):
        async def get(self) -> Heartbeat | None:
            reads.append(None)
            return await super().get()

    clock = [T0]
    freshness = heartbeat_freshness(
        CountingHeartbeats(database), stale_after_seconds=120, clock=lambda: clock[0]
    )
    for _ in range(5):
        await freshness()
    assert len(reads) == 1
    clock[0] += timedelta(seconds=1)
    await freshness()
    assert len(reads) == 2
