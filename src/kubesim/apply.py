"""Server-side apply and field ownership (k8s-semantics B20).

:func:`server_side_apply` merges an applied configuration into the live object and keeps
``metadata.managedFields`` in the real ``FieldsV1`` format; :func:`record_update` records
ordinary writes (create/update/patch) as ``operation: Update`` entries so that a later
apply sees the same conflicts a real kube-apiserver reports.

Guarantees:

* Field sets are encoded like structured-merge-diff: ``f:<name>`` for fields,
  ``k:{"name":"x"}`` for items of associative lists (keys from :func:`kubesim.patch.list_strategy`),
  ``v:<json>`` for items of set lists, and ``.`` for a list item that also has owned
  children. Atomic lists and scalars are leaves (``{}``).
* An apply that would change a field owned by another manager raises 409 Conflict with
  the apiserver's message (``Apply failed with 1 conflict: conflict with "mgr" using
  apps/v1: .spec.replicas``) and ``details.causes[]`` of type ``FieldManagerConflict``.
  Two managers applying the same value share ownership. ``force=True`` takes the
  conflicting fields from the other managers.
* Fields the manager applied before and omits now are removed from the object unless
  another manager owns them (or something below them).
* An Update moves ownership of every changed or added field to the writing manager and
  drops removed fields from every manager; entries left without fields disappear.
* ``apiVersion``, ``kind`` and server-owned metadata (name, namespace, uid,
  resourceVersion, generation, creationTimestamp, deletion fields, managedFields) are never
  tracked. On a resource with a status subresource, main-resource writes track everything
  but ``status`` and ``subresource="status"`` writes track only ``status``.

Simplifications (documented differences from structured-merge-diff):

* Maps never own themselves: an Update records ``f:labels: {f:app: {}}`` where the real
  server may also record ``f:labels: {.: {}}`` for a map it created.
* ``null`` in an applied configuration just omits the field.
* Emptied parent maps are pruned after an applied field is removed.
* List items missing a key field make that list atomic for ownership purposes.
* Managers are identified by (manager, operation, subresource); the apiVersion of an
  Update entry is not part of its identity.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubesim.errors import ApiError, bad_request
from kubesim.patch import ListStrategy, list_strategy
from kubesim.resources import REGISTRY

if TYPE_CHECKING:
    from kubesim.resources import ResourceType

Path = tuple[str, ...]

# Top-level metadata fields the server owns; never tracked and never taken from an apply.
SERVER_METADATA: frozenset[str] = frozenset(
    {
        "name",
        "namespace",
        "generateName",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
    }
)


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


class _ListItem:
    """Leaf value standing for "this associative-list item exists"."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ListItem)

    def __hash__(self) -> int:
        return 0


_ITEM = _ListItem()


# --- paths and FieldsV1 ---------------------------------------------------------------------


def _key_of(item: Mapping[str, Any], strategy: ListStrategy) -> dict[str, Any] | None:
    defaults = dict(strategy.key_defaults)
    key: dict[str, Any] = {}
    for name in strategy.keys:
        if name in item:
            key[name] = item[name]
        elif name in defaults:
            key[name] = defaults[name]
        elif name == strategy.keys[0]:
            return None
    return key


def _key_element(key: Mapping[str, Any]) -> str:
    return "k:" + json.dumps(dict(key), separators=(",", ":"), sort_keys=True)


def _value_element(value: Any) -> str:
    return "v:" + json.dumps(value, separators=(",", ":"), sort_keys=True)


def path_string(path: Path) -> str:
    """The apiserver's rendering of a field path, e.g. ``.spec.containers[name="a"].image``."""
    out: list[str] = []
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            out.append("." + rest)
        elif kind == "k":
            key = json.loads(rest)
            out.append(
                "["
                + ",".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in key.items())
                + "]"
            )
        elif kind == "v":
            out.append(f"[={rest}]")
        else:
            out.append(f"[{rest}]")
    return "".join(out)


def fields_to_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """Encode a set of paths as a FieldsV1 tree."""
    root: dict[str, Any] = {}
    for path in paths:
        node = root
        for element in path:
            node = node.setdefault(element, {})
        node["."] = {}

    def finish(node: dict[str, Any]) -> dict[str, Any]:
        children = {k: finish(v) for k, v in sorted(node.items()) if k != "."}
        if "." in node and children:
            return {".": {}, **children}
        return children

    return finish(root)


