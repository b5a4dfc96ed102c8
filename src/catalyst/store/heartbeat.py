"""`HeartbeatRepository`: the leader's report of how fresh its cluster data is.

One row. The leader's watcher writes it every few seconds (``synced``: all informers hold a
complete list; ``fresh_at``: the last moment its data was known to be current). Every
replica's API reads it to decide whether to mark statuses ``stale`` (status-spec decision
1). No row means no watcher has reported yet: callers treat that as stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from catalyst.store.database import Database
from catalyst.store.schema import watcher_heartbeat

_ROW_ID = 1


@dataclass(frozen=True, slots=True)
class Heartbeat:
    holder: str
    synced: bool
    fresh_at: datetime | None
    updated_at: datetime

    def is_stale(self, now: datetime, stale_after_seconds: float) -> bool:
        if not self.synced or self.fresh_at is None:
            return True
        return (now - self.fresh_at).total_seconds() > stale_after_seconds


class HeartbeatRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def beat(
        self, *, holder: str, synced: bool, fresh_at: datetime | None, now: datetime | None = None
    ) -> None:
        """Write the current report (insert the row the first time)."""
        values = {
            "holder": holder,
            "synced": synced,
            "fresh_at": fresh_at,
            "updated_at": (now or datetime.now(UTC)).astimezone(UTC),
        }
        async with self._db.write() as conn:
            result = await conn.execute(
                update(watcher_heartbeat).where(watcher_heartbeat.c.id == _ROW_ID).values(values)
            )
            if result.rowcount:
                return
        try:
            async with self._db.write() as conn:
                await conn.execute(insert(watcher_heartbeat).values(id=_ROW_ID, **values))
        except IntegrityError:
            # Another replica inserted it first; ours is simply the next update.
            async with self._db.write() as conn:
                await conn.execute(
                    update(watcher_heartbeat)
                    .where(watcher_heartbeat.c.id == _ROW_ID)
                    .values(values)
                )

    async def get(self) -> Heartbeat | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(
                        watcher_heartbeat.c.holder,
                        watcher_heartbeat.c.synced,
                        watcher_heartbeat.c.fresh_at,
                        watcher_heartbeat.c.updated_at,
                    ).where(watcher_heartbeat.c.id == _ROW_ID)
                )
            ).first()
        if row is None:
            return None
        return Heartbeat(
            holder=row.holder, synced=row.synced, fresh_at=row.fresh_at, updated_at=row.updated_at
        )
