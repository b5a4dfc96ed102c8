"""Requests the HTTP parser refuses are answered in the error shape (issue 8, part 3).

uvicorn runs in the test's loop configured as ``catalyst serve`` configures it
(`catalyst.app.server_config`, whose protocol includes `ErrorShapeBadRequests`) around the
app (fakes); raw sockets send what no HTTP client library would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from catalyst.api.app import create_app
from catalyst.app import _Server, bind_socket, server_config
from catalyst.config import Settings
from tests.support.api_fakes import fake_services
from tests.support.rawhttp import closed_by_peer, read_response, request

WAIT = 15.0
HOST = b"Host: 127.0.0.1\r\n"


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[int]:
    server = _Server(server_config(create_app(fake_services()), Settings(data_dir=tmp_path)))
    sock = bind_socket("127.0.0.1", 0)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(WAIT):
            while not server.started:
                assert not task.done(), "server stopped during start"
                await asyncio.sleep(0.01)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, WAIT)
        sock.close()


@pytest.mark.parametrize(
    ("raw", "status", "detail"),
    [
        (b"GARBAGE\r\n\r\n", 400, "request: malformed HTTP request"),
        (b"GET /api/environments HTTP/9\r\n" + HOST + b"\r\n", 400, "malformed"),
        (b"GET /api/\xff\xfe HTTP/1.1\r\n" + HOST + b"\r\n", 400, "malformed"),
        (b"POST /api/environments HTTP/1.1\r\n" + HOST + b"Content-Length: abc\r\n\r\n", 400, ""),
        (
            b"POST /api/environments HTTP/1.1\r\n" + HOST
            + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
            400,
            "malformed",
        ),
        (b"GET / HTTP/1.1\r\n" + HOST + b"X-Big: " + b"a" * 20_000, 431, "large"),  # unfinished
        (
            b"POST /api/environments HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: gzip\r\n\r\n",
            501,
            "Transfer-Encoding",
        ),
    ],
)  # fmt: skip
async def test_unparseable_requests_get_the_error_shape_and_close(
    port: int, raw: bytes, status: int, detail: str
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        response = await read_response(reader)
        assert response.status == status
        assert response.headers["content-type"] == "application/json"
        assert response.headers["connection"] == "close"
        body = response.json()
        assert set(body) == {"statusCode", "statusText", "details"}
        assert body["statusCode"] == status
        assert body["statusText"]
        assert len(body["details"]) == 1
        assert detail in body["details"][0]
        assert await closed_by_peer(reader)
    finally:
        writer.close()


async def test_the_parser_error_never_quotes_the_request(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"GET /api/charts HTTP/1.1\r\n" + HOST + b"Authorization ApiToken s3cr3t\r\n\r\n"
        )
        await writer.drain()
        response = await read_response(reader)
        assert response.status == 400
        assert b"s3cr3t" not in response.body
    finally:
        writer.close()


async def test_a_percent_encoded_invalid_path_reaches_the_app(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request("GET", "/api/%ff%fe"))
        await writer.drain()
        response = await read_response(reader)
        assert response.status == 404
        assert response.json()["statusCode"] == 404
        writer.write(request("GET", "/healthz"))  # and the connection stays usable
        await writer.drain()
        assert (await read_response(reader)).status == 200
    finally:
        writer.close()
