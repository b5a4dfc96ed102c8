"""The reaper's rule: only failed creations past their expiry, on fresh data."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from catalyst.domain import (
    EnvironmentStatus,
    ExpiryPolicy,
    FailureKind,
    Lifecycle,
    StatusThresholds,
    Verdict,
    created,
    observe,
    rebuild_requested,
)
from catalyst.domain.lifecycle import EnvironmentState
from tests.support.factories import NOW

POLICY = ExpiryPolicy()
THRESHOLDS = StatusThresholds()
FAILED = Verdict(EnvironmentStatus.FAILED, "JobFailed", "", [], None)
RUNNING = Verdict(EnvironmentStatus.RUNNING, "AllResourcesCurrent", "", [], None)


def failed_in(state: EnvironmentState, at=NOW) -> EnvironmentState:
    change = observe(state, FAILED, at, THRESHOLDS)
    assert change is not None
    return change.after


def creation_failure() -> EnvironmentState:
    return failed_in(created(NOW))


def test_creation_failure_is_reapable_once_expired() -> None:
    state = creation_failure()
    assert POLICY.reap_due_at(state) == NOW + THRESHOLDS.expiry
    assert not POLICY.is_reapable(
        state, NOW + THRESHOLDS.expiry - timedelta(seconds=1), stale=False
    )
    assert POLICY.is_reapable(state, NOW + THRESHOLDS.expiry, stale=False)


def test_never_reaped_while_stale() -> None:
    assert not POLICY.is_reapable(creation_failure(), NOW + timedelta(days=30), stale=True)


def test_runtime_failure_is_never_reaped() -> None:
    ran = observe(created(NOW), RUNNING, NOW, THRESHOLDS)
    assert ran is not None
    state = failed_in(ran.after)
    assert state.failure_kind is FailureKind.RUNTIME
    assert POLICY.reap_due_at(state) is None
    assert not POLICY.is_reapable(state, NOW + timedelta(days=365), stale=False)


def test_rebuild_failure_is_never_reaped() -> None:
    ran = observe(created(NOW), RUNNING, NOW, THRESHOLDS)
    assert ran is not None
    state = failed_in(rebuild_requested(ran.after, NOW).after)
    assert state.failure_kind is FailureKind.REBUILD
    assert not POLICY.is_reapable(state, NOW + timedelta(days=365), stale=False)


@pytest.mark.parametrize(
    "tamper",
    [
        {"failure_kind": FailureKind.RUNTIME},
        {"failure_kind": FailureKind.REBUILD},
        {"status": EnvironmentStatus.STARTING},
        {"status": EnvironmentStatus.RUNNING},
        {"lifecycle": Lifecycle.DELETING},
        {"expires_at": None},
    ],
)
def test_fields_that_forbid_reaping_even_with_an_expiry(tamper) -> None:
    state = replace(creation_failure(), **tamper)
    assert not POLICY.is_reapable(state, NOW + timedelta(days=365), stale=False)


def test_recovered_environment_is_not_reapable() -> None:
    change = observe(creation_failure(), RUNNING, NOW + timedelta(hours=1), THRESHOLDS)
    assert change is not None
    assert not POLICY.is_reapable(change.after, NOW + timedelta(days=30), stale=False)
