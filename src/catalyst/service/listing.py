"""`EnvironmentListing`: the body of ``GET /api/environments``, served from a per-process
cache of rendered environments that the database validates on every request.

Why: decoding and presenting 10,000 rows costs over half a second, but asking the
database which rows changed (``{id: version}``) costs about 15 ms. So each live
environment's response item is kept as ready bytes, keyed by id and checked against its
``version`` (every write bumps it); a request re-reads and re-renders only the rows whose
version moved, drops the ids that left, and joins the cached bytes into the body. Each
item's complete line for the current freshness is kept too, so a changed row costs one
line, and the admins' full body is kept until anything changes (then one join).

The wire format is not this module's: the API layer hands in an `ItemRenderer` per call
(`catalyst.api.listing_json`), which renders a row into an item, makes an item's line for
a response's `Freshness`, and joins lines into the body. A different renderer than last
time drops the whole cache.

Guarantees:

- Read-your-writes: a request sees every write committed before it arrived. Concurrent
  requests share one refresh (at most one runs at a time), but a request never joins a
  refresh that started before it arrived; it waits for the next one instead (at most one
  is queued, and every waiter shares it; `catalyst.service.single_flight`).
- Each item is what the renderer gives for the row at its current version; ``stale`` and
  ``statusObservedAt`` are decided per response, not per row (`Freshness`, from the
  ``freshness`` source; without one, `UNWATCHED`).
- Non-admin callers get only the environments their token owns (the owner is cached with
  each item); admins get all. Items are in id order, like the uncached listing.
- Refreshes are tasks owned by the listing: `aclose` (the owner's shutdown, through
  `EnvironmentService.aclose`) waits for the one in flight and refuses later requests.

Awkward cases: a row deleted between the version query and the re-read is left out (it has
left the listing anyway); a row written in between is cached at its newer version, so the
next request does not read it again. Rendering many rows at once (the first request, a mass
change) runs in a worker thread so the event loop keeps serving; the version query runs
with the cyclic garbage collector paused (`catalyst.service.gc_pause`). A failed refresh
reaches every request waiting on it and is logged once; the cache is left as it was, and
the next request tries again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeVar

from catalyst.service.caller import Caller
from catalyst.service.freshness import UNWATCHED, Freshness, FreshnessSource
from catalyst.service.gc_pause import cyclic_gc_paused
from catalyst.service.single_flight import SingleFlight
from catalyst.store.records import EnvironmentRecord

# Fewer changed rows than this are rendered on the loop; a worker thread costs more.
INLINE_RENDER_LIMIT: Final = 64

ItemT = TypeVar("ItemT")


class ItemRenderer(Protocol[ItemT]):
    """How the API layer writes the listing (the listing never sees a field name).

    ``render`` is called once per row and version, in a worker thread when many rows
    changed at once; what it raises fails the refresh. ``splice`` and ``array`` are called
    on the loop for every response."""

    def render(self, record: EnvironmentRecord) -> ItemT:
        """The environment's item, independent of any response's freshness."""
        ...

    def splice(self, freshness: Freshness) -> Callable[[ItemT], bytes]:
        """What makes an item's complete bytes in a response with `freshness`."""
        ...

    def array(self, lines: Iterable[bytes]) -> bytes:
        """The response body of these item lines, in their order."""
        ...


class VersionedEnvironments(Protocol):
    """What the listing reads (`EnvironmentRepository` provides it)."""

    async def list_live_versions(self) -> dict[int, int]: ...

    async def list_by_ids(self, environment_ids: Iterable[int]) -> list[EnvironmentRecord]: ...


@dataclass(frozen=True, slots=True)
class CachedItem:
    """One environment's rendered item, with what decides whether and to whom it is served."""

    version: int
    owner_token_id: int | None
    item: Any
    """What the renderer made of the row at `version`."""


@dataclass(slots=True)
class _PublishedListing:
    """One refresh's result. Its items and lines are never changed once published (the
    next refresh copies what it keeps), so requests may use it while a refresh runs; only
    the admins' body is filled in on first use."""

    items: dict[int, CachedItem]
    """Every live environment, in id order."""
    lines: dict[int, bytes]
    """Each item's bytes with `freshness` applied, in the same order."""
    freshness: Freshness
    full_body: bytes | None = None

    def body_for(self, caller: Caller, render: ItemRenderer[Any]) -> bytes:
        if caller.admin:
            if self.full_body is None:
                self.full_body = render.array(self.lines.values())
            return self.full_body
        token = caller.token_id
        return render.array(
            [self.lines[i] for i, item in self.items.items() if item.owner_token_id == token]
        )


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
        self._render: ItemRenderer[Any] | None = None
        self._snapshot: _PublishedListing | None = None
        self._refresh = SingleFlight(self._refreshed_snapshot, name="environment listing refresh")

    @property
    def size(self) -> int:
        """How many environments are cached."""
        return len(self._snapshot.items) if self._snapshot is not None else 0

    async def body(self, caller: Caller, *, render: ItemRenderer[Any]) -> bytes:
        """The body listing the live environments visible to `caller`, rendered by `render`.

        Raises what the refresh raised (a database error), or `RuntimeError` after
        `aclose`."""
        if render is not self._render:
            # Items rendered by another renderer must not be served; start over.
            self._render = render
            self._snapshot = None
        snapshot = await self._refresh.run()
        return snapshot.body_for(caller, render)

    async def aclose(self) -> None:
        """Refuse new requests and wait for the refresh in flight (the owner's shutdown)."""
        await self._refresh.aclose()

    async def _refreshed_snapshot(self) -> _PublishedListing:
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
            return self._publish(previous.items, freshness, render)
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
            return self._publish(items, freshness, render)
        # Same freshness: keep every unchanged line, make only the changed ones.
        line = render.splice(freshness)
        lines = dict(previous.lines)
        for env_id in gone:
            lines.pop(env_id, None)
        for env_id, cached_item in fresh.items():
            lines[env_id] = line(cached_item.item)
        return self._keep(_PublishedListing(items, lines, freshness))

    def _publish(
        self, items: dict[int, CachedItem], freshness: Freshness, render: ItemRenderer[Any]
    ) -> _PublishedListing:
        line = render.splice(freshness)
        lines = {env_id: line(cached.item) for env_id, cached in items.items()}
        return self._keep(_PublishedListing(items, lines, freshness))

    def _keep(self, snapshot: _PublishedListing) -> _PublishedListing:
        if snapshot.lines.keys() != snapshot.items.keys():
            raise RuntimeError("listing cache: lines and items disagree")
        self._snapshot = snapshot
        return snapshot

    async def _render_rows(
        self, records: list[EnvironmentRecord], render: ItemRenderer[Any]
    ) -> dict[int, CachedItem]:
        def render_all() -> dict[int, CachedItem]:
            return {
                r.id: CachedItem(r.version, r.owner_token_id, render.render(r)) for r in records
            }

        if len(records) <= self._inline_render_limit:
            return render_all()
        return await asyncio.to_thread(render_all)
