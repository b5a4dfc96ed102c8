"""The watcher inside a running Catalyst: statuses arrive by push, lists never ask the
cluster. Real service, real SQLite, embedded kubesim over real HTTP."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst.store.environments import EnvironmentRepository
from tests.support.live import LiveCatalyst, live_catalyst
from tests.support.patchdemo import EXAMPLE_BODY
from tests.support.waiting import eventually

FAST_WATCHER: dict[str, Any] = {
    "watcher_poll_seconds": 0.2,
    "watcher_heartbeat_seconds": 0.2,
    "lease_duration": 3.0,
    "lease_renew_deadline": 2.0,
    "lease_retry_period": 0.3,
}
WAIT = 60.0
POLL = 0.1


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveCatalyst]:
    async with live_catalyst(tmp_path / "data", **FAST_WATCHER) as running:
        yield running


@pytest.fixture
async def api(live: LiveCatalyst) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"ApiToken {live.admin_token}"}
    async with httpx.AsyncClient(base_url=live.url, headers=headers, timeout=30) as client:
        yield client


async def listed_status(api: httpx.AsyncClient, env_id: int) -> str | None:
    response = await api.get("/api/environments")
    assert response.status_code == 200
    return {e["id"]: e["status"] for e in response.json()}.get(env_id)


def without_lease_renewals(stats: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Request counts minus the leader's Lease renewals, which run on their own clock."""
    return {
        verb: {r: n for r, n in by_resource.items() if not r.startswith("leases.")}
        for verb, by_resource in stats.items()
    }


def body(name: str, **values: Any) -> dict[str, Any]:
    created = copy.deepcopy(EXAMPLE_BODY)
    created["name"] = name
    created["values"].update(values)
    return created


async def test_an_environment_becomes_running_without_anyone_asking_the_cluster(
    live: LiveCatalyst, api: httpx.AsyncClient
) -> None:
    created = await api.post("/api/environments", json=body("pushed"))
    assert created.status_code == 201
    env_id = created.json()["id"]

    async def running() -> bool:
        return await listed_status(api, env_id) == "running"

    await eventually(running, "the watcher to report running", within=WAIT, interval=POLL)
    assert live.catalyst.database is not None
    history = await EnvironmentRepository(live.catalyst.database).list_status_changes(env_id)
    assert [(c.to_status, c.source) for c in history][-1] == ("running", "watcher")


async def test_listing_makes_zero_cluster_requests_whatever_the_query(
    live: LiveCatalyst, api: httpx.AsyncClient
) -> None:
    created = await api.post("/api/environments", json=body("quiet"))
    env_id = created.json()["id"]

    async def running() -> bool:
        return await listed_status(api, env_id) == "running"

    await eventually(running, "the environment to run", within=WAIT, interval=POLL)
    kubesim = live.catalyst.kubesim
    assert kubesim is not None
    before = without_lease_renewals(kubesim.faults.request_stats())
    assert sum(n for by_resource in before.values() for n in by_resource.values()) > 0
    for query in ({}, {"latestStatus": "1"}, {"latestStatus": "true"}, {"unknown": "x"}):
        for _ in range(5):
            response = await api.get("/api/environments", params=query)
            assert response.status_code == 200
            assert env_id in [e["id"] for e in response.json()]
    assert without_lease_renewals(kubesim.faults.request_stats()) == before


async def test_an_outage_keeps_the_last_statuses_and_marks_them_stale(
    tmp_path: Path,
) -> None:
    settings = {**FAST_WATCHER, "status_stale_timeout": 1.0, "reaper_interval_seconds": 0.2}
    async with live_catalyst(tmp_path / "data", **settings) as live:
        headers = {"Authorization": f"ApiToken {live.admin_token}"}
        async with httpx.AsyncClient(base_url=live.url, headers=headers, timeout=30) as api:
            env_id = (await api.post("/api/environments", json=body("outage"))).json()["id"]

            async def running_and_fresh() -> bool:
                item = (await api.get(f"/api/environments/{env_id}")).json()
                return bool(item["status"] == "running" and item["stale"] is False)

            await eventually(
                running_and_fresh, "running with fresh data", within=WAIT, interval=POLL
            )
            kubesim = live.catalyst.kubesim
            assert kubesim is not None
            kubesim.faults.pause()
            try:

                async def stale_everywhere() -> bool:
                    listed = (await api.get("/api/environments")).json()
                    one = (await api.get(f"/api/environments/{env_id}")).json()
                    return bool(listed[0]["stale"] and one["stale"])

                await eventually(
                    stale_everywhere, "the statuses to be marked stale", within=WAIT, interval=POLL
                )
                listed = (await api.get("/api/environments")).json()
                assert [(e["id"], e["status"]) for e in listed] == [(env_id, "running")]
            finally:
                kubesim.faults.resume()
            await eventually(
                running_and_fresh, "fresh data after the outage", within=WAIT, interval=POLL
            )
