"""Errors the use cases raise; the API maps each to one HTTP status.

They carry a human-readable ``detail`` meant for clients (never internals): it becomes an
entry of the error shape's ``details``.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: a request the use cases refuse."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


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


class EnvironmentBeingDeleted(ServiceError):
    """The environment is being deleted; it cannot be rebuilt (API: 409)."""


class ClusterUnavailable(ServiceError):
    """The cluster could not be read for a request that needs it now (API: 503)."""
