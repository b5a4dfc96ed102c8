"""`WebhookRepository`: webhook subscriptions, their delivery position and recent attempts.

Unit of work: every public method is one transaction (see `catalyst.store.environments`).

Guarantees:

- A webhook's ``delivered_position`` is an outbox position (a ``status_changes`` id):
  every change up to it is done for that webhook (delivered with a 2xx, or not meant for
  it). A new webhook starts at the newest position at the time it is created, so it gets
  the changes made after it exists.
- `record_attempt` writes the attempt and the webhook's new state (its position moved
  only after a 2xx) in one transaction, guarded by the position the deliverer started
  from: if the webhook was deleted, or its position moved meanwhile (another deliverer,
  e.g. an old leader that has not stopped yet), nothing is written and it returns False.
  Restarts and leader changes therefore resume from the committed position: a change
  delivered with a 2xx and recorded is never sent again.
- Only the newest ``keep_deliveries`` attempts of each webhook are kept: every
  ``TRIM_EVERY``-th attempt a repository records for a webhook also deletes the older ones,
  in the same transaction (so at most ``keep_deliveries + TRIM_EVERY - 1`` exist; trimming
  on every attempt would cost every delivery one more round trip).
- Deleting a webhook deletes its attempts (and a token's deletion its webhooks).
- The secret is stored as issued (it must be, to sign); it leaves the store only through
  `get_secret` and the record `create` returns, never through listings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from catalyst.store._results import inserted_id
from catalyst.store.database import Database
from catalyst.store.schema import status_changes, webhook_deliveries, webhooks
from catalyst.timestamps import utc_now

KEEP_DELIVERIES: Final = 50
TRIM_EVERY: Final = 8


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    """A webhook as stored (without its secret)."""

    id: int
    url: str
    events: list[str]
    owner_token_id: int
    admin: bool
    created_at: datetime
    delivered_position: int
    attempts: int
    """Failed attempts since the last success (0 when healthy)."""
    failing_since: datetime | None
    next_attempt_at: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


@dataclass(frozen=True, slots=True)
class WebhookState:
    """What a delivery attempt changes on its webhook."""

    delivered_position: int
    attempts: int
    failing_since: datetime | None
    next_attempt_at: datetime | None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One delivery attempt."""

    id: int
    webhook_id: int
    event_position: int
    message_id: str
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    succeeded: bool


_WEBHOOK_COLUMNS = (
    webhooks.c.id,
    webhooks.c.url,
    webhooks.c.events,
    webhooks.c.owner_token_id,
    webhooks.c.admin,
    webhooks.c.created_at,
    webhooks.c.delivered_position,
    webhooks.c.attempts,
    webhooks.c.failing_since,
    webhooks.c.next_attempt_at,
    webhooks.c.disabled_at,
    webhooks.c.disabled_reason,
)
_DELIVERY_COLUMNS = (
    webhook_deliveries.c.id,
    webhook_deliveries.c.webhook_id,
    webhook_deliveries.c.event_position,
    webhook_deliveries.c.message_id,
    webhook_deliveries.c.attempted_at,
    webhook_deliveries.c.status_code,
    webhook_deliveries.c.latency_ms,
    webhook_deliveries.c.error,
    webhook_deliveries.c.succeeded,
)


