"""`EnvironmentListing`: the body of ``GET /api/environments``, served from a per-process
cache of rendered environments that the database validates on every request.

Why: decoding and presenting 10,000 rows costs over half a second, but asking the
database which rows changed (``{id: version}``) costs about 15 ms. So each live
environment's response item is kept as ready JSON bytes, keyed by id and checked against
its ``version`` (every write bumps it); a request re-reads and re-renders only the rows
whose version moved, drops the ids that left, and joins the cached bytes into the array.
Each item's complete line for the current freshness is kept too, so a changed row costs
one line, and the admins' full body is kept until anything changes (then one join).

Guarantees:

- Read-your-writes: a request sees every write committed before it arrived. Concurrent
  requests share one refresh (at most one runs at a time), but a request never joins a
  refresh that started before it arrived; it waits for the next one instead (at most one
  is queued, and every waiter shares it).
- The bytes are exactly what the presenter (``render``) gives for the row, serialized with
  orjson: same keys, same order, secrets redacted by the presenter. ``render`` is given per
  call by the API layer (this module does not import it); a different renderer than last
  time drops the whole cache.
- ``stale`` and ``statusObservedAt`` are decided per response, not per row (`Freshness`):
  when the watcher's data is fresh every item shows ``stale: false`` and the moment the data
  was known current; when it is stale each item shows ``stale: true`` and its own stored
  ``status_observed_at``. Without a freshness source every item shows ``stale: false`` and
  its own stored time (what the uncached presenter gives). Each cached item is therefore
  kept as ``head`` + ``tail`` around those two fields, which must be adjacent in the
  presenter's output (``statusObservedAt`` then ``stale``); a renderer that breaks this
  raises `ValueError` at once rather than serving a wrong shape.
- Non-admin callers get only the environments their token owns (the owner is cached with
  each item); admins get all. Items are in id order, like the uncached listing.

Awkward cases: a row deleted between the version query and the re-read is left out (it has
left the listing anyway); a row written in between is cached at its newer version, so the
next request does not read it again. Values orjson cannot write (integers beyond 64 bits in a
row edited by hand) fall back to the standard library's encoder. Rendering many rows at once
(the first request, a mass change) runs in a worker thread so the event loop keeps serving.
A failed refresh reaches every request waiting on it and is logged once; the cache is left
as it was, and the next request tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Generic, Protocol, TypeVar

import orjson

from catalyst.service.caller import Caller
from catalyst.service.time import rfc3339, utc_now
from catalyst.store.heartbeat import Heartbeat, HeartbeatRepository
from catalyst.store.records import EnvironmentRecord

logger = logging.getLogger(__name__)

OBSERVED_KEY: Final = "statusObservedAt"
STALE_KEY: Final = "stale"
# Fewer changed rows than this are rendered on the loop; a worker thread costs more.
INLINE_RENDER_LIMIT: Final = 64

ItemRenderer = Callable[[EnvironmentRecord], Mapping[str, Any]]
"""The API's JSON-ready environment object for one stored environment (the presenter)."""


class VersionedEnvironments(Protocol):
    """What the listing reads (`EnvironmentRepository` provides it)."""

    async def list_live_versions(self) -> dict[int, int]: ...

    async def list_by_ids(self, environment_ids: Iterable[int]) -> list[EnvironmentRecord]: ...


@dataclass(frozen=True, slots=True)
class Freshness:
    """How current the watcher's data is, applied to every item of one response."""

    stale: bool
    observed_at: datetime | None = None
    """When set, every item's ``statusObservedAt``; None: each row's own stored time."""


UNWATCHED: Final = Freshness(stale=False)
"""No freshness source: not stale, each row's own ``status_observed_at``."""

FreshnessSource = Callable[[], Awaitable[Freshness]]


def heartbeat_freshness(
    heartbeats: HeartbeatRepository,
    *,
    stale_after_seconds: float,
    clock: Callable[[], datetime] = utc_now,
    reread_after_seconds: float = 1.0,
) -> FreshnessSource:
    """Freshness from the watcher heartbeat row: fresh → its ``fresh_at`` for everyone;
    stale, or no heartbeat yet → ``stale: true`` with each row's own time.

    The row is read at most once per ``reread_after_seconds`` (the leader writes it every
    few seconds and STALE is minutes), so busy API replicas do not query it per request."""
    heartbeat: Heartbeat | None = None
    read_at: datetime | None = None

    async def current() -> Freshness:
        nonlocal heartbeat, read_at
        now = clock()
        if read_at is None or (now - read_at).total_seconds() >= reread_after_seconds:
            heartbeat, read_at = await heartbeats.get(), now
        if heartbeat is None or heartbeat.is_stale(now, stale_after_seconds):
            return Freshness(stale=True)
        return Freshness(stale=False, observed_at=heartbeat.fresh_at)

    return current


