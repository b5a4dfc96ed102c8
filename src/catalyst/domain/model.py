"""The value types of the domain: public status strings, lifecycle, per-resource states.

The string values are fixed by docs/dev/catalyst-internals.md ("Fixed names") and are what the
store keeps and the API serves; `StrEnum` members compare equal to those strings, so adapters
can write `status.value` or the member itself.

`ObjectRef` identifies one Kubernetes object (apiVersion, kind, namespace, name). It is
hashable and ordered, and has a stable text `key` used in the JSON memory. Cluster-scoped
objects use an empty namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class EnvironmentStatus(StrEnum):
    """The public `status` of an environment (status-spec decision 1 and 2)."""

    STARTING = "starting"
    RUNNING = "running"
    FAILED = "failed"
    DELETING = "deleting"


class FailureKind(StrEnum):
    """Why a failed environment failed, taken from its lifecycle when it entered `failed`."""

    CREATION = "creation"
    RUNTIME = "runtime"
    REBUILD = "rebuild"


class Lifecycle(StrEnum):
    """The spec's "context" of §6.7."""

    CREATING = "creating"
    STEADY = "steady"
    REBUILDING = "rebuilding"
    DELETING = "deleting"


class Operation(StrEnum):
    """Pending background work on an environment (stored next to the status)."""

    CREATE = "create"
    REBUILD = "rebuild"
    DELETE = "delete"


class ResourceState(StrEnum):
    """kstatus-like state of one object (status-spec §1, §6.3)."""

    CURRENT = "Current"
    IN_PROGRESS = "InProgress"
    FAILED = "Failed"
    TERMINATING = "Terminating"
    NOT_FOUND = "NotFound"
    UNKNOWN = "Unknown"


@dataclass(frozen=True, slots=True, order=True)
class ObjectRef:
    """Identity of one Kubernetes object. `namespace` is "" for cluster-scoped objects."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> ObjectRef:
        """Build the reference of an object dict as the API serves it.

        Raises `ValueError` when apiVersion, kind or metadata.name is missing.
        """
        metadata = obj.get("metadata") or {}
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        name = metadata.get("name")
        if not api_version or not kind or not name:
            raise ValueError("object needs apiVersion, kind and metadata.name")
        return cls(str(api_version), str(kind), str(metadata.get("namespace") or ""), str(name))

    @property
    def group(self) -> str:
        """The API group ("" for core), without the version."""
        return self.api_version.rpartition("/")[0]

    @property
    def key(self) -> str:
        """Stable text form used as a key in the JSON memory: `apiVersion|kind|ns|name`."""
        return f"{self.api_version}|{self.kind}|{self.namespace}|{self.name}"

    @classmethod
    def from_key(cls, key: str) -> ObjectRef:
        api_version, kind, namespace, name = key.split("|")
        return cls(api_version, kind, namespace, name)

    def identity(self) -> tuple[str, str, str, str]:
        """``(group, kind, namespace, name)``: what the server considers the same object.

        Two refs that differ only in the *version* of their API group name one object
        (``networking.k8s.io/v1beta1`` and ``/v1`` Ingress), so decisions about deleting
        compare identities, never plain equality."""
        return (self.group, self.kind, self.namespace, self.name)

    def describe(self) -> str:
        """Long form for operators' messages: ``Kind namespace/name (apiVersion)``."""
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name} ({self.api_version})"

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True, slots=True)
class ResourceStatus:
    """The verdict on one inventory object: its state and a CamelCase reason."""

    ref: ObjectRef
    state: ResourceState
    reason: str
    message: str = ""
