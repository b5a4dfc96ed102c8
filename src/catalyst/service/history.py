"""An environment's status history, and keeping a failed environment for debugging.

- `EnvironmentHistory.page`: the environment's ``status_changes`` rows, oldest first, in
  pages that resume after the last change seen (the change ids only grow, so a page never
  repeats or skips a change written meanwhile).
- `EnvironmentHistory.keep`: drop the pending expiry of a failed environment (so the reaper
  never deletes it), or move it to a later ``until``. Never earlier: keeping must not
  shorten anyone's time. The change is written with its own history row (source ``api``,
  reason ``ExpiryRemoved`` or ``ExpiryExtended``, the token named in the message), in the
  same transaction, under optimistic locking. Asking to keep an environment that has no
  pending expiry and no ``until`` changes nothing; a ``until`` for one without a pending
  expiry is refused (409): there is nothing to move.

Visibility is the API's usual one: environments of other tokens are 404 to non-admins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from catalyst.domain.model import Lifecycle
from catalyst.service.caller import Caller
from catalyst.service.environments import API_SOURCE
from catalyst.service.errors import (
    EnvironmentBeingDeleted,
    EnvironmentNotFound,
    InvalidRequest,
    NoPendingExpiry,
)
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.optimistic import retry_stale
from catalyst.store.records import EnvironmentRecord, StatusChangeRecord
from catalyst.timestamps import rfc3339, utc_now

DEFAULT_PAGE = 100
MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Changes oldest first; ``next_after`` resumes after them (None: nothing more now)."""

    changes: Sequence[StatusChangeRecord]
    next_after: int | None


class EnvironmentHistory:
    """Reads an environment's history and keeps failed environments (module docstring)."""

    def __init__(
        self, *, environments: EnvironmentRepository, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._environments = environments
        self._clock = clock

    async def page(
        self, env_id: int, *, caller: Caller, after: int | None = None, limit: int = DEFAULT_PAGE
    ) -> HistoryPage:
        """Up to ``limit`` changes after the change ``after`` (from the first without it)."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest(f"limit: must be between 1 and {MAX_PAGE}")
        await self._visible(env_id, caller)
        # One more than asked tells whether another page follows.
        rows = await self._environments.list_status_changes(env_id, after_id=after, limit=limit + 1)
        changes = rows[:limit]
        next_after = changes[-1].id if len(rows) > limit else None
        return HistoryPage(changes, next_after)

    async def keep(
        self, env_id: int, *, caller: Caller, until: datetime | None = None
    ) -> EnvironmentRecord:
        """Drop the pending expiry, or move it to the later ``until``; returns the record."""

        async def attempt() -> EnvironmentRecord:
            record = await self._visible(env_id, caller)
            if record.lifecycle == Lifecycle.DELETING.value:
                raise EnvironmentBeingDeleted(f"environment {env_id} is being deleted")
            if record.expires_at is None:
                if until is None:
                    return record  # nothing pending: kept already
                raise NoPendingExpiry(f"environment {env_id} has no pending expiry to move")
            if until is not None and until <= record.expires_at:
                raise InvalidRequest(
                    f"until: must be later than the current expiry ({rfc3339(record.expires_at)})"
                )
            if until is None:
                reason, message = "ExpiryRemoved", f"expiry removed by token {caller.name!r}"
            else:
                reason = "ExpiryExtended"
                message = f"expiry moved to {rfc3339(until)} by token {caller.name!r}"
            return await self._environments.record_status_change(
                env_id,
                expected_version=record.version,
                source=API_SOURCE,
                now=self._clock(),
                history_reason=reason,
                history_message=message,
                expires_at=until,
            )

        return await retry_stale(attempt)

    async def _visible(self, env_id: int, caller: Caller) -> EnvironmentRecord:
        record = await self._environments.get(env_id)
        if record is None or not caller.may_see(record.owner_token_id):
            raise EnvironmentNotFound(f"environment {env_id} not found")
        return record
