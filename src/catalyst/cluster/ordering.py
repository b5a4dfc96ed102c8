"""The order in which an environment's objects are applied.

Things other objects refer to come first, so a workload never starts before the
ServiceAccount, Secret, ConfigMap or claim it mounts exists (a Pod referencing a missing
ConfigMap would sit in ContainerCreating and the first status read would be misleading):

1. namespace-level policy: NetworkPolicy, ResourceQuota, LimitRange, PodDisruptionBudget
2. identity and configuration: ServiceAccount, Secret, ConfigMap
3. storage: StorageClass, PersistentVolume, PersistentVolumeClaim
4. RBAC: (Cluster)Role, (Cluster)RoleBinding
5. Service
6. long-running workloads: DaemonSet, Pod, ReplicationController, ReplicaSet, Deployment,
   StatefulSet, HorizontalPodAutoscaler
7. run-to-completion and edge: Job, CronJob, IngressClass, Ingress

Kinds not listed (custom resources) go last. The sort is stable: objects of one kind keep
the chart's order, so a render is applied the same way every time.
"""

from __future__ import annotations

from typing import Any

APPLY_ORDER: tuple[str, ...] = (
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "StatefulSet",
    "HorizontalPodAutoscaler",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
)

_RANK = {kind: index for index, kind in enumerate(APPLY_ORDER)}


def apply_rank(kind: str) -> int:
    """Position of ``kind`` in :data:`APPLY_ORDER`; unknown kinds sort after all known ones."""
    return _RANK.get(kind, len(APPLY_ORDER))


def in_apply_order(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``objects`` sorted for applying (stable within a kind)."""
    return sorted(objects, key=lambda obj: apply_rank(str(obj.get("kind", ""))))
