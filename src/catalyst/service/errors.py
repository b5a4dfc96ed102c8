"""Errors the use cases raise; the API maps each to one HTTP status.

They carry a human-readable ``detail`` meant for clients (never internals); ``details`` (by
default just ``[detail]``) become the error shape's ``details``, one entry per problem.
"""

from __future__ import annotations

from collections.abc import Sequence


class ServiceError(Exception):
    """Base class: a request the use cases refuse."""

    def __init__(self, detail: str, *, details: Sequence[str] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.details = list(details) or [detail]


class EnvironmentNotFound(ServiceError):
    """No live environment with that id visible to the caller (API: 404)."""


class ChartNotFound(ServiceError):
    """The chart is not in the catalogue (API: 404 on GET /charts/{name}, 422 on create)."""


class EnvironmentNameTaken(ServiceError):
    """Another live environment already has that name (API: 409)."""


class RequestMismatch(ServiceError):
    """A rebuild named a different environment or chart than the one addressed (API: 422)."""


class LogStreamUnavailable(ServiceError):
    """A log stream cannot start: bad ``stream`` parameter or the cluster refused (API: 4xx/503)."""

    def __init__(self, detail: str, *, status_code: int = 400) -> None:
        super().__init__(detail)
        self.status_code = status_code


class TooManyLogStreams(LogStreamUnavailable):
    """The caller's token, or the replica, has as many open log streams as allowed (API: 429)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, status_code=429)


class EnvironmentBeingDeleted(ServiceError):
    """The environment is being deleted; it cannot be rebuilt or followed (API: 409)."""


class NoPendingExpiry(ServiceError):
    """A later expiry was asked of an environment that has none pending (API: 409)."""


class InvalidRequest(ServiceError):
    """A request whose content the use case refuses, the field named (API: 422)."""


class ClusterUnavailable(ServiceError):
    """The cluster could not be read for a request that needs it now (API: 503)."""


class ClusterScopedRender(ServiceError):
    """With these values the chart renders cluster-scoped objects that environments may not
    create (API: 422); ``details`` names each of them. Nothing was stored or applied."""


class WebhookNotFound(ServiceError):
    """No webhook with that id visible to the caller (API: 404)."""
