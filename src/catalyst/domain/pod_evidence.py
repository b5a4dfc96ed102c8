"""Pod evidence and anti-flapping (status-spec §6.5).

`assess_pod` judges one pod from its container states and the remembered history of each
container. It is used for evidence pods of controllers (Deployment, StatefulSet, DaemonSet,
ReplicaSet), for the active pods of a Job (waiting rules only: crashes are left to the Job's
backoffLimit) and for bare Pods in the inventory.

Rules, applied to regular **and init** containers:
- waiting `CrashLoopBackOff` → Failed when restartCount - restart_baseline ≥ CRASH_N, or the
  crash-loop episode (first CrashLoopBackOff sighting since the container was last Ready)
  has lasted ≥ CRASH_T. The episode spans the short `running` spells between back-offs,
  otherwise a 5-minute back-off would never be seen "continuously" for 5 minutes.
- waiting `ErrImagePull`/`ImagePullBackOff` (one episode, they alternate) → Failed after
  IMAGE; `InvalidImageName` → Failed at once.
- waiting `CreateContainerConfigError`/`CreateContainerError`/`RunContainerError` → Failed
  after CONFIG.
- Pending with PodScheduled=False/Unschedulable → Failed after UNSCHED.
- A Ready container resets its baseline to its current restartCount, so old restarts (or an
  old OOMKilled lastState) never count again.

Awkward cases: a container first seen without memory gets baseline = restartCount when it
is Ready and 0 otherwise (the spec's "0 if never Ready"); memory is persisted, so this only
matters when the stored memory was lost. Phase `Unknown` (node lost) is not a failure.
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
        memory = ContainerMemory(restart_baseline=restarts if ready else 0)
    else:
        memory = ContainerMemory(
            waiting_episode=remembered.waiting_episode,
            waiting_since=remembered.waiting_since,
            restart_baseline=remembered.restart_baseline,
            crashloop_since=remembered.crashloop_since,
        )
    if ready:
        # A Ready container ends every episode: later restarts count from here.
        memory.restart_baseline = restarts
        memory.crashloop_since = None

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
    # A crash-loop episode lasts until the container is Ready again: between back-offs the
    # kubelet runs it for a moment (not Ready, no waiting reason), which must not read as
    # recovery, or every restart would record failed -> starting -> failed.
    in_crash_loop = episode == CRASH_LOOP or (not ready and memory.crashloop_since is not None)
    if in_crash_loop and crash_rules:
        since_baseline = restarts - memory.restart_baseline
        expired, deadline = pending(memory.crashloop_since, thresholds.crash_t)
        if since_baseline >= thresholds.crash_n or expired:
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
        recheck_at = earliest(recheck_at, verdict.recheck_at)
        if failure is None and verdict.failed_reason is not None:
            failure = (verdict.failed_reason, f"pod {name}: {verdict.message}")

    if failure is not None:
        return PodAssessment(ResourceState.FAILED, failure[0], failure[1], None, memory)
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
