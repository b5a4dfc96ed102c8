"""HTTP/1.1 for ``catalyst serve``: uvicorn's h11 protocol with read timeouts for slow clients.

uvicorn bounds only the silence between requests on a kept-alive connection (its keep-alive
timeout, which the first byte of the next request cancels). A client that sends part of a
request line or its headers, or part of a declared body, and then nothing, holds the
connection — and, for a body, the request's task — forever. `TimedH11Protocol` adds two
bounds, both counting only time spent waiting for the client:

- **headers**: from the moment the connection can carry a new request (accepted, or the
  previous answer sent) until that request's headers are complete: ``header_timeout``.
- **body**: from the end of the headers to the end of the body: ``body_timeout``. It bounds
  the whole body, not the gap between two chunks, so trickling a byte at a time gains a
  client nothing.

When one runs out, the client gets ``408 Request Timeout`` in the API's error shape with
``Connection: close`` and the connection is closed. Two cases close without an answer: a
connection on which nothing of a new request arrived (as uvicorn's keep-alive timeout
does), and a request whose answer has already started. The application, if it was
reading the body, receives ``http.disconnect``.

While the application works on a request (its headers and body are complete) neither
timer runs, so slow answers and long-lived streams (SSE) are never cut. The application
is expected to read a body as it arrives (Catalyst's body-size middleware does, for every
request), since a body the server does not read cannot arrive.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

from catalyst.api.errors import error_body


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with header and body read timeouts (see module docstring)."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._update_read_timers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._update_read_timers()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The connection may now wait for the next request (or has already parsed it).
        self._update_read_timers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        self._cancel_body_timer()
        super().connection_lost(exc)

    # -- timers -----------------------------------------------------------------------------

    def _update_read_timers(self) -> None:
        """Run exactly the timer of what the connection is waiting for from the client."""
        waiting_for = self.conn.their_state
        if self.transport.is_closing():
            waiting_for = h11.CLOSED
        if waiting_for is h11.IDLE:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(
                    self.header_timeout, self._headers_timed_out
                )
        else:
            self._cancel_header_timer()
        if waiting_for is h11.SEND_BODY:
            if self._body_timer is None:
                self._body_timer = self.loop.call_later(self.body_timeout, self._body_timed_out)
        else:
            self._cancel_body_timer()

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        pending, _closed = self.conn.trailing_data
        if not pending:
            self.transport.close()  # nothing of a request arrived: an idle connection
            return
        self._refuse(f"request: headers not received within {self.header_timeout:g} s")

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.SEND_BODY:
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            # The application now reads http.disconnect and its answer is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
            self._refuse(f"request: body not received within {self.body_timeout:g} s")
        else:
            self.transport.close()

    def _refuse(self, detail: str) -> None:
        """408 in the error shape, written directly (h11 cannot answer a partial request)."""
        body = orjson.dumps(error_body(408, [detail]))
        head = (
            "HTTP/1.1 408 Request Timeout\r\n"
            "content-type: application/json\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        ).encode("ascii")
        self.transport.write(head + body)
        self.transport.close()


def timed_h11_protocol(
    *mixins: type[H11Protocol], header_timeout: float, body_timeout: float
) -> type[TimedH11Protocol]:
    """The protocol class for uvicorn's ``http=`` with these timeouts (uvicorn builds one
    protocol per connection from the class, without extra arguments). ``mixins``, other
    `H11Protocol` subclasses, come first among its bases, so their behaviour is kept."""
    return type(
        "TimedH11Protocol",
        (*mixins, TimedH11Protocol),
        {"header_timeout": header_timeout, "body_timeout": body_timeout},
    )
