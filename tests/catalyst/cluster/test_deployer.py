"""Deployer on both clusters (kubesim and realkube, `tests.support.clusters`): server-side
apply with Catalyst's field manager, a field another manager took taken back, re-apply,
prune, delete and waiting for the namespace to go, rejections."""

from __future__ import annotations

from typing import Any

import pytest

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.deployer import Deployer, DeployError, DeployTarget, NamespaceDeletionTimeout
from catalyst.cluster.errors import ClusterError
from catalyst.domain.model import ObjectRef
from tests.support.clusters import BOTH_CLUSTERS
from tests.support.renders import config_map, deployment, job, secret, service

pytestmark = BOTH_CLUSTERS

ENV_LABEL = "catalyst.io/environment-id"


def target(environment_id: int, revision: int = 1) -> DeployTarget:
    return DeployTarget(environment_id, "demo", revision, f"env-{environment_id}")


async def get(cluster: ClusterClient, ref: ObjectRef) -> dict[str, Any]:
    from catalyst.cluster.discovery import object_path

    resource = await cluster.resource_for(ref.api_version, ref.kind)
    return await cluster.request("GET", object_path(resource, ref.namespace or None, ref.name))


async def test_apply_creates_labelled_objects_owned_by_catalyst(
    cluster: ClusterClient, deployer: Deployer, environment_id: int
) -> None:
    render = [job("install", "install"), deployment("web"), service("web"), config_map("conf")]
    inventory = await deployer.apply_environment(target(environment_id), render)

    ns = f"env-{environment_id}"
    assert [ref.kind for ref in inventory] == ["ConfigMap", "Service", "Deployment", "Job"]
    assert all(ref.namespace == ns for ref in inventory)
    namespace = await get(cluster, ObjectRef("v1", "Namespace", "", ns))
    assert namespace["metadata"]["labels"][ENV_LABEL] == str(environment_id)
    for ref in inventory:
        live = await get(cluster, ref)
        labels = live["metadata"]["labels"]
        assert labels[ENV_LABEL] == str(environment_id)
        assert labels["app.kubernetes.io/managed-by"] == "catalyst"
        assert labels["catalyst.io/chart"] == "demo"
        assert labels["catalyst.io/revision"] == "1"
        managers = {(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]}
        assert ("catalyst", "Apply") in managers
    web = await get(cluster, inventory[2])
    template_labels = web["spec"]["template"]["metadata"]["labels"]
    assert template_labels[ENV_LABEL] == str(environment_id)
    assert "catalyst.io/revision" not in template_labels


async def test_reapplying_the_same_render_changes_nothing(
    cluster: ClusterClient, deployer: Deployer, environment_id: int
) -> None:
    render = [deployment("web"), config_map("conf")]
    first = await deployer.apply_environment(target(environment_id), render)
    before = {ref: (await get(cluster, ref))["metadata"] for ref in first}
    second = await deployer.apply_environment(target(environment_id), render)
    assert second == first
    for ref in second:
        after = (await get(cluster, ref))["metadata"]
        # A real Deployment controller writes status and its revision annotation at any
        # time, so only a kind without a controller must keep its resourceVersion; what
        # Catalyst's manager applied (and when) must be unchanged everywhere.
        if ref.kind == "ConfigMap":
            assert after["resourceVersion"] == before[ref]["resourceVersion"], ref
        assert after.get("generation") == before[ref].get("generation"), ref
        assert catalyst_entry(after) == catalyst_entry(before[ref]), ref


def catalyst_entry(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in metadata["managedFields"] if m["manager"] == "catalyst"]


async def test_a_field_another_manager_took_conflicts_and_is_taken_back(
    cluster: ClusterClient, deployer: Deployer, environment_id: int
) -> None:
    (ref,) = await deployer.apply_environment(
        target(environment_id), [config_map("conf", {"key": "ours"})]
    )
    path = f"/api/v1/namespaces/{ref.namespace}/configmaps/conf"
    theirs = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "conf", "namespace": ref.namespace},
        "data": {"key": "theirs"},
    }
    # Catalyst's field manager owns data.key: another manager's apply conflicts...
    with pytest.raises(ClusterError) as caught:
        await cluster.request(
            "PATCH",
            path,
            body=theirs,
            query={"fieldManager": "someone-else"},
            content_type="application/apply-patch+yaml",
        )
    assert caught.value.status == 409
    assert caught.value.reason == "Conflict"
    assert "catalyst" in caught.value.message
    # Both servers send a cause's type under "reason" (Go's StatusCause.Type is serialised
    # so; kubesim said "type" until the differential harness found it).
    causes = [(c.get("reason") or c.get("type"), c.get("field")) for c in caught.value.causes]
    assert causes == [("FieldManagerConflict", ".data.key")], caught.value.details
    # ...unless forced (as `kubectl edit` or a forced apply would).
    await cluster.request(
        "PATCH",
        path,
        body=theirs,
        query={"fieldManager": "someone-else", "force": True},
        content_type="application/apply-patch+yaml",
    )
    assert (await get(cluster, ref))["data"] == {"key": "theirs"}

    # The next deploy forces its own object back.
    await deployer.apply_environment(
        target(environment_id, 2), [config_map("conf", {"key": "ours"})]
    )
    live = await get(cluster, ref)
    assert live["data"] == {"key": "ours"}
    owners = {
        m["manager"]
        for m in live["metadata"]["managedFields"]
        if "f:key" in (m.get("fieldsV1") or {}).get("f:data", {})
    }
    assert owners == {"catalyst"}


