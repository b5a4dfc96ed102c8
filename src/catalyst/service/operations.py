"""Executing one environment's pending operation (the `OperationRunner`'s executor).

- ``create`` / ``rebuild``: render the chart with Helm (release name = environment name,
  namespace ``env-<id>``), apply the objects with server-side apply as Helm installs (a
  create) or upgrades (a rebuild) them, hooks in their phases (waiting for hook Jobs, each
  bounded by HOOK_TIMEOUT; `catalyst.cluster.hooks`), prune what the previous inventory had
  and the new render dropped, then record the inventory of that revision and
  ``applied_revision`` (the rebuild barrier opens only then). Nothing leaves
  the environment's namespace (`catalyst.cluster.deployer`): a render with cluster-scoped
  objects of kinds the operator did not allow, or with objects that exist already without
  the environment's labels, fails the environment with a reason naming every such object,
  and nothing of that render is applied; prune deletes only what carries the labels.
- ``delete``: delete the environment's allowed cluster-scoped objects and its namespace,
  wait until the namespace is gone (at most DELETE_TIMEOUT), then soft-delete the row (the
  API answers 404 from then on).

Failure handling: a render error, a refusal by the cluster or a failed or timed-out hook
(`ChartRenderError`, `DeployError`, `HookFailed`, an unknown chart) is the environment's
fault — it is stored as status ``failed``/ApplyFailed (the message names the hook and why)
through the domain's state machine (a creation failure gets the 3-day expiry) and the
operation is finished. A cluster that cannot be reached (connection errors,
5xx, 429 after retries) or a namespace deletion that times out is not: the exception goes
to the runner, which logs it and retries later, and the operation stays pending.

Concurrency: the row is re-read before every write (optimistic locking). If another request
changed the pending work meanwhile (a delete arrived during a create, or a second rebuild),
the finished operation records what it did but leaves the new work pending for the runner's
next round. Every operation logs its start, end and failure with the environment id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from catalyst.charts import ChartRenderError, HelmRenderer
from catalyst.cluster import (
    ClusterConnectionError,
    ClusterError,
    ClusterTooManyRequestsError,
    Deployer,
    DeployError,
    DeployTarget,
    ReleaseEvent,
)
from catalyst.domain import StatusThresholds, apply_failed
from catalyst.domain.model import Operation
from catalyst.service.charts import ChartService
from catalyst.service.errors import ChartNotFound
from catalyst.service.redaction import scrub_message
from catalyst.service.runner import OperationInterrupted
from catalyst.service.state import columns_of, state_of
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.optimistic import retry_stale
from catalyst.store.records import EnvironmentRecord
from catalyst.timestamps import utc_now

logger = logging.getLogger(__name__)

DEPLOYER_SOURCE = "deployer"


def _is_transient(error: DeployError) -> bool:
    """A deploy error caused by the path to the cluster, not by what was deployed."""
    cause = error.cause
    return isinstance(cause, ClusterConnectionError | ClusterTooManyRequestsError) or (
        cause is not None and cause.status >= 500
    )


class EnvironmentOperations:
    """Runs create/rebuild/delete for the `OperationRunner` (see module docstring)."""

    def __init__(
        self,
        *,
        environments: EnvironmentRepository,
        charts: ChartService,
        renderer: HelmRenderer,
        deployer: Deployer,
        thresholds: StatusThresholds,
        delete_timeout: float,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._environments = environments
        self._charts = charts
        self._renderer = renderer
        self._deployer = deployer
        self._thresholds = thresholds
        self._delete_timeout = delete_timeout
        self._clock = clock

    async def pending_environment_ids(self) -> list[int]:
        return [r.id for r in await self._environments.list_pending_operations()]

    async def run_pending(self, env_id: int) -> bool:
        record = await self._environments.get(env_id)
        if record is None or record.operation is None:
            return False
        operation = Operation(record.operation)
        logger.info(
            "environment %s: %s (revision %s) started", env_id, operation.value, record.revision
        )
        try:
            if operation is Operation.DELETE:
                await self._delete(record)
            else:
                await self._deploy(record, operation)
        except (DeployError, ClusterError) as exc:
            # Logged by the runner: the cluster's message, scrubbed (it can name objects).
            logger.warning(
                "environment %s: %s interrupted; it stays pending", env_id, operation.value
            )
            cause = exc.cause if isinstance(exc, DeployError) else exc
            raise OperationInterrupted(
                scrub_message(str(exc), record.values),
                unreachable=isinstance(cause, ClusterConnectionError),
            ) from None
        except Exception:
            logger.warning(
                "environment %s: %s interrupted; it stays pending", env_id, operation.value
            )
            raise
        return True

    # -- create / rebuild ---------------------------------------------------------------

    async def _deploy(self, record: EnvironmentRecord, operation: Operation) -> None:
        revision = record.revision
        previous = await self._environments.get_inventory(record.id)
        try:
            chart_dir = await self._charts.path(record.chart_name)
            objects = await self._renderer.render(
                chart_dir,
                release_name=record.name,
                namespace=record.namespace,
                values=record.values,
                upgrade=operation is Operation.REBUILD,
            )
            target = DeployTarget(
                environment_id=record.id,
                chart=record.chart_name,
                revision=revision,
                namespace=record.namespace,
            )
            event = ReleaseEvent.INSTALL if operation is Operation.CREATE else ReleaseEvent.UPGRADE
            applied = await self._deployer.apply_environment(target, objects, event=event)
        except DeployError as exc:
            if _is_transient(exc):
                raise
            await self._fail(record, operation, f"{exc}")
            return
        except (ChartRenderError, ChartNotFound) as exc:
            await self._fail(record, operation, f"{exc}")
            return
        # Prune before recording the new inventory: if pruning is interrupted, the old
        # inventory (which still lists the dropped objects) makes the retry prune them.
        if previous.objects:
            try:
                pruned = await self._deployer.prune(
                    record.namespace,
                    keep=applied,
                    previous=list(previous.objects),
                    environment_id=record.id,
                )
            except DeployError as exc:
                if _is_transient(exc):
                    raise
                await self._fail(record, operation, f"prune: {exc}")
                return
            if pruned:
                logger.info(
                    "environment %s: pruned %s",
                    record.id,
                    ", ".join(str(r) for r in pruned),
                )
        await self._environments.set_inventory(
            record.id,
            revision=revision,
            objects=applied,
        )
        await self._finish(record.id, operation, revision, applied_revision=revision)
        logger.info(
            "environment %s: %s (revision %s) applied %d objects",
            record.id,
            operation.value,
            revision,
            len(applied),
        )

    async def _fail(self, record: EnvironmentRecord, operation: Operation, error: str) -> None:
        """Store the failure (if this operation is still the pending one) and finish it."""
        # The cluster's words may quote a secret value (an object named after it).
        error = scrub_message(error, record.values)
        logger.warning("environment %s: %s failed: %s", record.id, operation.value, error)

        async def attempt() -> None:
            fresh = await self._environments.get(record.id)
            if fresh is None:
                return
            if fresh.operation != operation.value or fresh.revision != record.revision:
                return  # superseded (deleted, or rebuilt again): the new work decides
            change = apply_failed(
                state_of(fresh), error, self._clock(), thresholds=self._thresholds
            )
            if change is None:
                await self._environments.clear_operation(
                    fresh.id, expected_version=fresh.version, error=error
                )
            else:
                changes = columns_of(change.after, operation=None, operation_error=error)
                await self._environments.record_status_change(
                    fresh.id,
                    expected_version=fresh.version,
                    source=DEPLOYER_SOURCE,
                    now=self._clock(),
                    **changes,
                )

        await retry_stale(attempt)

    async def _finish(
        self,
        env_id: int,
        operation: Operation,
        revision: int,
        *,
        applied_revision: int,
    ) -> None:
        """Record the applied revision; clear the operation unless new work replaced it."""

        async def attempt() -> None:
            fresh = await self._environments.get(env_id)
            if fresh is None:
                return
            if fresh.operation == operation.value and fresh.revision == revision:
                await self._environments.update(
                    env_id,
                    expected_version=fresh.version,
                    now=self._clock(),
                    applied_revision=applied_revision,
                    operation=None,
                    operation_error=None,
                )
            elif fresh.revision == revision:
                await self._environments.update(
                    env_id,
                    expected_version=fresh.version,
                    now=self._clock(),
                    applied_revision=applied_revision,
                )

        await retry_stale(attempt)

    # -- delete -------------------------------------------------------------------------

    async def _delete(self, record: EnvironmentRecord) -> None:
        # Any failure here (including a timeout) goes to the runner, which retries: the
        # environment stays `deleting` until its namespace is really gone.
        await self._deployer.delete_environment(
            record.namespace, environment_id=record.id, timeout=self._delete_timeout
        )

        async def attempt() -> None:
            fresh = await self._environments.get(record.id)
            if fresh is None:
                return
            await self._environments.mark_deleted(
                fresh.id,
                expected_version=fresh.version,
                now=self._clock(),
                operation=None,
                operation_error=None,
            )
            logger.info("environment %s: deleted", record.id)

        await retry_stale(attempt)
