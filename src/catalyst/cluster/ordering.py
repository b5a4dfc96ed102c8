"""The order in which an environment's objects are applied: Helm's install order.

One table for everything that orders objects by kind: the chart renderer lists a render in
it (`catalyst.charts.manifests`) and the deployer applies in it and deletes in its reverse.
It is Helm's ``InstallOrder`` (``pkg/release/util/kind_sorter.go``), so a chart is applied
in the order its authors tested with ``helm install``. Things other objects refer to come
first, so a workload never starts before the ServiceAccount, Secret, ConfigMap or claim it
mounts exists (a Pod referencing a missing ConfigMap would sit in ContainerCreating and the
first status read would be misleading):

1. cluster and namespace-level policy: PriorityClass, Namespace, NetworkPolicy,
   ResourceQuota, LimitRange, PodSecurityPolicy, PodDisruptionBudget
2. identity and configuration: ServiceAccount, Secret, ConfigMap
3. storage: StorageClass, PersistentVolume, PersistentVolumeClaim, then CRDs
4. RBAC: (Cluster)Role, (Cluster)RoleBinding (and their lists)
5. Service
6. long-running workloads: DaemonSet, Pod, ReplicationController, ReplicaSet, Deployment,
   HorizontalPodAutoscaler, StatefulSet
7. run-to-completion and edge: Job, CronJob, IngressClass, Ingress, then API services and
   admission webhooks

Kinds not listed (custom resources) go last. The sort is stable: objects of one kind keep
the chart's order, so a render is applied the same way every time.
"""

from __future__ import annotations

from typing import Any

APPLY_ORDER: tuple[str, ...] = (
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
)

_RANK = {kind: index for index, kind in enumerate(APPLY_ORDER)}


def apply_rank(kind: str) -> int:
    """Position of ``kind`` in :data:`APPLY_ORDER`; unknown kinds sort after all known ones."""
    return _RANK.get(kind, len(APPLY_ORDER))


def in_apply_order(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``objects`` sorted for applying (stable within a kind)."""
    return sorted(objects, key=lambda obj: apply_rank(str(obj.get("kind", ""))))
