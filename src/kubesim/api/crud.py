"""Reads and writes on resources: GET, LIST, POST, PUT, PATCH, DELETE.

Handlers translate HTTP into `Store` calls and back; the write semantics live
in the store, patch/apply in their own modules. Behaviour worth knowing:

* LIST (B2/B10): an RV newer than the store's → 504 TooLargeResourceVersion.
  ``limit`` with RV ``N`` (or ``resourceVersionMatch=Exact``) is served from a
  snapshot rolled back to ``N``; continue tokens carry the list RV and the
  last key, so every page is consistent. A token older than the event
  history → 410 Expired with an *inconsistent* token resuming at "now".
* Writes accept JSON or YAML bodies; ``dryRun=All`` persists nothing;
  ``fieldValidation`` Strict rejects unknown top-level/metadata fields with 400,
  Warn (the default) answers with a ``Warning`` header, Ignore drops them.
* PATCH supports the four patch content types; apply needs ``fieldManager``
  (422) and ``force`` is refused on other patch types (422). Custom resources
  have no strategic-merge metadata: a strategic merge patch is 415, as on a
  real server.
* ``/scale`` speaks autoscaling/v1 Scale and writes ``spec.replicas`` (for a
  custom resource: the paths its CRD's scale subresource names).
* A custom resource accepts any top-level field (x-kubernetes-preserve-unknown-fields
  semantics, see `kubesim.crds`); unknown ``metadata`` fields are still checked.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
import yaml
from aiohttp import web

from kubesim.api.context import ApiContext
from kubesim.api.media import Output, negotiate
from kubesim.api.params import (
    build_predicate,
    has_selectors,
    int_param,
    list_options_invalid,
    parse_rv,
    too_large_rv,
)
from kubesim.api.protobuf import PROTOBUF, decode_object
from kubesim.api.responses import json_response
from kubesim.api.targets import Target
from kubesim.apply import SERVER_METADATA
from kubesim.errors import ApiError, bad_request, invalid, method_not_allowed, not_found
from kubesim.resources import NAMESPACE_TYPE, Obj, ResourceType
from kubesim.store import deep_copy
from kubesim.timestamps import now_rfc3339, parse_time

PATCH_JSON = "application/json-patch+json"
PATCH_MERGE = "application/merge-patch+json"
PATCH_STRATEGIC = "application/strategic-merge-patch+json"
PATCH_APPLY = "application/apply-patch+yaml"
PATCH_APPLY_CBOR = "application/apply-patch+cbor"

# ObjectMeta fields kubesim knows: the server-owned ones plus those clients write.
_KNOWN_META = SERVER_METADATA | {"labels", "annotations", "ownerReferences", "finalizers"}
_CONTINUE_TOO_OLD = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this response "
    "to retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the "
    "first chunk was returned and now may show up in the list."
)
_VALID_PROPAGATION = ("Orphan", "Background", "Foreground")


# ------------------------------------------------------------------ helpers


def object_key(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace') or ''}/{meta['name']}"


def encode_continue(rv: int, last_key: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": last_key + "\x00"})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded))
        return int(data["rv"]), str(data["start"])
    except Exception:
        raise bad_request(f'continue key is not valid: "{token}"') from None


def _body_type(request: web.Request) -> str:
    # aiohttp reports a missing Content-Type as octet-stream; kubesim reads it as JSON.
    return request.headers.get("Content-Type", "application/json").split(";")[0].strip().lower()


def parse_body(body: bytes, content_type: str) -> Any:
    """Decode a JSON, YAML or (for a few kinds) protobuf body; others (CBOR) are 415."""
    if content_type == PROTOBUF:
        return decode_object(body)
    if content_type and "json" not in content_type and "yaml" not in content_type:
        raise ApiError(
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types include: "
            f"application/json, application/yaml, {PROTOBUF} (got {content_type})",
        )
    if not body:
        raise bad_request("the request body is empty")
    try:
        if "yaml" in content_type:
            return yaml.safe_load(body)
        return orjson.loads(body)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise bad_request(f"the body of the request was in an unknown format: {exc}") from None


def dry_run_of(query: Mapping[str, str]) -> bool:
    values = [v for k, v in query.items() if k == "dryRun"]
    for value in values:
        if value != "All":
            raise bad_request(f'unsupported dry run value "{value}": only "All" is supported')
    return bool(values)


def field_manager_of(request: web.Request) -> str:
    manager = request.query.get("fieldManager")
    if manager:
        return manager
    agent = request.headers.get("User-Agent", "unknown")
    return agent.split("/")[0] or "unknown"


def _render(rt: ResourceType, output: Output, obj: Obj, query: Mapping[str, str]) -> Any:
    if output is Output.TABLE:
        from kubesim.table import to_table

        return to_table(
            rt,
            [obj],
            list_meta={"resourceVersion": obj["metadata"].get("resourceVersion", "")},
            include_object=query.get("includeObject", "Metadata"),
        )
    if output is Output.METADATA:
        return {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"],
        }
    return obj


def _check_fields(
    rt: ResourceType, obj: Obj, query: Mapping[str, str], headers: dict[str, str]
) -> Obj:
    """Field validation (B24): unknown fields are dropped, warned about or refused."""
    mode = query.get("fieldValidation", "Warn")
    if mode not in ("Ignore", "Warn", "Strict"):
        raise bad_request(
            f'fieldValidation: Unsupported value: "{mode}": supported values: '
            '"Ignore", "Strict", "Warn"'
        )
    unknown = [] if rt.custom else [k for k in obj if k not in rt.known_fields]
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        unknown += [f"metadata.{k}" for k in meta if k not in _KNOWN_META]
    if not unknown:
        return obj
    if mode == "Strict":
        detail = ", ".join(f'unknown field "{f}"' for f in unknown)
        raise bad_request(f"strict decoding error: {detail}")
    if mode == "Warn":
        headers["Warning"] = ", ".join(f'299 - "unknown field \\"{f}\\""' for f in unknown)
    cleaned = {k: v for k, v in obj.items() if rt.custom or k in rt.known_fields}
    if isinstance(meta, dict):
        cleaned["metadata"] = {k: v for k, v in meta.items() if k in _KNOWN_META}
    return cleaned


def _check_identity(target: Target, obj: Any) -> Obj:
    """The body must be an object of the URL's kind, namespace and name."""
    rt = target.rt
    if not isinstance(obj, dict):
        raise bad_request("the body of the request must be a JSON object")
    api_version = obj.get("apiVersion")
    if api_version and api_version != rt.api_version:
        raise bad_request(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({rt.api_version})"
        )
    kind = obj.get("kind")
    if kind and kind != rt.kind:
        raise bad_request(
            f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
        )
    meta = obj.get("metadata")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise bad_request("metadata must be an object")
    meta = dict(meta)
    if rt.namespaced:
        body_ns = meta.get("namespace")
        url_ns = target.namespace
        if url_ns and body_ns and body_ns != url_ns:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        meta["namespace"] = url_ns or body_ns or "default"
    else:
        meta.pop("namespace", None)
    if target.name is not None:
        body_name = meta.get("name")
        if body_name and body_name != target.name:
            raise bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL "
                f"({target.name})"
            )
        meta["name"] = target.name
    return {**obj, "apiVersion": rt.api_version, "kind": rt.kind, "metadata": meta}


