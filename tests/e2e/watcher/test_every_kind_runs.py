"""Charts using every commonly applied kind reach `running` through the real service path,
and the watcher's informers follow the inventories: one informer per applied kind, started
when the first environment uses it and stopped when none does.

Everything is real: `catalyst serve`'s composition (API, operations, Helm SDK, deployer,
leader duties, watcher), on both clusters (`tests.clusters.BOTH_CLUSTERS_FOR_CATALYST`): its
embedded kubesim, and realkube, where the statuses come from the real controllers. The
charts are under ``tests/fixtures/charts/``. Kinds Catalyst has no rule of its own for go
through kstatus's generic rules: a coordination.k8s.io Lease, and a custom resource whose
CustomResourceDefinition the test installs, as an operator would, before the environment
is created (and removes after).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst.watcher.cluster_cache import BASE_KINDS, ClusterCache
from kubesim.server import KubeSim
from tests.support.chart_packages import CHARTS
from tests.support.clusters import BOTH_CLUSTERS_FOR_CATALYST, KubeCluster, catalyst_settings
from tests.support.live import LiveCatalyst, live_catalyst
from tests.support.live_api import FAIL_ANNOTATION, latest_status, wait_for_status
from tests.support.live_cluster import FAST_WATCHER
from tests.support.waiting import eventually


@dataclass
class Kube:
    """An admin client of the cluster, and the settings that point a Catalyst at it."""

    client: httpx.AsyncClient
    settings: dict[str, str]
    first_environment_id: int | None


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
    "generic-kind": {("coordination.k8s.io/v1", "Lease"), ("corpus.catalyst.test/v1", "Widget")},
}
WIDGETS = "widgets.corpus.catalyst.test"
WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": WIDGETS},
    "spec": {
        "group": "corpus.catalyst.test",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
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
VALUES_OF: dict[str, dict[str, Any]] = {
    "generic-kind": {
        "customResources": [
            {
                "apiVersion": "corpus.catalyst.test/v1",
                "kind": "Widget",
                "metadata": {"name": "gadget"},
                "spec": {"size": 1},
            }
        ]
    }
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
async def kube(catalyst_cluster: KubeCluster | None, tmp_path: Path) -> AsyncIterator[Kube]:
    """The cluster the Catalyst under test uses: realkube, or a kubesim the test starts
    and hands to it (so the test can install the CRD before Catalyst starts)."""
    if catalyst_cluster is not None:
        async with catalyst_cluster.httpx_client() as client:
            lease_namespace = await catalyst_cluster.new_namespace("lease")
            settings = catalyst_settings(catalyst_cluster, lease_namespace)
            yield Kube(client, settings, catalyst_cluster.environment_id_block())
        return
    sim = KubeSim(kubeconfig=tmp_path / "kubeconfig")
    await sim.start()
    try:
        async with httpx.AsyncClient(base_url=sim.url, timeout=30) as client:
            yield Kube(client, {"kubeconfig": str(tmp_path / "kubeconfig")}, None)
    finally:
        await sim.stop()


@pytest.fixture
async def widget_crd(kube: Kube) -> AsyncIterator[None]:
    """The custom resource's definition, installed and established (removed after)."""
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    response = await kube.client.post(path, json=WIDGET_CRD)
    assert response.status_code == 201, response.text

    async def established() -> bool:
        crd = (await kube.client.get(f"{path}/{WIDGETS}")).json()
        conditions = (crd.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    await eventually(established, f"CRD {WIDGETS} to be established", within=WAIT)
    try:
        yield
    finally:
        await kube.client.delete(f"{path}/{WIDGETS}")

        async def gone() -> bool:
            return (await kube.client.get(f"{path}/{WIDGETS}")).status_code == 404

        await eventually(gone, f"CRD {WIDGETS} to be deleted", within=WAIT)


@pytest.fixture
def overrides() -> dict[str, object]:
    """Extra settings of the live Catalyst (a test parametrizes it)."""
    return {}


@pytest.fixture
async def live(
    kube: Kube, overrides: dict[str, object], tmp_path: Path
) -> AsyncIterator[LiveCatalyst]:
    charts_dir = tmp_path / "charts"
    charts_dir.mkdir()
    for chart in CORPUS:
        (charts_dir / chart).symlink_to(CHARTS / chart)
    async with live_catalyst(
        tmp_path / "data",
        charts_dir=str(charts_dir),
        first_environment_id=kube.first_environment_id,
        **{**FAST_WATCHER, **overrides},
        **kube.settings,
    ) as running:
        yield running


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


async def _create(api: httpx.AsyncClient, chart: str, values: dict[str, Any] | None = None) -> int:
    values = VALUES_OF.get(chart, {}) if values is None else values
    body: dict[str, Any] = {"name": chart, "chartName": chart, "values": values}
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


@BOTH_CLUSTERS_FOR_CATALYST
async def test_each_chart_of_the_corpus_runs_and_informers_follow_inventories(
    widget_crd: None, live: LiveCatalyst, api: httpx.AsyncClient
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


EXPIRY = 3600.0


@BOTH_CLUSTERS_FOR_CATALYST
@pytest.mark.parametrize(
    "overrides", [{"status_expiry": EXPIRY, "status_crash_restarts": 1}], ids=["fast-crash"]
)
@pytest.mark.parametrize(("chart", "workload"), [("bare-pod", "Pod"), ("autoscaled", "Deployment")])
async def test_a_crashing_workload_of_the_corpus_fails_at_creation_and_expires(
    api: httpx.AsyncClient, chart: str, workload: str
) -> None:
    values = {"podAnnotations": {FAIL_ANNOTATION: "CrashLoopBackOff"}}
    env_id = await _create(api, chart, values)
    listed = await wait_for_status(api, env_id, "failed", WAIT)
    assert listed["failureKind"] == "creation", listed
    assert listed["expiresAt"] is not None, listed
    assert f"{workload}/" in listed["statusMessage"], listed
