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
from kubesim.timestamps import at

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
    """One container's state at elapsed ``t``: waiting before ``start_at``, then its runs.

    Runs follow one another (a run, its exit, a backoff, the restart) until the one that
    contains ``t``; a container that does not restart stays terminated after its exit."""
    waiting = _not_started_view(plan, c, created_at=created_at, start_at=start_at, t=t)
    if waiting is not None:
        return waiting
    runs = _Runs.of(c.behaviour, restart_policy)
    run_start = start_at
    restarts = 0
    last_state: dict[str, Any] = {}
    while True:
        run_end = None if runs.length is None else run_start + runs.length
        if run_end is None or t < run_end:
            return _running_view(plan, c, run_start, run_end, restarts, last_state, t, origin)
        terminated: dict[str, Any] = {
            "exitCode": runs.exit_code,
            "reason": "Error" if runs.exit_code else "Completed",
            "startedAt": at(origin, run_start),
            "finishedAt": at(origin, run_end),
            "containerID": _container_id(plan.uid, c.name, restarts),
        }
        window = RunWindow(run_start, run_end, runs.exit_code)
        if not runs.restart:
            st = _run_status(
                c, terminated["containerID"], restarts, {"terminated": terminated}, last_state
            )
            return ContainerView(
                st, started=True, final_exit=runs.exit_code, unready_since=run_end, window=window
            )
        wait = _backoff(plan.timings.restart_backoff, restarts)
        restart_at = run_end + wait
        if t < restart_at:
            return _restart_backoff_view(plan, c, terminated, window, run_end, wait, restarts)
        last_state = {"terminated": terminated}
        restarts += 1
        run_start = restart_at


@dataclass(frozen=True, slots=True)
class _Runs:
    """How a started container's runs go, from its behaviour and restart policy."""

    length: float | None
    """How long each run lasts; None: it never exits."""
    exit_code: int
    restart: bool
    """Whether an exit is followed by a restart (after a doubling backoff)."""

    @classmethod
    def of(cls, b: Behaviour, restart_policy: str) -> _Runs:
        failing = b.fail in {"CrashLoopBackOff", "ExitError"}
        length: float | None
        if b.fail == "CrashLoopBackOff":
            length = max(min(b.run_for, b.ready_after), MIN_STEP)  # exits before ready
        elif b.fail == "ExitError" or restart_policy != "Always":
            length = max(b.run_for, MIN_STEP) if failing else b.run_for
        else:
            length = None  # long-running: never exits
        restart = restart_policy == "Always" or (restart_policy == "OnFailure" and failing)
        return cls(length, 1 if failing else 0, restart)


def _not_started_view(
    plan: PodPlan, c: ContainerPlan, *, created_at: float, start_at: float, t: float
) -> ContainerView | None:
    """The container still waiting at ``t``, never having run (None once it runs): before
    ``start_at``, or for good on a config error, a bad image name or an image it cannot
    pull."""
    b = c.behaviour
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
        return _image_pull_view(c, start_at, t, plan.timings.restart_backoff)
    return None


def _run_status(
    c: ContainerPlan,
    container_id: str,
    restarts: int,
    state: dict[str, Any],
    last_state: dict[str, Any],
    *,
    ready: bool = False,
    started: bool = False,
) -> dict[str, Any]:
    """The status of a container that has run at least once."""
    return {
        "name": c.name,
        "image": c.image,
        "imageID": _image_id(c.image),
        "ready": ready,
        "restartCount": restarts,
        "containerID": container_id,
        "started": started,
        "state": state,
        "lastState": last_state,
    }


def _running_view(
    plan: PodPlan,
    c: ContainerPlan,
    run_start: float,
    run_end: float | None,
    restarts: int,
    last_state: dict[str, Any],
    t: float,
    origin: datetime,
) -> ContainerView:
    """A run in progress at ``t``: ready from ``ready_after`` into it, unless it ends first."""
    ready_at = run_start + c.behaviour.ready_after
    ready = t >= ready_at and (run_end is None or ready_at < run_end)
    st = _run_status(
        c,
        _container_id(plan.uid, c.name, restarts),
        restarts,
        {"running": {"startedAt": at(origin, run_start)}},
        last_state,
        ready=ready,
        started=True,
    )
    never_ready = run_end is not None and ready_at >= run_end
    return ContainerView(
        st,
        ready=ready,
        started=True,
        ready_since=ready_at if ready else None,
        unready_since=run_start,
        window=RunWindow(run_start, run_end),
        next_change=_min_next(None if ready or never_ready else ready_at, run_end),
    )


