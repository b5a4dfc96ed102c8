"""``/metrics``: Prometheus exposition of the process's metrics (no token, outside /api).

Watcher metrics (informer sync state, events, relists, watch restarts, 429s, status
transitions, event-to-write latency) are only non-zero on the replica that currently
leads; every replica reports its own process metrics.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["health"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
