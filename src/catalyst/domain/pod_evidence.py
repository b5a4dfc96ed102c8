"""Pod evidence and anti-flapping (status-spec §6.5).

`assess_pod` judges one pod from its container states and the remembered history of each
container. It is used for evidence pods of controllers (Deployment, StatefulSet, DaemonSet,
ReplicaSet), for the active pods of a Job (waiting rules only: crashes are left to the Job's
backoffLimit) and for bare Pods in the inventory.

Rules, applied to regular **and init** containers:
- restartCount - restart_baseline ≥ CRASH_N → Failed, counted within a crash-loop window as
  kubelet's back-off is: the baseline moves to the current restartCount only once the
  container has been Ready, without a restart, for CRASH_WINDOW (kubelet resets its back-off
  after 10 minutes of running). A container without a readiness probe is Ready during each
  short run between back-offs; those runs neither reset the count nor turn a container that
  reached CRASH_N back to Current (no failed → running → failed flicker, no fresh expiry).
- waiting `CrashLoopBackOff` → Failed when the crash-loop episode (first CrashLoopBackOff
  sighting since the container was last Ready) has lasted ≥ CRASH_T. The episode spans the
  short not-Ready `running` spells between back-offs, otherwise a 5-minute back-off would
  never be seen "continuously" for 5 minutes.
- waiting `ErrImagePull`/`ImagePullBackOff` (one episode, they alternate) → Failed after
  IMAGE; `InvalidImageName` → Failed at once.
- waiting `CreateContainerConfigError`/`CreateContainerError`/`RunContainerError` → Failed
  after CONFIG.
- Pending with PodScheduled=False/Unschedulable → Failed after UNSCHED.
- A container Ready for CRASH_WINDOW resets its baseline to its current restartCount, so old
  restarts (or an old OOMKilled lastState) never count again. A restart between two
  evaluations that both saw it Ready is noticed by its restartCount and restarts the window.

Awkward cases: a container first seen without memory gets baseline = restartCount when it
is Ready (its window counts as passed) and 0 otherwise (the spec's "0 if never Ready");
memory is persisted, so this only matters when the stored memory was lost. The crash window
of a Ready container counts from its `state.running.startedAt` when the cluster gives it.
Phase `Unknown` (node lost) is not a failure.
`recheck_at` is the earliest instant at which a pending threshold would turn the pod Failed,
so the caller can schedule a re-evaluation without any new event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from catalyst.domain.memory import ContainerMemory, PodMemory
from catalyst.domain.model import ResourceState
from catalyst.domain.object_fields import Obj, condition, condition_is, count, metadata, status
from catalyst.domain.thresholds import StatusThresholds

CRASH_LOOP = "CrashLoopBackOff"
IMAGE_PULL_EPISODE = "ImagePull"
CONFIG_EPISODE = "Config"

_EPISODE_OF_REASON = {
    CRASH_LOOP: CRASH_LOOP,
    "ErrImagePull": IMAGE_PULL_EPISODE,
    "ImagePullBackOff": IMAGE_PULL_EPISODE,
    "CreateContainerConfigError": CONFIG_EPISODE,
    "CreateContainerError": CONFIG_EPISODE,
    "RunContainerError": CONFIG_EPISODE,
}
_FAILED_AT_ONCE = frozenset({"InvalidImageName"})


@dataclass(frozen=True, slots=True)
class PodAssessment:
    """The verdict on one pod. `state` is Current, InProgress or Failed."""

    state: ResourceState
    reason: str
    message: str
    recheck_at: datetime | None
    memory: PodMemory


def earliest(*instants: datetime | None) -> datetime | None:
    """The earliest of the given instants, ignoring None."""
    present = [i for i in instants if i is not None]
    return min(present) if present else None


@dataclass(frozen=True, slots=True)
class _ContainerVerdict:
    failed_reason: str | None
    message: str
    recheck_at: datetime | None
    memory: ContainerMemory


def _container_statuses(pod: Obj) -> Iterable[tuple[str, Mapping[str, Any]]]:
    pod_status = status(pod)
    for field, prefix in (("initContainerStatuses", "init:"), ("containerStatuses", "")):
        entries = pod_status.get(field) or []
        if not isinstance(entries, list):
            raise TypeError(f"status.{field} is not a list")
        for entry in entries:
            if isinstance(entry, Mapping):
                yield f"{prefix}{entry.get('name', '')}", entry


def _waiting_reason(container: Mapping[str, Any]) -> str | None:
    state = container.get("state") or {}
    waiting = state.get("waiting") if isinstance(state, Mapping) else None
    if not isinstance(waiting, Mapping):
        return None
    reason = waiting.get("reason")
    return None if reason is None else str(reason)


def _assess_container(
    name: str,
    container: Mapping[str, Any],
    remembered: ContainerMemory | None,
    *,
    crash_rules: bool,
    now: datetime,
    thresholds: StatusThresholds,
) -> _ContainerVerdict:
    restarts = count(container, "restartCount")
    ready = container.get("ready") is True
    if remembered is None:
        # First sight: a Ready container's old restarts are history (§7 #20).
        memory = ContainerMemory(restart_baseline=restarts if ready else 0)
    else:
        memory = ContainerMemory(
            waiting_episode=remembered.waiting_episode,
            waiting_since=remembered.waiting_since,
            restart_baseline=remembered.restart_baseline,
            crashloop_since=remembered.crashloop_since,
            ready_since=remembered.ready_since,
            restarts_seen=remembered.restarts_seen,
        )
    restarted = remembered is not None and restarts != remembered.restarts_seen
    memory.restarts_seen = restarts
    stable_at: datetime | None = None
    if ready:
        # A Ready container ends the continuous CrashLoopBackOff clock (CRASH_T) at once;
        # its restart count (CRASH_N) starts afresh only once it has stayed Ready, without
        # a restart, for CRASH_WINDOW: kubelet does not reset its back-off for a short run
        # either, and a container without a readiness probe is Ready during every run.
        memory.crashloop_since = None
        if memory.ready_since is None or restarted:
            memory.ready_since = _running_since(container, now)
        stable_at = memory.ready_since + thresholds.crash_window
        if now >= stable_at or remembered is None:
            memory.restart_baseline = restarts
            stable_at = None
    else:
        memory.ready_since = None

    reason = _waiting_reason(container)
    episode = _EPISODE_OF_REASON.get(reason or "")
    if episode != memory.waiting_episode:
        memory.waiting_episode = episode
        memory.waiting_since = now if episode else None
    if episode == CRASH_LOOP and memory.crashloop_since is None:
        memory.crashloop_since = now

    def pending(since: datetime | None, limit: timedelta) -> tuple[bool, datetime | None]:
        started = since or now
        return now - started >= limit, started + limit

    if reason in _FAILED_AT_ONCE:
        return _ContainerVerdict(reason, f"container {name}: {reason}", None, memory)
    since_baseline = restarts - memory.restart_baseline
    if crash_rules and since_baseline >= thresholds.crash_n:
        # Too many restarts within one crash-loop window: Failed, also during the short
        # runs between back-offs, until the container has been Ready for the whole window.
        message = f"container {name}: CrashLoopBackOff, {since_baseline} restarts"
        return _ContainerVerdict(CRASH_LOOP, message, stable_at, memory)
    # A crash-loop episode lasts until the container is Ready again: between back-offs the
    # kubelet runs it for a moment (not Ready, no waiting reason), which must not read as
    # recovery, or every restart would record failed -> starting -> failed.
    in_crash_loop = episode == CRASH_LOOP or (not ready and memory.crashloop_since is not None)
    if in_crash_loop and crash_rules:
        expired, deadline = pending(memory.crashloop_since, thresholds.crash_t)
        if expired:
            message = f"container {name}: CrashLoopBackOff, {since_baseline} restarts"
            return _ContainerVerdict(CRASH_LOOP, message, None, memory)
        return _ContainerVerdict(None, "", deadline, memory)
    if episode == IMAGE_PULL_EPISODE:
        expired, deadline = pending(memory.waiting_since, thresholds.image)
        if expired:
            return _ContainerVerdict(reason, f"container {name}: {reason}", None, memory)
        return _ContainerVerdict(None, "", deadline, memory)
    if episode == CONFIG_EPISODE:
        expired, deadline = pending(memory.waiting_since, thresholds.config)
        if expired:
            return _ContainerVerdict(reason, f"container {name}: {reason}", None, memory)
        return _ContainerVerdict(None, "", deadline, memory)
    return _ContainerVerdict(None, "", None, memory)


def _running_since(container: Mapping[str, Any], now: datetime) -> datetime:
    """When the container's current run started (`state.running.startedAt`, never later
    than now); now when the cluster does not say. The crash window counts from there, as
    kubelet's back-off reset counts how long the container ran."""
    state = container.get("state") or {}
    running = state.get("running") if isinstance(state, Mapping) else None
    started = running.get("startedAt") if isinstance(running, Mapping) else None
    if not isinstance(started, str):
        return now
    try:
        parsed = datetime.fromisoformat(started.replace("Z", "+00:00"))
    except ValueError:
        return now
    if parsed.tzinfo is None:
        return now
    return min(parsed, now)


