"""Trim objects before they enter the informer cache (k8s-semantics A18).

The cache holds every pod, workload and claim of every environment, so each object is cut
down to what the status rules (``catalyst.domain``) and the cache's indexes read:

- ``metadata``: identity, labels (the environment index), owner references, generation,
  deletion and creation timestamps, resourceVersion, and only the annotations the rules read
  (the Deployment revision). ``managedFields`` and ``last-applied-configuration`` — often the
  largest part of an object — are dropped (controller-runtime does the same).
- ``spec``: only the scalar settings the rules read; pod templates, container specs and
  volume claim templates are dropped.
- ``status``: kept, minus per-container image and runtime identifiers.
- Everything else at the top level (a Secret's ``data``, a ConfigMap's ``data``) is
  dropped, so no secret value is ever cached.

Kinds watched as metadata only (PartialObjectMetadata) go through
:func:`metadata_for(api_version, kind) <metadata_for>` instead: the same trimmed metadata
under the object's own apiVersion and kind (the server answers with ``meta.k8s.io/v1
PartialObjectMetadata``), and nothing else.

The functions are idempotent and return a new dict; it never mutates its input, so the same
object may safely pass through it twice (relist after a watch event, watch-list).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from catalyst.watcher.indexer import KubeObject

KEPT_METADATA = (
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "labels",
    "ownerReferences",
)
KEPT_ANNOTATIONS = ("deployment.kubernetes.io/revision",)
KEPT_SPEC = (
    "replicas",
    "paused",
    "progressDeadlineSeconds",
    "updateStrategy",
    "suspend",
    "type",
    "externalIPs",
    "restartPolicy",
    "nodeName",
)
DROPPED_CONTAINER_STATUS = (
    "image",
    "imageID",
    "containerID",
    "volumeMounts",
    "resources",
    "allocatedResources",
    "user",
)


def _trim_metadata(obj: KubeObject) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    new_meta = {key: meta[key] for key in KEPT_METADATA if key in meta}
    annotations = meta.get("annotations") or {}
    kept_annotations = {k: annotations[k] for k in KEPT_ANNOTATIONS if k in annotations}
    if kept_annotations:
        new_meta["annotations"] = kept_annotations
    return new_meta


def metadata_for(api_version: str, kind: str) -> Callable[[KubeObject], KubeObject]:
    """The transform of a metadata-only informer of ``kind``: ``{apiVersion, kind,
    metadata}`` with the kind's own apiVersion and kind, whatever the server sent."""

    def transform(obj: KubeObject) -> KubeObject:
        return {"apiVersion": api_version, "kind": kind, "metadata": _trim_metadata(obj)}

    return transform


def trim_for_status(obj: KubeObject) -> KubeObject:
    """A copy of ``obj`` holding only what the status rules and indexes need."""
    trimmed: KubeObject = {}
    for key in ("apiVersion", "kind"):
        if key in obj:
            trimmed[key] = obj[key]
    trimmed["metadata"] = _trim_metadata(obj)

    spec = obj.get("spec")
    if isinstance(spec, dict):
        trimmed["spec"] = {key: spec[key] for key in KEPT_SPEC if key in spec}

    status = obj.get("status")
    if isinstance(status, dict):
        trimmed["status"] = _trim_status(status)
    return trimmed


def _trim_status(status: dict[str, Any]) -> dict[str, Any]:
    trimmed = dict(status)
    for field in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        containers = status.get(field)
        if isinstance(containers, list):
            trimmed[field] = [
                {k: v for k, v in c.items() if k not in DROPPED_CONTAINER_STATUS}
                if isinstance(c, dict)
                else c
                for c in containers
            ]
    trimmed.pop("podIPs", None)
    trimmed.pop("hostIPs", None)
    return trimmed
