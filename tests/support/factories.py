"""Small factories for Kubernetes object dicts and a driver for status scenarios.

`HealthyEnvironment` is the MediaWiki-shaped environment of status-spec §7 (Deployment with
its newest ReplicaSet and pod, a MariaDB StatefulSet with its pod, a PVC, a Service, an
Ingress and an install Job) with everything Current; cases mutate one part of it.
`Session` drives it through `evaluate_environment` and `observe` at chosen instants, the
way the watcher would, starting from a context C (creating), S (steady), R (rebuilding) or
D (deleting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from catalyst.domain import (
    EnvironmentMemory,
    EnvironmentObservation,
    EnvironmentState,
    EnvironmentStatus,
    Lifecycle,
    ObjectRef,
    StatusThresholds,
    Verdict,
    created,
    delete_requested,
    evaluate_environment,
    observe,
    rebuild_requested,
)

NOW = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
NAMESPACE = "env-1"
THRESHOLDS = StatusThresholds()

Obj = dict[str, Any]


def _meta(kind: str, name: str, *, generation: int | None = None, owner: Obj | None = None) -> Obj:
    meta: Obj = {"name": name, "namespace": NAMESPACE, "uid": f"uid-{kind}-{name}"}
    if generation is not None:
        meta["generation"] = generation
    if owner is not None:
        meta["ownerReferences"] = [
            {
                "apiVersion": owner["apiVersion"],
                "kind": owner["kind"],
                "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"],
                "controller": True,
            }
        ]
    return meta


def cond(type_: str, status: str = "True", reason: str = "", message: str = "") -> Obj:
    return {"type": type_, "status": status, "reason": reason, "message": message}


def deployment(
    name: str = "web",
    *,
    replicas: int = 1,
    generation: int = 1,
    observed: int | None = 1,
    status_replicas: int | None = None,
    updated: int | None = None,
    ready: int | None = None,
    available: int | None = None,
    conditions: list[Obj] | None = None,
    paused: bool = False,
    revision: str = "1",
) -> Obj:
    def count(value: int | None) -> int:
        return replicas if value is None else value

    status: Obj = {
        "replicas": count(status_replicas),
        "updatedReplicas": count(updated),
        "readyReplicas": count(ready),
        "availableReplicas": count(available),
        "conditions": conditions
        if conditions is not None
        else [
            cond("Available", "True", "MinimumReplicasAvailable"),
            cond("Progressing", "True", "NewReplicaSetAvailable"),
        ],
    }
    if observed is not None:
        status["observedGeneration"] = observed
    meta = _meta("Deployment", name, generation=generation)
    meta["annotations"] = {"deployment.kubernetes.io/revision": revision}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {"replicas": replicas, "paused": paused, "progressDeadlineSeconds": 600},
        "status": status,
    }


def not_ready_deployment(name: str = "web", **kwargs: Any) -> Obj:
    """A Deployment whose single pod is not ready (steady-state crash, pending pod...)."""
    return deployment(
        name,
        ready=0,
        available=0,
        conditions=[
            cond("Available", "False", "MinimumReplicasUnavailable"),
            cond("Progressing", "True", "NewReplicaSetAvailable"),
        ],
        **kwargs,
    )


def replicaset(owner: Obj, *, revision: str = "1", name: str | None = None) -> Obj:
    rs_name = name or f"{owner['metadata']['name']}-rs{revision}"
    meta = _meta("ReplicaSet", rs_name, generation=1, owner=owner)
    meta["annotations"] = {"deployment.kubernetes.io/revision": revision}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta, "spec": {}}


def container(
    name: str = "main",
    *,
    ready: bool = True,
    restarts: int = 0,
    waiting: str | None = None,
    last_terminated: Obj | None = None,
) -> Obj:
    state: Obj = (
        {"waiting": {"reason": waiting, "message": f"{waiting} message"}}
        if waiting
        else {"running": {"startedAt": "2026-11-25T09:00:00Z"}}
    )
    result: Obj = {"name": name, "ready": ready, "restartCount": restarts, "state": state}
    if last_terminated is not None:
        result["lastState"] = {"terminated": last_terminated}
    return result


def pod(
    name: str,
    owner: Obj | None,
    *,
    phase: str = "Running",
    ready: bool = True,
    containers: list[Obj] | None = None,
    init_containers: list[Obj] | None = None,
    unschedulable: bool = False,
    deleting: bool = False,
    reason: str | None = None,
) -> Obj:
    conditions = [cond("Ready", "True" if ready else "False")]
    if unschedulable:
        conditions.append(cond("PodScheduled", "False", "Unschedulable", "0/1 nodes available"))
    status: Obj = {
        "phase": phase,
        "conditions": conditions,
        "containerStatuses": containers if containers is not None else [container(ready=ready)],
    }
    if init_containers is not None:
        status["initContainerStatuses"] = init_containers
    if reason:
        status["reason"] = reason
    meta = _meta("Pod", name, owner=owner)
    if deleting:
        meta["deletionTimestamp"] = "2026-11-25T09:59:00Z"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {}, "status": status}


def statefulset(
    name: str = "db",
    *,
    replicas: int = 1,
    ready: int | None = None,
    status_replicas: int | None = None,
    updated: int | None = None,
    current_revision: str = "db-1",
    update_revision: str = "db-1",
    strategy: Obj | None = None,
) -> Obj:
    def count(value: int | None) -> int:
        return replicas if value is None else value

    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta("StatefulSet", name, generation=1),
        "spec": {
            "replicas": replicas,
            "updateStrategy": strategy or {"type": "RollingUpdate"},
        },
        "status": {
            "observedGeneration": 1,
            "replicas": count(status_replicas),
            "readyReplicas": count(ready),
            "currentReplicas": replicas,
            "updatedReplicas": count(updated),
            "currentRevision": current_revision,
            "updateRevision": update_revision,
        },
    }


def job(
    name: str = "install",
    *,
    conditions: list[Obj] | None = None,
    started: bool = True,
    active: int = 0,
    suspend: bool = False,
    owner: Obj | None = None,
) -> Obj:
    status: Obj = {"conditions": conditions or [], "active": active}
    if started:
        status["startTime"] = "2026-11-25T09:00:00Z"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta("Job", name, generation=1, owner=owner),
        "spec": {"suspend": suspend, "backoffLimit": 6},
        "status": status,
    }


def complete_job(name: str = "install") -> Obj:
    return job(name, conditions=[cond("Complete")])


def pvc(name: str = "data-db-0", *, phase: str = "Bound") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta("PersistentVolumeClaim", name),
        "spec": {},
        "status": {"phase": phase},
    }


def service(name: str = "web", *, type_: str = "ClusterIP", lb_ingress: list[Obj] | None = None):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta("Service", name),
        "spec": {"type": type_, "clusterIP": "10.0.0.10"},
        "status": {"loadBalancer": {"ingress": lb_ingress} if lb_ingress else {}},
    }


def ingress(name: str = "web") -> Obj:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta("Ingress", name, generation=1),
        "spec": {},
        "status": {"loadBalancer": {}},
    }


def ref(obj: Obj) -> ObjectRef:
    return ObjectRef.from_object(obj)


@dataclass
class HealthyEnvironment:
    """The §7 environment, all Current. Roles map to inventory objects."""

    objects: dict[str, Obj] = field(default_factory=dict)
    absent: set[str] = field(default_factory=set)
    pods: list[Obj] = field(default_factory=list)
    replicasets: list[Obj] = field(default_factory=list)
    extra_objects: list[Obj] = field(default_factory=list)
    """Present in the cluster (labelled) but not in the inventory, e.g. CronJob Jobs."""
    deployer_error: str | None = None
    apply_confirmed: bool = True
    namespace_exists: bool | None = True
    require_lb_address: bool = False
    revision: int = 1
    superseded: set[ObjectRef] = field(default_factory=set)
    """Inventory objects still labelled with an older revision than the requested one."""

    def __post_init__(self) -> None:
        if not self.objects:
            self.objects = {
                "deployment": deployment("web"),
                "statefulset": statefulset("db"),
                "pvc": pvc("data-db-0"),
                "service": service("web"),
                "ingress": ingress("web"),
                "job": complete_job("install"),
            }
            self.set_web_pod(pod("web-1", None))
            self.pods.append(pod("db-0", self.objects["statefulset"]))

    @property
    def newest_replicaset(self) -> Obj:
        return self.replicasets[-1]

    def set_web_pod(self, web_pod: Obj) -> Obj:
        """Replace the Deployment's pods by `web_pod`, owned by the newest ReplicaSet."""
        if not self.replicasets:
            self.replicasets.append(replicaset(self.objects["deployment"]))
        owner = self.newest_replicaset
        web_pod["metadata"]["ownerReferences"] = [
            {
                "kind": "ReplicaSet",
                "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"],
            }
        ]
        self.pods = [p for p in self.pods if not p["metadata"]["name"].startswith("web")]
        self.pods.append(web_pod)
        return web_pod

    def set_deployment(self, obj: Obj) -> None:
        """Replace the Deployment keeping its uid, so its ReplicaSets stay attributed."""
        obj["metadata"]["uid"] = self.objects["deployment"]["metadata"]["uid"]
        self.objects["deployment"] = obj

    def set_statefulset(self, obj: Obj) -> None:
        obj["metadata"]["uid"] = self.objects["statefulset"]["metadata"]["uid"]
        self.objects["statefulset"] = obj

    def inventory(self) -> list[ObjectRef]:
        return [ref(obj) for obj in self.objects.values()]

    def observation(
        self,
        lifecycle: Lifecycle,
        *,
        previous: EnvironmentState | None = None,
        lifecycle_started_at: datetime | None = None,
    ) -> EnvironmentObservation:
        present = {ref(obj): obj for role, obj in self.objects.items() if role not in self.absent}
        for obj in self.extra_objects:
            present.setdefault(ref(obj), obj)
        return EnvironmentObservation(
            lifecycle=lifecycle,
            inventory=self.inventory(),
            objects=present,
            pods=list(self.pods),
            replicasets=list(self.replicasets),
            revision=self.revision,
            deletion_requested=lifecycle is Lifecycle.DELETING,
            deployer_error=self.deployer_error,
            apply_confirmed=self.apply_confirmed,
            previous_status=None if previous is None else previous.status,
            previous_status_since=None if previous is None else previous.status_since,
            namespace_exists=self.namespace_exists,
            lifecycle_started_at=lifecycle_started_at,
            require_lb_address=self.require_lb_address,
            superseded=frozenset(self.superseded),
        )


