"""What the routers need, injected through ``app.state.services`` (no module globals).

The composition root (`catalyst.app`) builds one `ApiServices` and hands it to
`catalyst.api.app.create_app`; tests build their own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

if TYPE_CHECKING:
    from catalyst.service.charts import ChartService
    from catalyst.service.environment_feed import EnvironmentFeed
    from catalyst.service.environments import EnvironmentService
    from catalyst.service.history import EnvironmentHistory
    from catalyst.service.logs import LogService
    from catalyst.service.tokens import TokenService
    from catalyst.service.webhooks import WebhookService

ReadinessCheck = Callable[[], Awaitable[None]]
"""Raises (any exception) when a dependency of the service is not usable."""


@dataclass
class ApiServices:
    """The use cases the HTTP layer calls."""

    tokens: TokenService
    environments: EnvironmentService
    charts: ChartService
    logs: LogService
    history: EnvironmentHistory
    feed: EnvironmentFeed
    readiness_checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    """Named checks run by ``/readyz`` (e.g. ``database``, ``cluster``)."""
    sse_heartbeat_seconds: float = 15.0
    watch_stream_timeout_seconds: float = 1800.0
    """A watch stream ends once it has lasted this long (with nothing to send); the client
    resumes after its last event id."""
    watch_send_timeout_seconds: float = 30.0
    """A watch stream whose client takes no event for this long is disconnected."""
    webhooks: WebhookService | None = None
    """``/api/webhooks`` (None: those routes answer 404)."""


def get_services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


Services = Annotated[ApiServices, Depends(get_services)]
