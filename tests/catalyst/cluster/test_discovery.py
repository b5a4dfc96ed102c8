"""Discovery parsing and object paths."""

from __future__ import annotations

import pytest

from catalyst.cluster.discovery import (
    ResourceInfo,
    collection_path,
    group_version_path,
    object_path,
    parse_resource_list,
)

APPS_V1 = {
    "kind": "APIResourceList",
    "groupVersion": "apps/v1",
    "resources": [
        {"name": "deployments", "singularName": "deployment", "namespaced": True,
         "kind": "Deployment", "verbs": ["get", "list", "patch"]},
        {"name": "deployments/scale", "namespaced": True, "kind": "Scale", "group": "autoscaling",
         "version": "v1"},
        {"name": "deployments/status", "namespaced": True, "kind": "Deployment"},
        {"name": "controllerrevisions", "namespaced": True, "kind": "ControllerRevision"},
    ],
}  # fmt: skip


def test_parse_resource_list_maps_kinds_and_skips_subresources() -> None:
    resources = parse_resource_list("apps/v1", APPS_V1)
    assert set(resources) == {"Deployment", "ControllerRevision"}
    deployment = resources["Deployment"]
    assert (deployment.plural, deployment.namespaced, deployment.group, deployment.version) == (
        "deployments",
        True,
        "apps",
        "v1",
    )
    assert deployment.subresources == ("scale", "status")
    assert deployment.verbs == ("get", "list", "patch")


def test_core_and_group_paths() -> None:
    assert group_version_path("v1") == "/api/v1"
    assert group_version_path("networking.k8s.io/v1") == "/apis/networking.k8s.io/v1"
    with pytest.raises(ValueError, match="apiVersion"):
        group_version_path("apps/")


def test_object_paths() -> None:
    pods = ResourceInfo(plural="pods", namespaced=True, group="", version="v1")
    namespaces = ResourceInfo(plural="namespaces", namespaced=False, group="", version="v1")
    jobs = ResourceInfo(plural="jobs", namespaced=True, group="batch", version="v1")
    assert collection_path(pods, "env-1") == "/api/v1/namespaces/env-1/pods"
    assert collection_path(pods) == "/api/v1/pods"
    assert object_path(pods, "env-1", "web-0", "log") == "/api/v1/namespaces/env-1/pods/web-0/log"
    assert object_path(jobs, "env-1", "install") == "/apis/batch/v1/namespaces/env-1/jobs/install"
    # A cluster-scoped object ignores the namespace it is given.
    assert object_path(namespaces, "env-1", "env-1") == "/api/v1/namespaces/env-1"
    with pytest.raises(ValueError, match="namespace"):
        object_path(pods, None, "web-0")
