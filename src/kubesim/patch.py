"""The three PATCH bodies kube-apiserver accepts besides apply (k8s-semantics B20).

* :func:`apply_merge_patch`: RFC 7386 JSON merge patch (``null`` deletes, objects merge
  recursively, everything else, lists included, replaces).
* :func:`apply_json_patch`: RFC 6902 through the ``jsonpatch`` library. A body that is not
  a list of operations is a 400 BadRequest; an operation that fails (missing path, failed
  ``test``) is a 422 ``Invalid`` with the apiserver's generic message ("the server rejected
  our request due to an error in our request"); unlike the apiserver we also keep the
  library's explanation in ``details.causes`` so failures are debuggable.
* :func:`apply_strategic_merge_patch`: Kubernetes strategic merge for the built-in kinds.
  Lists merge according to :func:`list_strategy` (containers by ``name``, container ports
  by ``containerPort``, Service ports by ``port``, env by ``name``, volumeMounts by
  ``mountPath``, conditions by ``type``, ownerReferences by ``uid``, finalizers as a set,
  everything else atomic). Directives: ``$patch: replace|merge|delete`` on maps and list
  items, ``$retainKeys``, ``$deleteFromPrimitiveList/<field>``, ``$setElementOrder/<field>``.

Who owns the copy: each ``apply_*`` function leaves its inputs untouched by deep-copying
``obj`` once and patching that copy. Each has an ``*_in_place`` twin for callers that
already hold a private copy (``api/crud.py`` copies the stored object once, with the fast
``store.deep_copy``, and patches it in place): the twin patches and returns ``obj`` itself
(or, for a JSON patch replacing the root, a new object) and may leave it half-patched when
it raises, so the caller drops it on error. The patch body is never modified; merge and
strategic patches copy the values they adopt from it, a JSON patch's ``add``/``replace``
values are adopted as they are (the caller parsed the body and does not reuse it).

Simplifications: ``$setElementOrder`` puts the listed items first, in the given order,
followed by server-only items in their previous relative order (the apiserver interleaves
server-only items by their old position). Merge keys are chosen by field name and context,
not from the OpenAPI schema, which covers every kind kubesim serves; lists of unknown
(non built-in) groups are atomic.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jsonpatch
import jsonpointer

from kubesim.errors import ApiError, bad_request

if TYPE_CHECKING:
    from kubesim.resources import ResourceType

# --- list strategies (shared with server-side apply) -------------------------------------

BUILTIN_GROUPS: frozenset[str] = frozenset(
    {
        "",
        "apps",
        "batch",
        "autoscaling",
        "policy",
        "networking.k8s.io",
        "coordination.k8s.io",
        "events.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "discovery.k8s.io",
        "scheduling.k8s.io",
        "node.k8s.io",
        "certificates.k8s.io",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
    }
)


@dataclass(frozen=True, slots=True)
class ListStrategy:
    """How a list field merges.

    ``kind`` is ``"map"`` (associative list keyed by ``keys``; SMP uses the first key),
    ``"set"`` (list of unique primitives) or ``"atomic"`` (replaced as a whole).
    ``key_defaults`` fills key fields an item omits (a container port's protocol is TCP).
    """

    kind: str
    keys: tuple[str, ...] = ()
    key_defaults: tuple[tuple[str, Any], ...] = ()

    @property
    def merge_key(self) -> str:
        return self.keys[0]


ATOMIC = ListStrategy("atomic")
SET = ListStrategy("set")

_CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})
_TCP = (("protocol", "TCP"),)

# Associative lists of the built-in kinds, by field name.
_BY_NAME: dict[str, ListStrategy] = {
    "containers": ListStrategy("map", ("name",)),
    "initContainers": ListStrategy("map", ("name",)),
    "ephemeralContainers": ListStrategy("map", ("name",)),
    "env": ListStrategy("map", ("name",)),
    "volumes": ListStrategy("map", ("name",)),
    "volumeMounts": ListStrategy("map", ("mountPath",)),
    "volumeDevices": ListStrategy("map", ("devicePath",)),
    "imagePullSecrets": ListStrategy("map", ("name",)),
    "hostAliases": ListStrategy("map", ("ip",)),
    "conditions": ListStrategy("map", ("type",)),
    "resourceClaims": ListStrategy("map", ("name",)),
    "schedulingGates": ListStrategy("map", ("name",)),
    "podIPs": ListStrategy("map", ("ip",)),
    "hostIPs": ListStrategy("map", ("ip",)),
    "topologySpreadConstraints": ListStrategy("map", ("topologyKey", "whenUnsatisfiable")),
}


def list_strategy(path: Sequence[str], rt: ResourceType | None) -> ListStrategy:
    """The merge strategy of the list at field path ``path`` (field names only, no indices).

    ``path`` ends with the list's own field name, e.g. ``("spec", "template", "spec",
    "containers")``.
    """
    if not path:
        return ATOMIC
    name = path[-1]
    if len(path) == 2 and path[0] == "metadata":
        if name == "finalizers":
            return SET
        if name == "ownerReferences":
            return ListStrategy("map", ("uid",))
        return ATOMIC
    if rt is not None and rt.group not in BUILTIN_GROUPS:
        return ATOMIC
    if name == "ports":
        if any(p in _CONTAINER_LISTS for p in path[:-1]):
            return ListStrategy("map", ("containerPort", "protocol"), _TCP)
        if tuple(path) == ("spec", "ports") and (rt is None or rt.kind == "Service"):
            return ListStrategy("map", ("port", "protocol"), _TCP)
        return ATOMIC
    return _BY_NAME.get(name, ATOMIC)


# --- JSON merge patch ---------------------------------------------------------------------


def apply_merge_patch(obj: dict[str, Any], patch: Any) -> dict[str, Any]:
    """RFC 7386 merge patch of a copy of ``obj``; a non-object patch is a 400 (the apiserver
    only accepts objects for a whole resource)."""
    _require_object(patch)
    return merge_patch_in_place(copy.deepcopy(obj), patch)


def merge_patch_in_place(obj: dict[str, Any], patch: Any) -> dict[str, Any]:
    """:func:`apply_merge_patch` on ``obj`` itself, which the caller owns."""
    _require_object(patch)
    _merge_into(obj, patch)
    return obj


def _merge_into(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            child = target.get(key)
            if not isinstance(child, dict):
                child = target[key] = {}  # an object replaces a scalar or list
            _merge_into(child, value)
        else:
            target[key] = copy.deepcopy(value)


def _require_object(patch: Any) -> None:
    if not isinstance(patch, dict):
        raise bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")


# --- JSON patch ---------------------------------------------------------------------------


def apply_json_patch(obj: dict[str, Any], ops: Any) -> dict[str, Any]:
    """RFC 6902 patch of a copy of ``obj``."""
    return _json_patch(obj, ops, in_place=False)


def json_patch_in_place(obj: dict[str, Any], ops: Any) -> dict[str, Any]:
    """:func:`apply_json_patch` on ``obj`` itself, which the caller owns."""
    return _json_patch(obj, ops, in_place=True)


def _json_patch(obj: dict[str, Any], ops: Any, *, in_place: bool) -> dict[str, Any]:
    if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
        raise bad_request(
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
            if isinstance(ops, dict)
            else "invalid JSON patch: expected an array of operations"
        )
    try:
        patch = jsonpatch.JsonPatch(ops)
        # Not in place, the library deep-copies ``obj`` first.
        result = patch.apply(obj, in_place=in_place)
    except jsonpatch.InvalidJsonPatch as exc:
        raise bad_request(str(exc)) from exc
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise _unprocessable(str(exc)) from exc
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise _unprocessable(str(exc)) from exc
    if not isinstance(result, dict):
        raise _unprocessable("the patch replaced the whole object with a non-object value")
    return result


def _unprocessable(detail: str) -> ApiError:
    # The apiserver wraps patch application errors as a generic 422 response whose cause
    # carries the library's message.
    return ApiError(
        "Invalid",
        "the server rejected our request due to an error in our request",
        details={"causes": [{"type": "UnexpectedServerResponse", "message": detail}]},
    )


# --- strategic merge patch ----------------------------------------------------------------

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/"
SET_ELEMENT_ORDER = "$setElementOrder/"


class _Deleted:
    """Sentinel: a ``$patch: delete`` map."""


_DELETED = _Deleted()


def apply_strategic_merge_patch(
    obj: dict[str, Any], patch: Any, rt: ResourceType | None
) -> dict[str, Any]:
    """Kubernetes strategic merge patch of a copy of ``obj`` for resource type ``rt``."""
    _require_object(patch)
    return strategic_merge_patch_in_place(copy.deepcopy(obj), patch, rt)


def strategic_merge_patch_in_place(
    obj: dict[str, Any], patch: Any, rt: ResourceType | None
) -> dict[str, Any]:
    """:func:`apply_strategic_merge_patch` on ``obj`` itself, which the caller owns."""
    _require_object(patch)
    result = _merge_map(obj, patch, (), rt)
    if isinstance(result, _Deleted):
        return {}
    return result


def _merge_map(
    original: dict[str, Any],
    patch: Mapping[str, Any],
    path: tuple[str, ...],
    rt: ResourceType | None,
) -> dict[str, Any] | _Deleted:
    """Merge ``patch`` into ``original`` (which this function owns and may modify)."""
    directive = patch.get(DIRECTIVE)
    if directive == "delete":
        return _DELETED
    if directive == "replace":
        return _strip_directives(patch, path, rt)
    if directive not in (None, "merge"):
        raise bad_request(f"Unknown patch type: {directive}")

    retain = patch.get(RETAIN_KEYS)
    if retain is not None:
        if not isinstance(retain, list):
            raise bad_request(f"invalid value for {RETAIN_KEYS}: must be a list")
        for key in list(original):
            if key not in retain:
                del original[key]

    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith(DELETE_FROM_PRIMITIVE_LIST):
            field = key[len(DELETE_FROM_PRIMITIVE_LIST) :]
            current = original.get(field)
            if isinstance(current, list) and isinstance(value, list):
                original[field] = [v for v in current if v not in value]
        elif key.startswith(SET_ELEMENT_ORDER) and isinstance(value, list):
            orders[key[len(SET_ELEMENT_ORDER) :]] = value

    for key, value in patch.items():
        if key in (DIRECTIVE, RETAIN_KEYS) or key.startswith("$"):
            continue
        child_path = (*path, key)
        if value is None:
            original.pop(key, None)
            continue
        current = original.get(key)
        if isinstance(value, dict):
            merged = _merge_map(current if isinstance(current, dict) else {}, value, child_path, rt)
            if isinstance(merged, _Deleted):
                original.pop(key, None)
            else:
                original[key] = merged
        elif isinstance(value, list):
            strategy = list_strategy(child_path, rt)
            base = current if isinstance(current, list) else []
            original[key] = _merge_list(base, value, child_path, rt, strategy)
        else:
            original[key] = copy.deepcopy(value)

    for field, order in orders.items():
        current = original.get(field)
        if isinstance(current, list):
            original[field] = _apply_order(current, order, list_strategy((*path, field), rt))
    return original


def _strip_directives(value: Any, path: tuple[str, ...], rt: ResourceType | None) -> Any:
    """A patch value with its directives removed, used where nothing is merged."""
    if isinstance(value, dict):
        merged = _merge_map({}, {k: v for k, v in value.items() if k != DIRECTIVE}, path, rt)
        return {} if isinstance(merged, _Deleted) else merged
    if isinstance(value, list):
        return _merge_list([], value, path, rt, list_strategy(path, rt))
    return copy.deepcopy(value)


def _merge_list(
    original: list[Any],
    patch: list[Any],
    path: tuple[str, ...],
    rt: ResourceType | None,
    strategy: ListStrategy,
) -> list[Any]:
    replace = any(isinstance(item, dict) and item.get(DIRECTIVE) == "replace" for item in patch)
    items = [
        item for item in patch if not (isinstance(item, dict) and item.get(DIRECTIVE) == "replace")
    ]
    if strategy.kind == "atomic":
        return [_strip_directives(item, path, rt) for item in items]
    if strategy.kind == "set":
        if replace:
            return copy.deepcopy(items)
        result = list(original)
        for item in items:
            if item not in result:
                result.append(copy.deepcopy(item))
        return result

    key = strategy.merge_key
    result = [] if replace else list(original)
    for item in items:
        if not isinstance(item, dict):
            raise bad_request(f"map: {item!r} does not contain declared merge key: {key}")
        if key not in item:
            raise bad_request(f"map: {json.dumps(item)} does not contain declared merge key: {key}")
        index = next(
            (
                i
                for i, old in enumerate(result)
                if isinstance(old, dict) and old.get(key) == item[key]
            ),
            None,
        )
        if item.get(DIRECTIVE) == "delete":
            if index is not None:
                del result[index]
            continue
        if index is None:
            result.append(_strip_directives(item, path, rt))
        else:
            # ``result`` holds the items of the owned original list: merge in place.
            merged = _merge_map(result[index], item, path, rt)
            if isinstance(merged, _Deleted):
                del result[index]
            else:
                result[index] = merged
    return result


def _apply_order(current: list[Any], order: list[Any], strategy: ListStrategy) -> list[Any]:
    def identity(item: Any) -> Any:
        if strategy.kind == "map" and isinstance(item, dict):
            return json.dumps(item.get(strategy.merge_key), sort_keys=True)
        return json.dumps(item, sort_keys=True)

    rank = {identity(item): i for i, item in enumerate(order)}
    ordered = sorted((i for i in current if identity(i) in rank), key=lambda i: rank[identity(i)])
    rest = [i for i in current if identity(i) not in rank]
    return ordered + rest
