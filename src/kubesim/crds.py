"""CustomResourceDefinitions (``apiextensions.k8s.io/v1``) and the custom resources they define.

One :class:`CustomResourceDefinitions` per server does what the apiextensions part of a
kube-apiserver does, as far as clients (informers, kubectl, Helm) can notice:

* **Validation.** Creating or updating a CRD checks the essentials the real server checks,
  with its messages: ``metadata.name`` is ``<spec.names.plural>.<spec.group>``,
  ``spec.group`` is a DNS subdomain with a dot, ``spec.scope`` is ``Namespaced`` or
  ``Cluster``, names are DNS-1035 labels (``kind``/``listKind`` in any case), every version
  has a unique DNS-1035 name and a ``schema.openAPIV3Schema``, exactly one version has
  ``storage: true``; on update ``scope`` and ``names.kind`` are immutable (once established)
  and versions in ``status.storedVersions`` may not leave ``spec.versions``. Failures are
  one 422 Invalid listing every cause. Defaults are filled in as the v1 API does
  (``names.singular``, ``names.listKind``, ``conversion.strategy: None``).
* **Establishing, at once.** In the same write the CRD gets ``status.acceptedNames``,
  ``NamesAccepted=True`` and ``Established=True`` (a real server sets ``Established`` a
  moment later) and ``storedVersions``. Names another CRD of the group already accepted
  (plural, singular, short names, kind, listKind) give ``NamesAccepted=False`` with the real
  reasons (``PluralConflict``...), and a CRD that was never established is not served; it
  is looked at again whenever another CRD of its group changes or goes, as the naming
  controller does, so it is established once its names are free.
* **Serving.** Every ``served`` version of an established CRD is registered in the
  server's registry (never a global one) as a custom `ResourceType` named by
  ``status.acceptedNames``, with the ``status``/``scale`` subresources and
  ``additionalPrinterColumns`` of that version. Discovery, routing, OpenAPI stubs, CRUD,
  list, watch, server-side apply, selectors, tables, garbage collection and namespace
  deletion then treat it like any other kind. All versions share one storage; only
  ``apiVersion`` differs between them (``conversion.strategy: None``). When a CRD stops
  serving a type as it was (version unserved, subresources or names changed, CRD gone), the
  open watches on that type end, as the real server ends them when it rebuilds a CRD's
  storage; clients re-list.
* **Deletion.** Deleting a CRD only marks it: ``deletionTimestamp``, the
  ``customresourcecleanup.apiextensions.k8s.io`` finalizer and ``Terminating=True``
  (``InstanceDeletionPending``). The cleanup then deletes every custom resource (watchers
  see DELETED; ones with finalizers of their own are waited for), records
  ``InstanceDeletionCompleted`` and removes the finalizer, so the CRD goes, its types are
  unregistered, discovery forgets them and requests for them are 404. While a CRD is
  terminating, creating a custom resource is 403.

Deliberately not emulated: OpenAPI schema validation, pruning and defaulting (a custom
resource keeps any field it is sent, as with ``x-kubernetes-preserve-unknown-fields: true``
everywhere, so Strict field validation only checks ``metadata``), CEL validation rules,
conversion webhooks (versions differ only by ``apiVersion``), ``selectableFields`` (custom
resources support the ``metadata.name``/``metadata.namespace`` field selectors only), the
API-approval annotation for ``*.k8s.io`` groups, the published OpenAPI schemas of custom
resources, ``v1beta1`` CRDs, and the 2-second pause a real server takes before the first
create of a freshly established type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson

from kubesim.controllers.base import QueuedController, unless_vanished
from kubesim.errors import forbidden, invalid
from kubesim.resources import CRD_TYPE, Obj, ResourceType
from kubesim.store import Event, Store
from kubesim.timestamps import now_rfc3339
from kubesim.watch import WatchHub

CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
# The verbs of every custom resource, in the apiextensions server's discovery order.
CUSTOM_RESOURCE_VERBS = (
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
)

_DNS1035_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN_RE = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_DNS1035_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
_DNS1123_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_SCOPES = ("Cluster", "Namespaced")
_COLUMN_TYPES = ("boolean", "date", "integer", "number", "string")


# --------------------------------------------------------------------------- helpers


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _go_value(value: Any) -> str:
    """A field value as Go's field errors render it (JSON-like; ``null`` for nothing)."""
    return orjson.dumps(value).decode()


