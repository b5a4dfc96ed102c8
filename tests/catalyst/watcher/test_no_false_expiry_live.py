"""Issue 10, part 5 ("no false expiry"), through the running system: the leader's status
sync, writer and reaper with the real status use case and store (SQLite), on kubesim over
HTTP. Objects are applied as the deployer would (its labels, the revision label), so these
tests need no chart.

- After staleness the reaper deletes nothing until every environment was re-evaluated with
  the stale time credited (the writer is held back to open that window on purpose).
- A new term credits the time nobody watched (the Lease changed hands during an outage)
  before its first sync counts as done, so the reaper of that term cannot act first.
- The rebuild barrier holds back failures: the previous revision's failed install Job does
  not fail (nor give a fresh expiry to) the rebuild before the new revision is applied.
- An image pull failure alternating ErrImagePull / ImagePullBackOff writes one failed row.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from catalyst.cluster import EnvironmentReader, EnvironmentSnapshot
from catalyst.cluster.client import ClusterClient
from catalyst.cluster.labels import object_labels, template_labels
from catalyst.domain import StatusThresholds, rebuild_requested
from catalyst.domain.model import ObjectRef
from catalyst.leader.reaper import Reaper
from catalyst.leader.status_writer import WatchedStatusWriter
from catalyst.service.state import columns_of, state_of
from catalyst.service.status import StatusService
from catalyst.store.database import Database
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.records import EnvironmentRecord
from catalyst.timestamps import utc_now
from catalyst.watcher.cluster_cache import ClusterCache
from catalyst.watcher.status_sync import Evaluated, PolledChanges, StatusSync
from kubesim.server import KubeSim
from tests.support.service_harness import build_harness
from tests.support.waiting import eventually

WAIT = 30.0
APPLY = {"Content-Type": "application/apply-patch+yaml"}
FAIL = "sim.kubesim.io/fail"
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@dataclass
class GatedWriter:
    """The leader's writer; `write` waits while `gate` is clear (evaluations held back)."""

    inner: WatchedStatusWriter
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.gate.set()

    async def poll(self) -> PolledChanges:
        return await self.inner.poll()

    async def write(
        self,
        env_id: int,
        snapshot_of: Callable[[str, int], EnvironmentSnapshot],
        *,
        stale_for: float = 0.0,
    ) -> Evaluated:
        await asyncio.wait_for(self.gate.wait(), WAIT)
        return await self.inner.write(env_id, snapshot_of, stale_for=stale_for)


@dataclass
class Leader:
    sync: StatusSync
    writer: GatedWriter
    store: EnvironmentRepository


@asynccontextmanager
async def leader(
    kubesim: KubeSim, database: Database, thresholds: StatusThresholds, stale_before: float = 0.0
) -> AsyncIterator[Leader]:
    assert kubesim.kubeconfig_path is not None
    store = EnvironmentRepository(database)
    async with await ClusterClient.from_kubeconfig(kubesim.kubeconfig_path, qps=0) as client:
        writer = GatedWriter(
            WatchedStatusWriter(
                environments=store,
                status=StatusService(
                    environments=store, reader=EnvironmentReader(client), thresholds=thresholds
                ),
            )
        )
        sync = StatusSync(
            cache=ClusterCache(client, max_backoff=0.2),
            writer=writer,
            thresholds=thresholds,
            poll_interval=0.1,
            stale_before=stale_before,
        )
        task = asyncio.create_task(sync.run())
        try:
            async with asyncio.timeout(WAIT):
                await sync.synced.wait()
            yield Leader(sync, writer, store)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


async def apply(kube_api: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> None:
    params = {"fieldManager": "catalyst", "force": "true"}
    async with kube_api.patch(path, params=params, data=json.dumps(body), headers=APPLY) as r:
        assert r.status in (200, 201), await r.text()


async def stored_environment(
    store: EnvironmentRepository, objects: Callable[[int], list[ObjectRef]]
) -> int:
    """An environment whose revision 1 (`objects(id)`) has been applied."""
    record = await store.create(name="expiry", chart_name="test", values={})
    await store.set_inventory(record.id, revision=1, objects=objects(record.id))
    await store.update(
        record.id, expected_version=record.version, applied_revision=1, operation=None
    )
    return record.id


async def apply_namespace(kube_api: aiohttp.ClientSession, env_id: int) -> None:
    name = f"env-{env_id}"
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": object_labels(env_id, "test", 1)},
    }
    await apply(kube_api, f"/api/v1/namespaces/{name}", body)


def deployment_ref(env_id: int) -> ObjectRef:
    return ObjectRef("apps/v1", "Deployment", f"env-{env_id}", "web")


async def apply_failing_deployment(kube_api: aiohttp.ClientSession, env_id: int, fail: str) -> None:
    namespace = f"env-{env_id}"
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": namespace,
            "labels": object_labels(env_id, "t", 1),
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {
                    "labels": {**template_labels(env_id), "app": "web"},
                    "annotations": {FAIL: fail},
                },
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }
    await apply(kube_api, f"/apis/apps/v1/namespaces/{namespace}/deployments/web", body)


