"""``meta.k8s.io/v1 Table`` rendering with kubectl's default columns (k8s-semantics B22).

:func:`to_table` turns a list of objects into the Table that ``kubectl get`` asks for with
``Accept: application/json;as=Table;g=meta.k8s.io;v=v1``. Columns and cell text follow the
kube-apiserver printers of v1.32 (``pkg/printers/internalversion``): priority-0 columns are
what ``kubectl get`` shows, priority-1 columns appear with ``-o wide``.

Guarantees: every row has exactly one cell per column definition; missing data renders as
kubectl does (``<none>``, ``<pending>``, ``0``); ``row.object`` is omitted for
``include_object="None"``, is a ``PartialObjectMetadata`` for ``"Metadata"`` (the default)
and the full object for ``"Object"``. Kinds without a printer get NAME and AGE.
Custom resources get the apiextensions server's table: Name plus the CRD's
``additionalPrinterColumns`` (simple JSONPath: ``.a.b``, ``[n]``, ``[*]`` and
``[?(@.key=="value")]`` filters; anything else renders an empty cell), or Name and
Age when the CRD declares none.

Awkward cases: ages are computed against the wall clock at render time, so they can read
``0s`` for brand-new objects; a pod's STATUS reproduces the printer's precedence (deleting →
Terminating, a waiting/terminated container's reason, init-container progress as
``Init:0/1``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import orjson

from kubesim.resources import Obj, ResourceType
from kubesim.timestamps import parse_time, utc_now

Cell = str | int
Column = tuple[str, str, int, str]  # (name, type, priority, format)
Printer = tuple[tuple[Column, ...], Callable[[Obj, datetime], list[Cell]]]

_DESCRIPTIONS = {
    "Name": "Name must be unique within a namespace. Is required when creating resources, "
    "although some resources may allow a client to request the generation of an appropriate "
    "name automatically. Name is primarily intended for creation idempotence and "
    "configuration definition. Cannot be updated.",
    "Age": "CreationTimestamp is a timestamp representing the server time when this object "
    "was created.",
}


# --- helpers -------------------------------------------------------------------------------


def _get(obj: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(part)
    return obj


def human_duration(seconds: float) -> str:
    """apimachinery ``duration.HumanDuration``: 45s, 3m20s, 5h, 2d3h, 3y100d..."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rem = s % 60
        return f"{minutes}m{rem}s" if rem else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rem = minutes % 60
        return f"{hours}h{rem}m" if rem else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rem = hours % 24
        return f"{hours // 24}d{rem}h" if rem else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def _since(value: Any, now: datetime) -> str:
    when = parse_time(value)
    if when is None:
        return "<unknown>"
    return human_duration((now - when).total_seconds())


def _age(obj: Obj, now: datetime) -> str:
    return _since(_get(obj, "metadata", "creationTimestamp"), now)


def _name(obj: Obj) -> str:
    return str(_get(obj, "metadata", "name") or "")


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _pod_template_containers(obj: Obj, *spec_path: str) -> tuple[str, str]:
    containers = _get(obj, *spec_path, "template", "spec", "containers") or []
    names = ",".join(str(c.get("name", "")) for c in containers if isinstance(c, Mapping))
    images = ",".join(str(c.get("image", "")) for c in containers if isinstance(c, Mapping))
    return names, images


