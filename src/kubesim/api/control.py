"""``/kubesim/*``: fault controls and statistics, outside the Kubernetes API.

These paths never collide with Kubernetes paths and keep working while the
API is paused or throttled, so a test can always undo what it switched on.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from kubesim.api.context import context_of
from kubesim.api.responses import json_response
from kubesim.errors import bad_request


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise bad_request("body must be JSON") from None
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    return body


async def close_watches(request: web.Request) -> web.Response:
    closed = context_of(request).faults.close_watches()
    return json_response({"closed": closed})


async def compact(request: web.Request) -> web.Response:
    ctx = context_of(request)
    compacted = ctx.faults.compact()
    return json_response({"compactedResourceVersion": str(compacted)})


async def throttle(request: web.Request) -> web.Response:
    body = await _json_body(request)
    try:
        qps = float(body.get("qps", 1))
        burst = int(body.get("burst", 1))
        context_of(request).faults.throttle(qps, burst)
    except (TypeError, ValueError) as exc:
        raise bad_request(f"invalid throttle settings: {exc}") from None
    return json_response({"qps": qps, "burst": burst})


async def unthrottle(request: web.Request) -> web.Response:
    context_of(request).faults.unthrottle()
    return json_response({"throttled": False})


async def pause(request: web.Request) -> web.Response:
    closed = context_of(request).faults.pause()
    return json_response({"paused": True, "closedWatches": closed})


async def resume(request: web.Request) -> web.Response:
    context_of(request).faults.resume()
    return json_response({"paused": False})


async def stats(request: web.Request) -> web.Response:
    ctx = context_of(request)
    return json_response(
        {
            "requests": ctx.faults.request_stats(),
            "throttledRequests": ctx.faults.throttled,
            "openWatches": ctx.hub.watcher_count,
            "watchesByResource": ctx.hub.watchers_by_resource(),
            "droppedSlowWatches": ctx.hub.dropped_slow_watchers,
            "objects": ctx.store.count(),
            "objectsByResource": ctx.store.counts_by_type(),
            "resourceVersion": str(ctx.store.current_rv),
            "compactedResourceVersion": str(ctx.hub.compacted_rv),
            "historySize": ctx.hub.history_size,
            "paused": ctx.faults.paused,
            "throttling": ctx.faults.throttling,
        }
    )


def add_control_routes(app: web.Application) -> None:
    app.router.add_post("/kubesim/watches/close", close_watches)
    app.router.add_post("/kubesim/compact", compact)
    app.router.add_post("/kubesim/throttle", throttle)
    app.router.add_delete("/kubesim/throttle", unthrottle)
    app.router.add_post("/kubesim/pause", pause)
    app.router.add_post("/kubesim/resume", resume)
    app.router.add_get("/kubesim/stats", stats)
