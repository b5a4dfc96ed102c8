"""``ClusterClient``: a thin dynamic REST client for the Kubernetes API.

Configuration, authentication and transport come from the maintained ``kubernetes_asyncio``
library: its kubeconfig / in-cluster loaders fill a ``Configuration`` (server URL, TLS
files, bearer token, exec plugins), and its ``ApiClient`` owns the ``aiohttp`` session with
the right TLS context. On top of that this module speaks plain JSON to any path, because
Catalyst handles arbitrary chart objects as dicts and needs server-side apply, watches and
log streams, none of which the generated typed API does well.

Guarantees:

- :meth:`ClusterClient.request` returns the decoded JSON object (``{}`` for an empty body) or
  raises :class:`~catalyst.cluster.errors.ClusterError` built from the ``Status`` body.
  Transport failures raise :class:`~catalyst.cluster.errors.ClusterConnectionError`.
- Every request and every stream open passes the client-side token bucket
  (:mod:`catalyst.cluster.ratelimit`) except watches (``watch=true`` in the query), like
  client-go. 429/5xx answers carrying an integer ``Retry-After`` are retried at most 10
  times (:mod:`catalyst.cluster.retry`); each retry passes the limiter again.
- :meth:`ClusterClient.stream` yields the open ``aiohttp`` response of a successful request
  (watch events, container logs) and releases it when the ``async with`` block ends; an
  error status is raised before the block starts.
- **One connection pool per client, at most ``max_connections`` connections.** A request
  or stream open that finds the pool full waits for a free connection, at most
  ``request_timeout`` seconds, then fails with
  :class:`~catalyst.cluster.errors.ClusterConnectionError`. Long-lived responses (watches,
  log follows) hold their connection for as long as they are open, so work that must
  never wait behind them gets a pool of its own: :meth:`ClusterClient.with_own_pool`
  makes a client for the same server and credentials with its own pool and its own
  token bucket (the composition root keeps API work, log follows, the watcher and leader
  election apart this way).
- :meth:`ClusterClient.resource_for` answers from a per-group-version discovery cache,
  refetching that group-version on a miss (:mod:`catalyst.cluster.discovery`).
- Bearer tokens are fetched per request through ``kubernetes_asyncio``'s auth settings, so
  rotated in-cluster tokens and expiring exec-plugin tokens are picked up.

Awkward cases: loading a kubeconfig reads files and may write temporary certificate files,
so it runs in a worker thread with its own event loop; the in-cluster loader's token
refresh re-reads the (tiny, local) token file at most once a minute on the loop thread.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

import aiohttp
import orjson
from kubernetes_asyncio.client import ApiClient, Configuration
from kubernetes_asyncio.config import ConfigException
from kubernetes_asyncio.config.incluster_config import load_incluster_config
from kubernetes_asyncio.config.kube_config import load_kube_config

from catalyst.cluster import metrics
from catalyst.cluster.discovery import ResourceInfo, group_version_path, parse_resource_list
from catalyst.cluster.errors import (
    ClusterConfigError,
    ClusterConnectionError,
    ClusterError,
    ClusterNotFoundError,
    ClusterProtocolError,
    UnknownResourceError,
)
from catalyst.cluster.ratelimit import DEFAULT_BURST, DEFAULT_QPS, TokenBucket
from catalyst.cluster.retry import MAX_RETRIES, RetryBudget

logger = logging.getLogger(__name__)

QueryValue = str | int | float | bool
Query = Mapping[str, QueryValue]

JSON = "application/json"
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"

DEFAULT_REQUEST_TIMEOUT = 60.0
DEFAULT_MAX_CONNECTIONS = 100
"""kubernetes_asyncio's own default pool size (``Configuration.connection_pool_maxsize``)."""
USER_AGENT = "catalyst"


