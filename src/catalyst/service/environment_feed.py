"""`EnvironmentFeed`: environment changes pushed to clients, read from the history outbox.

Every status change is appended to ``status_changes`` in the transaction that makes it (the
final deletion too: a row to ``deleted``), so that table is an outbox: its ids are positions
that only grow, the same on every replica, whichever replica wrote the change, and across
restarts. A watch is a position and a caller; it yields what happened after the position.

Guarantees:

- Nothing lost, nothing invented: a watch yields one event per row after its position, in
  id order, with the status fields of that row (status, reason, message, failure kind,
  expiry) on the environment as stored now: ADDED for an environment's first row,
  DELETED for its ``deleted`` row, MODIFIED otherwise. A resumed watch
  (its last position) continues exactly after it.
- Commit order: on PostgreSQL and MariaDB a row can become visible after a row with a
  higher id (two transactions that commit out of order). The reader never moves past a gap
  in the ids until the gap has been seen for ``gap_wait`` seconds (then the id is taken to
  belong to a transaction that rolled back), so a late commit is not skipped.
- One reader per replica: a single poller task (started by the first watch, owned here and
  stopped by `aclose`) reads new rows every ``poll_interval`` seconds and keeps the last
  ``buffer_size`` events in memory for every watch; a watch that is further behind reads its
  backlog from the database page by page. Every watch shares the buffer's events (and
  `FeedEvent.shared`, so the HTTP layer encodes each event once for all its clients).
  When the position moves, one `asyncio.Event` wakes every waiting watch (no lock to pass
  through a thousand waiters), and each takes what is ready as one batch (`watch_batches`).
- Bounded per watch: a watch holds at most ``PAGE`` events it has not yielded yet (a page of
  the buffer or of the database), and only reads as fast as its client takes events.
- Slow watches end: a watch that had caught up with the feed (nothing left to send) and,
  when its caller comes back for the next batch, is more than ``max_lag`` events behind the
  feed's head ends (its caller resumes
  after its last position, reading the backlog from the buffer or the database). A client
  that stops reading altogether is ended by the HTTP layer's send timeout.
- Visibility: non-admin callers get events of their own environments only.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from catalyst.cancellation import cancel_and_wait
from catalyst.service.caller import Caller
from catalyst.service.freshness import UNWATCHED, Freshness, FreshnessSource
from catalyst.store.environments import DELETED_STATUS, EnvironmentRepository
from catalyst.store.records import EnvironmentRecord, StatusChangeRecord

logger = logging.getLogger(__name__)

PAGE = 500


class FeedEventType(StrEnum):
    ADDED = "ADDED"
    SYNCED = "SYNCED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One event of a watch; ``position`` is set on events a watch may resume after."""

    type: FeedEventType
    record: EnvironmentRecord | None = None
    position: int | None = None
    shared: dict[str, Any] | None = field(default=None, compare=False)
    """One dict per change, the same object for every watch that yields it: callers may
    memoize what they derive from the event (its encoding) there."""


@dataclass(frozen=True, slots=True)
class _Change:
    position: int
    owner_token_id: int | None
    record: EnvironmentRecord  # the environment with this change's status fields
    created: bool  # the environment's first row (it did not exist before)
    shared: dict[str, Any] = field(default_factory=dict, compare=False)


