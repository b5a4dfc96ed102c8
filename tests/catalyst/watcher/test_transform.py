from __future__ import annotations

import copy
from typing import Any

from catalyst.watcher.transform import trim_for_status


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "env-1",
            "uid": "u1",
            "resourceVersion": "9",
            "generation": 2,
            "labels": {"catalyst.io/environment-id": "1"},
            "annotations": {
                "deployment.kubernetes.io/revision": "3",
                "kubectl.kubernetes.io/last-applied-configuration": "{...big...}",
            },
            "managedFields": [{"manager": "catalyst", "fieldsV1": {"f:spec": {}}}],
        },
        "spec": {
            "replicas": 2,
            "paused": False,
            "progressDeadlineSeconds": 600,
            "template": {"spec": {"containers": [{"name": "web", "image": "x"}]}},
        },
        "status": {"observedGeneration": 2, "readyReplicas": 2, "conditions": []},
    }


def test_keeps_what_the_rules_read_and_drops_the_bulk() -> None:
    trimmed = trim_for_status(deployment())
    meta = trimmed["metadata"]
    assert "managedFields" not in meta
    assert meta["annotations"] == {"deployment.kubernetes.io/revision": "3"}
    assert meta["labels"] == {"catalyst.io/environment-id": "1"}
    assert trimmed["spec"] == {"replicas": 2, "paused": False, "progressDeadlineSeconds": 600}
    assert trimmed["status"]["readyReplicas"] == 2
    assert trimmed["kind"] == "Deployment"


def test_secret_values_never_reach_the_cache() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "env-1"},
        "data": {"password": "c2VjcmV0"},
        "stringData": {"token": "t"},
    }
    trimmed = trim_for_status(secret)
    assert "data" not in trimmed
    assert "stringData" not in trimmed
    assert trimmed["metadata"] == {"name": "s", "namespace": "env-1"}


def test_pod_container_statuses_lose_runtime_identifiers_only() -> None:
    pod = {
        "metadata": {"name": "p"},
        "spec": {"restartPolicy": "Always", "containers": [{"name": "c"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "c",
                    "ready": True,
                    "restartCount": 2,
                    "image": "i",
                    "imageID": "sha",
                    "containerID": "cid",
                    "state": {"running": {}},
                }
            ],
        },
    }
    trimmed = trim_for_status(pod)
    assert trimmed["spec"] == {"restartPolicy": "Always"}
    assert trimmed["status"]["containerStatuses"] == [
        {"name": "c", "ready": True, "restartCount": 2, "state": {"running": {}}}
    ]


def test_is_idempotent_and_does_not_mutate_its_input() -> None:
    original = deployment()
    before = copy.deepcopy(original)
    once = trim_for_status(original)
    assert trim_for_status(once) == once
    assert original == before
