"""Raw HTTP/1.1 over a socket, for tests that control every byte and see every header."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

READ_TIMEOUT = 10.0


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def read_response(reader: asyncio.StreamReader) -> RawResponse:
    """One response; the body by Content-Length, or up to EOF without one."""
    async with asyncio.timeout(READ_TIMEOUT):
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        else:
            body = await reader.read()
    return RawResponse(int(status_line.split()[1]), headers, body)


async def closed_by_peer(reader: asyncio.StreamReader) -> bool:
    async with asyncio.timeout(READ_TIMEOUT):
        return await reader.read(1) == b""


def request(method: str, path: str, *, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
