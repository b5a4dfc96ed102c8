"""`CatalystClient`: the Catalyst HTTP API as typed async methods, for the command line.

One connection pool per client (`httpx.AsyncClient`), the contract's auth header
(``Authorization: ApiToken <token>``). Every failure surfaces as a `ClientError`:

- `ApiError`: the server answered non-2xx; it carries the contract's error shape
  (``statusCode``, ``statusText``, ``details``), or what could be read of a non-conforming
  answer (a proxy's HTML page, say).
- `ConnectionFailed`: no answer at all (refused, unreachable, timed out, cut off), naming
  the URL tried.

Streams (`follow_logs`, `watch`) are async iterators over one HTTP response each; they end
when the server ends the response and raise `ConnectionFailed` when the connection breaks.
They never retry: resuming is the caller's business (see `catalyst.client.watch`).

This package talks HTTP only; it imports no service or store code.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import httpx
from httpx_sse import EventSource, SSEError

# An environment object as the API serves it (api-contract.md, "Environment object").
Environment = dict[str, Any]
# One entry of an environment's status history (``GET .../history``).
StatusChange = dict[str, Any]

DEFAULT_URL = "http://127.0.0.1:8000"
# Requests answer quickly; streams may be silent between heartbeats (15 s by default).
REQUEST_TIMEOUT = httpx.Timeout(30.0)
STREAM_TIMEOUT = httpx.Timeout(30.0, read=90.0)


class ClientError(Exception):
    """Anything that made an API call fail; ``str()`` is a one-line message for humans."""


class ApiError(ClientError):
    """A non-2xx answer, with the contract's error shape."""

    def __init__(self, status_code: int, status_text: str, details: list[str]) -> None:
        self.status_code = status_code
        self.status_text = status_text
        self.details = details
        message = f"{status_code} {status_text}"
        if details:
            message += ": " + ", ".join(details)
        super().__init__(message)

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        """The error shape from the body when it has one, else the status line and a
        short excerpt of whatever the body was."""
        status_text = response.reason_phrase or "Error"
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("details"), list):
            return cls(
                int(body.get("statusCode", response.status_code)),
                str(body.get("statusText", status_text)),
                [str(detail) for detail in body["details"]],
            )
        excerpt = response.text.strip()[:200]
        return cls(response.status_code, status_text, [excerpt] if excerpt else [])


class ConnectionFailed(ClientError):
    """No (complete) answer from the API at ``url``."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"cannot reach the Catalyst API at {url}: {reason}")


@dataclass(frozen=True)
class LogLine:
    """One line of a container's log, with the time the runtime recorded it (RFC 3339)."""

    timestamp: str
    log: str


@dataclass(frozen=True)
class WatchEvent:
    """One event of ``GET /api/environments?watch=1``.

    ``type`` is ADDED, SYNCED, MODIFIED, DELETED or EXPIRED; ``environment`` is the object
    for the first, third and fourth (None for SYNCED and EXPIRED); ``id`` is the position to
    resume after (None when the event carries none)."""

    type: str
    id: str | None
    environment: Environment | None = field(default=None)

    def as_json(self) -> dict[str, Any]:
        """kubectl's watch-event shape: ``{"type", "id", "object"}``."""
        return {"type": self.type, "id": self.id, "object": self.environment}


