"""What the "nothing leaves the environment's namespace" tests share.

- ``EXTRA_OBJECTS_CHART``: a chart that renders its own ConfigMap plus whatever its
  ``extraObjects`` value lists, as many public charts allow.
- `escalation_objects`: the seven objects a tenant must never create, change or delete
  through Catalyst: a ClusterRole, a ClusterRoleBinding to ``cluster-admin``, Namespace
  ``kube-system``, another tenant's namespace, a PersistentVolume, a StorageClass and the
  cluster's Node.
- `seed_other_tenants`: puts objects of those names on the cluster first, as another tenant
  (or the cluster itself) owns them, so adoption, overwriting and pruning can be observed.
- `cluster_snapshot`: every object on a kubesim cluster except one namespace and what is
  in it, with its uid and resourceVersion, to compare before and after.
"""

from __future__ import annotations

from typing import Any

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.discovery import collection_path
from catalyst.cluster.errors import ClusterError
from kubesim.server import NODE_NAME, KubeSim
from tests.support.chart_packages import CHARTS
from tests.support.waiting import eventually

EXTRA_OBJECTS_CHART = CHARTS / "extra-objects"

OTHER_TENANT_ID = 987654
OTHER_TENANT_NAMESPACE = f"env-{OTHER_TENANT_ID}"
ROLE = "catalyst-test-escalate"
VOLUME = "catalyst-test-volume"
STORAGE_CLASS = "catalyst-test-storage"

ObjectKey = tuple[str, str, str, str]


def escalation_objects(namespace: str) -> list[dict[str, Any]]:
    """The seven cluster-scoped objects; ``namespace`` is the environment's own (the
    binding gives its default ServiceAccount cluster-admin)."""
    hostile = {"catalyst-test/hostile": "true"}
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": ROLE, "labels": hostile},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": ROLE, "labels": hostile},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}],
        },
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "kube-system", "labels": hostile},
        },
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": OTHER_TENANT_NAMESPACE, "labels": hostile},
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": VOLUME, "labels": hostile},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "hostPath": {"path": "/"},
            },
        },
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": STORAGE_CLASS, "labels": hostile},
            "provisioner": "example.com/hostile",
        },
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": NODE_NAME, "labels": hostile},
            "spec": {"unschedulable": True},
        },
    ]


def extra_objects_values(namespace: str) -> dict[str, Any]:
    """Values for ``EXTRA_OBJECTS_CHART`` that render the seven objects."""
    return {"extraObjects": escalation_objects(namespace)}


def _owned_by_other_tenant(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as it exists before the test: unlabelled, or another tenant's."""
    seeded = {**obj, "metadata": {"name": obj["metadata"]["name"]}}
    if obj["kind"] in ("ClusterRole", "ClusterRoleBinding") or (
        obj["kind"] == "Namespace" and obj["metadata"]["name"] == OTHER_TENANT_NAMESPACE
    ):
        seeded["metadata"]["labels"] = {
            "app.kubernetes.io/managed-by": "catalyst",
            "catalyst.io/environment-id": str(OTHER_TENANT_ID),
        }
    if obj["kind"] == "ClusterRoleBinding":
        seeded["subjects"] = [
            {"kind": "ServiceAccount", "name": "default", "namespace": OTHER_TENANT_NAMESPACE}
        ]
    if obj["kind"] == "Node":
        seeded.pop("spec")
    return seeded


async def seed_other_tenants(cluster: ClusterClient) -> None:
    """Create what the seven objects would collide with (kube-system and the Node exist on
    every kubesim), plus a ConfigMap in the other tenant's namespace."""
    for obj in escalation_objects(OTHER_TENANT_NAMESPACE):
        if obj["kind"] == "Node" or obj["metadata"]["name"] == "kube-system":
            continue
        resource = await cluster.resource_for(obj["apiVersion"], obj["kind"])
        await cluster.request("POST", collection_path(resource), body=_owned_by_other_tenant(obj))
    await cluster.request(
        "POST",
        f"/api/v1/namespaces/{OTHER_TENANT_NAMESPACE}/configmaps",
        body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tenant-data"}},
    )
    await wait_for_default_service_account(cluster, OTHER_TENANT_NAMESPACE)


async def wait_for_default_service_account(cluster: ClusterClient, namespace: str) -> None:
    """kubesim gives a new namespace its ServiceAccount ``default`` just after creating it:
    wait for it, so that a snapshot taken next already has it."""

    async def present() -> bool:
        try:
            await cluster.request("GET", f"/api/v1/namespaces/{namespace}/serviceaccounts/default")
        except ClusterError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    await eventually(present, f"the default ServiceAccount of {namespace}", within=15.0)


def cluster_snapshot(
    sim: KubeSim, *, except_namespace: str | None
) -> dict[ObjectKey, tuple[str, str]]:
    """(group, kind, namespace, name) → (uid, resourceVersion) of every object on the
    cluster (custom resources included), leaving out ``except_namespace`` (None: nothing)
    and everything in it."""
    snapshot: dict[ObjectKey, tuple[str, str]] = {}
    for resource in sim.store.registry.storages():
        for obj in sim.store.list(resource):
            metadata = obj["metadata"]
            namespace = str(metadata.get("namespace") or "")
            name = str(metadata["name"])
            if except_namespace is not None and (
                namespace == except_namespace
                or (resource.kind == "Namespace" and name == except_namespace)
            ):
                continue
            key = (resource.group, resource.kind, namespace, name)
            snapshot[key] = (str(metadata.get("uid")), str(metadata.get("resourceVersion")))
    return snapshot


def changes_between(
    before: dict[ObjectKey, tuple[str, str]], after: dict[ObjectKey, tuple[str, str]]
) -> list[str]:
    """Readable differences of two snapshots (empty: nothing changed)."""
    changed = [f"changed {key}" for key in before if key in after and before[key] != after[key]]
    removed = [f"deleted {key}" for key in before if key not in after]
    added = [f"created {key}" for key in after if key not in before]
    return changed + removed + added
