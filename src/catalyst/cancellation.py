"""Stopping a background task without swallowing anybody's cancellation.

``task.cancel(); await task`` followed by ``except CancelledError: pass`` cannot tell the
task's cancellation (expected) from a cancellation of the caller (which must propagate:
the caller's own owner is shutting it down). `cancel_and_wait` waits with `asyncio.wait`,
which never raises the task's outcome, so only the caller's cancellation can surface, and it
does; the task's own ending is returned for the owner to report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> list[BaseException]:
    """Cancel every task that is still running, wait until all have finished, and return
    the exceptions they ended with (cancellation aside), in the order given.

    Raises `asyncio.CancelledError` only when the caller itself is cancelled while waiting;
    the tasks have been asked to stop by then and finish on their own.
    """
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
    return [
        error for task in tasks if not task.cancelled() and (error := task.exception()) is not None
    ]
