"""The environment state machine (status-spec §6.7 with the product decisions).

`EnvironmentState` is what the store keeps about an environment's status. The functions
here are pure transitions; each returns a `StateChange` (before/after) or None when nothing
that matters changed, so the caller writes (and logs a `status_changes` row) only on change.

Rules:
- `created(now)`: `starting`, lifecycle `creating`.
- `rebuild_requested`: `starting`/RebuildRequested, lifecycle `rebuilding`; clears
  failure_kind, failed_at and expires_at (a new attempt starts).
- `delete_requested`: `deleting`/Deleting (the aggregation's reason too, so the first
  verdict is not a second event), lifecycle `deleting`; clears the failure fields (nothing
  is left to reap). Idempotent: None when already deleting.
- `apply_failed`: `failed`/ApplyFailed, as if a verdict said so.
- `observe(state, verdict, now, thresholds, stale=)`: applies an aggregation verdict.
  * Entering `failed` sets failure_kind from the lifecycle: creating → creation; steady →
    runtime; rebuilding → rebuild, except for an environment that never ran, whose rebuild
    is a creation retry (decision 3) → creation. Only creation failures get
    `expires_at = failed_at + EXPIRY`.
  * Re-entering `failed` with the same failure kind (it failed, went back to `starting`,
    failed again without ever reaching `running`) keeps the first failed_at and expires_at,
    so a flapping environment cannot postpone its expiry forever.
  * Leaving `failed` for `starting` keeps failure_kind/failed_at/expires_at: the attempt has
    not succeeded yet. The reaper only reaps status `failed`, so this is safe.
  * Reaching `running` clears failure_kind and expires_at (and failed_at), sets ever_running
    and moves the lifecycle to `steady` (decision 4).
  * While the lifecycle is `deleting`, only `deleting` verdicts are applied.
  * History records episodes, not flicker: while the environment stays `failed` (same
    failure kind, same failed_at), a reason of the same failure episode (ErrImagePull ↔
    ImagePullBackOff, CreateContainerConfigError ↔ CreateContainerError ↔
    RunContainerError: `pod_evidence.failure_episode`) is not a change: the stored reason
    stays the one the episode began with, and no `status_changes` row is written.
  * A change is reported only when status, reason or failure_kind changes. A message-only
    difference is not a change: messages carry counts and durations that move on every
    event, and writing (and logging an event) for each would defeat "write only on change".
    The stored message is the one of the last real change; the live detail is in
    `Verdict.resources`.
  * BLIP hysteresis is applied by the aggregation (it owns the "not Current since" clock);
    the verdict that reaches `observe` already holds `running` through a blip.
  * Stale data (decision 1): with `stale=True` nothing changes. The caller must not advance
    clocks either: `resume_after_stale` pushes expires_at, and `EnvironmentMemory.shifted`
    the rule clocks, forward by the stale period.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from catalyst.domain.aggregation import Verdict
from catalyst.domain.model import EnvironmentStatus, FailureKind, Lifecycle
from catalyst.domain.pod_evidence import failure_episode
from catalyst.domain.thresholds import StatusThresholds


class LifecycleError(ValueError):
    """A transition that the current state does not allow (e.g. rebuilding while deleting)."""


@dataclass(frozen=True, slots=True)
class EnvironmentState:
    status: EnvironmentStatus
    reason: str
    message: str
    lifecycle: Lifecycle
    status_since: datetime
    failure_kind: FailureKind | None = None
    failed_at: datetime | None = None
    expires_at: datetime | None = None
    ever_running: bool = False


@dataclass(frozen=True, slots=True)
class StateChange:
    """A transition worth storing: `after` differs from `before` in status, reason or kind."""

    before: EnvironmentState | None
    after: EnvironmentState

    @property
    def from_status(self) -> EnvironmentStatus | None:
        return None if self.before is None else self.before.status

    @property
    def status_changed(self) -> bool:
        return self.before is None or self.before.status is not self.after.status


def created(now: datetime) -> EnvironmentState:
    """The state of a newly requested environment."""
    return EnvironmentState(
        status=EnvironmentStatus.STARTING,
        reason="Created",
        message="",
        lifecycle=Lifecycle.CREATING,
        status_since=now,
    )


def failure_kind_for(state: EnvironmentState) -> FailureKind:
    """The failure kind an environment in `state` would get if it failed now."""
    if state.lifecycle is Lifecycle.STEADY:
        return FailureKind.RUNTIME
    if state.lifecycle is Lifecycle.REBUILDING and state.ever_running:
        return FailureKind.REBUILD
    return FailureKind.CREATION


def rebuild_requested(state: EnvironmentState, now: datetime) -> StateChange:
    """A rebuild starts: `starting`, lifecycle `rebuilding`, no failure, no expiry."""
    if state.lifecycle is Lifecycle.DELETING:
        raise LifecycleError("an environment being deleted cannot be rebuilt")
    after = replace(
        state,
        status=EnvironmentStatus.STARTING,
        reason="RebuildRequested",
        message="",
        lifecycle=Lifecycle.REBUILDING,
        status_since=now if state.status is not EnvironmentStatus.STARTING else state.status_since,
        failure_kind=None,
        failed_at=None,
        expires_at=None,
    )
    return StateChange(state, after)


def delete_requested(state: EnvironmentState, now: datetime) -> StateChange | None:
    """Deletion starts: `deleting`. None when it already was (a repeated DELETE)."""
    if state.lifecycle is Lifecycle.DELETING:
        return None
    after = replace(
        state,
        status=EnvironmentStatus.DELETING,
        reason="Deleting",
        message="",
        lifecycle=Lifecycle.DELETING,
        status_since=now,
        failure_kind=None,
        failed_at=None,
        expires_at=None,
    )
    return StateChange(state, after)


def _transition(
    state: EnvironmentState,
    status: EnvironmentStatus,
    reason: str,
    message: str,
    now: datetime,
    thresholds: StatusThresholds,
) -> StateChange | None:
    if state.lifecycle is Lifecycle.DELETING and status is not EnvironmentStatus.DELETING:
        return None
    after = replace(state, status=status, reason=reason, message=message)
    if status is EnvironmentStatus.RUNNING:
        after = replace(
            after,
            failure_kind=None,
            failed_at=None,
            expires_at=None,
            ever_running=True,
            lifecycle=Lifecycle.STEADY,
        )
    elif status is EnvironmentStatus.FAILED:
        kind = failure_kind_for(state)
        if state.failure_kind is not kind or state.failed_at is None:
            expires_at = now + thresholds.expiry if kind is FailureKind.CREATION else None
            after = replace(after, failure_kind=kind, failed_at=now, expires_at=expires_at)
    if (after.status, after.reason, after.failure_kind) == (
        state.status,
        state.reason,
        state.failure_kind,
    ) or _same_failure_episode(state, after):
        return None
    if after.status is not state.status:
        after = replace(after, status_since=now)
    return StateChange(state, after)


def _same_failure_episode(before: EnvironmentState, after: EnvironmentState) -> bool:
    """Whether `after` is the failure `before` already records, under another name.

    One failed episode: the environment stays `failed` with the same failure kind and the
    same failed_at (it never left `failed` in between), and the two reasons are one
    episode of §6.5 (`failure_episode`: ErrImagePull and ImagePullBackOff alternate every
    back-off cycle; the container-config errors likewise). A different failure (a Job's
    BackoffLimitExceeded after an image pull failure) is still a change."""
    return (
        before.status is EnvironmentStatus.FAILED
        and after.status is EnvironmentStatus.FAILED
        and before.failure_kind is after.failure_kind
        and before.failed_at == after.failed_at
        and failure_episode(before.reason) == failure_episode(after.reason)
    )


def apply_failed(
    state: EnvironmentState,
    error: str,
    now: datetime,
    *,
    thresholds: StatusThresholds | None = None,
) -> StateChange | None:
    """The deployer could not render or apply the current revision."""
    return _transition(
        state, EnvironmentStatus.FAILED, "ApplyFailed", error, now, thresholds or StatusThresholds()
    )


def observe(
    state: EnvironmentState,
    verdict: Verdict,
    now: datetime,
    thresholds: StatusThresholds,
    *,
    stale: bool = False,
) -> StateChange | None:
    """Apply an aggregation verdict; None when nothing worth storing changed (or stale)."""
    if stale:
        return None
    return _transition(state, verdict.status, verdict.reason, verdict.message, now, thresholds)


def resume_after_stale(state: EnvironmentState, stale_for: timedelta) -> EnvironmentState:
    """Freeze the expiry clock over a stale period by pushing expires_at forward."""
    if state.expires_at is None or stale_for <= timedelta(0):
        return state
    return replace(state, expires_at=state.expires_at + stale_for)
