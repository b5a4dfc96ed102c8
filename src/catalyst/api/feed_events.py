"""The watch stream's events on the wire (``GET /api/environments?watch=1``).

Each `catalyst.service.environment_feed.FeedEvent` becomes one Server-Sent Event whose
``event`` is its type (ADDED, SYNCED, MODIFIED, DELETED, EXPIRED) and whose ``data`` is the
environment object as ``GET /api/environments/{id}`` shows it (``{}`` for SYNCED and
EXPIRED). Events a client may resume after carry ``id`` (their outbox position; SYNCED
carries the position the initial list reflects).

Guarantees:

- Encoded once: a change that many watches yield is rendered (freshness read, JSON and
  SSE encoded) by the first watch that sends it; the others send the same bytes (kept in
  the change's `FeedEvent.shared`, which lives as long as the feed keeps the change: at
  most its buffer's 10,000 changes). So the ``stale``/``statusObservedAt`` of a change's
  event are those of its first send (a replay from the feed's buffer shows the freshness
  the change was first shown with).
- Batched: what the feed had ready at once goes out together, in chunks of up to 64 KiB
  (one write per client per chunk).
- Heartbeats say how fresh the data is: every ``CATALYST_SSE_HEARTBEAT_SECONDS`` a comment
  ``: ping watcher=fresh`` or ``: ping watcher=stale`` (`heartbeat`), from the feed's last
  read of the watcher heartbeat, so a client learns that the data went stale (no leader
  watching, cluster unreachable) even when no change arrives. Comments are ignored by SSE
  parsers that do not look for this.
- A client that stops reading is disconnected: `WatchResponse` ends the stream once one
  send has waited ``send_timeout`` seconds for the client (uvicorn then closes the
  connection); the client resumes with ``Last-Event-ID``. Until then the watch is paused
  at its chunk, so a stalled client holds one batch of frames (at most a page of the feed,
  frames shared with other clients), one chunk of at most 64 KiB (or one larger frame)
  beyond the transport's 64 KiB (uvicorn's flow control pauses sends above it), and the
  socket's kernel buffers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import SendTimeoutError
from starlette.types import Message, Receive, Scope, Send

from catalyst.api.dependencies import ApiServices
from catalyst.api.presenters import environment_out
from catalyst.service.environment_feed import EnvironmentFeed, FeedEvent

logger = logging.getLogger(__name__)

_FRAME = "sse-frame"
CHUNK_BYTES = 64 * 1024
_SEP = "\r\n"


def heartbeat(feed: EnvironmentFeed) -> ServerSentEvent:
    """The heartbeat comment: ``ping watcher=fresh|stale`` (see module docstring)."""
    state = "stale" if feed.freshness.stale else "fresh"
    return ServerSentEvent(comment=f"ping watcher={state}", sep=_SEP)


async def feed_events(
    batches: AsyncIterator[list[FeedEvent]], services: ApiServices
) -> AsyncIterator[bytes]:
    """One chunk of Server-Sent Events per batch of the feed (what was ready at once)."""
    async for batch in batches:
        frames = [await _frame(event, services) for event in batch]
        for chunk in _chunks(frames):
            yield chunk


def _chunks(frames: list[bytes]) -> list[bytes]:
    """The frames joined into chunks of at most ``CHUNK_BYTES`` (or one larger frame), so
    a stalled client holds at most one such chunk in the transport beyond its 64 KiB."""
    if len(frames) == 1:
        return frames
    chunks: list[bytes] = []
    pending: list[bytes] = []
    size = 0
    for frame in frames:
        if pending and size + len(frame) > CHUNK_BYTES:
            chunks.append(b"".join(pending))
            pending, size = [], 0
        pending.append(frame)
        size += len(frame)
    chunks.append(b"".join(pending))
    return chunks


async def _frame(event: FeedEvent, services: ApiServices) -> bytes:
    """The event as an SSE frame; rendered once per change, for every watch that sends it.

    The first watch to need it renders it in its own task (usually without suspending:
    the freshness is cached), so the others find the bytes ready; one that arrives while
    the rendering waits (for the freshness) awaits it, and renders itself if it fails."""
    shared = event.shared
    if shared is None:
        return await _render(event, services)
    while True:
        found = shared.get(_FRAME)
        if isinstance(found, bytes):
            return found
        if found is None:
            return await _render_shared(event, services, shared)
        try:
            return await asyncio.shield(found)
        except _RenderFailed:
            continue  # the watch that rendered it failed or went away: try here


class _RenderFailed(Exception):
    pass


async def _render_shared(event: FeedEvent, services: ApiServices, shared: dict[str, Any]) -> bytes:
    rendering: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
    shared[_FRAME] = rendering
    try:
        frame = await _render(event, services)
    except BaseException:
        del shared[_FRAME]
        rendering.set_exception(_RenderFailed())
        rendering.exception()  # retrieved: no "never retrieved" log if nobody waited
        raise
    shared[_FRAME] = frame
    rendering.set_result(frame)
    return frame


async def _render(event: FeedEvent, services: ApiServices) -> bytes:
    data = "{}"
    if event.record is not None:
        freshness = await services.environments.freshness()
        body = environment_out(
            event.record, stale=freshness.stale, observed_at=freshness.observed_at
        )
        data = orjson.dumps(body).decode()
    sse = ServerSentEvent(
        data=data,
        event=event.type.value,
        id=str(event.position) if event.position is not None else None,
        sep=_SEP,
    )
    return sse.encode()


class WatchResponse(EventSourceResponse):
    """An `EventSourceResponse` whose send timeout is cheap (an asyncio timer per send
    rather than an anyio cancel scope: with a thousand watches, each change is a thousand
    sends) and ends the stream quietly when it expires: the client does not read; the
    stream stops and uvicorn closes the unfinished response's connection."""

    def __init__(self, content: AsyncIterator[bytes], **kwargs: Any) -> None:
        super().__init__(content, sep=_SEP, **kwargs)

    async def _send_with_timeout(self, send: Send, message: Message) -> None:
        try:
            async with asyncio.timeout(self.send_timeout):
                await send(message)
        except TimeoutError:
            raise SendTimeoutError() from None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            logger.info(
                "watch stream: client did not read for %ss; disconnected", self.send_timeout
            )
