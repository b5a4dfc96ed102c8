"""Connection pools per purpose: a pool held by long requests never blocks another pool."""

from __future__ import annotations

import asyncio

import pytest

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.errors import ClusterConnectionError

WAIT = 15.0
NAMESPACE_WATCH = {"watch": True, "timeoutSeconds": 60}


async def test_a_pool_full_of_watches_leaves_a_separate_pool_alone(cluster: ClusterClient) -> None:
    async with cluster.with_own_pool(max_connections=2, request_timeout=0.2) as logs:
        assert logs.max_connections == 2
        assert logs.rate_limiter is not cluster.rate_limiter
        async with (
            logs.stream("GET", "/api/v1/namespaces", query=NAMESPACE_WATCH),
            logs.stream("GET", "/api/v1/namespaces", query=NAMESPACE_WATCH),
        ):
            # The full pool refuses more work once its connect timeout runs out ...
            with pytest.raises(ClusterConnectionError):
                await asyncio.wait_for(logs.request("GET", "/version"), WAIT)
            # ... while the other pool answers at once.
            version = await asyncio.wait_for(cluster.request("GET", "/version"), WAIT)
            assert version["gitVersion"]
        # Released connections serve the pool again.
        assert await asyncio.wait_for(logs.request("GET", "/version"), WAIT)


async def test_closing_a_pool_leaves_the_one_it_came_from_open(cluster: ClusterClient) -> None:
    other = cluster.with_own_pool(max_connections=1)
    await other.close()
    assert await asyncio.wait_for(cluster.request("GET", "/version"), WAIT)
    with pytest.raises(RuntimeError, match="closed"):
        await other.request("GET", "/version")
