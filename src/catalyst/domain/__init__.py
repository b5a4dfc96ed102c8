"""Catalyst's domain layer: environment status as pure code (docs status-spec.md).

No I/O, no asyncio, no imports from other catalyst packages. Every function takes `now`
explicitly, so callers (the watcher, `latestStatus=1`, the reaper) and tests control time.

Public API (re-exported here):

Values (`model`, `thresholds`)
    EnvironmentStatus, FailureKind, Lifecycle, Operation, ResourceState: `StrEnum`s whose
    values are the fixed strings of docs/dev/catalyst-internals.md.
    ObjectRef(api_version, kind, namespace, name); ObjectRef.from_object(obj); .key
    ResourceStatus(ref, state, reason, message)
    StatusThresholds(unsched=5m, image=5m, config=2m, crash_n=3, crash_t=5m, missing=2m,
        blip=60s, create_timeout=30m, rebuild_timeout=30m, notready_timeout=15m, stale=2m,
        expiry=3d)

Memory (`memory`): what the rules remember between evaluations; JSON round-trip.
    EnvironmentMemory.from_json(data) / .to_json() / .shifted(by)

Per-resource rules (`resource_rules`)
    evaluate_resource(ref, obj | None, *, evidence: EvidenceIndex, memory, ctx: RuleContext,
        now, thresholds) -> ResourceEvaluation(status, memory, recheck_at)

Aggregation (`aggregation`)
    evaluate_environment(observation: EnvironmentObservation, memory, *, now, thresholds)
        -> (Verdict(status, reason, message, resources, next_evaluation_at, fully_deleted),
            EnvironmentMemory)

State machine (`lifecycle`)
    EnvironmentState(status, reason, message, lifecycle, status_since, failure_kind,
        failed_at, expires_at, ever_running)
    created(now) -> EnvironmentState
    rebuild_requested(state, now) -> StateChange
    delete_requested(state, now) -> StateChange | None
    apply_failed(state, error, now, *, thresholds=None) -> StateChange | None
    observe(state, verdict, now, thresholds, *, stale=False) -> StateChange | None
    resume_after_stale(state, stale_for) -> EnvironmentState
    StateChange(before, after).from_status / .status_changed

Expiry (`expiry`)
    ExpiryPolicy().is_reapable(state, now, *, stale) -> bool; .reap_due_at(state)

Typical use by the status sync:
    verdict, memory = evaluate_environment(observation, EnvironmentMemory.from_json(row.memory),
                                           now=now, thresholds=thresholds)
    change = observe(state, verdict, now, thresholds, stale=False)
    store memory.to_json() always; store change.after (+ a status_changes row) if change;
    schedule a re-evaluation at verdict.next_evaluation_at.
"""

from __future__ import annotations

from catalyst.domain.aggregation import EnvironmentObservation, Verdict, evaluate_environment
from catalyst.domain.evidence import EvidenceIndex
from catalyst.domain.expiry import ExpiryPolicy
from catalyst.domain.lifecycle import (
    EnvironmentState,
    LifecycleError,
    StateChange,
    apply_failed,
    created,
    delete_requested,
    failure_kind_for,
    observe,
    rebuild_requested,
    resume_after_stale,
)
from catalyst.domain.memory import (
    ContainerMemory,
    EnvironmentMemory,
    PodMemory,
    ResourceMemory,
)
from catalyst.domain.model import (
    EnvironmentStatus,
    FailureKind,
    Lifecycle,
    ObjectRef,
    Operation,
    ResourceState,
    ResourceStatus,
)
from catalyst.domain.resource_rules import ResourceEvaluation, RuleContext, evaluate_resource
from catalyst.domain.thresholds import StatusThresholds

__all__ = [
    "ContainerMemory",
    "EnvironmentMemory",
    "EnvironmentObservation",
    "EnvironmentState",
    "EnvironmentStatus",
    "EvidenceIndex",
    "ExpiryPolicy",
    "FailureKind",
    "Lifecycle",
    "LifecycleError",
    "ObjectRef",
    "Operation",
    "PodMemory",
    "ResourceEvaluation",
    "ResourceMemory",
    "ResourceState",
    "ResourceStatus",
    "RuleContext",
    "StateChange",
    "StatusThresholds",
    "Verdict",
    "apply_failed",
    "created",
    "delete_requested",
    "evaluate_environment",
    "evaluate_resource",
    "failure_kind_for",
    "observe",
    "rebuild_requested",
    "resume_after_stale",
]
