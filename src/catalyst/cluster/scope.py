"""``AllowedClusterKinds``: the cluster-scoped kinds an environment may create at all.

An environment lives in its own namespace. Cluster-scoped objects (ClusterRoles and their
bindings, Namespaces, PersistentVolumes, StorageClasses, Nodes, CRDs, webhooks, ...) reach
every tenant, so by default a render holding any of them is refused before anything is
applied. An operator may allow named kinds with ``CATALYST_ALLOWED_CLUSTER_KINDS``; objects
of those kinds are then applied with the environment's labels, pruned and deleted with it,
and, like every object, never adopted when they already exist without those labels.

The setting is a comma-separated list of ``Kind`` (that kind in any API group) or
``Kind.group`` (only in that group), e.g. ``ClusterRole,StorageClass.storage.k8s.io``.
Kinds are case-sensitive, as in manifests. Parsing is strict: a malformed entry raises
`ValueError` naming the setting, so a typo stops the service at start instead of quietly
allowing nothing (or too much). Whether a kind *is* cluster-scoped is never decided here:
the cluster's discovery says so (`catalyst.cluster.discovery`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SETTING = "CATALYST_ALLOWED_CLUSTER_KINDS"

_KIND = r"[A-Z][A-Za-z0-9]*"
_GROUP = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_ENTRY = re.compile(rf"(?P<kind>{_KIND})(\.(?P<group>{_GROUP}))?")


@dataclass(frozen=True, slots=True)
class AllowedKind:
    """One entry: ``kind`` in ``group`` (None: in any group)."""

    kind: str
    group: str | None = None

    def matches(self, group: str, kind: str) -> bool:
        return kind == self.kind and (self.group is None or group == self.group)

    def __str__(self) -> str:
        return self.kind if self.group is None else f"{self.kind}.{self.group}"


@dataclass(frozen=True, slots=True)
class AllowedClusterKinds:
    """The operator's allow-list (empty: no cluster-scoped object is ever applied)."""

    entries: tuple[AllowedKind, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowedClusterKinds:
        """Read the setting's value (see module docstring); raises `ValueError`."""
        entries: list[AllowedKind] = []
        for raw in text.split(","):
            item = raw.strip()
            if not item:
                continue
            match = _ENTRY.fullmatch(item)
            if match is None:
                raise ValueError(
                    f"{SETTING}: {item!r} is not a kind (Kind or Kind.group, "
                    "e.g. ClusterRole or StorageClass.storage.k8s.io)"
                )
            entries.append(AllowedKind(match["kind"], match["group"]))
        return cls(tuple(dict.fromkeys(entries)))

    def allows(self, group: str, kind: str) -> bool:
        """Whether a cluster-scoped ``kind`` of API ``group`` ("" for core) may be applied."""
        return any(entry.matches(group, kind) for entry in self.entries)

    def may_include(self, group: str) -> bool:
        """Whether some entry could allow a kind of ``group`` (to skip discovery of others)."""
        return any(entry.group is None or entry.group == group for entry in self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __str__(self) -> str:
        return ", ".join(map(str, self.entries)) if self.entries else "none"