def _required(field: str, detail: str = "") -> dict[str, str]:
    message = f"Required value: {detail}" if detail else "Required value"
    return {"reason": "FieldValueRequired", "message": message, "field": field}


def _invalid(field: str, value: Any, detail: str) -> dict[str, str]:
    return {
        "reason": "FieldValueInvalid",
        "message": f"Invalid value: {_go_value(value)}: {detail}",
        "field": field,
    }


def _dns1035_errors(value: str) -> list[str]:
    errors = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _DNS1035_RE.match(value):
        errors.append(_DNS1035_MESSAGE)
    return errors


def _dns1123_subdomain_errors(value: str) -> list[str]:
    errors = []
    if len(value) > 253:
        errors.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN_RE.match(value):
        errors.append(_DNS1123_SUBDOMAIN_MESSAGE)
    return errors


def crd_name_of(rt: ResourceType) -> str:
    """The name of the CRD that defines custom resource type ``rt``."""
    return f"{rt.plural}.{rt.group}"


def condition(obj: Obj, ctype: str) -> dict[str, Any] | None:
    for cond in _list(_dict(obj.get("status")).get("conditions")):
        if isinstance(cond, dict) and cond.get("type") == ctype:
            return cond
    return None


def condition_true(obj: Obj, ctype: str) -> bool:
    cond = condition(obj, ctype)
    return cond is not None and cond.get("status") == "True"


def _with_condition(
    conditions: list[Any], ctype: str, status: str, reason: str, message: str, now: str
) -> list[Any]:
    """``conditions`` with ``ctype`` set (a new list; ``lastTransitionTime`` kept when the
    status does not change)."""
    out: list[Any] = []
    found = False
    for cond in conditions:
        if isinstance(cond, dict) and cond.get("type") == ctype:
            found = True
            since = cond.get("lastTransitionTime") if cond.get("status") == status else now
            cond = {
                "type": ctype,
                "status": status,
                "lastTransitionTime": since or now,
                "reason": reason,
                "message": message,
            }
        out.append(cond)
    if not found:
        out.append(
            {
                "type": ctype,
                "status": status,
                "lastTransitionTime": now,
                "reason": reason,
                "message": message,
            }
        )
    return out


# ------------------------------------------------------------------ defaults, validation


