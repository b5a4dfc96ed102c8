"""The skeleton every kubesim controller shares: store listener → work queue → process.

A :class:`QueuedController` registers :meth:`on_event` as a store listener on
:meth:`start`, calls :meth:`seed` to queue work for objects that existed before it, and
processes items one at a time in the :class:`WorkQueue` task it owns. :meth:`stop`
removes the listener first, so no event arrives for a stopped queue, then stops the task.

Guarantees: ``start`` is idempotent and ``start`` after ``stop`` starts afresh (items
queued before the stop are dropped; ``seed`` runs again). ``on_event`` runs inside
the store's commit and therefore must be fast and must not write to the store: it only
updates in-memory indexes and calls :meth:`enqueue`.

:func:`unless_vanished` is the guard every controller write goes through: a 404 (the
object is gone) or 409 (a namesake replaced it, caught by a uid precondition) means the
work is moot, not failed.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from kubesim.controllers.workqueue import WorkQueue
from kubesim.errors import ApiError
from kubesim.store import Event, Store

log = logging.getLogger(__name__)

T = TypeVar("T", bound=Hashable)


@contextmanager
def unless_vanished(what: str) -> Iterator[None]:
    """Run a store write, skipping it if its object vanished (404) or was replaced (409)."""
    try:
        yield
    except ApiError as exc:
        if exc.code not in (404, 409):
            raise
        log.debug("%s: the object vanished (%s); skipped", what, exc.code)


class QueuedController(ABC, Generic[T]):
    """Base class: subclasses map store events to work items and process them."""

    def __init__(self, store: Store, queue_name: str, *, yield_every: int = 1) -> None:
        self.store = store
        self._queue: WorkQueue[T] = WorkQueue(queue_name, self.process, yield_every=yield_every)
        self._listening = False

    # --------------------------------------------------------------- subclass API

    @abstractmethod
    def on_event(self, event: Event) -> None:
        """Store listener: note the change and :meth:`enqueue` the affected items."""

    @abstractmethod
    def process(self, item: T) -> None:
        """Handle one item (runs in the queue's task; may write to the store)."""

    def seed(self) -> None:
        """Called by :meth:`start` once the listener is registered: :meth:`enqueue` work
        for the objects that already exist."""

    # --------------------------------------------------------------- lifecycle

    def enqueue(self, item: T) -> None:
        self._queue.add(item)

    async def start(self) -> None:
        if self._listening:
            return
        self.store.add_listener(self.on_event)
        self._listening = True
        self.seed()
        self._queue.start()

    async def stop(self) -> None:
        if self._listening:
            self.store.remove_listener(self.on_event)
            self._listening = False
        await self._queue.stop()

    async def wait_idle(self) -> None:
        """Return once all queued work is done (for tests and orderly shutdown)."""
        await self._queue.wait_idle()
