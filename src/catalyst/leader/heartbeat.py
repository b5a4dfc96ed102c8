"""The leader's heartbeat: how fresh its cluster data is, written for every replica to read.

Every ``interval`` seconds `WatcherHeartbeat.run` writes one row (`HeartbeatRepository`):
who leads, whether the watcher's informers are synced, and the last moment the data was
known fresh (synced and not stale). The API of every replica reads it
(`catalyst.service.freshness`) to mark statuses ``stale`` without talking to the leader.

A write that fails is logged and the next one is tried on schedule; only cancellation ends
the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from catalyst.store.heartbeat import HeartbeatRepository
from catalyst.timestamps import utc_now
from catalyst.watcher.status_sync import StatusSync

logger = logging.getLogger(__name__)


class WatcherHeartbeat:
    """Reports one term's watcher freshness until cancelled."""

    def __init__(
        self,
        *,
        heartbeats: HeartbeatRepository,
        sync: StatusSync,
        holder: str,
        interval: float,
        last_fresh_at: datetime | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """``last_fresh_at``: the fresh moment the previous term reported, written on until
        this term's data is fresh (so a term that ends before its first sync does not erase
        when the data was last known fresh)."""
        self._heartbeats = heartbeats
        self._last_fresh_at = last_fresh_at
        self._sync = sync
        self._holder = holder
        self._interval = interval
        self._clock = clock

    async def run(self) -> None:
        """Beat every ``interval`` seconds until cancelled; a failed write is logged."""
        fresh_at = self._last_fresh_at
        while True:
            synced = self._sync.synced.is_set()
            if synced and not self._sync.is_stale():
                fresh_at = self._clock()
            try:
                await self._heartbeats.beat(
                    holder=self._holder, synced=synced, fresh_at=fresh_at, now=self._clock()
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("watcher heartbeat could not be written")
            await asyncio.sleep(self._interval)
