"""Issue 10, part 5 ("no false expiry"), as table tests of the pure rules.

- Crash loops are counted across short Ready runs: a container without a readiness probe
  is Ready for a moment after every restart, and that must not reset the count (kubelet's
  back-off is not reset by a short run either). Only a container Ready for CRASH_WINDOW
  without a restart starts a new count.
- The rebuild barrier holds back failures too: objects of a revision older than the one
  requested (`superseded`) never decide the verdict.
- History records episodes: ErrImagePull ↔ ImagePullBackOff within one failed episode is
  not a change (no history row, no write).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from catalyst.domain import (
    EnvironmentStatus,
    FailureKind,
    ResourceState,
    StatusThresholds,
    Verdict,
    created,
    observe,
)
from catalyst.domain.memory import ContainerMemory, PodMemory
from catalyst.domain.pod_evidence import assess_pod
from tests.support.factories import (
    NOW,
    HealthyEnvironment,
    Obj,
    Session,
    cond,
    container,
    job,
    not_ready_deployment,
    pod,
    ref,
)

THRESHOLDS = StatusThresholds()


def crash_pod(*, restarts: int, ready: bool, at: datetime = NOW) -> Obj:
    """A pod whose one container crash-loops; `ready` is a short run (started `at`)."""
    if ready:
        running = container(restarts=restarts)
        running["state"] = {"running": {"startedAt": at.isoformat()}}
        return pod("web-1", None, containers=[running])
    waiting = container(ready=False, restarts=restarts, waiting="CrashLoopBackOff")
    return pod("web-1", None, ready=False, containers=[waiting])


# (seconds after NOW, restartCount, Ready) of a container without a readiness probe that
# crashes 2 s after each start: Ready during each short run, CrashLoopBackOff in between.
SHORT_RUNS = [(0, 1, False), (11, 1, True), (20, 2, False), (32, 2, True), (45, 3, False)]


def run(
    steps: list[tuple[int, int, bool]],
    memory: PodMemory | None = None,
    thresholds: StatusThresholds = THRESHOLDS,
) -> tuple[list[ResourceState], PodMemory | None]:
    states: list[ResourceState] = []
    for seconds, restarts, ready in steps:
        at = NOW + timedelta(seconds=seconds)
        verdict = assess_pod(
            crash_pod(restarts=restarts, ready=ready, at=at),
            memory,
            now=at,
            thresholds=thresholds,
        )
        states.append(verdict.state)
        memory = verdict.memory
    return states, memory


def test_restarts_are_counted_across_short_ready_runs() -> None:
    states, _ = run(SHORT_RUNS)
    assert states[-1] is ResourceState.FAILED, states


def test_a_crash_loop_that_reached_crash_n_stays_failed_through_a_short_ready_run() -> None:
    states, _ = run([*SHORT_RUNS, (57, 3, True), (80, 4, False)])
    assert states[-3:] == [ResourceState.FAILED] * 3, states


def test_a_restart_between_two_ready_sightings_counts() -> None:
    # Ready at every evaluation, but restartCount grew in between: three quick crashes.
    steps = [(0, 0, True), (10, 1, True), (20, 2, True), (30, 3, True)]
    states, _ = run(steps)
    assert states[-1] is ResourceState.FAILED, states


def test_ready_for_the_crash_window_starts_a_new_count() -> None:
    window = THRESHOLDS.crash_window
    _, memory = run([(0, 1, False), (10, 2, False), (11, 2, True)])
    stable_at = 11 + int(window.total_seconds())
    states, memory = run([(stable_at, 2, True)], memory)
    assert states == [ResourceState.CURRENT]
    assert memory is not None
    assert memory.containers["main"].restart_baseline == 2
    # Two more restarts after the stable run: 2 since the new baseline, below CRASH_N.
    later = stable_at + 60
    states, _ = run([(later, 3, False), (later + 20, 4, False)], memory)
    assert states[-1] is ResourceState.IN_PROGRESS, states


def test_a_ready_container_waits_for_the_window_before_its_count_resets() -> None:
    """The pod says when it can next change: the end of the window of a short run."""
    _, memory = run([(0, 1, False), (10, 2, False), (20, 3, False)])
    started = NOW + timedelta(seconds=30)
    verdict = assess_pod(
        crash_pod(restarts=3, ready=True, at=started),
        memory,
        now=NOW + timedelta(seconds=30),
        thresholds=THRESHOLDS,
    )
    assert verdict.state is ResourceState.FAILED
    ready = assess_pod(
        crash_pod(restarts=3, ready=True, at=started),
        verdict.memory,
        now=NOW + timedelta(seconds=31),
        thresholds=THRESHOLDS,
    )
    assert ready.recheck_at == NOW + timedelta(seconds=30) + THRESHOLDS.crash_window


def test_an_old_restart_count_of_a_ready_container_seen_first_is_not_counted() -> None:
    """§7 #20 still holds: first sight of a Ready container with 7 restarts is Current."""
    states, _ = run([(0, 7, True)])
    assert states == [ResourceState.CURRENT]


