"""Every bounded wait of the suite, each failing with what it waited for.

- `eventually`: poll a condition that raises no event of its own (simulated pods appearing,
  a status row changing, a Lease changing hands). The one polling helper of the suite.
- `bounded`: await something that does signal (an `asyncio.Event`, a task, a stream) with a
  deadline.
- `StoreWaiter`: re-check a condition on every change of a kubesim `Store` (event-driven,
  no polling).

A timeout is an `AssertionError` saying ``timed out after <s>s waiting for <what>``, never a
bare `TimeoutError`, so a test that fails by timing out says what it meant.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

from kubesim.store import Event, Store

T = TypeVar("T")

# The default bound: generous, for a live service on a loaded 2-core machine.
WITHIN = 60.0
INTERVAL = 0.05


def timed_out(within: float, what: str, last: object = None) -> AssertionError:
    message = f"timed out after {within}s waiting for {what}"
    if last is not None:
        message += f"; last seen: {last}"
    return AssertionError(message)


@overload
async def eventually(
    predicate: Callable[[], Awaitable[T | None]],
    what: str,
    *,
    within: float = ...,
    interval: float = ...,
    last: Callable[[], object] | None = ...,
) -> T: ...


@overload
async def eventually(
    predicate: Callable[[], T | None],
    what: str,
    *,
    within: float = ...,
    interval: float = ...,
    last: Callable[[], object] | None = ...,
) -> T: ...


async def eventually(
    predicate: Callable[[], Any],
    what: str,
    *,
    within: float = WITHIN,
    interval: float = INTERVAL,
    last: Callable[[], object] | None = None,
) -> Any:
    """Poll ``predicate`` (plain or async) every ``interval`` seconds until it returns
    something truthy, and return that. After ``within`` seconds fail with ``what`` (and
    ``last()``, what was last observed, when given)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise timed_out(within, what, last() if last is not None else None)
        await asyncio.sleep(interval)


async def bounded(awaitable: Awaitable[T], what: str, *, within: float = WITHIN) -> T:
    """``await awaitable``, failing with ``what`` after ``within`` seconds (a `TimeoutError`
    raised by the awaitable itself passes through unchanged)."""
    deadline = asyncio.timeout(within)
    try:
        async with deadline:
            return await awaitable
    except TimeoutError:
        if deadline.expired():
            raise timed_out(within, what) from None
        raise


def _describe(predicate: Callable[[], Any]) -> str:
    """The source of ``predicate`` (a lambda's line reads as what it waits for)."""
    try:
        return " ".join(inspect.getsource(predicate).split())
    except (OSError, TypeError):
        return repr(predicate)


class StoreWaiter:
    """``await waiter.until(fn)``: fn is re-evaluated after every store change."""

    def __init__(self, store: Store) -> None:
        self._changed = asyncio.Event()
        store.add_listener(self._on_event)

    def _on_event(self, event: Event) -> None:
        self._changed.set()

    async def until(
        self, predicate: Callable[[], Any], limit: float = 5.0, what: str | None = None
    ) -> Any:
        """Wait (at most ``limit`` s) until ``predicate()`` is truthy; return its value.
        ``what`` names the condition in the failure (default: the predicate's source)."""

        async def loop() -> Any:
            while True:
                self._changed.clear()
                result = predicate()
                if result:
                    return result
                await self._changed.wait()

        return await bounded(loop(), what or _describe(predicate), within=limit)
