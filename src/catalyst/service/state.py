"""Translating between stored environment rows and the domain's `EnvironmentState`.

The domain's state machine works on `EnvironmentState`; the store keeps the same facts as
columns. `state_of` reads them out of a record, `columns_of` gives the column changes that
store a new state. Both use the fixed strings of docs/dev/catalyst-internals.md.
"""

from __future__ import annotations

from typing import Unpack

from catalyst.domain import EnvironmentState
from catalyst.domain.model import EnvironmentStatus, FailureKind, Lifecycle
from catalyst.store.environments import EnvironmentChanges
from catalyst.store.records import EnvironmentRecord


def state_of(record: EnvironmentRecord) -> EnvironmentState:
    """The domain state a stored environment is in."""
    return EnvironmentState(
        status=EnvironmentStatus(record.status),
        reason=record.status_reason,
        message=record.status_message,
        lifecycle=Lifecycle(record.lifecycle),
        status_since=record.status_since,
        failure_kind=FailureKind(record.failure_kind) if record.failure_kind else None,
        failed_at=record.failed_at,
        expires_at=record.expires_at,
        ever_running=record.ever_running,
    )


def columns_of(state: EnvironmentState, **extra: Unpack[EnvironmentChanges]) -> EnvironmentChanges:
    """The column values that store ``state``, plus ``extra`` columns."""
    columns = EnvironmentChanges(
        status=state.status.value,
        status_reason=state.reason,
        status_message=state.message,
        status_since=state.status_since,
        lifecycle=state.lifecycle.value,
        failure_kind=state.failure_kind.value if state.failure_kind else None,
        failed_at=state.failed_at,
        expires_at=state.expires_at,
        ever_running=state.ever_running,
    )
    columns.update(extra)
    return columns