def _selector_string(selector: Any) -> str:
    if not isinstance(selector, Mapping) or not selector:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op = expr.get("operator")
        key = expr.get("key")
        values = ",".join(expr.get("values") or [])
        if op == "In":
            parts.append(f"{key} in ({values})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts) if parts else "<none>"


def _map_selector(selector: Any) -> str:
    if not isinstance(selector, Mapping) or not selector:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


# --- per-kind printers ------------------------------------------------------------------------

_NAME: Column = ("Name", "string", 0, "name")
_AGE: Column = ("Age", "string", 0, "")


def _pod_status(pod: Obj) -> tuple[str, int, int, int, str]:
    """(reason, ready, total, restarts, last-restart-suffix) as kubectl's printPod."""
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    total = len(spec.get("containers") or [])
    reason = str(status.get("reason") or status.get("phase") or "Unknown")
    restarts = 0
    last_restart: datetime | None = None

    init_specs = spec.get("initContainers") or []
    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += _int(cs.get("restartCount"))
        state = cs.get("state") or {}
        terminated = state.get("terminated")
        if terminated and terminated.get("exitCode") == 0:
            continue
        if state.get("running") is not None and cs.get("started") and _is_sidecar(init_specs, cs):
            continue
        if terminated:
            if terminated.get("reason"):
                reason = f"Init:{terminated['reason']}"
            elif terminated.get("signal"):
                reason = f"Init:Signal:{terminated['signal']}"
            else:
                reason = f"Init:ExitCode:{terminated.get('exitCode')}"
        elif state.get("waiting", {}).get("reason") not in (None, "", "PodInitializing"):
            reason = f"Init:{state['waiting']['reason']}"
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    ready = 0
    if not initializing:
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += _int(cs.get("restartCount"))
            finished = parse_time(_get(cs, "lastState", "terminated", "finishedAt"))
            if finished and (last_restart is None or finished > last_restart):
                last_restart = finished
            state = cs.get("state") or {}
            waiting = state.get("waiting") or {}
            terminated = state.get("terminated") or {}
            if waiting.get("reason"):
                reason = str(waiting["reason"])
            elif terminated.get("reason"):
                reason = str(terminated["reason"])
            elif terminated:
                if terminated.get("signal"):
                    reason = f"Signal:{terminated['signal']}"
                else:
                    reason = f"ExitCode:{terminated.get('exitCode')}"
            elif state.get("running") is not None and cs.get("ready"):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            ready_condition = any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in status.get("conditions") or []
            )
            reason = "Running" if ready_condition else "NotReady"

    if _get(pod, "metadata", "deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    suffix = ""
    if last_restart is not None:
        suffix = f" ({human_duration((utc_now() - last_restart).total_seconds())} ago)"
    return reason, ready, total, restarts, suffix


def _is_sidecar(init_specs: list[Any], cs: Mapping[str, Any]) -> bool:
    for spec in init_specs:
        if isinstance(spec, Mapping) and spec.get("name") == cs.get("name"):
            return spec.get("restartPolicy") == "Always"
    return False


def _pod_row(pod: Obj, now: datetime) -> list[Cell]:
    reason, ready, total, restarts, suffix = _pod_status(pod)
    status = pod.get("status") or {}
    gates = _get(pod, "spec", "readinessGates") or []
    if gates:
        true_types = {
            c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"
        }
        met = sum(1 for g in gates if g.get("conditionType") in true_types)
        gates_cell = f"{met}/{len(gates)}"
    else:
        gates_cell = "<none>"
    return [
        _name(pod),
        f"{ready}/{total}",
        reason,
        f"{restarts}{suffix}",
        _age(pod, now),
        str(status.get("podIP") or "<none>"),
        str(_get(pod, "spec", "nodeName") or "<none>"),
        str(status.get("nominatedNodeName") or "<none>"),
        gates_cell,
    ]


_POD_COLUMNS: tuple[Column, ...] = (
    _NAME,
    ("Ready", "string", 0, ""),
    ("Status", "string", 0, ""),
    ("Restarts", "string", 0, ""),
    _AGE,
    ("IP", "string", 1, ""),
    ("Node", "string", 1, ""),
    ("Nominated Node", "string", 1, ""),
    ("Readiness Gates", "string", 1, ""),
)


def _deployment_row(obj: Obj, now: datetime) -> list[Cell]:
    names, images = _pod_template_containers(obj, "spec")
    status = obj.get("status") or {}
    desired = _get(obj, "spec", "replicas")
    desired = 1 if desired is None else _int(desired)
    return [
        _name(obj),
        f"{_int(status.get('readyReplicas'))}/{desired}",
        _int(status.get("updatedReplicas")),
        _int(status.get("availableReplicas")),
        _age(obj, now),
        names,
        images,
        _selector_string(_get(obj, "spec", "selector")),
    ]


_DEPLOYMENT_COLUMNS: tuple[Column, ...] = (
    _NAME,
    ("Ready", "string", 0, ""),
    ("Up-to-date", "integer", 0, ""),
    ("Available", "integer", 0, ""),
    _AGE,
    ("Containers", "string", 1, ""),
    ("Images", "string", 1, ""),
    ("Selector", "string", 1, ""),
)


def _replicaset_row(obj: Obj, now: datetime) -> list[Cell]:
    names, images = _pod_template_containers(obj, "spec")
    status = obj.get("status") or {}
    desired = _get(obj, "spec", "replicas")
    return [
        _name(obj),
        1 if desired is None else _int(desired),
        _int(status.get("replicas")),
        _int(status.get("readyReplicas")),
        _age(obj, now),
        names,
        images,
        _selector_string(_get(obj, "spec", "selector")),
    ]


_REPLICASET_COLUMNS: tuple[Column, ...] = (
    _NAME,
    ("Desired", "integer", 0, ""),
    ("Current", "integer", 0, ""),
    ("Ready", "integer", 0, ""),
    _AGE,
    ("Containers", "string", 1, ""),
    ("Images", "string", 1, ""),
    ("Selector", "string", 1, ""),
)


def _statefulset_row(obj: Obj, now: datetime) -> list[Cell]:
    names, images = _pod_template_containers(obj, "spec")
    desired = _get(obj, "spec", "replicas")
    desired = 1 if desired is None else _int(desired)
    return [
        _name(obj),
        f"{_int(_get(obj, 'status', 'readyReplicas'))}/{desired}",
        _age(obj, now),
        names,
        images,
    ]


_STATEFULSET_COLUMNS: tuple[Column, ...] = (
    _NAME,
    ("Ready", "string", 0, ""),
    _AGE,
    ("Containers", "string", 1, ""),
    ("Images", "string", 1, ""),
)


def _daemonset_row(obj: Obj, now: datetime) -> list[Cell]:
    names, images = _pod_template_containers(obj, "spec")
    status = obj.get("status") or {}
    return [
        _name(obj),
        _int(status.get("desiredNumberScheduled")),
        _int(status.get("currentNumberScheduled")),
        _int(status.get("numberReady")),
        _int(status.get("updatedNumberScheduled")),
        _int(status.get("numberAvailable")),
        _map_selector(_get(obj, "spec", "template", "spec", "nodeSelector")),
        _age(obj, now),
        names,
        images,
        _selector_string(_get(obj, "spec", "selector")),
    ]


_DAEMONSET_COLUMNS: tuple[Column, ...] = (
    _NAME,
    ("Desired", "integer", 0, ""),
    ("Current", "integer", 0, ""),
    ("Ready", "integer", 0, ""),
    ("Up-to-date", "integer", 0, ""),
    ("Available", "integer", 0, ""),
    ("Node Selector", "string", 0, ""),
    _AGE,
    ("Containers", "string", 1, ""),
    ("Images", "string", 1, ""),
    ("Selector", "string", 1, ""),
)


def _job_status(obj: Obj) -> str:
    conditions = {c.get("type"): c.get("status") for c in _get(obj, "status", "conditions") or []}
    for kind, text in (
        ("Failed", "Failed"),
        ("Complete", "Complete"),
        ("Suspended", "Suspended"),
        ("FailureTarget", "FailureTarget"),
        ("SuccessCriteriaMet", "SuccessCriteriaMet"),
    ):
        if conditions.get(kind) == "True":
            return text
    if _get(obj, "metadata", "deletionTimestamp"):
        return "Terminating"
    return "Running"


def _job_row(obj: Obj, now: datetime) -> list[Cell]:
    names, images = _pod_template_containers(obj, "spec")
    status = obj.get("status") or {}
    completions = _get(obj, "spec", "completions")
    succeeded = _int(status.get("succeeded"))
    if completions is not None:
        completions_cell = f"{succeeded}/{completions}"
    else:
        parallelism = _get(obj, "spec", "parallelism")
        parallelism = 1 if parallelism is None else _int(parallelism)
        completions_cell = (
            f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"
        )
    start = parse_time(status.get("startTime"))
    end = parse_time(status.get("completionTime"))
    duration = "" if start is None else human_duration(((end or now) - start).total_seconds())
    return [
        _name(obj),
        _job_status(obj),
        completions_cell,
        duration,
        _age(obj, now),
        names,
        images,
        _selector_string(_get(obj, "spec", "selector")),
    ]


_JOB_COLUMNS: tuple[Column, ...] = (
    _NAME,
    ("Status", "string", 0, ""),
    ("Completions", "string", 0, ""),
    ("Duration", "string", 0, ""),
    _AGE,
    ("Containers", "string", 1, ""),
    ("Images", "string", 1, ""),
    ("Selector", "string", 1, ""),
)


def _cronjob_row(obj: Obj, now: datetime) -> list[Cell]:
    names, images = _pod_template_containers(obj, "spec", "jobTemplate", "spec")
    last = _get(obj, "status", "lastScheduleTime")
    return [
        _name(obj),
        str(_get(obj, "spec", "schedule") or ""),
        str(_get(obj, "spec", "timeZone") or "<none>"),
        "True" if _get(obj, "spec", "suspend") else "False",
        len(_get(obj, "status", "active") or []),
        _since(last, now) if last else "<none>",
        _age(obj, now),
        names,
        images,
        _selector_string(_get(obj, "spec", "jobTemplate", "spec", "selector")),
    ]


_CRONJOB_COLUMNS: tuple[Column, ...] = (
    _NAME,
    ("Schedule", "string", 0, ""),
    ("Timezone", "string", 0, ""),
    ("Suspend", "boolean", 0, ""),
    ("Active", "integer", 0, ""),
    ("Last Schedule", "string", 0, ""),
    _AGE,
    ("Containers", "string", 1, ""),
    ("Images", "string", 1, ""),
    ("Selector", "string", 1, ""),
)


def _service_row(obj: Obj, now: datetime) -> list[Cell]:
    spec = obj.get("spec") or {}
    svc_type = str(spec.get("type") or "ClusterIP")
    external: list[str] = list(spec.get("externalIPs") or [])
    if svc_type == "LoadBalancer":
        ingress = _get(obj, "status", "loadBalancer", "ingress") or []
        lb = [str(i.get("ip") or i.get("hostname") or "") for i in ingress]
        external = lb + external
        external_cell = ",".join(external) if external else "<pending>"
    elif svc_type == "ExternalName":
        external_cell = str(spec.get("externalName") or "<none>")
    else:
        external_cell = ",".join(external) if external else "<none>"
    ports = []
    for port in spec.get("ports") or []:
        text = f"{port.get('port')}"
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        ports.append(f"{text}/{port.get('protocol') or 'TCP'}")
    return [
        _name(obj),
        svc_type,
        str(spec.get("clusterIP") or "<none>"),
        external_cell,
        ",".join(ports) if ports else "<none>",
        _age(obj, now),
        _map_selector(spec.get("selector")),
    ]


_SERVICE_COLUMNS: tuple[Column, ...] = (
    _NAME,
    ("Type", "string", 0, ""),
    ("Cluster-IP", "string", 0, ""),
    ("External-IP", "string", 0, ""),
    ("Port(s)", "string", 0, ""),
    _AGE,
    ("Selector", "string", 1, ""),
)


_ACCESS_MODES = {
    "ReadWriteOnce": "RWO",
    "ReadOnlyMany": "ROX",
    "ReadWriteMany": "RWX",
    "ReadWriteOncePod": "RWOP",
}


def _pvc_row(obj: Obj, now: datetime) -> list[Cell]:
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    phase = str(status.get("phase") or "Pending")
    if _get(obj, "metadata", "deletionTimestamp"):
        phase = "Terminating"
    bound = phase == "Bound"
    modes = ",".join(_ACCESS_MODES.get(m, m) for m in status.get("accessModes") or [])
    return [
        _name(obj),
        phase,
        str(spec.get("volumeName") or ""),
        str(_get(status, "capacity", "storage") or "") if bound else "",
        modes if bound else "",
        str(spec.get("storageClassName") or "<unset>"),
        str(spec.get("volumeAttributesClassName") or "<unset>"),
        _age(obj, now),
        str(spec.get("volumeMode") or "Filesystem"),
    ]


_PVC_COLUMNS: tuple[Column, ...] = (
    _NAME,
    ("Status", "string", 0, ""),
    ("Volume", "string", 0, ""),
    ("Capacity", "string", 0, ""),
    ("Access Modes", "string", 0, ""),
    ("StorageClass", "string", 0, ""),
    ("VolumeAttributesClass", "string", 0, ""),
    _AGE,
    ("VolumeMode", "string", 1, ""),
)


def _configmap_row(obj: Obj, now: datetime) -> list[Cell]:
    count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [_name(obj), count, _age(obj, now)]


def _secret_row(obj: Obj, now: datetime) -> list[Cell]:
    count = len(obj.get("data") or {})
    return [_name(obj), str(obj.get("type") or "Opaque"), count, _age(obj, now)]


def _namespace_row(obj: Obj, now: datetime) -> list[Cell]:
    return [_name(obj), str(_get(obj, "status", "phase") or "Active"), _age(obj, now)]


def _ingress_row(obj: Obj, now: datetime) -> list[Cell]:
    spec = obj.get("spec") or {}
    hosts = [str(r.get("host")) for r in spec.get("rules") or [] if r.get("host")]
    ingress = _get(obj, "status", "loadBalancer", "ingress") or []
    address = ",".join(str(i.get("ip") or i.get("hostname") or "") for i in ingress)
    return [
        _name(obj),
        str(spec.get("ingressClassName") or "<none>"),
        ",".join(hosts) if hosts else "*",
        address,
        "80, 443" if spec.get("tls") else "80",
        _age(obj, now),
    ]


def _event_row(obj: Obj, now: datetime) -> list[Cell]:
    # Works for core/v1 and events.k8s.io/v1 events.
    involved = obj.get("involvedObject") or obj.get("regarding") or {}
    last = (
        obj.get("lastTimestamp")
        or obj.get("deprecatedLastTimestamp")
        or _get(obj, "series", "lastObservedTime")
        or obj.get("eventTime")
    )
    first = obj.get("firstTimestamp") or obj.get("deprecatedFirstTimestamp") or obj.get("eventTime")
    source = obj.get("source") or obj.get("deprecatedSource") or {}
    source_text = str(source.get("component") or obj.get("reportingController") or "")
    if source.get("host"):
        source_text += f", {source['host']}"
    count = obj.get("count") or obj.get("deprecatedCount") or _get(obj, "series", "count") or 1
    kind = str(involved.get("kind") or "").lower()
    return [
        _since(last, now) if last else "<unknown>",
        str(obj.get("type") or ""),
        str(obj.get("reason") or ""),
        f"{kind}/{involved.get('name', '')}",
        str(involved.get("fieldPath") or ""),
        source_text,
        str(obj.get("message") or obj.get("note") or ""),
        _since(first, now) if first else "<unknown>",
        _int(count),
        _name(obj),
    ]


_EVENT_COLUMNS: tuple[Column, ...] = (
    ("Last Seen", "string", 0, ""),
    ("Type", "string", 0, ""),
    ("Reason", "string", 0, ""),
    ("Object", "string", 0, ""),
    ("Subobject", "string", 1, ""),
    ("Source", "string", 1, ""),
    ("Message", "string", 0, ""),
    ("First Seen", "string", 1, ""),
    ("Count", "integer", 1, ""),
    ("Name", "string", 1, "name"),
)


def _lease_row(obj: Obj, now: datetime) -> list[Cell]:
    return [_name(obj), str(_get(obj, "spec", "holderIdentity") or "<none>"), _age(obj, now)]


def _node_row(obj: Obj, now: datetime) -> list[Cell]:
    conditions = _get(obj, "status", "conditions") or []
    ready = next((c.get("status") for c in conditions if c.get("type") == "Ready"), None)
    status = "Ready" if ready == "True" else "NotReady" if ready == "False" else "Unknown"
    if _get(obj, "spec", "unschedulable"):
        status += ",SchedulingDisabled"
    labels = _get(obj, "metadata", "labels") or {}
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix) :] for k in labels if k.startswith(prefix))
    return [
        _name(obj),
        status,
        ",".join(roles) if roles else "<none>",
        _age(obj, now),
        str(_get(obj, "status", "nodeInfo", "kubeletVersion") or ""),
    ]


