"""ClusterClient rides out kubesim's APF-style throttling (429 + Retry-After)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from catalyst.cluster.client import ClusterClient


def throttled_gets() -> float:
    value = REGISTRY.get_sample_value("catalyst_kube_api_throttled_total", {"method": "GET"})
    return value or 0.0


@pytest.fixture
async def throttled(cluster: ClusterClient) -> AsyncIterator[ClusterClient]:
    await cluster.request("POST", "/kubesim/throttle", body={"qps": 2, "burst": 1})
    yield cluster
    await cluster.request("DELETE", "/kubesim/throttle")


async def test_requests_succeed_through_429_retries(throttled: ClusterClient) -> None:
    waits: list[float] = []
    real_sleep = throttled.retry_sleep

    async def recording_sleep(seconds: float) -> None:
        waits.append(seconds)
        await real_sleep(seconds)

    throttled.retry_sleep = recording_sleep
    seen_before = throttled_gets()
    for _ in range(3):
        body = await throttled.request("GET", "/api/v1/namespaces")
        assert body["kind"] == "NamespaceList"
    stats = await throttled.request("GET", "/kubesim/stats")
    assert stats["throttledRequests"] >= 1
    assert waits
    assert set(waits) == {1.0}  # kubesim answers Retry-After: 1
    # every 429 is counted for /metrics, including the ones the client retried through
    assert throttled_gets() - seen_before == len(waits)
