"""StatefulSet ordering, PVCs and rolling updates through the real Store."""

from __future__ import annotations

from typing import Any

from kubesim.sim import Simulator
from kubesim.sim.objects import POD, PVC, STATEFULSET
from kubesim.store import Store
from tests.support.sim_objects import condition, pod_template
from tests.support.waiting import StoreWaiter


def statefulset(replicas: int = 3, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "replicas": replicas,
        "serviceName": "db",
        "selector": {"matchLabels": {"app": "db"}},
        "template": pod_template("db"),
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "data", "labels": {"tier": "storage"}},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "2Gi"}},
                },
            }
        ],
    }
    body.update(spec)
    return {"metadata": {"name": "db", "namespace": "ns"}, "spec": body}


def _ready(pod: dict[str, Any] | None) -> bool:
    c = condition(pod, "Ready")
    return c is not None and c["status"] == "True"


def _settled(store: Store, replicas: int) -> bool:
    sts = store.get(STATEFULSET, "ns", "db")
    s = (sts or {}).get("status") or {}
    return (
        s.get("readyReplicas", 0) == replicas
        and s.get("replicas") == replicas
        and s.get("updatedReplicas", 0) == replicas
        and s.get("currentRevision") == s.get("updateRevision")
        and len(store.list(POD, "ns")) == replicas
    )


async def test_ordered_ready_creates_pods_one_after_another(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    violations: list[str] = []

    def check() -> bool:
        pods = {p["metadata"]["name"]: p for p in store.list(POD, "ns")}
        for i in (1, 2):
            if f"db-{i}" in pods and not _ready(pods.get(f"db-{i - 1}")):
                violations.append(f"db-{i} exists before db-{i - 1} is Ready")
        return _settled(store, 3)

    store.create(STATEFULSET, statefulset(3))
    await waiter.until(check)
    assert violations == []
    sts = store.get(STATEFULSET, "ns", "db")
    assert sts is not None
    status = sts["status"]
    assert status["currentReplicas"] == 3
    assert status["availableReplicas"] == 3
    assert status["observedGeneration"] == 1
    assert status["updateRevision"].startswith("db-")
    pod = store.get(POD, "ns", "db-1")
    assert pod is not None
    assert pod["metadata"]["labels"]["controller-revision-hash"] == status["updateRevision"]
    assert pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "db-1"
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-1"}} in pod["spec"][
        "volumes"
    ]


async def test_pvcs_from_claim_templates_become_bound(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(STATEFULSET, statefulset(2))
    await waiter.until(
        lambda: (
            len(store.list(PVC, "ns")) == 2
            and all((c.get("status") or {}).get("phase") == "Bound" for c in store.list(PVC, "ns"))
        )
    )
    claim = store.get(PVC, "ns", "data-db-0")
    assert claim is not None
    assert claim["metadata"]["labels"] == {"tier": "storage", "app": "db"}
    assert claim["spec"]["volumeName"] == f"pvc-{claim['metadata']['uid']}"
    assert claim["status"] == {
        "phase": "Bound",
        "accessModes": ["ReadWriteOnce"],
        "capacity": {"storage": "2Gi"},
    }
    assert "kubernetes.io/pvc-protection" in claim["metadata"]["finalizers"]


async def test_parallel_policy_creates_all_pods_at_once(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(STATEFULSET, statefulset(3, podManagementPolicy="Parallel"))
    await waiter.until(lambda: len(store.list(POD, "ns")) == 3)
    assert not any(_ready(p) for p in store.list(POD, "ns"))
    await waiter.until(lambda: _settled(store, 3))


async def test_template_change_rolls_pods_in_reverse_order(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(STATEFULSET, statefulset(2))
    await waiter.until(lambda: _settled(store, 2))
    before = store.get(STATEFULSET, "ns", "db")["status"]["currentRevision"]  # type: ignore[index]
    store.mutate(
        STATEFULSET,
        "ns",
        "db",
        lambda s: s["spec"]["template"]["spec"]["containers"][0].__setitem__("image", "mariadb:11"),
    )
    await waiter.until(
        lambda: (
            _settled(store, 2)
            and all(
                p["spec"]["containers"][0]["image"] == "mariadb:11" for p in store.list(POD, "ns")
            )
        )
    )
    status = store.get(STATEFULSET, "ns", "db")["status"]  # type: ignore[index]
    assert status["currentRevision"] == status["updateRevision"] != before
    assert status["observedGeneration"] == 2


async def test_scale_down_removes_highest_ordinal(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(STATEFULSET, statefulset(3))
    await waiter.until(lambda: _settled(store, 3))
    store.mutate(STATEFULSET, "ns", "db", lambda s: s["spec"].__setitem__("replicas", 1))
    await waiter.until(lambda: _settled(store, 1))
    assert [p["metadata"]["name"] for p in store.list(POD, "ns")] == ["db-0"]
    assert len(store.list(PVC, "ns")) == 3  # claims are retained