class EnvironmentFeed:
    """Watches over the history outbox (see module docstring)."""

    def __init__(
        self,
        *,
        environments: EnvironmentRepository,
        poll_interval: float = 0.05,
        gap_wait: float = 2.0,
        buffer_size: int = 10_000,
        max_lag: int = 10_000,
        clock: Callable[[], float] | None = None,
        freshness: FreshnessSource | None = None,
    ) -> None:
        self._environments = environments
        self._freshness_source = freshness
        self._freshness = UNWATCHED
        self._max_lag = max_lag
        self._poll_interval = poll_interval
        self._gap_wait = gap_wait
        self._buffer: deque[_Change] = deque(maxlen=buffer_size)
        self._position = 0  # everything up to here is in the buffer (or before it)
        self._news = asyncio.Event()  # set (and replaced) whenever the position moves
        self._poller: asyncio.Task[None] | None = None
        self._closed = False
        self._clock = clock

    @property
    def freshness(self) -> Freshness:
        """How current the watcher's data is, as the poller last read it (read at most
        once per poll; `UNWATCHED` before the first poll or without a source). The watch
        stream's heartbeats carry it, so a client learns that the data went stale even
        when no change arrives."""
        return self._freshness

    async def watch(
        self, caller: Caller, *, since: int | None = None, duration: float | None = None
    ) -> AsyncGenerator[FeedEvent, None]:
        """The events of `watch_batches`, one by one."""
        batches = self.watch_batches(caller, since=since, duration=duration)
        try:
            async for batch in batches:
                for event in batch:
                    yield event
        finally:
            await batches.aclose()

    async def watch_batches(
        self, caller: Caller, *, since: int | None = None, duration: float | None = None
    ) -> AsyncGenerator[list[FeedEvent], None]:
        """Without ``since``: ADDED for every live environment the caller may see, SYNCED
        (with the position they reflect), then changes. With ``since``: only the changes
        after it, or one EXPIRED when that position does not exist here. With ``duration``
        the watch ends once it has lasted that many seconds and has nothing to send (the
        client resumes after its last id, as a Kubernetes watch ends after its timeout).
        A watch that had caught up and falls more than ``max_lag`` events behind the
        feed's head ends the same way (see module docstring).

        Events come in batches: what was ready at once (the initial list; the changes of
        one page), so a caller can send them together. A batch is never empty."""
        deadline = None if duration is None else asyncio.get_running_loop().time() + duration
        await self._ensure_poller()
        if since is None:
            position = await self._environments.latest_change_position()
            owner = None if caller.admin else caller.token_id
            listed = [
                FeedEvent(FeedEventType.ADDED, record)
                for record in await self._environments.list_live(owner_token_id=owner)
            ]
            yield [*listed, FeedEvent(FeedEventType.SYNCED, position=position)]
        else:
            if since > await self._environments.latest_change_position():
                yield [FeedEvent(FeedEventType.EXPIRED)]
                return
            position = since
        live = False  # caught up once: from then on, falling far behind ends the watch
        while True:
            changes = await self._changes_after(position)
            if not changes:
                live = True
                if not await self._wait_for_news(position, deadline):
                    return  # the duration is over, or the feed was closed (shutdown)
                continue
            position = changes[-1].position
            batch = [
                FeedEvent(_event_type(change), change.record, change.position, change.shared)
                for change in changes
                if caller.may_see(change.owner_token_id)
            ]
            if not batch:
                continue
            yield batch
            # Back from its caller (the client took the batch): too far behind now?
            if live and self._position - position > self._max_lag:
                logger.info(
                    "environment feed: a watch fell %d events behind; ended",
                    self._position - position,
                )
                return

    async def confirmed_position(self, *, after: int, wait: float) -> int:
        """The newest outbox position the poller has confirmed (no row at or below it can
        still commit, see "Commit order"), once it is past ``after`` or ``wait`` seconds
        have passed, whichever comes first. Webhook delivery reads the outbox up to it.
        Raises RuntimeError once the feed is closed."""
        if self._closed:
            raise RuntimeError("the environment feed is closed")
        await self._ensure_poller()
        deadline = asyncio.get_running_loop().time() + wait
        await self._wait_for_news(after, deadline)
        return self._position

    async def aclose(self) -> None:
        """Stop the poller; watches in progress end."""
        self._closed = True
        self._news.set()
        if self._poller is not None:
            for error in await cancel_and_wait([self._poller]):
                logger.error("environment feed poller failed", exc_info=error)
            self._poller = None

    # -- reading -------------------------------------------------------------------------

    async def _changes_after(self, position: int) -> Sequence[_Change]:
        """The changes after ``position`` that the poller has confirmed, from the buffer
        when it still holds them, else a page from the database."""
        if position >= self._position:
            return ()
        if self._buffer and position >= self._buffer[0].position - 1:
            return self._buffered_after(position)
        rows = await self._environments.list_changes_after(position, limit=PAGE)
        return await self._changes([r for r in rows if r.id <= self._position])

    def _buffered_after(self, position: int) -> list[_Change]:
        """At most ``PAGE`` buffered changes after ``position``, oldest first: found by
        bisection (positions grow along the buffer), so a watch that is a few events
        behind costs a few steps, not a pass over the whole buffer."""
        buffer = self._buffer
        start = bisect.bisect_right(buffer, position, key=_position_of)
        # Indexing a deque is cheap near its ends, where live watches read.
        return [buffer[i] for i in range(start, min(len(buffer), start + PAGE))]

    async def _wait_for_news(self, position: int, deadline: float | None) -> bool:
        """Wait until the poller confirmed changes after ``position``; False once the feed
        is closed or the ``deadline`` (loop time) passed."""
        try:
            async with asyncio.timeout_at(deadline):
                while self._position <= position and not self._closed:
                    await self._news.wait()
        except TimeoutError:
            return False
        return not self._closed

    async def _changes(self, rows: Sequence[StatusChangeRecord]) -> list[_Change]:
        records = {
            r.id: r
            for r in await self._environments.list_by_ids(
                {row.environment_id for row in rows}, include_deleted=True
            )
        }
        changes = []
        for row in rows:
            record = records.get(row.environment_id)
            if record is None:
                continue  # the row's environment is gone for good (never happens: soft delete)
            changes.append(
                _Change(
                    row.id,
                    record.owner_token_id,
                    replace(
                        record,
                        status=row.to_status,
                        status_reason=row.reason,
                        status_message=row.message,
                        failure_kind=row.failure_kind,
                        expires_at=row.expires_at,
                    ),
                    created=row.from_status is None,
                )
            )
        return changes

    # -- the poller ----------------------------------------------------------------------

    async def _ensure_poller(self) -> None:
        if self._poller is not None or self._closed:
            return
        position = await self._environments.latest_change_position()
        if self._poller is None:  # another watch may have started it meanwhile
            self._position = position
            self._poller = asyncio.create_task(self._poll(), name="environment-feed")
            self._poller.add_done_callback(_report_poller_end)

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        clock = self._clock or loop.time
        gap_since: float | None = None
        while True:
            await self._read_freshness()
            try:
                rows = await self._environments.list_changes_after(self._position, limit=PAGE)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("environment feed: reading the outbox failed (%s)", exc)
                rows = []
            accepted: list[StatusChangeRecord] = []
            blocked = False
            expected = self._position + 1
            for row in rows:
                if row.id != expected:
                    if gap_since is None:
                        gap_since = clock()
                    if clock() - gap_since < self._gap_wait:
                        blocked = True  # an earlier id may still commit
                        break
                    # Waited long enough: the missing ids belong to rolled-back writes.
                accepted.append(row)
                expected = row.id + 1
            if not blocked:
                gap_since = None
            if accepted:
                self._buffer.extend(await self._changes(accepted))
                self._position = accepted[-1].id
                news, self._news = self._news, asyncio.Event()
                news.set()
            if len(rows) < PAGE or not accepted:
                await asyncio.sleep(self._poll_interval)

    async def _read_freshness(self) -> None:
        if self._freshness_source is None:
            return
        try:
            self._freshness = await self._freshness_source()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("environment feed: reading the watcher heartbeat failed (%s)", exc)
            self._freshness = Freshness(stale=True)


def _event_type(change: _Change) -> FeedEventType:
    if change.record.status == DELETED_STATUS:
        return FeedEventType.DELETED
    return FeedEventType.ADDED if change.created else FeedEventType.MODIFIED


def _position_of(change: _Change) -> int:
    return change.position


def _report_poller_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("environment feed poller stopped", exc_info=task.exception())
