"""A watch client that stops reading is disconnected by the server, not buffered without
bound: a real Catalyst (embedded kubesim, real HTTP) with a 1 s watch send timeout, a raw
socket client with a small receive buffer that reads the stream's start and then stops while
large changes pile up; the server ends the stream (mid-way: the client, reading again, finds
the end of the stream before the last change), and the client resumes with
``Last-Event-ID`` and gets exactly the changes after its last id."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from catalyst.store.environments import EnvironmentRepository
from catalyst.store.errors import StaleRecord
from catalyst.timestamps import utc_now
from tests.support.live import LiveCatalyst, live_catalyst
from tests.support.live_cluster import FAST_WATCHER
from tests.support.rawhttp import request
from tests.support.sse import SseReader
from tests.support.waiting import eventually

CHANGES = 300
# ~10 MB of events: more than every buffer on the way (loopback TCP send buffers grow to
# 4 MiB, uvicorn's transport holds 64 KiB, the client's receive buffer is tiny).
MESSAGE = "x" * 32_000
WAIT = 60.0


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveCatalyst]:
    async with live_catalyst(
        tmp_path / "data", watch_send_timeout_seconds=1.0, **FAST_WATCHER
    ) as running:
        yield running


def dechunk(raw: bytes) -> bytes:
    """The body of a chunked HTTP/1.1 response (complete chunks; the end may be cut)."""
    body = bytearray()
    while raw:
        size_line, sep, rest = raw.partition(b"\r\n")
        if not sep:
            break
        size = int(size_line, 16)
        if size == 0 or len(rest) < size + 2:
            break
        body += rest[:size]
        raw = rest[size + 2 :]
    return bytes(body)


def event_ids(body: bytes) -> list[int]:
    return [
        int(line.removeprefix(b"id:").strip())
        for line in body.split(b"\r\n")
        if line.startswith(b"id:")
    ]


async def test_a_client_that_stops_reading_is_disconnected_and_resumes_without_loss(
    live: LiveCatalyst, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="catalyst.api.feed_events")
    assert live.catalyst.database is not None
    repo = EnvironmentRepository(live.catalyst.database)
    record = await repo.create(name="stream", chart_name="c", values={})

    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    host, port = live.url.removeprefix("http://").split(":")
    try:
        await loop.sock_connect(sock, (host, int(port)))
        headers = {"Authorization": f"ApiToken {live.admin_token}"}
        await loop.sock_sendall(sock, request("GET", "/api/environments?watch=1", headers=headers))
        received = b""
        async with asyncio.timeout(WAIT):
            while b"event: SYNCED" not in received:
                received += await loop.sock_recv(sock, 4096)
        assert received.startswith(b"HTTP/1.1 200")

        # The client stops reading; the changes pile up far beyond every buffer.
        # (The service's watcher evaluates the environment too: a write it makes first is
        # retried, and its own rows are changes like any other.)
        n = 0
        while n < CHANGES:
            current = await repo.get(record.id)
            assert current is not None
            try:
                await repo.record_status_change(
                    record.id,
                    expected_version=current.version,
                    source="watcher",
                    status="starting",
                    status_reason=f"Step{n}",
                    status_message=MESSAGE,
                    now=utc_now(),
                )
            except StaleRecord:
                continue
            n += 1
        last = await repo.latest_change_position()
        await eventually(
            lambda: "did not read" in caplog.text, "the server disconnecting the stalled client"
        )

        # Reading again: what was buffered, then the end of the stream, short of the last.
        async with asyncio.timeout(WAIT):
            while chunk := await loop.sock_recv(sock, 65536):
                received += chunk
    finally:
        sock.close()
    _, _, raw_body = received.partition(b"\r\n\r\n")
    seen = event_ids(dechunk(raw_body))
    assert seen, "no event before the stall"
    assert seen == sorted(set(seen))
    assert seen[-1] < last, "the stream was not cut short"

    # Resuming with its last id: exactly the changes it missed, in order, once each.
    missed = [row.id for row in await repo.list_changes_after(seen[-1], limit=10 * CHANGES)]
    assert missed[-1] == last
    headers = {"Authorization": f"ApiToken {live.admin_token}", "Last-Event-ID": str(seen[-1])}
    async with (
        httpx.AsyncClient(base_url=live.url, headers=headers, timeout=WAIT) as client,
        client.stream("GET", "/api/environments?watch=1") as response,
    ):
        assert response.status_code == 200
        reader = SseReader(response)
        resumed: list[int] = []
        async with asyncio.timeout(WAIT):
            while len(resumed) < len(missed):
                event = await reader.next()
                assert event.id is not None
                resumed.append(int(event.id))
    assert resumed == missed
