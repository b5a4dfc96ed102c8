"""The reaper: deletes environments whose expiry has passed (leader only).

Only creation failures carry an expiry (status-spec §6.7). The reaper never trusts the
list it started from: at the moment of deleting it re-reads the environment and asks
:class:`~catalyst.domain.ExpiryPolicy` again, with the watcher's current staleness, so

- an environment that recovered (``running`` clears the expiry) or was rebuilt since the
  sweep began is left alone;
- nothing at all is deleted while the watcher's data is stale: during a cluster outage the
  statuses are frozen and may be wrong, and wiping environments on wrong data is the one
  mistake this product must never make;
- after a stale period, an environment is left alone until the watcher has re-evaluated it
  with the stale time credited (``awaits_reevaluation``, from the status sync): until then
  its stored expiry is one the outage should have pushed back. It is looked at again on a
  later sweep.

Deleting goes through the same use case as ``DELETE /api/environments/{id}``, so the
environment shows ``deleting`` and the operation runner removes its namespace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from catalyst.domain import ExpiryPolicy
from catalyst.service.caller import Caller
from catalyst.service.environments import EnvironmentService
from catalyst.service.errors import EnvironmentNotFound
from catalyst.service.state import state_of
from catalyst.store.environments import EnvironmentRepository
from catalyst.timestamps import utc_now

logger = logging.getLogger(__name__)

REAPER_SOURCE = "reaper"
REAPER = Caller(token_id=0, name="reaper", admin=True)


class Reaper:
    """Periodically deletes expired environments, re-checking each one at that moment."""

    def __init__(
        self,
        *,
        environments: EnvironmentRepository,
        service: EnvironmentService,
        is_stale: Callable[[], bool],
        awaits_reevaluation: Callable[[int], bool] | None = None,
        policy: ExpiryPolicy | None = None,
        interval: float = 30.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._environments = environments
        self._service = service
        self._is_stale = is_stale
        self._awaits_reevaluation = awaits_reevaluation or (lambda _env_id: False)
        self._policy = policy or ExpiryPolicy()
        self._interval = interval
        self._clock = clock

    async def run(self) -> None:
        """Sweep every ``interval`` seconds until cancelled; a failed sweep is logged."""
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("reaper: sweep failed")
            await asyncio.sleep(self._interval)

    async def sweep(self) -> list[int]:
        """Delete what is due now; returns the ids whose deletion was requested."""
        if self._is_stale():
            logger.info("reaper: watcher data is stale; deleting nothing")
            return []
        reaped: list[int] = []
        for candidate in await self._environments.list_reapable(now=self._clock()):
            if self._awaits_reevaluation(candidate.id):
                logger.info(
                    "reaper: environment %s awaits re-evaluation after stale data; later",
                    candidate.id,
                )
                continue
            record = await self._environments.get(candidate.id)
            now = self._clock()
            if (
                record is None
                or self._awaits_reevaluation(record.id)
                or not self._policy.is_reapable(state_of(record), now, stale=self._is_stale())
            ):
                continue
            try:
                await self._service.delete(record.id, caller=REAPER, source=REAPER_SOURCE)
            except EnvironmentNotFound:
                continue
            logger.info(
                "reaper: environment %s (%s) failed during creation and expired at %s; deleting",
                record.id,
                record.name,
                record.expires_at,
            )
            reaped.append(record.id)
        return reaped
