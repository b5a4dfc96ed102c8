"""The kinds kubesim serves, with the discovery data real clients expect.

`REGISTRY` is the single source of truth for what exists: discovery documents,
URL routing, OpenAPI stubs and field-selector validation all read it. Names,
short names, categories and verbs mirror a v1.32 kube-apiserver so kubectl's
RESTMapper resolves `kubectl get deploy`, `kubectl get all` and friends the
same way it does against a real cluster.

Awkward cases: `events` exists twice (core/v1 and events.k8s.io/v1) and shares
one storage in a real cluster; here they are two separate resources. Namespaces
carry two extra subresources (`finalize`, `status`) that are writable only
through their own paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
"""One Kubernetes object of any kind, as decoded JSON (kubesim's one alias for it)."""

ALL_VERBS: tuple[str, ...] = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)

# Top-level fields every object may carry, beyond which Strict field validation
# rejects a body (kind-specific fields are added per resource type).
BASE_FIELDS: frozenset[str] = frozenset({"apiVersion", "kind", "metadata"})
SPEC_STATUS: tuple[str, ...] = ("spec", "status")


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One served resource (a kind in one group/version)."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    field_selectors: tuple[str, ...] = ()
    top_level_fields: tuple[str, ...] = SPEC_STATUS
    known_fields: frozenset[str] = field(default=frozenset(), compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "known_fields", BASE_FIELDS | frozenset(self.top_level_fields))

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def group_resource(self) -> str:
        """`deployments.apps` style name used in error messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def __repr__(self) -> str:
        return f"ResourceType({self.api_version}/{self.plural})"


_WORKLOAD = ("all",)


def _rt(
    group: str,
    plural: str,
    singular: str,
    kind: str,
    *,
    namespaced: bool = True,
    version: str = "v1",
    short: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    verbs: tuple[str, ...] = ALL_VERBS,
    sub: tuple[str, ...] = (),
    fields: tuple[str, ...] = (),
    top: tuple[str, ...] = SPEC_STATUS,
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        plural=plural,
        singular=singular,
        kind=kind,
        namespaced=namespaced,
        short_names=short,
        categories=categories,
        verbs=verbs,
        subresources=sub,
        field_selectors=fields,
        top_level_fields=top,
    )


_EVENT_CORE_FIELDS = (
    "involvedObject",
    "reason",
    "message",
    "source",
    "firstTimestamp",
    "lastTimestamp",
    "count",
    "type",
    "eventTime",
    "series",
    "action",
    "related",
    "reportingComponent",
    "reportingInstance",
)
_EVENT_NEW_FIELDS = (
    "eventTime",
    "series",
    "reportingController",
    "reportingInstance",
    "action",
    "reason",
    "regarding",
    "related",
    "note",
    "type",
    "deprecatedSource",
    "deprecatedFirstTimestamp",
    "deprecatedLastTimestamp",
    "deprecatedCount",
)

_TYPES: tuple[ResourceType, ...] = (
    _rt(
        "",
        "namespaces",
        "namespace",
        "Namespace",
        namespaced=False,
        short=("ns",),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
        sub=("finalize", "status"),
        fields=("status.phase",),
    ),
    _rt(
        "",
        "pods",
        "pod",
        "Pod",
        short=("po",),
        categories=_WORKLOAD,
        sub=("log", "status"),
        fields=(
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ),
    ),
    _rt(
        "",
        "services",
        "service",
        "Service",
        short=("svc",),
        categories=_WORKLOAD,
        verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
        sub=("status",),
    ),
    _rt(
        "",
        "configmaps",
        "configmap",
        "ConfigMap",
        short=("cm",),
        top=("data", "binaryData", "immutable"),
    ),
    _rt(
        "",
        "secrets",
        "secret",
        "Secret",
        fields=("type",),
        top=("data", "stringData", "type", "immutable"),
    ),
    _rt(
        "",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        short=("pvc",),
        sub=("status",),
    ),
    _rt(
        "",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        short=("sa",),
        top=("secrets", "imagePullSecrets", "automountServiceAccountToken"),
    ),
    _rt(
        "",
        "events",
        "event",
        "Event",
        short=("ev",),
        fields=(
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ),
        top=_EVENT_CORE_FIELDS,
    ),
    _rt(
        "",
        "nodes",
        "node",
        "Node",
        namespaced=False,
        short=("no",),
        sub=("status",),
        fields=("spec.unschedulable",),
    ),
    _rt(
        "apps",
        "deployments",
        "deployment",
        "Deployment",
        short=("deploy",),
        categories=_WORKLOAD,
        sub=("scale", "status"),
    ),
    _rt(
        "apps",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        short=("rs",),
        categories=_WORKLOAD,
        sub=("scale", "status"),
    ),
    _rt(
        "apps",
        "statefulsets",
        "statefulset",
        "StatefulSet",
        short=("sts",),
        categories=_WORKLOAD,
        sub=("scale", "status"),
    ),
    _rt(
        "apps",
        "daemonsets",
        "daemonset",
        "DaemonSet",
        short=("ds",),
        categories=_WORKLOAD,
        sub=("status",),
    ),
    _rt("batch", "jobs", "job", "Job", categories=_WORKLOAD, sub=("status",)),
    _rt(
        "batch",
        "cronjobs",
        "cronjob",
        "CronJob",
        short=("cj",),
        categories=_WORKLOAD,
        sub=("status",),
    ),
    _rt(
        "networking.k8s.io",
        "ingresses",
        "ingress",
        "Ingress",
        short=("ing",),
        sub=("status",),
    ),
    _rt(
        "",
        "persistentvolumes",
        "persistentvolume",
        "PersistentVolume",
        namespaced=False,
        short=("pv",),
        sub=("status",),
    ),
    _rt("", "endpoints", "endpoints", "Endpoints", short=("ep",), top=("subsets",)),
    _rt("", "resourcequotas", "resourcequota", "ResourceQuota", short=("quota",), sub=("status",)),
    _rt("", "limitranges", "limitrange", "LimitRange", short=("limits",), top=("spec",)),
    _rt(
        "apps",
        "controllerrevisions",
        "controllerrevision",
        "ControllerRevision",
        top=("data", "revision"),
    ),
    _rt(
        "autoscaling",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        "HorizontalPodAutoscaler",
        version="v2",
        short=("hpa",),
        categories=_WORKLOAD,
        sub=("status",),
    ),
    _rt(
        "policy",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        "PodDisruptionBudget",
        short=("pdb",),
        sub=("status",),
    ),
    _rt(
        "networking.k8s.io",
        "networkpolicies",
        "networkpolicy",
        "NetworkPolicy",
        short=("netpol",),
        top=("spec",),
    ),
    _rt(
        "storage.k8s.io",
        "storageclasses",
        "storageclass",
        "StorageClass",
        namespaced=False,
        short=("sc",),
        top=(
            "provisioner",
            "parameters",
            "reclaimPolicy",
            "mountOptions",
            "allowVolumeExpansion",
            "volumeBindingMode",
            "allowedTopologies",
        ),
    ),
    _rt("coordination.k8s.io", "leases", "lease", "Lease", top=("spec",)),
    _rt(
        "events.k8s.io",
        "events",
        "event",
        "Event",
        short=("ev",),
        fields=("reason", "type", "regarding.kind", "regarding.name", "regarding.namespace"),
        top=_EVENT_NEW_FIELDS,
    ),
    _rt("rbac.authorization.k8s.io", "roles", "role", "Role", top=("rules",)),
    _rt(
        "rbac.authorization.k8s.io",
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        top=("roleRef", "subjects"),
    ),
    _rt(
        "rbac.authorization.k8s.io",
        "clusterroles",
        "clusterrole",
        "ClusterRole",
        namespaced=False,
        top=("rules", "aggregationRule"),
    ),
    _rt(
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        namespaced=False,
        top=("roleRef", "subjects"),
    ),
)


class ResourceRegistry:
    """Lookup of served resource types by URL coordinates or by kind."""

    def __init__(self, types: tuple[ResourceType, ...]) -> None:
        self._types = types
        self._by_path = {(t.group, t.version, t.plural): t for t in types}
        self._by_kind: dict[tuple[str, str], ResourceType] = {}
        for t in types:
            # The first registration of a kind wins (core Event before events.k8s.io).
            self._by_kind.setdefault((t.api_version, t.kind), t)
        self._groups: dict[str, list[str]] = {}
        for t in types:
            versions = self._groups.setdefault(t.group, [])
            if t.version not in versions:
                versions.append(t.version)

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        return self._by_kind.get((api_version, kind))

    def all(self) -> tuple[ResourceType, ...]:
        return self._types

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(self._types)

    def groups(self) -> dict[str, list[str]]:
        """group name ("" for core) → served versions, in registration order."""
        return self._groups

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self._types if t.group == group and t.version == version]


REGISTRY = ResourceRegistry(_TYPES)

NAMESPACES = REGISTRY.get("", "v1", "namespaces")
assert NAMESPACES is not None
NAMESPACE_TYPE: ResourceType = NAMESPACES


def resource_type(group: str, version: str, plural: str) -> ResourceType:
    """Lookup that must succeed (for code that names a built-in type)."""
    rt = REGISTRY.get(group, version, plural)
    if rt is None:
        raise KeyError(f"{group}/{version}/{plural}")
    return rt