def fields_from_v1(tree: Mapping[str, Any] | None) -> set[Path]:
    """Decode a FieldsV1 tree into a set of paths (tolerates junk by ignoring it)."""
    paths: set[Path] = set()

    def walk(node: Mapping[str, Any], prefix: Path) -> None:
        for key, child in node.items():
            if key == ".":
                if prefix:
                    paths.add(prefix)
                continue
            if not isinstance(child, Mapping) or not child:
                paths.add((*prefix, key))
            else:
                walk(child, (*prefix, key))

    if isinstance(tree, Mapping):
        walk(tree, ())
    return paths


@dataclass(frozen=True, slots=True)
class _Scope:
    """Which top-level parts of an object a write tracks."""

    rt: ResourceType | None
    subresource: str | None

    def tracks(self, top: str) -> bool:
        if top in ("apiVersion", "kind"):
            return False
        if self.subresource == "status":
            return top == "status"
        # The main resource and its other subresources (scale, finalize) never write the
        # status of a kind that has a status subresource.
        return top != "status" or self.rt is None or not self.rt.has_status


def _leaves(obj: Mapping[str, Any] | None, scope: _Scope) -> dict[Path, Any]:
    """Every owned-able path of ``obj`` with its value (list items map to ``_ITEM``)."""
    out: dict[Path, Any] = {}
    if not obj:
        return out
    for top, value in obj.items():
        if not scope.tracks(top) or value is None:
            continue
        if top == "metadata" and isinstance(value, Mapping):
            meta = {k: v for k, v in value.items() if k not in SERVER_METADATA}
            _walk_value(meta, ("f:metadata",), ("metadata",), scope.rt, out, top_level_map=True)
        else:
            _walk_value(value, (f"f:{top}",), (top,), scope.rt, out)
    return out


def _walk_value(
    value: Any,
    path: Path,
    names: tuple[str, ...],
    rt: ResourceType | None,
    out: dict[Path, Any],
    *,
    top_level_map: bool = False,
) -> None:
    if isinstance(value, Mapping):
        if not value and not top_level_map:
            out[path] = {}
            return
        for key, child in value.items():
            if child is None:
                continue
            _walk_value(child, (*path, f"f:{key}"), (*names, key), rt, out)
        return
    if isinstance(value, list):
        strategy = list_strategy(names, rt)
        if strategy.kind == "set" and all(not isinstance(v, dict | list) for v in value):
            for item in value:
                out[(*path, _value_element(item))] = item
            return
        if strategy.kind == "map" and all(isinstance(v, Mapping) for v in value):
            keys = [_key_of(item, strategy) for item in value]
            if all(k is not None for k in keys):
                for item, key in zip(value, keys, strict=True):
                    assert key is not None
                    item_path = (*path, _key_element(key))
                    out[item_path] = _ITEM
                    for name, child in item.items():
                        if child is None:
                            continue
                        _walk_value(child, (*item_path, f"f:{name}"), (*names, name), rt, out)
                return
        out[path] = copy.deepcopy(value)
        return
    out[path] = value


# --- managedFields entries -------------------------------------------------------------------


@dataclass(slots=True)
class _Manager:
    manager: str
    operation: str
    subresource: str | None
    api_version: str
    time: str | None
    paths: set[Path] = field(default_factory=set)

    @property
    def identity(self) -> tuple[str, str, str | None]:
        return (self.manager, self.operation, self.subresource)

    def describe(self) -> str:
        # Mirrors apimachinery's printManager for an encoded manager identifier.
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
        }
        if self.time is not None:
            entry["time"] = self.time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = fields_to_v1(self.paths)
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def _read_managers(obj: Mapping[str, Any] | None) -> list[_Manager]:
    if not obj:
        return []
    entries = (obj.get("metadata") or {}).get("managedFields") or []
    managers: list[_Manager] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping) or (
            not entry.get("manager") and not entry.get("fieldsV1")
        ):
            continue
        managers.append(
            _Manager(
                manager=str(entry.get("manager", "")),
                operation=str(entry.get("operation", "Update")),
                subresource=entry.get("subresource") or None,
                api_version=str(entry.get("apiVersion", "")),
                time=entry.get("time"),
                paths=fields_from_v1(entry.get("fieldsV1")),
            )
        )
    return managers


