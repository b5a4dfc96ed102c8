"""Per-resource status: one inventory object → `ResourceStatus` (status-spec §6.3, §6.4).

`evaluate_resource(ref, obj, evidence=, memory=, ctx=, now=, thresholds=)` is pure: it reads
the object (None when absent), the evidence pods, the object's memory, and returns the
status, the updated memory and `recheck_at`, the earliest instant at which a time threshold
could change the answer without a new event.

Order of evaluation for a present object:
1. deletionTimestamp → Terminating. Without a delete request, that is tolerated for MISSING
   (until the rebuild timeout while rebuilding), then Failed/ResourceTerminating (someone
   deleted the namespace).
2. observedGeneration present and ≠ generation → InProgress/LatestGenerationNotObserved;
   for Deployment, StatefulSet and DaemonSet a missing observedGeneration counts too.
3. Stalled=True → Failed; Reconciling=True → InProgress.
4. The kind rule (`workload_rules`, or the small ones here), with pod escalation.
An object of an unexpected shape (a rule raised TypeError/ValueError/KeyError) is Unknown
with reason EvaluationError: never an exception out of this module.

Absent objects (§6.4): delete requested → NotFound; a Job remembered `completed`, or whose
final state (the watch's DELETE event, passed as ``final_state``) was complete, → Current
(TTL or a hook delete policy removed it, possibly before any evaluation saw it complete);
never seen while creating/rebuilding →
InProgress/NotCreatedYet; otherwise InProgress/ResourceMissing for MISSING, then
Failed/ResourceMissing (while rebuilding the grace lasts until the rebuild timeout, which
the aggregation enforces). An object never seen in steady state counts as missing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from catalyst.domain.evidence import EvidenceIndex
from catalyst.domain.memory import ResourceMemory
from catalyst.domain.model import Lifecycle, ObjectRef, ResourceState, ResourceStatus
from catalyst.domain.object_fields import (
    Obj,
    condition,
    condition_is,
    condition_text,
    conditions,
    metadata,
    section,
    spec,
    status,
)
from catalyst.domain.rule_outcome import CURRENT, RuleOutcome, failed, in_progress
from catalyst.domain.thresholds import StatusThresholds
from catalyst.domain.workload_rules import (
    bare_pod_rule,
    daemonset_rule,
    deployment_rule,
    escalate_with_pods,
    job_completed,
    job_rule,
    replicaset_rule,
    statefulset_rule,
)

# Kinds that are Current as soon as they exist (§6.3), keyed by (group, kind). The
# generation and Stalled/Reconciling checks still run first (an HPA reports
# observedGeneration and conditions); a Ready condition is never required of them.
ALWAYS_CURRENT_KINDS = frozenset(
    {
        ("networking.k8s.io", "Ingress"),
        ("extensions", "Ingress"),
        ("", "ConfigMap"),
        ("", "Secret"),
        ("", "ServiceAccount"),
        ("", "Endpoints"),
        ("", "LimitRange"),
        ("", "ResourceQuota"),
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("autoscaling", "HorizontalPodAutoscaler"),
        ("policy", "PodDisruptionBudget"),
        ("networking.k8s.io", "NetworkPolicy"),
        ("batch", "CronJob"),
    }
)
# Kinds whose every rule reads only metadata: the object's existence and deletionTimestamp
# (they have no status, or kstatus ignores it). The watcher caches them as
# PartialObjectMetadata. Any kind not listed here, including every custom resource, may be
# judged by its status (kstatus's generic rules) and is read whole.
EXISTENCE_ONLY_KINDS = frozenset(
    {
        ("networking.k8s.io", "Ingress"),
        ("extensions", "Ingress"),
        ("", "ConfigMap"),
        ("", "Secret"),
        ("", "ServiceAccount"),
        ("", "Endpoints"),
        ("", "LimitRange"),
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("networking.k8s.io", "NetworkPolicy"),
        ("batch", "CronJob"),
    }
)


def judged_by_existence(api_version: str, kind: str) -> bool:
    """True when the rules of ``kind`` need only its metadata (see `EXISTENCE_ONLY_KINDS`):
    reading it as PartialObjectMetadata gives the same verdict as reading it whole."""
    group = api_version.rpartition("/")[0]
    return (group, kind) in EXISTENCE_ONLY_KINDS


# Kinds whose controllers always report observedGeneration: its absence means "not yet".
_GENERATION_REQUIRED = frozenset(
    {("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet")}
)
_POD_OWNERS = frozenset(
    {("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("apps", "ReplicaSet")}
)


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What the rules need to know about the environment around an object."""

    lifecycle: Lifecycle
    deletion_requested: bool = False
    require_lb_address: bool = False
    """Service type LoadBalancer is InProgress until it has an address (§6.3, option)."""


