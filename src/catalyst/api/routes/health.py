"""``/healthz`` (the process answers) and ``/readyz`` (database and cluster reachable).

Both live outside ``/api`` and need no token. ``/readyz`` runs every named readiness check
with a time limit and answers 503 in the error shape naming each failing dependency.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from catalyst.api.dependencies import Services
from catalyst.api.errors import error_response
from catalyst.api.openapi import error_responses

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

_CHECK_TIMEOUT = 5.0


@router.get("/healthz", summary="Liveness")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get(
    "/readyz",
    summary="Readiness: database and cluster reachable",
    responses=error_responses(503),
)
async def readyz(services: Services) -> JSONResponse:
    names = list(services.readiness_checks)
    results = await asyncio.gather(
        *(asyncio.wait_for(services.readiness_checks[name](), _CHECK_TIMEOUT) for name in names),
        return_exceptions=True,
    )
    failures: list[str] = []
    for name, result in zip(names, results, strict=True):
        if isinstance(result, BaseException):
            logger.warning("readiness check %s failed: %r", name, result)
            failures.append(f"{name}: not reachable")
    if failures:
        return error_response(503, failures)
    return JSONResponse({"status": "ready", "checks": names})
