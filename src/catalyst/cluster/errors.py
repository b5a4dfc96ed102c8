"""Errors raised by the cluster adapter.

Guarantees:

- Every non-2xx answer from the API server surfaces as :class:`ClusterError` carrying the
  HTTP status, and the ``reason`` / ``message`` / ``details`` of the Kubernetes ``Status``
  body when the server sent one (k8s-semantics B14). A body that is not a ``Status`` (a
  proxy's HTML page, plain text) still gives a usable error: the reason falls back to the
  HTTP reason phrase and the message to the start of the body.
- Failures below HTTP (connection refused, reset, timeout) surface as
  :class:`ClusterConnectionError`, a :class:`ClusterError` with ``status == 0``, so callers
  that only care "did the cluster say yes" catch one type.
"""

from __future__ import annotations

from typing import Any

import orjson

# Enough of a non-Status body to recognise what answered without flooding logs.
_BODY_EXCERPT = 300


class ClusterError(Exception):
    """The API server (or the path to it) refused or failed a request."""

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
        return self.status == 404

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


class ClusterConnectionError(ClusterError):
    """No HTTP answer at all: connection refused or reset, DNS, TLS, or a timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "ConnectionError", message)


class UnknownResourceError(ClusterError):
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