@dataclass(frozen=True, slots=True)
class CachedItem:
    """One environment's response item as bytes, split around the per-response fields."""

    version: int
    owner_token_id: int | None
    head: bytes
    """``{"id":…,…`` up to and including ``"statusObservedAt":``."""
    own_observed_at: bytes
    """The row's own ``statusObservedAt`` value as JSON (a string or ``null``)."""
    tail: bytes
    """``,"failureKind":…}``: everything after ``stale``."""


class Splice:
    """The bytes one response puts between each cached item's ``head`` and ``tail``."""

    def __init__(self, freshness: Freshness) -> None:
        self.freshness = freshness
        self._stale = b',"stale":true' if freshness.stale else b',"stale":false'
        self._shared = (
            None
            if freshness.observed_at is None
            else _dumps(rfc3339(freshness.observed_at)) + self._stale
        )

    def line(self, item: CachedItem) -> bytes:
        """The item's complete JSON object for this response."""
        if self._shared is not None:
            return item.head + self._shared + item.tail
        return item.head + item.own_observed_at + self._stale + item.tail


@dataclass(slots=True)
class _Snapshot:
    """One refresh's result. Its items and lines are never changed once published (the
    next refresh copies what it keeps), so requests may use it while a refresh runs; only
    the admins' body is filled in on first use."""

    items: dict[int, CachedItem]
    """Every live environment, in id order."""
    lines: dict[int, bytes]
    """Each item's JSON with `freshness` applied, in the same order."""
    freshness: Freshness
    full_body: bytes | None = None

    def body_for(self, caller: Caller) -> bytes:
        if caller.admin:
            if self.full_body is None:
                self.full_body = _array(self.lines.values())
            return self.full_body
        token = caller.token_id
        return _array(
            [self.lines[i] for i, item in self.items.items() if item.owner_token_id == token]
        )


def _array(lines: Iterable[bytes]) -> bytes:
    """``[line,line,...]`` with one copy of the data (megabytes at 10,000 environments)."""
    parts = list(lines)
    if not parts:
        return b"[]"
    parts[0] = b"[" + parts[0]
    parts[-1] += b"]"
    return b",".join(parts)