def _record_update(
    rt: ResourceType,
    live: Obj | None,
    new: Obj,
    *,
    manager: str,
    operation: str,
    subresource: str | None,
) -> Obj:
    from kubesim import apply

    result: Obj = apply.record_update(
        live,
        new,
        manager=manager,
        operation=operation,
        now=now_rfc3339(),
        subresource=subresource,
        rt=rt,
    )
    return result


def _with_managed_fields(
    rt: ResourceType, live: Obj | None, new: Obj, request: web.Request, subresource: str | None
) -> Obj:
    try:
        return _record_update(
            rt,
            live,
            new,
            manager=field_manager_of(request),
            operation="Update",
            subresource=subresource,
        )
    except ImportError:
        return new


def _live(ctx: ApiContext, target: Target) -> Obj:
    assert target.name is not None
    obj = ctx.store.get(target.rt, target.namespace, target.name)
    if obj is None:
        raise not_found(target.rt.plural, target.name, group=target.rt.group)
    return obj


# ------------------------------------------------------------------- reads


def _check_not_too_new(ctx: ApiContext, query: Mapping[str, str]) -> None:
    raw = query.get("resourceVersion", "")
    if raw and raw != "0":
        requested = parse_rv(raw)
        if requested > ctx.store.current_rv:
            raise too_large_rv(requested, ctx.store.current_rv)


