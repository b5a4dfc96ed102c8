"""The FastAPI application factory.

`create_app` builds the HTTP layer around ready-made use cases (`ApiServices`); it starts
nothing and owns no background work, so tests can build it around fakes or real services.
Routes: everything under ``/api`` (OpenAPI docs at ``/api/docs``, with their assets served
from the package, schema at ``/api/openapi.json``), plus ``/healthz`` and ``/readyz``
outside it without auth, and the web dashboard at ``/`` (`catalyst.api.routes.dashboard`).
Every error, including the framework's own 404/405/422 and unexpected exceptions, uses the
contract's error shape, and the OpenAPI document says so (`catalyst.api.openapi`); bodies
over ``max_body_bytes`` are refused with 413 before parsing. Under ``/api``, authentication
runs first, then ids that cannot exist answer 404 (`catalyst.api.path_ids`).

Middleware, outermost first: `UnexpectedErrors` (a 500 that keeps the connection usable),
`BodySizeLimit`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from catalyst.api.body_limit import BodySizeLimit
from catalyst.api.dependencies import ApiServices
from catalyst.api.errors import UnexpectedErrors, install_error_handlers
from catalyst.api.openapi import DESCRIPTION, contract_openapi, error_responses
from catalyst.api.path_ids import possible_ids
from catalyst.api.routes import (
    charts,
    dashboard,
    docs,
    environments,
    health,
    logs,
    metrics,
    webhooks,
)
from catalyst.api.service_errors import install_service_error_handlers

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def create_app(services: ApiServices, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> FastAPI:
    """The Catalyst HTTP API around ``services``."""
    app = FastAPI(
        title="Catalyst",
        summary="Short-lived test environments on Kubernetes from Helm charts.",
        description=DESCRIPTION,
        version="0.1.0",
        docs_url=None,  # served by routes.docs, without a CDN
        redoc_url=None,
        openapi_url=docs.OPENAPI_URL,
        # Starlette's own trailing-slash redirect builds its Location from the Host
        # header; errors.py redirects with a relative Location instead.
        redirect_slashes=False,
    )

    def openapi() -> dict[str, Any]:
        return contract_openapi(app)

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.services = services
    install_error_handlers(app)
    install_service_error_handlers(app)

    api = APIRouter(prefix="/api", dependencies=[Depends(possible_ids)])
    api.include_router(charts.router)
    api.include_router(environments.router)
    api.include_router(webhooks.router)
    # The log route's own module leaves its error statuses to this list.
    api.include_router(logs.router, responses=error_responses(400, 401, 404, 409, 422, 429, 503))
    app.include_router(api)
    app.include_router(docs.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(dashboard.router)

    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.add_middleware(UnexpectedErrors)  # added last: the outermost
    return app