@dataclass(frozen=True, slots=True)
class ResourceEvaluation:
    status: ResourceStatus
    memory: ResourceMemory
    recheck_at: datetime | None = None


def _generation_outcome(obj: Obj, group_kind: tuple[str, str]) -> RuleOutcome | None:
    generation = metadata(obj).get("generation")
    observed = status(obj).get("observedGeneration")
    if observed is None:
        if group_kind in _GENERATION_REQUIRED:
            return in_progress("LatestGenerationNotObserved", "observedGeneration not reported")
        return None
    if generation is not None and observed != generation:
        return in_progress(
            "LatestGenerationNotObserved", f"generation {generation}, observed {observed}"
        )
    return None


def _standard_conditions_outcome(obj: Obj) -> RuleOutcome | None:
    if condition_is(obj, "Stalled"):
        return failed("Stalled", condition_text(condition(obj, "Stalled")))
    if condition_is(obj, "Reconciling"):
        return in_progress("Reconciling", condition_text(condition(obj, "Reconciling")))
    return None


def _pvc_rule(obj: Obj) -> RuleOutcome:
    phase = status(obj).get("phase")
    if phase == "Bound":
        return CURRENT
    if phase == "Lost":
        return failed("ClaimLost", "the claim lost its volume")
    return in_progress("ClaimPending", f"phase {phase or 'Pending'}")


def _service_rule(obj: Obj, ctx: RuleContext) -> RuleOutcome:
    if not ctx.require_lb_address or spec(obj).get("type") != "LoadBalancer":
        return CURRENT
    ingress = section(section(obj, "status"), "loadBalancer").get("ingress")
    if ingress or spec(obj).get("externalIPs"):
        return CURRENT
    return in_progress("LoadBalancerPending", "no load balancer address yet")


def _ready_condition_rule(obj: Obj) -> RuleOutcome:
    if not conditions(obj):
        return CURRENT
    ready = condition(obj, "Ready")
    if ready is None or ready.get("status") == "True":
        return CURRENT
    return in_progress("NotReady", condition_text(ready))


def _present_outcome(
    ref: ObjectRef,
    obj: Obj,
    evidence: EvidenceIndex,
    memory: ResourceMemory,
    ctx: RuleContext,
    now: datetime,
    thresholds: StatusThresholds,
) -> RuleOutcome:
    group_kind = (ref.group, ref.kind)
    early = _generation_outcome(obj, group_kind) or _standard_conditions_outcome(obj)
    if early is not None:
        return early
    if group_kind in _POD_OWNERS:
        rule = {
            "Deployment": deployment_rule,
            "StatefulSet": statefulset_rule,
            "DaemonSet": daemonset_rule,
            "ReplicaSet": replicaset_rule,
        }[ref.kind]
        return escalate_with_pods(
            rule(obj),
            evidence.pods_for(ref, obj),
            memory.pods,
            crash_rules=True,
            now=now,
            thresholds=thresholds,
        )
    if group_kind == ("batch", "Job"):
        outcome = job_rule(obj)
        if outcome.state is not ResourceState.IN_PROGRESS:
            return outcome
        return escalate_with_pods(
            outcome,
            evidence.pods_for(ref, obj),
            memory.pods,
            crash_rules=False,
            now=now,
            thresholds=thresholds,
        )
    if group_kind == ("", "Pod"):
        return bare_pod_rule(obj, memory.pods, now=now, thresholds=thresholds)
    if group_kind == ("", "PersistentVolumeClaim"):
        return _pvc_rule(obj)
    if group_kind == ("", "Service"):
        return _service_rule(obj, ctx)
    if group_kind in ALWAYS_CURRENT_KINDS:
        return CURRENT
    return _ready_condition_rule(obj)


def _grace(
    since: datetime | None, ctx: RuleContext, now: datetime, thresholds: StatusThresholds
) -> tuple[datetime, bool, datetime | None]:
    """(since, expired, deadline) of the MISSING grace; no deadline while rebuilding."""
    started = since or now
    if ctx.lifecycle is Lifecycle.REBUILDING:
        return started, False, None
    deadline = started + thresholds.missing
    return started, now >= deadline, deadline