async def get_item(ctx: ApiContext, target: Target, request: web.Request) -> web.Response:
    output = negotiate(request.headers.get("Accept"))
    _check_not_too_new(ctx, request.query)
    obj = _live(ctx, target)
    if target.subresource == "scale":
        return json_response(scale_of(target.rt, obj))
    if target.subresource == "finalize":
        raise method_not_allowed()
    return json_response(_render(target.rt, output, obj, request.query))


def _list_objects(
    ctx: ApiContext, target: Target, query: Mapping[str, str]
) -> tuple[list[Obj], int, str]:
    """Objects to list, the list RV and the key to resume after ("" = start)."""
    rt = target.rt
    rv_raw = query.get("resourceVersion", "")
    match = query.get("resourceVersionMatch", "")
    token = query.get("continue", "")
    limit = int_param(query, "limit")
    if "sendInitialEvents" in query:
        raise list_options_invalid(
            "sendInitialEvents", "Forbidden: sendInitialEvents is forbidden for list"
        )
    if match not in ("", "Exact", "NotOlderThan"):
        raise list_options_invalid(
            "resourceVersionMatch",
            f'Unsupported value: "{match}": supported values: "Exact", "NotOlderThan"',
        )
    if match and not rv_raw:
        raise list_options_invalid(
            "resourceVersionMatch",
            "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
        )
    if match == "Exact" and rv_raw == "0":
        raise list_options_invalid(
            "resourceVersionMatch",
            'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
        )
    if token:
        if rv_raw and rv_raw != "0":
            raise bad_request("specifying resource version is not allowed when using continue")
        rv, start = decode_continue(token)
        if rv < 0:  # an inconsistent token: resume at the current state
            return ctx.store.list(rt, target.namespace), ctx.store.current_rv, start
        try:
            return ctx.hub.snapshot(rt, target.namespace, rv), rv, start
        except ApiError as exc:
            if exc.code != 410:
                raise
            raise ApiError(
                "Expired", _CONTINUE_TOO_OLD, metadata={"continue": encode_continue(-1, start)}
            ) from None
    if rv_raw and rv_raw != "0":
        requested = parse_rv(rv_raw)
        current = ctx.store.current_rv
        if requested > current:
            raise too_large_rv(requested, current)
        if match == "Exact" or (not match and limit > 0):
            return ctx.hub.snapshot(rt, target.namespace, requested), requested, ""
    return ctx.store.list(rt, target.namespace), ctx.store.current_rv, ""