def _write_managers(obj: dict[str, Any], managers: list[_Manager]) -> None:
    # The apiserver serializes entries sorted by operation ("Apply" before "Update"), then
    # time, manager, apiVersion and subresource.
    kept = sorted(
        (m for m in managers if m.paths),
        key=lambda m: (m.operation, m.time or "", m.manager, m.api_version, m.subresource or ""),
    )
    entries = [m.entry() for m in kept]
    metadata = obj.setdefault("metadata", {})
    if entries:
        metadata["managedFields"] = entries
    else:
        metadata.pop("managedFields", None)


def _find(managers: list[_Manager], identity: tuple[str, str, str | None]) -> _Manager | None:
    return next((m for m in managers if m.identity == identity), None)


# --- merging and removing ------------------------------------------------------------------


def _merge(live: Any, applied: Any, names: tuple[str, ...], rt: ResourceType | None) -> Any:
    if isinstance(live, dict) and isinstance(applied, Mapping):
        result = dict(live)
        for key, value in applied.items():
            if value is None:
                continue
            result[key] = _merge(live.get(key, _MISSING), value, (*names, key), rt)
        return result
    if isinstance(live, list) and isinstance(applied, list):
        strategy = list_strategy(names, rt)
        if strategy.kind == "set":
            merged = list(live)
            merged.extend(copy.deepcopy(v) for v in applied if v not in live)
            return merged
        if strategy.kind == "map":
            return _merge_map_list(live, applied, strategy, names, rt)
    return _clean(applied)


def _clean(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _merge_map_list(
    live: list[Any],
    applied: list[Any],
    strategy: ListStrategy,
    names: tuple[str, ...],
    rt: ResourceType | None,
) -> list[Any]:
    if not all(isinstance(v, Mapping) for v in live + applied):
        return _clean(applied)
    result = list(live)
    for item in applied:
        key = _key_of(item, strategy)
        if key is None:
            return _clean(applied)
        index = next((i for i, old in enumerate(result) if _key_of(old, strategy) == key), None)
        if index is None:
            result.append(_clean(item))
        else:
            result[index] = _merge(result[index], item, names, rt)
    return result


def _remove_path(obj: dict[str, Any], path: Path, rt: ResourceType | None) -> None:
    """Delete the field or list item at ``path``; prune maps it leaves empty."""
    parents: list[tuple[Any, Any]] = []  # (container, key or index) for each step
    names: tuple[str, ...] = ()
    node: Any = obj
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f" and isinstance(node, dict) and rest in node:
            parents.append((node, rest))
            names = (*names, rest)
            node = node[rest]
        elif kind == "k" and isinstance(node, list):
            want = json.loads(rest)
            strategy = list_strategy(names, rt)
            index = next(
                (
                    i
                    for i, item in enumerate(node)
                    if isinstance(item, Mapping) and _key_of(item, strategy) == want
                ),
                None,
            )
            if index is None:
                return
            parents.append((node, index))
            node = node[index]
        elif kind == "v" and isinstance(node, list):
            value = json.loads(rest)
            if value not in node:
                return
            parents.append((node, node.index(value)))
            node = value
        else:
            return
    if not parents:
        return
    container, slot = parents.pop()
    del container[slot]
    # Prune maps emptied by the removal, but never a top-level field like spec/metadata.
    while len(parents) > 1:
        container, slot = parents[-1]
        child = container[slot]
        if isinstance(child, dict) and not child:
            del container[slot]
            parents.pop()
        else:
            break


def _owned_below(paths: set[Path], prefix: Path) -> bool:
    n = len(prefix)
    return any(p[:n] == prefix for p in paths)


# --- public API ----------------------------------------------------------------------------


def server_side_apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    *,
    rt: ResourceType | None,
    manager: str,
    force: bool,
    now: str,
    subresource: str | None = None,
) -> dict[str, Any]:
    """The new object after ``manager`` applies ``applied`` to ``live`` (None: create)."""
    if not isinstance(applied, dict):
        raise bad_request("error decoding YAML: the applied configuration must be an object")
    scope = _Scope(rt, subresource)
    applied_leaves = _leaves(applied, scope)
    applied_set = set(applied_leaves)
    api_version = str(applied.get("apiVersion") or (live or {}).get("apiVersion") or "")
    identity = (manager, "Apply", subresource)

    if live is None:
        result = _clean(
            {
                k: v
                for k, v in applied.items()
                if scope.tracks(k) or k in ("apiVersion", "kind", "metadata")
            }
        )
        result.setdefault("metadata", {}).pop("managedFields", None)
        me = _Manager(manager, "Apply", subresource, api_version, now, applied_set)
        _write_managers(result, [me])
        return result

    managers = _read_managers(live)
    me_before = _find(managers, identity)
    previous = set(me_before.paths) if me_before else set()
    others = [m for m in managers if m.identity != identity]

    merged = copy.deepcopy(live)
    for top, value in applied.items():
        if top in ("apiVersion", "kind"):
            merged[top] = value
        elif top == "metadata" and isinstance(value, Mapping):
            tracked = {k: v for k, v in value.items() if k not in SERVER_METADATA}
            merged["metadata"] = _merge(merged.get("metadata") or {}, tracked, ("metadata",), rt)
        elif scope.tracks(top) and value is not None:
            merged[top] = _merge(merged.get(top, _MISSING), value, (top,), rt)

    live_leaves = _leaves(live, scope)
    merged_leaves = _leaves(merged, scope)
    conflicts: list[tuple[_Manager, Path]] = []
    for path in sorted(applied_set):
        if live_leaves.get(path, _MISSING) == merged_leaves.get(path, _MISSING):
            continue
        for other in others:
            if path in other.paths:
                conflicts.append((other, path))
    if conflicts and not force:
        raise _conflict_error(conflicts)
    for other, path in conflicts:
        other.paths.discard(path)

    # Fields this manager dropped since its last apply go, unless someone else holds them.
    held_by_others: set[Path] = set().union(*(m.paths for m in others)) if others else set()
    removed: list[Path] = []
    for path in sorted(previous - applied_set, key=len):
        if _owned_below(held_by_others, path) or _owned_below(applied_set, path):
            continue
        if any(path[: len(done)] == done for done in removed):
            continue  # already gone with its parent (removing a child first would lose the key)
        _remove_path(merged, path, rt)
        removed.append(path)

    me = _Manager(manager, "Apply", subresource, api_version, now, applied_set)
    new_managers = [me if m.identity == identity else m for m in managers]
    if me_before is None:
        new_managers.append(me)
    _write_managers(merged, new_managers)
    return merged


