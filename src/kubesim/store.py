"""In-memory object storage with the write semantics of kube-apiserver.

Guarantees (k8s-semantics Part B):

* One global, strictly increasing resourceVersion (B1). Every committed change
  (create, update, finalizer change, delete) takes ``current_rv + 1``; no-op
  updates and dry runs take none.
* Objects are stored as the plain JSON dicts the API serves. Stored dicts are
  never mutated after commit: writers build a new dict, so readers may hand
  them out without copying.
* ``generation`` (on the kinds a real server tracks it for: not ConfigMap, Secret,
  Service, Namespace...) starts at 1 and grows only when the desired state (anything
  outside ``metadata`` and ``status``) changes (B16); a status subresource write
  changes only ``.status`` and a main-resource write never changes ``.status``.
* Deletion honours finalizers (B17): an object with finalizers, or deleted
  with Foreground/Orphan propagation, only gains ``deletionTimestamp`` and is
  removed when its last finalizer goes. Namespaces additionally wait for
  ``spec.finalizers`` to be emptied through ``namespaces/{name}/finalize``.
* Creating inside a missing namespace is 404, inside a terminating one 403
  (B19).

Listeners are called synchronously after each commit, in commit order, on the
loop thread. A listener must be fast and must not write to the store; one that
raises is logged and the remaining listeners still run.

Write hooks (:class:`WriteHook`) extend the write path of particular kinds
(CustomResourceDefinitions, custom resources: `kubesim.crds`): they see every
create and update draft before it is committed (dry runs included) and may
change it or refuse it with an `ApiError`, and may replace the first deletion
of an object by an update.

Objects are stored per resource (`ResourceType.store_key`), not per version:
reads through any version of a custom resource return it with that version's
``apiVersion``. ``registry`` is the server's own `ResourceRegistry`.
"""

from __future__ import annotations

import builtins
import itertools
import logging
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from kubesim.defaults import apply_defaults, job_selector_defaults
from kubesim.errors import ApiError, already_exists, conflict, forbidden, invalid, not_found
from kubesim.resources import (
    NAMESPACE_TYPE,
    Obj,
    ResourceRegistry,
    ResourceType,
    in_version,
    new_registry,
)
from kubesim.timestamps import now_rfc3339

log = logging.getLogger(__name__)

# Server-owned metadata a client cannot set on create.
_SERVER_META = ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation")
# metadata fields kept from the live object on every update.
_IMMUTABLE_META = (
    "uid",
    "name",
    "namespace",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generateName",
)
_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_NOT_DESIRED_STATE = frozenset({"metadata", "status", "apiVersion", "kind"})
# A custom resource without a status subresource: every change but metadata is desired state.
_NOT_DESIRED_STATE_OPEN = frozenset({"metadata", "apiVersion", "kind"})


@dataclass(frozen=True, slots=True)
class Event:
    """One committed change, as seen by watchers and controllers."""

    type: str  # "ADDED" | "MODIFIED" | "DELETED"
    resource: ResourceType
    obj: Obj  # new state; for DELETED the final state carrying the deletion RV
    old: Obj | None  # previous state (None for ADDED)
    rv: int


Listener = Callable[[Event], None]


class WriteHook(Protocol):
    """Kind-specific write logic the store runs inside its writes (see module docstring)."""

    def before_write(
        self, rt: ResourceType, new: Obj, live: Obj | None, subresource: str | None
    ) -> None:
        """Adjust ``new`` (a private draft; replace nested values, never edit them in
        place) or raise ApiError. ``live`` is None on create."""

    def before_delete(self, rt: ResourceType, live: Obj) -> Obj | None:
        """For an object not yet being deleted: an update to commit instead of the
        deletion (e.g. deletionTimestamp plus a finalizer), or None for the usual way."""


def deep_copy(obj: Obj) -> Obj:
    """A private copy of a JSON object (orjson round-trip beats copy.deepcopy)."""
    result: Obj = orjson.loads(orjson.dumps(obj))
    return result


# Kinds whose objects a real kube-apiserver gives no metadata.generation (their strategies
# never set it): data-only kinds, Services and Namespaces.
_NO_GENERATION = frozenset(
    {
        ("", "ConfigMap"),
        ("", "Secret"),
        ("", "Service"),
        ("", "Namespace"),
        ("", "ServiceAccount"),
        ("", "Endpoints"),
        ("", "Event"),
    }
)


