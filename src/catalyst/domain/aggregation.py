"""One environment's verdict from its objects (status-spec §6.6, as amended by the decisions).

`evaluate_environment(observation, memory, now=, thresholds=)` evaluates every inventory
object with `resource_rules` and folds the results, in this order:

1. Deletion requested → `deleting`; `fully_deleted` once every inventory object is NotFound
   and the namespace is known to be gone (the caller then tombstones the record).
2. (Stale data is not handled here: the caller does not evaluate while stale; see
   `lifecycle.observe(stale=True)` and `EnvironmentMemory.shifted`.)
3. Deployer error → `failed`/ApplyFailed.
4. Any resource Failed → `failed`, reason from the first failed resource in the stable order
   Job, StatefulSet, Deployment, others (then by apiVersion/kind/namespace/name).
5. Context timeouts while not all Current: creating > CREATE_TIMEOUT → CreationTimeout,
   rebuilding > REBUILD_TIMEOUT → RebuildTimeout (both measured from the start of the
   lifecycle / revision), steady and not all Current for > NOTREADY_TIMEOUT → NotReadyTimeout.
6. Any resource Unknown → `starting`/ResourceStatusUnknown. There is no public `unknown`
   (decision 1); an object we cannot judge keeps the environment from `running`, and the
   timeouts above still bound it.
7. Rebuild barrier: the current revision's apply not confirmed → `starting`/ApplyPending.
   The barrier holds back failures too: an inventory object still labelled with an older
   revision (`superseded`) is InProgress (PreviousRevision) whatever its state, so it can
   neither fail the new revision nor make it run.
8. Every object Current (non-empty inventory) → `running`/AllResourcesCurrent.
9. Otherwise `starting`, with the first non-Current resource's reason. Hysteresis: if the
   previous status was `running` and not everything has been Current for less than BLIP,
   the verdict stays `running` (steps 6, 7 and 9 only; `failed` is always immediate).

`next_evaluation_at` is the earliest future instant at which a time threshold (a pod
threshold, MISSING, a context timeout, the end of the BLIP window) could change the verdict
without any new event; None when nothing is pending. The caller schedules a timer for it
(plus its periodic resync).

Memory: a new revision resets what each object's memory says about the previous revision
(`seen`, `completed`, missing/terminating clocks) but keeps pod baselines. The context
timeouts run from `lifecycle_started_at` when the caller knows it, else from the first
evaluation that saw the current lifecycle and revision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from catalyst.domain.evidence import EvidenceIndex
from catalyst.domain.memory import EnvironmentMemory, ResourceMemory
from catalyst.domain.model import (
    EnvironmentStatus,
    Lifecycle,
    ObjectRef,
    ResourceState,
    ResourceStatus,
)
from catalyst.domain.object_fields import Obj
from catalyst.domain.pod_evidence import earliest
from catalyst.domain.resource_rules import RuleContext, evaluate_resource
from catalyst.domain.thresholds import StatusThresholds

_KIND_PRIORITY = {"Job": 0, "StatefulSet": 1, "Deployment": 2}


def failure_order(ref: ObjectRef) -> tuple[int, ObjectRef]:
    """The stable order in which resources are reported (and the failure reason picked)."""
    return (_KIND_PRIORITY.get(ref.kind, 3), ref)


@dataclass(frozen=True, slots=True)
class EnvironmentObservation:
    """Everything known about one environment at one instant."""

    lifecycle: Lifecycle
    inventory: Sequence[ObjectRef]
    """The objects Catalyst applied for the current revision (decision 7)."""
    objects: Mapping[ObjectRef, Obj] = field(default_factory=dict)
    """The inventory objects currently present in the cluster, by reference."""
    pods: Sequence[Obj] = ()
    replicasets: Sequence[Obj] = ()
    departed: Mapping[ObjectRef, Obj] = field(default_factory=dict)
    """Final states of inventory objects of the current revision that were deleted (the
    watch's DELETE events): a Job among them that had completed counts as done, even when
    no evaluation saw it complete before its TTL or hook delete policy removed it."""
    revision: int | None = None
    deletion_requested: bool = False
    deployer_error: str | None = None
    apply_confirmed: bool = True
    """False between a rebuild request and the deployer's confirmation (rebuild barrier)."""
    previous_status: EnvironmentStatus | None = None
    """The stored status: BLIP hysteresis applies only when it is `running`."""
    previous_status_since: datetime | None = None
    """When the stored status was set: starts the not-Current clock if memory has none."""
    namespace_exists: bool | None = None
    """None when unknown; `fully_deleted` needs an explicit False."""
    lifecycle_started_at: datetime | None = None
    require_lb_address: bool = False
    superseded: frozenset[ObjectRef] = frozenset()
    """Inventory objects present in the cluster but still labelled with a revision older
    than `revision` (the deployer has not applied the new one to them yet). They never
    decide the verdict: each is InProgress (PreviousRevision), whatever its own state, so
    the previous revision's failed Job cannot fail (or give a fresh expiry to) a rebuild."""


@dataclass(frozen=True, slots=True)
class Verdict:
    status: EnvironmentStatus
    reason: str
    message: str
    resources: list[ResourceStatus]
    next_evaluation_at: datetime | None
    fully_deleted: bool = False


def _carry_memory(
    memory: EnvironmentMemory, observation: EnvironmentObservation, now: datetime
) -> EnvironmentMemory:
    """The memory to start from: reset what belongs to an older revision or lifecycle."""
    new_revision = observation.revision is not None and memory.revision != observation.revision
    resources = memory.resources
    if new_revision:
        resources = {key: ResourceMemory(pods=r.pods) for key, r in resources.items()}
    lifecycle_since = memory.lifecycle_since
    if new_revision or memory.lifecycle != observation.lifecycle.value or lifecycle_since is None:
        lifecycle_since = now
    if observation.lifecycle_started_at is not None:
        lifecycle_since = observation.lifecycle_started_at
    return EnvironmentMemory(
        revision=observation.revision if observation.revision is not None else memory.revision,
        lifecycle=observation.lifecycle.value,
        lifecycle_since=lifecycle_since,
        not_current_since=memory.not_current_since,
        resources=resources,
    )


def _not_current_fallback(observation: EnvironmentObservation, now: datetime) -> datetime:
    """Start of the not-Current clock when memory has none (first evaluation, lost memory).

    A previous status other than `running` (and not `deleting`) already meant "not all
    Current" since it was set, so its `since` is a sound lower bound; otherwise start now.
    """
    previous, since = observation.previous_status, observation.previous_status_since
    if previous in (EnvironmentStatus.STARTING, EnvironmentStatus.FAILED) and since is not None:
        return min(since, now)
    return now


def _describe(status: ResourceStatus) -> str:
    detail = f": {status.message}" if status.message else ""
    return f"{status.ref} {status.state.value} ({status.reason}){detail}"


@dataclass(frozen=True, slots=True)
class _ContextTimeout:
    reason: str
    started: datetime
    limit: timedelta

    @property
    def deadline(self) -> datetime:
        return self.started + self.limit


def _context_timeout(
    lifecycle: Lifecycle,
    memory: EnvironmentMemory,
    not_current_since: datetime,
    thresholds: StatusThresholds,
) -> _ContextTimeout | None:
    """The context timeout that applies to a not-running environment, if any."""
    started = memory.lifecycle_since or not_current_since
    if lifecycle is Lifecycle.CREATING:
        return _ContextTimeout("CreationTimeout", started, thresholds.create_timeout)
    if lifecycle is Lifecycle.REBUILDING:
        return _ContextTimeout("RebuildTimeout", started, thresholds.rebuild_timeout)
    if lifecycle is Lifecycle.STEADY:
        return _ContextTimeout("NotReadyTimeout", not_current_since, thresholds.notready_timeout)
    return None


@dataclass(frozen=True, slots=True)
class _Decision:
    """What the fold decides: a verdict without the resource list."""

    status: EnvironmentStatus
    reason: str
    message: str
    next_at: datetime | None = None
    fully_deleted: bool = False


@dataclass(frozen=True, slots=True)
class _ResourceEvaluations:
    statuses: list[ResourceStatus]
    """One per inventory object, in `failure_order`."""
    memory: dict[str, ResourceMemory]
    recheck_at: datetime | None
    """The earliest instant a pod or object threshold could change a status."""


def evaluate_environment(
    observation: EnvironmentObservation,
    memory: EnvironmentMemory | None,
    *,
    now: datetime,
    thresholds: StatusThresholds,
) -> tuple[Verdict, EnvironmentMemory]:
    """The verdict for one environment and the memory to keep; see the module docstring."""
    memory = _carry_memory(memory or EnvironmentMemory(), observation, now)
    deleting = observation.deletion_requested or observation.lifecycle is Lifecycle.DELETING
    evaluations = _evaluate_resources(
        observation, memory, deleting=deleting, now=now, thresholds=thresholds
    )
    statuses = evaluations.statuses
    memory.resources = evaluations.memory
    all_current = (
        bool(statuses)
        and observation.apply_confirmed
        and all(s.state is ResourceState.CURRENT for s in statuses)
    )
    memory.not_current_since = (
        None
        if all_current
        else (memory.not_current_since or _not_current_fallback(observation, now))
    )

    if deleting:
        decision = _deletion(observation, statuses)
    elif (failure := _failure(observation, statuses)) is not None:
        decision = failure
    elif all_current:
        decision = _Decision(EnvironmentStatus.RUNNING, "AllResourcesCurrent", "")
    else:
        decision = _not_running(
            observation, memory, statuses, evaluations.recheck_at, now=now, thresholds=thresholds
        )
    next_at = decision.next_at
    verdict = Verdict(
        status=decision.status,
        reason=decision.reason,
        message=decision.message,
        resources=statuses,
        next_evaluation_at=next_at if next_at is not None and next_at > now else None,
        fully_deleted=decision.fully_deleted,
    )
    return verdict, memory


def _evaluate_resources(
    observation: EnvironmentObservation,
    memory: EnvironmentMemory,
    *,
    deleting: bool,
    now: datetime,
    thresholds: StatusThresholds,
) -> _ResourceEvaluations:
    """Step 1: every inventory object judged by `resource_rules`, in the reporting order."""
    ctx = RuleContext(
        lifecycle=observation.lifecycle,
        deletion_requested=deleting,
        require_lb_address=observation.require_lb_address,
    )
    evidence = EvidenceIndex(observation.pods, observation.replicasets)
    objects = _with_inventory_evidence(observation)
    statuses: list[ResourceStatus] = []
    resource_memory: dict[str, ResourceMemory] = {}
    recheck_at: datetime | None = None
    for ref in sorted(set(observation.inventory), key=failure_order):
        if ref in observation.superseded:
            statuses.append(
                ResourceStatus(
                    ref,
                    ResourceState.IN_PROGRESS,
                    "PreviousRevision",
                    f"still of a revision older than {observation.revision}",
                )
            )
            # Nothing of an older revision is remembered for the new one.
            resource_memory[ref.key] = ResourceMemory(
                pods=memory.resources.get(ref.key, ResourceMemory()).pods
            )
            continue
        evaluation = evaluate_resource(
            ref,
            objects.get(ref),
            evidence=evidence,
            memory=memory.resources.get(ref.key),
            ctx=ctx,
            now=now,
            thresholds=thresholds,
            final_state=observation.departed.get(ref),
        )
        statuses.append(evaluation.status)
        resource_memory[ref.key] = evaluation.memory
        recheck_at = earliest(recheck_at, evaluation.recheck_at)
    return _ResourceEvaluations(statuses, resource_memory, recheck_at)


_EVIDENCE_KINDS = frozenset({("v1", "Pod"), ("apps/v1", "ReplicaSet")})


def _with_inventory_evidence(observation: EnvironmentObservation) -> Mapping[ObjectRef, Obj]:
    """The present objects, plus any Pod or ReplicaSet of the inventory that adapters handed
    over as evidence only, so a bare Pod in the inventory is judged by its own rule."""
    wanted = {
        ref for ref in observation.inventory if (ref.api_version, ref.kind) in _EVIDENCE_KINDS
    }
    if not wanted:
        return observation.objects
    objects = dict(observation.objects)
    for obj in (*observation.pods, *observation.replicasets):
        try:
            ref = ObjectRef.from_object(obj)
        except ValueError:
            continue
        if ref in wanted:
            objects.setdefault(ref, obj)
    return objects


def _deletion(observation: EnvironmentObservation, statuses: list[ResourceStatus]) -> _Decision:
    """Rule 1: `deleting`, fully deleted once no object is left and the namespace is gone."""
    remaining = [s for s in statuses if s.state is not ResourceState.NOT_FOUND]
    gone = not remaining and observation.namespace_exists is False
    message = f"{len(remaining)} objects remaining" if remaining else "objects deleted"
    return _Decision(EnvironmentStatus.DELETING, "Deleting", message, fully_deleted=gone)


def _failure(
    observation: EnvironmentObservation, statuses: list[ResourceStatus]
) -> _Decision | None:
    """Rules 3 and 4: a deployer error, else the first failed resource; None if neither."""
    if observation.deployer_error is not None:
        return _Decision(EnvironmentStatus.FAILED, "ApplyFailed", observation.deployer_error)
    failed = next((s for s in statuses if s.state is ResourceState.FAILED), None)
    if failed is not None:
        return _Decision(EnvironmentStatus.FAILED, failed.reason, _describe(failed))
    return None


def _not_running(
    observation: EnvironmentObservation,
    memory: EnvironmentMemory,
    statuses: list[ResourceStatus],
    recheck_at: datetime | None,
    *,
    now: datetime,
    thresholds: StatusThresholds,
) -> _Decision:
    """Rules 5 to 9 for an environment that is not all Current: a context timeout that has
    passed fails it; otherwise `starting` with the first reason that applies, or `running`
    held through the BLIP window."""
    not_current_since = memory.not_current_since or now
    timeout = _context_timeout(observation.lifecycle, memory, not_current_since, thresholds)
    if timeout is not None:
        if now >= timeout.deadline:
            message = f"not running {timeout.limit} after {timeout.started.isoformat()}"
            return _Decision(EnvironmentStatus.FAILED, timeout.reason, message)
        recheck_at = earliest(recheck_at, timeout.deadline)

    reason, message = _starting_reason(observation, statuses)
    blip_ends = not_current_since + thresholds.blip
    if observation.previous_status is EnvironmentStatus.RUNNING and now < blip_ends:
        held = now - not_current_since
        return _Decision(
            EnvironmentStatus.RUNNING,
            "AllResourcesCurrent",
            f"holding running for {held} (BLIP): {message}",
            earliest(recheck_at, blip_ends),
        )
    return _Decision(EnvironmentStatus.STARTING, reason, message, recheck_at)


def _starting_reason(
    observation: EnvironmentObservation, statuses: list[ResourceStatus]
) -> tuple[str, str]:
    """Rules 6, 7 and 9: why the environment is not running yet (reason, message)."""
    unknown = next((s for s in statuses if s.state is ResourceState.UNKNOWN), None)
    if unknown is not None:
        return "ResourceStatusUnknown", _describe(unknown)
    if not observation.apply_confirmed:
        return "ApplyPending", "waiting for the deployer to apply the new revision"
    if not statuses:
        return "NoInventory", "nothing applied yet"
    first = next(s for s in statuses if s.state is not ResourceState.CURRENT)
    return first.reason, _describe(first)


__all__ = [
    "EnvironmentObservation",
    "Verdict",
    "evaluate_environment",
    "failure_order",
]
