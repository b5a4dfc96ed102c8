"""Environment use cases: create, list, read (optionally live), delete, rebuild.

Guarantees:

- Requests only write the database and wake the `OperationRunner`; deploying happens in the
  background (`catalyst.service.operations`), so the API answers at once. Two exceptions:
  `get_latest` (``?latestStatus=1``) reads the cluster on purpose, and create and rebuild,
  given a `RenderPreflight`, render the chart first and refuse (422, nothing stored) values
  that make it render cluster-scoped objects.
- Every state change goes through the domain's lifecycle state machine and is written with
  its ``status_changes`` row (source ``api``) in the same transaction.
- Non-admin callers see only environments their token created; anything else raises
  `EnvironmentNotFound`, exactly like an unknown id.
- Deleted environments (``deleted_at`` set) are invisible: 404 and absent from listings.
- DELETE is idempotent: deleting an environment that is already being deleted returns it
  unchanged. A rebuild of an environment being deleted is refused (409).
- Concurrent writers are handled by optimistic locking: on `StaleRecord` the row is re-read
  and the decision made again, a bounded number of times.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from catalyst.cluster import ClusterError
from catalyst.domain import LifecycleError, delete_requested, rebuild_requested
from catalyst.domain.model import Operation
from catalyst.service.caller import Caller
from catalyst.service.charts import ChartService
from catalyst.service.errors import (
    ChartNotFound,
    ClusterUnavailable,
    EnvironmentBeingDeleted,
    EnvironmentNameTaken,
    EnvironmentNotFound,
    RequestMismatch,
)
from catalyst.service.freshness import UNWATCHED, Freshness, FreshnessSource
from catalyst.service.listing import EnvironmentListing, ItemRenderer
from catalyst.service.preflight import CREATE_NAMESPACE, RenderPreflight
from catalyst.service.redaction import redact_secrets
from catalyst.service.runner import OperationRunner
from catalyst.service.state import columns_of, state_of
from catalyst.service.status import ObservedEnvironment, StatusService
from catalyst.store.environments import EnvironmentChanges, EnvironmentRepository
from catalyst.store.errors import NameTaken, StaleRecord
from catalyst.store.optimistic import retry_stale
from catalyst.store.records import EnvironmentRecord
from catalyst.timestamps import utc_now

logger = logging.getLogger(__name__)

API_SOURCE = "api"


class EnvironmentService:
    """The environment use cases the API calls (see module docstring)."""

    def __init__(
        self,
        *,
        environments: EnvironmentRepository,
        charts: ChartService,
        runner: OperationRunner,
        status: StatusService,
        clock: Callable[[], datetime] = utc_now,
        freshness: FreshnessSource | None = None,
        preflight: RenderPreflight | None = None,
    ) -> None:
        self._environments = environments
        self._listing = EnvironmentListing(environments, freshness=freshness)
        self._freshness = freshness
        self._preflight = preflight
        self._charts = charts
        self._runner = runner
        self._status = status
        self._clock = clock

    # -- reading ------------------------------------------------------------------------

    async def list(self, *, caller: Caller) -> list[EnvironmentRecord]:
        """Live environments visible to the caller (database only), ordered by id."""
        if caller.admin:
            return await self._environments.list_live()
        return await self._environments.list_live(owner_token_id=caller.token_id)

    async def list_json(self, *, caller: Caller, render: ItemRenderer) -> bytes:
        """The listing as a JSON array body, from this process's cache of rendered
        environments (only changed rows are read again; see `EnvironmentListing`)."""
        return await self._listing.body(caller, render=render)

    async def aclose(self) -> None:
        """Stop the listing cache: wait for its refresh in flight; later listings raise."""
        await self._listing.aclose()

    async def freshness(self) -> Freshness:
        """How current the watcher's statuses are right now (for ``stale`` in responses)."""
        return await self._freshness() if self._freshness is not None else UNWATCHED

    async def get(self, env_id: int, *, caller: Caller) -> EnvironmentRecord:
        """One live environment visible to the caller, or `EnvironmentNotFound`."""
        record = await self._environments.get(env_id)
        if record is None or not caller.may_see(record.owner_token_id):
            raise EnvironmentNotFound(f"environment {env_id} not found")
        return record

    async def get_latest(self, env_id: int, *, caller: Caller) -> ObservedEnvironment:
        """The environment with its status recomputed from the cluster now (and stored)."""
        record = await self.get(env_id, caller=caller)
        try:
            return await self._status.refresh_from_cluster(record)
        except ClusterError as exc:
            logger.warning("environment %s: latest status not readable: %s", env_id, exc)
            raise ClusterUnavailable(
                "cluster: not reachable right now; the stored status is served without latestStatus"
            ) from None

    # -- changing -----------------------------------------------------------------------

    async def create(
        self, *, caller: Caller, name: str, chart_name: str, values: dict[str, Any]
    ) -> EnvironmentRecord:
        """Store a new environment (``starting``, operation create) and deploy it later."""
        try:
            await self._charts.get(chart_name)
        except ChartNotFound:
            raise ChartNotFound(f"chartName: no chart named {chart_name!r}") from None
        await self._check_render(chart_name, name, CREATE_NAMESPACE, values)
        try:
            record = await self._environments.create(
                name=name,
                chart_name=chart_name,
                values=values,
                owner_token_id=caller.token_id,
                now=self._clock(),
            )
        except NameTaken:
            raise EnvironmentNameTaken(
                f"name: an environment named {name!r} already exists"
            ) from None
        logger.info(
            "environment %s (%s, chart %s) created by token %s with values %s",
            record.id,
            name,
            chart_name,
            caller.name,
            redact_secrets(values),
        )
        self._runner.submit(record.id)
        return record

    async def rebuild(
        self,
        env_id: int,
        *,
        caller: Caller,
        name: str | None,
        chart_name: str | None,
        values: dict[str, Any],
    ) -> EnvironmentRecord:
        """Re-render with ``values`` as a new revision, re-apply and prune (background)."""
        record = await self.get(env_id, caller=caller)
        if name is not None and name != record.name:
            raise RequestMismatch(f"name: must be the environment's name ({record.name!r})")
        if chart_name is not None and chart_name != record.chart_name:
            raise RequestMismatch(
                f"chartName: must be the environment's chart ({record.chart_name!r})"
            )

        await self._check_render(
            record.chart_name, record.name, record.namespace, values, upgrade=True
        )

        def rebuild_changes(current: EnvironmentRecord, now: datetime) -> EnvironmentChanges:
            try:
                change = rebuild_requested(state_of(current), now)
            except LifecycleError:
                raise EnvironmentBeingDeleted(
                    f"environment {env_id} is being deleted and cannot be rebuilt"
                ) from None
            return columns_of(
                change.after,
                values=values,
                revision=current.revision + 1,
                operation=Operation.REBUILD.value,
                operation_error=None,
            )

        record, _ = await self._record_transition(
            record, caller=caller, source=API_SOURCE, changes_for=rebuild_changes
        )
        logger.info(
            "environment %s: rebuild to revision %s requested by token %s with values %s",
            env_id,
            record.revision,
            caller.name,
            redact_secrets(values),
        )
        self._runner.submit(record.id)
        return record

    async def delete(
        self, env_id: int, *, caller: Caller, source: str = API_SOURCE
    ) -> EnvironmentRecord:
        """Mark the environment ``deleting`` and delete it in the background (idempotent).

        ``source`` names who asked in the status history (the API, or the reaper)."""
        record = await self.get(env_id, caller=caller)

        def delete_changes(current: EnvironmentRecord, now: datetime) -> EnvironmentChanges | None:
            change = delete_requested(state_of(current), now)
            if change is None:
                return None  # already being deleted
            return columns_of(change.after, operation=Operation.DELETE.value, operation_error=None)

        record, written = await self._record_transition(
            record, caller=caller, source=source, changes_for=delete_changes
        )
        if not written:
            # Already being deleted; make sure the work is (still) queued.
            if record.operation != Operation.DELETE.value:
                record = await self._queue_delete(record, self._clock())
            self._runner.submit(record.id)
            return record
        logger.info("environment %s: deletion requested by token %s", env_id, caller.name)
        self._runner.submit(record.id)
        return record

    async def _check_render(
        self,
        chart_name: str,
        name: str,
        namespace: str,
        values: dict[str, Any],
        *,
        upgrade: bool = False,
    ) -> None:
        """Refuse values that render cluster-scoped objects (`ClusterScopedRender`), as a
        create installs them or, with ``upgrade``, a rebuild upgrades them."""
        if self._preflight is not None:
            await self._preflight.check(
                chart_name=chart_name,
                release_name=name,
                namespace=namespace,
                values=values,
                upgrade=upgrade,
            )

    async def _record_transition(
        self,
        record: EnvironmentRecord,
        *,
        caller: Caller,
        source: str,
        changes_for: Callable[[EnvironmentRecord, datetime], EnvironmentChanges | None],
    ) -> tuple[EnvironmentRecord, bool]:
        """Write the lifecycle change ``changes_for`` computes from the current record, with
        its history row; on a concurrent write, re-read and compute again. Returns the
        stored record and whether anything was written (``changes_for`` returned None)."""
        current = record

        async def attempt() -> tuple[EnvironmentRecord, bool]:
            nonlocal current
            now = self._clock()
            changes = changes_for(current, now)
            if changes is None:
                return current, False
            try:
                stored = await self._environments.record_status_change(
                    current.id, expected_version=current.version, source=source, now=now, **changes
                )
            except StaleRecord:
                current = await self.get(current.id, caller=caller)
                raise
            return stored, True

        return await retry_stale(attempt)

    async def _queue_delete(self, record: EnvironmentRecord, now: datetime) -> EnvironmentRecord:
        try:
            return await self._environments.set_operation(
                record.id,
                expected_version=record.version,
                operation=Operation.DELETE.value,
                now=now,
            )
        except StaleRecord:
            fresh = await self._environments.get(record.id)
            if fresh is None:
                raise EnvironmentNotFound(f"environment {record.id} not found") from None
            return fresh
