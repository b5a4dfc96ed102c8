"""ClusterClient against a scripted API server: auth, errors, retries, discovery cache."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.errors import (
    ClusterConfigError,
    ClusterConnectionError,
    ClusterError,
    UnknownResourceError,
)
from catalyst.cluster.ratelimit import TokenBucket
from tests.support.fake_apiserver import FakeApiServer


@pytest.fixture
async def server() -> AsyncIterator[FakeApiServer]:
    fake = FakeApiServer()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def client(server: FakeApiServer, tmp_path: Path) -> AsyncIterator[ClusterClient]:
    async with await ClusterClient.from_kubeconfig(server.write_kubeconfig(tmp_path)) as cc:
        yield cc


def json_handler(body: dict, status: int = 200, headers: dict | None = None):
    async def handle(_: web.Request) -> web.Response:
        return web.json_response(body, status=status, headers=headers)

    return handle


async def test_sends_bearer_token_and_decodes_json(
    server: FakeApiServer, client: ClusterClient
) -> None:
    server.on("GET", "/api/v1/namespaces/a", json_handler({"kind": "Namespace"}))
    assert await client.request("GET", "/api/v1/namespaces/a") == {"kind": "Namespace"}
    assert server.received[0].headers["Authorization"] == "Bearer s3cret"
    assert client.host == server.url


async def test_query_and_body_encoding(server: FakeApiServer, client: ClusterClient) -> None:
    server.on("PATCH", "/api/v1/namespaces/a", json_handler({}))
    await client.request(
        "PATCH",
        "/api/v1/namespaces/a",
        query={"fieldManager": "catalyst", "force": True},
        body={"kind": "Namespace"},
        content_type="application/apply-patch+yaml",
    )
    request = server.received[0]
    assert dict(request.query) == {"fieldManager": "catalyst", "force": "true"}
    assert request.headers["Content-Type"] == "application/apply-patch+yaml"
    assert server.bodies[0] == b'{"kind":"Namespace"}'


async def test_status_body_becomes_cluster_error(
    server: FakeApiServer, client: ClusterClient
) -> None:
    with pytest.raises(ClusterError) as caught:
        await client.request("GET", "/api/v1/namespaces/missing")
    assert caught.value.status == 404
    assert caught.value.reason == "NotFound"


async def test_429_with_retry_after_is_retried(
    server: FakeApiServer, client: ClusterClient
) -> None:
    answers = iter([429, 503, 200])

    async def flaky(_: web.Request) -> web.Response:
        status = next(answers)
        body = {"kind": "Status", "reason": "TooManyRequests", "code": status, "message": "slow"}
        return web.json_response(body if status != 200 else {"ok": True}, status=status,
                                 headers={"Retry-After": "1"})  # fmt: skip

    server.on("GET", "/x", flaky)
    slept: list[float] = []

    async def record_sleep(seconds: float) -> None:
        slept.append(seconds)

    client.retry_sleep = record_sleep
    assert await client.request("GET", "/x") == {"ok": True}
    assert slept == [1.0, 1.0]
    assert len(server.received) == 3


async def test_retries_stop_after_the_budget(server: FakeApiServer, client: ClusterClient) -> None:
    throttled = {"kind": "Status", "reason": "TooManyRequests", "code": 429, "message": "slow"}
    server.on("GET", "/x", json_handler(throttled, 429, {"Retry-After": "0"}))
    client.max_retries = 3
    with pytest.raises(ClusterError) as caught:
        await client.request("GET", "/x")
    assert caught.value.status == 429
    assert len(server.received) == 4  # the first try and 3 retries


async def test_503_without_retry_after_fails_at_once(
    server: FakeApiServer, client: ClusterClient
) -> None:
    server.on("GET", "/x", json_handler({"kind": "Status", "code": 503, "message": "down"}, 503))
    with pytest.raises(ClusterError) as caught:
        await client.request("GET", "/x")
    assert caught.value.status == 503
    assert len(server.received) == 1


async def test_watches_skip_the_rate_limiter(server: FakeApiServer, tmp_path: Path) -> None:
    server.on("GET", "/api/v1/pods", json_handler({}))
    async with await ClusterClient.from_kubeconfig(
        server.write_kubeconfig(tmp_path), qps=0.001, burst=1
    ) as cc:
        await cc.request("GET", "/api/v1/pods")  # takes the only token
        for _ in range(3):
            async with cc.stream("GET", "/api/v1/pods", query={"watch": True}) as response:
                assert response.status == 200
        # A non-watch request now has to wait ~1000 s for a token.
        assert cc.rate_limiter.reserve() > 100


async def test_requests_pass_the_rate_limiter(server: FakeApiServer, client: ClusterClient) -> None:
    server.on("GET", "/x", json_handler({}))
    now = [0.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    client.rate_limiter = TokenBucket(4, 2, clock=lambda: now[0], sleep=fake_sleep)
    for _ in range(4):
        await client.request("GET", "/x")
    assert slept == [pytest.approx(0.25), pytest.approx(0.25)]
    assert len(server.received) == 4


async def test_discovery_is_cached_and_refreshed_on_miss(
    server: FakeApiServer, client: ClusterClient
) -> None:
    lists = iter(
        [
            {"resources": [{"name": "widgets", "kind": "Widget", "namespaced": True}]},
            {"resources": [{"name": "widgets", "kind": "Widget", "namespaced": True},
                           {"name": "gadgets", "kind": "Gadget", "namespaced": False}]},
        ]
    )  # fmt: skip

    async def discovery(_: web.Request) -> web.Response:
        return web.json_response(next(lists))

    server.on("GET", "/apis/example.com/v1", discovery)
    widget = await client.resource_for("example.com/v1", "Widget")
    assert (widget.plural, widget.namespaced, widget.group) == ("widgets", True, "example.com")
    await client.resource_for("example.com/v1", "Widget")
    assert len(server.received) == 1  # cached
    gadget = await client.resource_for("example.com/v1", "Gadget")
    assert (gadget.plural, gadget.namespaced) == ("gadgets", False)
    assert len(server.received) == 2  # refreshed once on the miss
    with pytest.raises(UnknownResourceError):
        await client.resource_for("nothere.io/v1", "Thing")


async def test_connection_refused_is_a_connection_error(
    server: FakeApiServer, tmp_path: Path
) -> None:
    kubeconfig = server.write_kubeconfig(tmp_path)
    await server.stop()
    async with await ClusterClient.from_kubeconfig(kubeconfig) as cc:
        with pytest.raises(ClusterConnectionError):
            await cc.request("GET", "/version")


async def test_unknown_context_is_a_config_error(server: FakeApiServer, tmp_path: Path) -> None:
    with pytest.raises(ClusterConfigError, match="nope"):
        await ClusterClient.from_kubeconfig(server.write_kubeconfig(tmp_path), context="nope")


async def test_missing_kubeconfig_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ClusterConfigError, match="does not exist"):
        await ClusterClient.from_kubeconfig(tmp_path / "nope")


async def test_in_cluster_outside_a_cluster_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ClusterConfigError):
        await ClusterClient.in_cluster()