def failure_episode(reason: str) -> str:
    """The episode a failure reason belongs to: ErrImagePull and ImagePullBackOff are one
    ("ImagePull"), the container-config errors are one ("Config"); any other reason is its
    own episode. Used to keep a reason that alternates within one failure from being
    recorded as a new change (`catalyst.domain.lifecycle`)."""
    return _EPISODE_OF_REASON.get(reason, reason)


def _is_unschedulable(pod: Obj) -> bool:
    if status(pod).get("phase") != "Pending":
        return False
    scheduled = condition(pod, "PodScheduled")
    return (
        scheduled is not None
        and scheduled.get("status") == "False"
        and scheduled.get("reason") == "Unschedulable"
    )


def pod_name(pod: Obj) -> str:
    return str(metadata(pod).get("name") or "?")


def assess_pod(
    pod: Obj,
    remembered: PodMemory | None,
    *,
    crash_rules: bool = True,
    now: datetime,
    thresholds: StatusThresholds,
) -> PodAssessment:
    """Judge one pod by §6.5; see the module docstring. Never mutates `remembered`."""
    remembered = remembered or PodMemory()
    name = pod_name(pod)
    memory = PodMemory()
    failure: tuple[str, str] | None = None
    recheck_at: datetime | None = None
    failed_recheck_at: datetime | None = None

    if _is_unschedulable(pod):
        memory.unschedulable_since = remembered.unschedulable_since or now
        deadline = memory.unschedulable_since + thresholds.unsched
        if now >= deadline:
            cond = condition(pod, "PodScheduled") or {}
            failure = ("Unschedulable", f"pod {name} unschedulable: {cond.get('message', '')}")
        else:
            recheck_at = deadline

    for container_name, container in _container_statuses(pod):
        verdict = _assess_container(
            container_name,
            container,
            remembered.containers.get(container_name),
            crash_rules=crash_rules,
            now=now,
            thresholds=thresholds,
        )
        memory.containers[container_name] = verdict.memory
        if verdict.failed_reason is None:
            recheck_at = earliest(recheck_at, verdict.recheck_at)
        else:
            failed_recheck_at = earliest(failed_recheck_at, verdict.recheck_at)
            if failure is None:
                failure = (verdict.failed_reason, f"pod {name}: {verdict.message}")

    if failure is not None:
        # A failed pod is re-checked only when a failing container may recover by time
        # alone (a crash loop whose window of stable running is about to end).
        return PodAssessment(
            ResourceState.FAILED, failure[0], failure[1], failed_recheck_at, memory
        )
    phase = status(pod).get("phase")
    if phase == "Succeeded" or condition_is(pod, "Ready"):
        return PodAssessment(ResourceState.CURRENT, "Current", "", recheck_at, memory)
    return PodAssessment(
        ResourceState.IN_PROGRESS,
        "PodNotReady",
        f"pod {name} is {phase or 'pending'}",
        recheck_at,
        memory,
    )
