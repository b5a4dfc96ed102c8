"""`WebhookDelivery`: the leader's duty that sends each status change to every webhook that
wants it (at least once, in order per webhook, signed).

Design, and why:

- The source is the history outbox (``status_changes``), the same one the watch stream
  reads: its ids are positions that only grow, on every replica. Each webhook stores the
  position it has delivered up to (`catalyst.store.webhooks`), so there is no queue to
  fill, lose or replay: a webhook's backlog is simply the outbox after its position.
- Only the elected leader delivers (this runs as a `catalyst.leader.duties` duty), so
  replicas do not race each other. The position moves only after a 2xx, in the transaction
  that records the attempt, guarded by the position the attempt started from; a restart
  or a new leader resumes from the committed position. So a change is never sent again
  once its 2xx is recorded. A crash between the receiver's 2xx and that commit sends it
  again (at least once): the ``webhook-id`` is the same, for the receiver to de-duplicate.
  When the deliverer is stopped (shutdown, leadership lost), a request already sent is
  finished (within the request timeout) and recorded first, so a clean stop repeats
  nothing.
- One deliverer task per webhook sends one request at a time, in outbox order: in order
  per webhook, and a failing change blocks the ones after it for that webhook only (a
  receiver never sees a later status before an earlier one). Requests of all webhooks
  together are bounded by ``max_concurrent``.
- The outbox is read only up to the position `EnvironmentFeed.confirmed_position` vouches
  for (a transaction that commits late with a lower id is not skipped), and the same
  poller wakes deliverers as soon as a change is committed: no per-webhook polling.
- A failed attempt (non-2xx, timeout, refused address, connection error) is recorded and
  retried after a growing, jittered delay (`RetrySchedule`); after ``disable_after`` of
  continuous failure the webhook is disabled (it stays listed, with the reason) and
  nothing more is sent to it.
- Changes a webhook may not see (another token's environment) are skipped without an
  attempt; the position moves past them.
- The supervisor re-reads the list of active webhooks every ``refresh_interval``: new
  webhooks get a deliverer, deleted ones lose theirs. A deliverer also reads its webhook
  again before each batch of changes, so a delete (on any replica) stops deliveries from
  the next batch on; at most the request in flight still goes out. A deliverer that fails
  (e.g. the database is unreachable) is reported and started again at the next refresh;
  it never ends the leader's term.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from catalyst.cancellation import cancel_and_wait
from catalyst.service.environment_feed import EnvironmentFeed
from catalyst.service.redaction import scrub_message
from catalyst.service.webhook_messages import (
    RetrySchedule,
    message_id,
    signed_headers,
    status_body,
)
from catalyst.service.webhook_sender import SendOutcome, WebhookSender
from catalyst.service.webhook_urls import WebhookUrlPolicy
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.records import EnvironmentRecord, StatusChangeRecord
from catalyst.store.webhooks import WebhookRecord, WebhookRepository, WebhookState
from catalyst.timestamps import rfc3339, utc_now

logger = logging.getLogger(__name__)

RenderEnvironment = Callable[[EnvironmentRecord], Mapping[str, Any]]
"""The environment object of ``GET /api/environments/{id}`` for a record (values redacted);
the composition root passes the API's presenter, so both are one definition."""

PAGE = 200


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    timeout: float = 10.0
    """Seconds one request may take, connection to answer."""
    max_concurrent: int = 16
    """Requests in flight at once, all webhooks together."""
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    refresh_interval: float = 2.0
    """How often the list of webhooks is re-read (new ones start within this)."""
    idle_wait: float = 5.0
    """Longest wait for news before a deliverer looks at its webhook again."""


@dataclass(frozen=True, slots=True)
class _Change:
    row: StatusChangeRecord
    record: EnvironmentRecord  # the environment with this change's status fields


