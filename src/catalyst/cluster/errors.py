"""Errors raised by the cluster adapter.

Guarantees:

- Every non-2xx answer from the API server surfaces as :class:`ClusterError` carrying the
  HTTP status, and the ``reason`` / ``message`` / ``details`` of the Kubernetes ``Status``
  body when the server sent one (k8s-semantics B14). A body that is not a ``Status`` (a
  proxy's HTML page, plain text) still gives a usable error: the reason falls back to the
  HTTP reason phrase and the message to the start of the body.
- The answers callers act on have their own types, so nobody compares status codes:
  :class:`ClusterNotFoundError` (404), :class:`ClusterConflictError` (409),
  :class:`ClusterGoneError` (410), :class:`ClusterInvalidError` (422) and
  :class:`ClusterTooManyRequestsError` (429). Constructing a ``ClusterError`` with one of
  those statuses gives an instance of its type (as ``OSError`` does with errno values), so an
  error built anywhere, from an HTTP answer or a watch's ``ERROR`` event, is told apart the
  same way. Every other status stays a plain ``ClusterError``.
- Failures below HTTP (connection refused, reset, timeout) surface as
  :class:`ClusterConnectionError`; an answer that breaks the protocol (a body that is not
  JSON, an undecodable watch event, a list without a resourceVersion) as
  :class:`ClusterProtocolError`. A connection error carries ``status == 0`` (there was no
  answer); the two are told apart by type, never by status. All are :class:`ClusterError`,
  so callers that only care "did the cluster say yes" catch one type.
"""

from __future__ import annotations

from typing import Any

import orjson

# Enough of a non-Status body to recognise what answered without flooding logs.
_BODY_EXCERPT = 300


class ClusterError(Exception):
    """The API server (or the path to it) refused or failed a request."""

    def __new__(cls, *args: Any, **kwargs: Any) -> ClusterError:
        if cls is ClusterError:
            status = args[0] if args else kwargs.get("status")
            cls = _BY_STATUS.get(status, ClusterError) if isinstance(status, int) else cls
        return super().__new__(cls, *args, **kwargs)

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {reason}: {message}" if status else f"{reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.details = details or {}

    @property
    def not_found(self) -> bool:
        """Whether the server answered 404 (same as ``isinstance(e, ClusterNotFoundError)``)."""
        return isinstance(self, ClusterNotFoundError)

    @property
    def causes(self) -> list[dict[str, Any]]:
        """Field-level causes of a 422 Invalid (``[{"reason"|"type", "message", "field"}]``)."""
        causes = self.details.get("causes")
        return causes if isinstance(causes, list) else []

    @classmethod
    def from_response(cls, status: int, http_reason: str | None, body: bytes) -> ClusterError:
        """Build the error from an HTTP answer, preferring its ``Status`` body."""
        parsed: Any = None
        if body:
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                parsed = None
        if isinstance(parsed, dict) and parsed.get("kind") == "Status":
            details = parsed.get("details")
            return cls(
                status,
                str(parsed.get("reason") or http_reason or "Unknown"),
                str(parsed.get("message") or ""),
                details=details if isinstance(details, dict) else None,
            )
        text = body[:_BODY_EXCERPT].decode("utf-8", errors="replace").strip()
        return cls(status, http_reason or "Unknown", text or "(empty response body)")


class ClusterNotFoundError(ClusterError):
    """404: the object (or the resource, or the namespace it lives in) does not exist."""


class ClusterConflictError(ClusterError):
    """409: the object already exists, or it changed since the resourceVersion sent."""


class ClusterGoneError(ClusterError):
    """410: the resourceVersion (or continue token) asked for is no longer available."""


class ClusterInvalidError(ClusterError):
    """422: the server refused the request as invalid (field causes in ``causes``)."""


class ClusterTooManyRequestsError(ClusterError):
    """429: the server throttled the request (after the client's own retries)."""


class ClusterProtocolError(ClusterError):
    """An answer that breaks the API's protocol: not JSON, not an object, an undecodable
    watch event, a list without a resourceVersion, a watch-list without its end.

    ``status`` is the HTTP status the answer came with, 0 when it came inside a stream."""

    def __init__(self, reason: str, message: str, *, status: int = 0) -> None:
        super().__init__(status, reason, message)


class ClusterConnectionError(ClusterError):
    """No HTTP answer at all: connection refused or reset, DNS, TLS, or a timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "ConnectionError", message)


_BY_STATUS: dict[int, type[ClusterError]] = {
    404: ClusterNotFoundError,
    409: ClusterConflictError,
    410: ClusterGoneError,
    422: ClusterInvalidError,
    429: ClusterTooManyRequestsError,
}


class UnknownResourceError(ClusterNotFoundError):
    """Discovery does not serve the requested ``apiVersion`` / ``kind``."""

    def __init__(self, api_version: str, kind: str) -> None:
        super().__init__(
            404,
            "NotFound",
            f'the server does not serve kind "{kind}" in "{api_version}"',
            details={"kind": kind, "group": api_version},
        )


class ClusterConfigError(Exception):
    """The kubeconfig or in-cluster service account could not be loaded."""