def _restart_backoff_view(
    plan: PodPlan,
    c: ContainerPlan,
    terminated: dict[str, Any],
    window: RunWindow,
    run_end: float,
    wait: float,
    restarts: int,
) -> ContainerView:
    """Between an exit and the restart: CrashLoopBackOff after a failure, else the
    terminated state; the restart is the next change."""
    failed = bool(terminated["exitCode"])
    if failed:
        message = (
            f"back-off {int(wait) if wait >= 1 else wait}s restarting failed "
            f"container={c.name} pod={plan.name}_{plan.namespace}({plan.uid})"
        )
        state: dict[str, Any] = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
    else:
        state = {"terminated": terminated}
    st = _run_status(c, terminated["containerID"], restarts, state, {"terminated": terminated})
    return ContainerView(
        st,
        started=True,
        unready_since=run_end,
        window=window,
        next_change=run_end + wait,
        waiting_reason="CrashLoopBackOff" if failed else None,
    )


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
    t = max(elapsed, 0.0)
    unscheduled = _unscheduled(plan, t, origin)
    if unscheduled is not None:
        return unscheduled
    sched_at = plan.timings.schedule_after + plan.schedule_delay
    times = _PodTimes(
        t=t,
        origin=origin,
        sched_at=sched_at,
        start_at=sched_at + plan.timings.start_after + plan.start_delay,
    )
    init = _init_containers(plan, times)
    main_statuses, main_views = _main_containers(plan, times, init)
    views = {**init.views, **main_views}
    main = [views[c.name] for c in plan.containers]
    phase = _phase(plan, main, init.done, init.failed)
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [
            _condition(
                "PodReadyToStartContainers",
                t >= times.start_at,
                times.start_at if t >= times.start_at else sched_at,
                origin,
            ),
            _initialized_condition(plan, views, init, times),
            *_readiness_conditions(plan, main, phase, init.done, times),
            _condition("PodScheduled", True, sched_at, origin),
        ],
        "hostIP": plan.host_ip,
        "hostIPs": [{"ip": plan.host_ip}],
    }
    if t >= times.start_at:
        status["podIP"] = plan.pod_ip
        status["podIPs"] = [{"ip": plan.pod_ip}]
    status["startTime"] = at(origin, sched_at)
    if init.statuses:
        status["initContainerStatuses"] = init.statuses
    status["containerStatuses"] = main_statuses
    status["qosClass"] = plan.qos_class
    if phase in {"Succeeded", "Failed"}:
        next_change = None
    else:
        next_change = _min_next(
            times.start_at if t < times.start_at else None,
            init.next_change,
            *(v.next_change for v in main_views.values()),
        )
    return PodSnapshot(status, next_change, views)


@dataclass(frozen=True, slots=True)
class _PodTimes:
    """One evaluation of a scheduled pod: elapsed ``t`` and the pod's fixed instants."""

    t: float
    origin: datetime
    sched_at: float
    """When the pod was scheduled."""
    start_at: float
    """When its first container starts (init containers first)."""


@dataclass(frozen=True, slots=True)
class _InitOutcome:
    """Where the init containers stand: they run one after another, each after the last
    one's successful exit."""

    views: dict[str, ContainerView]
    statuses: list[dict[str, Any]]
    next_change: float | None
    done: bool
    """Every init container exited 0: the main containers start at `main_start`."""
    failed: bool
    """One exited non-zero for good: the pod failed."""
    main_start: float


def _unscheduled(plan: PodPlan, t: float, origin: datetime) -> PodSnapshot | None:
    """The pod before it is scheduled (None once it is): Pending until the first attempt,
    then Unschedulable for good, or Pending while unbound claims hold it."""
    first_attempt = plan.timings.schedule_after
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
    return None