async def test_objects_are_forced_into_the_environment_namespace(
    cluster: ClusterClient, deployer: Deployer, environment_id: int
) -> None:
    stray = config_map("stray")
    stray["metadata"]["namespace"] = "kube-system"
    (ref,) = await deployer.apply_environment(target(environment_id), [stray])
    assert ref.namespace == f"env-{environment_id}"
    with pytest.raises(ClusterError) as caught:
        await cluster.request("GET", "/api/v1/namespaces/kube-system/configmaps/stray")
    assert caught.value.status == 404


async def test_prune_deletes_what_the_new_render_dropped(
    cluster: ClusterClient, deployer: Deployer, environment_id: int
) -> None:
    old = await deployer.apply_environment(
        target(environment_id, 1), [config_map("keep"), config_map("drop"), secret("s")]
    )
    new = await deployer.apply_environment(target(environment_id, 2), [config_map("keep")])
    deleted = await deployer.prune(
        f"env-{environment_id}", keep=new, previous=old, environment_id=environment_id
    )
    assert {ref.name for ref in deleted} == {"drop", "s"}
    assert (await get(cluster, new[0]))["metadata"]["labels"]["catalyst.io/revision"] == "2"
    for ref in deleted:
        with pytest.raises(ClusterError) as caught:
            await get(cluster, ref)
        assert caught.value.status == 404
    # Pruning again (everything already gone) is harmless.
    assert (
        await deployer.prune(
            f"env-{environment_id}", keep=new, previous=old, environment_id=environment_id
        )
        == []
    )


async def test_delete_waits_until_the_namespace_is_gone_and_twice_is_harmless(
    cluster: ClusterClient, deployer: Deployer, environment_id: int
) -> None:
    await deployer.apply_environment(target(environment_id), [deployment("web"), service("web")])
    ns = f"env-{environment_id}"
    await deployer.delete_environment(ns, environment_id=environment_id, timeout=30)
    with pytest.raises(ClusterError) as caught:
        await cluster.request("GET", f"/api/v1/namespaces/{ns}")
    assert caught.value.status == 404
    await deployer.delete_environment(ns, environment_id=environment_id, timeout=30)


async def test_rejected_object_raises_deploy_error_naming_it(
    deployer: Deployer, environment_id: int
) -> None:
    with pytest.raises(DeployError) as caught:
        await deployer.apply_environment(
            target(environment_id), [config_map("fine"), config_map("Not_A_Valid_Name")]
        )
    assert "Not_A_Valid_Name" in str(caught.value)
    assert caught.value.cause is not None
    assert caught.value.cause.status == 422


async def test_unknown_kind_raises_deploy_error(deployer: Deployer, environment_id: int) -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    with pytest.raises(DeployError, match="Widget"):
        await deployer.apply_environment(target(environment_id), [widget])


async def test_terminating_namespace_refuses_deploys_and_delete_times_out(
    cluster: ClusterClient, deployer: Deployer, environment_id: int
) -> None:
    ns = f"env-{environment_id}"
    held = config_map("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    await deployer.apply_environment(target(environment_id), [held])

    with pytest.raises(NamespaceDeletionTimeout, match=ns):
        await deployer.delete_environment(ns, environment_id=environment_id, timeout=0.5)
    with pytest.raises(DeployError, match="being deleted"):
        await deployer.apply_environment(target(environment_id, 2), [config_map("late")])

    # Releasing the finalizer lets the namespace go; deleting again now completes.
    await cluster.request(
        "PATCH",
        f"/api/v1/namespaces/{ns}/configmaps/held",
        body={"metadata": {"finalizers": None}},
        content_type="application/merge-patch+json",
    )
    await deployer.delete_environment(ns, environment_id=environment_id, timeout=30)