def with_defaults(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with the v1 API's defaults (a new dict; ``spec`` is left alone)."""
    spec = dict(spec)
    names = dict(_dict(spec.get("names")))
    kind = names.get("kind")
    if isinstance(kind, str) and kind:
        if not names.get("singular"):
            names["singular"] = kind.lower()
        if not names.get("listKind"):
            names["listKind"] = f"{kind}List"
    spec["names"] = names
    if not isinstance(spec.get("conversion"), dict):
        spec["conversion"] = {"strategy": "None"}
    elif not spec["conversion"].get("strategy"):
        spec["conversion"] = {**spec["conversion"], "strategy": "None"}
    return spec


def _storage_version(spec: dict[str, Any]) -> str | None:
    for version in _list(spec.get("versions")):
        if isinstance(version, dict) and version.get("storage") is True:
            name = version.get("name")
            return name if isinstance(name, str) else None
    return None


def validation_causes(crd: Obj, live: Obj | None) -> list[dict[str, str]]:
    """Everything wrong with ``crd`` (defaults applied), as Status causes, in the order
    the real server reports them. ``live`` is the stored CRD on update."""
    causes: list[dict[str, str]] = []
    meta = _dict(crd.get("metadata"))
    spec = _dict(crd.get("spec"))
    names = _dict(spec.get("names"))
    group = spec.get("group") if isinstance(spec.get("group"), str) else ""
    plural = names.get("plural") if isinstance(names.get("plural"), str) else ""
    name = str(meta.get("name") or "")
    if name != f"{plural}.{group}":
        causes.append(_invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))

    if not group:
        causes.append(_required("spec.group"))
    elif errors := _dns1123_subdomain_errors(group):
        causes.append(_invalid("spec.group", group, ",".join(errors)))
    elif "." not in group:
        causes.append(_invalid("spec.group", group, "should be a domain with at least one dot"))

    scope = spec.get("scope")
    if not scope:
        causes.append(_required("spec.scope"))
    elif scope not in _SCOPES:
        causes.append(
            {
                "reason": "FieldValueNotSupported",
                "message": f"Unsupported value: {_go_value(scope)}: supported values: "
                '"Cluster", "Namespaced"',
                "field": "spec.scope",
            }
        )

    versions = spec.get("versions")
    storage_count = 0
    seen: set[str] = set()
    unique = True
    for i, version in enumerate(_list(versions)):
        path = f"spec.versions[{i}]"
        version = _dict(version)
        if version.get("storage") is True:
            storage_count += 1
        raw_name = version.get("name")
        vname = raw_name if isinstance(raw_name, str) else ""
        if vname in seen:
            unique = False
        seen.add(vname)
        if errors := _dns1035_errors(vname):
            causes.append(_invalid(f"{path}.name", vname, ",".join(errors)))
        if not isinstance(_dict(version.get("schema")).get("openAPIV3Schema"), dict):
            causes.append(_required(f"{path}.schema.openAPIV3Schema"))
        causes.extend(_subresource_causes(_dict(version.get("subresources")), path))
        for j, column in enumerate(_list(version.get("additionalPrinterColumns"))):
            causes.extend(_column_causes(_dict(column), f"{path}.additionalPrinterColumns[{j}]"))
    if not unique:
        causes.append(_invalid("spec.versions", versions, "must contain unique version names"))
    if storage_count != 1:
        causes.append(
            _invalid(
                "spec.versions", versions, "must have exactly one version marked as storage version"
            )
        )

    for key in ("plural", "singular", "kind", "listKind"):
        if not names.get(key):
            causes.append(_required(f"spec.names.{key}"))
    for key in ("plural", "singular"):
        value = names.get(key)
        if isinstance(value, str) and value and (errors := _dns1035_errors(value)):
            causes.append(_invalid(f"spec.names.{key}", value, ",".join(errors)))
    for key in ("kind", "listKind"):
        value = names.get(key)
        if isinstance(value, str) and value and (errors := _dns1035_errors(value.lower())):
            causes.append(
                _invalid(
                    f"spec.names.{key}",
                    value,
                    "may have mixed case, but should otherwise match: " + ",".join(errors),
                )
            )
    for key in ("shortNames", "categories"):
        for i, value in enumerate(_list(names.get(key))):
            if errors := _dns1035_errors(str(value)):
                causes.append(_invalid(f"spec.names.{key}[{i}]", value, ",".join(errors)))
    if names.get("kind") and names.get("kind") == names.get("listKind"):
        causes.append(
            _invalid(
                "spec.names.listKind", names["listKind"], "kind and listKind may not be the same"
            )
        )

    if live is not None:
        live_spec = _dict(live.get("spec"))
        if condition_true(live, "Established"):
            for field, new_value, old_value in (
                ("spec.scope", scope, live_spec.get("scope")),
                ("spec.names.kind", names.get("kind"), _dict(live_spec.get("names")).get("kind")),
            ):
                if new_value != old_value:
                    causes.append(_invalid(field, new_value, "field is immutable"))
        stored = _list(_dict(live.get("status")).get("storedVersions"))
        for i, version in enumerate(stored):
            if version not in seen:
                causes.append(
                    _invalid(
                        f"status.storedVersions[{i}]",
                        version,
                        f"missing from spec.versions; {version} was previously a storage "
                        f"version, and must remain in spec.versions until a storage migration "
                        f"ensures no data remains persisted in {version} and removes {version} "
                        "from status.storedVersions",
                    )
                )
    elif storage_count == 0:
        causes.append(
            _invalid("status.storedVersions", None, "must have at least one stored version")
        )
    return causes


