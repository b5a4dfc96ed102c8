"""`plan_apply`: which objects are hooks, their phase for a create or a rebuild, Helm's
order (weight, kind, name) and delete policies."""

from __future__ import annotations

from typing import Any

from catalyst.cluster.hooks import DeletePolicy, ReleaseEvent, ever_applied, hook_of, plan_apply


def obj(kind: str, name: str, **annotations: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if annotations:
        metadata["annotations"] = {
            f"helm.sh/{k.replace('_', '-')}": v for k, v in annotations.items()
        }
    return {"apiVersion": "v1", "kind": kind, "metadata": metadata}


def names(objects: Any) -> list[str]:
    return [o["metadata"]["name"] if isinstance(o, dict) else o.name for o in objects]


RENDER = [
    obj("Deployment", "web"),
    obj("Job", "b-job", hook="pre-install,pre-upgrade"),
    obj("Job", "a-job", hook="pre-install", hook_weight="0"),
    obj("ConfigMap", "settings", hook="pre-install", hook_weight="0"),
    obj("ServiceAccount", "first", hook="pre-install", hook_weight="-3"),
    obj("Job", "late", hook=" post-install ", hook_weight="2"),
    obj("Job", "upgrade-only", hook="pre-upgrade"),
    obj("Pod", "test", hook="test"),
    obj("Job", "cleanup", hook="pre-delete"),
    obj("ConfigMap", "config"),
]


def test_a_create_runs_install_hooks_around_the_rest_in_helm_order() -> None:
    plan = plan_apply(RENDER, ReleaseEvent.INSTALL)
    assert names(plan.pre_hooks) == ["first", "settings", "a-job", "b-job"]
    assert names(plan.resources) == ["config", "web"]
    assert names(plan.post_hooks) == ["late"]
    assert names(plan.skipped) == ["upgrade-only", "test", "cleanup"]


def test_a_rebuild_runs_upgrade_hooks() -> None:
    plan = plan_apply(RENDER, ReleaseEvent.UPGRADE)
    assert names(plan.pre_hooks) == ["b-job", "upgrade-only"]
    assert names(plan.post_hooks) == []
    assert "test" in names(plan.skipped)


def test_weights_and_delete_policies_default_as_in_helm() -> None:
    plain = hook_of(obj("Job", "j", hook="pre-install", hook_weight="heavy"))
    assert plain is not None
    assert plain.weight == 0
    assert plain.delete_policies == {DeletePolicy.BEFORE_HOOK_CREATION}
    chosen = hook_of(
        obj("Job", "j", hook="pre-install", hook_delete_policy="hook-succeeded, hook-failed, x")
    )
    assert chosen is not None
    assert chosen.delete_policies == {DeletePolicy.HOOK_SUCCEEDED, DeletePolicy.HOOK_FAILED}
    assert hook_of(obj("Job", "j")) is None


def test_test_hooks_are_never_applied_by_any_operation() -> None:
    assert names(ever_applied(RENDER)) == [
        name for name in names(RENDER) if name not in ("test", "cleanup")
    ]
