"""``GET pods/{name}/log``: container logs from the simulator, streamed.

The handler only parses the kubelet's query parameters and copies the
simulator's byte chunks to a chunked ``text/plain`` response. A missing pod is
404 before anything is streamed; the simulator raises the kubelet's own 400s
(container not started, ambiguous container).
"""

from __future__ import annotations

import contextlib

from aiohttp import web

from kubesim.api.context import ApiContext
from kubesim.api.crud import parse_since_time
from kubesim.api.params import flag, int_param
from kubesim.api.targets import Target
from kubesim.errors import ApiError, not_found


async def pod_logs(ctx: ApiContext, target: Target, request: web.Request) -> web.StreamResponse:
    assert target.name is not None
    if ctx.store.get(target.rt, target.namespace, target.name) is None:
        raise not_found("pods", target.name)
    if ctx.simulator is None:
        raise ApiError(
            "ServiceUnavailable", "container logs are not available: the simulator is not running"
        )
    query = request.query
    tail = int_param(query, "tailLines", -1)
    stream = ctx.simulator.logs.stream(
        target.namespace or "default",
        target.name,
        query.get("container") or None,
        follow=flag(query, "follow"),
        timestamps=flag(query, "timestamps"),
        tail_lines=tail if tail >= 0 else None,
        since_time=parse_since_time(query.get("sinceTime")),
    )
    iterator = stream.__aiter__()
    # Pull the first chunk before answering, so kubelet-style errors become a Status.
    try:
        first: bytes | None = await iterator.__anext__()
    except StopAsyncIteration:
        first = None
    response = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        if first:
            await response.write(first)
        if first is not None:
            async for chunk in iterator:
                await response.write(chunk)
    except ConnectionResetError:
        return response
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response
