"""The reflector: keeps a store in step with one collection on the API server.

Behaviour follows client-go's ``Reflector`` (k8s-semantics A2-A9); each rule is one branch:

- **First sync.** List at resourceVersion ``"0"`` (any, served from the watch cache), in
  pages of ``page_size`` when the server pages; then ``store.replace(items, listRV)`` and
  watch from ``listRV``. Later relists ask for ``lastSync`` ("not older than"); after a list
  failed with 410 Expired or "too large resource version" the next list asks for ``""``
  (a consistent read) at once, without backoff.
- **Watch.** ``allowWatchBookmarks=true`` and ``timeoutSeconds`` uniform in
  ``[min_watch_timeout, 2*min_watch_timeout)`` so that many clients do not reconnect in
  lockstep. Each event moves ``lastSync`` to its object's resourceVersion; BOOKMARKs only
  move ``lastSync``.
- **Clean close** (server timeout, EOF): watch again from ``lastSync`` at once, no relist.
  A close within one second that delivered nothing is treated as an error (it would
  otherwise spin).
- **410 Expired / Gone**, in-stream or on open: back off, then relist at ``lastSync``.
- **429 Too Many Requests** or a refused connection on open: wait one backoff step and
  watch again without relisting. (The client already honoured ``Retry-After`` up to ten
  times before this.)
- **Anything else** (500, 503, a broken stream): back off, then relist.
- **Watch-list** (optional, KEP-3157): a single watch with ``sendInitialEvents=true``
  collects the initial state into a temporary list until the bookmark annotated
  ``k8s.io/initial-events-end``, replaces the store with it and keeps the same stream for
  live events. A server that refuses it (422) makes the reflector fall back to list+watch
  for good; 410 retries with ``""``.

Every object passes through ``transform`` before it reaches the store, including the
temporary watch-list collection (A18). The reflector never decides what an object means;
it reports health (``healthy``, ``unhealthy_since``) so the informer can tell stale data.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from catalyst.cluster.errors import (
    ClusterConnectionError,
    ClusterError,
    ClusterGoneError,
    ClusterInvalidError,
    ClusterProtocolError,
    ClusterTooManyRequestsError,
)
from catalyst.watcher import metrics
from catalyst.watcher.backoff import Backoff
from catalyst.watcher.indexer import KubeObject, resource_version_of
from catalyst.watcher.listwatch import ListWatcher, WatchEvent, WatchStreamBrokenError

logger = logging.getLogger(__name__)

Transform = Callable[[KubeObject], KubeObject]

INITIAL_EVENTS_END = "k8s.io/initial-events-end"
DEFAULT_MIN_WATCH_TIMEOUT = 300
DEFAULT_PAGE_SIZE = 500


class ReflectorStore(Protocol):
    """What the reflector writes to (the informer's queue)."""

    def replace(self, objects: list[KubeObject], resource_version: str) -> None: ...

    def add(self, obj: KubeObject) -> None: ...

    def update(self, obj: KubeObject) -> None: ...

    def delete(self, obj: KubeObject) -> None: ...

    def bookmark(self, resource_version: str) -> None: ...


class ExpiredError(Exception):
    """The requested resourceVersion is no longer available (410 Expired/Gone)."""


class VeryShortWatchError(Exception):
    """A watch closed within a second without delivering any event."""


class WatchListUnsupportedError(Exception):
    """The server refused ``sendInitialEvents`` (422): fall back to list+watch."""


def is_expired(exc: ClusterError) -> bool:
    return isinstance(exc, ClusterGoneError) or exc.reason in ("Expired", "Gone")


def is_too_large_resource_version(exc: ClusterError) -> bool:
    causes = exc.causes
    if any(c.get("type") == "ResourceVersionTooLarge" for c in causes):
        return True
    return exc.status == 504 and "Too large resource version" in exc.message


def _with_type(items: list[KubeObject], api_version: str, list_kind: str) -> list[KubeObject]:
    # List items come without apiVersion/kind; watch events have them. Make both alike.
    kind = list_kind[: -len("List")] if list_kind.endswith("List") else list_kind
    for item in items:
        item.setdefault("apiVersion", api_version)
        if kind:
            item.setdefault("kind", kind)
    return items


class Reflector:
    """List-then-watch loop for one :class:`ListWatch`, feeding a :class:`ReflectorStore`."""

    def __init__(
        self,
        listwatch: ListWatcher,
        store: ReflectorStore,
        *,
        transform: Transform | None = None,
        min_watch_timeout: int = DEFAULT_MIN_WATCH_TIMEOUT,
        page_size: int = DEFAULT_PAGE_SIZE,
        use_watch_list: bool = False,
        backoff: Backoff | None = None,
        read_timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.listwatch = listwatch
        self.store = store
        self.transform = transform
        self.min_watch_timeout = min_watch_timeout
        self.page_size = page_size
        self.use_watch_list = use_watch_list
        self.backoff = backoff or Backoff()
        self.read_timeout = read_timeout
        self._clock = clock
        self._sleep = sleep
        self._rand = rand
        self.last_sync_resource_version = ""
        self._resource_version_unavailable = False
        self.healthy = False
        self.unhealthy_since: float | None = clock()
        self._name = listwatch.description

    # -- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """List and watch until cancelled; every failure is logged, backed off and retried."""
        while True:
            try:
                await self.list_and_watch()
            except asyncio.CancelledError:
                raise
            except ExpiredError as exc:
                logger.info("%s: %s; relisting after backoff", self._name, exc)
            except Exception as exc:
                logger.warning("%s: list/watch failed: %s", self._name, exc)
            self._mark_unhealthy()
            await self._sleep(self.backoff.next_delay())

    async def list_and_watch(self) -> None:
        """One round: (watch-)list, then watch until something needs a relist."""
        if self.use_watch_list:
            try:
                await self._watch_list()
            except WatchListUnsupportedError as exc:
                logger.info("%s: %s; falling back to list+watch", self._name, exc)
                self.use_watch_list = False
            else:
                await self._watch_loop()
                return
        await self._list()
        await self._watch_loop()

    # -- list -----------------------------------------------------------------------------

    def _relist_resource_version(self) -> str:
        if self._resource_version_unavailable:
            return ""
        return self.last_sync_resource_version or "0"

    async def _list(self) -> None:
        resource_version = self._relist_resource_version()
        metrics.RELISTS.labels(self._name).inc()
        try:
            items, list_rv = await self._list_pages(resource_version)
        except ClusterError as exc:
            if not (is_expired(exc) or is_too_large_resource_version(exc)):
                raise
            # A3: mark the RV unavailable and retry at once with a consistent read.
            logger.info(
                "%s: list at %r failed (%s); consistent relist",
                self._name,
                resource_version,
                exc.reason,
            )
            self._resource_version_unavailable = True
            items, list_rv = await self._list_pages("")
        self._resource_version_unavailable = False
        self.store.replace([self._transform(item) for item in items], list_rv)
        self.last_sync_resource_version = list_rv
        self._mark_healthy()

    async def _list_pages(self, resource_version: str) -> tuple[list[KubeObject], str]:
        # A3: page only for "" and "0"; a specific RV with a limit would mean "Exact".
        limit = self.page_size if resource_version in ("", "0") else None
        page = await self.listwatch.list(resource_version=resource_version, limit=limit)
        list_rv = str((page.get("metadata") or {}).get("resourceVersion") or "")
        kind = str(page.get("kind") or "")
        items: list[KubeObject] = list(page.get("items") or [])
        token = (page.get("metadata") or {}).get("continue")
        while token:
            try:
                page = await self.listwatch.list(
                    resource_version=resource_version, limit=limit, continue_token=token
                )
            except ClusterError as exc:
                if not is_expired(exc):
                    raise
                # FullListIfExpired: the snapshot expired mid-way; one unpaged list instead.
                logger.info("%s: continue token expired; listing without pages", self._name)
                page = await self.listwatch.list(resource_version=resource_version)
                list_rv = str((page.get("metadata") or {}).get("resourceVersion") or "")
                items = list(page.get("items") or [])
                break
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
        if not list_rv:
            raise ClusterProtocolError("InvalidList", f"{self._name}: list without resourceVersion")
        return _with_type(items, self.listwatch.api_version, kind), list_rv

    # -- watch ----------------------------------------------------------------------------

    def _watch_timeout(self) -> int:
        return int(self.min_watch_timeout * (1.0 + self._rand()))

    async def _watch_loop(self) -> None:
        while True:
            started = self._clock()
            try:
                async with self.listwatch.watch(
                    resource_version=self.last_sync_resource_version,
                    timeout_seconds=self._watch_timeout(),
                    read_timeout=self.read_timeout,
                ) as events:
                    self._mark_healthy()
                    delivered = await self._consume(events)
            except ClusterError as exc:
                if is_expired(exc):
                    raise ExpiredError(f"watch: {exc.message or exc.reason}") from exc
                refused_on_open = isinstance(exc, ClusterConnectionError) and not isinstance(
                    exc, WatchStreamBrokenError
                )
                if isinstance(exc, ClusterTooManyRequestsError) or refused_on_open:
                    # A6: throttled or refused on open: one backoff step, then re-watch.
                    logger.info("%s: watch open refused (%s); retrying", self._name, exc)
                    self._mark_unhealthy()
                    await self._sleep(self.backoff.next_delay())
                    continue
                raise
            metrics.WATCH_RESTARTS.labels(self._name).inc()
            if delivered == 0 and self._clock() - started < 1.0:
                raise VeryShortWatchError("watch closed within 1s without events")
            # A6: a clean close is normal (server-side timeout); watch again at once.

    async def _consume(self, events: AsyncIterator[WatchEvent]) -> int:
        delivered = 0
        async for event in events:
            delivered += 1
            self._apply(event)
        return delivered

    def _apply(self, event: WatchEvent) -> None:
        if event.type == "ERROR":
            status = event.object
            error = ClusterError(
                int(status.get("code") or 0),
                str(status.get("reason") or "Unknown"),
                str(status.get("message") or ""),
                details=status.get("details") if isinstance(status.get("details"), dict) else None,
            )
            if is_expired(error):
                raise ExpiredError(f"watch: {error.message or error.reason}")
            raise error
        version = resource_version_of(event.object)
        if event.type == "BOOKMARK":
            self.store.bookmark(version)
        elif event.type == "ADDED":
            self.store.add(self._transform(event.object))
        elif event.type == "MODIFIED":
            self.store.update(self._transform(event.object))
        elif event.type == "DELETED":
            self.store.delete(self._transform(event.object))
        else:
            logger.warning("%s: skipping watch event of unknown type %r", self._name, event.type)
            return
        metrics.EVENTS.labels(self._name, event.type).inc()
        if version:
            self.last_sync_resource_version = version

    # -- watch-list -----------------------------------------------------------------------

    async def _watch_list(self) -> None:
        """Stream the initial state, replace the store at the end bookmark, keep watching."""
        resource_version = (
            "" if self._resource_version_unavailable else self.last_sync_resource_version
        )
        metrics.RELISTS.labels(self._name).inc()
        try:
            async with self.listwatch.watch(
                resource_version=resource_version,
                timeout_seconds=self._watch_timeout(),
                send_initial_events=True,
                read_timeout=self.read_timeout,
            ) as events:
                initial: dict[str, KubeObject] = {}
                synced = False
                async for event in events:
                    if synced:
                        self._apply(event)
                        continue
                    if event.type == "ERROR":
                        self._apply(event)  # raises
                    meta = event.object.get("metadata") or {}
                    if event.type == "BOOKMARK":
                        if (meta.get("annotations") or {}).get(INITIAL_EVENTS_END) == "true":
                            bookmark_rv = resource_version_of(event.object)
                            self.store.replace(list(initial.values()), bookmark_rv)
                            self.last_sync_resource_version = bookmark_rv
                            self._resource_version_unavailable = False
                            self._mark_healthy()
                            synced = True
                        continue
                    key = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
                    if event.type == "DELETED":
                        initial.pop(key, None)
                    else:
                        initial[key] = self._transform(event.object)
                if not synced:
                    raise ClusterProtocolError(
                        "WatchListIncomplete",
                        "watch-list ended before its initial-events-end bookmark",
                    )
        except ExpiredError:
            self._resource_version_unavailable = True
            raise
        except ClusterError as exc:
            if isinstance(exc, ClusterInvalidError):
                raise WatchListUnsupportedError(exc.message or exc.reason) from exc
            if is_expired(exc) or is_too_large_resource_version(exc):
                self._resource_version_unavailable = True
            raise

    # -- helpers --------------------------------------------------------------------------

    def _transform(self, obj: KubeObject) -> KubeObject:
        return self.transform(obj) if self.transform is not None else obj

    def _mark_healthy(self) -> None:
        self.healthy = True
        self.unhealthy_since = None

    def _mark_unhealthy(self) -> None:
        if self.healthy or self.unhealthy_since is None:
            self.unhealthy_since = self._clock()
        self.healthy = False
