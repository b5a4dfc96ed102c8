"""Errors found below the application, by the HTTP parser, in the contract's error shape.

A request the parser cannot read (a malformed request line, a bad or conflicting
``Content-Length``, raw non-ASCII bytes in the path, headers over the size limit, an
unsupported ``Transfer-Encoding``) never reaches the application: uvicorn answers it
itself, as ``text/plain``. `ErrorShapeBadRequests` makes that answer the error shape with
``Connection: close`` (the stream cannot be trusted after a framing error, so the
connection always ends).

The status is the parser's hint (400, 431 for headers too large, 501 for an unsupported
transfer coding); the detail is a fixed sentence per status, never the parser's message,
which can quote the offending header line (and so a token).

What still cannot have the shape (see the README): an exception in the application before
its response starts is caught by the app itself (`catalyst.api.errors.UnexpectedErrors`),
so uvicorn's plain ``Internal Server Error`` only remains for a failure of that catch-all;
``limit_concurrency`` (not set by Catalyst) would answer a plain 503.
"""

from __future__ import annotations

import sys

import h11
import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

from catalyst.api.errors import error_body, status_text

_DETAILS = {
    400: "request: malformed HTTP request (request line, headers or body framing)",
    431: "request: header section too large",
    501: "request: unsupported Transfer-Encoding (only chunked is supported)",
}


def parser_error_status(error: BaseException | None) -> int:
    """The status for a request the parser refused: its hint when it gives one we know."""
    hint = getattr(error, "error_status_hint", 400)
    return hint if hint in _DETAILS else 400


class ErrorShapeBadRequests(H11Protocol):
    """uvicorn's h11 protocol, answering unparseable requests in the error shape.

    A mixin in effect: any other subclass of `H11Protocol` (read timeouts, say) can put it
    first among its bases to keep both behaviours."""

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this from the `except h11.RemoteProtocolError` block that caught
        # the parser's error, so the error (and its status hint) is the one being handled.
        status = parser_error_status(sys.exception())
        body = orjson.dumps(error_body(status, [_DETAILS[status]]))
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"connection", b"close"),
        ]
        response = h11.Response(status_code=status, headers=headers, reason=status_text(status))
        for event in (response, h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()
