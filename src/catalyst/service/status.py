"""Recomputing one environment's status from the cluster, now (``?latestStatus=1``).

`StatusService.refresh_from_cluster` reads the environment's objects straight from the
cluster (bypassing any watcher cache), evaluates them with the domain's rules, passes the
verdict through the lifecycle state machine and stores the result:

- a change of status, reason or failure kind is written with its ``status_changes`` row
  (source ``latest-status``) in one transaction;
- otherwise nothing is written unless the rules' memory or the expiry changed (the
  returned record still carries ``status_observed_at`` = now);
- a verdict of "fully deleted" is not acted on here (the delete operation owns that).

Messages come from the cluster (an object's conditions, a pod's waiting reason) and name
objects, so they can carry a secret value a chart put into a name or label: every message
of the verdict, and every object's name and message in ``resources``, is scrubbed of the
environment's secret values (`catalyst.service.redaction.scrub_message`) before it is
compared, stored, returned or logged — for the watcher and ``?latestStatus=1`` alike.

Concurrent writers (the operation runner, the watcher) are handled by optimistic locking:
on `StaleRecord` the row is re-read and the evaluation repeated, a bounded number of times.
Cluster failures propagate as `catalyst.cluster.ClusterError`; nothing is stored then.
The watcher's writer (`catalyst.service.watched_status`) goes through `apply_observation`
with objects from the watcher's cache instead of a live read.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from catalyst.charts.secret_scrub import secret_values
from catalyst.cluster import EnvironmentReader, EnvironmentSnapshot
from catalyst.cluster.labels import REVISION as REVISION_LABEL
from catalyst.domain import (
    EnvironmentMemory,
    EnvironmentObservation,
    ResourceStatus,
    StatusThresholds,
    Verdict,
    evaluate_environment,
    observe,
    resume_after_stale,
)
from catalyst.domain.model import EnvironmentStatus, Lifecycle
from catalyst.service.redaction import message_scrubber
from catalyst.service.state import columns_of, state_of
from catalyst.store.environments import EnvironmentChanges, EnvironmentRepository
from catalyst.store.errors import StaleRecord
from catalyst.store.optimistic import retry_stale
from catalyst.store.records import EnvironmentRecord, Inventory
from catalyst.timestamps import utc_now

logger = logging.getLogger(__name__)

LATEST_STATUS_SOURCE = "latest-status"
WATCHER_SOURCE = "watcher"


@dataclass(frozen=True, slots=True)
class ObservedEnvironment:
    """An environment as stored after a fresh evaluation, with each object's status."""

    record: EnvironmentRecord
    resources: list[ResourceStatus]
    changed: bool = False
    """Whether status, reason or failure kind changed (a ``status_changes`` row was written)."""
    next_evaluation_in: float | None = None
    """Seconds until a time threshold could change the verdict without any event (None:
    nothing pending); the watcher schedules a re-evaluation then."""


def observation_for(
    record: EnvironmentRecord, inventory: Inventory, snapshot: EnvironmentSnapshot
) -> EnvironmentObservation:
    """The domain's input for one environment: stored facts plus the cluster's objects.

    Of the deleted objects' final states, only those labelled with the requested revision
    are passed on: a Job of an older revision that completed says nothing of the new one.
    Present objects labelled with an older revision than the requested one are
    ``superseded``: the rules never let them decide the verdict (the rebuild barrier holds
    back their failures too). An object without a readable revision label is judged."""
    revision = str(record.revision)
    departed = {ref: obj for ref, obj in snapshot.departed.items() if _revision_of(obj) == revision}
    superseded = frozenset(
        ref
        for ref, obj in snapshot.objects.items()
        if (label := _revision_of(obj)) is not None
        and label.isdigit()
        and int(label) < record.revision
    )
    return EnvironmentObservation(
        lifecycle=Lifecycle(record.lifecycle),
        inventory=list(inventory.objects),
        objects=snapshot.objects,
        pods=snapshot.pods,
        replicasets=snapshot.replicasets,
        departed=departed,
        revision=record.revision,
        deletion_requested=record.lifecycle == Lifecycle.DELETING.value,
        deployer_error=record.operation_error if record.operation is None else None,
        apply_confirmed=record.applied_revision == record.revision,
        previous_status=EnvironmentStatus(record.status),
        previous_status_since=record.status_since,
        namespace_exists=snapshot.namespace_exists,
        superseded=superseded,
    )