async def list_items(ctx: ApiContext, target: Target, request: web.Request) -> web.Response:
    query = request.query
    rt = target.rt
    output = negotiate(request.headers.get("Accept"))
    objs, list_rv, start = _list_objects(ctx, target, query)
    predicate = build_predicate(rt, query)
    if predicate is not None:
        objs = [o for o in objs if predicate(o)]
    keyed = sorted(((object_key(o), o) for o in objs), key=lambda pair: pair[0])
    if start:
        keyed = [pair for pair in keyed if pair[0] + "\x00" > start]
    list_meta: dict[str, Any] = {"resourceVersion": str(list_rv)}
    limit = int_param(query, "limit")
    if limit > 0 and len(keyed) > limit:
        remaining = len(keyed) - limit
        keyed = keyed[:limit]
        list_meta["continue"] = encode_continue(list_rv, keyed[-1][0])
        if not has_selectors(query):
            list_meta["remainingItemCount"] = remaining
    items = [o for _, o in keyed]
    if output is Output.TABLE:
        from kubesim.table import to_table

        body: Any = to_table(
            rt, items, list_meta=list_meta, include_object=query.get("includeObject", "Metadata")
        )
    elif output is Output.METADATA:
        body = {
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": list_meta,
            "items": [
                {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": o["metadata"],
                }
                for o in items
            ],
        }
    else:
        body = {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": list_meta,
            "items": items,
        }
    return json_response(body)


# ------------------------------------------------------------------ writes


async def create_item(ctx: ApiContext, target: Target, request: web.Request) -> web.Response:
    if target.name is not None:
        raise method_not_allowed()
    rt = target.rt
    headers: dict[str, str] = {}
    body = parse_body(await request.read(), _body_type(request))
    obj = _check_fields(rt, _check_identity(target, body), request.query, headers)
    if rt.has_status and rt is not NAMESPACE_TYPE:
        # PrepareForCreate: clients cannot create status; the controllers own it.
        obj.pop("status", None)
    obj = _with_managed_fields(rt, None, obj, request, None)
    created = ctx.store.create(rt, obj, dry_run=dry_run_of(request.query))
    return json_response(created, status=201, headers=headers or None)


async def update_item(ctx: ApiContext, target: Target, request: web.Request) -> web.Response:
    rt = target.rt
    headers: dict[str, str] = {}
    body = parse_body(await request.read(), _body_type(request))
    dry_run = dry_run_of(request.query)
    if target.subresource == "scale":
        return json_response(_write_scale(ctx, target, body, dry_run))
    obj = _check_fields(rt, _check_identity(target, body), request.query, headers)
    live = _live(ctx, target)
    obj = _with_managed_fields(rt, live, obj, request, target.subresource)
    updated = ctx.store.update(rt, obj, subresource=target.subresource, dry_run=dry_run)
    return json_response(updated, headers=headers or None)


async def patch_item(ctx: ApiContext, target: Target, request: web.Request) -> web.Response:
    rt = target.rt
    content_type = request.content_type
    query = request.query
    dry_run = dry_run_of(query)
    is_apply = content_type in (PATCH_APPLY, PATCH_APPLY_CBOR)
    if rt.custom and content_type in (PATCH_STRATEGIC, PATCH_APPLY_CBOR):
        # No Go type, no strategic-merge metadata: the apiextensions server refuses it.
        raise ApiError(
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types include: "
            f"{PATCH_JSON}, {PATCH_MERGE}, {PATCH_APPLY}",
        )
    if content_type not in (PATCH_JSON, PATCH_MERGE, PATCH_STRATEGIC) and not is_apply:
        raise ApiError(
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types include: "
            f"{PATCH_JSON}, {PATCH_MERGE}, {PATCH_APPLY}, {PATCH_STRATEGIC}",
        )
    if is_apply and not query.get("fieldManager"):
        raise invalid(
            "PatchOptions",
            "",
            [
                {
                    "reason": "FieldValueRequired",
                    "message": "Required value: is required for apply patch",
                    "field": "fieldManager",
                }
            ],
            group="meta.k8s.io",
        )
    if not is_apply and "force" in query:
        raise invalid(
            "PatchOptions",
            "",
            [
                {
                    "reason": "FieldValueForbidden",
                    "message": "Forbidden: may not be specified for non-apply patch",
                    "field": "force",
                }
            ],
            group="meta.k8s.io",
        )
    patch = parse_body(await request.read(), "yaml" if is_apply else "json")
    if is_apply:
        applied, created = _server_side_apply(ctx, target, request, patch, dry_run)
        return json_response(applied, status=201 if created else 200)
    live = _live(ctx, target)
    if target.subresource == "scale":
        patched_scale = _apply_patch(content_type, scale_of(rt, live), patch, None)
        return json_response(_write_scale(ctx, target, patched_scale, dry_run))
    patched = _apply_patch(content_type, deep_copy(live), patch, rt)
    headers: dict[str, str] = {}
    patched = _check_fields(rt, _check_identity(target, patched), query, headers)
    patched = _with_managed_fields(rt, live, patched, request, target.subresource)
    updated = ctx.store.update(rt, patched, subresource=target.subresource, dry_run=dry_run)
    return json_response(updated, headers=headers or None)


