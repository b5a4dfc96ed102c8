"""Catalyst end to end on realkube: ``catalyst serve`` (SQLite) pointed at the session's real
API server through ``CATALYST_KUBECONFIG``, driven over HTTP like Patchdemo does.

One conversation (environment ids, and so namespaces ``env-<id>``, restart with each fresh
database, so it stays in one test): create the mediawiki environment, follow its install log
(kwok's logs through ``pods/log``) to its end, see it ``running``; create a second one whose
pods exit with an error (``sim.kubesim.io/fail: ExitError``) and see it ``failed`` as a
creation failure with the 3-day expiry; delete both and see their namespaces gone. Every
wait is bounded; polls are of Catalyst's API, which has no change feed to await here.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.catalyst_serve import catalyst_serve, create_token, follow_install_log
from tests.support.patchdemo import PATCHDEMO_REQUEST
from tests.support.realkube_thread import RealKubeThread
from tests.support.waiting import bounded, eventually

pytestmark = pytest.mark.slow

STEP_TIMEOUT = 120.0
POLL_INTERVAL = 0.25
EXPIRY = timedelta(days=3)


@pytest.fixture
def environment(realkube: RealKubeThread, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("CATALYST_")]:
        del env[key]
    env.update(
        CATALYST_DATA_DIR=str(tmp_path / "data"),
        CATALYST_KUBECONFIG=str(realkube.kubeconfig),
        CATALYST_SSE_HEARTBEAT_SECONDS="1",
        CATALYST_LOG_LEVEL="INFO",
    )
    return env


@pytest.fixture
async def server(environment: dict[str, str], tmp_path: Path) -> AsyncIterator[str]:
    """``catalyst serve`` on a free port against realkube; SIGTERMed at the end."""
    async with catalyst_serve(environment, tmp_path / "serve.log") as url:
        yield url


async def test_catalyst_on_realkube(
    realkube: RealKubeThread, environment: dict[str, str], server: str
) -> None:
    token = await create_token(environment)
    headers = {"Authorization": f"ApiToken {token}"}
    async with httpx.AsyncClient(base_url=server, headers=headers, timeout=30.0) as client:
        assert (await client.get("/readyz")).status_code == 200

        created = await client.post("/api/environments", json=PATCHDEMO_REQUEST)
        assert created.status_code == 201, created.text
        wiki = created.json()["id"]

        lines = await bounded(
            follow_install_log(client, wiki), "the install log to end", within=STEP_TIMEOUT
        )
        text = "\n".join(lines)
        for marker in ("Preparing worktree", "composer install", "apt-get install -y npm"):
            assert marker in text, text
        assert "Installing Wiki" in text

        async def status_of(env_id: int) -> dict[str, object]:
            response = await client.get(f"/api/environments/{env_id}")
            assert response.status_code == 200
            return dict(response.json())

        async def running() -> bool:
            return (await status_of(wiki))["status"] == "running"

        await eventually(
            running, "running after create", within=STEP_TIMEOUT, interval=POLL_INTERVAL
        )
        assert (await status_of(wiki))["expiresAt"] is None

        broken_body = json.loads(json.dumps(PATCHDEMO_REQUEST))
        broken_body["name"] = "wiki-broken"
        broken_body["values"]["podAnnotations"] = {"sim.kubesim.io/fail": "ExitError"}
        created = await client.post("/api/environments", json=broken_body)
        assert created.status_code == 201, created.text
        broken = created.json()["id"]

        async def failed() -> bool:
            return (await status_of(broken))["status"] == "failed"

        await eventually(
            failed,
            "failed after a creation failure",
            within=STEP_TIMEOUT,
            interval=POLL_INTERVAL,
        )
        record = await status_of(broken)
        assert record["failureKind"] == "creation", record
        assert isinstance(record["expiresAt"], str)
        expires = datetime.fromisoformat(record["expiresAt"].replace("Z", "+00:00"))
        now = datetime.now(UTC)
        assert now + EXPIRY - timedelta(minutes=10) < expires <= now + EXPIRY + timedelta(minutes=1)

        for env_id in (wiki, broken):
            deleted = await client.delete(f"/api/environments/{env_id}")
            assert deleted.status_code == 202, deleted.text

        for env_id in (wiki, broken):

            async def gone(env_id: int = env_id) -> bool:
                return (await client.get(f"/api/environments/{env_id}")).status_code == 404

            await eventually(
                gone, f"environment {env_id} gone", within=STEP_TIMEOUT, interval=POLL_INTERVAL
            )
            assert not await realkube.namespace_exists(f"env-{env_id}")
