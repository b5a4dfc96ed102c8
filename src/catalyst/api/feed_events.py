"""The watch stream's events on the wire (``GET /api/environments?watch=1``).

Each `catalyst.service.environment_feed.FeedEvent` becomes one Server-Sent Event whose
``event`` is its type (ADDED, SYNCED, MODIFIED, DELETED, EXPIRED) and whose ``data`` is the
environment object as ``GET /api/environments/{id}`` shows it (``{}`` for SYNCED and
EXPIRED). Events a client may resume after carry ``id`` (their outbox position; SYNCED
carries the position the initial list reflects).

Guarantees:

- Encoded once: a change that many watches yield is rendered (freshness read, JSON
  encoded) by the first watch that sends it; the others reuse that text (kept in the
  change's `FeedEvent.shared`, which lives as long as the feed keeps the change).
- A client that stops reading is disconnected: `WatchResponse` ends the stream once one
  send has waited ``send_timeout`` seconds for the client (uvicorn then closes the
  connection); the client resumes with ``Last-Event-ID``. Until then the watch is paused
  at its event, so a stalled client holds one event, the transport's buffer (uvicorn's
  flow control pauses sends above 64 KiB) and the socket's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import SendTimeoutError
from starlette.types import Receive, Scope, Send

from catalyst.api.dependencies import ApiServices
from catalyst.api.presenters import environment_out
from catalyst.service.environment_feed import FeedEvent

logger = logging.getLogger(__name__)

_DATA = "sse-data"


async def feed_events(
    events: AsyncIterator[FeedEvent], services: ApiServices
) -> AsyncIterator[ServerSentEvent]:
    async for event in events:
        data = "{}"
        if event.record is not None:
            data = await _data(event, services)
        yield ServerSentEvent(
            data=data,
            event=event.type.value,
            id=str(event.position) if event.position is not None else None,
        )


async def _data(event: FeedEvent, services: ApiServices) -> str:
    """The event's environment as JSON, computed once per change for every watch."""
    if event.shared is None:
        return await _render(event, services)
    pending: asyncio.Future[str] | None = event.shared.get(_DATA)
    if pending is None or (pending.done() and pending.exception() is not None):
        pending = asyncio.ensure_future(_render(event, services))
        event.shared[_DATA] = pending
    return await asyncio.shield(pending)


async def _render(event: FeedEvent, services: ApiServices) -> str:
    assert event.record is not None
    freshness = await services.environments.freshness()
    body = environment_out(event.record, stale=freshness.stale, observed_at=freshness.observed_at)
    return orjson.dumps(body).decode()


class WatchResponse(EventSourceResponse):
    """An `EventSourceResponse` that ends quietly when a send times out (the client does
    not read): the stream stops, and uvicorn closes the unfinished response's connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            logger.info(
                "watch stream: client did not read for %ss; disconnected", self.send_timeout
            )
