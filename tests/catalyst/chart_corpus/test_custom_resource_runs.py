"""A chart whose objects include a custom resource reaches `running` on the embedded kubesim.

The test installs the CustomResourceDefinition itself (as an operator's install would),
then creates an environment from the ``generic-kind`` chart with one custom resource in
its ``customResources`` value. Catalyst resolves the new kind through discovery, applies
it, watches it with an informer of its own and judges it by kstatus's generic rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from tests.catalyst.api.live import LiveCatalyst, live_catalyst
from tests.catalyst.watcher_faults.helpers import eventually, latest_status, wait_for_status
from tests.catalyst.watcher_faults.live_cluster import FAST_WATCHER

CHARTS = Path(__file__).parents[2] / "fixtures" / "charts"
WAIT = 60.0
CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}
WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "gear"}}


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveCatalyst]:
    charts_dir = tmp_path / "charts"
    charts_dir.mkdir()
    (charts_dir / "generic-kind").symlink_to(CHARTS / "generic-kind")
    async with live_catalyst(
        tmp_path / "data", charts_dir=str(charts_dir), **FAST_WATCHER
    ) as running:
        yield running


async def test_a_chart_with_a_custom_resource_runs(live: LiveCatalyst) -> None:
    kubesim = live.catalyst.kubesim
    assert kubesim is not None
    async with (
        aiohttp.ClientSession(base_url=kubesim.url) as kube,
        kube.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=CRD) as resp,
    ):
        assert resp.status == 201, await resp.text()

    headers = {"Authorization": f"ApiToken {live.admin_token}"}
    async with httpx.AsyncClient(base_url=live.url, headers=headers, timeout=30) as api:
        body = {
            "name": "widgets",
            "chartName": "generic-kind",
            "values": {"customResources": [{**WIDGET, "spec": {"teeth": 12}}]},
        }
        response = await api.post("/api/environments", json=body)
        assert response.status_code == 201, response.text
        env_id: int = response.json()["id"]
        listed = await wait_for_status(api, env_id, "running", WAIT)
        assert listed["failureKind"] is None, listed
        assert (await latest_status(api, env_id))["status"] == "running"

        duties = live.catalyst.duties
        assert duties is not None
        assert duties.sync is not None
        cache = duties.sync.cache

        async def watching_widgets() -> bool:
            return ("example.com/v1", "Widget") in cache.informers

        await eventually(watching_widgets, "an informer for the custom resource", WAIT)

        namespace = f"env-{env_id}"
        path = f"/apis/example.com/v1/namespaces/{namespace}/widgets/gear"
        async with (
            aiohttp.ClientSession(base_url=kubesim.url) as kube,
            kube.get(path) as resp,
        ):
            assert resp.status == 200, await resp.text()
            stored = await resp.json()
        assert stored["spec"] == {"teeth": 12}

        response = await api.delete(f"/api/environments/{env_id}")
        assert response.status_code in (202, 204), response.text

        async def gone() -> bool:
            return (await api.get(f"/api/environments/{env_id}")).status_code == 404

        await eventually(gone, f"environment {env_id} to be deleted", WAIT)
