"""Nothing a chart renders leaves the environment's namespace (deployer against kubesim).

The render comes from a real chart (``tests/fixtures/charts/extra-objects``) through real
Helm; the cluster is compared before and after each operation, leaving out only the
environment's own namespace and what is in it.
"""

from __future__ import annotations

from typing import Any

import pytest

from catalyst.charts import HelmRenderer
from catalyst.charts.helm_sdk import HelmSdkBackend
from catalyst.cluster.client import ClusterClient
from catalyst.cluster.deployer import (
    ClusterScopedObjectsRefused,
    Deployer,
    DeployTarget,
    ForeignObjectsRefused,
)
from catalyst.cluster.errors import ClusterError
from catalyst.cluster.scope import AllowedClusterKinds
from catalyst.domain.model import ObjectRef
from kubesim.server import KubeSim
from tests.support.renders import config_map
from tests.support.tenancy import (
    EXTRA_OBJECTS_CHART,
    OTHER_TENANT_NAMESPACE,
    changes_between,
    cluster_snapshot,
    escalation_objects,
    seed_other_tenants,
    wait_for_default_service_account,
)

ENV_LABEL = "catalyst.io/environment-id"
SEVEN_KINDS = "ClusterRole,ClusterRoleBinding,Namespace,PersistentVolume,StorageClass,Node"


def target(environment_id: int, revision: int = 1) -> DeployTarget:
    return DeployTarget(environment_id, "extra-objects", revision, f"env-{environment_id}")


async def render(namespace: str, extra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return await HelmRenderer(HelmSdkBackend()).render(
        EXTRA_OBJECTS_CHART,
        release_name="tenant",
        namespace=namespace,
        values={"extraObjects": extra},
    )


async def exists(cluster: ClusterClient, path: str) -> bool:
    try:
        await cluster.request("GET", path)
    except ClusterError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def names_in(error: Exception) -> list[str]:
    """Which of the seven objects the error message names."""
    names = [o["metadata"]["name"] for o in escalation_objects("x")]
    return [name for name in names if name in str(error)]


async def test_cluster_scoped_objects_are_refused_before_anything_is_applied(
    kubesim: KubeSim, cluster: ClusterClient, deployer: Deployer, environment_id: int
) -> None:
    namespace = f"env-{environment_id}"
    await seed_other_tenants(cluster)
    objects = await render(namespace, escalation_objects(namespace))
    before = cluster_snapshot(kubesim, except_namespace=namespace)

    with pytest.raises(ClusterScopedObjectsRefused) as caught:
        await deployer.apply_environment(target(environment_id), objects)

    refused = {(ref.kind, ref.name) for ref in caught.value.refs}
    assert refused == {(o["kind"], o["metadata"]["name"]) for o in escalation_objects(namespace)}
    assert len(names_in(caught.value)) == 7, str(caught.value)
    assert caught.value.cause is None  # the environment's fault: never retried
    assert changes_between(before, cluster_snapshot(kubesim, except_namespace=namespace)) == []
    # Not even the namespace was created: nothing is applied.
    assert not await exists(cluster, f"/api/v1/namespaces/{namespace}")


async def test_existing_objects_of_others_are_never_adopted_even_when_their_kind_is_allowed(
    kubesim: KubeSim, cluster: ClusterClient, environment_id: int
) -> None:
    deployer = Deployer(cluster, allowed_cluster_kinds=AllowedClusterKinds.parse(SEVEN_KINDS))
    namespace = f"env-{environment_id}"
    await seed_other_tenants(cluster)
    objects = await render(namespace, escalation_objects(namespace))
    before = cluster_snapshot(kubesim, except_namespace=namespace)

    with pytest.raises(ForeignObjectsRefused) as caught:
        await deployer.apply_environment(target(environment_id), objects)

    assert {ref.name for ref in caught.value.refs} == {
        o["metadata"]["name"] for o in escalation_objects(namespace)
    }
    assert len(names_in(caught.value)) == 7, str(caught.value)
    assert changes_between(before, cluster_snapshot(kubesim, except_namespace=namespace)) == []
    assert not await exists(cluster, f"/api/v1/namespaces/{namespace}")


async def test_an_object_in_the_namespace_that_catalyst_did_not_apply_is_not_overwritten(
    cluster: ClusterClient, deployer: Deployer, environment_id: int
) -> None:
    namespace = f"env-{environment_id}"
    await deployer.apply_environment(target(environment_id), [config_map("ours")])
    # Someone else (an administrator, a controller) put an object of that name there.
    theirs = await cluster.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps",
        body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs"}},
    )
    ours = await cluster.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/ours")

    with pytest.raises(ForeignObjectsRefused, match="theirs"):
        await deployer.apply_environment(
            target(environment_id, 2), [config_map("ours", {"k": "new"}), config_map("theirs")]
        )

    after = await cluster.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/theirs")
    assert after["metadata"]["resourceVersion"] == theirs["metadata"]["resourceVersion"]
    assert ENV_LABEL not in (after["metadata"].get("labels") or {})
    unchanged = await cluster.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/ours")
    assert unchanged["metadata"]["resourceVersion"] == ours["metadata"]["resourceVersion"]


