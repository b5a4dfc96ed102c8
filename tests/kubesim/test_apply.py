"""Server-side apply: ownership, conflicts, force, removal, managedFields format (B20)."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim.apply import (
    fields_from_v1,
    fields_to_v1,
    path_string,
    record_update,
    server_side_apply,
)
from kubesim.errors import ApiError
from kubesim.resources import resource_type

DEPLOYMENTS = resource_type("apps", "v1", "deployments")
CONFIGMAPS = resource_type("", "v1", "configmaps")

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-01T00:01:00Z"


def _deployment(image: str = "nginx:1", replicas: int | None = 2) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": image}]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": spec,
    }


def _stored(obj: dict[str, Any]) -> dict[str, Any]:
    """What the store would add on create."""
    meta = {**obj["metadata"], "uid": "u1", "resourceVersion": "5", "generation": 1}
    return {**obj, "metadata": meta}


def _apply(live: dict | None, applied: dict, manager: str = "mgr", *, force: bool = False) -> dict:
    return server_side_apply(
        live, applied, rt=DEPLOYMENTS, manager=manager, force=force, now=T1, subresource=None
    )


def _managers(obj: dict) -> dict[tuple[str, str], dict]:
    return {(e["manager"], e["operation"]): e for e in obj["metadata"].get("managedFields", [])}


def test_create_records_apply_entry_in_fieldsv1_format() -> None:
    created = _apply(None, _deployment())
    assert created["spec"]["replicas"] == 2
    [entry] = created["metadata"]["managedFields"]
    assert entry == {
        "manager": "mgr",
        "operation": "Apply",
        "apiVersion": "apps/v1",
        "time": T1,
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:spec": {
                "f:replicas": {},
                "f:selector": {"f:matchLabels": {"f:app": {}}},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {
                        "f:containers": {
                            'k:{"name":"nginx"}': {".": {}, "f:image": {}, "f:name": {}}
                        }
                    },
                },
            }
        },
    }


def test_selector_fields_are_nested() -> None:
    created = _apply(None, _deployment())
    fields = created["metadata"]["managedFields"][0]["fieldsV1"]
    assert fields["f:spec"]["f:selector"] == {"f:matchLabels": {"f:app": {}}}
    assert "f:metadata" not in fields  # name/namespace are never tracked


def test_fieldsv1_round_trip_and_path_strings() -> None:
    paths = {
        ("f:metadata", "f:finalizers", 'v:"a"'),
        ("f:spec", "f:containers", 'k:{"name":"x"}'),
        ("f:spec", "f:containers", 'k:{"name":"x"}', "f:image"),
    }
    encoded = fields_to_v1(paths)
    assert encoded["f:metadata"] == {"f:finalizers": {'v:"a"': {}}}
    assert fields_from_v1(encoded) == paths
    assert path_string(("f:spec", "f:containers", 'k:{"name":"x"}', "f:image")) == (
        '.spec.containers[name="x"].image'
    )
    assert path_string(("f:metadata", "f:finalizers", 'v:"a"')) == '.metadata.finalizers[="a"]'


def test_reapply_same_config_by_same_manager_is_clean() -> None:
    live = _stored(_apply(None, _deployment()))
    again = _apply(live, _deployment())
    assert again["spec"] == live["spec"]
    assert len(again["metadata"]["managedFields"]) == 1


def test_conflict_with_update_manager() -> None:
    created = record_update(
        None, _stored(_deployment(replicas=1)), manager="kubectl-create", now=T0, rt=DEPLOYMENTS
    )
    with pytest.raises(ApiError) as info:
        _apply(created, _deployment(replicas=3), manager="ssa")
    err = info.value
    assert err.code == 409
    assert err.reason == "Conflict"
    assert err.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-create" using apps/v1: .spec.replicas'
    )
    assert err.details == {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "kubectl-create" using apps/v1',
                "field": ".spec.replicas",
            }
        ]
    }


def test_multiple_conflicts_message() -> None:
    created = record_update(None, _stored(_deployment(replicas=1)), manager="other", now=T0)
    with pytest.raises(ApiError) as info:
        _apply(created, _deployment(image="nginx:2", replicas=3), manager="ssa")
    assert info.value.message == (
        'Apply failed with 2 conflicts: conflicts with "other" using apps/v1:\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="nginx"].image'
    )
    assert len(info.value.details["causes"]) == 2  # type: ignore[index]


def test_same_value_is_shared_not_conflicting() -> None:
    created = record_update(None, _stored(_deployment()), manager="creator", now=T0)
    applied = _apply(created, _deployment(), manager="ssa")
    managers = _managers(applied)
    assert set(managers) == {("creator", "Update"), ("ssa", "Apply")}
    assert "f:replicas" in managers[("ssa", "Apply")]["fieldsV1"]["f:spec"]
    assert "f:replicas" in managers[("creator", "Update")]["fieldsV1"]["f:spec"]


def test_conflict_between_two_appliers_and_force() -> None:
    live = _stored(_apply(None, _deployment(replicas=2), manager="first"))
    with pytest.raises(ApiError) as info:
        _apply(live, _deployment(replicas=5), manager="second")
    assert info.value.message == (
        'Apply failed with 1 conflict: conflict with "first": .spec.replicas'
    )
    forced = _apply(live, _deployment(replicas=5), manager="second", force=True)
    assert forced["spec"]["replicas"] == 5
    managers = _managers(forced)
    assert "f:replicas" not in managers[("first", "Apply")]["fieldsV1"]["f:spec"]
    assert "f:replicas" in managers[("second", "Apply")]["fieldsV1"]["f:spec"]


def test_dropped_field_is_removed() -> None:
    live = _stored(_apply(None, _deployment(replicas=2)))
    live["metadata"]["labels"] = {"keep": "me"}  # written by nobody we track
    again = _apply(live, _deployment(replicas=None))
    assert "replicas" not in again["spec"]
    assert again["metadata"]["labels"] == {"keep": "me"}
    assert "f:replicas" not in again["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]


def test_dropped_field_owned_by_another_manager_stays() -> None:
    live = _stored(_apply(None, _deployment(replicas=2), manager="a"))
    shared = _apply(live, _deployment(replicas=2), manager="b")
    dropped = _apply(shared, _deployment(replicas=None), manager="a")
    assert dropped["spec"]["replicas"] == 2


def test_dropped_list_item_is_removed() -> None:
    two = _deployment()
    two["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "s:1"})
    live = _stored(_apply(None, two))
    one = _apply(live, _deployment())
    assert [c["name"] for c in one["spec"]["template"]["spec"]["containers"]] == ["nginx"]


def test_update_moves_ownership() -> None:
    live = _stored(_apply(None, _deployment(replicas=2), manager="ssa"))
    scaled = {**live, "spec": {**live["spec"], "replicas": 7}}
    updated = record_update(live, scaled, manager="kubectl-scale", now=T1, rt=DEPLOYMENTS)
    managers = _managers(updated)
    assert managers[("kubectl-scale", "Update")]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in managers[("ssa", "Apply")]["fieldsV1"]["f:spec"]
    # ... so applying replicas again now conflicts with the scaler.
    with pytest.raises(ApiError) as info:
        _apply(updated, _deployment(replicas=2), manager="ssa")
    assert 'conflict with "kubectl-scale" using apps/v1: .spec.replicas' in info.value.message


def test_update_without_changes_keeps_managed_fields() -> None:
    live = _stored(_apply(None, _deployment(), manager="ssa"))
    body = {k: v for k, v in live.items()}
    body["metadata"] = {k: v for k, v in live["metadata"].items() if k != "managedFields"}
    same = record_update(live, body, manager="kubectl-edit", now=T1)
    assert same["metadata"]["managedFields"] == live["metadata"]["managedFields"]


def test_status_subresource_is_tracked_separately() -> None:
    live = _stored(_apply(None, _deployment(), manager="ssa"))
    with_status = {**live, "status": {"readyReplicas": 2}}
    recorded = record_update(
        live, with_status, manager="kubesim", now=T1, subresource="status", rt=DEPLOYMENTS
    )
    entry = next(e for e in recorded["metadata"]["managedFields"] if e["manager"] == "kubesim")
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:readyReplicas": {}}}


def test_main_resource_apply_ignores_status() -> None:
    applied = {**_deployment(), "status": {"replicas": 9}}
    created = _apply(None, applied)
    assert "f:status" not in created["metadata"]["managedFields"][0]["fieldsV1"]


def test_configmap_labels_and_data() -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"a": "1"}, "finalizers": ["x"]},
        "data": {"k": "v"},
    }
    created = server_side_apply(
        None, cm, rt=CONFIGMAPS, manager="m", force=False, now=T0, subresource=None
    )
    assert created["metadata"]["managedFields"][0]["fieldsV1"] == {
        "f:data": {"f:k": {}},
        "f:metadata": {"f:finalizers": {'v:"x"': {}}, "f:labels": {"f:a": {}}},
    }


def test_record_update_infers_status_subresource_from_kind() -> None:
    live = _stored(_apply(None, _deployment(), manager="ssa"))
    body = {**live, "status": {"replicas": 1}, "spec": {**live["spec"], "paused": True}}
    recorded = record_update(live, body, manager="kubectl-edit", now=T1)
    entry = next(e for e in recorded["metadata"]["managedFields"] if e["manager"] == "kubectl-edit")
    assert entry["fieldsV1"] == {"f:spec": {"f:paused": {}}}


def test_managed_fields_are_sorted_apply_first() -> None:
    created = record_update(None, _stored(_deployment(replicas=1)), manager="creator", now=T0)
    applied = _apply(
        created, {**_deployment(replicas=1), "metadata": {"name": "web", "labels": {"a": "b"}}}
    )
    assert [e["operation"] for e in applied["metadata"]["managedFields"]] == ["Apply", "Update"]


def test_apply_of_non_object_is_400() -> None:
    with pytest.raises(ApiError) as info:
        server_side_apply(None, ["x"], rt=DEPLOYMENTS, manager="m", force=False, now=T0)  # type: ignore[arg-type]
    assert info.value.code == 400
