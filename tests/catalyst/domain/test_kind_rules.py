"""Rules of kinds without a rule of their own (status-rules.md, "Every other kind"): the
status-less kinds are Current once they exist, HPAs and CronJobs get kstatus's rules, and
any other kind, custom resources included, gets kstatus's generic rules. Plus the two
inventory cases the watcher must not misjudge: a bare Pod is judged by its own rule, and a
completed Job deleted before any evaluation saw it complete counts as done."""

from __future__ import annotations

from typing import Any

import pytest

from catalyst.domain import (
    EnvironmentMemory,
    EnvironmentObservation,
    EnvironmentStatus,
    EvidenceIndex,
    Lifecycle,
    ObjectRef,
    ResourceMemory,
    ResourceState,
    RuleContext,
    evaluate_environment,
    evaluate_resource,
)
from catalyst.domain.resource_rules import judged_by_existence
from tests.support.factories import NAMESPACE, NOW, THRESHOLDS, complete_job, cond, job, pod

CURRENT = ResourceState.CURRENT
IN_PROGRESS = ResourceState.IN_PROGRESS
FAILED = ResourceState.FAILED

Obj = dict[str, Any]


def obj(
    api_version: str,
    kind: str,
    *,
    generation: int | None = None,
    status: Obj | None = None,
    metadata_only: bool = False,
) -> Obj:
    meta: Obj = {"name": "x", "namespace": NAMESPACE, "uid": f"uid-{kind}"}
    if generation is not None:
        meta["generation"] = generation
    result: Obj = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    if status is not None and not metadata_only:
        result["status"] = status
    return result


def state_of(o: Obj, *, lifecycle: Lifecycle = Lifecycle.STEADY) -> tuple[ResourceState, str]:
    evaluation = evaluate_resource(
        ObjectRef.from_object(o),
        o,
        evidence=EvidenceIndex((), ()),
        memory=None,
        ctx=RuleContext(lifecycle=lifecycle),
        now=NOW,
        thresholds=THRESHOLDS,
    )
    return evaluation.status.state, evaluation.status.reason


STATUS_LESS = [
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("batch/v1", "CronJob"),
    ("networking.k8s.io/v1", "Ingress"),
]


@pytest.mark.parametrize(("api_version", "kind"), STATUS_LESS)
def test_status_less_kinds_are_current_once_they_exist_even_as_metadata(
    api_version: str, kind: str
) -> None:
    assert judged_by_existence(api_version, kind)
    present = obj(api_version, kind, generation=3, metadata_only=True)
    assert state_of(present)[0] is CURRENT


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("policy/v1", "PodDisruptionBudget"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("apps/v1", "Deployment"),
        ("v1", "Service"),
        ("v1", "Pod"),
        ("example.com/v1", "Widget"),
    ],
)
def test_kinds_judged_by_their_status_are_read_whole(api_version: str, kind: str) -> None:
    assert not judged_by_existence(api_version, kind)


# (row, object, expected state, expected reason) — the table of status-rules.md.
HPA = ("autoscaling/v2", "HorizontalPodAutoscaler")
PDB = ("policy/v1", "PodDisruptionBudget")
CR = ("example.com/v1", "Widget")
ROWS = [
    ("HPA observed", obj(*HPA, generation=2, status={"observedGeneration": 2}), CURRENT, ""),
    (
        "HPA generation not observed",
        obj(*HPA, generation=2, status={"observedGeneration": 1}),
        IN_PROGRESS,
        "LatestGenerationNotObserved",
    ),
    (
        "HPA ScalingActive=False is not a readiness signal",
        obj(*HPA, status={"conditions": [cond("ScalingActive", "False", "FailedGetMetrics")]}),
        CURRENT,
        "",
    ),
    ("HPA no status yet", obj(*HPA, generation=1), CURRENT, ""),
    (
        "PDB generation not observed",
        obj(*PDB, generation=2, status={"observedGeneration": 1}),
        IN_PROGRESS,
        "LatestGenerationNotObserved",
    ),
    ("PDB observed", obj(*PDB, generation=1, status={"observedGeneration": 1}), CURRENT, ""),
    ("CR without status", obj(*CR, generation=1), CURRENT, ""),
    (
        "CR generation not observed",
        obj(*CR, generation=2, status={"observedGeneration": 1}),
        IN_PROGRESS,
        "LatestGenerationNotObserved",
    ),
    (
        "CR without observedGeneration skips the check (lenient, like kstatus)",
        obj(*CR, generation=2, status={"conditions": [cond("Ready")]}),
        CURRENT,
        "",
    ),
    ("CR Ready=True", obj(*CR, status={"conditions": [cond("Ready")]}), CURRENT, ""),
    (
        "CR Ready=False",
        obj(*CR, status={"conditions": [cond("Ready", "False", "Waiting")]}),
        IN_PROGRESS,
        "NotReady",
    ),
    (
        "CR Ready=Unknown",
        obj(*CR, status={"conditions": [cond("Ready", "Unknown")]}),
        IN_PROGRESS,
        "NotReady",
    ),
    (
        "CR Reconciling=True",
        obj(*CR, status={"conditions": [cond("Reconciling"), cond("Ready")]}),
        IN_PROGRESS,
        "Reconciling",
    ),
    (
        "CR Stalled=True",
        obj(*CR, status={"conditions": [cond("Stalled", reason="BadSpec"), cond("Ready")]}),
        FAILED,
        "Stalled",
    ),
    (
        "CR conditions without Ready",
        obj(*CR, status={"conditions": [cond("Synced")]}),
        CURRENT,
        "",
    ),
]


