"""Slow clients cannot hold ``catalyst serve``'s connections (issue 8, part 2).

A real ``catalyst serve`` process (embedded default) with short header and body timeouts;
the clients are raw sockets so the test controls every byte: a request whose headers never
finish, one whose body never finishes, and a connection that sends nothing at all.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow

START_TIMEOUT = 60.0
WAIT = 15.0  # far above the 0.5 s timeouts below: only a server that never answers fails


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[str, int]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALYST_")}
    env.update(
        CATALYST_DATA_DIR=str(tmp_path / "data"),
        CATALYST_HTTP_HEADER_TIMEOUT="0.5",
        CATALYST_HTTP_BODY_TIMEOUT="0.5",
    )
    log = (tmp_path / "serve.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "catalyst.cli",
        "serve",
        "--port",
        "0",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=log,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(START_TIMEOUT):
            while True:
                line = (await process.stdout.readline()).decode()
                assert line, (tmp_path / "serve.log").read_text()[-4000:]
                if line.startswith("Catalyst API: "):
                    break
        url = urlsplit(line.split()[2])
        assert url.hostname is not None
        assert url.port is not None
        yield url.hostname, url.port
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.communicate(), START_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.close()


async def send_and_read_to_eof(server: tuple[str, int], data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(*server)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), WAIT)
    finally:
        writer.close()


def error_of(answer: bytes) -> tuple[int, dict[str, object], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body), head.lower()


async def test_a_request_whose_headers_never_finish_gets_408_and_is_closed(
    server: tuple[str, int],
) -> None:
    answer = await send_and_read_to_eof(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    status, error, head = error_of(answer)
    assert status == 408
    assert set(error) == {"statusCode", "statusText", "details"}
    assert b"connection: close" in head


async def test_a_request_whose_body_never_finishes_gets_408_and_is_closed(
    server: tuple[str, int],
) -> None:
    request = (
        b"POST /api/environments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"name": '
    )
    status, error, head = error_of(await send_and_read_to_eof(server, request))
    assert status == 408
    assert error["statusCode"] == 408
    assert b"connection: close" in head


async def test_a_connection_that_sends_nothing_is_closed(server: tuple[str, int]) -> None:
    assert await send_and_read_to_eof(server, b"") == b""


async def test_prompt_clients_keep_their_keep_alive_connection(server: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*server)
    try:
        for _ in range(2):
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
            assert head.startswith(b"HTTP/1.1 200")
            length = next(
                int(line.split(b":")[1])
                for line in head.lower().split(b"\r\n")
                if line.startswith(b"content-length:")
            )
            await asyncio.wait_for(reader.readexactly(length), WAIT)
    finally:
        writer.close()
