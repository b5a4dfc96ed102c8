"""The watch stream (B3-B9, B13).

One request = one `Watcher` registered in the hub plus this coroutine, which
writes the watcher's queued lines to the chunked HTTP response. Fan-out never
waits for this writer: the hub only appends to the watcher's queue, and a
watcher that falls too far behind is closed by the hub.

* RV unset/"0": synthetic ADDED for the current state (unless
  ``sendInitialEvents=false``), then live events.
* RV ``N``: only changes after ``N``; a compacted ``N`` gives 200 and one ERROR
  event carrying a 410 Expired Status, then the stream ends (B5). An ``N``
  newer than the store simply waits for it.
* ``sendInitialEvents=true`` requires ``resourceVersionMatch=NotOlderThan``
  (422 otherwise) and ends the initial ADDEDs with a BOOKMARK annotated
  ``k8s.io/initial-events-end`` (B8).
* ``allowWatchBookmarks``: a BOOKMARK every ``bookmark_interval`` and one 2 s
  before the deadline. A bookmark's RV is read right after draining the queue,
  so no event at or below it can still be pending for this watcher.
* ``timeoutSeconds`` ends the stream cleanly; unset means 1x-2x the
  min-request-timeout (B9).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Mapping

import orjson
from aiohttp import web

from kubesim.api.context import ApiContext
from kubesim.api.media import Output, negotiate
from kubesim.api.params import (
    build_predicate,
    int_param,
    list_options_invalid,
    optional_flag,
    parse_rv,
)
from kubesim.api.targets import Target
from kubesim.errors import ApiError
from kubesim.resources import Obj, ResourceType
from kubesim.watch import Renderer, Watcher, bookmark_line, error_line, event_line

PRE_DEADLINE_BOOKMARK = 2.0


def _table_renderer(rt: ResourceType, query: Mapping[str, str]) -> Renderer:
    from kubesim.table import to_table

    include_object = query.get("includeObject", "Metadata")

    def render(event_type: str, obj: Obj) -> bytes:
        rv = obj.get("metadata", {}).get("resourceVersion", "")
        table = to_table(
            rt, [obj], list_meta={"resourceVersion": rv}, include_object=include_object
        )
        return event_line(event_type, orjson.dumps(table))

    return render


def _metadata_renderer(event_type: str, obj: Obj) -> bytes:
    """A watch event as client-go's metadata informers ask for it
    (``as=PartialObjectMetadata;g=meta.k8s.io;v=v1``): the object's metadata only."""
    partial = {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }
    return event_line(event_type, orjson.dumps(partial))


def _validate(query: Mapping[str, str]) -> tuple[str, bool | None]:
    rv_raw = query.get("resourceVersion", "")
    match = query.get("resourceVersionMatch", "")
    send_initial = optional_flag(query, "sendInitialEvents")
    if send_initial is not None and match != "NotOlderThan":
        raise list_options_invalid(
            "resourceVersionMatch",
            "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        )
    if match and match != "NotOlderThan":
        raise list_options_invalid(
            "resourceVersionMatch",
            f'Forbidden: resourceVersionMatch is forbidden for watch unless set to "NotOlderThan" '
            f'(got "{match}")',
        )
    if match and not rv_raw and send_initial is None:
        raise list_options_invalid(
            "resourceVersionMatch",
            "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
        )
    return rv_raw, send_initial


async def watch_stream(ctx: ApiContext, target: Target, request: web.Request) -> web.StreamResponse:
    rt = target.rt
    query = request.query
    output = negotiate(request.headers.get("Accept"))
    rv_raw, send_initial = _validate(query)
    predicate = build_predicate(rt, query, name=target.name)
    renderer: Renderer | None = None
    if output is Output.TABLE:
        renderer = _table_renderer(rt, query)
    elif output is Output.METADATA:
        renderer = _metadata_renderer
    bookmarks = query.get("allowWatchBookmarks", "") in ("1", "true", "True")
    timeout = int_param(query, "timeoutSeconds")
    timeout_s = ctx.min_request_timeout * (1 + random.random()) if timeout <= 0 else float(timeout)

    from_rv = None if rv_raw in ("", "0") else parse_rv(rv_raw)
    if send_initial is None:
        send_initial = from_rv is None
    pending_error: ApiError | None = None
    watcher: Watcher | None = None
    initial_end_rv: int | None = None
    try:
        if send_initial:
            snapshot = ctx.store.list(rt, target.namespace)
            watcher = ctx.hub.watch(
                rt,
                target.namespace,
                predicate=predicate,
                from_rv=None,
                initial=snapshot,
                renderer=renderer,
            )
            if query.get("sendInitialEvents") is not None:
                initial_end_rv = max(ctx.store.current_rv, from_rv or 0)
        else:
            watcher = ctx.hub.watch(
                rt, target.namespace, predicate=predicate, from_rv=from_rv, renderer=renderer
            )
    except ApiError as exc:
        if exc.code != 410:
            raise
        pending_error = exc

    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    if pending_error is not None or watcher is None:
        if pending_error is not None:
            await response.write(error_line(pending_error))
        await response.write_eof()
        return response
    if initial_end_rv is not None:
        watcher.push_unbounded(bookmark_line(rt, initial_end_rv, initial_events_end=True))
    try:
        await _pump(ctx, watcher, response, timeout_s=timeout_s, bookmarks=bookmarks)
    except ConnectionResetError:
        return response  # the client went away: nothing more to send
    finally:
        ctx.hub.unwatch(watcher)
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response


async def _pump(
    ctx: ApiContext,
    watcher: Watcher,
    response: web.StreamResponse,
    *,
    timeout_s: float,
    bookmarks: bool,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    next_bookmark = loop.time() + ctx.bookmark_interval
    pre_deadline_sent = False
    rt = watcher.rt
    while True:
        watcher.wake.clear()
        lines = watcher.drain()
        now = loop.time()
        if bookmarks and not watcher.closed:
            due_final = not pre_deadline_sent and now >= deadline - PRE_DEADLINE_BOOKMARK
            if now >= next_bookmark or due_final:
                lines.append(bookmark_line(rt, max(ctx.store.current_rv, watcher.from_rv)))
                next_bookmark = now + ctx.bookmark_interval
                pre_deadline_sent = pre_deadline_sent or due_final
        if lines:
            await response.write(b"".join(lines))
        if watcher.closed or loop.time() >= deadline:
            return
        wake_at = deadline
        if bookmarks:
            wake_at = min(wake_at, next_bookmark)
            if not pre_deadline_sent:
                wake_at = min(wake_at, deadline - PRE_DEADLINE_BOOKMARK)
        if watcher.queue:
            continue
        # timeout_at, unlike wait_for, creates no Task per wake-up: this runs once
        # per delivered batch for every open watch.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(wake_at):
                await watcher.wake.wait()