def _apply_patch(content_type: str, obj: Obj, patch: Any, rt: ResourceType | None) -> Obj:
    """Patch ``obj`` in place and return the result. ``obj`` must be the caller's private
    copy (of the stored object, or a fresh Scale view): this is the one copy a PATCH makes."""
    from kubesim import patch as patching

    if content_type == PATCH_JSON:
        return patching.json_patch_in_place(obj, patch)
    if content_type == PATCH_MERGE:
        return patching.merge_patch_in_place(obj, patch)
    if rt is None:
        # The Scale kind has no strategy metadata; a plain merge is equivalent.
        return patching.merge_patch_in_place(obj, patch)
    return patching.strategic_merge_patch_in_place(obj, patch, rt)


def _server_side_apply(
    ctx: ApiContext, target: Target, request: web.Request, applied: Any, dry_run: bool
) -> tuple[Obj, bool]:
    """The applied object, and whether the apply created it (a real server answers 201)."""
    from kubesim.apply import server_side_apply

    rt = target.rt
    applied = _check_identity(target, applied)
    live = ctx.store.get(rt, target.namespace, target.name or "")
    if live is None and target.subresource:
        raise not_found(rt.plural, target.name or "", group=rt.group)
    result: Obj = server_side_apply(
        live,
        applied,
        rt=rt,
        manager=request.query["fieldManager"],
        force=request.query.get("force", "") in ("1", "true", "True"),
        now=now_rfc3339(),
        subresource=target.subresource,
    )
    if live is None:
        if rt.has_status and rt is not NAMESPACE_TYPE:
            result.pop("status", None)
        return ctx.store.create(rt, result, dry_run=dry_run), True
    return ctx.store.update(rt, result, subresource=target.subresource, dry_run=dry_run), False


# ------------------------------------------------------------------- scale


def _path_parts(path: str) -> list[str]:
    return [part for part in path.split(".") if part]


def _value_at(obj: Any, path: str) -> Any:
    for part in _path_parts(path):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _with_value_at(obj: Obj, path: str, value: Any) -> None:
    """Set ``value`` at a ``.a.b.c`` path of ``obj`` (a private copy), creating maps."""
    parts = _path_parts(path)
    node = obj
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def scale_of(rt: ResourceType, obj: Obj) -> Obj:
    """The autoscaling/v1 Scale view of a Deployment/ReplicaSet/StatefulSet, or of a
    custom resource through its CRD's scale paths."""
    meta = obj["metadata"]
    status = obj.get("status") or {}
    selector = (obj.get("spec") or {}).get("selector") or {}
    match_labels = selector.get("matchLabels") or {}
    if rt.scale_paths is not None:
        spec_path, status_path, selector_path = rt.scale_paths
        spec_replicas = _value_at(obj, spec_path)
        status_replicas = _value_at(obj, status_path) if status_path else None
        label_selector = _value_at(obj, selector_path) if selector_path else None
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": meta["name"],
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
                "creationTimestamp": meta.get("creationTimestamp"),
            },
            "spec": {"replicas": spec_replicas if isinstance(spec_replicas, int) else 0},
            "status": {
                "replicas": status_replicas if isinstance(status_replicas, int) else 0,
                "selector": label_selector if isinstance(label_selector, str) else "",
            },
        }
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
            "creationTimestamp": meta.get("creationTimestamp"),
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
        "status": {
            "replicas": status.get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(match_labels.items())),
        },
    }


