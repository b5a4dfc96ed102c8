"""Reading and deleting objects only when they are one environment's own.

An object belongs to an environment when it carries that environment's labels
(:func:`catalyst.cluster.labels.belongs_to`). The deployer's safety rests on three
operations here:

- :func:`read_live` reads an object, or None when the server has none of that name.
- :func:`delete_if_owned` reads the object, deletes it only if it belongs to the
  environment, and makes the delete conditional on the uid it read (``preconditions.uid``):
  a namesake created between the read and the delete (another tenant's, an
  administrator's) is never deleted; the read is simply repeated, at most three times. An
  object that is already being deleted counts as deleted and is not deleted again (a
  namespace being terminated answers a second delete with 409).
- :func:`owned_cluster_objects` lists, by label selector, the cluster-scoped objects of the
  allowed kinds that carry the environment's labels, finding the served resources by
  discovery (only of the groups an allowed entry can match; nothing at all when no kind
  is allowed).

Every cluster failure is raised as it comes (a `ClusterError`); the deployer decides what
it means.
"""

from __future__ import annotations

import logging
from typing import Any

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.discovery import (
    ResourceInfo,
    collection_path,
    group_version_path,
    parse_resource_list,
)
from catalyst.cluster.errors import ClusterConflictError, ClusterNotFoundError
from catalyst.cluster.labels import belongs_to, ownership_selector
from catalyst.cluster.scope import AllowedClusterKinds
from catalyst.domain.model import ObjectRef

logger = logging.getLogger(__name__)

_ATTEMPTS = 3


class ObjectKeepsChanging(Exception):
    """Every conditional delete found the object replaced since it was read."""


async def read_live(client: ClusterClient, path: str) -> dict[str, Any] | None:
    """The object at ``path``, or None when there is none (404)."""
    try:
        return await client.request("GET", path)
    except ClusterNotFoundError:
        return None


async def delete_if_owned(
    client: ClusterClient, path: str, ref: ObjectRef, environment_id: int
) -> bool:
    """Delete the object at ``path`` if it belongs to ``environment_id`` (see module doc).

    Returns whether this environment's object was deleted (or is being deleted); False when
    there is none or it is someone else's (left alone, with a warning). Raises
    `ObjectKeepsChanging` after three attempts that each found a replaced object."""
    for _ in range(_ATTEMPTS):
        live = await read_live(client, path)
        if live is None:
            return False
        if not belongs_to(live, environment_id):
            logger.warning(
                "environment %s: left %s alone: it does not carry the environment's labels",
                environment_id,
                ref.describe(),
            )
            return False
        metadata = live.get("metadata") or {}
        if metadata.get("deletionTimestamp"):
            return True
        try:
            await client.request(
                "DELETE",
                path,
                query={"propagationPolicy": "Background"},
                body={
                    "apiVersion": "v1",
                    "kind": "DeleteOptions",
                    "preconditions": {"uid": metadata.get("uid")},
                },
            )
        except ClusterNotFoundError:
            return False
        except ClusterConflictError:
            continue  # replaced (or being terminated) since the read: read again
        return True
    raise ObjectKeepsChanging(f"{ref.describe()} was replaced while it was being deleted")


async def owned_cluster_objects(
    client: ClusterClient, allowed: AllowedClusterKinds, environment_id: int
) -> list[tuple[ResourceInfo, dict[str, Any]]]:
    """This environment's cluster-scoped objects of the allowed kinds, by label."""
    found: list[tuple[ResourceInfo, dict[str, Any]]] = []
    for resource in await _allowed_cluster_resources(client, allowed):
        listing = await client.request(
            "GET",
            collection_path(resource),
            query={"labelSelector": ownership_selector(environment_id)},
        )
        for item in listing.get("items") or []:
            if isinstance(item, dict) and belongs_to(item, environment_id):
                found.append((resource, item))
    return found


async def _allowed_cluster_resources(
    client: ClusterClient, allowed: AllowedClusterKinds
) -> list[ResourceInfo]:
    """The served cluster-scoped resources whose kind ``allowed`` allows (preferred
    version of each group)."""
    if not allowed:
        return []
    group_versions = ["v1"] if allowed.may_include("") else []
    groups = await client.request("GET", "/apis")
    for group in groups.get("groups") or []:
        name = str(group.get("name") or "")
        preferred = (group.get("preferredVersion") or {}).get("groupVersion")
        if name and preferred and allowed.may_include(name):
            group_versions.append(str(preferred))
    resources: list[ResourceInfo] = []
    for group_version in group_versions:
        body = await client.request("GET", group_version_path(group_version))
        for resource in parse_resource_list(group_version, body).values():
            listable = not resource.verbs or "list" in resource.verbs
            if (
                not resource.namespaced
                and listable
                and allowed.allows(resource.group, resource.kind)
            ):
                resources.append(resource)
    return resources
