"""ASGI middleware that refuses request bodies larger than a limit with 413.

The limit is enforced before anything parses the body: a ``Content-Length`` above the
limit is refused without buffering a byte, and bodies without a length (chunked transfer
encoding) are read up to the limit and refused as soon as they exceed it. Bodies within
the limit are buffered (at most ``max_bytes``) and replayed to the application unchanged.

Awkward case: answering while the client is still sending makes many clients (httpx,
PHP's curl without ``Expect``) see a connection reset instead of the 413. So the rest of
an oversized body is read and discarded — never stored — up to ``drain_bytes``; beyond
that the connection is closed. A client that sent ``Expect: 100-continue`` is answered at
once: it has not sent the body yet and will not.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalyst.api.errors import error_response

DEFAULT_DRAIN_BYTES = 16 * 1024 * 1024


class BodySizeLimit:
    """Wraps an ASGI app; answers 413 in the error shape for oversized bodies."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, drain_bytes: int = DEFAULT_DRAIN_BYTES
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.drain_bytes = drain_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = _int_or_none(headers.get(b"content-length"))
        if declared is not None and declared > self.max_bytes:
            expects_continue = headers.get(b"expect", b"").lower() == b"100-continue"
            drained = expects_continue or (
                declared <= self.drain_bytes and await self._drain(receive, 0)
            )
            await self._refuse(scope, receive, send, close=not drained)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            more = bool(message.get("more_body", False))
            if size > self.max_bytes:
                drained = not more or await self._drain(receive, size)
                await self._refuse(scope, receive, send, close=not drained)
                return
            chunks.append(chunk)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            # After the body, the app only ever waits for the disconnect (e.g. SSE).
            return await receive()

        await self.app(scope, replay, send)

    async def _drain(self, receive: Receive, already: int) -> bool:
        """Read and discard the rest of the body; False if it exceeds ``drain_bytes``."""
        size = already
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return False
            size += len(message.get("body", b""))
            if size > self.drain_bytes:
                return False
            if not message.get("more_body", False):
                return True

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, *, close: bool) -> None:
        response = error_response(413, [f"body: larger than the limit of {self.max_bytes} bytes"])
        if close:
            response.headers["connection"] = "close"
        await response(scope, receive, send)


def _int_or_none(value: bytes | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