def _serviceaccount_row(obj: Obj, now: datetime) -> list[Cell]:
    return [_name(obj), len(obj.get("secrets") or []), _age(obj, now)]


def _subjects(obj: Obj, kind: str) -> str:
    subjects = obj.get("subjects") or []
    names = [
        (f"{s.get('namespace')}/{s.get('name')}" if kind == "ServiceAccount" else s.get("name"))
        for s in subjects
        if isinstance(s, Mapping) and s.get("kind") == kind
    ]
    return ", ".join(str(n) for n in names)


def _rolebinding_row(obj: Obj, now: datetime) -> list[Cell]:
    role = obj.get("roleRef") or {}
    return [
        _name(obj),
        f"{role.get('kind', '')}/{role.get('name', '')}",
        _age(obj, now),
        _subjects(obj, "User"),
        _subjects(obj, "Group"),
        _subjects(obj, "ServiceAccount"),
    ]


def _generic_row(obj: Obj, now: datetime) -> list[Cell]:
    # The apiserver's default table for kinds without a printer: name and creation time.
    return [_name(obj), str(_get(obj, "metadata", "creationTimestamp") or "")]


_PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "Pod"): (_POD_COLUMNS, _pod_row),
    ("apps", "Deployment"): (_DEPLOYMENT_COLUMNS, _deployment_row),
    ("apps", "ReplicaSet"): (_REPLICASET_COLUMNS, _replicaset_row),
    ("apps", "StatefulSet"): (_STATEFULSET_COLUMNS, _statefulset_row),
    ("apps", "DaemonSet"): (_DAEMONSET_COLUMNS, _daemonset_row),
    ("batch", "Job"): (_JOB_COLUMNS, _job_row),
    ("batch", "CronJob"): (_CRONJOB_COLUMNS, _cronjob_row),
    ("", "Service"): (_SERVICE_COLUMNS, _service_row),
    ("", "PersistentVolumeClaim"): (_PVC_COLUMNS, _pvc_row),
    ("", "ConfigMap"): ((_NAME, ("Data", "integer", 0, ""), _AGE), _configmap_row),
    ("", "Secret"): (
        (_NAME, ("Type", "string", 0, ""), ("Data", "integer", 0, ""), _AGE),
        _secret_row,
    ),
    ("", "Namespace"): ((_NAME, ("Status", "string", 0, ""), _AGE), _namespace_row),
    ("networking.k8s.io", "Ingress"): (
        (
            _NAME,
            ("Class", "string", 0, ""),
            ("Hosts", "string", 0, ""),
            ("Address", "string", 0, ""),
            ("Ports", "string", 0, ""),
            _AGE,
        ),
        _ingress_row,
    ),
    ("", "Event"): (_EVENT_COLUMNS, _event_row),
    ("events.k8s.io", "Event"): (_EVENT_COLUMNS, _event_row),
    ("coordination.k8s.io", "Lease"): (
        (_NAME, ("Holder", "string", 0, ""), _AGE),
        _lease_row,
    ),
    ("", "Node"): (
        (
            _NAME,
            ("Status", "string", 0, ""),
            ("Roles", "string", 0, ""),
            _AGE,
            ("Version", "string", 0, ""),
        ),
        _node_row,
    ),
}