def _subresource_causes(subresources: dict[str, Any], path: str) -> list[dict[str, str]]:
    scale = subresources.get("scale")
    if not isinstance(scale, dict):
        return []
    causes = []
    spec_path = scale.get("specReplicasPath")
    if not spec_path:
        causes.append(_required(f"{path}.subresources.scale.specReplicasPath"))
    elif not str(spec_path).startswith(".spec."):
        causes.append(
            _invalid(
                f"{path}.subresources.scale.specReplicasPath",
                spec_path,
                "should be a json path under .spec",
            )
        )
    status_path = scale.get("statusReplicasPath")
    if not status_path:
        causes.append(_required(f"{path}.subresources.scale.statusReplicasPath"))
    elif not str(status_path).startswith(".status."):
        causes.append(
            _invalid(
                f"{path}.subresources.scale.statusReplicasPath",
                status_path,
                "should be a json path under .status",
            )
        )
    return causes


def _column_causes(column: dict[str, Any], path: str) -> list[dict[str, str]]:
    causes = []
    if not column.get("name"):
        causes.append(_required(f"{path}.name"))
    allowed = ",".join(_COLUMN_TYPES)
    if not column.get("type"):
        causes.append(_required(f"{path}.type", f"must be one of {allowed}"))
    elif column["type"] not in _COLUMN_TYPES:
        causes.append(_invalid(f"{path}.type", column["type"], f"must be one of {allowed}"))
    if not column.get("jsonPath"):
        causes.append(_required(f"{path}.JSONPath"))
    return causes


# ------------------------------------------------------------------------ status, types


def _names_status(
    spec: dict[str, Any], status: dict[str, Any], others: Iterable[Obj], now: str
) -> dict[str, Any]:
    """``status`` with acceptedNames and the NamesAccepted/Established conditions as the
    naming and establishing controllers leave them (a new dict)."""
    requested = _dict(spec.get("names"))
    accepted = dict(_dict(status.get("acceptedNames")))
    resources: set[str] = set()
    kinds: set[str] = set()
    for other in others:
        names = _dict(_dict(other.get("status")).get("acceptedNames"))
        resources.update(str(names.get(k) or "") for k in ("plural", "singular"))
        resources.update(str(n) for n in _list(names.get("shortNames")))
        kinds.update(str(names.get(k) or "") for k in ("kind", "listKind"))
    resources.discard("")
    kinds.discard("")

    reason = message = ""

    def fresh(name: Any, current: Any, used: set[str]) -> bool:
        return name == current or name not in used

    new: dict[str, Any] = {}
    for key, used, conflict in (
        ("plural", resources, "PluralConflict"),
        ("singular", resources, "SingularConflict"),
    ):
        if fresh(requested.get(key), accepted.get(key), used):
            new[key] = requested.get(key) or ""
        else:
            reason, message = conflict, f'"{requested.get(key)}" is already in use'
            new[key] = accepted.get(key) or ""
    short_names = _list(requested.get("shortNames"))
    mine = set(_list(accepted.get("shortNames")))
    taken = [s for s in short_names if s not in mine and s in resources]
    if taken:
        reason = "ShortNamesConflict"
        message = ", ".join(f'"{s}" is already in use' for s in taken)
        if accepted.get("shortNames"):
            new["shortNames"] = accepted["shortNames"]
    elif short_names:
        new["shortNames"] = list(short_names)
    for key, conflict in (("kind", "KindConflict"), ("listKind", "ListKindConflict")):
        if fresh(requested.get(key), accepted.get(key), kinds):
            new[key] = requested.get(key) or ""
        else:
            reason, message = conflict, f'"{requested.get(key)}" is already in use'
            new[key] = accepted.get(key) or ""
    if requested.get("categories"):
        new["categories"] = list(_list(requested.get("categories")))

    conditions = list(_list(status.get("conditions")))
    if reason:
        conditions = _with_condition(conditions, "NamesAccepted", "False", reason, message, now)
    else:
        conditions = _with_condition(
            conditions, "NamesAccepted", "True", "NoConflicts", "no conflicts found", now
        )
    established = next(
        (c for c in conditions if isinstance(c, dict) and c.get("type") == "Established"), None
    )
    if established is None or established.get("status") != "True":
        if reason:
            conditions = _with_condition(
                conditions, "Established", "False", "NotAccepted", "not all names are accepted", now
            )
        else:
            conditions = _with_condition(
                conditions,
                "Established",
                "True",
                "InitialNamesAccepted",
                "the initial names have been accepted",
                now,
            )
    return {**status, "conditions": conditions, "acceptedNames": new}


