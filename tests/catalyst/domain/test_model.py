"""Value types: fixed strings, object references, threshold validation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from catalyst.domain import (
    EnvironmentStatus,
    FailureKind,
    Lifecycle,
    ObjectRef,
    Operation,
    StatusThresholds,
)


def test_fixed_strings_match_the_internal_contract() -> None:
    assert [s.value for s in EnvironmentStatus] == ["starting", "running", "failed", "deleting"]
    assert [k.value for k in FailureKind] == ["creation", "runtime", "rebuild"]
    assert [c.value for c in Lifecycle] == ["creating", "steady", "rebuilding", "deleting"]
    assert [o.value for o in Operation] == ["create", "rebuild", "delete"]
    assert EnvironmentStatus("running") is EnvironmentStatus.RUNNING
    assert str(EnvironmentStatus.RUNNING) == "running"


def test_object_ref_from_object_and_key() -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "env-1"},
    }
    ref = ObjectRef.from_object(obj)
    assert ref == ObjectRef("apps/v1", "Deployment", "env-1", "web")
    assert ref.group == "apps"
    assert ObjectRef.from_key(ref.key) == ref
    assert {ref: 1}[ObjectRef("apps/v1", "Deployment", "env-1", "web")] == 1
    assert str(ref) == "Deployment/web"


def test_cluster_scoped_ref_has_empty_namespace() -> None:
    ref = ObjectRef.from_object(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}
    )
    assert ref.namespace == ""
    assert ref.group == ""


def test_object_ref_rejects_incomplete_objects() -> None:
    with pytest.raises(ValueError, match=r"metadata\.name"):
        ObjectRef.from_object({"apiVersion": "v1", "kind": "Pod", "metadata": {}})


def test_threshold_defaults() -> None:
    t = StatusThresholds()
    assert (t.unsched, t.image, t.config) == (
        timedelta(minutes=5),
        timedelta(minutes=5),
        timedelta(minutes=2),
    )
    assert (t.crash_n, t.crash_t, t.missing, t.blip) == (
        3,
        timedelta(minutes=5),
        timedelta(minutes=2),
        timedelta(seconds=60),
    )
    assert (t.create_timeout, t.rebuild_timeout, t.notready_timeout) == (
        timedelta(minutes=30),
    ) * 2 + (timedelta(minutes=15),)
    assert (t.stale, t.expiry) == (timedelta(minutes=2), timedelta(days=3))


@pytest.mark.parametrize("kwargs", [{"image": timedelta(seconds=-1)}, {"crash_n": 0}])
def test_threshold_validation(kwargs) -> None:
    with pytest.raises(ValueError, match="threshold"):
        StatusThresholds(**kwargs)
