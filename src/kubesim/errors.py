"""Kubernetes `Status` errors.

Every failure kubesim reports to a client is an :class:`ApiError`, rendered as a
``meta/v1 Status`` object whose ``code`` equals the HTTP status (k8s-semantics B14).
Handlers raise; the HTTP layer turns the exception into the response body.
"""

from __future__ import annotations

from typing import Any

REASON_CODES: dict[str, int] = {
    "BadRequest": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "NotAcceptable": 406,
    "AlreadyExists": 409,
    "Conflict": 409,
    "Gone": 410,
    "Expired": 410,
    "RequestEntityTooLarge": 413,
    "UnsupportedMediaType": 415,
    "Invalid": 422,
    "TooManyRequests": 429,
    "InternalError": 500,
    "ServerTimeout": 500,
    "ServiceUnavailable": 503,
    "Timeout": 504,
}


class ApiError(Exception):
    """An API failure that becomes a ``Status`` object with ``status: Failure``."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        code: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.code = code if code is not None else REASON_CODES.get(reason, 500)
        self.details = details
        self.headers = headers or {}
        # ListMeta for the Status (e.g. the inconsistent `continue` token of a 410).
        self.metadata = metadata or {}

    def status(self) -> dict[str, Any]:
        """The ``Status`` object for this error."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": dict(self.metadata),
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            # Like Go's omitempty on StatusDetails: empty name, group and kind are left out
            # (a 404 for an unknown resource still carries an empty details object).
            body["details"] = {k: v for k, v in self.details.items() if v not in ("", None)}
        return body


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, name: str, *, group: str = "") -> ApiError:
    return ApiError(
        "NotFound",
        f'{_qualified(resource, group)} "{name}" not found',
        details={"name": name, "group": group, "kind": resource},
    )


def already_exists(resource: str, name: str, *, group: str = "") -> ApiError:
    return ApiError(
        "AlreadyExists",
        f'{_qualified(resource, group)} "{name}" already exists',
        details={"name": name, "group": group, "kind": resource},
    )


def conflict(resource: str, name: str, *, group: str = "") -> ApiError:
    return ApiError(
        "Conflict",
        f"Operation cannot be fulfilled on {_qualified(resource, group)} "
        f'"{name}": the object has been modified; please apply your changes '
        "to the latest version and try again",
        details={"name": name, "group": group, "kind": resource},
    )


def bad_request(message: str) -> ApiError:
    return ApiError("BadRequest", message)


def invalid(
    kind: str,
    name: str,
    causes: list[dict[str, str]],
    *,
    group: str = "",
) -> ApiError:
    """422 Invalid with field causes: ``[{"reason", "message", "field"}]``; several causes
    are summarised in brackets, as apimachinery's aggregate error prints them."""
    summary = ", ".join(f"{c.get('field', '')}: {c.get('message', '')}" for c in causes)
    if len(causes) > 1:
        summary = f"[{summary}]"
    qualified = f"{kind}.{group}" if group else kind
    return ApiError(
        "Invalid",
        f'{qualified} "{name}" is invalid: {summary}',
        details={"name": name, "group": group, "kind": kind, "causes": causes},
    )


def expired(message: str) -> ApiError:
    return ApiError("Expired", message)


def forbidden(
    message: str,
    *,
    resource: str = "",
    name: str = "",
    group: str = "",
    causes: list[dict[str, str]] | None = None,
) -> ApiError:
    details: dict[str, Any] = {"name": name, "group": group, "kind": resource}
    if causes:
        details["causes"] = causes
    return ApiError("Forbidden", message, details=details)


def method_not_allowed(
    message: str = "the server does not allow this method on the requested resource",
) -> ApiError:
    return ApiError("MethodNotAllowed", message)