# Kinds a real server creates with an empty ``status.loadBalancer``.
_LOAD_BALANCED = frozenset({("", "Service"), ("networking.k8s.io", "Ingress")})


def tracks_generation(rt: ResourceType) -> bool:
    return (rt.group, rt.kind) not in _NO_GENERATION


def _desired_state(rt: ResourceType, obj: Obj) -> dict[str, Any]:
    skip = _NOT_DESIRED_STATE_OPEN if rt.custom and not rt.has_status else _NOT_DESIRED_STATE
    return {k: v for k, v in obj.items() if k not in skip}


def _without_volatile_meta(obj: Obj) -> Obj:
    meta = {
        k: v
        for k, v in obj.get("metadata", {}).items()
        if k not in ("resourceVersion", "managedFields")
    }
    return {**obj, "metadata": meta}


class Store:
    """All objects of the emulated cluster, keyed by (type, namespace, name)."""

    def __init__(self, *, initial_rv: int = 1, registry: ResourceRegistry | None = None) -> None:
        self.current_rv = initial_rv
        self.registry = registry if registry is not None else new_registry()
        # (group, plural) -> namespace ("" when cluster-scoped) -> name -> object
        self._storage: dict[tuple[str, str], dict[str, dict[str, Obj]]] = {}
        self._listeners: list[Listener] = []
        self._hooks: builtins.list[WriteHook] = []
        self._cluster_ips = itertools.count(1)

    # ------------------------------------------------------------------ reads

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        by_ns = self._storage.get(rt.store_key)
        if by_ns is None:
            return None
        names = by_ns.get(namespace or "")
        obj = names.get(name) if names else None
        if obj is not None and rt.custom:
            return in_version(rt, obj)
        return obj

    def list(self, rt: ResourceType, namespace: str | None = None) -> list[Obj]:
        """Objects of one type, in one namespace or all; unfiltered, unordered."""
        by_ns = self._storage.get(rt.store_key)
        if not by_ns:
            return []
        out: list[Obj] = []
        if namespace:
            names = by_ns.get(namespace)
            out = list(names.values()) if names else []
        else:
            for names in by_ns.values():
                out.extend(names.values())
        if rt.custom:
            return [in_version(rt, obj) for obj in out]
        return out

    @property
    def _objects(self) -> dict[ResourceType, dict[str, dict[str, Obj]]]:
        """The stored objects by one served type per storage (the layout before storages
        were shared between versions; for code that still reads it)."""
        by_key = {rt.store_key: rt for rt in self.registry.storages()}
        return {by_key[key]: by_ns for key, by_ns in self._storage.items() if key in by_key}

    def count(self, rt: ResourceType | None = None) -> int:
        if rt is not None:
            return sum(len(n) for n in self._storage.get(rt.store_key, {}).values())
        return sum(len(n) for by_ns in self._storage.values() for n in by_ns.values())

    def counts_by_type(self) -> dict[str, int]:
        return {
            (f"{plural}.{group}" if group else plural): sum(len(n) for n in by_ns.values())
            for (group, plural), by_ns in self._storage.items()
        }

    def namespace_terminating(self, namespace: str) -> bool:
        ns = self.get(NAMESPACE_TYPE, None, namespace)
        return bool(ns and ns.get("metadata", {}).get("deletionTimestamp"))

    # -------------------------------------------------------------- listeners

    def add_listener(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def add_hook(self, hook: WriteHook) -> None:
        self._hooks.append(hook)

    def remove_hook(self, hook: WriteHook) -> None:
        if hook in self._hooks:
            self._hooks.remove(hook)

    def _emit(self, event: Event) -> None:
        for fn in list(self._listeners):
            try:
                fn(event)
            except Exception:
                log.exception("store listener %r failed on %s %s", fn, event.type, event.rv)

    # ----------------------------------------------------------------- writes

    def _next_rv(self) -> int:
        self.current_rv += 1
        return self.current_rv

    def _put(self, rt: ResourceType, obj: Obj) -> None:
        meta = obj["metadata"]
        by_ns = self._storage.setdefault(rt.store_key, {})
        by_ns.setdefault(meta.get("namespace") or "", {})[meta["name"]] = obj

    def _remove(self, rt: ResourceType, namespace: str | None, name: str) -> None:
        by_ns = self._storage.get(rt.store_key)
        if not by_ns:
            return
        names = by_ns.get(namespace or "")
        if names is not None:
            names.pop(name, None)
            if not names:
                del by_ns[namespace or ""]

    def create(self, rt: ResourceType, obj: Obj, *, dry_run: bool = False) -> Obj:
        """Store a new object; sets uid, RV, creationTimestamp and generation=1."""
        new = dict(obj)
        meta = dict(new.get("metadata") or {})
        new["metadata"] = meta
        new["apiVersion"] = rt.api_version
        new["kind"] = rt.kind
        for key in _SERVER_META:
            meta.pop(key, None)
        if not meta.get("name"):
            prefix = meta.get("generateName")
            if not prefix:
                raise invalid(
                    rt.kind,
                    "",
                    [
                        {
                            "reason": "FieldValueRequired",
                            "message": "Required value: name or generateName is required",
                            "field": "metadata.name",
                        }
                    ],
                    group=rt.group,
                )
            suffix = "".join(secrets.choice(_GENERATE_ALPHABET) for _ in range(5))
            meta["name"] = f"{prefix}{suffix}"
        name: str = meta["name"]
        self._validate_name(rt, name)
        if rt.namespaced:
            namespace = meta.get("namespace") or "default"
            meta["namespace"] = namespace
            self._check_namespace_open(rt, namespace, name)
        else:
            meta.pop("namespace", None)
            namespace = None
        if self.get(rt, namespace, name) is not None:
            raise already_exists(rt.plural, name, group=rt.group)
        self._apply_create_defaults(rt, new)
        self._apply_write_defaults(rt, new)
        for hook in self._hooks:
            hook.before_write(rt, new, None, None)
        meta = new["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        if tracks_generation(rt):
            meta["generation"] = 1
        if rt.kind == "Job" and rt.group == "batch":
            job_selector_defaults(new)
        if dry_run:
            return new  # like a real server: no resourceVersion on a dry-run create
        rv = self._next_rv()
        meta["resourceVersion"] = str(rv)
        self._put(rt, new)
        self._emit(Event("ADDED", rt, new, None, rv))
        return new

    def update(
        self,
        rt: ResourceType,
        obj: Obj,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        """Replace an object (PUT semantics); 409 if ``obj`` carries a stale RV.

        ``subresource="status"`` takes only ``.status`` from ``obj``;
        ``subresource="finalize"`` (namespaces) takes only ``spec.finalizers``.
        """
        meta_in = obj.get("metadata") or {}
        name = meta_in.get("name")
        namespace = meta_in.get("namespace") if rt.namespaced else None
        if not name:
            raise ApiError("BadRequest", "name is required for update")
        live = self.get(rt, namespace, name)
        if live is None:
            raise not_found(rt.plural, name, group=rt.group)
        live_meta = live["metadata"]
        sent_rv = meta_in.get("resourceVersion")
        if sent_rv and sent_rv != live_meta["resourceVersion"]:
            raise conflict(rt.plural, name, group=rt.group)
        new = self._merge_for_write(rt, live, obj, subresource)
        if subresource is None:
            if rt.kind == "Service" and rt.group == "":
                # clusterIP is immutable once allocated; keep it when the writer omits it.
                live_ip = (live.get("spec") or {}).get("clusterIP")
                if live_ip and not (new.get("spec") or {}).get("clusterIP"):
                    new["spec"] = {**(new.get("spec") or {}), "clusterIP": live_ip}
            self._apply_write_defaults(rt, new)
        for hook in self._hooks:
            hook.before_write(rt, new, live, subresource)
        self._check_finalizers(rt, live, new)
        if tracks_generation(rt) and _desired_state(rt, new) != _desired_state(rt, live):
            new["metadata"]["generation"] = int(live_meta.get("generation", 0)) + 1
        if _without_volatile_meta(new) == _without_volatile_meta(live):
            # Nothing changed: like etcd's GuaranteedUpdate, no new RV, no event.
            return live
        if dry_run:
            new["metadata"]["resourceVersion"] = live_meta["resourceVersion"]
            return new
        return self._commit_update(rt, live, new)

    def mutate(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        fn: Callable[[Obj], None],
        *,
        subresource: str | None = None,
    ) -> Obj | None:
        """Controller helper: edit a private copy, write it only if it changed."""
        live = self.get(rt, namespace, name)
        if live is None:
            return None
        draft = deep_copy(live)
        fn(draft)
        if draft == live:
            return live
        return self.update(rt, draft, subresource=subresource)

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        propagation: str | None = None,
        preconditions: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> Obj:
        """Delete now, or mark for deletion when finalizers must run first (B17)."""
        namespace = namespace if rt.namespaced else None
        live = self.get(rt, namespace, name)
        if live is None:
            raise not_found(rt.plural, name, group=rt.group)
        live_meta = live["metadata"]
        self._check_preconditions(rt, live, preconditions)
        if not live_meta.get("deletionTimestamp"):
            for hook in self._hooks:
                replacement = hook.before_delete(rt, live)
                if replacement is not None:
                    return replacement if dry_run else self._commit_update(rt, live, replacement)
        finalizers = list(live_meta.get("finalizers") or [])
        if propagation == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        elif propagation == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        is_namespace = rt is NAMESPACE_TYPE
        ns_finalizers = (live.get("spec") or {}).get("finalizers") or [] if is_namespace else []
        if live_meta.get("deletionTimestamp"):
            if finalizers == list(live_meta.get("finalizers") or []):
                return live
            new = {**live, "metadata": {**live_meta, "finalizers": finalizers}}
            return new if dry_run else self._commit_update(rt, live, new)
        if finalizers or ns_finalizers:
            meta = {**live_meta, "deletionTimestamp": now_rfc3339()}
            if tracks_generation(rt):
                meta["generation"] = int(live_meta.get("generation", 0)) + 1
            if not is_namespace:  # a real server sets no grace period on a namespace
                meta["deletionGracePeriodSeconds"] = 0
            if finalizers:
                meta["finalizers"] = finalizers
            new = {**live, "metadata": meta}
            if is_namespace:
                new["status"] = {**(live.get("status") or {}), "phase": "Terminating"}
            return new if dry_run else self._commit_update(rt, live, new)
        if dry_run:
            return live
        rv = self._next_rv()
        final = {**live, "metadata": {**live_meta, "resourceVersion": str(rv)}}
        self._remove(rt, namespace, name)
        self._emit(Event("DELETED", rt, final, live, rv))
        return final

    # --------------------------------------------------------------- helpers

    def _commit_update(self, rt: ResourceType, live: Obj, new: Obj) -> Obj:
        meta = new["metadata"]
        rv = self._next_rv()
        meta["resourceVersion"] = str(rv)
        if not meta.get("finalizers"):
            meta.pop("finalizers", None)
        if (
            meta.get("deletionTimestamp")
            and not meta.get("finalizers")
            and not self._ns_finalizers(rt, new)
        ):
            self._remove(rt, meta.get("namespace"), meta["name"])
            self._emit(Event("DELETED", rt, new, live, rv))
            return new
        self._put(rt, new)
        self._emit(Event("MODIFIED", rt, new, live, rv))
        return new

    @staticmethod
    def _ns_finalizers(rt: ResourceType, obj: Obj) -> builtins.list[str]:
        # `list` is a method name in this class, hence builtins.list.
        if rt is not NAMESPACE_TYPE:
            return []
        result: builtins.list[str] = (obj.get("spec") or {}).get("finalizers") or []
        return result

    @staticmethod
    def _merge_for_write(rt: ResourceType, live: Obj, obj: Obj, subresource: str | None) -> Obj:
        live_meta = live["metadata"]
        meta_in = obj.get("metadata") or {}
        if subresource == "status":
            new = dict(live)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
            meta = dict(live_meta)
            if "managedFields" in meta_in:
                meta["managedFields"] = meta_in["managedFields"]
        elif subresource == "finalize":
            new = dict(live)
            spec = dict(live.get("spec") or {})
            spec["finalizers"] = list((obj.get("spec") or {}).get("finalizers") or [])
            new["spec"] = spec
            meta = dict(live_meta)
        else:
            new = dict(obj)
            if rt.has_status:
                if "status" in live:
                    new["status"] = live["status"]
                else:
                    new.pop("status", None)
            if rt is NAMESPACE_TYPE:
                # spec.finalizers is only writable through /finalize.
                spec = dict(new.get("spec") or {})
                live_fin = (live.get("spec") or {}).get("finalizers")
                if live_fin is not None:
                    spec["finalizers"] = live_fin
                else:
                    spec.pop("finalizers", None)
                if spec:
                    new["spec"] = spec
                else:
                    new.pop("spec", None)
            meta = dict(meta_in)
            for key in _IMMUTABLE_META:
                if key in live_meta:
                    meta[key] = live_meta[key]
                else:
                    meta.pop(key, None)
        if tracks_generation(rt):
            meta["generation"] = live_meta.get("generation", 1)
        new["metadata"] = meta
        new["apiVersion"] = rt.api_version
        new["kind"] = rt.kind
        return new

    @staticmethod
    def _check_finalizers(rt: ResourceType, live: Obj, new: Obj) -> None:
        live_meta = live["metadata"]
        if not live_meta.get("deletionTimestamp"):
            return
        before = set(live_meta.get("finalizers") or [])
        added = [f for f in new["metadata"].get("finalizers") or [] if f not in before]
        if added:
            found = ", ".join(f'"{f}"' for f in added)
            raise invalid(
                rt.kind,
                live_meta["name"],
                [
                    {
                        "reason": "FieldValueForbidden",
                        "message": "Forbidden: no new finalizers can be added if the object is "
                        f"being deleted, found new finalizers []string{{{found}}}",
                        "field": "metadata.finalizers",
                    }
                ],
                group=rt.group,
            )

    @staticmethod
    def _check_preconditions(
        rt: ResourceType, live: Obj, preconditions: dict[str, Any] | None
    ) -> None:
        if not preconditions:
            return
        meta = live["metadata"]
        for key, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            want = preconditions.get(key)
            if want and want != meta.get(key):
                raise ApiError(
                    "Conflict",
                    f'Operation cannot be fulfilled on {rt.group_resource} "{meta["name"]}": '
                    f"Precondition failed: {label} in precondition: {want}, "
                    f"{label} in object meta: {meta.get(key)}",
                    details={"name": meta["name"], "group": rt.group, "kind": rt.plural},
                )

    @staticmethod
    def _validate_name(rt: ResourceType, name: str) -> None:
        if len(name) <= 253 and _NAME_RE.match(name):
            return
        raise invalid(
            rt.kind,
            name,
            [
                {
                    "reason": "FieldValueInvalid",
                    "message": f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must '
                    "consist of lower case alphanumeric characters, '-' or '.', and must start "
                    "and end with an alphanumeric character",
                    "field": "metadata.name",
                }
            ],
            group=rt.group,
        )

    def _check_namespace_open(self, rt: ResourceType, namespace: str, name: str) -> None:
        ns = self.get(NAMESPACE_TYPE, None, namespace)
        if ns is None:
            raise not_found("namespaces", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise forbidden(
                f'{rt.group_resource} "{name}" is forbidden: unable to create new content in '
                f"namespace {namespace} because it is being terminated",
                resource=rt.plural,
                name=name,
                group=rt.group,
                causes=[
                    {
                        "reason": "NamespaceTerminating",
                        "message": f"namespace {namespace} is being terminated",
                        "field": "metadata.namespace",
                    }
                ],
            )

    @staticmethod
    def _apply_create_defaults(rt: ResourceType, obj: Obj) -> None:
        if rt is NAMESPACE_TYPE:
            spec = dict(obj.get("spec") or {})
            spec.setdefault("finalizers", ["kubernetes"])
            obj["spec"] = spec
            obj["status"] = {"phase": "Active"}
            meta = obj["metadata"]
            meta["labels"] = {
                **(meta.get("labels") or {}),
                "kubernetes.io/metadata.name": meta["name"],
            }
        elif rt.kind == "Pod" and rt.group == "" and not obj.get("status"):
            obj["status"] = {"phase": "Pending"}
        elif (rt.group, rt.kind) in _LOAD_BALANCED and not obj.get("status"):
            obj["status"] = {"loadBalancer": {}}

    def _apply_write_defaults(self, rt: ResourceType, obj: Obj) -> None:
        """The apiserver's defaulting plus ClusterIP allocation for Services."""
        apply_defaults(rt, obj)
        if rt.kind == "Service" and rt.group == "":
            spec = obj["spec"]
            if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
                spec["clusterIP"] = self._allocate_cluster_ip()
            if spec.get("clusterIP"):
                spec.setdefault("clusterIPs", [spec["clusterIP"]])

    def _allocate_cluster_ip(self) -> str:
        n = next(self._cluster_ips)
        return f"10.96.{n // 250 % 256}.{n % 250 + 2}"
