"""Reading objects as metadata only (``PartialObjectMetadata``), as client-go's metadata
informers and ``kubectl get -o name`` do.

A server that supports it (every kube-apiserver since 1.15, and kubesim) answers lists with a
``meta.k8s.io/v1 PartialObjectMetadataList`` and watch events with ``PartialObjectMetadata``
objects: no ``data``, ``spec`` or ``status`` crosses the wire. The Accept headers end with
plain ``application/json`` so a server without it answers with whole objects instead of 406;
:func:`restore_kind` reduces either answer to the same shape, so callers never depend on
which one they got.
"""

from __future__ import annotations

from typing import Any

LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
"""Accept header of a metadata-only list."""
WATCH_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
"""Accept header of a metadata-only watch (each event carries one object)."""


def restore_kind(obj: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    """``{"apiVersion", "kind", "metadata"}`` of ``obj``, with the object's own apiVersion
    and kind in place of ``meta.k8s.io/v1 PartialObjectMetadata`` (or of nothing, for list
    items). A whole object is reduced to the same three keys. Never mutates ``obj``."""
    return {"apiVersion": api_version, "kind": kind, "metadata": obj.get("metadata") or {}}