async def test_a_namespace_of_that_name_that_is_not_this_environments_is_left_alone(
    kubesim: KubeSim, cluster: ClusterClient, deployer: Deployer, environment_id: int
) -> None:
    namespace = f"env-{environment_id}"
    await cluster.request(
        "POST",
        "/api/v1/namespaces",
        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
    )
    await wait_for_default_service_account(cluster, namespace)
    before = cluster_snapshot(kubesim, except_namespace=None)

    with pytest.raises(ForeignObjectsRefused, match=namespace):
        await deployer.apply_environment(target(environment_id), [config_map("conf")])
    await deployer.delete_environment(namespace, environment_id=environment_id, timeout=5)

    assert changes_between(before, cluster_snapshot(kubesim, except_namespace=None)) == []


async def test_allowed_cluster_kinds_are_labelled_and_deleted_with_the_environment(
    kubesim: KubeSim, cluster: ClusterClient, environment_id: int
) -> None:
    allowed = AllowedClusterKinds.parse("ClusterRole,StorageClass.storage.k8s.io")
    deployer = Deployer(cluster, allowed_cluster_kinds=allowed)
    namespace = f"env-{environment_id}"
    await seed_other_tenants(cluster)
    role, storage = (
        {**obj, "metadata": {"name": f"{namespace}-{obj['kind'].lower()}"}}
        for obj in escalation_objects(namespace)
        if obj["kind"] in ("ClusterRole", "StorageClass")
    )
    before = cluster_snapshot(kubesim, except_namespace=namespace)

    inventory = await deployer.apply_environment(
        target(environment_id), await render(namespace, [role, storage])
    )

    cluster_scoped = [ref for ref in inventory if not ref.namespace]
    assert {(ref.kind, ref.name) for ref in cluster_scoped} == {
        ("StorageClass", storage["metadata"]["name"]),
        ("ClusterRole", role["metadata"]["name"]),
    }
    for path in (
        f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{role['metadata']['name']}",
        f"/apis/storage.k8s.io/v1/storageclasses/{storage['metadata']['name']}",
    ):
        live = await cluster.request("GET", path)
        assert live["metadata"]["labels"][ENV_LABEL] == str(environment_id)

    await deployer.delete_environment(namespace, environment_id=environment_id, timeout=30)

    assert changes_between(before, cluster_snapshot(kubesim, except_namespace=namespace)) == []
    assert not await exists(cluster, f"/api/v1/namespaces/{namespace}")
    # Deleting again (everything already gone) is harmless.
    await deployer.delete_environment(namespace, environment_id=environment_id, timeout=30)


async def test_prune_deletes_only_what_carries_this_environments_label(
    kubesim: KubeSim, cluster: ClusterClient, environment_id: int
) -> None:
    """A rebuild whose new render dropped objects that an inventory lists but that are not
    this environment's (recorded by an earlier version that adopted them, or by hand)."""
    namespace = f"env-{environment_id}"
    deployer = Deployer(cluster, allowed_cluster_kinds=AllowedClusterKinds.parse(SEVEN_KINDS))
    await seed_other_tenants(cluster)
    old = await deployer.apply_environment(
        target(environment_id), [config_map("keep"), config_map("drop")]
    )
    # An earlier version stamped this environment's labels on kube-system when it adopted it.
    await cluster.request(
        "PATCH",
        "/api/v1/namespaces/kube-system",
        body={"metadata": {"labels": {ENV_LABEL: str(environment_id)}}},
        content_type="application/merge-patch+json",
    )
    foreign = [
        ObjectRef(o["apiVersion"], o["kind"], "", o["metadata"]["name"])
        for o in escalation_objects(namespace)
    ] + [ObjectRef("v1", "ConfigMap", OTHER_TENANT_NAMESPACE, "tenant-data")]
    before = cluster_snapshot(kubesim, except_namespace=namespace)

    new = await deployer.apply_environment(target(environment_id, 2), [config_map("keep")])
    deleted = await deployer.prune(
        namespace, keep=new, previous=[*old, *foreign], environment_id=environment_id
    )

    assert [ref.name for ref in deleted] == ["drop"]
    assert changes_between(before, cluster_snapshot(kubesim, except_namespace=namespace)) == []
    assert not await exists(cluster, f"/api/v1/namespaces/{namespace}/configmaps/drop")


def test_allowed_cluster_kinds_setting_is_parsed_strictly() -> None:
    allowed = AllowedClusterKinds.parse(" ClusterRole , StorageClass.storage.k8s.io,")
    assert allowed.allows("rbac.authorization.k8s.io", "ClusterRole")
    assert allowed.allows("storage.k8s.io", "StorageClass")
    assert not allowed.allows("example.com", "StorageClass")
    assert not allowed.allows("", "Namespace")
    assert not AllowedClusterKinds.parse("").allows("", "Namespace")
    for bad in ("clusterrole", "Cluster Role", "ClusterRole.", "*", "Node.UPPER"):
        with pytest.raises(ValueError, match="CATALYST_ALLOWED_CLUSTER_KINDS"):
            AllowedClusterKinds.parse(bad)
