"""Pure kubelet timeline: a pod's status as a function of the time since the kubelet saw it.

``pod_status(plan, elapsed, origin)`` returns the full ``status`` the kubelet would have
written by then plus the elapsed time of the next change, so the caller needs exactly one
timer per pod and recomputing at any moment gives the same answer (timestamps derive from
``origin`` + offsets, never from "now", so an unchanged pod produces an identical dict and
no write).

Timeline (seconds after the pod was first seen): ``schedule_after`` → PodScheduled,
``+ start_after`` → containers leave ContainerCreating; init containers then run one after
another for their ``run_for``; main containers start, become ready ``ready_after`` later and,
for restartPolicy Never/OnFailure, exit 0 after ``run_for``.

Fail modes (per container): ImagePullBackOff (ErrImagePull/ImagePullBackOff alternating,
backoff doubling from ``restart_backoff`` up to 300 s), InvalidImageName (stuck waiting),
CrashLoopBackOff (exits 1 before it becomes ready, restarts with doubling backoff),
ExitError (exits 1 after ``run_for``; restarted like a crash loop unless restartPolicy is
Never, where it ends the pod as Failed), Unschedulable (per pod: never scheduled).
A container whose Secret/ConfigMap reference is missing waits with
CreateContainerConfigError; the kubelet passes the time it was held as ``start_delay``.
Awkward case: a crash-looping init container keeps the pod Pending ("Init:CrashLoopBackOff").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubesim.sim.rules import Behaviour, Timings
from kubesim.sim.timeutil import at

MAX_BACKOFF = 300.0
MIN_STEP = 0.01  # guards against zero-length cycles when a test sets every timing to 0
PREEMPTION = "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
UNSCHEDULABLE_MESSAGE = (
    f"0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. {PREEMPTION}"
)
UNBOUND_CLAIMS_MESSAGE = (
    f"0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. {PREEMPTION}"
)


@dataclass(frozen=True, slots=True)
class ContainerPlan:
    name: str
    image: str
    behaviour: Behaviour
    # Set while a referenced Secret/ConfigMap (or key) is missing: the kubelet cannot
    # create the container and reports CreateContainerConfigError.
    config_error: str | None = None


@dataclass(frozen=True, slots=True)
class PodPlan:
    """Everything the timeline needs; built once per pod by the kubelet."""

    namespace: str
    name: str
    uid: str
    restart_policy: str  # Always | OnFailure | Never
    init_containers: tuple[ContainerPlan, ...]
    containers: tuple[ContainerPlan, ...]
    timings: Timings
    # The scheduler's message while the pod cannot be placed (fail mode Unschedulable,
    # or an unbound PersistentVolumeClaim); None once it can be.
    unschedulable: str | None = None
    host_ip: str = "10.0.0.10"
    pod_ip: str = "10.244.0.2"
    qos_class: str = "BestEffort"
    # Extra seconds before containers start: the time a missing Secret/ConfigMap held them.
    start_delay: float = 0.0
    # Extra seconds before scheduling: the time unbound claims held the pod.
    schedule_delay: float = 0.0


@dataclass(frozen=True, slots=True)
class RunWindow:
    """The latest run of a container in elapsed seconds (``end`` None: still running)."""

    start: float
    end: float | None
    exit_code: int | None = None


@dataclass(slots=True)
class ContainerView:
    status: dict[str, Any]
    ready: bool = False
    started: bool = False  # has run at least once
    final_exit: int | None = None  # terminated for good (no restart will follow)
    ready_since: float | None = None
    unready_since: float = 0.0
    window: RunWindow | None = None
    next_change: float | None = None
    waiting_reason: str | None = None


@dataclass(slots=True)
class PodSnapshot:
    status: dict[str, Any]
    next_change: float | None
    containers: dict[str, ContainerView] = field(default_factory=dict)

    @property
    def phase(self) -> str:
        return str(self.status.get("phase", "Pending"))


def _min_next(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _container_id(uid: str, name: str, restarts: int) -> str:
    digest = hashlib.sha256(f"{uid}/{name}/{restarts}".encode()).hexdigest()
    return f"containerd://{digest}"


def _image_id(image: str) -> str:
    digest = hashlib.sha256(image.encode()).hexdigest()
    repo = image.split("@", 1)[0].rsplit(":", 1)[0] if "/" in image or ":" in image else image
    return f"{repo}@sha256:{digest}"


def _waiting_status(c: ContainerPlan, reason: str, message: str | None = None) -> dict[str, Any]:
    """The status of a container that has never started and is waiting for ``reason``."""
    waiting = {"reason": reason} if message is None else {"reason": reason, "message": message}
    return {
        "name": c.name,
        "image": c.image,
        "imageID": "",
        "ready": False,
        "restartCount": 0,
        "started": False,
        "state": {"waiting": waiting},
        "lastState": {},
    }


def _backoff(base: float, n: int) -> float:
    return min(max(base, MIN_STEP) * (2**n), MAX_BACKOFF)


def container_view(
    plan: PodPlan,
    c: ContainerPlan,
    *,
    created_at: float,
    start_at: float,
    t: float,
    origin: datetime,
    restart_policy: str,
) -> ContainerView:
    """One container's state at elapsed ``t``: waiting before ``start_at``, then its runs."""
    b = c.behaviour
    base = {"name": c.name, "image": c.image, "imageID": "", "ready": False, "restartCount": 0}
    backoff_base = plan.timings.restart_backoff
    if t < start_at:
        reason = "ContainerCreating" if t >= created_at else "PodInitializing"
        st = _waiting_status(c, reason)
        return ContainerView(st, next_change=start_at, waiting_reason=reason, unready_since=0.0)
    if c.config_error is not None:
        st = _waiting_status(c, "CreateContainerConfigError", c.config_error)
        return ContainerView(st, waiting_reason="CreateContainerConfigError")
    if b.fail == "InvalidImageName":
        msg = (
            f'Failed to apply default image tag "{c.image}": couldn\'t parse image name '
            f'"{c.image}": invalid reference format'
        )
        st = _waiting_status(c, "InvalidImageName", msg)
        return ContainerView(st, waiting_reason="InvalidImageName")
    if b.fail == "ImagePullBackOff":
        return _image_pull_view(c, start_at, t, backoff_base)

    failing = b.fail in {"CrashLoopBackOff", "ExitError"}
    if b.fail == "CrashLoopBackOff":
        run_len: float | None = max(min(b.run_for, b.ready_after), MIN_STEP)
    elif b.fail == "ExitError" or restart_policy != "Always":
        run_len = max(b.run_for, MIN_STEP) if failing else b.run_for
    else:
        run_len = None  # long-running: never exits
    exit_code = 1 if failing else 0
    restarts_on_exit = restart_policy == "Always" or (restart_policy == "OnFailure" and failing)

    run_start = start_at
    restarts = 0
    last_state: dict[str, Any] = {}
    image_id = _image_id(c.image)
    while True:
        run_end = None if run_len is None else run_start + run_len
        if run_end is None or t < run_end:
            ready_at = run_start + b.ready_after
            ready = t >= ready_at and (run_end is None or ready_at < run_end)
            running = {"running": {"startedAt": at(origin, run_start)}}
            st = {
                **base,
                "imageID": image_id,
                "containerID": _container_id(plan.uid, c.name, restarts),
                "ready": ready,
                "restartCount": restarts,
                "started": True,
                "state": running,
                "lastState": last_state,
            }
            nxt = _min_next(
                None if ready or (run_end is not None and ready_at >= run_end) else ready_at,
                run_end,
            )
            return ContainerView(
                st,
                ready=ready,
                started=True,
                ready_since=ready_at if ready else None,
                unready_since=run_start,
                window=RunWindow(run_start, run_end),
                next_change=nxt,
            )
        terminated = {
            "exitCode": exit_code,
            "reason": "Error" if exit_code else "Completed",
            "startedAt": at(origin, run_start),
            "finishedAt": at(origin, run_end),
            "containerID": _container_id(plan.uid, c.name, restarts),
        }
        window = RunWindow(run_start, run_end, exit_code)
        if not restarts_on_exit:
            st = {
                **base,
                "imageID": image_id,
                "containerID": terminated["containerID"],
                "restartCount": restarts,
                "started": False,
                "state": {"terminated": terminated},
                "lastState": last_state,
            }
            return ContainerView(
                st, started=True, final_exit=exit_code, unready_since=run_end, window=window
            )
        wait = _backoff(backoff_base, restarts)
        restart_at = run_end + wait
        if t < restart_at:
            message = (
                f"back-off {int(wait) if wait >= 1 else wait}s restarting failed "
                f"container={c.name} pod={plan.name}_{plan.namespace}({plan.uid})"
            )
            reason = "CrashLoopBackOff" if exit_code else "Completed"
            state = (
                {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
                if exit_code
                else {"terminated": terminated}
            )
            st = {
                **base,
                "imageID": image_id,
                "containerID": terminated["containerID"],
                "restartCount": restarts,
                "started": False,
                "state": state,
                "lastState": {"terminated": terminated},
            }
            return ContainerView(
                st,
                started=True,
                unready_since=run_end,
                window=window,
                next_change=restart_at,
                waiting_reason=reason if exit_code else None,
            )
        last_state = {"terminated": terminated}
        restarts += 1
        run_start = restart_at


def _image_pull_view(
    c: ContainerPlan, start_at: float, t: float, backoff_base: float
) -> ContainerView:
    # ErrImagePull for one step, then ImagePullBackOff for a doubling backoff, repeat.
    step = max(backoff_base, MIN_STEP)
    cursor = start_at
    n = 0
    while True:
        err_end = cursor + step
        if t < err_end:
            reason, until = "ErrImagePull", err_end
            break
        back_end = err_end + _backoff(backoff_base, n)
        if t < back_end:
            reason, until = "ImagePullBackOff", back_end
            break
        cursor = back_end
        n += 1
    message = (
        f'Back-off pulling image "{c.image}"'
        if reason == "ImagePullBackOff"
        else f'failed to pull and unpack image "{c.image}": failed to resolve reference '
        f'"{c.image}": pull access denied, repository does not exist or may require authorization'
    )
    st = _waiting_status(c, reason, message)
    return ContainerView(st, next_change=until, waiting_reason=reason)


def _condition(
    ctype: str, status: bool, since: float, origin: datetime, **extra: str
) -> dict[str, Any]:
    cond: dict[str, Any] = {
        "type": ctype,
        "status": "True" if status else "False",
        "lastProbeTime": None,
        "lastTransitionTime": at(origin, since),
    }
    cond.update(extra)
    return cond


def pod_status(plan: PodPlan, elapsed: float, origin: datetime) -> PodSnapshot:
    """The pod's ``status`` at ``elapsed`` seconds after ``origin`` (when it was first seen)."""
    tm = plan.timings
    t = max(elapsed, 0.0)
    first_attempt = tm.schedule_after
    if t < first_attempt:
        return PodSnapshot({"phase": "Pending", "qosClass": plan.qos_class}, first_attempt)
    if plan.unschedulable is not None:
        cond = _condition(
            "PodScheduled",
            False,
            first_attempt,
            origin,
            reason="Unschedulable",
            message=plan.unschedulable,
        )
        return PodSnapshot(
            {"phase": "Pending", "conditions": [cond], "qosClass": plan.qos_class}, None
        )

    sched_at = first_attempt + plan.schedule_delay
    if t < sched_at:
        return PodSnapshot({"phase": "Pending", "qosClass": plan.qos_class}, sched_at)
    start_at = sched_at + tm.start_after + plan.start_delay
    views: dict[str, ContainerView] = {}
    init_statuses: list[dict[str, Any]] = []
    next_change: float | None = start_at if t < start_at else None
    cursor = start_at
    init_done = True
    pod_failed_by_init = False
    for c in plan.init_containers:
        if not init_done:
            st = _waiting_status(c, "PodInitializing")
            init_statuses.append(st)
            views[c.name] = ContainerView(st, waiting_reason="PodInitializing")
            continue
        # Init containers always run to completion, even in pods with restartPolicy Always.
        policy = "Never" if plan.restart_policy == "Never" else "OnFailure"
        view = container_view(
            plan, c, created_at=sched_at, start_at=cursor, t=t, origin=origin, restart_policy=policy
        )
        views[c.name] = view
        init_statuses.append(view.status)
        next_change = _min_next(next_change, view.next_change)
        if view.final_exit == 0 and view.window is not None and view.window.end is not None:
            cursor = view.window.end
            view.status["ready"] = True
        else:
            init_done = False
            pod_failed_by_init = view.final_exit not in (None, 0)

    main_start = cursor
    statuses: list[dict[str, Any]] = []
    for c in plan.containers:
        if not init_done:
            st = _waiting_status(c, "PodInitializing")
            statuses.append(st)
            views[c.name] = ContainerView(
                st, waiting_reason="PodInitializing", unready_since=sched_at
            )
            continue
        view = container_view(
            plan,
            c,
            created_at=sched_at,
            start_at=main_start,
            t=t,
            origin=origin,
            restart_policy=plan.restart_policy,
        )
        views[c.name] = view
        statuses.append(view.status)
        next_change = _min_next(next_change, view.next_change)

    main_views = [views[c.name] for c in plan.containers]
    phase = _phase(plan, main_views, init_done, pod_failed_by_init)
    all_ready = init_done and bool(main_views) and all(v.ready for v in main_views)
    if all_ready:
        ready_since = max((v.ready_since or 0.0) for v in main_views)
    else:
        ready_since = max(
            [sched_at] + [v.unready_since for v in main_views if not v.ready and v.started]
        )
    status: dict[str, Any] = {"phase": phase}
    conditions = [
        _condition(
            "PodReadyToStartContainers",
            t >= start_at,
            start_at if t >= start_at else sched_at,
            origin,
        ),
    ]
    if plan.init_containers:
        pending = [c.name for c in plan.init_containers if views[c.name].final_exit != 0]
        if init_done:
            conditions.append(_condition("Initialized", True, main_start, origin))
        else:
            conditions.append(
                _condition(
                    "Initialized",
                    False,
                    sched_at,
                    origin,
                    reason="ContainersNotInitialized",
                    message=f"containers with incomplete status: [{' '.join(pending)}]",
                )
            )
    else:
        conditions.append(_condition("Initialized", True, sched_at, origin))
    if phase in {"Succeeded", "Failed"}:
        extra = {"reason": "PodCompleted"}
        end = (
            max((v.window.end or 0.0) for v in main_views if v.window)
            if any(v.window for v in main_views)
            else sched_at
        )
        conditions.append(_condition("Ready", False, end, origin, **extra))
        conditions.append(_condition("ContainersReady", False, end, origin, **extra))
    elif all_ready:
        conditions.append(_condition("Ready", True, ready_since, origin))
        conditions.append(_condition("ContainersReady", True, ready_since, origin))
    else:
        unready = [c.name for c, v in zip(plan.containers, main_views, strict=True) if not v.ready]
        message = f"containers with unready status: [{' '.join(unready)}]"
        for ctype in ("Ready", "ContainersReady"):
            conditions.append(
                _condition(
                    ctype,
                    False,
                    ready_since,
                    origin,
                    reason="ContainersNotReady",
                    message=message,
                )
            )
    conditions.append(_condition("PodScheduled", True, sched_at, origin))
    status["conditions"] = conditions
    status["hostIP"] = plan.host_ip
    status["hostIPs"] = [{"ip": plan.host_ip}]
    if t >= start_at:
        status["podIP"] = plan.pod_ip
        status["podIPs"] = [{"ip": plan.pod_ip}]
    status["startTime"] = at(origin, sched_at)
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    status["containerStatuses"] = statuses
    status["qosClass"] = plan.qos_class
    if phase in {"Succeeded", "Failed"}:
        next_change = None
    return PodSnapshot(status, next_change, views)


def _phase(plan: PodPlan, main: list[ContainerView], init_done: bool, failed_by_init: bool) -> str:
    if failed_by_init:
        return "Failed"
    if not init_done or any(not v.started for v in main):
        return "Pending"
    if main and all(v.final_exit is not None for v in main):
        return "Succeeded" if all(v.final_exit == 0 for v in main) else "Failed"
    return "Running"
