"""A small JSON client for realkube's own agents and start-up checks (aiohttp over mutual TLS).

It authenticates with the admin client certificate and trusts only the cluster CA. Requests
are plain JSON REST; :meth:`KubeClient.watch` yields decoded watch events until the server
ends the stream. Errors raise :class:`ApiStatusError` with the HTTP status and the server's
message. It has no retries: callers decide (see :mod:`realkube.kubelet` and
:mod:`realkube.cluster`).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

from realkube.pki import Pki


class ApiStatusError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def ssl_context(pki: Pki) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca_crt))
    context.load_cert_chain(str(pki.admin_crt), str(pki.admin_key))
    return context


class KubeClient:
    """JSON requests to kube-apiserver at ``server`` (``https://127.0.0.1:PORT``)."""

    def __init__(self, server: str, pki: Pki) -> None:
        self.server = server
        self._ssl = ssl_context(pki)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                base_url=self.server,
                connector=aiohttp.TCPConnector(ssl=self._ssl, limit=20),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        deadline: float = 30.0,
    ) -> Any:
        data = None if body is None else json.dumps(body)
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        async with self._http().request(
            method,
            path,
            params=params,
            data=data,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=deadline),
        ) as response:
            text = await response.text()
            if response.status >= 400:
                raise ApiStatusError(response.status, _message(text))
            if not text:
                return None
            try:
                return json.loads(text)
            except ValueError:
                return text  # plain-text endpoints such as /readyz

    async def get(self, path: str, **params: str) -> Any:
        return await self.request("GET", path, params=params or None)

    async def apply(self, path: str, body: Mapping[str, Any], *, manager: str) -> Any:
        """Server-side apply (create or update) ``body`` at ``path`` with ``force``."""
        return await self.request(
            "PATCH",
            path,
            params={"fieldManager": manager, "force": "true"},
            body=body,
            content_type="application/apply-patch+yaml",
        )

    async def watch(
        self, path: str, *, resource_version: str, timeout_seconds: int = 300, **params: str
    ) -> AsyncIterator[dict[str, Any]]:
        query = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
            **params,
        }
        async with self._http().get(
            path,
            params=query,
            headers={"Accept": "application/json"},
            timeout=aiohttp.ClientTimeout(total=timeout_seconds + 30, sock_read=None),
        ) as response:
            if response.status >= 400:
                raise ApiStatusError(response.status, _message(await response.text()))
            async for line in response.content:
                if line.strip():
                    yield json.loads(line)


def _message(text: str) -> str:
    try:
        return str(json.loads(text).get("message", text))
    except (ValueError, AttributeError):
        return text.strip()
