"""``/api/environments/{id}/logs?stream=<chart>/<container>``: container logs as SSE.

Everything that can be refused is checked before the response starts (unknown environment,
malformed or over-long ``stream``, a chart that is not the environment's, an environment
being deleted, too many open streams: 429), so those failures answer in the error shape.
After that the answer is ``200 text/event-stream``: the server waits for the pod and
container, sends one event per log line, sends a comment every ``sse_heartbeat_seconds``
so proxies keep the stream open, and closes the stream when the container terminates or
the environment's namespace is deleted. A client that disconnects stops the follow.

The stream is closed (its slot given back) when the response ends, however it ends: also
for a response that never read a line (a client gone at once, a HEAD request).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Query
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from catalyst.api.auth import CurrentCaller
from catalyst.api.dependencies import Services
from catalyst.cluster import LogLine
from catalyst.timestamps import rfc3339

router = APIRouter(prefix="/environments", tags=["logs"])


class _LogEventStream(EventSourceResponse):
    """An SSE response that closes its log stream when the response ends."""

    def __init__(self, lines: AsyncIterator[LogLine], *, ping: float) -> None:
        super().__init__(_events(lines), ping=ping)
        self._lines = lines

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            aclose = getattr(self._lines, "aclose", None)
            if aclose is not None:
                await aclose()


@router.get(
    "/{env_id}/logs",
    summary="Follow a container's log (Server-Sent Events)",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def follow_logs(
    env_id: int,
    caller: CurrentCaller,
    services: Services,
    stream: str = Query(..., description="<chart>/<container>, e.g. mediawiki/install-mediawiki"),
) -> EventSourceResponse:
    lines = await services.logs.open(env_id, caller=caller, stream=stream)
    return _LogEventStream(lines, ping=services.sse_heartbeat_seconds)


async def _events(lines: AsyncIterator[LogLine]) -> AsyncIterator[ServerSentEvent]:
    async for line in lines:
        payload = {"logs": [{"timestamp": rfc3339(line.timestamp), "log": line.line}]}
        yield ServerSentEvent(data=orjson.dumps(payload).decode())
