"""When a failed environment may be deleted automatically (status-spec §6.7, decision 1).

`ExpiryPolicy.is_reapable` is the reaper's last check at the moment of deletion. Only a
creation failure (it never reached `running`) whose expiry has passed is reapable, and
never while the watcher's data is stale: a cluster-wide outage must not wipe environments.
Runtime and rebuild failures are never reaped, whatever their fields say. The optional
mass-failure breaker (decision 6) is not implemented.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from catalyst.domain.lifecycle import EnvironmentState
from catalyst.domain.model import EnvironmentStatus, FailureKind, Lifecycle


@dataclass(frozen=True, slots=True)
class ExpiryPolicy:
    def reap_due_at(self, state: EnvironmentState) -> datetime | None:
        """When the environment would become reapable (data permitting); None for never."""
        if (
            state.status is not EnvironmentStatus.FAILED
            or state.failure_kind is not FailureKind.CREATION
            or state.lifecycle is Lifecycle.DELETING
        ):
            return None
        return state.expires_at

    def is_reapable(self, state: EnvironmentState, now: datetime, *, stale: bool) -> bool:
        """True only for a failed creation whose expiry has passed, on fresh data."""
        if stale:
            return False
        due = self.reap_due_at(state)
        return due is not None and now >= due
