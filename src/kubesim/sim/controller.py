"""The reconcile loop every simulated controller runs on.

A controller maps store events to keys (``(namespace, name)`` of the object it owns),
de-duplicates them in the shared :class:`~kubesim.controllers.workqueue.WorkQueue` and
reconciles one key at a time in the queue's task. Reconcile is level-based and synchronous
(the store is synchronous), so a missed or repeated event is harmless. Timed transitions
are ``loop.call_later`` handles keyed by object: at most one pending timer per object,
replaced on every reconcile and cancelled when the object goes, so thousands of pods cost
thousands of timer handles and no polling.

Failure handling: an exception while reconciling one key is logged with its traceback and
the key is retried after a short delay; if the worker task itself dies, the queue restarts
it. Listener callbacks only enqueue (the store forbids writes from listeners). ``stop``
cancels every timer and drops queued keys; ``start`` re-reconciles every existing object.

:class:`OwnerController` adds the usual wiring of a workload controller (reconcile the
owner when it or an object it controls changes). The store-write helpers treat a refused
write (404, 409, 403 in a terminating namespace) as "try again on the next reconcile",
which is what level-based controllers do.
"""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar

from kubesim.controllers.base import QueuedController
from kubesim.errors import ApiError
from kubesim.resources import Obj, ResourceType
from kubesim.sim.clock import Clock
from kubesim.sim.objects import controller_of, key_of
from kubesim.store import Event, Store

log = logging.getLogger(__name__)

Key = tuple[str, str]
RETRY_AFTER_ERROR = 1.0
_YIELD_EVERY = 64  # reconciles between forced yields, so a burst never starves the loop


class Controller(QueuedController[Key]):
    """Base class: subclasses name the types they watch, map events to keys, reconcile."""

    name: str = "controller"

    def __init__(self, store: Store, clock: Clock) -> None:
        super().__init__(store, f"kubesim-{self.name}", yield_every=_YIELD_EVERY)
        self.clock = clock
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._stopping = False

    # --------------------------------------------------------------- subclass API

    @abstractmethod
    def keys_for(self, event: Event) -> Iterable[Key]:
        """Keys to reconcile because of ``event`` (must be fast; no store writes)."""

    @abstractmethod
    def reconcile(self, key: Key) -> float | None:
        """Bring one object towards its desired state; return seconds until the next timed
        change (``None``: nothing scheduled)."""

    def initial_keys(self) -> Iterable[Key]:
        """Keys to reconcile at start (objects that existed before the controller)."""
        return ()

    def forget(self, key: Key) -> None:
        """Drop per-object memory; called when reconcile finds the object gone."""

    # --------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self._stopping = False
        await super().start()

    async def stop(self) -> None:
        self._stopping = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        await super().stop()

    # --------------------------------------------------------------- queueing

    def seed(self) -> None:
        for key in self.initial_keys():
            self.enqueue(key)

    def on_event(self, event: Event) -> None:
        for key in self.keys_for(event):
            self.enqueue(key)

    def process(self, key: Key) -> None:
        try:
            delay = self.reconcile(key)
        except Exception:
            log.exception("kubesim %s failed to reconcile %s/%s", self.name, *key)
            delay = RETRY_AFTER_ERROR
        self.schedule(key, delay)

    def schedule(self, key: Key, delay: float | None) -> None:
        """Reconcile ``key`` again after ``delay`` seconds (replaces its pending timer)."""
        self.cancel_timer(key)
        if delay is None or self._stopping:
            return
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(max(delay, 0.0), self._fire, key)

    def _fire(self, key: Key) -> None:
        self._timers.pop(key, None)
        self.enqueue(key)

    def cancel_timer(self, key: Key) -> None:
        handle = self._timers.pop(key, None)
        if handle is not None:
            handle.cancel()

    # --------------------------------------------------------------- store writes

    def create_or_none(self, rt: ResourceType, obj: Obj) -> Obj | None:
        """Create ``obj``; ``None`` if refused (name taken, namespace terminating): the
        next event retries."""
        try:
            return self.store.create(rt, obj)
        except ApiError:
            return None

    def delete_quietly(self, rt: ResourceType, obj: Obj, *, propagation: str | None = None) -> None:
        """Delete ``obj``; a refusal (already gone) is ignored."""
        try:
            self.store.delete(rt, *key_of(obj), propagation=propagation)
        except ApiError:
            pass

    def replace_status(self, rt: ResourceType, key: Key, status: dict[str, Any]) -> None:
        """Write ``status`` as the whole status of the object at ``key`` (no write, and no
        event, when it is unchanged)."""

        def write(draft: Obj) -> None:
            draft["status"] = status

        self.store.mutate(rt, *key, write, subresource="status")


class OwnerController(Controller):
    """A controller of ``owner`` objects that creates ``child`` objects: an owner is
    reconciled when it changes and when a child it controls (controller ownerReference
    of the owner's kind) changes. Every existing owner is reconciled at start."""

    owner: ClassVar[ResourceType]
    child: ClassVar[ResourceType]

    def keys_for(self, event: Event) -> Iterable[Key]:
        if event.resource is self.owner:
            return (key_of(event.obj),)
        if event.resource is self.child:
            ref = controller_of(event.obj)
            if ref is not None and ref.get("kind") == self.owner.kind:
                return ((event.obj["metadata"].get("namespace") or "", str(ref.get("name"))),)
        return ()

    def initial_keys(self) -> Iterable[Key]:
        return [key_of(o) for o in self.store.list(self.owner)]
