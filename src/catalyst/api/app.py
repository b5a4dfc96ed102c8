"""The FastAPI application factory.

`create_app` builds the HTTP layer around ready-made use cases (`ApiServices`); it starts
nothing and owns no background work, so tests can build it around fakes or real services.
Routes: everything under ``/api`` (OpenAPI docs at ``/api/docs``, schema at
``/api/openapi.json``), plus ``/healthz`` and ``/readyz`` outside it without auth.
Every error, including the framework's own 404/405/422, uses the contract's error shape;
bodies over ``max_body_bytes`` are refused with 413 before parsing.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from catalyst.api.body_limit import BodySizeLimit
from catalyst.api.dependencies import ApiServices
from catalyst.api.errors import install_error_handlers
from catalyst.api.routes import charts, environments, health, logs, metrics
from catalyst.api.service_errors import install_service_error_handlers

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def create_app(services: ApiServices, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> FastAPI:
    """The Catalyst HTTP API around ``services``."""
    app = FastAPI(
        title="Catalyst",
        summary="Short-lived test environments on Kubernetes from Helm charts.",
        version="0.1.0",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.services = services
    install_error_handlers(app)
    install_service_error_handlers(app)

    api = APIRouter(prefix="/api")
    api.include_router(charts.router)
    api.include_router(environments.router)
    api.include_router(logs.router)
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(metrics.router)

    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    return app
