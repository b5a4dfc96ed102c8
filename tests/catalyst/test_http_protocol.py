"""The HTTP server's read timeouts: slow clients are cut off, slow answers are not.

uvicorn runs in the test's loop with `catalyst.app.server_config` (what ``catalyst serve``
uses) around a small ASGI app; raw sockets control every byte the client sends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from catalyst.app import _Server, bind_socket, server_config
from catalyst.config import Settings

WAIT = 15.0
TIMEOUT = 0.3


async def slow_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reads the whole body, then answers after three read timeouts."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await asyncio.sleep(3 * TIMEOUT)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"slow:" + body, "more_body": True})
    await asyncio.sleep(3 * TIMEOUT)
    await send({"type": "http.response.body", "body": b":done"})


@pytest.fixture
async def server(tmp_path: Any) -> AsyncIterator[tuple[str, int]]:
    settings = Settings(data_dir=tmp_path, http_header_timeout=TIMEOUT, http_body_timeout=TIMEOUT)
    sock = bind_socket("127.0.0.1", 0)
    server = _Server(server_config(slow_app, settings))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(WAIT):
            while not server.started:
                assert not task.done(), "server stopped during start"
                await asyncio.sleep(0.01)
        yield "127.0.0.1", sock.getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, WAIT)
        sock.close()


async def exchange(server: tuple[str, int], *parts: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(*server)
    try:
        for part in parts:
            writer.write(part)
            await writer.drain()
        return await asyncio.wait_for(reader.read(), WAIT)
    finally:
        writer.close()


async def test_an_answer_slower_than_the_read_timeouts_is_delivered_whole(
    server: tuple[str, int],
) -> None:
    answer = await exchange(
        server,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody",
    )
    assert answer.startswith(b"HTTP/1.1 200")
    assert b"slow:body" in answer
    assert b":done" in answer


async def test_headers_that_never_finish_get_408_in_the_error_shape(
    server: tuple[str, int],
) -> None:
    answer = await exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in head.lower()
    assert json.loads(body) == {
        "statusCode": 408,
        "statusText": "Request Timeout",
        "details": [f"request: headers not received within {TIMEOUT:g} s"],
    }


async def test_a_body_that_never_finishes_gets_408_in_the_error_shape(
    server: tuple[str, int],
) -> None:
    answer = await exchange(server, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body)["details"] == [f"request: body not received within {TIMEOUT:g} s"]


async def test_the_next_request_on_a_keep_alive_connection_has_the_same_header_bound(
    server: tuple[str, int],
) -> None:
    first = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1"
    answer = await exchange(server, first, b"GET / HTTP/1.1\r\nHost: x\r\n")
    assert answer.startswith(b"HTTP/1.1 200")
    assert b"HTTP/1.1 408 " in answer  # the second request's headers never finished