def record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    operation: str = "Update",
    now: str,
    subresource: str | None = None,
    rt: ResourceType | None = None,
) -> dict[str, Any]:
    """``new`` with managedFields that record ``manager`` writing it over ``old``.

    ``rt`` defaults to the registered type of ``new``'s apiVersion/kind; it decides whether
    main-resource writes may claim ``status`` (not for kinds with a status subresource).
    """
    if rt is None:
        rt = REGISTRY.by_kind(str(new.get("apiVersion", "")), str(new.get("kind", "")))
    scope = _Scope(rt, subresource)
    old_leaves = _leaves(old, scope)
    new_leaves = _leaves(new, scope)
    changed = {p for p, v in new_leaves.items() if old_leaves.get(p, _MISSING) != v}
    removed = set(old_leaves) - set(new_leaves)

    new_meta = new.get("metadata") or {}
    old_meta = (old or {}).get("metadata") or {}
    client_sent = "managedFields" in new_meta and new_meta.get("managedFields") != old_meta.get(
        "managedFields"
    )
    managers = _read_managers(new if client_sent else old)

    result = dict(new)
    result["metadata"] = dict(new_meta)
    if not changed and not removed:
        _write_managers(result, managers)
        return result
    for m in managers:
        m.paths -= changed | removed
        # Ownership of a list item's children disappears with the item.
        m.paths = {p for p in m.paths if not any(p[: len(r)] == r for r in removed)}
    identity = (manager, operation, subresource)
    me = _find(managers, identity)
    api_version = str(new.get("apiVersion") or "")
    if me is None:
        me = _Manager(manager, operation, subresource, api_version, now)
        managers.append(me)
    me.paths |= changed
    me.api_version = api_version
    me.time = now
    _write_managers(result, managers)
    return result


def _conflict_error(conflicts: list[tuple[_Manager, Path]]) -> ApiError:
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {m.describe()}",
            "field": path_string(p),
        }
        for m, p in conflicts
    ]
    if len(conflicts) == 1:
        m, p = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {m.describe()}: {path_string(p)}"
    else:
        by_manager: dict[str, list[str]] = {}
        for m, p in conflicts:
            by_manager.setdefault(m.describe(), []).append(path_string(p))
        lines: list[str] = []
        for described in sorted(by_manager):
            lines.append(f"conflicts with {described}:")
            lines.extend(f"- {p}" for p in by_manager[described])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError("Conflict", message, details={"causes": causes})
