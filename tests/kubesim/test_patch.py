"""JSON merge patch, JSON patch and strategic merge patch (B20)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubesim.errors import ApiError
from kubesim.patch import (
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)
from kubesim.resources import resource_type

DEPLOYMENTS = resource_type("apps", "v1", "deployments")
SERVICES = resource_type("", "v1", "services")
PODS = resource_type("", "v1", "pods")


# --- RFC 7386 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_rfc7386_examples(target: dict, patch: dict, expected: dict) -> None:
    before = copy.deepcopy(target)
    assert apply_merge_patch(target, patch) == expected
    assert target == before  # inputs are never mutated


def test_merge_patch_rejects_non_object() -> None:
    with pytest.raises(ApiError) as info:
        apply_merge_patch({"a": 1}, [1])
    assert info.value.code == 400


# --- RFC 6902 ---------------------------------------------------------------------------


def test_json_patch_operations() -> None:
    obj: dict[str, Any] = {
        "metadata": {"labels": {"a": "1"}},
        "spec": {"replicas": 1, "list": [1, 2]},
    }
    result = apply_json_patch(
        obj,
        [
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "add", "path": "/metadata/labels/b", "value": "2"},
            {"op": "remove", "path": "/metadata/labels/a"},
            {"op": "add", "path": "/spec/list/-", "value": 3},
            {"op": "test", "path": "/spec/replicas", "value": 3},
        ],
    )
    assert result == {
        "metadata": {"labels": {"b": "2"}},
        "spec": {"replicas": 3, "list": [1, 2, 3]},
    }
    assert obj["spec"]["replicas"] == 1


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "remove", "path": "/spec/missing"}],
        [{"op": "test", "path": "/spec/replicas", "value": 2}],
        [{"op": "replace", "path": "/nope/deeper", "value": 1}],
    ],
)
def test_json_patch_failures_are_422(ops: list) -> None:
    with pytest.raises(ApiError) as info:
        apply_json_patch({"spec": {"replicas": 1}}, ops)
    assert info.value.code == 422
    assert info.value.reason == "Invalid"


@pytest.mark.parametrize("ops", [{"op": "add"}, "x", [1], [{"op": "frobnicate", "path": "/a"}]])
def test_malformed_json_patch_is_400(ops: Any) -> None:
    with pytest.raises(ApiError) as info:
        apply_json_patch({"a": 1}, ops)
    assert info.value.code == 400


# --- strategic merge patch -----------------------------------------------------------------


def _deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "finalizers": ["a"], "labels": {"app": "web"}},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "app:1",
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "ports": [{"containerPort": 80}, {"containerPort": 443}],
                        },
                        {"name": "sidecar", "image": "side:1"},
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "tolerations": [{"key": "a", "operator": "Exists"}],
                }
            },
        },
    }


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


def _smp(patch: dict[str, Any]) -> dict[str, Any]:
    return apply_strategic_merge_patch(_deployment(), patch, DEPLOYMENTS)


def test_containers_merge_by_name() -> None:
    result = _smp(
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}}
    )
    containers = _pod_spec(result)["containers"]
    assert [c["name"] for c in containers] == ["app", "sidecar"]
    assert containers[0]["image"] == "app:2"
    assert containers[0]["env"][0] == {"name": "A", "value": "1"}  # untouched fields stay


def test_new_container_is_appended() -> None:
    result = _smp({"spec": {"template": {"spec": {"containers": [{"name": "new", "image": "n"}]}}}})
    assert [c["name"] for c in _pod_spec(result)["containers"]] == ["app", "sidecar", "new"]


def test_env_merges_by_name_and_ports_by_container_port() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "env": [{"name": "B", "value": "two"}, {"name": "C", "value": "3"}],
                            "ports": [{"containerPort": 80, "name": "http"}],
                        }
                    ]
                }
            }
        }
    }
    app = _pod_spec(_smp(patch))["containers"][0]
    assert app["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "two"},
        {"name": "C", "value": "3"},
    ]
    assert app["ports"] == [{"containerPort": 80, "name": "http"}, {"containerPort": 443}]


def test_delete_directive_removes_list_item() -> None:
    patch = {
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}
    }
    assert [c["name"] for c in _pod_spec(_smp(patch))["containers"]] == ["app"]


def test_replace_directive_on_list() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "only", "image": "o"}, {"$patch": "replace"}]}
            }
        }
    }
    assert _pod_spec(_smp(patch))["containers"] == [{"name": "only", "image": "o"}]


def test_replace_directive_on_map() -> None:
    patch = {"spec": {"strategy": {"$patch": "replace", "type": "Recreate"}}}
    assert _smp(patch)["spec"]["strategy"] == {"type": "Recreate"}


def test_delete_directive_on_map() -> None:
    patch = {"spec": {"strategy": {"$patch": "delete"}}}
    assert "strategy" not in _smp(patch)["spec"]


def test_retain_keys_drops_other_keys() -> None:
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert _smp(patch)["spec"]["strategy"] == {"type": "Recreate"}


def test_null_deletes_key() -> None:
    patch = {"metadata": {"labels": {"app": None}}, "spec": {"replicas": None}}
    result = _smp(patch)
    assert result["metadata"]["labels"] == {}
    assert "replicas" not in result["spec"]


def test_finalizers_merge_as_a_set_and_delete_from_primitive_list() -> None:
    assert _smp({"metadata": {"finalizers": ["a", "b"]}})["metadata"]["finalizers"] == ["a", "b"]
    result = _smp({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["c"]}})
    assert result["metadata"]["finalizers"] == ["c"]


def test_atomic_lists_are_replaced() -> None:
    patch = {"spec": {"template": {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}}}}
    assert _pod_spec(_smp(patch))["tolerations"] == [{"key": "b", "operator": "Exists"}]


def test_set_element_order_reorders_merged_list() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
                    "containers": [{"name": "app", "image": "app:3"}],
                }
            }
        }
    }
    containers = _pod_spec(_smp(patch))["containers"]
    assert [c["name"] for c in containers] == ["sidecar", "app"]
    assert containers[1]["image"] == "app:3"


def test_service_ports_merge_by_port() -> None:
    svc = {"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}
    result = apply_strategic_merge_patch(
        svc, {"spec": {"ports": [{"port": 80, "name": "http"}]}}, SERVICES
    )
    assert result["spec"]["ports"] == [
        {"port": 80, "targetPort": 8080, "name": "http"},
        {"port": 443},
    ]


def test_conditions_merge_by_type_and_owner_references_by_uid() -> None:
    pod = {
        "metadata": {"ownerReferences": [{"uid": "1", "name": "a"}]},
        "status": {"conditions": [{"type": "Ready", "status": "False"}]},
    }
    patch = {
        "metadata": {"ownerReferences": [{"uid": "2", "name": "b"}]},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}, {"type": "X", "status": "True"}]
        },
    }
    result = apply_strategic_merge_patch(pod, patch, PODS)
    assert [r["uid"] for r in result["metadata"]["ownerReferences"]] == ["1", "2"]
    assert result["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "X", "status": "True"},
    ]


def test_item_without_merge_key_is_400() -> None:
    with pytest.raises(ApiError) as info:
        _smp({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}})
    assert info.value.code == 400


def test_kubectl_client_side_apply_patch() -> None:
    # The shape kubectl 1.32 sends for `kubectl apply` after changing an image and
    # removing one env var.
    patch = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}"}},
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
                    "containers": [
                        {
                            "$setElementOrder/env": [{"name": "A"}],
                            "env": [{"$patch": "delete", "name": "B"}],
                            "image": "app:9",
                            "name": "app",
                        }
                    ],
                }
            }
        },
    }
    result = _smp(patch)
    app = _pod_spec(result)["containers"][0]
    assert app["image"] == "app:9"
    assert app["env"] == [{"name": "A", "value": "1"}]
    assert "kubectl.kubernetes.io/last-applied-configuration" in result["metadata"]["annotations"]


def test_smp_does_not_mutate_input() -> None:
    original = _deployment()
    before = copy.deepcopy(original)
    apply_strategic_merge_patch(original, {"spec": {"replicas": 5}}, DEPLOYMENTS)
    assert original == before


def test_retain_keys_inside_list_item() -> None:
    # kubectl sends this when a volume changes its source type.
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "volumes": [
                        {
                            "$retainKeys": ["configMap", "name"],
                            "name": "data",
                            "configMap": {"name": "c"},
                        }
                    ]
                }
            }
        }
    }
    assert _pod_spec(_smp(patch))["volumes"] == [{"name": "data", "configMap": {"name": "c"}}]


def test_set_element_order_for_primitive_list() -> None:
    obj = {"metadata": {"finalizers": ["a", "b"]}}
    patch = {"metadata": {"$setElementOrder/finalizers": ["b", "c", "a"], "finalizers": ["c"]}}
    result = apply_strategic_merge_patch(obj, patch, PODS)
    assert result["metadata"]["finalizers"] == ["b", "c", "a"]


def test_unknown_patch_directive_is_400() -> None:
    with pytest.raises(ApiError) as info:
        _smp({"spec": {"strategy": {"$patch": "explode"}}})
    assert info.value.code == 400
