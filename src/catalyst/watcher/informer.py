"""Shared informer: a reflector, a cache, and handlers notified of every change.

In client-go the reflector and the processing loop run on different goroutines joined by a
DeltaFIFO. Here everything runs on one event loop, so the informer applies each change the
moment the reflector hands it over: in arrival order, cache first, then notifications
(the in-order "RealFIFO" with atomic replace of k8s-semantics A12). Guarantees:

- The cache (:attr:`SharedInformer.indexer`) is updated **before** any handler hears of the
  change, so a handler that reads the cache sees at least that state.
- A relist replaces the cache at once. Keys that vanished are reported first, as
  ``on_delete(DeletedFinalStateUnknown(key, last_known))`` (the delete happened while we
  were not watching, and the last known state may be stale); then every listed object is
  reported as an add or, if its resourceVersion changed, an update. Unchanged objects are
  not reported (A11: only real changes, adds and deletes reach handlers on a relist).
- A DELETED event for a key the cache does not hold is dropped (A10).
- Each handler has its own unbounded queue and task, so a slow handler delays only itself
  (A1). A handler added after start first receives ``on_add(obj, is_initial=True)`` for
  every cached object (A15). A failing callback is logged and the handler goes on.
- :meth:`SharedInformer.has_synced` turns true after the first complete list (or watch-list)
  was applied; :meth:`HandlerRegistration.has_synced` additionally waits until that handler
  received the initial notifications (A15, A17).
- Optional resync replays the cache to handlers as ``on_update(obj, obj)`` every period; it
  never calls the API server (A16).
- Final states: with ``keep_final_state``, the last state of every deleted object the
  predicate accepts (a DELETED event's object, or the last known state of a key a relist
  found gone) is kept in :attr:`SharedInformer.departed` until the key is added again or
  :meth:`SharedInformer.forget_departed` drops it, before handlers hear of the delete.
- Staleness: :meth:`SharedInformer.unhealthy_for` says for how long the reflector has been
  unable to list or watch; callers compare it with their STALE threshold.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from catalyst.cancellation import cancel_and_wait
from catalyst.watcher import metrics
from catalyst.watcher.indexer import (
    Indexer,
    IndexFunc,
    KubeObject,
    object_key,
    resource_version_of,
)
from catalyst.watcher.listwatch import ListWatcher
from catalyst.watcher.reflector import Reflector, Transform

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeletedFinalStateUnknown:
    """A delete the informer inferred from a relist: ``obj`` is the last state it knew."""

    key: str
    obj: KubeObject | None


class EventHandler(Protocol):
    """Callbacks an informer delivers; each may be a plain or an ``async`` function."""

    def on_add(self, obj: KubeObject, is_initial: bool) -> Any: ...

    def on_update(self, old: KubeObject, new: KubeObject) -> Any: ...

    def on_delete(self, obj: KubeObject | DeletedFinalStateUnknown) -> Any: ...


_Notification = tuple[str, tuple[Any, ...]]


class HandlerRegistration:
    """One handler's queue and delivery task."""

    def __init__(self, handler: EventHandler, informer: SharedInformer) -> None:
        self.handler = handler
        self._informer = informer
        self._queue: asyncio.Queue[_Notification | None] = asyncio.Queue()
        self._pending_initial = 0
        self._task: asyncio.Task[None] | None = None

    def has_synced(self) -> bool:
        return self._informer.has_synced() and self._pending_initial == 0

    def _start(self) -> None:
        self._task = asyncio.create_task(self._deliver(), name=f"informer-handler-{id(self)}")

    def _notify(self, method: str, *args: Any, initial: bool = False) -> None:
        if initial:
            self._pending_initial += 1
        self._queue.put_nowait((method, (*args, initial)))

    async def _deliver(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            method, args = item
            *call_args, initial = args
            try:
                result = getattr(self.handler, method)(*call_args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception(
                    "informer handler %s.%s failed", type(self.handler).__name__, method
                )
            finally:
                if initial:
                    self._pending_initial -= 1

    async def _stop(self) -> None:
        """Deliver what is queued (up to 5 s), then end the delivery task and wait for it."""
        task, self._task = self._task, None
        if task is None:
            return
        self._queue.put_nowait(None)
        # asyncio.wait never raises the task's outcome: only our own cancellation surfaces.
        await asyncio.wait({task}, timeout=5)
        await cancel_and_wait([task])


class SharedInformer:
    """Keeps :attr:`indexer` in step with one collection and notifies handlers."""

    def __init__(
        self,
        listwatch: ListWatcher,
        *,
        indexers: Mapping[str, IndexFunc] | None = None,
        transform: Transform | None = None,
        resync_period: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        keep_final_state: Callable[[KubeObject], bool] | None = None,
        **reflector_options: Any,
    ) -> None:
        self.name = listwatch.description
        self.indexer = Indexer(indexers)
        self.departed: dict[str, KubeObject] = {}
        """Final states of deleted objects that ``keep_final_state`` accepted, by key."""
        self._keep_final_state = keep_final_state
        self.resync_period = resync_period
        self._clock = clock
        self._handlers: list[HandlerRegistration] = []
        self._synced = asyncio.Event()
        self._started = False
        self._tasks: list[asyncio.Task[None]] = []
        self.reflector = Reflector(
            listwatch, self, transform=transform, clock=clock, **reflector_options
        )

    # -- configuration ----------------------------------------------------------------------

    def set_transform(self, transform: Transform) -> None:
        if self._started:
            raise RuntimeError("set_transform must be called before the informer starts")
        self.reflector.transform = transform

    def add_event_handler(self, handler: EventHandler) -> HandlerRegistration:
        registration = HandlerRegistration(handler, self)
        self._handlers.append(registration)
        if self._started:
            registration._start()
            for obj in self.indexer.objects():
                registration._notify("on_add", obj, True, initial=True)
        return registration

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        # The gauge exists while the informer runs: one that was built but never started,
        # or has stopped, keeps no cache that could be complete.
        metrics.INFORMER_SYNCED.labels(self.name).set(1 if self._synced.is_set() else 0)
        for registration in self._handlers:
            registration._start()
        self._tasks.append(
            asyncio.create_task(self._run_reflector(), name=f"reflector {self.name}")
        )
        if self.resync_period:
            self._tasks.append(asyncio.create_task(self._resync_loop(), name=f"resync {self.name}"))

    async def stop(self) -> None:
        """Stop the reflector and resync tasks and every handler's delivery, and wait for
        all of them. A cancellation of the caller propagates (after asking everything to
        stop); a task that had failed is re-raised once everything has stopped."""
        tasks, self._tasks = self._tasks, []
        errors = await cancel_and_wait(tasks)
        for registration in list(self._handlers):
            await registration._stop()
        self._started = False
        try:
            metrics.INFORMER_SYNCED.remove(self.name)
        except KeyError:
            pass  # never started
        if errors:
            raise errors[0]

    async def _run_reflector(self) -> None:
        try:
            await self.reflector.run()
        except asyncio.CancelledError:
            raise
        except Exception:  # run() only returns by cancellation; anything else is a bug
            logger.exception("reflector %s crashed", self.name)
            raise

    async def _resync_loop(self) -> None:
        assert self.resync_period
        while True:
            await asyncio.sleep(self.resync_period)
            for obj in self.indexer.objects():
                for registration in self._handlers:
                    registration._notify("on_update", obj, obj)

    # -- state ------------------------------------------------------------------------------

    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_for_sync(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the first complete list; True when synced."""
        try:
            await asyncio.wait_for(self._synced.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def unhealthy_for(self) -> float:
        """Seconds since the reflector last lost its list/watch; 0 while healthy."""
        since = self.reflector.unhealthy_since
        return 0.0 if since is None else max(0.0, self._clock() - since)

    def forget_departed(self, predicate: Callable[[KubeObject], bool]) -> None:
        """Drop the kept final states ``predicate`` accepts (e.g. a forgotten environment's)."""
        for key in [k for k, obj in self.departed.items() if predicate(obj)]:
            del self.departed[key]

    def _depart(self, key: str, obj: KubeObject | None) -> None:
        if obj is not None and self._keep_final_state is not None and self._keep_final_state(obj):
            self.departed[key] = obj

    @property
    def last_sync_resource_version(self) -> str:
        return self.indexer.last_sync_resource_version

    # -- ReflectorStore: called by the reflector, in order --------------------------------------

    def replace(self, objects: list[KubeObject], resource_version: str) -> None:
        is_initial = not self._synced.is_set()
        previous, removed = self.indexer.replace(objects, resource_version)
        for key, last_known in removed.items():
            self._depart(key, last_known)
        for obj in objects:
            self.departed.pop(object_key(obj), None)
        for key, last_known in removed.items():
            self._distribute("on_delete", DeletedFinalStateUnknown(key, last_known))
        for obj in objects:
            old = previous.get(object_key(obj))
            if old is None:
                self._distribute("on_add", obj, is_initial)
            elif resource_version_of(old) != resource_version_of(obj):
                self._distribute("on_update", old, obj)
        if is_initial:
            self._synced.set()
            metrics.INFORMER_SYNCED.labels(self.name).set(1)

    def add(self, obj: KubeObject) -> None:
        self._upsert(obj)

    def update(self, obj: KubeObject) -> None:
        self._upsert(obj)

    def delete(self, obj: KubeObject) -> None:
        key = object_key(obj)
        if self.indexer.delete_key(key) is not None:
            self._depart(key, obj)
            self._distribute("on_delete", obj)

    def bookmark(self, resource_version: str) -> None:
        self.indexer.last_sync_resource_version = resource_version

    def _upsert(self, obj: KubeObject) -> None:
        self.departed.pop(object_key(obj), None)
        old = self.indexer.upsert(obj)
        if old is None:
            self._distribute("on_add", obj, False)
        else:
            self._distribute("on_update", old, obj)

    def _distribute(self, method: str, *args: Any) -> None:
        for registration in self._handlers:
            registration._notify(method, *args)
