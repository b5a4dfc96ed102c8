"""The watch stream's events on the wire (``GET /api/environments?watch=1``).

Each `catalyst.service.environment_feed.FeedEvent` becomes one Server-Sent Event whose
``event`` is its type (ADDED, SYNCED, MODIFIED, DELETED, EXPIRED) and whose ``data`` is the
environment object as ``GET /api/environments/{id}`` shows it (``{}`` for SYNCED and
EXPIRED). Events a client may resume after carry ``id`` (their outbox position; SYNCED
carries the position the initial list reflects).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from sse_starlette import ServerSentEvent

from catalyst.api.dependencies import ApiServices
from catalyst.api.presenters import environment_out
from catalyst.service.environment_feed import FeedEvent


async def feed_events(
    events: AsyncIterator[FeedEvent], services: ApiServices
) -> AsyncIterator[ServerSentEvent]:
    async for event in events:
        data = "{}"
        if event.record is not None:
            freshness = await services.environments.freshness()
            body = environment_out(
                event.record, stale=freshness.stale, observed_at=freshness.observed_at
            )
            data = orjson.dumps(body).decode()
        yield ServerSentEvent(
            data=data,
            event=event.type.value,
            id=str(event.position) if event.position is not None else None,
        )
