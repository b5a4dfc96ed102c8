"""Minimal OpenAPI documents, enough for kubectl and Helm.

kubectl (client-side apply, ``--validate=strict`` by default) decides whether
the server validates fields itself by reading ``/openapi/v3``: for the object's
group/version it looks for a PATCH operation tagged with the object's
``x-kubernetes-group-version-kind`` that lists a ``fieldValidation`` query
parameter. Every served kind gets exactly that here, so kubectl leaves
validation to the server (which implements ``fieldValidation``). No schemas are
published: kubectl then computes strategic-merge patches from its compiled-in
types, as it does for built-in kinds anyway.

``/openapi/v2`` is requested as protobuf by client-go; kubesim cannot produce
that, so it answers 406 to protobuf-only requests and a small JSON Swagger
document otherwise.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from kubesim.errors import ApiError
from kubesim.resources import ResourceRegistry, ResourceType

_QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "force")


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _item_path(rt: ResourceType) -> str:
    prefix = "/" + _gv_path(rt.group, rt.version)
    if rt.namespaced:
        return f"{prefix}/namespaces/{{namespace}}/{rt.plural}/{{name}}"
    return f"{prefix}/{rt.plural}/{{name}}"


def _operation(rt: ResourceType, verb: str) -> dict[str, Any]:
    return {
        "operationId": f"{verb}{rt.kind}",
        "x-kubernetes-action": verb,
        "x-kubernetes-group-version-kind": {
            "group": rt.group,
            "version": rt.version,
            "kind": rt.kind,
        },
        "parameters": [
            {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
            for name in _QUERY_PARAMS
        ],
        "responses": {"200": {"description": "OK"}},
    }


def v3_group_version(registry: ResourceRegistry, group: str, version: str) -> bytes:
    types = registry.in_group_version(group, version)
    if not types:
        raise ApiError("NotFound", "the server could not find the requested resource", details={})
    paths = {_item_path(rt): {"patch": _operation(rt, "patch")} for rt in types}
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0-kubesim"},
        "paths": paths,
        "components": {"schemas": {}},
    }
    return orjson.dumps(doc)


def _hash(registry: ResourceRegistry, group: str, version: str) -> str:
    return hashlib.sha512(v3_group_version(registry, group, version)).hexdigest()[:64].upper()


def v3_root(registry: ResourceRegistry) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for group, versions in registry.groups().items():
        for version in versions:
            gv = _gv_path(group, version)
            digest = _hash(registry, group, version)
            paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={digest}"}
    return {"paths": paths}


def v2_document(registry: ResourceRegistry) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for rt in registry:
        paths[_item_path(rt)] = {"patch": _operation(rt, "patch")}
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0-kubesim"},
        "paths": paths,
        "definitions": {},
    }