class WebhookDelivery:
    """Delivers the outbox to the webhooks for one term of leadership (see module doc)."""

    def __init__(
        self,
        *,
        webhooks: WebhookRepository,
        environments: EnvironmentRepository,
        feed: EnvironmentFeed,
        render_environment: RenderEnvironment,
        policy: WebhookUrlPolicy,
        settings: DeliverySettings | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._webhooks = webhooks
        self._environments = environments
        self._feed = feed
        self._render = render_environment
        self._policy = policy
        self._settings = settings or DeliverySettings()
        self._clock = clock
        self._slots = asyncio.Semaphore(self._settings.max_concurrent)

    async def run(self) -> None:
        """Deliver until cancelled (the term ends)."""
        settings = self._settings
        workers: dict[int, asyncio.Task[None]] = {}
        async with WebhookSender(
            policy=self._policy, timeout=settings.timeout, max_connections=settings.max_concurrent
        ) as sender:
            try:
                while True:
                    await self._supervise(workers, sender)
                    await asyncio.sleep(settings.refresh_interval)
            finally:
                for error in await cancel_and_wait(workers.values()):
                    logger.error("webhook deliverer failed", exc_info=error)

    async def _supervise(
        self, workers: dict[int, asyncio.Task[None]], sender: WebhookSender
    ) -> None:
        try:
            active = {hook.id for hook in await self._webhooks.list_webhooks(active_only=True)}
        except Exception as exc:
            logger.warning("webhooks: reading the list of webhooks failed (%s)", exc)
            return
        for webhook_id, task in list(workers.items()):
            if task.done():
                del workers[webhook_id]
                if not task.cancelled() and (error := task.exception()) is not None:
                    logger.error("webhook %d: deliverer failed", webhook_id, exc_info=error)
            elif webhook_id not in active:
                task.cancel()  # deleted: removed from `workers` once it has ended
        for webhook_id in sorted(active - workers.keys()):
            workers[webhook_id] = asyncio.create_task(
                self._deliver(webhook_id, sender), name=f"webhook {webhook_id}"
            )

    # -- one webhook -----------------------------------------------------------------

    async def _deliver(self, webhook_id: int, sender: WebhookSender) -> None:
        """Deliver to one webhook, in order, until it is deleted or disabled.

        The webhook is read again before every batch of changes (after every wait), so a
        delete or a change made by another replica counts from the next batch on; within a
        batch the deliverer knows the state it wrote itself."""
        secret = await self._webhooks.get_secret(webhook_id)
        if secret is None:
            return  # deleted meanwhile
        idle_after: int | None = None  # wait for news past this position first
        while True:
            if idle_after is not None:
                await self._feed.confirmed_position(after=idle_after, wait=self._settings.idle_wait)
                idle_after = None
            hook = await self._webhooks.get(webhook_id)
            if hook is None or hook.disabled:
                return
            now = self._clock()
            if hook.next_attempt_at is not None and hook.next_attempt_at > now:
                await asyncio.sleep((hook.next_attempt_at - now).total_seconds())
                continue
            confirmed = await self._feed.confirmed_position(after=hook.delivered_position, wait=0)
            if confirmed <= hook.delivered_position:
                idle_after = hook.delivered_position
                continue
            await self._deliver_batch(hook, confirmed, secret, sender)

    async def _deliver_batch(
        self, hook: WebhookRecord, confirmed: int, secret: str, sender: WebhookSender
    ) -> None:
        """Deliver the next page of changes up to ``confirmed``, stopping at a failure."""
        changes, last = await self._pending(hook, confirmed)
        current: WebhookRecord | None = hook
        for change in changes:
            assert current is not None
            current = await self._attempt(current, change, secret, sender)
            if current is None or current.delivered_position != change.row.id:
                return  # failed (retried later), disabled, deleted or moved by another
        if current is not None and last > current.delivered_position:
            await self._webhooks.skip_to(
                current.id, expected_position=current.delivered_position, position=last
            )

    async def _pending(self, hook: WebhookRecord, confirmed: int) -> tuple[list[_Change], int]:
        """The next changes meant for ``hook`` (at most a page), and the position up to which
        they are all the changes there are (``confirmed`` when the page reached it: ids in
        between belong to transactions that rolled back)."""
        page = await self._environments.list_changes_after(hook.delivered_position, limit=PAGE)
        rows = [row for row in page if row.id <= confirmed]
        complete = len(rows) < len(page) or len(page) < PAGE
        last = confirmed if complete else rows[-1].id
        if not rows:
            return [], last
        records = {
            record.id: record
            for record in await self._environments.list_by_ids(
                {row.environment_id for row in rows}, include_deleted=True
            )
        }
        changes = []
        for row in rows:
            record = records.get(row.environment_id)
            if record is None or not _visible(hook, record):
                continue
            changes.append(_Change(row, _as_of(record, row)))
        return changes, last

    async def _attempt(
        self, hook: WebhookRecord, change: _Change, secret: str, sender: WebhookSender
    ) -> WebhookRecord | None:
        """Send one change and record the attempt; the webhook as it is now, or None when
        it was deleted or moved by another deliverer meanwhile."""
        row = change.row
        msg_id = message_id(hook.id, row.id)
        body = status_body(
            environment=self._render(change.record),
            previous_status=row.from_status,
            occurred_at=row.occurred_at,
        )
        async with self._slots:
            # Once sent, the attempt is finished and recorded even when the deliverer is
            # being stopped (shutdown, leadership lost): a change the receiver accepted is
            # then recorded as delivered, and the next term does not send it again. The
            # wait is bounded by the request timeout.
            attempt = asyncio.ensure_future(
                self._send_and_record(hook, row, msg_id, body, secret, sender)
            )
            try:
                recorded, state, outcome = await asyncio.shield(attempt)
            except asyncio.CancelledError:
                await asyncio.wait([attempt])
                if not attempt.cancelled() and (error := attempt.exception()) is not None:
                    logger.error("webhook %d: recording an attempt failed", hook.id, exc_info=error)
                raise
        if not recorded:
            return None
        if state.disabled_at is not None:
            logger.warning("webhook %d disabled: %s", hook.id, state.disabled_reason)
        elif not outcome.succeeded:
            logger.info(
                "webhook %d: delivering %s failed (%s); next attempt at %s",
                hook.id,
                msg_id,
                outcome.error,
                state.next_attempt_at and rfc3339(state.next_attempt_at),
            )
        return replace(
            hook,
            delivered_position=state.delivered_position,
            attempts=state.attempts,
            failing_since=state.failing_since,
            next_attempt_at=state.next_attempt_at,
            disabled_at=state.disabled_at,
            disabled_reason=state.disabled_reason,
        )

    async def _send_and_record(
        self,
        hook: WebhookRecord,
        row: StatusChangeRecord,
        msg_id: str,
        body: bytes,
        secret: str,
        sender: WebhookSender,
    ) -> tuple[bool, WebhookState, SendOutcome]:
        sent_at = self._clock()
        headers = signed_headers(secret=secret, msg_id=msg_id, body=body, sent_at=sent_at)
        outcome = await sender.send(hook.url, body=body, headers=headers)
        state = self._next_state(hook, row.id, succeeded=outcome.succeeded, error=outcome.error)
        recorded = await self._webhooks.record_attempt(
            hook.id,
            expected_position=hook.delivered_position,
            event_position=row.id,
            message_id=msg_id,
            attempted_at=sent_at,
            status_code=outcome.status_code,
            latency_ms=round(outcome.latency * 1000),
            error=outcome.error,
            succeeded=outcome.succeeded,
            state=state,
        )
        return recorded, state, outcome

    def _next_state(
        self, hook: WebhookRecord, position: int, *, succeeded: bool, error: str | None
    ) -> WebhookState:
        if succeeded:
            return WebhookState(
                delivered_position=position, attempts=0, failing_since=None, next_attempt_at=None
            )
        now = self._clock()
        schedule = self._settings.schedule
        failures = hook.attempts + 1
        failing_since = hook.failing_since or now
        if schedule.gives_up(failing_since=failing_since, now=now):
            return WebhookState(
                delivered_position=hook.delivered_position,
                attempts=failures,
                failing_since=failing_since,
                next_attempt_at=None,
                disabled_at=now,
                disabled_reason=(
                    f"every delivery failed since {rfc3339(failing_since)} "
                    f"({failures} attempts); last error: {error}"
                ),
            )
        return WebhookState(
            delivered_position=hook.delivered_position,
            attempts=failures,
            failing_since=failing_since,
            next_attempt_at=now + schedule.delay(failures),
        )


def _visible(hook: WebhookRecord, record: EnvironmentRecord) -> bool:
    return hook.admin or record.owner_token_id == hook.owner_token_id


def _as_of(record: EnvironmentRecord, row: StatusChangeRecord) -> EnvironmentRecord:
    """The environment with the status fields of one change (as the watch stream shows)."""
    return replace(
        record,
        status=row.to_status,
        status_reason=row.reason,
        status_message=scrub_message(row.message, record.values),
        status_observed_at=row.occurred_at,
        failure_kind=row.failure_kind,
        expires_at=row.expires_at,
    )
