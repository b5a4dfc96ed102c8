"""Mapping the use cases' refusals (`catalyst.service.errors`) to HTTP statuses.

Unknown chart: 404 when the chart itself is addressed (``GET /api/charts/{name}``), 422
when a create or rebuild names it (the request body is what is wrong).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from catalyst.api.errors import error_response
from catalyst.service.errors import (
    ChartNotFound,
    ClusterUnavailable,
    EnvironmentBeingDeleted,
    EnvironmentNameTaken,
    EnvironmentNotFound,
    LogStreamUnavailable,
    RequestMismatch,
    ServiceError,
)


def _status_for(error: ServiceError, request: Request) -> int:
    if isinstance(error, EnvironmentNotFound):
        return 404
    if isinstance(error, ChartNotFound):
        return 404 if request.method == "GET" else 422
    if isinstance(error, EnvironmentNameTaken | EnvironmentBeingDeleted):
        return 409
    if isinstance(error, RequestMismatch):
        return 422
    if isinstance(error, ClusterUnavailable):
        return 503
    if isinstance(error, LogStreamUnavailable):
        return error.status_code
    return 400


async def _handle_service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return error_response(_status_for(exc, request), [exc.detail])


def install_service_error_handlers(app: FastAPI) -> None:
    """Answer every `ServiceError` in the error shape with its mapped status."""
    app.add_exception_handler(ServiceError, _handle_service_error)
