"""Each fail mode's container state as written to the Store by the kubelet."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim.sim import Simulator
from kubesim.sim.objects import POD
from kubesim.store import Store
from tests.support.sim_objects import condition
from tests.support.waiting import StoreWaiter


def bare_pod(fail: str, restart_policy: str = "Always") -> dict[str, Any]:
    return {
        "metadata": {
            "name": "p",
            "namespace": "ns",
            "annotations": {"sim.kubesim.io/fail": fail, "sim.kubesim.io/run-for": "50ms"},
        },
        "spec": {
            "restartPolicy": restart_policy,
            "containers": [{"name": "main", "image": "example/app:1"}],
        },
    }


def _status(store: Store) -> dict[str, Any]:
    p = store.get(POD, "ns", "p")
    return (p or {}).get("status") or {}


def _waiting(store: Store) -> str | None:
    statuses = _status(store).get("containerStatuses") or []
    return statuses[0]["state"].get("waiting", {}).get("reason") if statuses else None


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff"])
async def test_image_pull_backoff(
    store: Store, sim: Simulator, waiter: StoreWaiter, reason: str
) -> None:
    store.create(POD, bare_pod("ImagePullBackOff"))
    await waiter.until(lambda: _waiting(store) == reason)
    assert _status(store)["phase"] == "Pending"


async def test_crash_loop_backoff(store: Store, sim: Simulator, waiter: StoreWaiter) -> None:
    store.create(POD, bare_pod("CrashLoopBackOff"))
    await waiter.until(
        lambda: (
            _waiting(store) == "CrashLoopBackOff"
            and _status(store)["containerStatuses"][0]["restartCount"] >= 2
        ),
        limit=10,
    )
    cs = _status(store)["containerStatuses"][0]
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert _status(store)["phase"] == "Running"
    assert condition({"status": _status(store)}, "Ready")["status"] == "False"  # type: ignore[index]


async def test_crash_loop_backoff_with_restart_never_fails_pod(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(POD, bare_pod("CrashLoopBackOff", restart_policy="Never"))
    await waiter.until(lambda: _status(store).get("phase") == "Failed")
    assert _status(store)["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1


async def test_invalid_image_name(store: Store, sim: Simulator, waiter: StoreWaiter) -> None:
    store.create(POD, bare_pod("InvalidImageName"))
    await waiter.until(lambda: _waiting(store) == "InvalidImageName")
    assert _status(store)["phase"] == "Pending"


async def test_unschedulable(store: Store, sim: Simulator, waiter: StoreWaiter) -> None:
    store.create(POD, bare_pod("Unschedulable"))
    await waiter.until(lambda: condition({"status": _status(store)}, "PodScheduled"))
    scheduled = condition({"status": _status(store)}, "PodScheduled")
    assert scheduled is not None
    assert (scheduled["status"], scheduled["reason"]) == ("False", "Unschedulable")
    assert scheduled["message"].startswith("0/1 nodes are available")
    pod = store.get(POD, "ns", "p")
    assert pod is not None
    assert "nodeName" not in pod["spec"]


async def test_exit_error_always_becomes_crash_loop(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(POD, bare_pod("ExitError"))
    await waiter.until(lambda: _waiting(store) == "CrashLoopBackOff")
    assert _status(store)["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 1


async def test_fail_mode_from_rules(store: Store, waiter: StoreWaiter) -> None:
    from tests.support.sim_objects import fast_rules

    sim = Simulator(
        store, fast_rules(pods=[{"match": {"namespace": "n*"}, "fail": "InvalidImageName"}])
    )
    await sim.start()
    try:
        body = bare_pod("ExitError")
        del body["metadata"]["annotations"]
        store.create(POD, body)
        await waiter.until(
            lambda: _waiting(store) == "InvalidImageName",
            what="the rules' fail mode (InvalidImageName) on a pod without annotations",
        )
    finally:
        await sim.stop()


async def test_missing_secret_gives_create_container_config_error_until_created(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    from kubesim.sim.objects import SECRET

    body = {
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": "app",
                    "env": [
                        {
                            "name": "PW",
                            "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pw"}},
                        }
                    ],
                }
            ]
        },
    }
    store.create(POD, body)
    await waiter.until(lambda: _waiting(store) == "CreateContainerConfigError")
    cs = _status(store)["containerStatuses"][0]
    assert cs["state"]["waiting"]["message"] == 'secret "creds" not found'
    assert _status(store)["phase"] == "Pending"
    store.create(
        SECRET, {"metadata": {"name": "creds", "namespace": "ns"}, "data": {"other": "eA=="}}
    )
    await waiter.until(
        lambda: "couldn't find key pw" in str(_status(store)["containerStatuses"][0]["state"])
    )
    store.mutate(SECRET, "ns", "creds", lambda s: s["data"].__setitem__("pw", "eA=="))
    await waiter.until(lambda: _status(store).get("phase") == "Running")
    ready = condition({"status": _status(store)}, "Ready")
    assert ready is not None
    assert ready["status"] == "False"  # readiness is counted from the late start
    await waiter.until(
        lambda: (condition({"status": _status(store)}, "Ready") or {}).get("status") == "True"
    )


async def test_pod_waits_for_its_claim_to_be_bound(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    from kubesim.sim.objects import PVC

    body = {
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {
            "containers": [{"name": "main", "image": "app"}],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}],
        },
    }
    store.create(POD, body)
    await waiter.until(lambda: condition({"status": _status(store)}, "PodScheduled"))
    scheduled = condition({"status": _status(store)}, "PodScheduled")
    assert scheduled is not None
    assert (scheduled["status"], scheduled["reason"]) == ("False", "Unschedulable")
    assert 'persistentvolumeclaim "data" not found' in scheduled["message"]
    store.create(
        PVC,
        {
            "metadata": {"name": "data", "namespace": "ns"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    await waiter.until(
        lambda: (condition({"status": _status(store)}, "Ready") or {}).get("status") == "True"
    )
    pvc = store.get(PVC, "ns", "data")
    assert pvc is not None
    assert pvc["status"]["phase"] == "Bound"