def _revision_of(obj: dict[str, Any]) -> str | None:
    """The ``catalyst.io/revision`` label the deployer put on a top-level object."""
    label = ((obj.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL)
    return None if label is None else str(label)


class StatusService:
    """Evaluates environments against live cluster data and stores the outcome."""

    def __init__(
        self,
        *,
        environments: EnvironmentRepository,
        reader: EnvironmentReader,
        thresholds: StatusThresholds,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._environments = environments
        self._reader = reader
        self._thresholds = thresholds
        self._clock = clock

    async def refresh_from_cluster(self, record: EnvironmentRecord) -> ObservedEnvironment:
        """Read the environment from the cluster now, store its status, return both."""
        current = record

        async def attempt() -> ObservedEnvironment:
            nonlocal current
            inventory = await self._environments.get_inventory(current.id)
            snapshot = await self._reader.read_environment(
                current.namespace, current.id, kinds=inventory.kinds()
            )
            try:
                return await self.apply_observation(
                    current, observation_for(current, inventory, snapshot), LATEST_STATUS_SOURCE
                )
            except StaleRecord:
                fresh = await self._environments.get(current.id)
                if fresh is None:
                    raise
                current = fresh
                raise

        return await retry_stale(attempt)

    async def apply_observation(
        self,
        record: EnvironmentRecord,
        observation: EnvironmentObservation,
        source: str,
        *,
        stale_for: timedelta | None = None,
    ) -> ObservedEnvironment:
        """Evaluate ``observation`` for ``record`` and store the result (raises StaleRecord).

        ``stale_for``: how long the data was stale before this evaluation (watcher only).
        Every rule clock and the expiry are moved forward by it first, so time spent
        without fresh data never makes an environment fail or expire sooner.
        """
        now = self._clock()
        memory = EnvironmentMemory.from_json(record.status_memory)
        state = state_of(record)
        if stale_for:
            memory = memory.shifted(stale_for)
            state = resume_after_stale(state, stale_for)
        verdict, memory = evaluate_environment(
            observation, memory, now=now, thresholds=self._thresholds
        )
        verdict = _scrubbed(verdict, record.values)
        change = observe(state, verdict, now, self._thresholds)
        if change is None:
            # Nothing a client can see changed: write only what the rules must remember
            # (timers, restart baselines) or an expiry moved over a stale period. Skipping
            # no-op writes keeps concurrent evaluators (the watcher, ?latestStatus=1) from
            # invalidating each other's optimistic lock.
            refresh = EnvironmentChanges()
            new_memory = memory.to_json()
            if new_memory != record.status_memory:
                refresh["status_memory"] = new_memory
            if state.expires_at != record.expires_at:
                refresh["expires_at"] = state.expires_at
            stored = record
            if refresh:
                stored = await self._environments.update(
                    record.id, expected_version=record.version, now=now, **refresh
                )
            # The status was confirmed just now, whether or not anything was written.
            stored = dataclasses.replace(stored, status_observed_at=now)
        else:
            changes = columns_of(
                change.after, status_memory=memory.to_json(), status_observed_at=now
            )
            stored = await self._environments.record_status_change(
                record.id, expected_version=record.version, source=source, now=now, **changes
            )
            logger.info(
                "environment %s: %s → %s (%s) [%s]",
                record.id,
                record.status,
                stored.status,
                stored.status_reason,
                source,
            )
        next_in = (
            (verdict.next_evaluation_at - now).total_seconds()
            if verdict.next_evaluation_at is not None
            else None
        )
        return ObservedEnvironment(
            stored, list(verdict.resources), changed=change is not None, next_evaluation_in=next_in
        )


def _scrubbed(verdict: Verdict, values: Any) -> Verdict:
    """The verdict with the environment's secret values masked in every text it shows."""
    if not secret_values(values):
        return verdict
    scrub = message_scrubber(values)
    resources = [
        dataclasses.replace(
            resource,
            ref=dataclasses.replace(resource.ref, name=scrub(resource.ref.name)),
            message=scrub(resource.message),
        )
        for resource in verdict.resources
    ]
    return dataclasses.replace(verdict, message=scrub(verdict.message), resources=resources)
