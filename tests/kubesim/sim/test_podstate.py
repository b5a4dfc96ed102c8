"""The pure kubelet timeline: status as a function of elapsed time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubesim.sim.pods import qos_class
from kubesim.sim.podstate import UNSCHEDULABLE_MESSAGE, ContainerPlan, PodPlan, pod_status
from kubesim.sim.rules import Behaviour, Timings

ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)
# schedule 1s, start 1s later (t=2), ready 1s after start (t=3), run 5s (exit at t=7), backoff 2s
T = Timings(
    schedule_after=1, start_after=1, ready_after=1, run_for=5, bind_after=1, restart_backoff=2
)


def plan(
    restart_policy: str = "Always",
    fail: str | None = None,
    *,
    init: tuple[ContainerPlan, ...] = (),
    containers: int = 1,
    unschedulable: str | None = None,
) -> PodPlan:
    b = Behaviour(ready_after=1, run_for=5, fail=fail)
    main = tuple(ContainerPlan(f"c{i}", "nginx:1.25", b) for i in range(containers))
    return PodPlan("ns", "p", "uid-1", restart_policy, init, main, T, unschedulable=unschedulable)


def cond(status: dict[str, Any], ctype: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == ctype)


def state(status: dict[str, Any], i: int = 0, key: str = "containerStatuses") -> dict[str, Any]:
    result: dict[str, Any] = status[key][i]["state"]
    return result


def test_new_pod_is_pending_without_conditions() -> None:
    snap = pod_status(plan(), 0.5, ORIGIN)
    assert snap.status == {"phase": "Pending", "qosClass": "BestEffort"}
    assert snap.next_change == 1


def test_scheduled_then_container_creating() -> None:
    snap = pod_status(plan(), 1.5, ORIGIN)
    assert snap.phase == "Pending"
    assert cond(snap.status, "PodScheduled")["status"] == "True"
    assert cond(snap.status, "Ready")["reason"] == "ContainersNotReady"
    assert state(snap.status) == {"waiting": {"reason": "ContainerCreating"}}
    assert snap.status["startTime"] == "2026-01-01T00:00:01Z"
    assert "podIP" not in snap.status
    assert snap.next_change == 2


def test_running_not_ready_then_ready() -> None:
    running = pod_status(plan(), 2.5, ORIGIN)
    assert running.phase == "Running"
    assert state(running.status) == {"running": {"startedAt": "2026-01-01T00:00:02Z"}}
    assert cond(running.status, "Ready")["status"] == "False"
    assert running.status["podIP"].startswith("10.244.")
    assert running.next_change == 3
    ready = pod_status(plan(), 3.5, ORIGIN)
    assert cond(ready.status, "Ready") == {
        "type": "Ready",
        "status": "True",
        "lastProbeTime": None,
        "lastTransitionTime": "2026-01-01T00:00:03Z",
    }
    assert cond(ready.status, "ContainersReady")["status"] == "True"
    assert ready.status["containerStatuses"][0]["ready"] is True
    assert ready.next_change is None  # long-running container: nothing more happens


def test_status_is_identical_when_recomputed() -> None:
    assert pod_status(plan(), 3.5, ORIGIN).status == pod_status(plan(), 4.5, ORIGIN).status


@pytest.mark.parametrize("policy", ["Never", "OnFailure"])
def test_run_to_completion_succeeds(policy: str) -> None:
    snap = pod_status(plan(policy), 7.5, ORIGIN)
    assert snap.phase == "Succeeded"
    term = state(snap.status)["terminated"]
    assert (term["reason"], term["exitCode"]) == ("Completed", 0)
    assert term["finishedAt"] == "2026-01-01T00:00:07Z"
    assert cond(snap.status, "Ready")["reason"] == "PodCompleted"
    assert snap.next_change is None


def test_image_pull_backoff_alternates_and_stays_pending() -> None:
    reasons = [
        state(pod_status(plan(fail="ImagePullBackOff"), t, ORIGIN).status)["waiting"]["reason"]
        for t in (2.5, 4.5, 6.5, 8.5, 11)
    ]
    # ErrImagePull 2s, ImagePullBackOff 2s, ErrImagePull 2s, ImagePullBackOff 4s...
    assert reasons == [
        "ErrImagePull",
        "ImagePullBackOff",
        "ErrImagePull",
        "ImagePullBackOff",
        "ImagePullBackOff",
    ]
    assert pod_status(plan(fail="ImagePullBackOff"), 100, ORIGIN).phase == "Pending"


def test_invalid_image_name_waits_forever() -> None:
    snap = pod_status(plan(fail="InvalidImageName"), 50, ORIGIN)
    assert snap.phase == "Pending"
    assert state(snap.status)["waiting"]["reason"] == "InvalidImageName"
    assert snap.next_change is None


def test_crash_loop_backoff_restarts_with_growing_count() -> None:
    p = plan(fail="CrashLoopBackOff")
    # crash moment = min(runFor, readyAfter) = 1s: runs 2..3, backoff 2s, runs 5..6, backoff 4s
    first = pod_status(p, 2.5, ORIGIN)
    assert "running" in state(first.status)
    looping = pod_status(p, 3.5, ORIGIN)
    cs = looping.status["containerStatuses"][0]
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert cs["restartCount"] == 0
    assert looping.phase == "Running"
    assert pod_status(p, 5.5, ORIGIN).status["containerStatuses"][0]["restartCount"] == 1
    later = pod_status(p, 8, ORIGIN).status["containerStatuses"][0]
    assert later["restartCount"] == 1
    assert later["state"]["waiting"]["message"].startswith(
        "back-off 4s restarting failed container=c0"
    )
    assert pod_status(p, 200, ORIGIN).status["containerStatuses"][0]["restartCount"] >= 5
    # never Ready
    assert all(
        cond(pod_status(p, t, ORIGIN).status, "Ready")["status"] == "False" for t in (2.9, 5.9, 12)
    )


def test_crash_loop_with_restart_policy_never_fails_the_pod() -> None:
    snap = pod_status(plan("Never", fail="CrashLoopBackOff"), 3.5, ORIGIN)
    assert snap.phase == "Failed"
    assert state(snap.status)["terminated"]["exitCode"] == 1


def test_exit_error_never_fails_after_run_for() -> None:
    p = plan("Never", fail="ExitError")
    assert pod_status(p, 6.9, ORIGIN).phase == "Running"
    snap = pod_status(p, 7.1, ORIGIN)
    assert snap.phase == "Failed"
    assert state(snap.status)["terminated"]["reason"] == "Error"


def test_exit_error_always_restarts_into_crash_loop() -> None:
    p = plan("Always", fail="ExitError")
    assert cond(pod_status(p, 3.5, ORIGIN).status, "Ready")["status"] == "True"
    snap = pod_status(p, 7.5, ORIGIN)
    assert state(snap.status)["waiting"]["reason"] == "CrashLoopBackOff"
    assert snap.phase == "Running"
    assert pod_status(p, 9.5, ORIGIN).status["containerStatuses"][0]["restartCount"] == 1


def test_exit_error_on_failure_restarts_in_place() -> None:
    snap = pod_status(plan("OnFailure", fail="ExitError"), 9.5, ORIGIN)
    assert snap.phase == "Running"
    assert snap.status["containerStatuses"][0]["restartCount"] == 1


def test_unschedulable_pod() -> None:
    snap = pod_status(plan(unschedulable=UNSCHEDULABLE_MESSAGE), 10, ORIGIN)
    assert snap.phase == "Pending"
    scheduled = cond(snap.status, "PodScheduled")
    assert (scheduled["status"], scheduled["reason"]) == ("False", "Unschedulable")
    assert scheduled["message"].startswith("0/1 nodes are available")
    assert snap.next_change is None


def test_init_containers_run_first() -> None:
    init = (ContainerPlan("init", "busybox", Behaviour(ready_after=0, run_for=2)),)
    p = plan(init=init)
    during = pod_status(p, 3, ORIGIN)
    assert during.phase == "Pending"
    assert "running" in state(during.status, key="initContainerStatuses")
    assert state(during.status) == {"waiting": {"reason": "PodInitializing"}}
    assert cond(during.status, "Initialized")["status"] == "False"
    after = pod_status(p, 4.5, ORIGIN)
    assert after.phase == "Running"
    assert state(after.status, key="initContainerStatuses")["terminated"]["reason"] == "Completed"
    assert cond(after.status, "Initialized")["status"] == "True"
    assert cond(pod_status(p, 5.5, ORIGIN).status, "Ready")["status"] == "True"


def test_ready_only_when_all_containers_ready() -> None:
    mixed = PodPlan(
        "ns",
        "p",
        "u",
        "Always",
        (),
        (
            ContainerPlan("fast", "a", Behaviour(ready_after=1, run_for=5)),
            ContainerPlan("slow", "b", Behaviour(ready_after=4, run_for=5)),
        ),
        T,
    )
    mid = pod_status(mixed, 4, ORIGIN)
    assert cond(mid.status, "Ready")["message"] == "containers with unready status: [slow]"
    assert cond(pod_status(mixed, 6.5, ORIGIN).status, "Ready")["status"] == "True"


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ([{}], "BestEffort"),
        ([{"requests": {"cpu": "1"}}], "Burstable"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}}], "Guaranteed"),
        (
            [
                {
                    "limits": {"cpu": "1", "memory": "1Gi"},
                    "requests": {"cpu": "500m", "memory": "1Gi"},
                }
            ],
            "Burstable",
        ),
    ],
)
def test_qos_class(resources: list[dict[str, Any]], expected: str) -> None:
    spec = {"containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(resources)]}
    assert qos_class(spec) == expected


def test_config_error_holds_the_container_and_start_delay_shifts_the_timeline() -> None:
    b = Behaviour(ready_after=1, run_for=5)
    blocked = PodPlan(
        "ns", "p", "u", "Always", (), (ContainerPlan("c", "img", b, 'secret "s" not found'),), T
    )
    snap = pod_status(blocked, 10, ORIGIN)
    assert snap.phase == "Pending"
    assert state(snap.status)["waiting"] == {
        "reason": "CreateContainerConfigError",
        "message": 'secret "s" not found',
    }
    assert snap.next_change is None
    freed = PodPlan("ns", "p", "u", "Always", (), (ContainerPlan("c", "img", b),), T, start_delay=8)
    assert state(pod_status(freed, 9.5, ORIGIN).status) == {
        "waiting": {"reason": "ContainerCreating"}
    }
    late = pod_status(freed, 10.5, ORIGIN)
    assert state(late.status) == {"running": {"startedAt": "2026-01-01T00:00:10Z"}}
    assert cond(late.status, "Ready")["status"] == "False"
    assert cond(pod_status(freed, 11.5, ORIGIN).status, "Ready")["status"] == "True"


def test_schedule_delay_moves_scheduling_to_when_claims_were_bound() -> None:
    b = Behaviour(ready_after=1, run_for=5)
    held = PodPlan(
        "ns", "p", "u", "Always", (), (ContainerPlan("c", "img", b),), T, schedule_delay=5
    )
    snap = pod_status(held, 5.5, ORIGIN)
    assert snap.status == {"phase": "Pending", "qosClass": "BestEffort"}
    assert snap.next_change == 6
    scheduled = pod_status(held, 6.5, ORIGIN)
    assert cond(scheduled.status, "PodScheduled") == {
        "type": "PodScheduled",
        "status": "True",
        "lastProbeTime": None,
        "lastTransitionTime": "2026-01-01T00:00:06Z",
    }
    assert scheduled.status["startTime"] == "2026-01-01T00:00:06Z"