def _stored_versions(spec: dict[str, Any], status: dict[str, Any]) -> list[Any]:
    stored = list(_list(status.get("storedVersions")))
    storage = _storage_version(spec)
    if storage is not None and storage not in stored:
        stored.append(storage)
    return stored


def _version_type(crd: Obj, version: dict[str, Any]) -> ResourceType | None:
    spec = _dict(crd.get("spec"))
    names = _dict(_dict(crd.get("status")).get("acceptedNames"))
    plural, kind = names.get("plural"), names.get("kind")
    if not plural or not kind or not isinstance(version.get("name"), str):
        return None
    subresources = _dict(version.get("subresources"))
    subs: list[str] = []
    if isinstance(subresources.get("status"), dict):
        subs.append("status")
    scale = subresources.get("scale")
    scale_paths = None
    if isinstance(scale, dict):
        subs.append("scale")
        scale_paths = (
            str(scale.get("specReplicasPath") or ".spec.replicas"),
            str(scale.get("statusReplicasPath") or ""),
            str(scale.get("labelSelectorPath") or ""),
        )
    columns = tuple(
        (
            str(c.get("name") or ""),
            str(c.get("type") or "string"),
            str(c.get("format") or ""),
            int(c.get("priority") or 0),
            str(c.get("jsonPath") or ""),
            str(c.get("description") or ""),
        )
        for c in _list(version.get("additionalPrinterColumns"))
        if isinstance(c, dict)
    )
    return ResourceType(
        group=str(spec.get("group")),
        version=version["name"],
        plural=str(plural),
        singular=str(names.get("singular") or ""),
        kind=str(kind),
        namespaced=spec.get("scope") == "Namespaced",
        short_names=tuple(str(s) for s in _list(names.get("shortNames"))),
        categories=tuple(str(c) for c in _list(names.get("categories"))),
        verbs=CUSTOM_RESOURCE_VERBS,
        subresources=tuple(subs),
        top_level_fields=(),
        custom=True,
        list_kind_name=str(names.get("listKind") or ""),
        scale_paths=scale_paths,
        printer_columns=columns,
    )


def served_types(crd: Obj) -> tuple[ResourceType, ...]:
    """The types an established CRD serves: one per ``served`` version."""
    if not condition_true(crd, "Established"):
        return ()
    out = []
    for version in _list(_dict(crd.get("spec")).get("versions")):
        if isinstance(version, dict) and version.get("served") is True:
            rt = _version_type(crd, version)
            if rt is not None:
                out.append(rt)
    return tuple(out)


def storage_type(crd: Obj) -> ResourceType | None:
    """A type through which the CRD's stored objects can be reached, served or not."""
    for version in _list(_dict(crd.get("spec")).get("versions")):
        if isinstance(version, dict) and version.get("storage") is True:
            return _version_type(crd, version)
    return None


