"""A scripted list/watch for the reflector's and informer's unit tests: lists and watches
are answered from queues (a `ClusterError` in a queue is raised), and what was asked for is
recorded. ``cm`` and ``page`` build the objects and list pages the scripts hold."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from catalyst.cluster.errors import ClusterError
from catalyst.watcher.listwatch import WatchEvent


def cm(name: str, rv: int) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv)}}


def page(items: list[dict[str, Any]], rv: int, token: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if token:
        meta["continue"] = token
    return {"kind": "ConfigMapList", "metadata": meta, "items": items}


Script = list[WatchEvent] | ClusterError


@dataclass
class ScriptedListWatch:
    """Answers lists and watches from queues; records what the reflector asked for."""

    lists: list[dict[str, Any] | ClusterError] = field(default_factory=list)
    watches: list[Script] = field(default_factory=list)
    list_calls: list[dict[str, Any]] = field(default_factory=list)
    watch_calls: list[dict[str, Any]] = field(default_factory=list)
    api_version: str = "v1"
    description: str = "v1/configmaps"

    async def list(
        self,
        *,
        resource_version: str,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> dict[str, Any]:
        self.list_calls.append({"rv": resource_version, "limit": limit, "continue": continue_token})
        answer = self.lists.pop(0)
        if isinstance(answer, ClusterError):
            raise answer
        return answer

    @asynccontextmanager
    async def watch(
        self,
        *,
        resource_version: str,
        timeout_seconds: int,
        send_initial_events: bool = False,
        read_timeout: float | None = None,
    ) -> AsyncIterator[AsyncIterator[WatchEvent]]:
        self.watch_calls.append(
            {"rv": resource_version, "timeout": timeout_seconds, "initial": send_initial_events}
        )
        if not self.watches:
            raise asyncio.CancelledError  # end of script: stop the reflector
        script = self.watches.pop(0)
        if isinstance(script, ClusterError):
            raise script

        async def events() -> AsyncIterator[WatchEvent]:
            for event in script:
                yield event

        yield events()
