"""What the leader replica does while it holds the Lease: watch, sync, reap, report.

:meth:`LeaderDuties.run` is the elector's ``on_started_leading`` callback
(`catalyst.cluster.leader_election`). For one term of leadership it runs, as one task group:

- the :class:`~catalyst.watcher.status_sync.StatusSync` (a fresh :class:`ClusterCache` per
  term: a new leader always starts from a full list, never from another term's cache),
  writing through a :class:`~catalyst.leader.status_writer.WatchedStatusWriter`;
- the :class:`~catalyst.leader.reaper.Reaper`, which asks the sync whether data is stale
  and whether an environment still awaits its re-evaluation after a stale period, and
  starts only once the sync has evaluated every environment;
- the :class:`~catalyst.leader.heartbeat.WatcherHeartbeat`;
- the :class:`~catalyst.service.webhook_delivery.WebhookDelivery`, when given (webhook
  deliveries survive its failures; only a bug ends it).

When leadership is lost the elector cancels the task; the group stops every part, and the
cache's informers close their watches. If one part fails, the others are stopped too and
the exception propagates, so the elector releases the Lease and a healthy replica can take
over; this one competes again after its retry period.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from catalyst.cluster.client import ClusterClient
from catalyst.domain import StatusThresholds
from catalyst.leader.heartbeat import WatcherHeartbeat
from catalyst.leader.reaper import Reaper
from catalyst.leader.status_writer import WatchedStatusWriter
from catalyst.service.environments import EnvironmentService
from catalyst.service.status import StatusService
from catalyst.service.webhook_delivery import WebhookDelivery
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.heartbeat import HeartbeatRepository
from catalyst.timestamps import utc_now
from catalyst.watcher.cluster_cache import ClusterCache
from catalyst.watcher.status_sync import StatusSync

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LeaderSettings:
    """Timings of the leader's duties (all seconds)."""

    resync_period: float = 60.0
    poll_interval: float = 1.0
    heartbeat_interval: float = 5.0
    reaper_interval: float = 30.0
    max_backoff: float = 2.0
    min_watch_timeout: int = 300
    use_watch_list: bool = True


class LeaderDuties:
    """Runs the watcher, the reaper and the heartbeat for one term of leadership."""

    def __init__(
        self,
        *,
        client: ClusterClient,
        environments: EnvironmentRepository,
        environment_service: EnvironmentService,
        status: StatusService,
        heartbeats: HeartbeatRepository,
        thresholds: StatusThresholds,
        identity: str,
        settings: LeaderSettings | None = None,
        clock: Callable[[], datetime] = utc_now,
        webhooks: WebhookDelivery | None = None,
    ) -> None:
        self._client = client
        self._environments = environments
        self._environment_service = environment_service
        self._status = status
        self._heartbeats = heartbeats
        self._thresholds = thresholds
        self.identity = identity
        self._settings = settings or LeaderSettings()
        self._clock = clock
        self._webhooks = webhooks
        self.sync: StatusSync | None = None
        """This term's status sync (None between terms)."""

    async def run(self) -> None:
        """Run every duty until cancelled (leadership lost) or until one of them fails."""
        settings = self._settings
        last = await self._heartbeats.get()
        last_fresh_at = last.fresh_at if last is not None else None
        cache = ClusterCache(
            self._client,
            max_backoff=settings.max_backoff,
            min_watch_timeout=settings.min_watch_timeout,
            use_watch_list=settings.use_watch_list,
        )
        sync = StatusSync(
            cache=cache,
            writer=WatchedStatusWriter(environments=self._environments, status=self._status),
            thresholds=self._thresholds,
            poll_interval=settings.poll_interval,
            resync_period=settings.resync_period,
            stale_before=self._unwatched_for(last_fresh_at),
        )
        reaper = Reaper(
            environments=self._environments,
            service=self._environment_service,
            is_stale=sync.is_stale,
            awaits_reevaluation=sync.awaits_reevaluation,
            interval=settings.reaper_interval,
            clock=self._clock,
        )
        heartbeat = WatcherHeartbeat(
            heartbeats=self._heartbeats,
            sync=sync,
            holder=self.identity,
            interval=settings.heartbeat_interval,
            last_fresh_at=last_fresh_at,
            clock=self._clock,
        )
        self.sync = sync
        logger.info("leader %s: starting the watcher and the reaper", self.identity)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(sync.run(), name="status sync")
                tasks.create_task(self._reap_when_synced(sync, reaper), name="reaper")
                tasks.create_task(heartbeat.run(), name="watcher heartbeat")
                if self._webhooks is not None:
                    tasks.create_task(self._webhooks.run(), name="webhook delivery")
        finally:
            self.sync = None
            logger.info("leader %s: watcher and reaper stopped", self.identity)

    def _unwatched_for(self, last_fresh_at: datetime | None) -> float:
        """Seconds the cluster data has been stale at the start of this term: since the last
        moment a leader knew its data fresh (the heartbeat) plus STALE, or 0. Credited by the
        sync, so that the time nobody watched (the Lease changed hands during an outage, or
        no replica ran) never makes an environment fail or expire sooner."""
        if last_fresh_at is None:
            return 0.0
        unwatched = (self._clock() - last_fresh_at) - self._thresholds.stale
        seconds = max(0.0, unwatched.total_seconds())
        if seconds:
            logger.info(
                "leader %s: cluster data unwatched for %.1fs before this term; credited",
                self.identity,
                seconds,
            )
        return seconds

    async def _reap_when_synced(self, sync: StatusSync, reaper: Reaper) -> None:
        # Reaping before the first full evaluation would act on statuses this term has not
        # confirmed yet.
        await sync.synced.wait()
        await reaper.run()