def _reason(error: httpx.TransportError) -> str:
    """The root cause in words: ``connection refused`` rather than httpx's summary."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno is not None:
            # asyncio words a refusal as "Connect call failed"; name lookups (negative
            # errno) have their own text.
            text = os.strerror(cause.errno) if cause.errno > 0 else cause.strerror
            return (text or str(cause)).lower()
        cause = cause.__cause__ or cause.__context__
    return str(error) or type(error).__name__


class CatalystClient:
    """The API at ``url`` (e.g. ``http://127.0.0.1:8000``) with ``token``.

    Use as ``async with CatalystClient(url, token) as client: ...``; the connection pool is
    closed on exit."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url.rstrip("/")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"ApiToken {token}"
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=headers, timeout=REQUEST_TIMEOUT, follow_redirects=False
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plain requests --------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | int] | None = None,
        body: Any = None,
    ) -> Any:
        try:
            response = await self._http.request(method, f"/api{path}", params=params, json=body)
        except httpx.TransportError as error:
            raise ConnectionFailed(self.url, _reason(error)) from error
        if not response.is_success:
            raise ApiError.from_response(response)
        try:
            return response.json()
        except ValueError as error:
            raise ApiError(response.status_code, "Invalid JSON answer", [str(error)]) from error

    async def list_environments(self) -> list[Environment]:
        """Every environment the token may see (the database's view)."""
        result: list[Environment] = await self._request("GET", "/environments")
        return result

    async def get_environment(self, env_id: int, *, latest: bool = False) -> Environment:
        """One environment; ``latest`` recomputes its status from the cluster now."""
        params: dict[str, str | int] = {"latestStatus": "1"} if latest else {}
        result: Environment = await self._request("GET", f"/environments/{env_id}", params=params)
        return result

    async def create_environment(
        self, name: str, chart: str, values: dict[str, Any]
    ) -> Environment:
        """Store it as ``starting``; the service deploys it in the background."""
        body = {"name": name, "chartName": chart, "values": values}
        result: Environment = await self._request("POST", "/environments", body=body)
        return result

    async def refresh_environment(self, env_id: int, values: dict[str, Any]) -> Environment:
        """Rebuild with ``values`` (they replace the previous values)."""
        path = f"/environments/{env_id}/refresh"
        result: Environment = await self._request("POST", path, body={"values": values})
        return result

    async def delete_environment(self, env_id: int) -> Environment:
        """Mark it ``deleting``; the service deletes it in the background (idempotent)."""
        result: Environment = await self._request("DELETE", f"/environments/{env_id}")
        return result

    async def history(self, env_id: int, *, page_size: int = 1000) -> list[StatusChange]:
        """Every status change of the environment so far, oldest first (all pages)."""
        changes: list[StatusChange] = []
        after: int | None = None
        while True:
            params: dict[str, str | int] = {"limit": page_size}
            if after is not None:
                params["after"] = after
            page = await self._request("GET", f"/environments/{env_id}/history", params=params)
            changes.extend(page["items"])
            after = page.get("next")
            if after is None or not page["items"]:
                return changes

    async def keep(self, env_id: int, *, until: datetime | None = None) -> Environment:
        """Drop the pending expiry, or with ``until`` move it later."""
        body = {"until": until.isoformat()} if until is not None else {}
        result: Environment = await self._request("POST", f"/environments/{env_id}/keep", body=body)
        return result

    # -- streams ---------------------------------------------------------------------------

    async def _events(
        self, path: str, *, params: dict[str, str], headers: dict[str, str] | None = None
    ) -> AsyncGenerator[tuple[str, str, str], None]:
        """(event, data, id) of one SSE response, until the server ends it."""
        request = self._http.build_request(
            "GET",
            f"/api{path}",
            params=params,
            headers={"Accept": "text/event-stream", "Cache-Control": "no-store", **(headers or {})},
            timeout=STREAM_TIMEOUT,
        )
        try:
            response = await self._http.send(request, stream=True)
        except httpx.TransportError as error:
            raise ConnectionFailed(self.url, _reason(error)) from error
        try:
            if not response.is_success:
                await response.aread()
                raise ApiError.from_response(response)
            async for event in EventSource(response).aiter_sse():
                yield event.event, event.data, event.id
        except httpx.TransportError as error:
            raise ConnectionFailed(self.url, _reason(error)) from error
        except SSEError as error:
            raise ApiError(response.status_code, "Not an event stream", [str(error)]) from error
        finally:
            await response.aclose()

    async def follow_logs(self, env_id: int, stream: str) -> AsyncGenerator[LogLine, None]:
        """The lines of ``stream`` (``<chart>/<container>``) as they are written; ends when
        the container terminates (the server waits for it to exist first)."""
        path = f"/environments/{env_id}/logs"
        async with aclosing(self._events(path, params={"stream": stream})) as events:
            async for _, data, _ in events:
                for entry in json.loads(data).get("logs", []):
                    yield LogLine(str(entry.get("timestamp", "")), str(entry.get("log", "")))

    async def watch(self, *, since: str | None = None) -> AsyncGenerator[WatchEvent, None]:
        """One watch stream: without ``since`` ADDED per environment, SYNCED, then changes;
        with it (resume after that event id) only the changes after it, or EXPIRED when
        that position is gone. Ends when the server ends the response."""
        headers = {"Last-Event-ID": since} if since is not None else None
        events = self._events("/environments", params={"watch": "1"}, headers=headers)
        async with aclosing(events):
            async for event, data, event_id in events:
                body = json.loads(data) if data else {}
                environment = body if isinstance(body, dict) and "id" in body else None
                yield WatchEvent(event, event_id or None, environment)