_PRINTERS[("", "ServiceAccount")] = (
    (_NAME, ("Secrets", "integer", 0, ""), _AGE),
    _serviceaccount_row,
)
_PRINTERS[("rbac.authorization.k8s.io", "RoleBinding")] = (
    (
        _NAME,
        ("Role", "string", 0, ""),
        _AGE,
        ("Users", "string", 1, ""),
        ("Groups", "string", 1, ""),
        ("ServiceAccounts", "string", 1, ""),
    ),
    _rolebinding_row,
)

_GENERIC: Printer = ((_NAME, ("Created At", "date", 0, "")), _generic_row)


def _column_definition(column: Column) -> dict[str, Any]:
    name, kind, priority, fmt = column
    return {
        "name": name,
        "type": kind,
        "format": fmt,
        "description": _DESCRIPTIONS.get(name, name),
        "priority": priority,
    }


def _row_object(obj: Obj, include_object: str) -> dict[str, Any] | None:
    if include_object == "Object":
        return dict(obj)
    if include_object == "None":
        return None
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items()}
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata}


# --- custom resources ----------------------------------------------------------------------

_CR_NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
_CR_AGE_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
# (name, type, format, priority, jsonPath, description): the column a CRD without
# additionalPrinterColumns gets.
_CR_AGE_COLUMN = ("Age", "date", "", 0, ".metadata.creationTimestamp", _CR_AGE_DESCRIPTION)
_JSONPATH_TOKEN = re.compile(
    r"""\.((?:\\.|[^.\[\\])+)"""  # .field (backslash escapes a dot)
    r"""|\[\s*(\d+|\*)\s*\]"""  # [0] or [*]
    r"""|\[\s*\?\(\s*@\.([\w.-]+)\s*==\s*(?:"([^"]*)"|'([^']*)'|(\S+?))\s*\)\s*\]"""  # filter
)


