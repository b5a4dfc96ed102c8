"""Per-resource rules (§6.3, §6.5) checked one object at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from catalyst.domain import (
    EvidenceIndex,
    Lifecycle,
    ObjectRef,
    ResourceEvaluation,
    ResourceMemory,
    ResourceState,
    RuleContext,
    evaluate_resource,
)
from tests.support.factories import (
    NOW,
    THRESHOLDS,
    cond,
    container,
    deployment,
    job,
    not_ready_deployment,
    pod,
    replicaset,
    service,
    statefulset,
)

S = timedelta(seconds=1)
M = timedelta(minutes=1)
CURRENT = ResourceState.CURRENT
IN_PROGRESS = ResourceState.IN_PROGRESS
FAILED = ResourceState.FAILED


def evaluate(
    obj: dict[str, Any],
    *,
    pods: Sequence[dict[str, Any]] = (),
    replicasets: Sequence[dict[str, Any]] = (),
    memory: ResourceMemory | None = None,
    at: datetime = NOW,
    lifecycle: Lifecycle = Lifecycle.STEADY,
    require_lb_address: bool = False,
) -> ResourceEvaluation:
    return evaluate_resource(
        ObjectRef.from_object(obj),
        obj,
        evidence=EvidenceIndex(pods, replicasets),
        memory=memory,
        ctx=RuleContext(lifecycle=lifecycle, require_lb_address=require_lb_address),
        now=at,
        thresholds=THRESHOLDS,
    )


def crashing_web_pod(rs: dict[str, Any], restarts: int, *, ready: bool = False, **kw: Any):
    waiting = None if ready else kw.pop("waiting", "CrashLoopBackOff")
    c = container(ready=ready, restarts=restarts, waiting=waiting)
    return pod("web-1", rs, ready=ready, containers=[c], **kw)


class TestCrashLoop:
    def test_restarts_count_from_the_last_ready_baseline(self) -> None:
        dep = not_ready_deployment()
        rs = replicaset(dep)
        first = evaluate(dep, pods=[crashing_web_pod(rs, 7, ready=True)], replicasets=[rs])
        memory = first.memory
        for restarts, expected in ((8, IN_PROGRESS), (9, IN_PROGRESS), (10, FAILED)):
            result = evaluate(
                dep, pods=[crashing_web_pod(rs, restarts)], replicasets=[rs], memory=memory, at=NOW
            )
            memory = result.memory
            assert result.status.state is expected, restarts

    def test_episode_longer_than_crash_t_fails_with_few_restarts(self) -> None:
        dep = not_ready_deployment()
        rs = replicaset(dep)
        result = evaluate(dep, pods=[crashing_web_pod(rs, 1)], replicasets=[rs])
        assert result.status.state is IN_PROGRESS
        assert result.recheck_at == NOW + THRESHOLDS.crash_t
        # Between back-offs the container runs briefly: still the same episode.
        running = pod("web-1", rs, ready=False, containers=[container(ready=False, restarts=2)])
        result = evaluate(dep, pods=[running], replicasets=[rs], memory=result.memory, at=NOW + M)
        assert result.status.state is IN_PROGRESS
        result = evaluate(
            dep,
            pods=[crashing_web_pod(rs, 2)],
            replicasets=[rs],
            memory=result.memory,
            at=NOW + THRESHOLDS.crash_t,
        )
        assert result.status.state is FAILED
        assert result.status.reason == "CrashLoopBackOff"

    def test_a_failed_crash_loop_stays_failed_while_the_container_runs_between_backoffs(
        self,
    ) -> None:
        dep = not_ready_deployment()
        rs = replicaset(dep)
        result = evaluate(dep, pods=[crashing_web_pod(rs, THRESHOLDS.crash_n)], replicasets=[rs])
        assert result.status.state is FAILED
        # The kubelet restarts it: running, not Ready, no waiting reason for a moment.
        running = pod(
            "web-1",
            rs,
            ready=False,
            containers=[container(ready=False, restarts=THRESHOLDS.crash_n + 1)],
        )
        result = evaluate(dep, pods=[running], replicasets=[rs], memory=result.memory, at=NOW + M)
        assert result.status.state is FAILED
        assert result.status.reason == "CrashLoopBackOff"
        # A short Ready run does not end it (kubelet's back-off is not reset either)...
        ready = crashing_web_pod(rs, THRESHOLDS.crash_n + 1, ready=True)
        started = (NOW + M).isoformat()
        ready["status"]["containerStatuses"][0]["state"] = {"running": {"startedAt": started}}
        result = evaluate(dep, pods=[ready], replicasets=[rs], memory=result.memory, at=NOW + M)
        assert result.status.state is FAILED
        # ...only staying Ready for the crash window does.
        stable = NOW + M + THRESHOLDS.crash_window
        result = evaluate(dep, pods=[ready], replicasets=[rs], memory=result.memory, at=stable)
        assert result.status.state is not FAILED

    def test_init_container_crash_loop_counts(self) -> None:
        dep = not_ready_deployment()
        rs = replicaset(dep)
        init = container("migrate", ready=False, restarts=4, waiting="CrashLoopBackOff")
        p = pod("web-1", rs, phase="Pending", ready=False, init_containers=[init], containers=[])
        result = evaluate(dep, pods=[p], replicasets=[rs])
        assert result.status.state is FAILED
        assert "init:migrate" in result.status.message

    def test_ready_deployment_is_not_escalated_by_a_crashing_pod(self) -> None:
        dep = deployment()
        rs = replicaset(dep)
        result = evaluate(dep, pods=[crashing_web_pod(rs, 9)], replicasets=[rs])
        assert result.status.state is CURRENT
        assert result.recheck_at is None


class TestEvidenceAttribution:
    def test_only_pods_of_the_newest_replicaset_count(self) -> None:
        dep = not_ready_deployment(revision="2")
        old = replicaset(dep, revision="1")
        new = replicaset(dep, revision="2")
        old_pod = crashing_web_pod(old, 9)
        result = evaluate(dep, pods=[old_pod], replicasets=[old, new])
        assert result.status.state is IN_PROGRESS
        result = evaluate(dep, pods=[crashing_web_pod(new, 9)], replicasets=[old, new])
        assert result.status.state is FAILED

    def test_pods_being_deleted_are_skipped(self) -> None:
        dep = not_ready_deployment()
        rs = replicaset(dep)
        result = evaluate(dep, pods=[crashing_web_pod(rs, 9, deleting=True)], replicasets=[rs])
        assert result.status.state is IN_PROGRESS

    def test_statefulset_pods_escalate(self) -> None:
        sts = statefulset(ready=0)
        p = pod("db-0", sts, phase="Pending", ready=False, containers=[], unschedulable=True)
        first = evaluate(sts, pods=[p])
        assert first.status.state is IN_PROGRESS
        assert first.recheck_at == NOW + THRESHOLDS.unsched
        later = evaluate(sts, pods=[p], memory=first.memory, at=NOW + THRESHOLDS.unsched)
        assert later.status.state is FAILED
        assert later.status.reason == "Unschedulable"

    def test_pod_memory_is_forgotten_when_the_pod_goes(self) -> None:
        dep = not_ready_deployment()
        rs = replicaset(dep)
        first = evaluate(dep, pods=[crashing_web_pod(rs, 1)], replicasets=[rs])
        assert first.memory.pods
        assert evaluate(dep, replicasets=[rs], memory=first.memory).memory.pods == {}

    def test_node_lost_pod_is_not_a_failure(self) -> None:
        dep = not_ready_deployment()
        rs = replicaset(dep)
        lost = pod("web-1", rs, phase="Unknown", ready=False, containers=[])
        assert evaluate(dep, pods=[lost], replicasets=[rs]).status.state is IN_PROGRESS


class TestJob:
    def test_crashing_job_pod_is_left_to_backoff_limit(self) -> None:
        j = job(active=1)
        crashing = pod(
            "install-x",
            j,
            ready=False,
            containers=[container(ready=False, restarts=5, waiting="CrashLoopBackOff")],
        )
        assert evaluate(j, pods=[crashing]).status.state is IN_PROGRESS

    def test_job_pod_stuck_pulling_its_image_fails_the_job(self) -> None:
        j = job(active=1)
        pulling = pod(
            "install-x",
            j,
            phase="Pending",
            ready=False,
            containers=[container(ready=False, waiting="ErrImagePull")],
        )
        first = evaluate(j, pods=[pulling])
        assert first.status.state is IN_PROGRESS
        later = evaluate(j, pods=[pulling], memory=first.memory, at=NOW + THRESHOLDS.image)
        assert later.status.state is FAILED
        assert later.status.reason == "ErrImagePull"

    def test_completion_is_remembered(self) -> None:
        result = evaluate(job(conditions=[cond("SuccessCriteriaMet")]))
        assert result.status.state is CURRENT
        assert result.memory.completed is True


class TestBarePod:
    @pytest.mark.parametrize(
        ("phase", "ready", "expected"),
        [
            ("Succeeded", False, CURRENT),
            ("Failed", False, FAILED),
            ("Running", True, CURRENT),
            ("Running", False, IN_PROGRESS),
            ("Pending", False, IN_PROGRESS),
        ],
    )
    def test_phases(self, phase: str, ready: bool, expected: ResourceState) -> None:
        containers = [container(ready=ready)]
        assert (
            evaluate(pod("p", None, phase=phase, ready=ready, containers=containers)).status.state
            is expected
        )

    def test_crash_looping_bare_pod_fails_after_crash_n(self) -> None:
        p = pod(
            "p",
            None,
            ready=False,
            containers=[container(ready=False, restarts=3, waiting="CrashLoopBackOff")],
        )
        assert evaluate(p).status.state is FAILED


class TestControllersAndOthers:
    def test_missing_observed_generation_is_in_progress_for_workloads(self) -> None:
        dep = deployment(observed=None)
        assert evaluate(dep).status.reason == "LatestGenerationNotObserved"

    def test_stalled_and_reconciling_conditions(self) -> None:
        crd: dict[str, Any] = {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "status": {"conditions": [cond("Stalled")]},
        }
        assert evaluate(crd).status.state is FAILED
        crd["status"]["conditions"] = [cond("Reconciling")]
        assert evaluate(crd).status.state is IN_PROGRESS

    @pytest.mark.parametrize(
        ("conditions", "expected"),
        [
            ([], CURRENT),
            ([cond("Ready", "False")], IN_PROGRESS),
            ([cond("Ready", "Unknown")], IN_PROGRESS),
            ([cond("Ready")], CURRENT),
        ],
    )
    def test_other_kinds_by_ready_condition(self, conditions, expected) -> None:
        crd: dict[str, Any] = {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "status": {"conditions": conditions},
        }
        assert evaluate(crd).status.state is expected

    def test_config_kinds_are_current_when_present(self) -> None:
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
        assert evaluate(cm).status.state is CURRENT

    @pytest.mark.parametrize(
        ("require", "ingress", "expected"),
        [(False, None, CURRENT), (True, None, IN_PROGRESS), (True, [{"ip": "1.2.3.4"}], CURRENT)],
    )
    def test_load_balancer_service(self, require, ingress, expected) -> None:
        svc = service(type_="LoadBalancer", lb_ingress=ingress)
        assert evaluate(svc, require_lb_address=require).status.state is expected

    def test_statefulset_partition_rollout(self) -> None:
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
        sts = statefulset(replicas=3, updated=0, update_revision="db-2", strategy=strategy)
        assert evaluate(sts).status.state is IN_PROGRESS
        sts = statefulset(replicas=3, updated=1, update_revision="db-2", strategy=strategy)
        assert evaluate(sts).status.state is CURRENT

    def test_statefulset_on_delete_still_checks_ready(self) -> None:
        sts = statefulset(ready=0, strategy={"type": "OnDelete"})
        assert evaluate(sts).status.state is IN_PROGRESS

    def test_daemonset(self) -> None:
        ds: dict[str, Any] = {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "d", "generation": 1, "uid": "uid-ds"},
            "status": {"observedGeneration": 1},
        }
        assert evaluate(ds).status.reason == "NoDesiredNumber"
        ds["status"] = {
            "observedGeneration": 1,
            "desiredNumberScheduled": 2,
            "currentNumberScheduled": 2,
            "updatedNumberScheduled": 2,
            "numberAvailable": 1,
            "numberReady": 2,
        }
        assert evaluate(ds).status.reason == "LessAvailable"
        ds["status"]["numberAvailable"] = 2
        assert evaluate(ds).status.state is CURRENT

    def test_replicaset_failure_is_in_progress(self) -> None:
        rs = replicaset(deployment(), revision="1")
        rs["spec"] = {"replicas": 1}
        rs["status"] = {"conditions": [cond("ReplicaFailure", reason="FailedCreate")]}
        assert evaluate(rs).status.reason == "ReplicaFailure"

    def test_deployment_without_deadline_needs_only_available(self) -> None:
        dep = deployment(conditions=[cond("Available")])
        assert evaluate(dep).status.state is IN_PROGRESS  # deadline set, rollout not confirmed
        del dep["spec"]["progressDeadlineSeconds"]
        assert evaluate(dep).status.state is CURRENT


class TestAbsence:
    def absent(
        self,
        memory: ResourceMemory | None,
        lifecycle: Lifecycle,
        *,
        deleting=False,
        at: datetime = NOW,
    ) -> ResourceEvaluation:
        return evaluate_resource(
            ObjectRef("apps/v1", "Deployment", "env-1", "web"),
            None,
            evidence=EvidenceIndex(),
            memory=memory,
            ctx=RuleContext(lifecycle=lifecycle, deletion_requested=deleting),
            now=at,
            thresholds=THRESHOLDS,
        )

    def test_never_seen_while_creating_is_not_created_yet(self) -> None:
        result = self.absent(None, Lifecycle.CREATING)
        assert (result.status.state, result.status.reason) == (IN_PROGRESS, "NotCreatedYet")
        assert result.recheck_at is None

    def test_never_seen_in_steady_state_counts_as_missing(self) -> None:
        result = self.absent(None, Lifecycle.STEADY)
        assert result.status.reason == "ResourceMissing"
        assert result.recheck_at == NOW + THRESHOLDS.missing

    def test_deleted_on_request_is_not_found(self) -> None:
        result = self.absent(ResourceMemory(seen=True), Lifecycle.DELETING, deleting=True)
        assert result.status.state is ResourceState.NOT_FOUND

    def test_missing_clock_survives_between_evaluations(self) -> None:
        first = self.absent(ResourceMemory(seen=True), Lifecycle.CREATING)
        assert first.memory.missing_since == NOW
        later = self.absent(first.memory, Lifecycle.CREATING, at=NOW + THRESHOLDS.missing)
        assert later.status.state is FAILED
