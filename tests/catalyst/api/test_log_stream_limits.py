"""Log streams cannot exhaust the service (issue 8, part 2): a real Catalyst over HTTP.

A log stream for a container that never appears holds cluster connections until its wait
timeout. These tests open such streams the way a careless or hostile client would and
check that what everything else needs keeps working: readiness, ``?latestStatus=1`` and
the leader's Lease renewals (so the watcher and the reaper keep running).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst.cluster import ClusterClient
from tests.support.live import LiveCatalyst, live_catalyst
from tests.support.waiting import eventually

WAIT = 30.0
NEVER = "mediawiki/never-appears"
BODY = {"name": "wiki-limits", "chartName": "mediawiki", "values": {}}
# Short Lease timings: a leader that cannot renew steps down within 3 s.
LEASE: dict[str, Any] = {
    "lease_duration": 4.0,
    "lease_renew_deadline": 3.0,
    "lease_retry_period": 0.5,
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"ApiToken {token}"}


@dataclass
class HeldStream:
    """A log stream kept open (and read) by a task until it ends or is cancelled."""

    status: asyncio.Future[int]
    body: asyncio.Future[bytes]
    task: asyncio.Task[None]

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        for future in (self.status, self.body):
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()  # retrieved: a failure was already asserted on, or moot


def hold_stream(
    client: httpx.AsyncClient, env_id: int, token: str, stream: str = NEVER
) -> HeldStream:
    loop = asyncio.get_running_loop()
    status: asyncio.Future[int] = loop.create_future()
    body: asyncio.Future[bytes] = loop.create_future()

    async def run() -> None:
        received = b""
        try:
            async with client.stream(
                "GET",
                f"/api/environments/{env_id}/logs",
                params={"stream": stream},
                headers=auth(token),
            ) as response:
                status.set_result(response.status_code)
                async for chunk in response.aiter_raw():
                    received += chunk
            body.set_result(received)
        except Exception as exc:
            for future in (status, body):
                if not future.done():
                    future.set_exception(exc)
            raise

    return HeldStream(status, body, asyncio.create_task(run()))


async def status_of(held: HeldStream) -> int:
    return await asyncio.wait_for(asyncio.shield(held.status), WAIT)


@pytest.fixture
async def client_factory() -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def make(live: LiveCatalyst) -> httpx.AsyncClient:
        # No client-side connection limit: every stream gets its own connection.
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        client = httpx.AsyncClient(base_url=live.url, timeout=WAIT, limits=limits)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def create_environment(client: httpx.AsyncClient, token: str, name: str) -> int:
    response = await client.post(
        "/api/environments", json={**BODY, "name": name}, headers=auth(token)
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def watches(live: LiveCatalyst, resource: str) -> int:
    assert live.catalyst.kubesim is not None
    return live.catalyst.kubesim.hub.watchers_by_resource().get(resource, 0)


async def lease_renew_time(cluster: ClusterClient) -> str:
    lease = await cluster.request(
        "GET", "/apis/coordination.k8s.io/v1/namespaces/default/leases/catalyst-leader"
    )
    return str(lease["spec"]["renewTime"])


async def test_a_hundred_waiting_streams_leave_readiness_latest_status_and_the_lease_alone(
    tmp_path: Path, client_factory: Any
) -> None:
    streams = 100
    async with (
        live_catalyst(
            tmp_path / "data",
            max_log_streams=streams,
            max_log_streams_per_token=streams,
            log_wait_timeout=300.0,
            **LEASE,
        ) as live,
    ):
        client = client_factory(live)
        env_id = await create_environment(client, live.alice_token, "wiki-hundred")

        async def leading() -> bool:
            return live.catalyst.elector is not None and live.catalyst.elector.is_leader

        await eventually(leading, "the replica to lead", within=WAIT)
        pod_watches = watches(live, "pods")
        held = [hold_stream(client, env_id, live.alice_token) for _ in range(streams)]
        try:
            assert {await status_of(h) for h in held} == {200}

            async def most_streams_wait_with_a_pod_watch() -> bool:
                # 80: enough to take the 100 connections of a pool shared with the
                # watcher's informers, which is what happened before the fix.
                return watches(live, "pods") >= pod_watches + 80

            await eventually(
                most_streams_wait_with_a_pod_watch, "80 streams to watch for pods", within=60.0
            )

            ready = await client.get("/readyz", timeout=10.0)
            assert ready.status_code == 200, ready.text
            latest = await client.get(
                f"/api/environments/{env_id}",
                params={"latestStatus": "1"},
                headers=auth(live.alice_token),
                timeout=10.0,
            )
            assert latest.status_code == 200, latest.text

            assert live.catalyst.kubeconfig is not None
            async with await ClusterClient.from_kubeconfig(live.catalyst.kubeconfig) as cluster:
                seen = [await lease_renew_time(cluster)]

                async def renewed() -> bool:
                    now = await lease_renew_time(cluster)
                    if now != seen[-1]:
                        seen.append(now)
                    return len(seen) >= 3

                await eventually(renewed, "two Lease renewals", within=10.0, interval=0.1)
            assert await leading()
            assert live.catalyst.duties is not None
            assert live.catalyst.duties.sync is not None  # the watcher still runs

            async def all_streams_wait_with_a_pod_watch() -> bool:
                return watches(live, "pods") >= pod_watches + streams

            await eventually(
                all_streams_wait_with_a_pod_watch, "every stream to watch for pods", within=WAIT
            )
        finally:
            await asyncio.gather(*(h.close() for h in held))


async def test_streams_beyond_the_limits_get_429_in_the_error_shape(
    tmp_path: Path, client_factory: Any
) -> None:
    async with live_catalyst(
        tmp_path / "data", max_log_streams=3, max_log_streams_per_token=2, log_wait_timeout=300.0
    ) as live:
        client = client_factory(live)
        alice_env = await create_environment(client, live.alice_token, "wiki-alice")
        bob_env = await create_environment(client, live.bob_token, "wiki-bob")
        held = [hold_stream(client, alice_env, live.alice_token) for _ in range(2)]
        try:
            assert [await status_of(h) for h in held] == [200, 200]

            third = hold_stream(client, alice_env, live.alice_token)
            held.append(third)
            assert await status_of(third) == 429
            error = httpx.Response(429, content=await asyncio.wait_for(third.body, WAIT)).json()
            assert set(error) == {"statusCode", "statusText", "details"}
            assert error["statusText"] == "Too Many Requests"
            assert "2 open log streams" in error["details"][0]

            held.append(hold_stream(client, bob_env, live.bob_token))
            assert await status_of(held[-1]) == 200  # bob has his own allowance ...
            held.append(hold_stream(client, bob_env, live.bob_token))
            assert await status_of(held[-1]) == 429  # ... but the replica is full

            await held[0].close()  # a client that goes away frees its stream

            async def accepted_again() -> bool:
                attempt = hold_stream(client, bob_env, live.bob_token)
                held.append(attempt)
                return await status_of(attempt) == 200

            await eventually(accepted_again, "a stream to be accepted again", within=WAIT)

            too_long = await client.get(
                f"/api/environments/{alice_env}/logs",
                params={"stream": f"mediawiki/{'c' * 64}"},
                headers=auth(live.alice_token),
            )
            assert too_long.status_code == 400
        finally:
            await asyncio.gather(*(h.close() for h in held))


async def test_a_waiting_stream_ends_when_its_environment_is_deleted(
    tmp_path: Path, client_factory: Any
) -> None:
    async with live_catalyst(tmp_path / "data", log_wait_timeout=300.0) as live:
        client = client_factory(live)
        env_id = await create_environment(client, live.alice_token, "wiki-deleted")
        held = hold_stream(client, env_id, live.alice_token)
        try:
            assert await status_of(held) == 200
            deleted = await client.delete(
                f"/api/environments/{env_id}", headers=auth(live.alice_token)
            )
            assert deleted.status_code == 202
            # The stream ends (heartbeats only: the container never started) long before
            # its 300 s wait timeout.
            body = await asyncio.wait_for(asyncio.shield(held.body), WAIT)
            assert b"data:" not in body
            again = hold_stream(client, env_id, live.alice_token)
            assert await status_of(again) in (404, 409)
            await again.close()
        finally:
            await held.close()