def _jsonpath_first(obj: Any, path: str) -> tuple[bool, Any]:
    """The first value a simple JSONPath selects: (found, value)."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1].strip()
    values = [obj]
    pos = 0
    while pos < len(path):
        match = _JSONPATH_TOKEN.match(path, pos)
        if match is None:
            return False, None
        pos = match.end()
        field, index, filter_key = match.group(1), match.group(2), match.group(3)
        selected: list[Any] = []
        for value in values:
            if field is not None:
                name = field.replace("\\.", ".")
                if isinstance(value, Mapping) and name in value:
                    selected.append(value[name])
            elif index is not None:
                if isinstance(value, list):
                    if index == "*":
                        selected.extend(value)
                    elif int(index) < len(value):
                        selected.append(value[int(index)])
            else:
                want = next(g for g in match.groups()[3:] if g is not None)
                for item in value if isinstance(value, list) else []:
                    have = _get(item, *filter_key.split("."))
                    if isinstance(have, bool):
                        have = "true" if have else "false"
                    if have is not None and str(have) == want:
                        selected.append(item)
        values = selected
        if not values:
            return False, None
    return True, values[0]


def _custom_cell(kind: str, value: Any, now: datetime) -> Any:
    """The apiextensions table convertor's cell for a JSON value (None when unusable)."""
    if value is None:
        return None
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return orjson.dumps(value).decode()
    if kind == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "date" and isinstance(value, str):
        when = parse_time(value)
        if when is None:
            return "<invalid>"
        return human_duration((now - when).total_seconds())
    return None


