"""`WorkQueue`: keys waiting to be processed by a few workers, in the spirit of client-go's
``util/workqueue`` (kept apart from the informers, as there).

The status sync puts environment ids in it from informer callbacks, timers and its database
poll, and its workers take them out one at a time. The queue knows nothing of environments.

Guarantees:

- Coalescing: a key added any number of times before a worker takes it is handed out once,
  with the time (``clock``) of the first of those adds, so latency is measured from the
  oldest change not yet processed.
- Order: keys are handed out in the order they were first added.
- Never two workers on one key: a key that was taken and is not yet `done` is not handed
  out. Added again meanwhile, it waits its turn, keeping the time of that new add; its
  `done` wakes the workers so one of them takes it.
- Delayed adds: each key has at most one pending `add_after`; a new one replaces it and
  `cancel_delayed` drops it. `cancel_all_delayed` drops them all (the owner's shutdown),
  so no timer outlives the run that scheduled it.
- Wake-ups: `wait` returns after anything that may give a worker something to do: an add,
  a `done` of a key that was added again, or `wake` (for conditions the queue does not
  know, such as the data becoming fresh again). One add wakes every waiting worker, so a
  woken worker may find nothing to take; workers loop.

For one event loop: every method is called from the loop's thread (informer callbacks and
timers run there), and only `wait` suspends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class WorkQueue(Generic[K]):
    """Keys to process: coalesced, in first-added order, never two workers on one key."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # key -> clock time of its oldest add not yet taken (a dict keeps first-added order)
        self._queued: dict[K, float] = {}
        self._processing: set[K] = set()
        self._delayed: dict[K, asyncio.TimerHandle] = {}
        self._wakeup = asyncio.Event()

    def __len__(self) -> int:
        """How many keys wait to be taken (those being processed not counted)."""
        return len(self._queued)

    def is_idle(self) -> bool:
        """Nothing waits to be taken and no worker is processing a key."""
        return not self._queued and not self._processing

    def add(self, key: K) -> None:
        """Queue `key` (already queued: no change, it keeps its first-add time)."""
        self._queued.setdefault(key, self._clock())
        self._wakeup.set()

    def add_after(self, key: K, delay: float) -> None:
        """`add` `key` after `delay` seconds (negative: at once, on the loop's next turn),
        replacing the key's pending delayed add if it has one."""
        self.cancel_delayed(key)
        loop = asyncio.get_running_loop()
        self._delayed[key] = loop.call_later(max(delay, 0.0), self._add_delayed, key)

    def cancel_delayed(self, key: K) -> None:
        """Drop `key`'s pending delayed add, if any (a key already queued stays queued)."""
        handle = self._delayed.pop(key, None)
        if handle is not None:
            handle.cancel()

    def cancel_all_delayed(self) -> None:
        """Drop every pending delayed add."""
        for handle in self._delayed.values():
            handle.cancel()
        self._delayed.clear()

    def take(self) -> tuple[K, float] | None:
        """The oldest queued key no worker is processing, with the time of its first add;
        it is now being processed until `done`. None when there is no such key."""
        for key, added_at in self._queued.items():
            if key not in self._processing:
                del self._queued[key]
                self._processing.add(key)
                return key, added_at
        return None

    def done(self, key: K) -> None:
        """End the processing of `key`; if it was added again meanwhile, wake the workers."""
        self._processing.discard(key)
        if key in self._queued:
            self._wakeup.set()

    def wake(self) -> None:
        """Make waiting workers look again (for a condition outside the queue)."""
        self._wakeup.set()

    async def wait(self) -> None:
        """Until something may be there to take (see the module docstring).

        Call it right after `take` found nothing, with no ``await`` in between: it forgets
        the wake-ups that came before it, which that `take` already answered."""
        self._wakeup.clear()
        await self._wakeup.wait()

    def _add_delayed(self, key: K) -> None:
        self._delayed.pop(key, None)
        self.add(key)
