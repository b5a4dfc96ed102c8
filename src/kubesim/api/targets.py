"""Turning an API URL path into what it addresses.

Paths look like ``/api/v1[/watch][/namespaces/{ns}]/{plural}[/{name}[/{sub}]]``
and the same under ``/apis/{group}/{version}``. ``/api/v1/namespaces/{name}``
and its ``status``/``finalize`` subresources are items of the cluster-scoped
``namespaces`` resource, not a namespace prefix. Anything unknown is a 404
with the apiserver's generic message.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubesim.errors import ApiError
from kubesim.resources import ResourceRegistry, ResourceType

NOT_FOUND_MESSAGE = "the server could not find the requested resource"
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


def resource_not_found() -> ApiError:
    return ApiError("NotFound", NOT_FOUND_MESSAGE, details={})


@dataclass(frozen=True, slots=True)
class Target:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    legacy_watch: bool  # the deprecated /watch/ path prefix

    @property
    def resource_label(self) -> str:
        """`deployments.apps/scale`-style label for request statistics."""
        label = self.rt.group_resource
        return f"{label}/{self.subresource}" if self.subresource else label


def parse_target(registry: ResourceRegistry, group: str, version: str, rest: list[str]) -> Target:
    """Resolve the part of the path after the group/version prefix against the server's
    ``registry``."""
    legacy_watch = bool(rest) and rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in _NAMESPACE_SUBRESOURCES:
        namespace = rest[1]
        rest = rest[2:]
    if not rest or len(rest) > 3 or any(not part for part in rest):
        raise resource_not_found()
    rt = registry.get(group, version, rest[0])
    if rt is None:
        raise resource_not_found()
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if namespace is not None and not rt.namespaced:
        raise resource_not_found()
    if subresource is not None and subresource not in rt.subresources:
        raise resource_not_found()
    return Target(rt, namespace, name, subresource, legacy_watch)