def _encode_query(query: Query | None) -> dict[str, str]:
    if not query:
        return {}
    encoded: dict[str, str] = {}
    for key, value in query.items():
        encoded[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return encoded


def _is_watch(query: Mapping[str, str]) -> bool:
    return query.get("watch", "").lower() in ("true", "1")


class ClusterClient:
    """Dynamic JSON client for one Kubernetes API server. Use as an async context manager."""

    def __init__(
        self,
        api_client: ApiClient,
        *,
        rate_limiter: TokenBucket | None = None,
        max_retries: int = MAX_RETRIES,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._api_client = api_client
        self._configuration: Configuration = api_client.configuration
        self._session: aiohttp.ClientSession = api_client.rest_client.pool_manager
        self._server_hostname: str | None = api_client.rest_client.server_hostname
        self._proxy: str | None = api_client.rest_client.proxy
        self._host = str(self._configuration.host).rstrip("/")
        self.rate_limiter = rate_limiter or TokenBucket(DEFAULT_QPS, DEFAULT_BURST)
        self.max_retries = max_retries
        self.request_timeout = request_timeout
        # Public so tests (and the watcher) can observe or shorten Retry-After waits.
        self.retry_sleep = sleep
        self._discovery: dict[str, dict[str, ResourceInfo]] = {}
        self._discovery_lock = asyncio.Lock()
        self._closed = False

    # -- construction -------------------------------------------------------------------

    @classmethod
    async def from_kubeconfig(
        cls,
        path: str | os.PathLike[str],
        context: str | None = None,
        *,
        qps: float = DEFAULT_QPS,
        burst: int = DEFAULT_BURST,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> ClusterClient:
        """Client for the cluster of ``context`` (default: current-context) in a kubeconfig."""
        config_file = os.fspath(path)
        configuration = Configuration()
        configuration.connection_pool_maxsize = max_connections

        def load() -> Any:
            if not os.path.isfile(config_file):
                raise ClusterConfigError(f"kubeconfig {config_file!r} does not exist")
            # Its own loop: loading may run an exec plugin as an asyncio subprocess.
            return asyncio.run(
                load_kube_config(
                    config_file=config_file,
                    context=context,
                    client_configuration=configuration,
                    persist_config=False,
                )
            )

        try:
            loader = await asyncio.to_thread(load)
        except ConfigException as exc:
            raise ClusterConfigError(f"cannot load kubeconfig {config_file!r}: {exc}") from exc
        if getattr(loader, "exec_plugin_expiry", None) is not None:
            _refresh_exec_token_per_request(configuration, loader)
        return cls(
            ApiClient(configuration=configuration),
            rate_limiter=TokenBucket(qps, burst),
            request_timeout=request_timeout,
        )

    @classmethod
    async def in_cluster(
        cls,
        *,
        qps: float = DEFAULT_QPS,
        burst: int = DEFAULT_BURST,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> ClusterClient:
        """Client using the pod's service account (token, CA and KUBERNETES_SERVICE_*)."""
        configuration = Configuration()
        configuration.connection_pool_maxsize = max_connections
        try:
            await asyncio.to_thread(load_incluster_config, client_configuration=configuration)
        except ConfigException as exc:
            raise ClusterConfigError(f"not running in a cluster: {exc}") from exc
        return cls(
            ApiClient(configuration=configuration),
            rate_limiter=TokenBucket(qps, burst),
            request_timeout=request_timeout,
        )

    def with_own_pool(
        self,
        *,
        max_connections: int,
        qps: float | None = None,
        burst: int | None = None,
        request_timeout: float | None = None,
    ) -> ClusterClient:
        """A client for the same server and credentials with its own connection pool.

        It has its own token bucket (``qps``/``burst``: this client's unless given), its own
        discovery cache and its own session: closing either client leaves the other open.
        Credentials stay shared, so a refreshed token (exec plugin, rotated service account
        token) is used by both.
        """
        configuration = copy.copy(self._configuration)
        configuration.connection_pool_maxsize = max_connections
        return ClusterClient(
            ApiClient(configuration=configuration),
            rate_limiter=TokenBucket(
                self.rate_limiter.qps if qps is None else qps,
                self.rate_limiter.burst if burst is None else burst,
            ),
            max_retries=self.max_retries,
            request_timeout=self.request_timeout if request_timeout is None else request_timeout,
            sleep=self.retry_sleep,
        )

    @property
    def max_connections(self) -> int:
        """How many connections this client's pool opens at most."""
        return int(self._session.connector.limit) if self._session.connector else 0

    async def close(self) -> None:
        """Close the HTTP session. Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._api_client.close()

    async def __aenter__(self) -> ClusterClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def host(self) -> str:
        """The API server's base URL."""
        return self._host

    # -- requests -----------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        body: Any = None,
        content_type: str | None = None,
        accept: str | None = None,
    ) -> dict[str, Any]:
        """Send one request and return its JSON body (``{}`` when empty). ``accept``
        replaces the default ``application/json`` (e.g. to ask for PartialObjectMetadata)."""
        async with self._open(
            method, path, query=query, body=body, content_type=content_type, accept=accept
        ) as response:
            try:
                payload = await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise ClusterConnectionError(f"{method} {path}: {exc}") from exc
        if not payload:
            return {}
        try:
            decoded = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise ClusterProtocolError(
                "InvalidResponse", f"{method} {path}: body is not JSON", status=response.status
            ) from exc
        if not isinstance(decoded, dict):
            raise ClusterProtocolError(
                "InvalidResponse",
                f"{method} {path}: body is not a JSON object",
                status=response.status,
            )
        return decoded

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        read_timeout: float | None = None,
        accept: str | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Open a long-lived response (watch, log follow); read it inside the block.

        ``read_timeout`` bounds the silence between two chunks (None: wait forever; a watch
        normally sets ``timeoutSeconds`` so the server ends it). Getting a connection (from
        a full pool, or a new one) is bounded by ``request_timeout``.
        """
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=self.request_timeout,
            sock_connect=self.request_timeout,
            sock_read=read_timeout,
        )
        async with self._open(
            method, path, query=query, client_timeout=timeout, accept=accept
        ) as response:
            yield response

    @asynccontextmanager
    async def _open(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        body: Any = None,
        content_type: str | None = None,
        client_timeout: aiohttp.ClientTimeout | None = None,
        accept: str | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send with rate limiting and Retry-After retries; yield the first final 2xx answer."""
        if self._closed:
            raise RuntimeError("ClusterClient is closed")
        params = _encode_query(query)
        throttled = not _is_watch(params)
        data: bytes | None = None
        headers = {"Accept": accept or JSON, "User-Agent": USER_AGENT}
        if body is not None:
            data = body if isinstance(body, bytes) else orjson.dumps(body)
            headers["Content-Type"] = content_type or JSON
        request_timeout = client_timeout or aiohttp.ClientTimeout(total=self.request_timeout)
        budget = RetryBudget(self.max_retries)
        url = f"{self._host}{path}"
        what = f"{method} {path}"
        while True:
            if throttled:
                await self.rate_limiter.acquire()
            await self._authorize(headers)
            try:
                response = await self._session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=request_timeout,
                    proxy=self._proxy,
                    server_hostname=self._server_hostname,
                )
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise ClusterConnectionError(f"{what}: {exc!r}") from exc
            try:
                if response.status < 300:
                    yield response
                    return
                if response.status == 429:
                    metrics.THROTTLED.labels(method).inc()
                try:
                    error_body = await response.read()
                except (aiohttp.ClientError, TimeoutError):
                    error_body = b""
                wait = budget.next_wait(response.status, response.headers, what=what)
                if wait is None:
                    raise ClusterError.from_response(response.status, response.reason, error_body)
            finally:
                response.release()
            await self.retry_sleep(wait)

    async def _authorize(self, headers: dict[str, str]) -> None:
        # Asked per request so refreshed tokens (service account rotation, exec plugin
        # expiry) are used without rebuilding the client.
        await self._api_client.update_params_for_auth(headers, [], ["BearerToken"])

    # -- discovery ----------------------------------------------------------------------

    async def resource_for(self, api_version: str, kind: str) -> ResourceInfo:
        """The REST resource serving ``kind`` in ``api_version`` (cached; refreshed on miss)."""
        cached = self._discovery.get(api_version)
        if cached is not None and kind in cached:
            return cached[kind]
        async with self._discovery_lock:
            cached = self._discovery.get(api_version)
            if cached is not None and kind in cached:
                return cached[kind]  # another task refreshed it while we waited
            try:
                body = await self.request("GET", group_version_path(api_version))
            except ClusterNotFoundError as exc:
                raise UnknownResourceError(api_version, kind) from exc
            except ValueError as exc:
                raise UnknownResourceError(api_version, kind) from exc
            resources = parse_resource_list(api_version, body)
            self._discovery[api_version] = resources
        if kind not in resources:
            raise UnknownResourceError(api_version, kind)
        return resources[kind]


def _refresh_exec_token_per_request(configuration: Configuration, loader: Any) -> None:
    """Re-run the kubeconfig's exec plugin when its token expires (checked per request)."""

    async def refresh(config: Configuration) -> None:
        await loader.load_from_exec_plugin()  # no-op until the token is near expiry
        config.api_key["BearerToken"] = loader.token

    configuration.refresh_api_key_hook = refresh