class Session:
    """One environment driven through rules and state machine, like the status sync."""

    def __init__(
        self,
        context: str,
        *,
        thresholds: StatusThresholds = THRESHOLDS,
        ever_ran: bool = True,
        started: datetime = NOW - timedelta(minutes=20),
    ) -> None:
        self.thresholds = thresholds
        self.memory = EnvironmentMemory()
        self.lifecycle_started_at: datetime | None = started
        self.last_verdict: Verdict | None = None
        self.revision = 1
        long_ago = started - timedelta(hours=2)
        self.state = created(long_ago if context != "C" else started)
        if context in ("S", "D") or (context == "R" and ever_ran):
            self.lifecycle_started_at = long_ago
            verdict = self.step(HealthyEnvironment(), long_ago)
            assert verdict.status == "running", verdict
        if context == "R":
            self.state = rebuild_requested(self.state, started).after
            self.revision = 2
            self.lifecycle_started_at = started
        if context == "D":
            change = delete_requested(self.state, started)
            assert change is not None
            self.state = change.after
            self.lifecycle_started_at = started

    def step(self, env: HealthyEnvironment, at: datetime, *, stale: bool = False) -> Verdict:
        env.revision = self.revision
        observation = env.observation(
            self.state.lifecycle,
            previous=self.state,
            lifecycle_started_at=self.lifecycle_started_at,
        )
        verdict, self.memory = evaluate_environment(
            observation, self.memory, now=at, thresholds=self.thresholds
        )
        change = observe(self.state, verdict, at, self.thresholds, stale=stale)
        if change is not None:
            self.state = change.after
        self.last_verdict = verdict
        return verdict

    def status(self) -> EnvironmentStatus:
        """The stored status (a call, so type checkers do not narrow it between steps)."""
        return self.state.status

    def lifecycle(self) -> Lifecycle:
        return self.state.lifecycle

    def resource(self, kind: str) -> Any:
        assert self.last_verdict is not None
        matches = [r for r in self.last_verdict.resources if r.ref.kind == kind]
        assert len(matches) == 1, matches
        return matches[0]