@pytest.mark.parametrize(("row", "o", "state", "reason"), ROWS, ids=[row[0] for row in ROWS])
def test_kind_rule_table(row: str, o: Obj, state: ResourceState, reason: str) -> None:
    got_state, got_reason = state_of(o)
    assert got_state is state
    if reason:
        assert got_reason == reason


def _observation(inventory: list[ObjectRef], **kwargs: Any) -> EnvironmentObservation:
    return EnvironmentObservation(
        lifecycle=Lifecycle.CREATING, inventory=inventory, revision=1, **kwargs
    )


def test_a_bare_pod_in_the_inventory_is_judged_by_its_own_rule_from_the_evidence() -> None:
    ready = pod("tool", None)
    ref = ObjectRef.from_object(ready)
    verdict, _ = evaluate_environment(
        _observation([ref], pods=[ready]), None, now=NOW, thresholds=THRESHOLDS
    )
    assert verdict.status is EnvironmentStatus.RUNNING
    failed = pod("tool", None, phase="Failed", ready=False, reason="Error")
    verdict, _ = evaluate_environment(
        _observation([ref], pods=[failed]), None, now=NOW, thresholds=THRESHOLDS
    )
    assert (verdict.status, verdict.reason) == (EnvironmentStatus.FAILED, "PodFailed")


def test_a_job_deleted_after_completing_unseen_counts_as_done_for_its_revision() -> None:
    final = complete_job("install")
    ref = ObjectRef.from_object(final)
    seen_running = {ref.key: ResourceMemory(seen=True, last_state="InProgress")}
    # First seen running, then deleted by its TTL before an evaluation saw it complete.
    memory = EnvironmentMemory(revision=1, lifecycle="creating", resources=seen_running)
    verdict, memory = evaluate_environment(
        _observation([ref], departed={ref: final}), memory, now=NOW, thresholds=THRESHOLDS
    )
    assert (verdict.status, verdict.reason) == (EnvironmentStatus.RUNNING, "AllResourcesCurrent")
    assert memory.resources[ref.key].completed
    # Remembered: later evaluations need the final state no more.
    later = NOW + THRESHOLDS.missing * 2
    verdict, _ = evaluate_environment(_observation([ref]), memory, now=later, thresholds=THRESHOLDS)
    assert verdict.status is EnvironmentStatus.RUNNING


def test_a_deleted_job_that_had_not_completed_is_missing() -> None:
    running = job("install", active=1)
    ref = ObjectRef.from_object(running)
    evaluation = evaluate_resource(
        ref,
        None,
        evidence=EvidenceIndex((), ()),
        memory=ResourceMemory(seen=True),
        ctx=RuleContext(lifecycle=Lifecycle.CREATING),
        now=NOW,
        thresholds=THRESHOLDS,
        final_state=running,
    )
    assert (evaluation.status.state, evaluation.status.reason) == (IN_PROGRESS, "ResourceMissing")
    assert not evaluation.memory.completed
