"""apiserver defaulting on writes: what kubectl and the simulator rely on."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from kubesim.defaults import apply_defaults
from kubesim.resources import NAMESPACE_TYPE, resource_type
from kubesim.server import HeapFreezer
from kubesim.store import Store

STS = resource_type("apps", "v1", "statefulsets")
DEPLOY = resource_type("apps", "v1", "deployments")
JOB = resource_type("batch", "v1", "jobs")


def template() -> dict:
    return {
        "metadata": {"labels": {"app": "x"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]},
    }


def test_statefulset_gets_rolling_update_strategy() -> None:
    obj: dict[str, Any] = {"spec": {"template": template()}}
    apply_defaults(STS, obj)
    assert obj["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"partition": 0},
    }
    assert obj["spec"]["replicas"] == 1
    assert obj["spec"]["podManagementPolicy"] == "OrderedReady"
    container = obj["spec"]["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"


def test_deployment_and_job_defaults() -> None:
    deploy: dict[str, Any] = {"spec": {"template": template()}}
    apply_defaults(DEPLOY, deploy)
    assert deploy["spec"]["strategy"]["rollingUpdate"] == {
        "maxUnavailable": "25%",
        "maxSurge": "25%",
    }
    assert deploy["spec"]["progressDeadlineSeconds"] == 600
    job: dict[str, Any] = {"spec": {"template": template()}}
    apply_defaults(JOB, job)
    assert (
        job["spec"]["completions"],
        job["spec"]["parallelism"],
        job["spec"]["backoffLimit"],
    ) == (1, 1, 6)
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_defaults_are_idempotent_and_do_not_bump_generation() -> None:
    store = Store()
    store.create(NAMESPACE_TYPE, {"metadata": {"name": "default"}})
    created = store.create(
        STS, {"metadata": {"name": "db", "namespace": "default"}, "spec": {"template": template()}}
    )
    # a client re-sending the object without the defaults changes nothing
    again = store.update(
        STS, {"metadata": dict(created["metadata"]), "spec": {"template": template()}}
    )
    assert again is created
    assert created["metadata"]["generation"] == 1


async def test_heap_freezer_freezes_and_unfreezes() -> None:
    freezer = HeapFreezer(interval=0.01, full_every=3600)
    freezer.start()
    try:
        for _ in range(500):
            if gc.get_freeze_count() > 0:
                break
            await asyncio.sleep(0.01)
        assert gc.get_freeze_count() > 0
    finally:
        await freezer.stop()
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("image", ["nginx", "nginx:latest", "registry:5000/app"])
def test_untagged_or_latest_images_are_always_pulled(image: str) -> None:
    obj = {"spec": {"containers": [{"name": "c", "image": image}]}}
    apply_defaults(resource_type("", "v1", "pods"), obj)
    assert obj["spec"]["containers"][0]["imagePullPolicy"] == "Always"