def _completed_job(ref: ObjectRef, final_state: Obj | None) -> bool:
    """Whether ``final_state`` (the last state seen before a delete) is a completed Job."""
    if final_state is None or ref.kind != "Job" or ref.group != "batch":
        return False
    try:
        return job_completed(final_state)
    except (TypeError, ValueError, KeyError, AttributeError):
        return False


def _absent(
    ref: ObjectRef,
    memory: ResourceMemory,
    ctx: RuleContext,
    now: datetime,
    thresholds: StatusThresholds,
    final_state: Obj | None = None,
) -> ResourceEvaluation:
    def result(
        state: ResourceState, reason: str, message: str, mem: ResourceMemory, at: datetime | None
    ) -> ResourceEvaluation:
        mem = replace(mem, last_state=state.value, pods={}, terminating_since=None)
        return ResourceEvaluation(ResourceStatus(ref, state, reason, message), mem, at)

    if ctx.deletion_requested:
        return result(ResourceState.NOT_FOUND, "Deleted", "", memory, None)
    if not memory.completed and _completed_job(ref, final_state):
        memory = replace(memory, seen=True, completed=True)
    if memory.completed:
        return result(
            ResourceState.CURRENT, "JobCompleted", "completed, then removed", memory, None
        )
    creating = ctx.lifecycle in (Lifecycle.CREATING, Lifecycle.REBUILDING)
    if not memory.seen and creating:
        return result(ResourceState.IN_PROGRESS, "NotCreatedYet", "not created yet", memory, None)
    since, expired, deadline = _grace(memory.missing_since, ctx, now, thresholds)
    memory = replace(memory, missing_since=since)
    if expired:
        message = f"{ref} is missing since {since.isoformat()}"
        return result(ResourceState.FAILED, "ResourceMissing", message, memory, None)
    return result(
        ResourceState.IN_PROGRESS, "ResourceMissing", f"{ref} is missing", memory, deadline
    )


def _terminating(
    ref: ObjectRef,
    memory: ResourceMemory,
    ctx: RuleContext,
    now: datetime,
    thresholds: StatusThresholds,
) -> ResourceEvaluation:
    if ctx.deletion_requested:
        memory = replace(memory, last_state=ResourceState.TERMINATING.value)
        status_ = ResourceStatus(ref, ResourceState.TERMINATING, "Terminating", "being deleted")
        return ResourceEvaluation(status_, memory, None)
    since, expired, deadline = _grace(memory.terminating_since, ctx, now, thresholds)
    if expired:
        state, at = ResourceState.FAILED, None
        message = f"{ref} is being deleted without a delete request"
    else:
        state, at = ResourceState.TERMINATING, deadline
        message = "being deleted"
    memory = replace(memory, terminating_since=since, last_state=state.value)
    return ResourceEvaluation(
        ResourceStatus(ref, state, "ResourceTerminating", message), memory, at
    )


def evaluate_resource(
    ref: ObjectRef,
    obj: Obj | None,
    *,
    evidence: EvidenceIndex,
    memory: ResourceMemory | None,
    ctx: RuleContext,
    now: datetime,
    thresholds: StatusThresholds,
    final_state: Obj | None = None,
) -> ResourceEvaluation:
    """The status of one inventory object; see the module docstring for the rules.

    ``final_state`` is the last state of the object seen before it was deleted (only read
    when ``obj`` is None): a completed Job stays Current for the rest of its revision."""
    memory = memory or ResourceMemory()
    if obj is None:
        return _absent(ref, memory, ctx, now, thresholds, final_state)
    memory = replace(memory, seen=True, missing_since=None)
    try:
        if metadata(obj).get("deletionTimestamp"):
            return _terminating(ref, memory, ctx, now, thresholds)
        outcome = _present_outcome(ref, obj, evidence, memory, ctx, now, thresholds)
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        status_ = ResourceStatus(ref, ResourceState.UNKNOWN, "EvaluationError", str(error))
        return ResourceEvaluation(status_, replace(memory, last_state=status_.state.value))
    memory = replace(
        memory,
        terminating_since=None,
        completed=memory.completed or outcome.completed,
        last_state=outcome.state.value,
        pods=outcome.pods,
    )
    status_ = ResourceStatus(ref, outcome.state, outcome.reason, outcome.message)
    return ResourceEvaluation(status_, memory, outcome.recheck_at)
