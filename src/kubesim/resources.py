"""The kinds kubesim serves, with the discovery data real clients expect.

`BUILTIN_TYPES` are the kinds every kubesim serves; `REGISTRY` is a frozen
registry of just those, for code that names a built-in type. A running server
reads its own registry (`Store.registry`, a `ResourceRegistry` made by
`new_registry()`): the built-in types plus the custom resources its
CustomResourceDefinitions registered (`kubesim.crds`), so discovery documents,
URL routing, OpenAPI stubs and field-selector validation of one server never
see another server's CRDs. Names, short names, categories and verbs mirror a
v1.32 kube-apiserver so kubectl's RESTMapper resolves `kubectl get deploy`,
`kubectl get all` and friends the same way it does against a real cluster.

All versions of one resource share one storage, keyed by `store_key`
(group, plural): an object written through one version of a custom resource
reads back through every other version, with only ``apiVersion`` converted
(`in_version`), as CRDs with ``conversion.strategy: None`` behave.

Awkward cases: `events` exists twice (core/v1 and events.k8s.io/v1) and shares
one storage in a real cluster; here they are two separate resources. Namespaces
carry two extra subresources (`finalize`, `status`) that are writable only
through their own paths.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
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
    # Custom resources (served from a CRD): any top-level field is accepted, strategic
    # merge patch is refused, only metadata.name/namespace field selectors exist.
    custom: bool = False
    list_kind_name: str = ""  # a CRD's spec.names.listKind ("" = f"{kind}List")
    # A custom resource's scale subresource: (specReplicasPath, statusReplicasPath,
    # labelSelectorPath), JSON paths like ".spec.replicas" ("" = unset).
    scale_paths: tuple[str, str, str] | None = None
    # A custom resource's additionalPrinterColumns: (name, type, format, priority,
    # jsonPath, description) each.
    printer_columns: tuple[tuple[str, str, str, int, str, str], ...] = ()
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
        return self.list_kind_name or f"{self.kind}List"

    @property
    def store_key(self) -> tuple[str, str]:
        """The storage all versions of this resource share: (group, plural)."""
        return (self.group, self.plural)

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
    _rt(
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        "customresourcedefinition",
        "CustomResourceDefinition",
        namespaced=False,
        short=("crd", "crds"),
        categories=("api-extensions",),
        sub=("status",),
    ),
)


_KUBE_VERSION_RE = re.compile(r"^v([1-9][0-9]*)(?:(alpha|beta)([1-9][0-9]*))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key putting versions in Kubernetes' priority order (most preferred first):
    GA before beta before alpha, higher numbers first, then any other name by name."""
    match = _KUBE_VERSION_RE.match(version)
    if match is None:
        return (3, 0, 0, version)
    major = int(match.group(1))
    stability = {None: 0, "beta": 1, "alpha": 2}[match.group(2)]
    minor = int(match.group(3) or 0)
    return (stability, -major, -minor, "")


