"""§6.6 beyond the table: hysteresis, timers, context timeouts, absence, barrier, unknown."""

from __future__ import annotations

from datetime import timedelta

from catalyst.domain import (
    EnvironmentMemory,
    EnvironmentObservation,
    EnvironmentStatus,
    FailureKind,
    Lifecycle,
    ObjectRef,
    ResourceState,
    StatusThresholds,
    evaluate_environment,
    rebuild_requested,
)
from tests.support.factories import (
    NOW,
    THRESHOLDS,
    HealthyEnvironment,
    Session,
    complete_job,
    container,
    not_ready_deployment,
    pod,
)

S = timedelta(seconds=1)
M = timedelta(minutes=1)


def web_pod_not_ready(env: HealthyEnvironment, **container_kwargs: object) -> None:
    env.set_deployment(not_ready_deployment("web"))
    env.set_web_pod(
        pod("web-1", None, ready=False, containers=[container(ready=False, **container_kwargs)])  # type: ignore[arg-type]
    )


def test_blip_keeps_running_and_schedules_the_end_of_the_window() -> None:
    session = Session("S")
    env = HealthyEnvironment()
    web_pod_not_ready(env)
    verdict = session.step(env, NOW)
    assert session.status() is EnvironmentStatus.RUNNING
    assert verdict.next_evaluation_at == NOW + THRESHOLDS.blip
    verdict = session.step(env, NOW + 59 * S)
    assert session.status() is EnvironmentStatus.RUNNING
    verdict = session.step(env, NOW + THRESHOLDS.blip)
    assert session.status() is EnvironmentStatus.STARTING
    assert session.state.reason == "LessAvailable"
    assert verdict.next_evaluation_at == NOW + THRESHOLDS.notready_timeout


def test_blip_that_recovers_never_leaves_running() -> None:
    session = Session("S")
    before = session.state
    env = HealthyEnvironment()
    web_pod_not_ready(env)
    session.step(env, NOW)
    session.step(HealthyEnvironment(), NOW + 30 * S)
    assert session.state == before
    assert session.memory.not_current_since is None


def test_failed_is_immediate_even_inside_the_blip_window() -> None:
    session = Session("S")
    env = HealthyEnvironment()
    web_pod_not_ready(env, restarts=5, waiting="CrashLoopBackOff")
    session.step(env, NOW)
    assert session.status() is EnvironmentStatus.FAILED
    assert session.state.reason == "CrashLoopBackOff"
    assert session.state.failure_kind is FailureKind.RUNTIME


def test_failed_to_running_is_immediate() -> None:
    session = Session("S")
    env = HealthyEnvironment()
    web_pod_not_ready(env, restarts=5, waiting="CrashLoopBackOff")
    session.step(env, NOW)
    session.step(HealthyEnvironment(), NOW + S)
    assert session.status() is EnvironmentStatus.RUNNING


def test_not_ready_timeout_in_steady_state() -> None:
    session = Session("S")
    env = HealthyEnvironment()
    web_pod_not_ready(env)
    session.step(env, NOW)
    session.step(env, NOW + THRESHOLDS.notready_timeout - S)
    assert session.status() is EnvironmentStatus.STARTING
    session.step(env, NOW + THRESHOLDS.notready_timeout)
    assert session.status() is EnvironmentStatus.FAILED
    assert session.state.reason == "NotReadyTimeout"
    assert session.state.failure_kind is FailureKind.RUNTIME
    assert session.state.expires_at is None


def test_creation_timeout_runs_from_the_create_request() -> None:
    session = Session("C", started=NOW)
    env = HealthyEnvironment()
    env.absent.add("job")
    verdict = session.step(env, NOW + M)
    assert verdict.next_evaluation_at == NOW + THRESHOLDS.create_timeout
    session.step(env, NOW + THRESHOLDS.create_timeout)
    assert session.status() is EnvironmentStatus.FAILED
    assert session.state.reason == "CreationTimeout"
    assert session.state.expires_at == NOW + THRESHOLDS.create_timeout + THRESHOLDS.expiry


def test_rebuild_timeout_and_kind() -> None:
    session = Session("R", started=NOW)
    env = HealthyEnvironment()
    env.apply_confirmed = False
    session.step(env, NOW + THRESHOLDS.rebuild_timeout)
    assert session.state.reason == "RebuildTimeout"
    assert session.state.failure_kind is FailureKind.REBUILD


def test_rebuild_barrier_holds_starting_until_the_apply_is_confirmed() -> None:
    session = Session("R")
    env = HealthyEnvironment()
    env.apply_confirmed = False
    session.step(env, NOW)
    assert session.status() is EnvironmentStatus.STARTING
    assert session.state.reason == "ApplyPending"
    env.apply_confirmed = True
    session.step(env, NOW + S)
    assert session.status() is EnvironmentStatus.RUNNING


def test_seen_then_missing_fails_after_missing_grace_in_steady_state() -> None:
    session = Session("S")
    env = HealthyEnvironment()
    env.absent.add("statefulset")
    verdict = session.step(env, NOW)
    assert session.resource("StatefulSet").reason == "ResourceMissing"
    assert session.resource("StatefulSet").state is ResourceState.IN_PROGRESS
    assert verdict.next_evaluation_at == NOW + THRESHOLDS.blip
    session.step(env, NOW + THRESHOLDS.blip)
    verdict = session.step(env, NOW + THRESHOLDS.missing - S)
    assert session.status() is EnvironmentStatus.STARTING
    assert verdict.next_evaluation_at == NOW + THRESHOLDS.missing
    session.step(env, NOW + THRESHOLDS.missing)
    assert session.status() is EnvironmentStatus.FAILED
    assert session.state.reason == "ResourceMissing"
    assert session.state.failure_kind is FailureKind.RUNTIME


