"""Small helpers for kubesim HTTP tests: JSON calls and reading watch streams."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson

CM = "/api/v1/namespaces/default/configmaps"


def configmap(name: str, *, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


async def call(
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    body: Any = None,
    *,
    status: int | None = None,
    content_type: str = "application/json",
    **kwargs: Any,
) -> Any:
    """One request; asserts the HTTP status if given; returns the parsed JSON body."""
    data = None if body is None else orjson.dumps(body)
    headers = kwargs.pop("headers", {})
    if data is not None:
        headers["Content-Type"] = content_type
    async with session.request(method, path, data=data, headers=headers, **kwargs) as resp:
        raw = await resp.read()
        if status is not None:
            assert resp.status == status, f"{method} {path}: {resp.status} {raw[:500]!r}"
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw.decode()


class WatchStream:
    """Reads ``{"type","object"}`` lines from an open watch response, with deadlines."""

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self.resp = resp

    async def next(self, within: float = 5.0) -> dict[str, Any] | None:
        """The next event, or None when the server ended the stream."""
        line = await asyncio.wait_for(self.resp.content.readline(), within)
        if not line:
            return None
        event: dict[str, Any] = orjson.loads(line)
        return event

    async def take(self, n: int, within: float = 5.0) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for _ in range(n):
            event = await self.next(within)
            assert event is not None, f"stream ended after {events}"
            events.append(event)
        return events

    async def until_closed(self, within: float = 5.0) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        while (event := await self.next(within)) is not None:
            events.append(event)
        return events


def names(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"].get("name", "")) for e in events]