def test_the_window_clock_freezes_over_a_stale_period() -> None:
    memory = ContainerMemory(ready_since=NOW, restart_baseline=1)
    assert memory.shifted(timedelta(minutes=3)).ready_since == NOW + timedelta(minutes=3)
    assert ContainerMemory.from_json(memory.to_json()) == memory


def test_a_creating_environment_crash_looping_through_short_runs_fails_once_and_keeps_its_expiry() -> (  # noqa: E501
    None
):
    session = Session("C", started=NOW - timedelta(minutes=1))
    env = HealthyEnvironment()
    env.set_deployment(not_ready_deployment())  # its controller counts the pod unavailable
    history: list[tuple[str, FailureKind | None, datetime | None]] = []
    for seconds, restarts, ready in [*SHORT_RUNS, (57, 3, True), (80, 4, False), (92, 4, True)]:
        at = NOW + timedelta(seconds=seconds)
        env.set_web_pod(crash_pod(restarts=restarts, ready=ready, at=at))
        session.step(env, NOW + timedelta(seconds=seconds))
        entry = (session.status().value, session.state.failure_kind, session.state.expires_at)
        if not history or history[-1] != entry:
            history.append(entry)
    failed_at = NOW + timedelta(seconds=45)
    assert history[-1] == ("failed", FailureKind.CREATION, failed_at + THRESHOLDS.expiry)
    assert [status for status, _, _ in history] == ["starting", "failed"], history


# -- the rebuild barrier holds back failures -----------------------------------------------


def failed_install_job() -> Obj:
    return job("install", conditions=[cond("Failed", reason="BackoffLimitExceeded")])


@pytest.mark.parametrize("ever_ran", [False, True], ids=["creation-retry", "rebuild"])
def test_a_failed_job_of_the_previous_revision_does_not_fail_the_rebuild(ever_ran: bool) -> None:
    session = Session("R", ever_ran=ever_ran)
    env = HealthyEnvironment(apply_confirmed=False)
    env.objects["job"] = failed_install_job()
    env.superseded = {ref(env.objects["job"])}
    verdict = session.step(env, NOW)
    assert verdict.status is EnvironmentStatus.STARTING, verdict
    assert session.state.expires_at is None
    assert session.resource("Job").state is ResourceState.IN_PROGRESS
    assert session.resource("Job").reason == "PreviousRevision"


def test_after_the_apply_the_new_revision_object_decides() -> None:
    session = Session("R", ever_ran=False)
    env = HealthyEnvironment(apply_confirmed=False)
    env.objects["job"] = failed_install_job()
    env.superseded = {ref(env.objects["job"])}
    session.step(env, NOW)
    # The deployer applied revision 2; its Job failed too: now that is a creation failure.
    env.apply_confirmed = True
    env.superseded = set()
    verdict = session.step(env, NOW + timedelta(seconds=5))
    assert verdict.status is EnvironmentStatus.FAILED
    assert session.state.failure_kind is FailureKind.CREATION


# -- history records episodes, not flicker -------------------------------------------------


def failed_verdict(reason: str) -> Verdict:
    return Verdict(EnvironmentStatus.FAILED, reason, f"container web: {reason}", [], None)


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("ErrImagePull", "ImagePullBackOff"),
        ("ImagePullBackOff", "ErrImagePull"),
        ("CreateContainerConfigError", "CreateContainerError"),
    ],
)
def test_a_reason_change_within_one_failure_episode_is_not_a_change(first: str, then: str) -> None:
    change = observe(created(NOW), failed_verdict(first), NOW, THRESHOLDS)
    assert change is not None
    state = change.after
    assert observe(state, failed_verdict(then), NOW + timedelta(seconds=10), THRESHOLDS) is None


def test_another_failure_in_the_same_failed_state_is_still_recorded() -> None:
    change = observe(created(NOW), failed_verdict("ImagePullBackOff"), NOW, THRESHOLDS)
    assert change is not None
    later = observe(change.after, failed_verdict("BackoffLimitExceeded"), NOW, THRESHOLDS)
    assert later is not None
    assert later.after.reason == "BackoffLimitExceeded"


def test_an_image_pull_failure_alternating_for_hours_records_one_row() -> None:
    thresholds = StatusThresholds(image=timedelta(seconds=30))
    session = Session("C", thresholds=thresholds, started=NOW - timedelta(minutes=1))
    env = HealthyEnvironment()
    env.set_deployment(not_ready_deployment())
    rows = 0
    for step in range(200):
        reason = "ErrImagePull" if step % 2 == 0 else "ImagePullBackOff"
        waiting = container(ready=False, waiting=reason)
        env.set_web_pod(pod("web-1", None, phase="Pending", ready=False, containers=[waiting]))
        before = session.state
        session.step(env, NOW + timedelta(seconds=20 * step))
        rows += session.state != before
    assert session.status() is EnvironmentStatus.FAILED
    assert rows == 2, "one row to starting (the reason), one to failed"
