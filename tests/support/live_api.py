"""Driving a live Catalyst and its cluster over HTTP: request bodies, listed statuses, cluster
edits, the Lease, /metrics.

Cluster edits go through kubesim's HTTP API (a merge patch of a workload's pod template), so
they work the same against an in-process KubeSim and an external ``kubesim serve``; they
make the simulator replace the workload's pods, which is the change the watcher must see.
Every wait here has a deadline (`tests.support.waiting`); a timeout fails with what was
being waited for.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.patchdemo import EXAMPLE_BODY
from tests.support.waiting import eventually

WAIT = 60.0
LEASE_PATH = "/apis/coordination.k8s.io/v1/namespaces/default/leases/catalyst-leader"
FAIL_ANNOTATION = "sim.kubesim.io/fail"


def environment_body(name: str, **values: Any) -> dict[str, Any]:
    """The contract's example create body with another name and extra chart values."""
    body = copy.deepcopy(EXAMPLE_BODY)
    body["name"] = name
    body["values"].update(values)
    return body


async def statuses(api: httpx.AsyncClient) -> dict[int, dict[str, Any]]:
    """Every listed environment by id (the database view, no cluster request)."""
    response = await api.get("/api/environments")
    assert response.status_code == 200, response.text
    return {e["id"]: e for e in response.json()}


async def listed(api: httpx.AsyncClient, env_id: int) -> dict[str, Any]:
    environment = (await statuses(api)).get(env_id)
    assert environment is not None, f"environment {env_id} is not listed"
    return environment


async def wait_for_status(
    api: httpx.AsyncClient, env_id: int, status: str, within: float = WAIT
) -> dict[str, Any]:
    """Wait until the listed status is ``status``; returns the listed environment."""
    seen: dict[str, Any] = {}

    async def reached() -> bool:
        seen.update(await listed(api, env_id))
        return seen["status"] == status

    await eventually(
        reached, f"environment {env_id} to be {status}", within=within, last=lambda: seen
    )
    return seen


async def create_environment(api: httpx.AsyncClient, name: str, **values: Any) -> int:
    response = await api.post("/api/environments", json=environment_body(name, **values))
    assert response.status_code == 201, response.text
    env_id: int = response.json()["id"]
    return env_id


async def latest_status(api: httpx.AsyncClient, env_id: int) -> dict[str, Any]:
    """``?latestStatus=1``: recomputed from the cluster now (the independent expectation)."""
    response = await api.get(f"/api/environments/{env_id}", params={"latestStatus": "1"})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# -- kubesim edits -------------------------------------------------------------------------


async def workload_names(kube: httpx.AsyncClient, namespace: str, plural: str) -> list[str]:
    group = "apis/batch/v1" if plural == "jobs" else "apis/apps/v1"
    response = await kube.get(f"/{group}/namespaces/{namespace}/{plural}")
    assert response.status_code == 200, response.text
    return [item["metadata"]["name"] for item in response.json()["items"]]


async def annotate_pod_template(
    kube: httpx.AsyncClient, namespace: str, plural: str, annotations: dict[str, str | None]
) -> None:
    """Merge-patch the pod template of every ``plural`` (deployments, statefulsets) in
    ``namespace``: the controller replaces the pods, which then behave as annotated."""
    names = await workload_names(kube, namespace, plural)
    assert names, f"no {plural} in {namespace}"
    for name in names:
        response = await kube.patch(
            f"/apis/apps/v1/namespaces/{namespace}/{plural}/{name}",
            json={"spec": {"template": {"metadata": {"annotations": annotations}}}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert response.status_code == 200, response.text


async def make_pods_crash(kube: httpx.AsyncClient, env_id: int) -> None:
    """Every pod of the environment's web Deployment and database StatefulSet crash-loops."""
    await make_pods_fail(kube, env_id, "CrashLoopBackOff")


async def make_pods_fail(kube: httpx.AsyncClient, env_id: int, mode: str) -> None:
    """Replace the environment's web and database pods by ones failing as ``mode``
    (``InvalidImageName`` fails at once and stays failed: no restarts, no flapping)."""
    for plural in ("deployments", "statefulsets"):
        await annotate_pod_template(kube, f"env-{env_id}", plural, {FAIL_ANNOTATION: mode})


def lease_path(namespace: str = "default") -> str:
    """The Lease Catalyst elects its leader with, in ``namespace`` (CATALYST_LEASE_NAMESPACE)."""
    return f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/catalyst-leader"


async def read_lease(kube: httpx.AsyncClient, path: str = LEASE_PATH) -> dict[str, Any] | None:
    response = await kube.get(path)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    lease: dict[str, Any] = response.json()
    return lease


async def lease_holder(kube: httpx.AsyncClient, path: str = LEASE_PATH) -> str | None:
    lease = await read_lease(kube, path)
    holder = ((lease or {}).get("spec") or {}).get("holderIdentity")
    return holder if isinstance(holder, str) and holder else None


# -- /metrics ------------------------------------------------------------------------------


async def metric_samples(
    client: httpx.AsyncClient, name: str
) -> list[tuple[dict[str, str], float]]:
    """Every sample called ``name`` on the replica's /metrics, with its labels."""
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    found: list[tuple[dict[str, str], float]] = []
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name:
                found.append((dict(sample.labels), sample.value))
    return found


async def metric_total(client: httpx.AsyncClient, name: str) -> float:
    """The sum of every sample called ``name`` on the replica's /metrics."""
    return sum(value for _, value in await metric_samples(client, name))


async def informers_synced(client: httpx.AsyncClient) -> bool:
    """True when this replica reports catalyst_informer_synced 1 for every informer."""
    samples = await metric_samples(client, "catalyst_informer_synced")
    return bool(samples) and all(value == 1 for _, value in samples)


async def any_informer_synced(client: httpx.AsyncClient) -> bool:
    samples = await metric_samples(client, "catalyst_informer_synced")
    return any(value == 1 for _, value in samples)