def _write_scale(ctx: ApiContext, target: Target, scale: Any, dry_run: bool) -> Obj:
    rt = target.rt
    if not isinstance(scale, dict):
        raise bad_request("the body of the request must be a Scale object")
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise invalid(
            "Scale",
            target.name or "",
            [
                {
                    "reason": "FieldValueInvalid",
                    "message": f"Invalid value: {replicas}: must be greater than or equal to 0",
                    "field": "spec.replicas",
                }
            ],
            group="autoscaling",
        )
    live = _live(ctx, target)
    sent_rv = (scale.get("metadata") or {}).get("resourceVersion")
    new = deep_copy(live)
    if rt.scale_paths is not None:
        _with_value_at(new, rt.scale_paths[0], replicas)
    else:
        new.setdefault("spec", {})["replicas"] = replicas
    if sent_rv:
        new["metadata"]["resourceVersion"] = sent_rv
    updated = ctx.store.update(rt, new, dry_run=dry_run)
    return scale_of(rt, updated)


# ------------------------------------------------------------------ delete


def _delete_options(
    query: Mapping[str, str], body: bytes, content_type: str
) -> tuple[str | None, dict[str, Any] | None, bool]:
    options: dict[str, Any] = {}
    if body:
        parsed = parse_body(body, content_type)
        if isinstance(parsed, dict):
            options = parsed
    propagation = query.get("propagationPolicy") or options.get("propagationPolicy")
    if options.get("orphanDependents") is True and not propagation:
        propagation = "Orphan"
    if propagation is not None and propagation not in _VALID_PROPAGATION:
        raise invalid(
            "DeleteOptions",
            "",
            [
                {
                    "reason": "FieldValueNotSupported",
                    "message": f'Unsupported value: "{propagation}": supported values: '
                    '"Foreground", "Background", "Orphan"',
                    "field": "propagationPolicy",
                }
            ],
            group="meta.k8s.io",
        )
    dry_run = dry_run_of(query) or options.get("dryRun") == ["All"]
    return propagation, options.get("preconditions"), dry_run


async def delete_item(ctx: ApiContext, target: Target, request: web.Request) -> web.Response:
    propagation, preconditions, dry_run = _delete_options(
        request.query, await request.read(), _body_type(request)
    )
    assert target.name is not None
    result = ctx.store.delete(
        target.rt,
        target.namespace,
        target.name,
        propagation=propagation,
        preconditions=preconditions,
        dry_run=dry_run,
    )
    return json_response(result)


async def delete_collection(ctx: ApiContext, target: Target, request: web.Request) -> web.Response:
    rt = target.rt
    if "deletecollection" not in rt.verbs:
        raise method_not_allowed()
    propagation, preconditions, dry_run = _delete_options(
        request.query, await request.read(), _body_type(request)
    )
    predicate = build_predicate(rt, request.query)
    deleted: list[Obj] = []
    for obj in sorted(ctx.store.list(rt, target.namespace), key=object_key):
        if predicate is not None and not predicate(obj):
            continue
        meta = obj["metadata"]
        try:
            deleted.append(
                ctx.store.delete(
                    rt,
                    meta.get("namespace"),
                    meta["name"],
                    propagation=propagation,
                    preconditions=preconditions,
                    dry_run=dry_run,
                )
            )
        except ApiError as exc:
            if exc.code != 404:  # already gone is fine
                raise
    return json_response(
        {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(ctx.store.current_rv)},
            "items": deleted,
        }
    )


def parse_since_time(raw: str | None) -> datetime | None:
    """The ``sinceTime`` log option (None when absent); 400 when it is not a timestamp."""
    since = parse_time(raw)
    if raw and since is None:
        raise bad_request(f'invalid sinceTime: "{raw}"')
    return since