def _custom_columns(rt: ResourceType) -> tuple[tuple[str, str, str, int, str, str], ...]:
    return rt.printer_columns or (_CR_AGE_COLUMN,)


def _custom_column_definitions(rt: ResourceType) -> list[dict[str, Any]]:
    definitions = [
        {
            "name": "Name",
            "type": "string",
            "format": "name",
            "description": _CR_NAME_DESCRIPTION,
            "priority": 0,
        }
    ]
    for name, kind, fmt, priority, json_path, description in _custom_columns(rt):
        definitions.append(
            {
                "name": name,
                "type": kind,
                "format": fmt,
                "description": description
                or f"Custom resource definition column (in JSONPath format): {json_path}",
                "priority": priority,
            }
        )
    return definitions


def _custom_row(rt: ResourceType, obj: Obj, now: datetime) -> list[Any]:
    cells: list[Any] = [_name(obj)]
    for _column, kind, _fmt, _priority, json_path, _description in _custom_columns(rt):
        found, value = _jsonpath_first(obj, json_path)
        cells.append(_custom_cell(kind, value, now) if found else None)
    return cells


def to_table(
    rt: ResourceType,
    objs: list[dict[str, Any]],
    *,
    list_meta: dict[str, Any],
    include_object: str = "Metadata",
) -> dict[str, Any]:
    """Render ``objs`` (all of type ``rt``) as a ``meta.k8s.io/v1`` Table."""
    columns, render = _PRINTERS.get((rt.group, rt.kind), _GENERIC)
    now = utc_now()
    rows: list[dict[str, Any]] = []
    for obj in objs:
        cells = _custom_row(rt, obj, now) if rt.custom else render(obj, now)
        row: dict[str, Any] = {"cells": cells}
        row_object = _row_object(obj, include_object or "Metadata")
        if row_object is not None:
            row["object"] = row_object
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": (
            _custom_column_definitions(rt)
            if rt.custom
            else [_column_definition(c) for c in columns]
        ),
        "rows": rows,
    }