# -------------------------------------------------------------------------- the manager


class CustomResourceDefinitions(QueuedController[str]):
    """Serves one server's CRDs: write hooks, registry upkeep and the cleanup finalizer.

    ``start`` installs the store write hook and listener and registers the types of CRDs
    already stored; ``stop`` removes them (registered types stay registered).
    """

    def __init__(self, store: Store, hub: WatchHub | None = None) -> None:
        super().__init__(store, "crd-controller")
        self.hub = hub
        self._terminating: set[str] = set()

    async def start(self) -> None:
        if not self._listening:
            self.store.add_hook(self)
        await super().start()

    async def stop(self) -> None:
        self.store.remove_hook(self)
        await super().stop()

    # ------------------------------------------------------------ write hooks

    def before_write(
        self, rt: ResourceType, new: Obj, live: Obj | None, subresource: str | None
    ) -> None:
        if rt.store_key == CRD_TYPE.store_key:
            self._prepare_crd(new, live, subresource)
        elif rt.custom and live is None:
            crd = self.store.get(CRD_TYPE, None, crd_name_of(rt))
            if crd is not None and condition_true(crd, "Terminating"):
                name = new["metadata"].get("name", "")
                raise forbidden(
                    f'{rt.group_resource} "{name}" is forbidden: create not allowed while '
                    "custom resource definition is terminating",
                    resource=rt.plural,
                    name=name,
                    group=rt.group,
                )

    def before_delete(self, rt: ResourceType, live: Obj) -> Obj | None:
        if rt.store_key != CRD_TYPE.store_key:
            return None
        meta = dict(live["metadata"])
        meta["deletionTimestamp"] = now_rfc3339()
        finalizers = list(meta.get("finalizers") or [])
        if CLEANUP_FINALIZER not in finalizers:
            finalizers.append(CLEANUP_FINALIZER)
        meta["finalizers"] = finalizers
        status = dict(_dict(live.get("status")))
        status["conditions"] = _with_condition(
            _list(status.get("conditions")),
            "Terminating",
            "True",
            "InstanceDeletionPending",
            "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
            meta["deletionTimestamp"],
        )
        return {**live, "metadata": meta, "status": status}

    def _prepare_crd(self, new: Obj, live: Obj | None, subresource: str | None) -> None:
        spec = _dict(new.get("spec"))
        if subresource is None:
            spec = with_defaults(spec)
            new["spec"] = spec
            name = str(new["metadata"].get("name") or "")
            causes = validation_causes(new, live)
            if causes:
                raise invalid(CRD_TYPE.kind, name, causes, group=CRD_TYPE.group)
        status = dict(_dict(new.get("status"))) if live is not None else {}
        status["storedVersions"] = _stored_versions(spec, status)
        group = spec.get("group")
        name = new["metadata"].get("name")
        others = [
            crd
            for crd in self.store.list(CRD_TYPE)
            if _dict(crd.get("spec")).get("group") == group and crd["metadata"]["name"] != name
        ]
        status = _names_status(spec, status, others, now_rfc3339())
        new["status"] = {
            "conditions": status.pop("conditions"),
            "acceptedNames": status.pop("acceptedNames"),
            "storedVersions": status.pop("storedVersions"),
            **status,
        }

    # -------------------------------------------------------------- registry

    def seed(self) -> None:
        for crd in self.store.list(CRD_TYPE):
            self._observe(crd)

    def on_event(self, event: Event) -> None:
        rt = event.resource
        if rt.store_key == CRD_TYPE.store_key:
            if event.type == "DELETED":
                name = str(event.obj["metadata"]["name"])
                self._terminating.discard(name)
                self._serve(name, ())
            else:
                self._observe(event.obj)
            self._recheck_group(event.obj)
        elif rt.custom:
            name = crd_name_of(rt)
            if name in self._terminating:
                self.enqueue(name)  # one of its objects changed or went: re-check

    def _observe(self, crd: Obj) -> None:
        meta = crd["metadata"]
        name = str(meta["name"])
        self._serve(name, served_types(crd))
        if meta.get("deletionTimestamp") and CLEANUP_FINALIZER in (meta.get("finalizers") or []):
            self._terminating.add(name)
            self.enqueue(name)
        else:
            self._terminating.discard(name)

    def _recheck_group(self, changed: Obj) -> None:
        """Queue the CRDs of ``changed``'s group whose names were refused: the names they
        want may have become free."""
        group = _dict(changed.get("spec")).get("group")
        for crd in self.store.list(CRD_TYPE):
            if (
                crd["metadata"]["name"] != changed["metadata"]["name"]
                and _dict(crd.get("spec")).get("group") == group
                and not condition_true(crd, "NamesAccepted")
            ):
                self.enqueue(str(crd["metadata"]["name"]))

    def _serve(self, name: str, types: tuple[ResourceType, ...]) -> None:
        gone = self.store.registry.set_custom(name, types)
        if gone and self.hub is not None:
            self.hub.close_watchers(gone, "the custom resource definition changed")

    # --------------------------------------------------------------- cleanup

    def process(self, name: str) -> None:
        crd = self.store.get(CRD_TYPE, None, name)
        if crd is None:
            return
        meta = crd["metadata"]
        if not meta.get("deletionTimestamp") and not condition_true(crd, "NamesAccepted"):
            # Names refused before may be free now: the write hook decides again.
            with unless_vanished("crd names: status"):
                self.store.update(CRD_TYPE, crd, subresource="status")
            return
        if not meta.get("deletionTimestamp") or CLEANUP_FINALIZER not in (
            meta.get("finalizers") or []
        ):
            return
        rt = storage_type(crd)
        if rt is not None and self.store.registry.is_builtin_storage(rt):
            # Never served (a built-in owns these URLs), so there is nothing of its own.
            self._set_terminating(
                name,
                "False",
                "OverlappingBuiltInResource",
                "instances overlap with built-in resources in storage",
            )
            self._remove_finalizer(name)
            return
        if rt is None or not condition_true(crd, "Established"):
            self._set_terminating(
                name, "False", "NeverEstablished", "resource was never established"
            )
            self._remove_finalizer(name)
            return
        self._set_terminating(
            name, "True", "InstanceDeletionInProgress", "CustomResource deletion is in progress"
        )
        for obj in self.store.list(rt):
            obj_meta = obj["metadata"]
            if obj_meta.get("deletionTimestamp"):
                continue
            with unless_vanished("crd cleanup: delete"):
                self.store.delete(
                    rt,
                    obj_meta.get("namespace"),
                    obj_meta["name"],
                    propagation="Background",
                    preconditions={"uid": obj_meta.get("uid")},
                )
        if self.store.count(rt):
            return  # objects with finalizers of their own: re-checked when they change
        self._set_terminating(name, "False", "InstanceDeletionCompleted", "removed all instances")
        self._remove_finalizer(name)

    def _set_terminating(self, name: str, status: str, reason: str, message: str) -> None:
        def edit(crd: Obj) -> None:
            crd_status = crd.setdefault("status", {})
            crd_status["conditions"] = _with_condition(
                _list(crd_status.get("conditions")),
                "Terminating",
                status,
                reason,
                message,
                now_rfc3339(),
            )

        with unless_vanished("crd cleanup: status"):
            self.store.mutate(CRD_TYPE, None, name, edit, subresource="status")

    def _remove_finalizer(self, name: str) -> None:
        def edit(crd: Obj) -> None:
            meta = crd["metadata"]
            meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != CLEANUP_FINALIZER]

        with unless_vanished("crd cleanup: finalizer"):
            self.store.mutate(CRD_TYPE, None, name, edit)
