"""Section 7 of status-spec.md, row by row: the case number is in each test id.

Each case starts from the healthy MediaWiki environment in context C/S/R/D, changes one
thing, holds that change for the stated time (evaluated at NOW - held_for and at NOW, as
the watcher would on events and timers), and checks the resource's state and the
environment's status / failure kind / expiry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from catalyst.domain import EnvironmentStatus, FailureKind, Lifecycle, ResourceState
from tests.support.factories import (
    NOW,
    THRESHOLDS,
    HealthyEnvironment,
    Session,
    cond,
    container,
    deployment,
    job,
    not_ready_deployment,
    pod,
    pvc,
    replicaset,
    service,
    statefulset,
)

RUNNING = EnvironmentStatus.RUNNING
STARTING = EnvironmentStatus.STARTING
FAILED = EnvironmentStatus.FAILED
DELETING = EnvironmentStatus.DELETING
CURRENT = ResourceState.CURRENT
IN_PROGRESS = ResourceState.IN_PROGRESS
FAILED_R = ResourceState.FAILED


@dataclass(frozen=True)
class Case:
    number: str
    context: str
    change: Callable[[HealthyEnvironment], None]
    kind: str | None
    resource_state: ResourceState | None
    status: EnvironmentStatus
    failure_kind: FailureKind | None = None
    expires: bool = False
    held_for: timedelta = timedelta(0)
    before: Callable[[HealthyEnvironment], None] | None = None
    """Applied instead of `change` for the earlier evaluation (alternating states)."""


def nothing(env: HealthyEnvironment) -> None:
    pass


def web_pod_broken(env: HealthyEnvironment, **pod_kwargs: object) -> None:
    env.set_deployment(not_ready_deployment("web"))
    env.set_web_pod(pod("web-1", None, **pod_kwargs))  # type: ignore[arg-type]


def deadline_exceeded(env: HealthyEnvironment) -> None:
    env.set_deployment(
        deployment(
            "web",
            ready=0,
            available=0,
            conditions=[
                cond("Available", "False", "MinimumReplicasUnavailable"),
                cond("Progressing", "False", "ProgressDeadlineExceeded", "timed out"),
            ],
        )
    )


def crash_looping(restarts: int) -> Callable[[HealthyEnvironment], None]:
    def change(env: HealthyEnvironment) -> None:
        waiting = container(ready=False, restarts=restarts, waiting="CrashLoopBackOff")
        web_pod_broken(env, ready=False, containers=[waiting])

    return change


def waiting_pod(reason: str, phase: str = "Pending") -> Callable[[HealthyEnvironment], None]:
    def change(env: HealthyEnvironment) -> None:
        waiting = container(ready=False, waiting=reason)
        web_pod_broken(env, phase=phase, ready=False, containers=[waiting])

    return change


def unschedulable(env: HealthyEnvironment) -> None:
    web_pod_broken(env, phase="Pending", ready=False, containers=[], unschedulable=True)


def restarted_after_oom(env: HealthyEnvironment) -> None:
    oom = {"reason": "OOMKilled", "exitCode": 137, "finishedAt": "2026-11-25T09:00:00Z"}
    env.set_web_pod(pod("web-1", None, containers=[container(restarts=7, last_terminated=oom)]))


def running_after_crash(env: HealthyEnvironment) -> None:
    crashed = {"reason": "Error", "exitCode": 1, "finishedAt": "2026-11-25T09:59:00Z"}
    running = container(ready=False, restarts=1, last_terminated=crashed)
    web_pod_broken(env, ready=False, containers=[running])


def evicted_pods_ignored(env: HealthyEnvironment) -> None:
    old = replicaset(env.objects["deployment"], revision="0", name="web-old")
    env.replicasets.insert(0, old)
    env.pods.append(pod("web-old-1", old, phase="Failed", ready=False, reason="Evicted"))
    evicted_new = pod("web-2", env.newest_replicaset, phase="Failed", ready=False)
    evicted_new["status"]["reason"] = "Evicted"
    env.pods.append(evicted_new)


def set_job(**kwargs: object) -> Callable[[HealthyEnvironment], None]:
    def change(env: HealthyEnvironment) -> None:
        env.objects["job"] = job("install", **kwargs)  # type: ignore[arg-type]

    return change


def cronjob_job_failed(env: HealthyEnvironment) -> None:
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "maintenance", "namespace": "env-1", "uid": "uid-cron"},
    }
    failed = job("maintenance-1", conditions=[cond("Failed", reason="BackoffLimitExceeded")])
    failed["metadata"]["ownerReferences"] = [{"kind": "CronJob", "uid": "uid-cron"}]
    env.extra_objects.append(failed)
    env.pods.append(pod("maintenance-1-x", failed, phase="Failed", ready=False))
    assert cronjob["kind"] == "CronJob"


def set_role(role: str, obj: dict[str, object]) -> Callable[[HealthyEnvironment], None]:
    def change(env: HealthyEnvironment) -> None:
        if role == "statefulset":
            env.set_statefulset(obj)
        else:
            env.objects[role] = obj

    return change


def lb_without_address(env: HealthyEnvironment) -> None:
    env.objects["service"] = service("web", type_="LoadBalancer")
    env.require_lb_address = True


def terminating_on_delete(env: HealthyEnvironment) -> None:
    for role in ("deployment", "pvc"):
        env.objects[role]["metadata"]["deletionTimestamp"] = "2026-11-25T09:59:30Z"
        env.objects[role]["metadata"]["finalizers"] = ["kubernetes.io/pvc-protection"]


def all_gone(env: HealthyEnvironment) -> None:
    env.absent = set(env.objects)
    env.pods.clear()
    env.replicasets.clear()
    env.namespace_exists = False


def apply_error(env: HealthyEnvironment) -> None:
    env.deployer_error = "admission webhook denied the request"


def set_deployment(**kwargs: object) -> Callable[[HealthyEnvironment], None]:
    def change(env: HealthyEnvironment) -> None:
        env.set_deployment(deployment("web", **kwargs))  # type: ignore[arg-type]

    return change


def image_pull(reason: str) -> Callable[[HealthyEnvironment], None]:
    return waiting_pod(reason)


minutes = timedelta(minutes=1)
seconds = timedelta(seconds=1)
PAUSED_CONDITIONS = [
    cond("Available", "True", "MinimumReplicasAvailable"),
    cond("Progressing", "Unknown", "DeploymentPaused"),
]
QUOTA_CONDITIONS = [
    cond("ReplicaFailure", "True", "FailedCreate", "exceeded quota"),
    cond("Progressing", "True", "ReplicaSetUpdated"),
    cond("Available", "False", "MinimumReplicasUnavailable"),
]

CASES = [
    Case("1", "C", nothing, "Deployment", CURRENT, RUNNING),
    Case("2", "C", set_deployment(generation=2, observed=1), "Deployment", IN_PROGRESS, STARTING),
    Case("4", "C", deadline_exceeded, "Deployment", FAILED_R, FAILED, FailureKind.CREATION, True),
    Case("5", "R", deadline_exceeded, "Deployment", FAILED_R, FAILED, FailureKind.REBUILD),
    Case(
        "6",
        "R",
        set_deployment(replicas=2, status_replicas=3, updated=2, ready=2, available=2),
        "Deployment",
        IN_PROGRESS,
        STARTING,
    ),
    Case(
        "10",
        "S",
        set_deployment(paused=True, conditions=PAUSED_CONDITIONS),
        "Deployment",
        CURRENT,
        RUNNING,
    ),
    Case(
        "11",
        "C",
        set_deployment(
            status_replicas=0, updated=0, ready=0, available=0, conditions=QUOTA_CONDITIONS
        ),
        "Deployment",
        IN_PROGRESS,
        STARTING,
        held_for=2 * minutes,
    ),
    Case("15", "C", lambda env: env.absent.add("job"), "Job", IN_PROGRESS, STARTING),
    Case("16", "C", crash_looping(1), "Deployment", IN_PROGRESS, STARTING),
    Case("17", "C", crash_looping(3), "Deployment", FAILED_R, FAILED, FailureKind.CREATION, True),
    Case("20", "S", restarted_after_oom, "Deployment", CURRENT, RUNNING),
    Case("21", "C", running_after_crash, "Deployment", IN_PROGRESS, STARTING),
    Case(
        "22",
        "C",
        image_pull("ImagePullBackOff"),
        "Deployment",
        IN_PROGRESS,
        STARTING,
        held_for=1 * minutes,
    ),
    Case(
        "23",
        "C",
        image_pull("ImagePullBackOff"),
        "Deployment",
        FAILED_R,
        FAILED,
        FailureKind.CREATION,
        True,
        held_for=6 * minutes,
        before=image_pull("ErrImagePull"),
    ),
    Case(
        "24",
        "C",
        image_pull("InvalidImageName"),
        "Deployment",
        FAILED_R,
        FAILED,
        FailureKind.CREATION,
        True,
    ),
    Case(
        "25",
        "C",
        waiting_pod("CreateContainerConfigError"),
        "Deployment",
        IN_PROGRESS,
        STARTING,
        held_for=30 * seconds,
    ),
    Case(
        "26",
        "C",
        waiting_pod("CreateContainerConfigError"),
        "Deployment",
        FAILED_R,
        FAILED,
        FailureKind.CREATION,
        True,
        held_for=3 * minutes,
    ),
    Case("27", "C", unschedulable, "Deployment", IN_PROGRESS, STARTING, held_for=20 * seconds),
    Case(
        "28",
        "S",
        unschedulable,
        "Deployment",
        FAILED_R,
        FAILED,
        FailureKind.RUNTIME,
        held_for=6 * minutes,
    ),
    Case("30", "S", evicted_pods_ignored, "Deployment", CURRENT, RUNNING),
    Case("31", "C", nothing, "StatefulSet", CURRENT, RUNNING),
    Case(
        "32",
        "C",
        set_role("statefulset", statefulset(ready=0)),
        "StatefulSet",
        IN_PROGRESS,
        STARTING,
    ),
    Case(
        "33",
        "R",
        set_role("statefulset", statefulset(updated=0, update_revision="db-2")),
        "StatefulSet",
        IN_PROGRESS,
        STARTING,
    ),
    Case(
        "34",
        "S",
        set_role("statefulset", statefulset(update_revision="db-2", strategy={"type": "OnDelete"})),
        "StatefulSet",
        CURRENT,
        RUNNING,
    ),
    Case("38", "C", set_job(started=False), "Job", IN_PROGRESS, STARTING),
    Case("39", "C", set_job(active=1), "Job", IN_PROGRESS, STARTING),
    Case("40", "C", set_job(conditions=[cond("Complete")]), "Job", CURRENT, RUNNING),
    Case(
        "41",
        "C",
        set_job(conditions=[cond("Failed", reason="BackoffLimitExceeded")]),
        "Job",
        FAILED_R,
        FAILED,
        FailureKind.CREATION,
        True,
    ),
    Case(
        "42",
        "C",
        set_job(conditions=[cond("FailureTarget", reason="BackoffLimitExceeded")]),
        "Job",
        FAILED_R,
        FAILED,
        FailureKind.CREATION,
        True,
    ),
    Case(
        "43",
        "R",
        set_job(conditions=[cond("Failed", reason="DeadlineExceeded")]),
        "Job",
        FAILED_R,
        FAILED,
        FailureKind.REBUILD,
    ),
    Case("46", "S", cronjob_job_failed, None, None, RUNNING),
    Case("47", "C", set_job(suspend=True, started=False), "Job", IN_PROGRESS, STARTING),
    Case(
        "48",
        "C",
        set_role("pvc", pvc(phase="Pending")),
        "PersistentVolumeClaim",
        IN_PROGRESS,
        STARTING,
        held_for=30 * seconds,
    ),
    Case(
        "49",
        "S",
        set_role("pvc", pvc(phase="Lost")),
        "PersistentVolumeClaim",
        FAILED_R,
        FAILED,
        FailureKind.RUNTIME,
    ),
    Case("51", "C", lb_without_address, "Service", IN_PROGRESS, STARTING),
    Case("52-C", "C", nothing, "Ingress", CURRENT, RUNNING),
    Case("52-S", "S", nothing, "Ingress", CURRENT, RUNNING),
    Case("52-R", "R", nothing, "Ingress", CURRENT, RUNNING),
    Case("56", "R", nothing, "Deployment", CURRENT, RUNNING),
    Case(
        "57",
        "D",
        terminating_on_delete,
        "PersistentVolumeClaim",
        ResourceState.TERMINATING,
        DELETING,
    ),
    Case("58", "D", all_gone, "Deployment", ResourceState.NOT_FOUND, DELETING),
    Case("61", "C", apply_error, None, None, FAILED, FailureKind.CREATION, True),
]


@pytest.mark.parametrize("case", CASES, ids=[f"#{c.number}" for c in CASES])
def test_section_7_case(case: Case) -> None:
    session = Session(case.context)
    if case.held_for:
        earlier = HealthyEnvironment()
        (case.before or case.change)(earlier)
        session.step(earlier, NOW - case.held_for)
    env = HealthyEnvironment()
    case.change(env)
    verdict = session.step(env, NOW)

    if case.kind is not None:
        assert session.resource(case.kind).state is case.resource_state
    assert session.status() is case.status, verdict
    assert verdict.status is case.status
    assert session.state.failure_kind is case.failure_kind
    if case.expires:
        assert session.state.failed_at is not None
        assert session.state.expires_at == session.state.failed_at + THRESHOLDS.expiry
    else:
        assert session.state.expires_at is None


def test_1_running_moves_context_to_steady_and_sets_ever_running() -> None:
    session = Session("C")
    session.step(HealthyEnvironment(), NOW)
    assert session.lifecycle() is Lifecycle.STEADY
    assert session.state.ever_running is True


def test_56_rebuild_reaching_running_moves_context_to_steady() -> None:
    session = Session("R")
    assert session.lifecycle() is Lifecycle.REBUILDING
    session.step(HealthyEnvironment(), NOW)
    assert session.lifecycle() is Lifecycle.STEADY


def test_58_everything_gone_and_namespace_gone_is_fully_deleted() -> None:
    session = Session("D")
    env = HealthyEnvironment()
    all_gone(env)
    assert session.step(env, NOW).fully_deleted is True
    env.namespace_exists = True
    assert session.step(env, NOW).fully_deleted is False


def test_61_apply_failed_reason() -> None:
    session = Session("C")
    env = HealthyEnvironment()
    apply_error(env)
    session.step(env, NOW)
    assert session.state.reason == "ApplyFailed"
    assert "admission" in session.state.message


def test_16_the_crash_looping_pod_itself_is_in_progress() -> None:
    from catalyst.domain.pod_evidence import assess_pod

    crashing = pod(
        "web-1",
        None,
        ready=False,
        containers=[container(ready=False, restarts=1, waiting="CrashLoopBackOff")],
    )
    assert assess_pod(crashing, None, now=NOW, thresholds=THRESHOLDS).state is IN_PROGRESS
    crashing["status"]["containerStatuses"][0]["restartCount"] = 3
    assert assess_pod(crashing, None, now=NOW, thresholds=THRESHOLDS).state is FAILED_R
