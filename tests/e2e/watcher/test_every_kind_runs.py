"""Charts using every commonly applied kind reach `running` through the real service path,
and the watcher's informers follow the inventories: one informer per applied kind, started
when the first environment uses it and stopped when none does.

Everything is real: `catalyst serve`'s composition (API, operations, Helm SDK, deployer,
leader duties, watcher) against its embedded kubesim. The charts are under
``tests/fixtures/charts/``. kubesim serves no CustomResourceDefinitions, so the generic rules
are proven here with a kind Catalyst has no rule of its own for (a coordination.k8s.io
Lease); custom resources go through the same code path (domain table tests cover their
conditions).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst.watcher.cluster_cache import BASE_KINDS, ClusterCache
from tests.support.chart_packages import CHARTS
from tests.support.live import LiveCatalyst, live_catalyst
from tests.support.live_api import latest_status, wait_for_status
from tests.support.live_cluster import FAST_WATCHER
from tests.support.waiting import eventually

CORPUS = ("rbac-policy", "autoscaled", "scheduled", "bare-pod", "generic-kind")
WAIT = 60.0

KINDS_OF: dict[str, set[tuple[str, str]]] = {
    "rbac-policy": {
        ("v1", "ServiceAccount"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("policy/v1", "PodDisruptionBudget"),
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("apps/v1", "Deployment"),
    },
    "autoscaled": {("apps/v1", "Deployment"), ("autoscaling/v2", "HorizontalPodAutoscaler")},
    "scheduled": {("v1", "ConfigMap"), ("batch/v1", "CronJob")},
    "bare-pod": {("v1", "Pod")},
    "generic-kind": {("coordination.k8s.io/v1", "Lease")},
}
METADATA_ONLY = {
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("batch/v1", "CronJob"),
}


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveCatalyst]:
    charts_dir = tmp_path / "charts"
    charts_dir.mkdir()
    for chart in CORPUS:
        (charts_dir / chart).symlink_to(CHARTS / chart)
    async with live_catalyst(
        tmp_path / "data", charts_dir=str(charts_dir), **FAST_WATCHER
    ) as running:
        yield running


@pytest.fixture
async def api(live: LiveCatalyst) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"ApiToken {live.admin_token}"}
    async with httpx.AsyncClient(base_url=live.url, headers=headers, timeout=30) as client:
        yield client


async def _cache(live: LiveCatalyst) -> ClusterCache:
    """The leader's cluster cache, once its first full evaluation is done."""

    async def leading() -> bool:
        duties = live.catalyst.duties
        return duties is not None and duties.sync is not None and duties.sync.synced.is_set()

    await eventually(leading, "the watcher to lead and sync", within=WAIT)
    assert live.catalyst.duties is not None
    assert live.catalyst.duties.sync is not None
    return live.catalyst.duties.sync.cache


async def _watched_becomes(cache: ClusterCache, kinds: set[tuple[str, str]]) -> None:
    expected = kinds | set(BASE_KINDS)

    async def matches() -> bool:
        return set(cache.informers) == expected and cache.has_synced()

    try:
        await eventually(matches, f"informers for {sorted(expected)}", within=WAIT)
    except AssertionError as error:
        raise AssertionError(f"{error}; watching {sorted(cache.informers)}") from None


async def _create(api: httpx.AsyncClient, chart: str) -> int:
    body: dict[str, Any] = {"name": chart, "chartName": chart, "values": {}}
    response = await api.post("/api/environments", json=body)
    assert response.status_code == 201, response.text
    env_id: int = response.json()["id"]
    return env_id


async def _delete(api: httpx.AsyncClient, env_id: int) -> None:
    response = await api.delete(f"/api/environments/{env_id}")
    assert response.status_code in (202, 204), response.text

    async def gone() -> bool:
        return (await api.get(f"/api/environments/{env_id}")).status_code == 404

    await eventually(gone, f"environment {env_id} to be deleted", within=WAIT)


async def test_each_chart_of_the_corpus_runs_and_informers_follow_inventories(
    live: LiveCatalyst, api: httpx.AsyncClient
) -> None:
    cache = await _cache(live)
    await _watched_becomes(cache, set())  # no environment: namespaces and evidence only

    ids = {chart: await _create(api, chart) for chart in CORPUS}
    for chart, env_id in ids.items():
        listed = await wait_for_status(api, env_id, "running", WAIT)
        assert listed["failureKind"] is None, (chart, listed)
        live_read = await latest_status(api, env_id)
        assert live_read["status"] == "running", (chart, live_read)

    every_kind = set().union(*KINDS_OF.values())
    await _watched_becomes(cache, every_kind)
    for kind, informer in cache.informers.items():
        assert informer.name.endswith("#metadata") == (kind in METADATA_ONLY), kind

    # Informers go down as inventories stop holding their kinds: the CronJob's alone goes
    # with `scheduled` (its ConfigMap kind is still rbac-policy's) ...
    await _delete(api, ids.pop("scheduled"))
    await _watched_becomes(cache, every_kind - {("batch/v1", "CronJob")})
    # ... and come back with a new environment that uses the kind again.
    ids["scheduled"] = await _create(api, "scheduled")
    await wait_for_status(api, ids["scheduled"], "running", WAIT)
    await _watched_becomes(cache, every_kind)

    for env_id in ids.values():
        await _delete(api, env_id)
    await _watched_becomes(cache, set())
