"""The watch stream across disconnects (`follow`), and waiting for one environment's status
with it (`StatusWait`, `wait_for_status`): push only, never a poll.

`follow` guarantees:

- The first connection's failure is raised (`ConnectionFailed`, `ApiError`): a wrong URL or
  token fails at once instead of retrying forever.
- After a disconnect (connection cut, a replica restarting, the server ending a stream after
  ``CATALYST_WATCH_STREAM_TIMEOUT_SECONDS``) it reconnects with ``Last-Event-ID`` set to the
  last event id seen, so no change is missed or repeated. A stream that ran its course is
  reopened at once; connection failures, 5xx answers and streams that end as soon as they
  open back off (0.25 s doubling up to 5 s); a 4xx on reconnect is raised.
- ``EXPIRED`` (the resume position is gone here) is passed on, then the stream is listed
  again: ADDED for every environment, then SYNCED. A consumer that keeps a view drops it
  when it sees EXPIRED.

`StatusWait` is the pure part of ``catalyst env wait``: fed the events in order, it says
when the environment reached the wanted status, failed, or disappeared.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Protocol

from catalyst.client.api import ApiError, ConnectionFailed, Environment, WatchEvent

RETRY_FIRST = 0.25
RETRY_MAX = 5.0
# A stream the server ends cleanly after at least this long was healthy (its stream
# duration ran out): reconnect at once. Shorter ones count as failures, so a server that
# ends every stream at once is not hammered.
HEALTHY_STREAM = 1.0
# The pseudo-status ``wait --for=deleted`` waits for: the environment is gone.
DELETED = "deleted"
FAILED = "failed"
DELETING = "deleting"


class WatchSource(Protocol):
    """What `follow` needs of `catalyst.client.api.CatalystClient`: one watch stream."""

    def watch(self, *, since: str | None = None) -> AsyncGenerator[WatchEvent, None]: ...


async def follow(
    client: WatchSource,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncGenerator[WatchEvent, None]:
    """Every watch event for as long as the caller iterates (see the module docstring)."""
    since: str | None = None
    connected = False
    failures = 0
    while True:
        opened = clock()
        try:
            async with aclosing(client.watch(since=since)) as events:
                async for event in events:
                    connected = True
                    failures = 0
                    if event.type == "EXPIRED":
                        since = None
                        yield event
                        break
                    if event.id is not None:
                        since = event.id
                    yield event
        except ConnectionFailed:
            if not connected:
                raise
            failures += 1
        except ApiError as error:
            if not connected or error.status_code < 500:
                raise
            failures += 1
        else:
            failures = 0 if clock() - opened >= HEALTHY_STREAM else failures + 1
        if failures:
            await sleep(min(RETRY_FIRST * 2 ** (failures - 1), RETRY_MAX))


class WaitResult(enum.Enum):
    REACHED = "reached"  # the wanted status (or, for ``deleted``, gone)
    FAILED = "failed"  # status ``failed`` while waiting for something else
    GONE = "gone"  # deleted, or being deleted, while waiting for a status it cannot reach
    NOT_FOUND = "not found"  # not in the first list: unknown id, or not the token's


@dataclass
class StatusWait:
    """Follows environment ``env_id`` through watch events until ``target`` is decided.

    ``target`` is a status (``running``, ``failed``, ``starting``, ``deleting``) or
    ``deleted``. `see` returns None while undecided. Status ``failed`` ends the wait for any
    other status (FAILED), and ``deleting`` for any status but ``deleted`` (GONE). ``last``
    is the environment as last seen (None before it was seen)."""

    env_id: int
    target: str
    last: Environment | None = None
    _listing: bool = True
    _in_list: bool = False
    _seen: bool = False

    def see(self, event: WatchEvent) -> WaitResult | None:
        mine = event.environment is not None and event.environment.get("id") == self.env_id
        if event.type == "EXPIRED":
            self._listing, self._in_list = True, False
            return None
        if event.type == "SYNCED":
            listing, self._listing = self._listing, False
            if not listing or self._in_list:
                return None
            if self.target == DELETED:
                return WaitResult.REACHED
            return WaitResult.GONE if self._seen else WaitResult.NOT_FOUND
        if not mine:
            return None
        if event.type == "DELETED":
            return WaitResult.REACHED if self.target == DELETED else WaitResult.GONE
        self.last = event.environment
        self._seen = True
        if self._listing:
            self._in_list = True
        return self._judge(str(self.last.get("status")) if self.last else "")

    def _judge(self, status: str) -> WaitResult | None:
        if status == self.target:
            return WaitResult.REACHED
        if self.target == DELETED:
            return None  # a failed environment can still be deleted
        if status == FAILED:
            return WaitResult.FAILED
        if status == DELETING:
            return WaitResult.GONE
        return None


async def wait_for_status(client: WatchSource, wait: StatusWait) -> WaitResult:
    """Feed ``wait`` from the watch stream until it decides (no timeout of its own: wrap
    the call in one)."""
    async with aclosing(follow(client)) as events:
        async for event in events:
            result = wait.see(event)
            if result is not None:
                return result
    raise AssertionError("the watch stream never ends")  # pragma: no cover