def job_ref(env_id: int, name: str) -> ObjectRef:
    return ObjectRef("batch/v1", "Job", f"env-{env_id}", name)


async def apply_job(
    kube_api: aiohttp.ClientSession, env_id: int, name: str, *, revision: int, fail: bool
) -> None:
    namespace = f"env-{env_id}"
    annotations = {"sim.kubesim.io/run-for": "200ms", **({FAIL: "ExitError"} if fail else {})}
    body = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": object_labels(env_id, "t", revision),
        },
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": template_labels(env_id), "annotations": annotations},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "install", "image": "busybox:1.36"}],
                },
            },
        },
    }
    await apply(kube_api, f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}", body)


async def record_of(store: EnvironmentRepository, env_id: int) -> EnvironmentRecord:
    record = await store.get(env_id)
    assert record is not None
    return record


async def until_status(store: EnvironmentRepository, env_id: int, status: str, what: str) -> None:
    """Wait until the stored status is ``status``; a timeout shows the last stored status."""
    seen: list[Any] = []

    async def check() -> bool:
        record = await record_of(store, env_id)
        seen[:] = [record.status, record.status_reason, record.status_message]
        return record.status == status

    await eventually(check, what, within=WAIT, last=lambda: seen)


@SQLITE_ONLY
async def test_after_staleness_the_reaper_waits_for_the_credited_re_evaluation(
    kubesim: KubeSim, kube_api: aiohttp.ClientSession, database: Database
) -> None:
    thresholds = StatusThresholds(stale=timedelta(seconds=0.5), expiry=timedelta(seconds=3))
    harness = await build_harness(database)  # the real delete use case (runner not started)
    # Stored before the leader starts: its first poll names the kinds to watch.
    env_id = await stored_environment(
        EnvironmentRepository(database), lambda env_id: [deployment_ref(env_id)]
    )
    async with leader(kubesim, database, thresholds) as running:
        sync, store = running.sync, running.store
        reaper = Reaper(
            environments=store,
            service=harness.environments,
            is_stale=sync.is_stale,
            awaits_reevaluation=sync.awaits_reevaluation,
        )
        await apply_namespace(kube_api, env_id)
        await apply_failing_deployment(kube_api, env_id, "InvalidImageName")
        await until_status(store, env_id, "failed", "the creation failure")
        expires_at = (await record_of(store, env_id)).expires_at
        assert expires_at is not None

        # An outage covers the expiry: the clock is frozen, nothing may be reaped.
        kubesim.faults.pause()
        try:

            async def stale() -> bool:
                return sync.is_stale()

            await eventually(stale, "the data to be stale", within=WAIT)

            async def past_expiry() -> bool:
                return utc_now() > expires_at + timedelta(seconds=0.5)

            await eventually(
                past_expiry, "the original expiry to pass during the outage", within=WAIT
            )
            assert await reaper.sweep() == []
            running.writer.gate.clear()  # the re-evaluation has not happened yet
        finally:
            kubesim.faults.resume()

        async def fresh() -> bool:
            return not sync.is_stale()

        await eventually(fresh, "the data to be fresh again", within=WAIT)
        # Fresh data, the expiry in the row has passed, but the stale time is not credited
        # yet: the reaper must wait.
        assert await reaper.sweep() == []
        running.writer.gate.set()

        async def credited() -> bool:
            record = await record_of(store, env_id)
            return record.expires_at is not None and record.expires_at > expires_at

        await eventually(credited, "the re-evaluation to push the expiry back", within=WAIT)
        assert await reaper.sweep() == []
        record = await record_of(store, env_id)
        assert (record.status, record.failure_kind) == ("failed", "creation")
        assert record.expires_at is not None
        assert record.expires_at > utc_now()


@SQLITE_ONLY
async def test_a_new_term_credits_the_time_nobody_watched_before_it_syncs(
    kubesim: KubeSim, kube_api: aiohttp.ClientSession, database: Database
) -> None:
    thresholds = StatusThresholds(stale=timedelta(seconds=0.5), expiry=timedelta(seconds=2))
    env_id = await stored_environment(
        EnvironmentRepository(database), lambda env_id: [deployment_ref(env_id)]
    )
    async with leader(kubesim, database, thresholds) as first_term:
        await apply_namespace(kube_api, env_id)
        await apply_failing_deployment(kube_api, env_id, "InvalidImageName")
        await until_status(first_term.store, env_id, "failed", "the creation failure")
    expires_at = (await record_of(EnvironmentRepository(database), env_id)).expires_at
    assert expires_at is not None

    # Nobody leads while the expiry passes (the duties compute this from the heartbeat).
    async def past_expiry() -> bool:
        return utc_now() > expires_at + timedelta(seconds=0.5)

    await eventually(past_expiry, "the expiry to pass while nobody watched", within=WAIT)
    unwatched = 10.0

    harness = await build_harness(database)
    async with leader(kubesim, database, thresholds, stale_before=unwatched) as second_term:
        # `leader` returns once the term's first sync is done: the credit is already stored.
        record = await record_of(second_term.store, env_id)
        assert record.expires_at is not None
        assert record.expires_at >= expires_at + timedelta(seconds=unwatched), record
        assert not second_term.sync.awaits_reevaluation(env_id)
        reaper = Reaper(
            environments=second_term.store,
            service=harness.environments,
            is_stale=second_term.sync.is_stale,
            awaits_reevaluation=second_term.sync.awaits_reevaluation,
        )
        assert await reaper.sweep() == []


