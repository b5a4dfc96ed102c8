"""Field defaults the apiserver fills in on every create and update.

Clients rely on them: ``kubectl rollout status`` refuses a StatefulSet whose
``spec.updateStrategy.type`` is not RollingUpdate, tables show Job completions
from ``spec.completions``, Secrets written with ``stringData`` must read back
as ``data``. Defaults are applied to main-resource writes only (never to status
writes), and applying them twice changes nothing, so a client re-sending an
object without the defaults does not bump ``generation``.

``apply_defaults`` mutates the dict it is given; the store passes its private
draft of the new object. Nested dicts are replaced, never edited in place, so
dicts shared with the previous stored version stay untouched.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from kubesim.resources import Obj, ResourceType


def _with(parent: Obj, key: str) -> Obj:
    """A fresh copy of ``parent[key]`` (a dict), stored back into ``parent``."""
    child = dict(parent.get(key) or {})
    parent[key] = child
    return child


def _container_defaults(container: Obj) -> Obj:
    out = dict(container)
    image = str(out.get("image", ""))
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    out.setdefault("imagePullPolicy", "Always" if tag in ("", "latest") else "IfNotPresent")
    out.setdefault("terminationMessagePath", "/dev/termination-log")
    out.setdefault("terminationMessagePolicy", "File")
    out.setdefault("resources", {})
    return out


def pod_spec_defaults(spec: Obj, *, restart_policy: str = "Always") -> None:
    spec.setdefault("restartPolicy", restart_policy)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    for key in ("containers", "initContainers"):
        if isinstance(spec.get(key), list):
            spec[key] = [_container_defaults(c) if isinstance(c, dict) else c for c in spec[key]]


def _template_defaults(spec: Obj, *, restart_policy: str = "Always") -> None:
    if isinstance(spec.get("template"), dict):
        template = _with(spec, "template")
        pod_spec_defaults(_with(template, "spec"), restart_policy=restart_policy)


def _update_strategy(spec: Obj, field: str, **rolling_defaults: object) -> None:
    """``spec[field].type`` defaults to RollingUpdate; only then does ``rollingUpdate`` get
    ``rolling_defaults`` (the apiserver leaves it out for Recreate/OnDelete)."""
    strategy = _with(spec, field)
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _with(strategy, "rollingUpdate")
        for key, value in rolling_defaults.items():
            rolling.setdefault(key, value)


def _pod(obj: Obj) -> None:
    pod_spec_defaults(_with(obj, "spec"))


def _deployment(obj: Obj) -> None:
    spec = _with(obj, "spec")
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _update_strategy(spec, "strategy", maxUnavailable="25%", maxSurge="25%")
    _template_defaults(spec)


def _replicaset(obj: Obj) -> None:
    spec = _with(obj, "spec")
    spec.setdefault("replicas", 1)
    _template_defaults(spec)


def _statefulset(obj: Obj) -> None:
    spec = _with(obj, "spec")
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("revisionHistoryLimit", 10)
    _update_strategy(spec, "updateStrategy", partition=0)
    retention = _with(spec, "persistentVolumeClaimRetentionPolicy")
    retention.setdefault("whenDeleted", "Retain")
    retention.setdefault("whenScaled", "Retain")
    _template_defaults(spec)


def _daemonset(obj: Obj) -> None:
    spec = _with(obj, "spec")
    spec.setdefault("revisionHistoryLimit", 10)
    _update_strategy(spec, "updateStrategy", maxUnavailable=1, maxSurge=0)
    _template_defaults(spec)


def _job(obj: Obj) -> None:
    spec = _with(obj, "spec")
    if "completions" not in spec and "parallelism" not in spec:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    _template_defaults(spec, restart_policy="Never")


def job_selector_defaults(obj: Obj) -> None:
    """A new Job's selector and pod labels, as the apiserver's Job strategy sets them on
    create (it needs the uid, so the store calls this once the uid is assigned): unless
    ``spec.manualSelector``, the selector is the Job's controller-uid, and the pod template
    (and the Job itself, when it has no labels) carry the controller-uid and job-name labels.
    Without this, pods of one Job would match another's selector (``kubectl logs job/NAME``).
    """
    spec = _with(obj, "spec")
    if spec.get("manualSelector") is True:
        return
    meta = obj["metadata"]
    uid, name = meta["uid"], meta["name"]
    labels = {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": name,
        "controller-uid": uid,
        "job-name": name,
    }
    spec.setdefault("manualSelector", False)
    selector = _with(spec, "selector")
    selector["matchLabels"] = {
        **(selector.get("matchLabels") or {}),
        "batch.kubernetes.io/controller-uid": uid,
    }
    template = _with(spec, "template")
    template_meta = _with(template, "metadata")
    template_meta["labels"] = {**(template_meta.get("labels") or {}), **labels}
    if not meta.get("labels"):
        meta["labels"] = dict(template_meta["labels"])


def _cronjob(obj: Obj) -> None:
    spec = _with(obj, "spec")
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    if isinstance(spec.get("jobTemplate"), dict):
        job_template = _with(spec, "jobTemplate")
        if isinstance(job_template.get("spec"), dict):
            job_spec = _with(job_template, "spec")
            job_spec.setdefault("backoffLimit", 6)
            _template_defaults(job_spec, restart_policy="Never")


def _secret(obj: Obj) -> None:
    # stringData is write-only: merged into data (base64) and never stored.
    string_data = obj.pop("stringData", None) or {}
    if string_data:
        data = dict(obj.get("data") or {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data
    obj.setdefault("type", "Opaque")


def _service(obj: Obj) -> None:
    spec = _with(obj, "spec")
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec.get("clusterIP") != "None":
            # A single-stack IPv4 cluster, as kubesim's addresses are.
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("ipFamilies", ["IPv4"])
    if isinstance(spec.get("ports"), list):
        spec["ports"] = [
            {"protocol": "TCP", **p, "targetPort": p.get("targetPort", p.get("port"))}
            if isinstance(p, dict)
            else p
            for p in spec["ports"]
        ]


def _pvc(obj: Obj) -> None:
    _with(obj, "spec").setdefault("volumeMode", "Filesystem")


_DEFAULTERS: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("", "Pod"): _pod,
    ("", "Secret"): _secret,
    ("", "Service"): _service,
    ("", "PersistentVolumeClaim"): _pvc,
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replicaset,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cronjob,
}


def apply_defaults(rt: ResourceType, obj: Obj) -> None:
    """Fill in the apiserver's defaults for ``rt`` on ``obj`` (in place, idempotent)."""
    defaulter = _DEFAULTERS.get((rt.group, rt.kind))
    if defaulter is not None:
        defaulter(obj)
