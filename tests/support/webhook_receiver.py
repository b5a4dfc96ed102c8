"""A real webhook receiver for tests: an aiohttp server on 127.0.0.1 (a free port).

It records every request (headers and body) and answers with ``status`` (settable while it
runs); with ``hang`` set it accepts requests and never answers (until it stops). With a
``secret`` it checks each request's Standard Webhooks signature with the specification's
reference library (``standardwebhooks``) and records whether it verified.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int | None
    """The status answered (None: hung)."""
    verified: bool | None
    """Whether the signature verified (None: no secret to check with)."""

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    url: str = ""
    secret: str | None = None
    status: int = 200
    hang: bool = False
    received: list[Received] = field(default_factory=list)
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    def delivered(self) -> list[Received]:
        """The requests answered with a 2xx, in arrival order."""
        return [r for r in self.received if r.answered is not None and 200 <= r.answered < 300]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified: bool | None = None
        if self.secret is not None:
            try:
                Webhook(self.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        if self.hang:
            self.received.append(Received(headers, body, None, verified))
            await self._release.wait()
            return web.Response(status=503)
        status = self.status
        self.received.append(Received(headers, body, status, verified))
        return web.Response(status=status, text="ok" if status < 300 else "no")


@asynccontextmanager
async def webhook_receiver(*, status: int = 200) -> AsyncIterator[WebhookReceiver]:
    """Serve a receiver until the block ends."""
    receiver = WebhookReceiver(status=status)
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver._handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    receiver.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    try:
        yield receiver
    finally:
        receiver._release.set()
        await runner.cleanup()