@SQLITE_ONLY
async def test_the_previous_revisions_failed_job_does_not_fail_the_rebuild(
    kubesim: KubeSim, kube_api: aiohttp.ClientSession, database: Database
) -> None:
    thresholds = StatusThresholds(stale=timedelta(seconds=5))
    env_id = await stored_environment(
        EnvironmentRepository(database), lambda env_id: [job_ref(env_id, "install")]
    )
    async with leader(kubesim, database, thresholds) as running:
        sync, store = running.sync, running.store
        await apply_namespace(kube_api, env_id)
        await apply_job(kube_api, env_id, "install", revision=1, fail=True)
        await until_status(store, env_id, "failed", "the creation failure")
        failed = await record_of(store, env_id)
        assert failed.failure_kind == "creation"

        # The rebuild with fixed values is requested (as EnvironmentService.rebuild writes
        # it); the deployer has not applied revision 2 yet, the failed Job is still there.
        change = rebuild_requested(state_of(failed), utc_now())
        await store.record_status_change(
            env_id,
            expected_version=failed.version,
            source="api",
            **columns_of(change.after, revision=2, operation="rebuild", operation_error=None),
        )

        async def evaluated_revision_2() -> bool:
            memory = (await record_of(store, env_id)).status_memory or {}
            return memory.get("revision") == 2

        await eventually(evaluated_revision_2, "the watcher to evaluate revision 2", within=WAIT)
        assert sync.evaluations > 0
        record = await record_of(store, env_id)
        assert (record.status, record.status_reason) == ("starting", "ApplyPending"), record
        assert record.expires_at is None

        # The deployer applies revision 2: a new, working install Job.
        await apply_job(kube_api, env_id, "install-2", revision=2, fail=False)
        await store.set_inventory(env_id, revision=2, objects=[job_ref(env_id, "install-2")])
        await store.update(
            env_id, expected_version=record.version, applied_revision=2, operation=None
        )
        await until_status(store, env_id, "running", "the rebuilt environment to run")
        rows = [(c.to_status, c.reason) for c in await store.list_status_changes(env_id)]
        after_rebuild = rows[[r for r, _ in rows].index("failed") + 1 :]
        assert "failed" not in [status for status, _ in after_rebuild], rows


@SQLITE_ONLY
async def test_an_alternating_image_pull_failure_writes_one_failed_row(
    kubesim: KubeSim, kube_api: aiohttp.ClientSession, database: Database
) -> None:
    thresholds = StatusThresholds(stale=timedelta(seconds=5), image=timedelta(seconds=0.5))
    env_id = await stored_environment(
        EnvironmentRepository(database), lambda env_id: [deployment_ref(env_id)]
    )
    async with leader(kubesim, database, thresholds) as running:
        sync, store = running.sync, running.store
        await apply_namespace(kube_api, env_id)
        await apply_failing_deployment(kube_api, env_id, "ImagePullBackOff")
        await until_status(store, env_id, "failed", "the image pull failure")

        # Watch the pod alternate (kubesim: ErrImagePull 1 s, then a doubling back-off).
        reasons: list[str] = []

        async def alternated() -> bool:
            path = f"/api/v1/namespaces/env-{env_id}/pods"
            async with kube_api.get(path) as response:
                pods = (await response.json())["items"]
            for pod in pods:
                for status in pod.get("status", {}).get("containerStatuses") or []:
                    reason = ((status.get("state") or {}).get("waiting") or {}).get("reason")
                    if reason and (not reasons or reasons[-1] != reason):
                        reasons.append(reason)
            return len(reasons) >= 4

        await eventually(alternated, "the pull failure to alternate", within=WAIT)
        evaluations = sync.evaluations

        async def evaluated_since() -> bool:
            return sync.evaluations > evaluations

        await eventually(
            evaluated_since, "the watcher to evaluate the last alternation", within=WAIT
        )
        rows = [(c.from_status, c.to_status) for c in await store.list_status_changes(env_id)]
        assert rows.count(("failed", "failed")) == 0, rows
        assert [to for _, to in rows].count("failed") == 1, rows
