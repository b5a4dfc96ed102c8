"""Kind rules for the pod-owning kinds (status-spec §6.3, §6.5).

Each rule takes a present, not-terminating object whose generation has been observed
(the common checks ran first in `resource_rules`) and returns a `RuleOutcome`.

- Deployment: ProgressDeadlineExceeded → Failed; kstatus replica checks (LessReplicas,
  LessUpdated, ExtraPods, LessAvailable, LessReady) → InProgress; when paused, the counts
  alone decide; else Available=True and (Progressing=True/NewReplicaSetAvailable or no
  progressDeadlineSeconds) → Current.
- StatefulSet: ready < spec first (also for OnDelete), then status.replicas ≠ spec, then
  OnDelete → Current, a partition → Current once updated ≥ replicas - partition, then
  currentRevision ≠ updateRevision → InProgress.
- DaemonSet, ReplicaSet: kstatus count checks (ReplicaFailure is InProgress, not Failed).
- Job: Complete/SuccessCriteriaMet → Current (remembered as completed); Failed/FailureTarget
  → Failed; suspended or running → InProgress. Its active pods escalate it to Failed only by
  the waiting rules (image, config, unschedulable); crash loops are left to backoffLimit.
- Bare Pod: Succeeded → Current; Failed → Failed; Ready → Current; else §6.5.

Escalation: the controllers' evidence pods are assessed on every evaluation (so baselines
follow Ready transitions even while the controller is Current); when the controller is
InProgress and one of its pods is Failed, the controller is Failed with the pod's reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from catalyst.domain.memory import PodMemory
from catalyst.domain.model import ResourceState
from catalyst.domain.object_fields import (
    Obj,
    condition,
    condition_is,
    condition_text,
    count,
    metadata,
    section,
    spec,
    status,
    uid,
)
from catalyst.domain.pod_evidence import assess_pod, earliest
from catalyst.domain.rule_outcome import CURRENT, RuleOutcome, failed, in_progress
from catalyst.domain.thresholds import StatusThresholds


def _pod_key(pod: Obj) -> str:
    return uid(pod) or str(metadata(pod).get("name") or "")


def escalate_with_pods(
    outcome: RuleOutcome,
    pods: Sequence[Obj],
    remembered: Mapping[str, PodMemory],
    *,
    crash_rules: bool,
    now: datetime,
    thresholds: StatusThresholds,
) -> RuleOutcome:
    """Assess `pods`, keep their memory, and fail an InProgress `outcome` on a Failed pod."""
    memory: dict[str, PodMemory] = {}
    failure: tuple[str, str] | None = None
    recheck_at = outcome.recheck_at
    for pod in sorted(pods, key=_pod_key):
        key = _pod_key(pod)
        verdict = assess_pod(
            pod, remembered.get(key), crash_rules=crash_rules, now=now, thresholds=thresholds
        )
        memory[key] = verdict.memory
        recheck_at = earliest(recheck_at, verdict.recheck_at)
        if failure is None and verdict.state is ResourceState.FAILED:
            failure = (verdict.reason, verdict.message)
    if outcome.state is ResourceState.IN_PROGRESS and failure is not None:
        return RuleOutcome(ResourceState.FAILED, failure[0], failure[1], None, memory)
    if outcome.state is not ResourceState.IN_PROGRESS:
        recheck_at = None  # a pod threshold only matters while the controller is not ready
    return RuleOutcome(
        outcome.state, outcome.reason, outcome.message, recheck_at, memory, outcome.completed
    )


def _replica_shortfall(desired: int, obj_status: Mapping[str, object]) -> RuleOutcome | None:
    """kstatus' Deployment replica checks, in kstatus' order."""
    replicas = count(obj_status, "replicas")
    updated = count(obj_status, "updatedReplicas")
    ready = count(obj_status, "readyReplicas")
    available = count(obj_status, "availableReplicas")
    if desired > replicas:
        return in_progress("LessReplicas", f"{replicas}/{desired} replicas")
    if desired > updated:
        return in_progress("LessUpdated", f"{updated}/{desired} replicas updated")
    if replicas > desired:
        return in_progress("ExtraPods", f"{replicas - desired} old replicas still running")
    if updated > available:
        return in_progress("LessAvailable", f"{available}/{updated} updated replicas available")
    if desired > ready:
        return in_progress("LessReady", f"{ready}/{desired} replicas ready")
    return None


def deployment_rule(obj: Obj) -> RuleOutcome:
    progressing = condition(obj, "Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return failed("ProgressDeadlineExceeded", condition_text(progressing))
    shortfall = _replica_shortfall(count(spec(obj), "replicas", 1), status(obj))
    if shortfall is not None:
        return shortfall
    if spec(obj).get("paused") is True:
        return CURRENT  # paused: judged by replica counts only (§6.3)
    if not condition_is(obj, "Available"):
        return in_progress("NotAvailable", condition_text(condition(obj, "Available")))
    rollout_done = (
        progressing is not None
        and progressing.get("status") == "True"
        and progressing.get("reason") == "NewReplicaSetAvailable"
    )
    if rollout_done or spec(obj).get("progressDeadlineSeconds") is None:
        return CURRENT
    return in_progress("RolloutInProgress", condition_text(progressing))


def statefulset_rule(obj: Obj) -> RuleOutcome:
    obj_spec, obj_status = spec(obj), status(obj)
    desired = count(obj_spec, "replicas", 1)
    ready = count(obj_status, "readyReplicas")
    replicas = count(obj_status, "replicas")
    if ready < desired:
        return in_progress("LessReady", f"{ready}/{desired} replicas ready")
    if replicas != desired:
        reason = "LessReplicas" if replicas < desired else "ExtraPods"
        return in_progress(reason, f"{replicas}/{desired} replicas")
    strategy = section(obj_spec, "updateStrategy")
    if strategy.get("type") == "OnDelete":
        return CURRENT
    partition = count(section(strategy, "rollingUpdate"), "partition")
    if partition > 0:
        updated = count(obj_status, "updatedReplicas")
        if updated >= desired - partition:
            return CURRENT
        return in_progress("LessUpdated", f"{updated}/{desired - partition} replicas updated")
    if obj_status.get("currentRevision") != obj_status.get("updateRevision"):
        return in_progress("RevisionUpdating", "rolling out a new revision")
    return CURRENT


def daemonset_rule(obj: Obj) -> RuleOutcome:
    obj_status = status(obj)
    if obj_status.get("desiredNumberScheduled") is None:
        return in_progress("NoDesiredNumber", "desiredNumberScheduled not reported yet")
    desired = count(obj_status, "desiredNumberScheduled")
    for field, reason in (
        ("currentNumberScheduled", "LessCurrent"),
        ("updatedNumberScheduled", "LessUpdated"),
        ("numberAvailable", "LessAvailable"),
        ("numberReady", "LessReady"),
    ):
        value = count(obj_status, field)
        if desired > value:
            return in_progress(reason, f"{field} {value}/{desired}")
    return CURRENT


def replicaset_rule(obj: Obj) -> RuleOutcome:
    if condition_is(obj, "ReplicaFailure"):
        return in_progress("ReplicaFailure", condition_text(condition(obj, "ReplicaFailure")))
    desired = count(spec(obj), "replicas", 1)
    obj_status = status(obj)
    for field, reason in (
        ("fullyLabeledReplicas", "LessLabelled"),
        ("availableReplicas", "LessAvailable"),
        ("readyReplicas", "LessReady"),
    ):
        value = count(obj_status, field)
        if desired > value:
            return in_progress(reason, f"{field} {value}/{desired}")
    if count(obj_status, "replicas") > desired:
        return in_progress("ExtraPods", "more pods than desired")
    return CURRENT


def job_completed(obj: Obj) -> bool:
    """Whether a Job reports completion (Complete=True or SuccessCriteriaMet=True)."""
    return any(condition_is(obj, type_) for type_ in ("Complete", "SuccessCriteriaMet"))


def job_rule(obj: Obj) -> RuleOutcome:
    for type_ in ("Complete", "SuccessCriteriaMet"):
        if condition_is(obj, type_):
            return RuleOutcome(ResourceState.CURRENT, "JobComplete", completed=True)
    for type_ in ("Failed", "FailureTarget"):
        cond = condition(obj, type_)
        if cond is not None and cond.get("status") == "True":
            return failed("JobFailed", condition_text(cond))
    if spec(obj).get("suspend") is True:
        return in_progress("JobSuspended", "spec.suspend is true")
    if not status(obj).get("startTime"):
        return in_progress("JobNotStarted")
    return in_progress("JobRunning", f"{count(status(obj), 'active')} active pods")


def bare_pod_rule(
    obj: Obj, remembered: Mapping[str, PodMemory], *, now: datetime, thresholds: StatusThresholds
) -> RuleOutcome:
    phase = status(obj).get("phase")
    key = _pod_key(obj)
    if phase == "Succeeded":
        return CURRENT
    if phase == "Failed":
        reason = status(obj).get("reason") or "PodFailed"
        return failed("PodFailed", f"pod phase Failed ({reason}): {status(obj).get('message', '')}")
    verdict = assess_pod(obj, remembered.get(key), now=now, thresholds=thresholds)
    memory = {key: verdict.memory}
    if verdict.state is ResourceState.CURRENT:
        return RuleOutcome(ResourceState.CURRENT, "Current", pods=memory)
    return RuleOutcome(verdict.state, verdict.reason, verdict.message, verdict.recheck_at, memory)
