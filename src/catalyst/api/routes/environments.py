"""``/api/environments``: create, list, read (optionally live), delete, rebuild, history, keep.

The list never contacts the cluster (``latestStatus`` is accepted there and ignored,
whatever its value, like any unknown parameter). Environments of other tokens answer 404 to
non-admin callers, exactly like unknown ids, so ids of other users' environments cannot be
probed. Bodies must be JSON (415 otherwise, `catalyst.api.json_body`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse, Response

from catalyst.api.auth import CurrentCaller
from catalyst.api.dependencies import Services
from catalyst.api.feed_events import WatchResponse, feed_events, heartbeat
from catalyst.api.json_body import json_body_only
from catalyst.api.listing_json import ENVIRONMENT_ITEMS
from catalyst.api.openapi import error_responses
from catalyst.api.presenters import environment_out, history_out, resource_out
from catalyst.api.schemas import (
    EnvironmentCreate,
    EnvironmentKeep,
    EnvironmentOut,
    EnvironmentRefresh,
    HistoryOut,
)
from catalyst.service.history import DEFAULT_PAGE, MAX_PAGE

router = APIRouter(prefix="/environments", tags=["environments"])

_ONE = {"model": EnvironmentOut}


@router.post(
    "",
    status_code=201,
    responses={201: _ONE, **error_responses(400, 401, 409, 413, 415, 422)},
    dependencies=[Depends(json_body_only)],
    summary="Create an environment",
)
async def create_environment(
    body: EnvironmentCreate, caller: CurrentCaller, services: Services
) -> JSONResponse:
    """Store the environment as ``starting`` and deploy it in the background."""
    record = await services.environments.create(
        caller=caller, name=body.name, chart_name=body.chartName, values=body.values
    )
    return JSONResponse(environment_out(record), status_code=201)


@router.get(
    "",
    responses={
        200: {
            "model": list[EnvironmentOut],
            "content": {"text/event-stream": {}},
            "description": "The list; with `watch`, a stream of Server-Sent Events.",
        },
        **error_responses(401, 422),
    },
    summary="List (or watch) environments",
)
async def list_environments(
    caller: CurrentCaller,
    services: Services,
    latest_status: str | None = Query(
        None, alias="latestStatus", description="Accepted and ignored, whatever its value."
    ),
    watch: bool = Query(
        False, description="Stream ADDED, SYNCED, then MODIFIED/DELETED events (SSE)."
    ),
    since: int | None = Query(
        None, ge=0, description="With `watch`: resume after this event id (no initial list)."
    ),
    last_event_id: int | None = Header(
        None, alias="Last-Event-ID", ge=0, description="Same as `since` (browsers send it)."
    ),
) -> Response:
    """Every live environment visible to the caller, from the database only (served from
    a cache of rendered items that only re-reads changed rows). With ``watch``, the same
    environments as events, then every change as it is stored (any replica's), each with
    the ``id`` to resume after."""
    if watch:
        resume = since if since is not None else last_event_id
        duration = services.watch_stream_timeout_seconds
        batches = services.feed.watch_batches(caller, since=resume, duration=duration)
        return WatchResponse(
            feed_events(batches, services),
            ping=services.sse_heartbeat_seconds,
            ping_message_factory=lambda: heartbeat(services.feed),
            send_timeout=services.watch_send_timeout_seconds,
        )
    body = await services.environments.list_json(caller=caller, render=ENVIRONMENT_ITEMS)
    return Response(body, media_type="application/json")


@router.get(
    "/{env_id}",
    responses={200: _ONE, **error_responses(401, 404, 409, 422, 503)},
    summary="Read one environment",
)
async def get_environment(
    env_id: int,
    caller: CurrentCaller,
    services: Services,
    latest_status: bool = Query(
        False,
        alias="latestStatus",
        description="Read the environment's objects from the cluster now (0/1/true/false).",
    ),
) -> JSONResponse:
    """One environment; with ``latestStatus`` its status is recomputed from the cluster."""
    if not latest_status:
        record = await services.environments.get(env_id, caller=caller)
        freshness = await services.environments.freshness()
        return JSONResponse(
            environment_out(record, stale=freshness.stale, observed_at=freshness.observed_at)
        )
    observed = await services.environments.get_latest(env_id, caller=caller)
    return JSONResponse(
        environment_out(observed.record, resources=[resource_out(r) for r in observed.resources])
    )


@router.delete(
    "/{env_id}",
    status_code=202,
    responses={202: _ONE, **error_responses(401, 404, 409, 422)},
    summary="Delete",
)
async def delete_environment(
    env_id: int, caller: CurrentCaller, services: Services
) -> JSONResponse:
    """Mark the environment ``deleting`` and delete it in the background (idempotent)."""
    record = await services.environments.delete(env_id, caller=caller)
    return JSONResponse(environment_out(record), status_code=202)


@router.post(
    "/{env_id}/refresh",
    status_code=202,
    responses={202: _ONE, **error_responses(400, 401, 404, 409, 413, 415, 422)},
    dependencies=[Depends(json_body_only)],
    summary="Rebuild",
)
async def refresh_environment(
    env_id: int, body: EnvironmentRefresh, caller: CurrentCaller, services: Services
) -> JSONResponse:
    """Re-render with new values, re-apply, and prune what the new render dropped."""
    record = await services.environments.rebuild(
        env_id, caller=caller, name=body.name, chart_name=body.chartName, values=body.values
    )
    return JSONResponse(environment_out(record), status_code=202)


@router.get(
    "/{env_id}/history",
    responses={200: {"model": HistoryOut}, **error_responses(401, 404, 422)},
    summary="Status history",
)
async def environment_history(
    env_id: int,
    caller: CurrentCaller,
    services: Services,
    after: int | None = Query(
        None, ge=0, description="Resume after this change (`next` of the previous page)."
    ),
    limit: int = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="Changes per page."),
) -> JSONResponse:
    """The environment's status changes, oldest first, paged."""
    page = await services.history.page(env_id, caller=caller, after=after, limit=limit)
    return JSONResponse(history_out(page))


@router.post(
    "/{env_id}/keep",
    responses={200: _ONE, **error_responses(400, 401, 404, 409, 415, 422)},
    dependencies=[Depends(json_body_only)],
    summary="Keep a failed environment",
)
async def keep_environment(
    env_id: int, caller: CurrentCaller, services: Services, body: EnvironmentKeep | None = None
) -> JSONResponse:
    """Remove the pending expiry (the reaper will not delete it), or, with ``until``, move
    it later. Recorded in the history."""
    until = body.until if body is not None else None
    record = await services.history.keep(env_id, caller=caller, until=until)
    return JSONResponse(environment_out(record))