class ResourceRegistry:
    """Lookup of served resource types by URL coordinates or by kind.

    A registry starts with a fixed set of built-in types; a mutable one (``frozen=False``)
    also holds custom types registered per CRD through :meth:`set_custom`. A custom type
    is never served over a built-in resource (same group and plural, any version): the
    built-in one keeps its URLs and its storage.
    """

    def __init__(self, types: Iterable[ResourceType], *, frozen: bool = True) -> None:
        self._builtin = tuple(types)
        self._frozen = frozen
        self._custom: dict[str, tuple[ResourceType, ...]] = {}  # CRD name -> its served types
        self._reindex()

    def _reindex(self) -> None:
        builtin_storages = {t.store_key for t in self._builtin}
        custom = sorted(
            (
                t
                for types in self._custom.values()
                for t in types
                if t.store_key not in builtin_storages
            ),
            key=lambda t: (t.group, version_priority(t.version), t.plural),
        )
        types = self._builtin + tuple(custom)
        self._types = types
        self._by_path = {(t.group, t.version, t.plural): t for t in types}
        self._by_kind: dict[tuple[str, str], ResourceType] = {}
        for t in types:
            # The first registration of a kind wins (core Event before events.k8s.io).
            self._by_kind.setdefault((t.api_version, t.kind), t)
        groups: dict[str, list[str]] = {}
        for t in self._builtin:
            versions = groups.setdefault(t.group, [])
            if t.version not in versions:
                versions.append(t.version)
        custom_groups: dict[str, list[str]] = {}
        for t in custom:
            versions = groups.get(t.group) or custom_groups.setdefault(t.group, [])
            if t.version not in versions:
                versions.append(t.version)
        for versions in custom_groups.values():
            versions.sort(key=version_priority)
        # CRD groups come after the built-in ones, by name (as the aggregator orders them).
        self._groups = {**groups, **dict(sorted(custom_groups.items()))}

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        return self._by_kind.get((api_version, kind))

    def all(self) -> tuple[ResourceType, ...]:
        return self._types

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(self._types)

    def groups(self) -> dict[str, list[str]]:
        """group name ("" for core) → served versions, in preference order."""
        return self._groups

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self._types if t.group == group and t.version == version]

    def storages(self) -> list[ResourceType]:
        """One served type per storage (the first of its versions): the types to visit to
        see every stored object exactly once."""
        seen: set[tuple[str, str]] = set()
        out: list[ResourceType] = []
        for t in self._types:
            if t.store_key not in seen:
                seen.add(t.store_key)
                out.append(t)
        return out

    # ------------------------------------------------------------- custom types

    def custom_types(self, crd_name: str) -> tuple[ResourceType, ...]:
        """The types registered for one CRD (those shadowed by built-ins included)."""
        return self._custom.get(crd_name, ())

    def is_builtin_storage(self, rt: ResourceType) -> bool:
        """Whether ``rt``'s storage is a built-in resource's."""
        return any(t.store_key == rt.store_key for t in self._builtin)

    def set_custom(self, crd_name: str, types: Iterable[ResourceType]) -> tuple[ResourceType, ...]:
        """Serve exactly ``types`` for the CRD ``crd_name`` (none: stop serving it).

        Returns the previously registered types that are no longer served as they were.
        """
        if self._frozen:
            raise TypeError("this registry is frozen (use new_registry() for a server)")
        new = tuple(types)
        old = self._custom.get(crd_name, ())
        if new:
            self._custom[crd_name] = new
        else:
            self._custom.pop(crd_name, None)
        if new != old:
            self._reindex()
        return tuple(t for t in old if t not in new)


BUILTIN_TYPES: tuple[ResourceType, ...] = _TYPES

REGISTRY = ResourceRegistry(BUILTIN_TYPES)
"""The built-in types only (frozen): for code that names a built-in type."""


def new_registry() -> ResourceRegistry:
    """A server's own registry: the built-in types, open to CRD registrations."""
    return ResourceRegistry(BUILTIN_TYPES, frozen=False)


def in_version(rt: ResourceType, obj: Obj) -> Obj:
    """``obj`` as served through ``rt``'s version (only ``apiVersion`` differs between
    versions of one storage); the object itself when it already is."""
    if obj.get("apiVersion") == rt.api_version:
        return obj
    return {**obj, "apiVersion": rt.api_version}


NAMESPACES = REGISTRY.get("", "v1", "namespaces")
assert NAMESPACES is not None
NAMESPACE_TYPE: ResourceType = NAMESPACES
_CRDS = REGISTRY.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
assert _CRDS is not None
CRD_TYPE: ResourceType = _CRDS


def resource_type(group: str, version: str, plural: str) -> ResourceType:
    """Lookup that must succeed (for code that names a built-in type)."""
    rt = REGISTRY.get(group, version, plural)
    if rt is None:
        raise KeyError(f"{group}/{version}/{plural}")
    return rt
