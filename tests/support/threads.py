"""Calling blocking clients (the ``kubernetes`` package, the Helm SDK) from async tests.

The kubesim fixture serves from the test's own event loop, so a blocking
client must run in a worker thread or the server could never answer it.
``in_thread`` bounds the wait; on timeout the thread keeps running until the
client's own timeout ends it (threads cannot be killed), so callers also pass
the client a timeout of their own where it has one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_DEADLINE = 30.0


async def in_thread(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` in a worker thread, failing after DEFAULT_DEADLINE seconds."""
    return await asyncio.wait_for(asyncio.to_thread(fn, *args, **kwargs), DEFAULT_DEADLINE)


async def fetch(
    api_client: Any, fn: Callable[..., Any], *args: Any, **kwargs: Any
) -> dict[str, Any]:
    """Call a ``kubernetes`` client method in a thread; return the object as API JSON.

    Plain dicts (camelCase keys, as served) keep assertions free of the
    generated models' Optional attributes.
    """
    obj = await in_thread(fn, *args, **kwargs)
    plain: dict[str, Any] = api_client.sanitize_for_serialization(obj)
    return plain
