"""Input never reaches a 500, over real HTTP around the real store on every backend
(issue 8, part 3).

The same requests used to fail differently per database: an id beyond 32 bits is a 500 on
PostgreSQL (``int4`` parameter) but not on SQLite, beyond 64 bits a 500 on SQLite;
values nested 33 deep are a 500 on MariaDB (its ``JSON_VALID`` depth limit) and stored
elsewhere; integers beyond 64 bits and lone surrogates a 500 everywhere. After a 500 the
server closed the keep-alive connection without ``Connection: close``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.http_api import body_with_values, nested_values
from tests.support.live import LiveCatalyst, live_catalyst
from tests.support.rawhttp import read_response, request

WAIT = 30.0
HUGE_IDS = [2**31, 2**63, 2**64]


@pytest.fixture
async def live_on_backend(database_url: str, tmp_path: Path) -> AsyncIterator[LiveCatalyst]:
    async with live_catalyst(tmp_path / "data", database_url=database_url) as live:
        yield live


def hostile_requests() -> list[tuple[str, str, dict[str, Any], int]]:
    """(method, path, httpx arguments, expected status)."""
    json = {"Content-Type": "application/json"}
    cases: list[tuple[str, str, dict[str, Any], int]] = []
    for env_id in HUGE_IDS:
        base = f"/api/environments/{env_id}"
        cases += [
            ("GET", base, {}, 404),
            ("GET", base, {"params": {"latestStatus": "1"}}, 404),
            ("DELETE", base, {}, 404),
            ("POST", f"{base}/refresh", {"json": {"values": {}}}, 404),
            ("GET", f"{base}/logs", {"params": {"stream": "mediawiki/install-mediawiki"}}, 404),
        ]
    for number, values in enumerate(
        [
            '{"n": 18446744073709551616}',
            '{"s": "\\ud800"}',
            '{"\\ud800": "key"}',
            nested_values(33),
            '{"a": ' + "[" * 255 + "]" * 255 + "}",
            '{"n": NaN}',
            '{"n": 1e400}',
        ]
    ):
        body = body_with_values(values, name=f"hostile-{number}").encode()
        cases.append(("POST", "/api/environments", {"content": body, "headers": json}, 422))
    newline = body_with_values("{}", name="wiki\\n").encode()
    cases.append(("POST", "/api/environments", {"content": newline, "headers": json}, 422))
    plain = {"content": body_with_values("{}").encode(), "headers": {"Content-Type": "text/plain"}}
    cases.append(("POST", "/api/environments", plain, 415))
    cases.append(("GET", "/api/environments", {"params": {"latestStatus": ""}}, 200))
    return cases


async def test_hostile_input_is_4xx_in_the_error_shape_on_every_backend(
    live_on_backend: LiveCatalyst,
) -> None:
    live = live_on_backend
    token = {"Authorization": f"ApiToken {live.admin_token}"}
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(base_url=live.url, timeout=WAIT, limits=limits) as client:
        for method, path, kwargs, status in hostile_requests():
            headers = {**token, **kwargs.pop("headers", {})}
            response = await client.request(method, path, headers=headers, **kwargs)
            assert response.status_code == status, (method, path, response.text)
            if status >= 400:
                assert set(response.json()) == {"statusCode", "statusText", "details"}
        listing = await client.get("/api/environments", headers=token)
        assert listing.json() == []  # nothing hostile was stored


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveCatalyst]:
    async with live_catalyst(tmp_path / "data") as live:
        yield live


async def test_a_500_keeps_the_keep_alive_connection_usable(live: LiveCatalyst) -> None:
    async def broken() -> Any:
        raise RuntimeError("a bug")

    assert live.catalyst.services is not None
    live.catalyst.services.charts.list = broken  # type: ignore[method-assign]
    host, port = live.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        auth = {"Authorization": f"ApiToken {live.admin_token}"}
        writer.write(request("GET", "/api/charts", headers=auth))
        await writer.drain()
        failed = await read_response(reader)
        assert failed.status == 500
        assert failed.json()["details"] == ["internal error; see the service log"]
        assert failed.headers.get("connection", "keep-alive") != "close"
        writer.write(request("GET", "/api/charts/mediawiki", headers=auth))
        await writer.drain()
        assert (await read_response(reader)).status == 200  # the same connection
    finally:
        writer.close()
