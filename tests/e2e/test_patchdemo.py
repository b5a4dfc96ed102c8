"""Patchdemo's whole conversation with Catalyst, against ``catalyst serve`` running as a real
subprocess on SQLite and the bundled charts: on both clusters (`tests.support.clusters`), its
embedded kubesim, and the session's realkube (``CATALYST_KUBECONFIG``, the Lease in a
namespace of the test's own, environment ids no other test uses).

Token via the CLI → chart defaults → create (the contract's example body) → follow the
install log over SSE until the job ends → poll ``?latestStatus=1`` until running → find it in
the list → rebuild with another patch list → delete (deleting, then 404) → SIGTERM shuts the
server down cleanly. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from catalyst.store.database import Database, sqlite_url_for
from tests.support.catalyst_serve import (
    STEP_TIMEOUT,
    catalyst_serve,
    create_token,
    follow_install_log,
)
from tests.support.clusters import BOTH_CLUSTERS_FOR_CATALYST, KubeCluster, start_environment_ids_at
from tests.support.patchdemo import EXAMPLE_BODY
from tests.support.waiting import bounded, eventually

pytestmark = pytest.mark.slow

POLL_INTERVAL = 0.25


@pytest.fixture
async def environment(tmp_path: Path, catalyst_cluster: KubeCluster | None) -> dict[str, str]:
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("CATALYST_")]:
        del env[key]
    data_dir = tmp_path / "data"
    env.update(
        CATALYST_DATA_DIR=str(data_dir),
        CATALYST_SSE_HEARTBEAT_SECONDS="1",
        CATALYST_LOG_LEVEL="INFO",
    )
    if catalyst_cluster is not None:
        env.update(
            CATALYST_KUBECONFIG=str(catalyst_cluster.kubeconfig_path),
            CATALYST_LEASE_NAMESPACE=await catalyst_cluster.new_namespace("lease"),
        )
        first_id = catalyst_cluster.environment_id_block()
        assert first_id is not None
        # The database catalyst serve will open (DATA_DIR/catalyst.db), ids set aside.
        data_dir.mkdir(parents=True)
        database = Database(sqlite_url_for(data_dir))
        await database.connect()
        try:
            await start_environment_ids_at(database, first_id)
        finally:
            await database.close()
    return env


@pytest.fixture
async def server(environment: dict[str, str], tmp_path: Path) -> AsyncIterator[str]:
    """``catalyst serve`` on a free port; yields its base URL, then SIGTERMs it."""
    async with catalyst_serve(environment, tmp_path / "serve.log") as url:
        yield url


@BOTH_CLUSTERS_FOR_CATALYST
async def test_patchdemo_conversation(environment: dict[str, str], server: str) -> None:
    token = await create_token(environment)
    headers = {"Authorization": f"ApiToken {token}"}
    async with httpx.AsyncClient(base_url=server, headers=headers, timeout=30.0) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200

        chart = (await client.get("/api/charts/mediawiki")).json()
        for component in ("extensions", "skins", "otherModules"):
            assert isinstance(chart["defaultValues"][component], dict)
        assert "Echo" in chart["defaultValues"]["extensions"]

        created = await client.post("/api/environments", json=EXAMPLE_BODY)
        assert created.status_code == 201, created.text
        env = created.json()
        env_id = env["id"]
        assert isinstance(env_id, int)
        assert env["status"] == "starting"
        assert env["values"]["mediawikiCore"]["password"] == "***"

        lines = await bounded(
            follow_install_log(client, env_id), "the install log to end", within=STEP_TIMEOUT
        )
        text = "\n".join(lines)
        for marker in ("Preparing worktree", "composer install", "apt-get install -y npm"):
            assert marker in text, text
        assert "Installing Wiki" in text

        async def running() -> bool:
            response = await client.get(f"/api/environments/{env_id}", params={"latestStatus": 1})
            assert response.status_code == 200
            return bool(response.json()["status"] == "running")

        await eventually(running, "running after create", within=60.0, interval=POLL_INTERVAL)

        listing = (await client.get("/api/environments", params={"latestStatus": "true"})).json()
        assert {e["id"]: e["status"] for e in listing}[env_id] == "running"

        rebuild_body = json.loads(json.dumps(EXAMPLE_BODY))
        rebuild_body["values"]["mediawikiCore"]["patches"] = [
            {"ref": "refs/changes/67/124467/1", "base": "master", "hash": "f" * 40}
        ]
        rebuilt = await client.post(f"/api/environments/{env_id}/refresh", json=rebuild_body)
        assert rebuilt.status_code == 202, rebuilt.text
        assert rebuilt.json()["status"] == "starting"
        await eventually(running, "running after rebuild", within=60.0, interval=POLL_INTERVAL)

        deleted = await client.delete(f"/api/environments/{env_id}")
        assert deleted.status_code == 202
        assert deleted.json()["status"] == "deleting"
        again = await client.delete(f"/api/environments/{env_id}")
        assert again.status_code in (202, 404)

        async def gone() -> bool:
            return (await client.get(f"/api/environments/{env_id}")).status_code == 404

        await eventually(gone, "404 after delete", within=STEP_TIMEOUT, interval=POLL_INTERVAL)
        listing = (await client.get("/api/environments")).json()
        assert env_id not in [e["id"] for e in listing]
