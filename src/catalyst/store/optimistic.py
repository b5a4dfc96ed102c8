"""The one retry loop of optimistic locking.

Every write of an environment row carries the version it was decided from, and the store
refuses it with `StaleRecord` when another writer got there first. The caller's answer is
always the same: read the row again, decide again, write again, a bounded number of times.
`retry_stale` is that loop; the attempt it runs owns the reading and the deciding, so each
call of it starts from the row as it is now.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from catalyst.store.errors import StaleRecord

T = TypeVar("T")

MAX_ATTEMPTS = 10
"""Attempts before giving up. Each refused attempt means another writer's write went in,
so running out means the row kept changing under ten decisions in a row."""


async def retry_stale(attempt: Callable[[], Awaitable[T]], *, attempts: int = MAX_ATTEMPTS) -> T:
    """Run ``attempt`` until it finishes without `StaleRecord`; return what it returned.

    Raises the last attempt's `StaleRecord` when all ``attempts`` were refused (never a
    made-up one). Any other exception ends the loop at once and propagates unchanged.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    for _ in range(attempts - 1):
        try:
            return await attempt()
        except StaleRecord:
            continue
    return await attempt()
