"""`WebhookSender`: one HTTP POST of a webhook message, bounded and guarded.

Built on aiohttp (already Catalyst's HTTP client and server library, so no new dependency):
its connector takes a custom resolver, which is where the address policy belongs.

Guarantees of `WebhookSender.send`:

- It never raises for anything the receiver or the network does: the outcome (status code,
  latency, error text) is returned, and ``succeeded`` is True exactly for a 2xx.
- The whole request (connect, send, answer) is cut off after ``timeout`` seconds, so a
  receiver that accepts the connection and never answers costs one timeout, not a stuck
  deliverer.
- Redirects are not followed (a 3xx is a failed delivery): a redirect could point to an
  internal address the policy would refuse.
- The connection goes only to addresses the `WebhookUrlPolicy` accepts, checked when the
  host is resolved for the connection itself (IP literals are checked before the request),
  so a host name that re-resolves to an internal address (DNS rebinding) is refused.
- Environment proxies (``HTTP_PROXY``…) are ignored; at most 64 KiB of an answer is read.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from types import TracebackType
from typing import Final

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from catalyst.service.webhook_urls import WebhookUrlPolicy, WebhookUrlRefused

USER_AGENT: Final = "Catalyst-Webhooks/1"
_MAX_ANSWER_BYTES: Final = 64 * 1024
_MAX_ERROR_LENGTH: Final = 500


@dataclass(frozen=True, slots=True)
class SendOutcome:
    status_code: int | None
    latency: float
    """Seconds from the start of the request to its outcome."""
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class AddressRefused(OSError):
    """A resolved address the policy refuses (an OSError: aiohttp reports it as a DNS
    failure of the connection)."""


class _PolicyResolver(AbstractResolver):
    """The threaded resolver, with every answer checked against the policy."""

    def __init__(self, policy: WebhookUrlPolicy) -> None:
        self._policy = policy
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            try:
                self._policy.check_address(result["host"])
            except WebhookUrlRefused as refused:
                raise AddressRefused(f"{host} resolves to a refused address: {refused}") from None
        return results

    async def close(self) -> None:
        await self._inner.close()


class WebhookSender:
    """POSTs webhook messages over one pooled HTTP client (an async context manager)."""

    def __init__(
        self, *, policy: WebhookUrlPolicy, timeout: float, max_connections: int = 100
    ) -> None:
        self._policy = policy
        self._timeout = timeout
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> WebhookSender:
        connector = aiohttp.TCPConnector(
            resolver=_PolicyResolver(self._policy),
            limit=self._max_connections,
            ttl_dns_cache=10,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            trust_env=False,
            headers={"user-agent": USER_AGENT},
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, url: str, *, body: bytes, headers: dict[str, str]) -> SendOutcome:
        """POST ``body`` to ``url``; the outcome, never an exception (see module doc)."""
        session = self._session
        if session is None:
            raise RuntimeError("WebhookSender is not open")
        loop = asyncio.get_running_loop()
        started = loop.time()
        status: int | None = None
        error: str | None = None
        try:
            self._policy.check_url(url)
            async with session.post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                await response.content.read(_MAX_ANSWER_BYTES)
        except WebhookUrlRefused as refused:
            error = str(refused)
        except TimeoutError:
            error = f"no answer within {self._timeout:g}s"
        except (aiohttp.ClientError, OSError, ValueError) as failure:
            error = f"{type(failure).__name__}: {failure}" if str(failure) else repr(failure)
        latency = loop.time() - started
        if status is not None and 200 <= status < 300:
            error = None  # the receiver has it, even if its answer's body broke off
        elif error is None and status is not None:
            error = f"HTTP {status}"
        if error is not None:
            error = error[:_MAX_ERROR_LENGTH]
        return SendOutcome(status, latency, error)
