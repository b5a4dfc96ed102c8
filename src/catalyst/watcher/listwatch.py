"""How to list and how to watch one collection (client-go's ``ListWatch``).

A :class:`ListWatch` knows one resource (e.g. ``apps/v1`` ``deployments``), an optional
namespace and the selectors, and turns the reflector's requests into HTTP calls through
:class:`~catalyst.cluster.client.ClusterClient`. It owns the wire details only:

- Lists pass the client's rate limiter; watches do not (k8s-semantics A4, A19).
- A watch stream is newline-delimited JSON (B4). It is decoded chunk by chunk with a buffer,
  so an object larger than aiohttp's line limit still decodes, and a partial last line at a
  clean close is dropped rather than misread.
- ``metadata_only`` asks for PartialObjectMetadata (lists and watch events carry metadata
  only, as client-go's metadata informers do; `catalyst.cluster.partial_metadata`). Items
  then say ``meta.k8s.io/v1 PartialObjectMetadata``: the informer's transform restores the
  kind.
- ``read_timeout`` bounds silence on an open watch: a half-open connection (peer gone
  without a FIN) ends as a transport error instead of hanging forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import orjson

from catalyst.cluster.client import ClusterClient, QueryValue
from catalyst.cluster.errors import ClusterConnectionError, ClusterError, ClusterProtocolError
from catalyst.cluster.partial_metadata import LIST_ACCEPT, WATCH_ACCEPT


class WatchStreamBrokenError(ClusterConnectionError):
    """An open watch stream failed below HTTP (reset, half-open timeout)."""


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One decoded watch event: ``type`` is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR."""

    type: str
    object: dict[str, Any]


class ListWatcher(Protocol):
    """What a reflector needs: list pages and open watches of one collection."""

    @property
    def api_version(self) -> str: ...

    @property
    def description(self) -> str: ...

    async def list(
        self,
        *,
        resource_version: str,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> dict[str, Any]: ...

    def watch(
        self,
        *,
        resource_version: str,
        timeout_seconds: int,
        send_initial_events: bool = False,
        read_timeout: float | None = None,
    ) -> AbstractAsyncContextManager[AsyncIterator[WatchEvent]]: ...


@dataclass(frozen=True, slots=True)
class ListWatch:
    """List and watch requests for one collection."""

    client: ClusterClient
    api_version: str
    plural: str
    namespace: str | None = None
    label_selector: str | None = None
    field_selector: str | None = None
    metadata_only: bool = False

    @property
    def path(self) -> str:
        base = (
            f"/api/{self.api_version}"
            if "/" not in self.api_version
            else (f"/apis/{self.api_version}")
        )
        if self.namespace:
            return f"{base}/namespaces/{self.namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    @property
    def description(self) -> str:
        """A short name for logs and metrics, e.g. ``apps/v1/deployments`` (with
        ``#metadata`` when only metadata is watched)."""
        suffix = "#metadata" if self.metadata_only else ""
        return f"{self.api_version}/{self.plural}{suffix}"

    def _selectors(self) -> dict[str, QueryValue]:
        query: dict[str, QueryValue] = {}
        if self.label_selector:
            query["labelSelector"] = self.label_selector
        if self.field_selector:
            query["fieldSelector"] = self.field_selector
        return query

    async def list(
        self,
        *,
        resource_version: str,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> dict[str, Any]:
        """One list page (the whole list when the server ignores ``limit``)."""
        query = self._selectors()
        if continue_token:
            query["continue"] = continue_token
        elif resource_version:
            query["resourceVersion"] = resource_version
        if limit:
            query["limit"] = limit
        accept = LIST_ACCEPT if self.metadata_only else None
        return await self.client.request("GET", self.path, query=query, accept=accept)

    @asynccontextmanager
    async def watch(
        self,
        *,
        resource_version: str,
        timeout_seconds: int,
        send_initial_events: bool = False,
        read_timeout: float | None = None,
    ) -> AsyncIterator[AsyncIterator[WatchEvent]]:
        """Open a watch; iterate the yielded iterator for events until the server ends it."""
        query = self._selectors()
        query.update(
            {
                "watch": "true",
                "allowWatchBookmarks": "true",
                "timeoutSeconds": timeout_seconds,
            }
        )
        if resource_version:
            query["resourceVersion"] = resource_version
        if send_initial_events:
            query["sendInitialEvents"] = "true"
            query["resourceVersionMatch"] = "NotOlderThan"
        async with self.client.stream(
            "GET",
            self.path,
            query=query,
            read_timeout=read_timeout,
            accept=WATCH_ACCEPT if self.metadata_only else None,
        ) as response:
            yield _decode_events(response, self.description)


async def _decode_events(response: aiohttp.ClientResponse, what: str) -> AsyncIterator[WatchEvent]:
    buffer = b""
    try:
        async for chunk in response.content.iter_any():
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.strip():
                    yield _parse_event(line, what)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise WatchStreamBrokenError(f"watch {what}: {exc!r}") from exc
    if buffer.strip():
        # A complete final document without its newline is still an event.
        try:
            yield _parse_event(buffer, what)
        except ClusterError:
            pass


def _parse_event(line: bytes, what: str) -> WatchEvent:
    try:
        decoded = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ClusterProtocolError("InvalidWatchEvent", f"watch {what}: undecodable event") from exc
    if not isinstance(decoded, dict) or not isinstance(decoded.get("object"), dict):
        raise ClusterProtocolError("InvalidWatchEvent", f"watch {what}: event without an object")
    return WatchEvent(str(decoded.get("type", "")), decoded["object"])