def _init_containers(plan: PodPlan, times: _PodTimes) -> _InitOutcome:
    """Run the init containers in order from ``start_at``; those after one that has not
    exited 0 wait (PodInitializing). They always run to completion, even in pods with
    restartPolicy Always (restarted on failure unless the policy is Never)."""
    policy = "Never" if plan.restart_policy == "Never" else "OnFailure"
    views: dict[str, ContainerView] = {}
    statuses: list[dict[str, Any]] = []
    next_change: float | None = None
    cursor = times.start_at
    done = True
    failed = False
    for c in plan.init_containers:
        if not done:
            view = ContainerView(
                _waiting_status(c, "PodInitializing"), waiting_reason="PodInitializing"
            )
        else:
            view = container_view(
                plan,
                c,
                created_at=times.sched_at,
                start_at=cursor,
                t=times.t,
                origin=times.origin,
                restart_policy=policy,
            )
            next_change = _min_next(next_change, view.next_change)
            if view.final_exit == 0 and view.window is not None and view.window.end is not None:
                cursor = view.window.end
                view.status["ready"] = True
            else:
                done = False
                failed = view.final_exit not in (None, 0)
        views[c.name] = view
        statuses.append(view.status)
    return _InitOutcome(views, statuses, next_change, done, failed, main_start=cursor)


def _main_containers(
    plan: PodPlan, times: _PodTimes, init: _InitOutcome
) -> tuple[list[dict[str, Any]], dict[str, ContainerView]]:
    """The main containers' statuses and views: all started together once the init
    containers are done, else waiting (PodInitializing)."""
    statuses: list[dict[str, Any]] = []
    views: dict[str, ContainerView] = {}
    for c in plan.containers:
        if not init.done:
            view = ContainerView(
                _waiting_status(c, "PodInitializing"),
                waiting_reason="PodInitializing",
                unready_since=times.sched_at,
            )
        else:
            view = container_view(
                plan,
                c,
                created_at=times.sched_at,
                start_at=init.main_start,
                t=times.t,
                origin=times.origin,
                restart_policy=plan.restart_policy,
            )
        views[c.name] = view
        statuses.append(view.status)
    return statuses, views


def _initialized_condition(
    plan: PodPlan, views: dict[str, ContainerView], init: _InitOutcome, times: _PodTimes
) -> dict[str, Any]:
    """Initialized: true from the last init container's exit (from scheduling without
    any), false with the init containers not done yet."""
    if not plan.init_containers:
        return _condition("Initialized", True, times.sched_at, times.origin)
    if init.done:
        return _condition("Initialized", True, init.main_start, times.origin)
    pending = [c.name for c in plan.init_containers if views[c.name].final_exit != 0]
    return _condition(
        "Initialized",
        False,
        times.sched_at,
        times.origin,
        reason="ContainersNotInitialized",
        message=f"containers with incomplete status: [{' '.join(pending)}]",
    )


def _readiness_conditions(
    plan: PodPlan, main: list[ContainerView], phase: str, init_done: bool, times: _PodTimes
) -> list[dict[str, Any]]:
    """Ready and ContainersReady: false once the pod completed (from its last container's
    exit), true from when the last main container became ready, else false since the
    latest moment one became unready."""
    origin = times.origin
    if phase in {"Succeeded", "Failed"}:
        ends = [v.window.end or 0.0 for v in main if v.window]
        end = max(ends) if ends else times.sched_at
        return [
            _condition(ctype, False, end, origin, reason="PodCompleted")
            for ctype in ("Ready", "ContainersReady")
        ]
    if init_done and main and all(v.ready for v in main):
        ready_since = max((v.ready_since or 0.0) for v in main)
        return [
            _condition(ctype, True, ready_since, origin) for ctype in ("Ready", "ContainersReady")
        ]
    unready_since = max(
        [times.sched_at] + [v.unready_since for v in main if not v.ready and v.started]
    )
    unready = [c.name for c, v in zip(plan.containers, main, strict=True) if not v.ready]
    message = f"containers with unready status: [{' '.join(unready)}]"
    return [
        _condition(
            ctype, False, unready_since, origin, reason="ContainersNotReady", message=message
        )
        for ctype in ("Ready", "ContainersReady")
    ]


def _phase(plan: PodPlan, main: list[ContainerView], init_done: bool, failed_by_init: bool) -> str:
    if failed_by_init:
        return "Failed"
    if not init_done or any(not v.started for v in main):
        return "Pending"
    if main and all(v.final_exit is not None for v in main):
        return "Succeeded" if all(v.final_exit == 0 for v in main) else "Failed"
    return "Running"