def encode_item(record: EnvironmentRecord, rendered: Mapping[str, Any]) -> CachedItem:
    """Serialize a presenter item once, split so the per-response fields can be spliced in."""
    keys = list(rendered)
    try:
        at = keys.index(OBSERVED_KEY)
    except ValueError:
        raise ValueError(f"rendered environment has no {OBSERVED_KEY!r}") from None
    if at + 1 >= len(keys) or keys[at + 1] != STALE_KEY:
        raise ValueError(
            f"rendered environment must have {STALE_KEY!r} right after {OBSERVED_KEY!r}"
        )
    head = {key: rendered[key] for key in keys[:at]}
    tail = {key: rendered[key] for key in keys[at + 2 :]}
    # dumps({...}) minus its braces is the members text; empty dicts give b"".
    head_members = _dumps(head)[1:-1]
    tail_members = _dumps(tail)[1:-1]
    return CachedItem(
        version=record.version,
        owner_token_id=record.owner_token_id,
        head=b"{" + head_members + (b"," if head_members else b"") + b'"statusObservedAt":',
        own_observed_at=_dumps(rendered[OBSERVED_KEY]),
        tail=(b"," + tail_members if tail_members else b"") + b"}",
    )


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        # Integers beyond 64 bits (only in hand-edited rows): the standard library's output.
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk read of short-lived rows.

    Why: the ``{id: version}`` read creates tens of thousands of small objects per request
    at 10,000 environments. With the collector on, collections that run while they are
    alive promote them to the oldest generation, which then triggers full collections of
    the whole heap every few requests (measured: p99 138 ms, against 34 ms with the
    collector paused, p50 unchanged). Paused, they are freed by reference counting before
    any collection sees them. Only for acyclic data and short windows; re-enabled only
    if it was enabled on entry, so a caller that disabled it keeps it disabled.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Runs ``work`` for concurrent callers so that each caller gets a result of a run that
    started after it called, with at most one run at a time and at most one queued.

    Runs are tasks of their own, so a caller that is cancelled (a client that went away)
    cancels neither the run nor the other callers waiting on it. A failed run raises in
    every caller waiting on it and is logged once.
    """

    def __init__(self, work: Callable[[], Awaitable[T]], *, name: str) -> None:
        self._work = work
        self._name = name
        self._running: asyncio.Task[T] | None = None
        self._queued: asyncio.Task[T] | None = None

    async def run(self) -> T:
        if self._queued is not None:
            task = self._queued
        elif self._running is not None:
            task = self._queued = self._start(after=self._running)
        else:
            task = self._running = self._start(after=None)
        return await asyncio.shield(task)

    async def aclose(self) -> None:
        """Wait for the runs in flight to end (their outcome went to their callers)."""
        pending = [t for t in (self._running, self._queued) if t is not None]
        if pending:
            await asyncio.wait(pending)

    def _start(self, *, after: asyncio.Task[T] | None) -> asyncio.Task[T]:
        async def run_after() -> T:
            if after is not None:
                await asyncio.wait([after])
                self._running, self._queued = task, None
            try:
                return await self._work()
            finally:
                if self._running is task:
                    self._running = None

        task = asyncio.create_task(run_after(), name=self._name)
        task.add_done_callback(self._report)
        return task

    def _report(self, task: asyncio.Task[T]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s failed", self._name, exc_info=task.exception())


class EnvironmentListing:
    """The cached ``GET /api/environments`` body (see the module docstring)."""

    def __init__(
        self,
        environments: VersionedEnvironments,
        *,
        freshness: FreshnessSource | None = None,
        inline_render_limit: int = INLINE_RENDER_LIMIT,
    ) -> None:
        self._environments = environments
        self._freshness = freshness
        self._inline_render_limit = inline_render_limit
        self._render: ItemRenderer | None = None
        self._snapshot: _Snapshot | None = None
        self._refresh = SingleFlight(self._refreshed_snapshot, name="environment listing refresh")

    @property
    def size(self) -> int:
        """How many environments are cached."""
        return len(self._snapshot.items) if self._snapshot is not None else 0

    async def body(self, caller: Caller, *, render: ItemRenderer) -> bytes:
        """The JSON array of live environments visible to `caller`, rendered by `render`."""
        if render is not self._render:
            # Items rendered by another presenter must not be served; start over.
            self._render = render
            self._snapshot = None
        snapshot = await self._refresh.run()
        return snapshot.body_for(caller)

    async def aclose(self) -> None:
        await self._refresh.aclose()

    async def _refreshed_snapshot(self) -> _Snapshot:
        render = self._render
        if render is None:
            raise RuntimeError("EnvironmentListing.body sets the renderer before refreshing")
        freshness = await self._freshness() if self._freshness is not None else UNWATCHED
        with cyclic_gc_paused():
            versions = await self._environments.list_live_versions()
        previous = self._snapshot
        cached = previous.items if previous is not None else {}
        changed = [
            env_id
            for env_id, version in versions.items()
            if (item := cached.get(env_id)) is None or item.version != version
        ]
        if not changed and len(versions) == len(cached) and previous is not None:
            # Same ids at the same versions.
            if previous.freshness == freshness:
                return previous
            return self._publish(previous.items, freshness)
        records = await self._environments.list_by_ids(changed)
        fresh = await self._render_rows(records, render)
        if render is not self._render:
            # The renderer changed while we read; these bytes belong to the old one.
            return await self._refreshed_snapshot()
        gone = cached.keys() - versions.keys()
        items = dict(cached)
        for env_id in gone:
            del items[env_id]
        for env_id in changed:
            item = fresh.get(env_id)
            if item is None:
                gone.add(env_id)  # deleted between the two reads
                items.pop(env_id, None)
            else:
                items[env_id] = item
        # New ids are appended; one below an old id (ids committed out of order) breaks
        # the id order, which a sort restores.
        new_ids = fresh.keys() - cached.keys()
        resorted = bool(cached and new_ids) and min(new_ids) < next(reversed(cached))
        if resorted:
            items = dict(sorted(items.items()))
        if previous is None or previous.freshness != freshness or resorted:
            return self._publish(items, freshness)
        # Same freshness: keep every unchanged line, make only the changed ones.
        splice = Splice(freshness)
        lines = dict(previous.lines)
        for env_id in gone:
            lines.pop(env_id, None)
        for env_id, item in fresh.items():
            lines[env_id] = splice.line(item)
        return self._keep(_Snapshot(items, lines, freshness))

    def _publish(self, items: dict[int, CachedItem], freshness: Freshness) -> _Snapshot:
        splice = Splice(freshness)
        lines = {env_id: splice.line(item) for env_id, item in items.items()}
        return self._keep(_Snapshot(items, lines, freshness))

    def _keep(self, snapshot: _Snapshot) -> _Snapshot:
        if snapshot.lines.keys() != snapshot.items.keys():
            raise RuntimeError("listing cache: lines and items disagree")
        self._snapshot = snapshot
        return snapshot

    async def _render_rows(
        self, records: list[EnvironmentRecord], render: ItemRenderer
    ) -> dict[int, CachedItem]:
        def encode_all() -> dict[int, CachedItem]:
            return {r.id: encode_item(r, render(r)) for r in records}

        if len(records) <= self._inline_render_limit:
            return encode_all()
        return await asyncio.to_thread(encode_all)
