"""Mapping the use cases' refusals (`catalyst.service.errors`) to HTTP statuses.

Unknown chart: 404 when the chart itself is addressed (``GET /api/charts/{name}``), 422
when a create or rebuild names it (the request body is what is wrong). The store's
`UnsupportedJsonValue` (values it cannot keep exactly) is 422 too; the request schemas
refuse such values first (`catalyst.api.chart_values`), so this is a safety net. The
store's `StaleRecord` reaching the API means the environment changed under the request
more often than the use case retries, or was deleted meanwhile (``?latestStatus=1`` while a
delete completes): 409, for the client to retry, never a 500.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from catalyst.api.errors import error_response
from catalyst.service.errors import (
    ChartNotFound,
    ClusterScopedRender,
    ClusterUnavailable,
    EnvironmentBeingDeleted,
    EnvironmentNameTaken,
    EnvironmentNotFound,
    InvalidRequest,
    LogStreamUnavailable,
    NoPendingExpiry,
    RequestMismatch,
    ServiceError,
    WebhookNotFound,
)
from catalyst.store.errors import StaleRecord, UnsupportedJsonValue


def _status_for(error: ServiceError, request: Request) -> int:
    if isinstance(error, EnvironmentNotFound | WebhookNotFound):
        return 404
    if isinstance(error, ChartNotFound):
        return 404 if request.method == "GET" else 422
    if isinstance(error, EnvironmentNameTaken | EnvironmentBeingDeleted | NoPendingExpiry):
        return 409
    if isinstance(error, RequestMismatch | ClusterScopedRender | InvalidRequest):
        return 422
    if isinstance(error, ClusterUnavailable):
        return 503
    if isinstance(error, LogStreamUnavailable):
        return error.status_code
    return 400


async def _handle_service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return error_response(_status_for(exc, request), exc.details)


async def _handle_unsupported_json(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UnsupportedJsonValue)
    return error_response(422, ["values: cannot be stored exactly"])


async def _handle_stale_record(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StaleRecord)
    return error_response(
        409,
        [f"environment {exc.environment_id}: changed by another request meanwhile; retry"],
    )


def install_service_error_handlers(app: FastAPI) -> None:
    """Answer every `ServiceError` in the error shape with its mapped status."""
    app.add_exception_handler(ServiceError, _handle_service_error)
    app.add_exception_handler(UnsupportedJsonValue, _handle_unsupported_json)
    app.add_exception_handler(StaleRecord, _handle_stale_record)
