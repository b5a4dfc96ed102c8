"""Event history and watch fan-out.

`WatchHub` listens to the `Store` and keeps a bounded history of committed
changes (by count and by age, like the apiserver watch cache's ~75 s window).
``compacted_rv`` is the newest resourceVersion whose event was dropped: a
watch or an Exact list from any RV ``>= compacted_rv`` can be served exactly;
older RVs are "too old" (410 Expired, B5/B10).

Fan-out is cheap by construction:

* watchers are indexed by (resource storage, namespace), so an event only
  visits the watchers that can possibly see it (every version of a custom
  resource shares one storage; each watcher gets objects in its own version);
* each event's JSON is encoded once (orjson), and the wire line for each event
  type is built once and shared by all watchers;
* delivering to a watcher appends bytes to its own bounded queue and never
  awaits. A watcher whose queue overflows is closed (its client re-watches),
  as the apiserver does with watchers that cannot keep up.

Selectors follow B13: the watcher's predicate is evaluated on the previous and
the new state; starting to match sends ADDED, stopping to match sends DELETED
(carrying the previous state stamped with the new RV), matching both sends the
event's own type.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from kubesim.errors import ApiError, expired
from kubesim.resources import Obj, ResourceType, in_version
from kubesim.store import Event, Store

Predicate = Callable[[Obj], bool]
# Renders one event as a wire line for watchers that want another format (Table).
Renderer = Callable[[str, Obj], bytes]

DEFAULT_HISTORY_LIMIT = 5000
DEFAULT_HISTORY_SECONDS = 75.0
DEFAULT_QUEUE_LIMIT = 2000


def event_line(event_type: str, obj_json: bytes) -> bytes:
    return b'{"type":"' + event_type.encode() + b'","object":' + obj_json + b"}\n"


def error_line(error: ApiError) -> bytes:
    return event_line("ERROR", orjson.dumps(error.status()))


def bookmark_line(rt: ResourceType, rv: int, *, initial_events_end: bool = False) -> bytes:
    metadata: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_events_end:
        metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
    obj = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": metadata}
    return event_line("BOOKMARK", orjson.dumps(obj))


class EncodedEvent:
    """A committed event plus its lazily built, shared wire lines."""

    __slots__ = ("_lines", "_obj_json", "event", "monotonic", "namespace")

    def __init__(self, event: Event) -> None:
        self.event = event
        self.namespace: str = event.obj.get("metadata", {}).get("namespace") or ""
        self.monotonic = time.monotonic()
        self._obj_json: bytes | None = None
        self._lines: dict[str, bytes] = {}

    @property
    def rv(self) -> int:
        return self.event.rv

    def line(self, event_type: str, rt: ResourceType | None = None) -> bytes:
        """The wire line for ``event_type``, with the object as served through ``rt``'s
        version (None or the event's own version: as committed)."""
        obj = self.event.obj
        if rt is not None and rt.custom and obj.get("apiVersion") != rt.api_version:
            return self._converted_line(event_type, rt)
        cached = self._lines.get(event_type)
        if cached is not None:
            return cached
        if event_type == "DELETED" and self.event.type != "DELETED":
            # Stopped matching a selector: the previous state, stamped with this RV.
            line = event_line("DELETED", orjson.dumps(self.gone_state()))
        else:
            if self._obj_json is None:
                self._obj_json = orjson.dumps(obj)
            line = event_line(event_type, self._obj_json)
        self._lines[event_type] = line
        return line

    def gone_state(self) -> Obj:
        """What a watcher that stopped matching sees as DELETED: the previous state,
        stamped with this event's RV."""
        old = self.event.old or self.event.obj
        return {**old, "metadata": {**old["metadata"], "resourceVersion": str(self.rv)}}

    def _converted_line(self, event_type: str, rt: ResourceType) -> bytes:
        key = f"{event_type} {rt.api_version}"
        cached = self._lines.get(key)
        if cached is None:
            if event_type == "DELETED" and self.event.type != "DELETED":
                obj = self.gone_state()
            else:
                obj = self.event.obj
            cached = event_line(event_type, orjson.dumps(in_version(rt, obj)))
            self._lines[key] = cached
        return cached


class Watcher:
    """One open watch: a predicate and a bounded queue of wire lines."""

    def __init__(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        predicate: Predicate | None,
        from_rv: int,
        queue_limit: int,
        renderer: Renderer | None = None,
    ) -> None:
        self.rt = rt
        self.namespace = namespace or ""
        self.predicate = predicate
        self.from_rv = from_rv
        self.queue_limit = queue_limit
        self.renderer = renderer
        self.queue: deque[bytes] = deque()
        self.wake = asyncio.Event()
        self.closed = False
        self.close_reason = ""

    def _matches(self, obj: Obj | None) -> bool:
        if obj is None:
            return False
        return self.predicate is None or self.predicate(obj)

    def offer(self, entry: EncodedEvent) -> None:
        """Deliver one event (synchronous; called inside the store commit)."""
        if entry.rv <= self.from_rv or self.closed:
            return
        event = entry.event
        now_match = self._matches(event.obj)
        if event.type == "ADDED":
            event_type = "ADDED" if now_match else None
        elif event.type == "DELETED":
            event_type = "DELETED" if now_match else None
        else:
            was_match = self._matches(event.old)
            if now_match and was_match:
                event_type = "MODIFIED"
            elif now_match:
                event_type = "ADDED"
            elif was_match:
                event_type = "DELETED"
            else:
                event_type = None
        if event_type is None:
            return
        if self.renderer is not None:
            obj = event.obj
            if event_type == "DELETED" and event.type != "DELETED":
                obj = event.old or obj
            self.push(self.renderer(event_type, in_version(self.rt, obj)))
        else:
            self.push(entry.line(event_type, self.rt))

    def push(self, line: bytes) -> None:
        if self.closed:
            return
        if len(self.queue) >= self.queue_limit:
            self.close("too slow: event queue overflow")
            return
        self.queue.append(line)
        self.wake.set()

    def push_unbounded(self, line: bytes) -> None:
        """Queue a line the server itself decided to send (never overflows)."""
        if not self.closed:
            self.queue.append(line)
            self.wake.set()

    def drain(self) -> list[bytes]:
        lines = list(self.queue)
        self.queue.clear()
        return lines

    def close(self, reason: str = "closed") -> None:
        if not self.closed:
            self.closed = True
            self.close_reason = reason
            self.wake.set()


class WatchHub:
    """Bounded event history plus the index of open watchers."""

    def __init__(
        self,
        store: Store,
        *,
        history_limit: int = DEFAULT_HISTORY_LIMIT,
        history_seconds: float = DEFAULT_HISTORY_SECONDS,
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
    ) -> None:
        self.store = store
        self.history_limit = history_limit
        self.history_seconds = history_seconds
        self.queue_limit = queue_limit
        self._history: deque[EncodedEvent] = deque()
        self.compacted_rv = store.current_rv
        self._watchers: dict[tuple[tuple[str, str], str], set[Watcher]] = {}
        self.dropped_slow_watchers = 0
        store.add_listener(self._on_event)

    # --------------------------------------------------------------- history

    def _on_event(self, event: Event) -> None:
        entry = EncodedEvent(event)
        self._history.append(entry)
        self._trim(entry.monotonic)
        store_key = event.resource.store_key
        namespace = entry.namespace
        for key in ((store_key, namespace), (store_key, "")) if namespace else ((store_key, ""),):
            watchers = self._watchers.get(key)
            if watchers:
                for watcher in tuple(watchers):
                    watcher.offer(entry)
                    if watcher.closed:
                        self._forget(watcher)
                        self.dropped_slow_watchers += 1

    def _trim(self, now: float) -> None:
        history = self._history
        horizon = now - self.history_seconds
        while history and (len(history) > self.history_limit or history[0].monotonic < horizon):
            self.compacted_rv = history.popleft().rv

    def compact(self) -> None:
        """Forget all history: every RV older than the current one becomes too old."""
        self._history.clear()
        self.compacted_rv = self.store.current_rv

    @property
    def history_size(self) -> int:
        return len(self._history)

    def too_old(self, rv: int) -> ApiError:
        return expired(f"too old resource version: {rv} ({self.compacted_rv + 1})")

    def _entries_after(self, rv: int) -> Iterator[EncodedEvent]:
        """History entries with RV > ``rv``, oldest first, found by bisection.

        Watchers usually start at the newest RV, so a linear scan per watch
        would make opening many watches quadratic in the history size.
        """
        history = self._history
        if not history or history[-1].rv <= rv:
            return iter(())
        start = bisect.bisect_right(history, rv, key=lambda entry: entry.rv)
        return itertools.islice(history, start, None)

    def snapshot(self, rt: ResourceType, namespace: str | None, rv: int) -> list[Obj]:
        """The objects of one type as they were at ``rv`` (rolled back from now).

        Raises 410 Expired when the history no longer reaches back to ``rv``.
        """
        if rv < self.compacted_rv:
            raise self.too_old(rv)
        objs = {
            (o["metadata"].get("namespace") or "", o["metadata"]["name"]): o
            for o in self.store.list(rt, namespace)
        }
        store_key = rt.store_key
        for entry in reversed(self._history):
            if entry.rv <= rv:
                break
            event = entry.event
            if event.resource.store_key != store_key or (
                namespace and entry.namespace != namespace
            ):
                continue
            key = (entry.namespace, event.obj["metadata"]["name"])
            if event.type == "ADDED":
                objs.pop(key, None)
            elif event.old is not None:
                objs[key] = event.old
        if rt.custom:
            return [in_version(rt, obj) for obj in objs.values()]
        return list(objs.values())

    # -------------------------------------------------------------- watchers

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        predicate: Predicate | None,
        from_rv: int | None,
        initial: Iterable[Obj] | None = None,
        renderer: Renderer | None = None,
    ) -> Watcher:
        """Open a watcher synchronously, so no commit can slip between its parts.

        ``initial``: objects to send as synthetic ADDED events first (RV unset/"0");
        the watcher then sees every change after the current RV.
        ``from_rv``: replay history after that RV (raise 410 if compacted).
        """
        if initial is not None:
            initial_lines = [
                renderer("ADDED", o) if renderer else event_line("ADDED", orjson.dumps(o))
                for o in initial
                if predicate is None or predicate(o)
            ]
            start = self.store.current_rv
        else:
            initial_lines = []
            start = self.store.current_rv if from_rv is None else from_rv
            if start < self.compacted_rv:
                raise self.too_old(start)
        watcher = Watcher(
            rt,
            namespace,
            predicate=predicate,
            from_rv=start,
            queue_limit=self.queue_limit + len(initial_lines),
            renderer=renderer,
        )
        watcher.queue.extend(initial_lines)
        if initial is None:
            store_key = rt.store_key
            for entry in self._entries_after(start):
                if entry.event.resource.store_key == store_key and (
                    not namespace or entry.namespace == namespace
                ):
                    watcher.offer(entry)
        if watcher.queue:
            watcher.wake.set()
        self._watchers.setdefault((rt.store_key, namespace or ""), set()).add(watcher)
        return watcher

    def _forget(self, watcher: Watcher) -> None:
        key = (watcher.rt.store_key, watcher.namespace)
        watchers = self._watchers.get(key)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self._watchers[key]

    def unwatch(self, watcher: Watcher) -> None:
        watcher.close("finished")
        self._forget(watcher)

    def close_watchers(self, types: Iterable[ResourceType], reason: str) -> int:
        """End every watch opened through one of ``types`` (a type stopped being served
        as it was); their clients see the stream end and re-list."""
        wanted = set(types)
        closed = 0
        for watchers in list(self._watchers.values()):
            for watcher in list(watchers):
                if watcher.rt in wanted:
                    watcher.close(reason)
                    self._forget(watcher)
                    closed += 1
        return closed

    def close_all(self, reason: str = "closed by server") -> int:
        closed = 0
        for watchers in list(self._watchers.values()):
            for watcher in list(watchers):
                watcher.close(reason)
                closed += 1
        self._watchers.clear()
        return closed

    @property
    def watcher_count(self) -> int:
        return sum(len(w) for w in self._watchers.values())

    def watchers_by_resource(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for ((group, plural), _ns), watchers in self._watchers.items():
            label = f"{plural}.{group}" if group else plural
            out[label] = out.get(label, 0) + len(watchers)
        return out
