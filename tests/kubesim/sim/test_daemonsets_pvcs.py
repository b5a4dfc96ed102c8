"""DaemonSet pods per node and the PVC binder's lifecycle."""

from __future__ import annotations

from kubesim.sim import Simulator
from kubesim.sim.objects import DAEMONSET, NODE, POD, PVC
from kubesim.store import Store
from tests.support.sim_objects import pod_template
from tests.support.waiting import StoreWaiter


def _create_agent_daemonset(store: Store) -> None:
    store.create(
        DAEMONSET,
        {
            "metadata": {"name": "agent", "namespace": "ns"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": pod_template("agent"),
            },
        },
    )


async def test_daemonset_runs_one_pod_per_node(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(NODE, {"metadata": {"name": "node-a"}})
    store.create(NODE, {"metadata": {"name": "node-b"}})
    _create_agent_daemonset(store)

    def settled() -> bool:
        ds = store.get(DAEMONSET, "ns", "agent")
        s = (ds or {}).get("status") or {}
        return s.get("numberReady") == 2 and s.get("numberAvailable") == 2

    await waiter.until(settled)
    ds = store.get(DAEMONSET, "ns", "agent")
    assert ds is not None
    s = ds["status"]
    assert (
        s["desiredNumberScheduled"],
        s["currentNumberScheduled"],
        s["updatedNumberScheduled"],
    ) == (2, 2, 2)
    assert s["numberMisscheduled"] == 0
    assert s["observedGeneration"] == 1
    assert sorted(p["spec"]["nodeName"] for p in store.list(POD, "ns")) == ["node-a", "node-b"]


async def test_daemonset_without_nodes_assumes_one(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    _create_agent_daemonset(store)
    await waiter.until(
        lambda: (
            ((store.get(DAEMONSET, "ns", "agent") or {}).get("status") or {}).get("numberReady")
            == 1
        )
    )
    assert [p["spec"]["nodeName"] for p in store.list(POD, "ns")] == ["kubesim-node"]


def claim(name: str) -> dict[str, object]:
    return {
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }


async def test_pvc_pending_then_bound_then_released_on_delete(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    phases: list[str] = []

    def bound() -> bool:
        c = store.get(PVC, "ns", "data")
        phase = ((c or {}).get("status") or {}).get("phase")
        if phase and (not phases or phases[-1] != phase):
            phases.append(phase)
        return phase == "Bound"

    store.create(PVC, claim("data"))
    await waiter.until(bound)
    assert phases == ["Pending", "Bound"]
    # A pod mounting the claim keeps it (pvc-protection) until the pod goes.
    store.create(
        POD,
        {
            "metadata": {"name": "user", "namespace": "ns"},
            "spec": {
                "containers": [{"name": "c", "image": "x"}],
                "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}],
            },
        },
    )
    store.delete(PVC, "ns", "data")
    await waiter.until(
        lambda: (store.get(PVC, "ns", "data") or {}).get("metadata", {}).get("deletionTimestamp")
    )
    assert store.get(PVC, "ns", "data") is not None
    store.delete(POD, "ns", "user")
    await waiter.until(lambda: store.get(PVC, "ns", "data") is None)
