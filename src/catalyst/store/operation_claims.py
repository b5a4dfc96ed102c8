"""`OperationClaims`: which replica runs an environment's pending operation.

Every replica's runner executes pending operations (the database is the queue), so two of
them could pick up the same one: the replica that accepted it, and another one sweeping for
work nobody does (the first one died, or is waiting out a back-off it will not finish). A
claim settles who: one row per environment naming the holder and until when it holds it.

Guarantees:

- At most one live claim per environment: taking one is a single conditional UPDATE (the
  row is free, expired, or already ours) or an INSERT the primary key lets only one replica
  win, on every dialect.
- A holder keeps its claim only by renewing it before it expires (`renew` says whether it
  still holds it); a holder that stops renewing (killed, frozen, cut off from the database)
  loses it after ``ttl``, and any replica may then take the operation over.
- `pending_unclaimed` lists live environments with a pending operation and no live claim:
  the work a sweep picks up.

Expiry compares timestamps written by the replicas' own clocks (`utc_now`); replicas are
expected to keep their clocks in sync (NTP), as the Lease election already assumes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from catalyst.store.database import Database
from catalyst.store.schema import environments, operation_claims
from catalyst.timestamps import utc_now


class OperationClaims:
    """Claims of one replica (``holder``), each lasting ``ttl`` unless renewed."""

    def __init__(self, database: Database, *, holder: str, ttl: timedelta) -> None:
        self._db = database
        self.holder = holder
        self.ttl = ttl

    async def claim(self, environment_id: int, *, now: datetime | None = None) -> bool:
        """Take (or keep) the claim on the environment's operation; False when another
        replica holds a live one."""
        now = now or utc_now()
        taken = {"holder": self.holder, "expires_at": now + self.ttl}
        free_or_ours = or_(
            operation_claims.c.holder == self.holder, operation_claims.c.expires_at <= now
        )
        async with self._db.write() as conn:
            result = await conn.execute(
                update(operation_claims)
                .where(operation_claims.c.environment_id == environment_id, free_or_ours)
                .values(taken)
            )
            if result.rowcount:
                return True
            held = await conn.execute(
                select(operation_claims.c.holder).where(
                    operation_claims.c.environment_id == environment_id
                )
            )
            if held.first() is not None:
                return False  # a live claim of another replica
        try:
            async with self._db.write() as conn:
                await conn.execute(
                    insert(operation_claims).values(environment_id=environment_id, **taken)
                )
        except IntegrityError:
            # Another replica inserted it first (or the environment row is gone).
            return False
        return True

    async def renew(self, environment_id: int, *, now: datetime | None = None) -> bool:
        """Extend our claim; False when we no longer hold it (it expired and was taken)."""
        now = now or utc_now()
        async with self._db.write() as conn:
            result = await conn.execute(
                update(operation_claims)
                .where(
                    operation_claims.c.environment_id == environment_id,
                    operation_claims.c.holder == self.holder,
                )
                .values(expires_at=now + self.ttl)
            )
        return bool(result.rowcount)

    async def release(self, environment_id: int) -> None:
        """Give up our claim (nothing happens when we do not hold it)."""
        async with self._db.write() as conn:
            await conn.execute(
                delete(operation_claims).where(
                    operation_claims.c.environment_id == environment_id,
                    operation_claims.c.holder == self.holder,
                )
            )

    async def pending_unclaimed(self, *, now: datetime | None = None) -> list[int]:
        """Live environments with a pending operation that no replica holds a live claim on,
        in id order."""
        now = now or utc_now()
        query = (
            select(environments.c.id)
            .select_from(
                environments.outerjoin(
                    operation_claims,
                    and_(
                        operation_claims.c.environment_id == environments.c.id,
                        operation_claims.c.expires_at > now,
                    ),
                )
            )
            .where(
                environments.c.operation.is_not(None),
                environments.c.deleted_at.is_(None),
                operation_claims.c.environment_id.is_(None),
            )
            .order_by(environments.c.id)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [int(row[0]) for row in rows]