class WebhookRepository:
    """Reads and writes webhooks; see the module docstring for the guarantees."""

    def __init__(self, database: Database, *, keep_deliveries: int = KEEP_DELIVERIES) -> None:
        self._db = database
        self._keep = keep_deliveries
        self._recorded: dict[int, int] = {}  # attempts recorded per webhook (for trimming)

    async def create(
        self,
        *,
        url: str,
        events: list[str],
        secret: str,
        owner_token_id: int,
        admin: bool,
        now: datetime | None = None,
    ) -> WebhookRecord:
        """Store a webhook that starts after the newest outbox position."""
        now = now or utc_now()
        async with self._db.write() as conn:
            latest = (await conn.execute(select(func.max(status_changes.c.id)))).scalar()
            result = await conn.execute(
                insert(webhooks).values(
                    url=url,
                    events=list(events),
                    secret=secret,
                    owner_token_id=owner_token_id,
                    admin=admin,
                    created_at=now,
                    delivered_position=int(latest or 0),
                    attempts=0,
                    failing_since=None,
                    next_attempt_at=None,
                    disabled_at=None,
                    disabled_reason=None,
                )
            )
            return await _select_webhook(conn, inserted_id(result))

    async def get(self, webhook_id: int) -> WebhookRecord | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(select(*_WEBHOOK_COLUMNS).where(webhooks.c.id == webhook_id))
            ).one_or_none()
        return _to_webhook(row) if row is not None else None

    async def get_secret(self, webhook_id: int) -> str | None:
        async with self._db.read() as conn:
            secret = (
                await conn.execute(select(webhooks.c.secret).where(webhooks.c.id == webhook_id))
            ).scalar_one_or_none()
        return None if secret is None else str(secret)

    async def list_webhooks(
        self, *, owner_token_id: int | None = None, active_only: bool = False
    ) -> list[WebhookRecord]:
        """Webhooks ordered by id: all, or one token's; ``active_only``: not disabled."""
        query = select(*_WEBHOOK_COLUMNS).order_by(webhooks.c.id)
        if owner_token_id is not None:
            query = query.where(webhooks.c.owner_token_id == owner_token_id)
        if active_only:
            query = query.where(webhooks.c.disabled_at.is_(None))
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_to_webhook(row) for row in rows]

    async def delete(self, webhook_id: int) -> bool:
        """Delete the webhook and its attempts; False if it did not exist."""
        async with self._db.write() as conn:
            await conn.execute(
                delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id)
            )
            result = await conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id))
            return bool(result.rowcount)

    async def skip_to(self, webhook_id: int, *, expected_position: int, position: int) -> bool:
        """Move the position over changes not meant for this webhook (no attempt made);
        False if the webhook is gone or its position moved meanwhile."""
        async with self._db.write() as conn:
            result = await conn.execute(
                update(webhooks)
                .where(
                    webhooks.c.id == webhook_id,
                    webhooks.c.delivered_position == expected_position,
                )
                .values(delivered_position=position)
            )
            return bool(result.rowcount)

    async def record_attempt(
        self,
        webhook_id: int,
        *,
        expected_position: int,
        event_position: int,
        message_id: str,
        attempted_at: datetime,
        status_code: int | None,
        latency_ms: int,
        error: str | None,
        succeeded: bool,
        state: WebhookState,
    ) -> bool:
        """Record one attempt and the webhook's new ``state`` together (see module doc)."""
        async with self._db.write() as conn:
            result = await conn.execute(
                update(webhooks)
                .where(
                    webhooks.c.id == webhook_id,
                    webhooks.c.delivered_position == expected_position,
                )
                .values(
                    delivered_position=state.delivered_position,
                    attempts=state.attempts,
                    failing_since=state.failing_since,
                    next_attempt_at=state.next_attempt_at,
                    disabled_at=state.disabled_at,
                    disabled_reason=state.disabled_reason,
                )
            )
            if not result.rowcount:
                return False
            await conn.execute(
                insert(webhook_deliveries).values(
                    webhook_id=webhook_id,
                    event_position=event_position,
                    message_id=message_id,
                    attempted_at=attempted_at,
                    status_code=status_code,
                    latency_ms=latency_ms,
                    error=error,
                    succeeded=succeeded,
                )
            )
            count = self._recorded.get(webhook_id, 0)
            if count % TRIM_EVERY == 0:
                await self._trim(conn, webhook_id)
        self._recorded[webhook_id] = count + 1
        return True

    async def list_deliveries(
        self, webhook_id: int, *, limit: int | None = None
    ) -> list[DeliveryRecord]:
        """The webhook's kept attempts, newest first."""
        query = (
            select(*_DELIVERY_COLUMNS)
            .where(webhook_deliveries.c.webhook_id == webhook_id)
            .order_by(webhook_deliveries.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [DeliveryRecord(*row) for row in rows]

    async def _trim(self, conn: AsyncConnection, webhook_id: int) -> None:
        # Two statements: MariaDB refuses a DELETE whose subquery reads the same table.
        cutoff = (
            await conn.execute(
                select(webhook_deliveries.c.id)
                .where(webhook_deliveries.c.webhook_id == webhook_id)
                .order_by(webhook_deliveries.c.id.desc())
                .offset(self._keep)
                .limit(1)
            )
        ).scalar_one_or_none()
        if cutoff is not None:
            await conn.execute(
                delete(webhook_deliveries).where(
                    webhook_deliveries.c.webhook_id == webhook_id,
                    webhook_deliveries.c.id <= cutoff,
                )
            )


async def _select_webhook(conn: AsyncConnection, webhook_id: int) -> WebhookRecord:
    row = (await conn.execute(select(*_WEBHOOK_COLUMNS).where(webhooks.c.id == webhook_id))).one()
    return _to_webhook(row)


def _to_webhook(row: Any) -> WebhookRecord:
    values = list(row)
    values[2] = [str(event) for event in values[2]]
    values[6] = int(values[6])
    return WebhookRecord(*values)
