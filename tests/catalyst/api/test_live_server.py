"""The API over real HTTP (uvicorn) around the real use cases, database and kubesim."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from catalyst.app import Catalyst
from catalyst.cluster import ClusterConfigError
from catalyst.config import Settings
from tests.support.live import LiveCatalyst, live_catalyst

WAIT = 30.0
BODY = {
    "name": "wiki-live",
    "chartName": "mediawiki",
    "values": {"mediawikiCore": {"password": "patchdemo1", "patches": []}},
}


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveCatalyst]:
    async with live_catalyst(tmp_path / "data") as live:
        yield live


def auth(token: str, scheme: str = "ApiToken") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


@pytest.fixture
async def client(live: LiveCatalyst) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.url, timeout=WAIT) as c:
        yield c


async def test_tokens_from_the_database_authenticate(
    live: LiveCatalyst, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/api/charts", headers=auth(live.admin_token))).status_code == 200
    legacy = await client.get("/api/charts", headers=auth(live.alice_token, "ApiKey"))
    assert legacy.status_code == 200
    wrong = await client.get("/api/charts", headers=auth(live.admin_token + "x"))
    assert wrong.status_code == 401
    assert wrong.json()["statusCode"] == 401


async def test_owner_isolation_over_http(live: LiveCatalyst, client: httpx.AsyncClient) -> None:
    created = await client.post("/api/environments", json=BODY, headers=auth(live.alice_token))
    assert created.status_code == 201
    env_id = created.json()["id"]
    bob = auth(live.bob_token)
    assert (await client.get("/api/environments", headers=bob)).json() == []
    assert (await client.get(f"/api/environments/{env_id}", headers=bob)).status_code == 404
    assert (await client.delete(f"/api/environments/{env_id}", headers=bob)).status_code == 404
    alice_list = (await client.get("/api/environments", headers=auth(live.alice_token))).json()
    assert [e["id"] for e in alice_list] == [env_id]


async def test_chunked_body_over_limit_is_413_over_http(
    live: LiveCatalyst, client: httpx.AsyncClient
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 65536  # 1.25 MiB in total, no Content-Length

    response = await client.post(
        "/api/environments",
        content=chunks(),
        headers={**auth(live.admin_token), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["statusCode"] == 413


async def test_latest_status_reads_the_cluster_and_lists_resources(
    live: LiveCatalyst, client: httpx.AsyncClient
) -> None:
    headers = auth(live.admin_token)
    env_id = (await client.post("/api/environments", json=BODY, headers=headers)).json()["id"]
    plain = (await client.get(f"/api/environments/{env_id}", headers=headers)).json()
    assert "resources" not in plain

    async def observed() -> dict[str, object]:
        response = await client.get(
            f"/api/environments/{env_id}", params={"latestStatus": "1"}, headers=headers
        )
        assert response.status_code == 200
        return dict(response.json())

    async with asyncio.timeout(WAIT):
        while True:
            body = await observed()
            if body["status"] == "running":
                break
            await asyncio.sleep(0.25)
    kinds = {r["kind"] for r in body["resources"]}  # type: ignore[attr-defined]
    assert {"Deployment", "StatefulSet", "Job"} <= kinds
    assert body["failureKind"] is None
    assert body["values"] == {"mediawikiCore": {"password": "***", "patches": []}}


async def test_log_stream_sends_heartbeats_and_ends_with_the_container(
    live: LiveCatalyst, client: httpx.AsyncClient
) -> None:
    headers = auth(live.admin_token)
    env_id = (await client.post("/api/environments", json=BODY, headers=headers)).json()["id"]
    comments = 0
    logs: list[str] = []
    async with (
        asyncio.timeout(WAIT),
        client.stream(
            "GET",
            f"/api/environments/{env_id}/logs",
            params={"stream": "mediawiki/install-mediawiki"},
            headers=headers,
        ) as response,
    ):
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith(":"):
                comments += 1
            elif line.startswith("data:"):
                logs.extend(e["log"] for e in json.loads(line[5:])["logs"])
    assert comments >= 1  # 0.2 s heartbeat, several seconds of install
    assert any("Installing Wiki" in line for line in logs)


async def test_log_stream_of_unknown_environment_is_404_error_shape(
    live: LiveCatalyst, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        "/api/environments/9999/logs",
        params={"stream": "mediawiki/install-mediawiki"},
        headers=auth(live.admin_token),
    )
    assert response.status_code == 404
    assert set(response.json()) == {"statusCode", "statusText", "details"}


async def test_readiness_checks_database_and_cluster(
    live: LiveCatalyst, client: httpx.AsyncClient
) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "cluster"}
    assert live.catalyst.kubesim is not None
    await live.catalyst.kubesim.stop()
    down = await client.get("/readyz")
    assert down.status_code == 503
    assert down.json()["details"] == ["cluster: not reachable"]


async def test_refresh_rebuilds_and_checks_name_and_chart(
    live: LiveCatalyst, client: httpx.AsyncClient
) -> None:
    headers = auth(live.admin_token)
    env_id = (await client.post("/api/environments", json=BODY, headers=headers)).json()["id"]
    path = f"/api/environments/{env_id}/refresh"

    wrong_name = await client.post(path, json={**BODY, "name": "other"}, headers=headers)
    assert wrong_name.status_code == 422
    assert wrong_name.json()["details"][0].startswith("name:")
    wrong_chart = await client.post(path, json={**BODY, "chartName": "x"}, headers=headers)
    assert wrong_chart.status_code == 422
    unknown = await client.post("/api/environments/9999/refresh", json=BODY, headers=headers)
    assert unknown.status_code == 404

    rebuilt = await client.post(path, json={"values": []}, headers=headers)
    assert rebuilt.status_code == 202
    assert (rebuilt.json()["status"], rebuilt.json()["statusReason"]) == (
        "starting",
        "RebuildRequested",
    )
    assert rebuilt.json()["values"] == {}


async def test_delete_twice_then_404(live: LiveCatalyst, client: httpx.AsyncClient) -> None:
    headers = auth(live.admin_token)
    env_id = (await client.post("/api/environments", json=BODY, headers=headers)).json()["id"]
    first = await client.delete(f"/api/environments/{env_id}", headers=headers)
    second = await client.delete(f"/api/environments/{env_id}", headers=headers)
    assert (first.status_code, first.json()["status"]) == (202, "deleting")
    assert second.status_code in (202, 404)  # 404 once the namespace is already gone
    async with asyncio.timeout(WAIT):
        while True:
            response = await client.get(f"/api/environments/{env_id}", headers=headers)
            if response.status_code == 404:
                break
            await asyncio.sleep(0.1)
    assert (await client.delete(f"/api/environments/{env_id}", headers=headers)).status_code == 404
    listing = await client.get("/api/environments", headers=headers)
    assert listing.json() == []


async def test_listing_never_contacts_the_cluster(
    live: LiveCatalyst, client: httpx.AsyncClient
) -> None:
    headers = auth(live.admin_token)
    env_id = (await client.post("/api/environments", json=BODY, headers=headers)).json()["id"]
    assert live.catalyst.kubesim is not None
    await live.catalyst.kubesim.stop()  # the cluster is gone

    listing = await client.get("/api/environments", params={"latestStatus": 1}, headers=headers)
    assert listing.status_code == 200
    assert [e["id"] for e in listing.json()] == [env_id]
    one = await client.get(f"/api/environments/{env_id}", headers=headers)
    assert one.status_code == 200
    live_read = await client.get(
        f"/api/environments/{env_id}", params={"latestStatus": "true"}, headers=headers
    )
    assert live_read.status_code == 503  # the fallback needs the cluster
    assert live_read.json()["details"][0].startswith("cluster: not reachable")


async def test_declared_body_over_one_mib_is_413(
    live: LiveCatalyst, client: httpx.AsyncClient
) -> None:
    body = json.dumps({**BODY, "values": {"blob": "x" * (1024 * 1024)}}).encode()
    response = await client.post(
        "/api/environments",
        content=body,
        headers={**auth(live.admin_token), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["statusText"] == "Request Entity Too Large"
    # The connection stays usable: the rest of the body was drained, not left unread.
    assert (await client.get("/healthz")).status_code == 200


async def test_failed_start_stops_what_it_started(tmp_path: Path) -> None:
    catalyst = Catalyst(Settings(data_dir=tmp_path, kubeconfig=str(tmp_path / "missing")))
    with pytest.raises(ClusterConfigError):
        await catalyst.start()
    assert catalyst.database is not None
    with pytest.raises(RuntimeError, match="not started"):
        _ = catalyst.app
    await catalyst.stop()  # harmless after a failed start
