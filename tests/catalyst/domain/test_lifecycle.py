"""The state machine of §6.7 and the product decisions (failure kinds, expiry, stale)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from catalyst.domain import (
    EnvironmentStatus,
    FailureKind,
    Lifecycle,
    LifecycleError,
    StatusThresholds,
    Verdict,
    apply_failed,
    created,
    delete_requested,
    observe,
    rebuild_requested,
    resume_after_stale,
)
from catalyst.domain.lifecycle import EnvironmentState
from tests.support.factories import NOW

THRESHOLDS = StatusThresholds()
EXPIRY = THRESHOLDS.expiry


def verdict(status: EnvironmentStatus, reason: str = "Something", message: str = "") -> Verdict:
    return Verdict(status, reason, message, [], None)


RUNNING = verdict(EnvironmentStatus.RUNNING, "AllResourcesCurrent")
FAILED = verdict(EnvironmentStatus.FAILED, "CrashLoopBackOff")
STARTING = verdict(EnvironmentStatus.STARTING, "LessReady")


def apply(state: EnvironmentState, v: Verdict, at=NOW) -> EnvironmentState:
    change = observe(state, v, at, THRESHOLDS)
    assert change is not None
    return change.after


def ran_once() -> EnvironmentState:
    return apply(created(NOW - timedelta(hours=1)), RUNNING, NOW - timedelta(hours=1))


def test_created_is_starting_and_creating() -> None:
    state = created(NOW)
    assert (state.status, state.lifecycle, state.ever_running) == (
        EnvironmentStatus.STARTING,
        Lifecycle.CREATING,
        False,
    )
    assert state.status_since == NOW


def test_creation_failure_gets_expiry_of_three_days() -> None:
    state = apply(created(NOW), FAILED)
    assert state.failure_kind is FailureKind.CREATION
    assert state.failed_at == NOW
    assert state.expires_at == NOW + timedelta(days=3)


def test_runtime_failure_has_no_expiry() -> None:
    state = apply(ran_once(), FAILED)
    assert state.failure_kind is FailureKind.RUNTIME
    assert state.expires_at is None


def test_rebuild_failure_of_an_environment_that_ran_has_no_expiry() -> None:
    rebuilding = rebuild_requested(ran_once(), NOW).after
    assert rebuilding.lifecycle is Lifecycle.REBUILDING
    state = apply(rebuilding, FAILED)
    assert state.failure_kind is FailureKind.REBUILD
    assert state.expires_at is None


def test_rebuild_of_an_environment_that_never_ran_is_a_creation_retry() -> None:
    failed = apply(created(NOW - timedelta(hours=2)), FAILED, NOW - timedelta(hours=2))
    rebuilding = rebuild_requested(failed, NOW - timedelta(hours=1)).after
    assert rebuilding.expires_at is None
    assert rebuilding.failure_kind is None
    state = apply(rebuilding, FAILED)
    assert state.failure_kind is FailureKind.CREATION
    assert state.expires_at == NOW + EXPIRY


def test_rebuild_request_clears_expiry_and_returns_to_starting() -> None:
    failed = apply(created(NOW - timedelta(hours=1)), FAILED, NOW - timedelta(hours=1))
    change = rebuild_requested(failed, NOW)
    assert change.after.status is EnvironmentStatus.STARTING
    assert change.after.reason == "RebuildRequested"
    assert change.after.expires_at is None
    assert change.status_changed
    assert change.from_status is EnvironmentStatus.FAILED


def test_running_clears_failure_kind_and_expiry_and_sets_steady() -> None:
    failed = apply(created(NOW - timedelta(hours=1)), FAILED, NOW - timedelta(hours=1))
    state = apply(failed, RUNNING)
    assert state.failure_kind is None
    assert state.expires_at is None
    assert state.failed_at is None
    assert state.ever_running is True
    assert state.lifecycle is Lifecycle.STEADY
    assert state.status_since == NOW


def test_flapping_creation_failure_keeps_its_first_expiry() -> None:
    first = NOW - timedelta(hours=5)
    failed = apply(created(first), FAILED, first)
    starting = apply(failed, STARTING, first + timedelta(hours=1))
    assert starting.expires_at == first + EXPIRY  # not recovered yet: the record stays
    again = apply(starting, FAILED, NOW)
    assert again.failed_at == first
    assert again.expires_at == first + EXPIRY


def test_no_change_when_status_reason_and_kind_are_the_same() -> None:
    state = apply(created(NOW), FAILED)
    same_but_new_message = verdict(EnvironmentStatus.FAILED, "CrashLoopBackOff", "5 restarts")
    assert observe(state, same_but_new_message, NOW + timedelta(minutes=1), THRESHOLDS) is None


def test_reason_change_is_a_change_but_keeps_status_since() -> None:
    state = apply(created(NOW), FAILED)
    later = NOW + timedelta(minutes=1)
    change = observe(state, verdict(EnvironmentStatus.FAILED, "JobFailed"), later, THRESHOLDS)
    assert change is not None
    assert not change.status_changed
    assert change.after.status_since == NOW
    assert change.after.failed_at == NOW


def test_stale_freezes_everything() -> None:
    state = created(NOW)
    assert observe(state, FAILED, NOW, THRESHOLDS, stale=True) is None
    assert observe(state, RUNNING, NOW, THRESHOLDS, stale=True) is None


def test_resume_after_stale_pushes_expiry_by_the_stale_period() -> None:
    state = apply(created(NOW), FAILED)
    resumed = resume_after_stale(state, timedelta(hours=2))
    assert resumed.expires_at == NOW + EXPIRY + timedelta(hours=2)
    assert resume_after_stale(ran_once(), timedelta(hours=2)) == ran_once()


def test_delete_request_is_idempotent_and_wins_over_later_verdicts() -> None:
    change = delete_requested(apply(created(NOW), FAILED), NOW)
    assert change is not None
    deleting = change.after
    assert (deleting.status, deleting.lifecycle) == (EnvironmentStatus.DELETING, Lifecycle.DELETING)
    assert deleting.expires_at is None
    assert delete_requested(deleting, NOW) is None
    assert observe(deleting, RUNNING, NOW, THRESHOLDS) is None
    assert observe(deleting, FAILED, NOW, THRESHOLDS) is None


def test_rebuild_of_a_deleting_environment_is_refused() -> None:
    change = delete_requested(created(NOW), NOW)
    assert change is not None
    with pytest.raises(LifecycleError):
        rebuild_requested(change.after, NOW)


@pytest.mark.parametrize(
    ("lifecycle", "ever_running", "kind", "expires"),
    [
        (Lifecycle.CREATING, False, FailureKind.CREATION, True),
        (Lifecycle.STEADY, True, FailureKind.RUNTIME, False),
        (Lifecycle.REBUILDING, True, FailureKind.REBUILD, False),
        (Lifecycle.REBUILDING, False, FailureKind.CREATION, True),
    ],
)
def test_apply_failed_takes_kind_from_lifecycle(lifecycle, ever_running, kind, expires) -> None:
    state = replace(created(NOW), lifecycle=lifecycle, ever_running=ever_running)
    change = apply_failed(state, "render error: bad values", NOW, thresholds=THRESHOLDS)
    assert change is not None
    assert change.after.reason == "ApplyFailed"
    assert change.after.message == "render error: bad values"
    assert change.after.failure_kind is kind
    assert (change.after.expires_at is not None) is expires
