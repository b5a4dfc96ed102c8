"""Helpers for building and reading the objects controllers write.

Owner references, condition upserts that keep ``lastTransitionTime`` stable, the
``pod-template-hash`` / controller-revision hash, random name suffixes (the apiserver's
generateName alphabet) and pod construction from a template. All pure.
"""

from __future__ import annotations

import copy
import secrets
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from kubesim.resources import REGISTRY, Obj, ResourceType

SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# The template revision a StatefulSet or DaemonSet pod was created from.
REVISION_LABEL = "controller-revision-hash"


def rt(api_version: str, kind: str) -> ResourceType:
    found = REGISTRY.by_kind(api_version, kind)
    if found is None:
        raise LookupError(f"kubesim does not serve {api_version} {kind}")
    return found


POD = rt("v1", "Pod")
PVC = rt("v1", "PersistentVolumeClaim")
NODE = rt("v1", "Node")
SECRET = rt("v1", "Secret")
CONFIG_MAP = rt("v1", "ConfigMap")
DEPLOYMENT = rt("apps/v1", "Deployment")
REPLICASET = rt("apps/v1", "ReplicaSet")
STATEFULSET = rt("apps/v1", "StatefulSet")
DAEMONSET = rt("apps/v1", "DaemonSet")
JOB = rt("batch/v1", "Job")
CRONJOB = rt("batch/v1", "CronJob")
PERSISTENT_VOLUME = REGISTRY.by_kind("v1", "PersistentVolume")


def random_suffix(n: int = 5) -> str:
    return "".join(secrets.choice(SUFFIX_ALPHABET) for _ in range(n))


def key_of(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj["metadata"]
    return (meta.get("namespace") or "", meta["name"])


def uid_of(obj: Mapping[str, Any]) -> str:
    return str(obj["metadata"].get("uid", ""))


def owner_ref(owner: Mapping[str, Any], *, block: bool = True) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": block,
    }


def controller_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def owned_by(objs: Iterable[Obj], owner: Mapping[str, Any]) -> list[Obj]:
    uid = owner["metadata"].get("uid")
    out = []
    for obj in objs:
        ref = controller_of(obj)
        if ref is not None and ref.get("uid") == uid:
            out.append(obj)
    return out


def template_hash(template: Mapping[str, Any], collision: int = 0) -> str:
    """A stable short hash of a pod template, spelled in the generateName alphabet
    (like ``pod-template-hash: 7d9c8b6f5``)."""
    data = orjson.dumps(template, option=orjson.OPT_SORT_KEYS) + str(collision).encode()
    digits = str(zlib.crc32(data) ^ (zlib.adler32(data) << 1) & 0xFFFFFFFF)
    return "".join(SUFFIX_ALPHABET[int(d) * 2 % len(SUFFIX_ALPHABET)] for d in digits)


def set_condition(
    conditions: list[Obj],
    ctype: str,
    status: str,
    reason: str,
    message: str,
    now: str,
    *,
    update_time: bool = False,
) -> None:
    """Upsert a condition; ``lastTransitionTime`` changes only when ``status`` does.

    ``update_time`` adds/refreshes ``lastUpdateTime`` (Deployment conditions carry it)."""
    for cond in conditions:
        if cond.get("type") == ctype:
            if cond.get("status") != status:
                cond["lastTransitionTime"] = now
                if update_time:
                    cond["lastUpdateTime"] = now
            elif update_time and (cond.get("reason") != reason or cond.get("message") != message):
                cond["lastUpdateTime"] = now
            cond["status"] = status
            cond["reason"] = reason
            cond["message"] = message
            return
    cond = {"type": ctype, "status": status}
    if update_time:
        cond["lastUpdateTime"] = now
    cond.update({"lastTransitionTime": now, "reason": reason, "message": message})
    conditions.append(cond)


def get_condition(obj: Mapping[str, Any], ctype: str) -> Mapping[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond
    return None


def condition_true(obj: Mapping[str, Any], ctype: str) -> bool:
    cond = get_condition(obj, ctype)
    return cond is not None and cond.get("status") == "True"


def is_terminating(obj: Mapping[str, Any]) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def pod_phase(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def pod_is_active(pod: Mapping[str, Any]) -> bool:
    return not is_terminating(pod) and pod_phase(pod) not in {"Succeeded", "Failed"}


def pod_is_ready(pod: Mapping[str, Any]) -> bool:
    return pod_is_active(pod) and condition_true(pod, "Ready")


def claim_names(pod: Mapping[str, Any]) -> set[str]:
    return {
        str(v["persistentVolumeClaim"].get("claimName"))
        for v in (pod.get("spec") or {}).get("volumes") or []
        if v.get("persistentVolumeClaim")
    }


def pod_from_template(
    template: Mapping[str, Any],
    *,
    owner: Mapping[str, Any],
    name: str | None = None,
    extra_labels: Mapping[str, str] | None = None,
    extra_annotations: Mapping[str, str] | None = None,
) -> Obj:
    """A Pod as a workload controller creates it from ``spec.template``, with the
    defaults the apiserver would fill in. Without ``name`` it is generated."""
    tmeta = template.get("metadata") or {}
    labels = {**(tmeta.get("labels") or {}), **(extra_labels or {})}
    annotations = {**(tmeta.get("annotations") or {}), **(extra_annotations or {})}
    spec = copy.deepcopy(dict(template.get("spec") or {}))
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("serviceAccountName", "default")
    meta: Obj = {}
    if name is None:
        # ``<owner>-<5 chars>`` with generateName recorded, as the apiserver does for
        # ReplicaSet, DaemonSet and Job pods.
        prefix = f"{owner['metadata']['name']}-"
        meta["generateName"] = prefix
        name = prefix + random_suffix()
    meta |= {
        "name": name,
        "namespace": owner["metadata"].get("namespace"),
        "labels": labels,
        "ownerReferences": [owner_ref(owner)],
    }
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def revision_of(pod: Mapping[str, Any]) -> str | None:
    """The ``controller-revision-hash`` label of a StatefulSet/DaemonSet pod."""
    revision: str | None = (pod["metadata"].get("labels") or {}).get(REVISION_LABEL)
    return revision


def int_or_percent(value: object, total: int, *, round_up: bool) -> int:
    """Resolve ``maxSurge``/``maxUnavailable`` style values (``"25%"`` or ``1``)."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%"):
        pct = float(value[:-1])
        exact = total * pct / 100.0
        whole = int(exact)
        return whole + 1 if round_up and exact > whole else whole
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0
