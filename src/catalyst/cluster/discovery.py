"""Which REST resource serves an ``apiVersion`` + ``kind``, and the URL paths of objects.

Discovery is read per group-version (``GET /api/v1`` or ``GET /apis/<group>/<version>``),
not for the whole cluster: the deployer only ever needs the handful of group-versions a
chart uses, and one small request each is cheaper than full discovery on every start.

Guarantees and awkward cases:

- Results are cached per group-version. A miss (a kind the cached list does not have)
  refetches that group-version once, because a CRD may have been installed since; if the
  kind is still absent, :class:`~catalyst.cluster.errors.UnknownResourceError` is raised.
  A group-version the server does not serve at all (404) is the same error.
- Subresources (``pods/log``, ``deployments/scale``) are not kinds of their own and are
  skipped; their parent's :attr:`ResourceInfo.subresources` lists them.
- Cluster-scoped objects have no namespace segment in their path, whatever the caller
  passes as namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    """One served resource: enough to build its URLs."""

    plural: str
    namespaced: bool
    group: str
    version: str
    kind: str = ""
    verbs: tuple[str, ...] = ()
    subresources: tuple[str, ...] = field(default=())

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def split_api_version(api_version: str) -> tuple[str, str]:
    """``"apps/v1"`` → ``("apps", "v1")``; ``"v1"`` → ``("", "v1")``."""
    group, _, version = api_version.rpartition("/")
    if not version:
        raise ValueError(f"invalid apiVersion {api_version!r}")
    return group, version


def group_version_path(api_version: str) -> str:
    """The discovery document (and URL prefix) of a group-version."""
    group, version = split_api_version(api_version)
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


def parse_resource_list(api_version: str, body: dict[str, Any]) -> dict[str, ResourceInfo]:
    """Map kind → resource from an ``APIResourceList`` body."""
    group, version = split_api_version(api_version)
    entries = body.get("resources") or []
    subresources: dict[str, list[str]] = {}
    for entry in entries:
        name = str(entry.get("name", ""))
        parent, slash, sub = name.partition("/")
        if slash:
            subresources.setdefault(parent, []).append(sub)
    by_kind: dict[str, ResourceInfo] = {}
    for entry in entries:
        name = str(entry.get("name", ""))
        kind = str(entry.get("kind", ""))
        if not name or "/" in name or not kind:
            continue
        # Some servers list one kind under two names (e.g. legacy aliases); the first wins,
        # which is the canonical plural in every real server's ordering.
        by_kind.setdefault(
            kind,
            ResourceInfo(
                plural=name,
                namespaced=bool(entry.get("namespaced", False)),
                group=str(entry.get("group") or group),
                version=str(entry.get("version") or version),
                kind=kind,
                verbs=tuple(str(v) for v in entry.get("verbs") or ()),
                subresources=tuple(subresources.get(name, ())),
            ),
        )
    return by_kind


def collection_path(resource: ResourceInfo, namespace: str | None = None) -> str:
    """URL of a resource collection: all namespaces when ``namespace`` is None or empty."""
    prefix = group_version_path(resource.api_version)
    if resource.namespaced and namespace:
        return f"{prefix}/namespaces/{quote(namespace, safe='')}/{resource.plural}"
    return f"{prefix}/{resource.plural}"


def object_path(
    resource: ResourceInfo,
    namespace: str | None,
    name: str,
    subresource: str | None = None,
) -> str:
    """URL of one object (or one of its subresources)."""
    if resource.namespaced and not namespace:
        raise ValueError(f"{resource.kind or resource.plural} {name!r} needs a namespace")
    path = f"{collection_path(resource, namespace)}/{quote(name, safe='')}"
    return f"{path}/{subresource}" if subresource else path