def test_missing_while_rebuilding_waits_for_the_rebuild_timeout() -> None:
    session = Session("R", started=NOW)
    env = HealthyEnvironment()
    env.absent.add("job")  # the upgrade's Job has not run yet
    session.step(env, NOW)  # the new revision's Deployment was seen
    env.absent.add("deployment")  # replaced during the upgrade
    session.step(env, NOW + 10 * THRESHOLDS.missing)
    assert session.resource("Deployment").state is ResourceState.IN_PROGRESS
    assert session.status() is EnvironmentStatus.STARTING


def test_completed_job_that_disappears_stays_current() -> None:
    session = Session("C")
    env = HealthyEnvironment()
    session.step(env, NOW)
    env.absent.add("job")  # ttlSecondsAfterFinished / hook-succeeded
    session.step(env, NOW + timedelta(hours=1))
    assert session.resource("Job").state is ResourceState.CURRENT
    assert session.status() is EnvironmentStatus.RUNNING


def test_new_revision_forgets_completed_jobs_of_the_old_one() -> None:
    session = Session("S")
    env = HealthyEnvironment()
    env.absent.add("job")
    session.state = rebuild_requested(session.state, NOW).after
    session.revision = 2
    session.step(env, NOW)
    job = session.resource("Job")
    assert job.state is ResourceState.IN_PROGRESS
    assert job.reason == "NotCreatedYet"


def test_terminating_without_delete_request_fails_after_missing() -> None:
    session = Session("S")
    env = HealthyEnvironment()
    env.objects["pvc"]["metadata"]["deletionTimestamp"] = "2026-11-25T09:59:00Z"
    session.step(env, NOW)
    assert session.resource("PersistentVolumeClaim").state is ResourceState.TERMINATING
    session.step(env, NOW + THRESHOLDS.missing)
    assert session.resource("PersistentVolumeClaim").state is ResourceState.FAILED
    assert session.state.reason == "ResourceTerminating"


def test_evaluation_error_is_unknown_and_keeps_the_environment_from_running() -> None:
    session = Session("C")
    env = HealthyEnvironment()
    env.objects["deployment"]["status"]["readyReplicas"] = "one"
    session.step(env, NOW)
    assert session.resource("Deployment").state is ResourceState.UNKNOWN
    assert session.resource("Deployment").reason == "EvaluationError"
    assert session.status() is EnvironmentStatus.STARTING
    assert session.state.reason == "ResourceStatusUnknown"


def test_failure_reason_follows_the_stable_order_job_first() -> None:
    session = Session("C")
    env = HealthyEnvironment()
    env.objects["pvc"]["status"]["phase"] = "Lost"
    env.objects["job"]["status"]["conditions"] = [
        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}
    ]
    verdict = session.step(env, NOW)
    assert verdict.reason == "JobFailed"
    assert [r.ref.kind for r in verdict.resources][:3] == ["Job", "StatefulSet", "Deployment"]


def test_empty_inventory_is_never_running() -> None:
    observation = EnvironmentObservation(lifecycle=Lifecycle.CREATING, inventory=[])
    verdict, _ = evaluate_environment(observation, None, now=NOW, thresholds=THRESHOLDS)
    assert verdict.status is EnvironmentStatus.STARTING
    assert verdict.reason == "NoInventory"


def test_image_pull_timer_is_scheduled() -> None:
    session = Session("C", started=NOW - timedelta(minutes=1))
    env = HealthyEnvironment()
    web_pod_not_ready(env, waiting="ImagePullBackOff")
    verdict = session.step(env, NOW)
    assert verdict.next_evaluation_at == NOW + THRESHOLDS.image
    verdict = session.step(env, NOW + THRESHOLDS.image)
    assert verdict.status is EnvironmentStatus.FAILED
    assert verdict.next_evaluation_at is None


def test_small_thresholds_drive_the_same_rules() -> None:
    fast = StatusThresholds(config=timedelta(seconds=2), blip=timedelta(0))
    session = Session("S", thresholds=fast)
    env = HealthyEnvironment()
    web_pod_not_ready(env, waiting="CreateContainerConfigError")
    session.step(env, NOW)
    assert session.status() is EnvironmentStatus.STARTING
    session.step(env, NOW + 2 * S)
    assert session.state.reason == "CreateContainerConfigError"


def test_lifecycle_clock_from_memory_when_not_given() -> None:
    inventory = [ObjectRef.from_object(complete_job())]
    observation = EnvironmentObservation(lifecycle=Lifecycle.CREATING, inventory=inventory)
    _, memory = evaluate_environment(
        observation, EnvironmentMemory(), now=NOW, thresholds=THRESHOLDS
    )
    assert memory.lifecycle_since == NOW
    verdict, memory = evaluate_environment(
        observation, memory, now=NOW + THRESHOLDS.create_timeout, thresholds=THRESHOLDS
    )
    assert verdict.reason == "CreationTimeout"


def test_lost_memory_starts_the_not_ready_clock_at_the_stored_status_since() -> None:
    session = Session("S")
    env = HealthyEnvironment()
    web_pod_not_ready(env)
    session.step(env, NOW)
    session.step(env, NOW + THRESHOLDS.blip)
    assert session.status() is EnvironmentStatus.STARTING
    session.memory = EnvironmentMemory()  # e.g. the stored memory was reset
    session.step(env, NOW + THRESHOLDS.blip + THRESHOLDS.notready_timeout)
    assert session.state.reason == "NotReadyTimeout"


def test_deletion_verdicts_do_not_repeat_the_delete_event() -> None:
    session = Session("D")
    before = session.state
    env = HealthyEnvironment()
    verdict = session.step(env, NOW)
    assert verdict.status is EnvironmentStatus.DELETING
    assert session.state == before
