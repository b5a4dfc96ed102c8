"""StatusSync on its own: a real database (each backend), kubesim over HTTP, and the
repository's record reads counted, so what the watcher costs the database is visible."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from catalyst.cluster import EnvironmentReader
from catalyst.cluster.client import ClusterClient
from catalyst.cluster.labels import object_labels, template_labels
from catalyst.domain import StatusThresholds
from catalyst.domain.model import ObjectRef
from catalyst.leader.status_writer import WatchedStatusWriter
from catalyst.service.status import StatusService
from catalyst.store.database import Database
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.errors import StaleRecord
from catalyst.store.records import EnvironmentRecord
from catalyst.watcher.cluster_cache import ClusterCache
from catalyst.watcher.status_sync import StatusSync
from kubesim.server import KubeSim
from tests.support.waiting import eventually

WAIT = 20.0
APPLY = {"Content-Type": "application/apply-patch+yaml"}


class CountingEnvironments(EnvironmentRepository):
    """The real repository; counts the record reads the watcher makes."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.gets = 0

    async def get(
        self, environment_id: int, *, include_deleted: bool = False
    ) -> EnvironmentRecord | None:
        self.gets += 1
        return await super().get(environment_id, include_deleted=include_deleted)


@dataclass
class Running:
    sync: StatusSync
    watcher_reads: CountingEnvironments
    """The watcher's repository; the test reads and writes through its own."""
    env_id: int


async def apply(kube_api: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> None:
    params = {"fieldManager": "test", "force": "true"}
    async with kube_api.patch(path, params=params, data=json.dumps(body), headers=APPLY) as r:
        assert r.status in (200, 201), await r.text()


async def apply_namespace(kube_api: aiohttp.ClientSession, env_id: int) -> None:
    name = f"env-{env_id}"
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": object_labels(env_id, "test", 1)},
    }
    await apply(kube_api, f"/api/v1/namespaces/{name}", body)


async def apply_deployment(
    kube_api: aiohttp.ClientSession, env_id: int, annotations: dict[str, str] | None = None
) -> None:
    namespace = f"env-{env_id}"
    pod_labels = {**template_labels(env_id), "app": "web"}
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": namespace,
            "labels": object_labels(env_id, "test", 1),
            "annotations": annotations or {},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }
    await apply(kube_api, f"/apis/apps/v1/namespaces/{namespace}/deployments/web", body)


async def applied_environment(environments: EnvironmentRepository) -> int:
    """A stored environment whose revision 1 (one Deployment) has been applied."""
    record = await environments.create(name="sync", chart_name="test", values={"a": 1})
    namespace = f"env-{record.id}"
    await environments.set_inventory(
        record.id, revision=1, objects=[ObjectRef("apps/v1", "Deployment", namespace, "web")]
    )
    await environments.update(
        record.id, expected_version=record.version, applied_revision=1, operation=None
    )
    return record.id


@asynccontextmanager
async def running_sync(
    kubesim: KubeSim, database: Database, *, poll_interval: float
) -> AsyncIterator[Running]:
    assert kubesim.kubeconfig_path is not None
    environments = CountingEnvironments(database)
    env_id = await applied_environment(EnvironmentRepository(database))
    async with await ClusterClient.from_kubeconfig(kubesim.kubeconfig_path, qps=0) as client:
        thresholds = StatusThresholds()
        sync = StatusSync(
            cache=ClusterCache(client, max_backoff=0.5),
            writer=WatchedStatusWriter(
                environments=environments,
                status=StatusService(
                    environments=environments,
                    reader=EnvironmentReader(client),
                    thresholds=thresholds,
                ),
            ),
            thresholds=thresholds,
            poll_interval=poll_interval,
        )
        task = asyncio.create_task(sync.run())
        try:
            async with asyncio.timeout(WAIT):
                await sync.synced.wait()
            yield Running(sync, environments, env_id)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


async def stored(database: Database, env_id: int) -> EnvironmentRecord:
    record = await EnvironmentRepository(database).get(env_id)
    assert record is not None
    return record


def has_status(database: Database, env_id: int, status: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await stored(database, env_id)).status == status

    return check


async def test_an_event_that_changes_no_status_costs_no_database_read(
    kubesim: KubeSim, kube_api: aiohttp.ClientSession, database: Database
) -> None:
    async with running_sync(kubesim, database, poll_interval=3600) as running:
        sync, watcher_reads, env_id = running.sync, running.watcher_reads, running.env_id
        await apply_namespace(kube_api, env_id)
        await apply_deployment(kube_api, env_id)
        await eventually(
            has_status(database, env_id, "running"), "the stored status running", within=WAIT
        )
        reads, evaluations = watcher_reads.gets, sync.evaluations

        # Only an annotation changes: the watcher evaluates, from what it already holds.
        await apply_deployment(kube_api, env_id, annotations={"touched": "1"})

        async def evaluated() -> bool:
            return sync.evaluations > evaluations

        await eventually(evaluated, "the watcher to evaluate the change", within=WAIT)
        assert watcher_reads.gets == reads
        assert (await stored(database, env_id)).status == "running"


async def test_a_change_by_another_writer_is_read_back_and_corrected(
    kubesim: KubeSim, kube_api: aiohttp.ClientSession, database: Database
) -> None:
    async with running_sync(kubesim, database, poll_interval=0.1) as running:
        env_id = running.env_id
        await apply_namespace(kube_api, env_id)
        await apply_deployment(kube_api, env_id)
        await eventually(
            has_status(database, env_id, "running"), "the stored status running", within=WAIT
        )

        # Another writer (say, a replica's ?latestStatus=1 that saw different data) stores
        # a status the cluster does not show. No cluster event follows: only the database
        # poll can tell the watcher its record is out of date.
        async def write_elsewhere() -> bool:
            record = await stored(database, env_id)
            try:
                await EnvironmentRepository(database).record_status_change(
                    env_id,
                    expected_version=record.version,
                    source="test",
                    status="starting",
                    status_reason="Elsewhere",
                )
            except StaleRecord:  # the watcher was writing too (a reason, its memory)
                return False
            return True

        await eventually(write_elsewhere, "the other writer's write", within=WAIT)
        await eventually(
            has_status(database, env_id, "running"), "the stored status running", within=WAIT
        )
        assert (await stored(database, env_id)).status_reason != "Elsewhere"


async def test_a_write_from_an_outdated_record_is_refused_and_redone(
    kubesim: KubeSim, kube_api: aiohttp.ClientSession, database: Database
) -> None:
    # No polling after the first: the watcher learns of the other write only when its own
    # write is refused on the row version.
    async with running_sync(kubesim, database, poll_interval=3600) as running:
        watcher_reads, env_id = running.watcher_reads, running.env_id
        record = await stored(database, env_id)
        assert record.status == "starting"
        store = EnvironmentRepository(database)
        await store.update(env_id, expected_version=record.version, values={"a": 2})
        reads = watcher_reads.gets

        await apply_namespace(kube_api, env_id)
        await apply_deployment(kube_api, env_id)
        await eventually(
            has_status(database, env_id, "running"), "the stored status running", within=WAIT
        )
        assert (await stored(database, env_id)).values == {"a": 2}  # not overwritten
        assert watcher_reads.gets > reads  # the refused write made the watcher re-read
        # One transition to running; the rows before it are starting's reasons changing
        # (CreateRequested, NotCreatedYet, ...), each recorded once.
        history = [(c.to_status, c.reason) for c in await store.list_status_changes(env_id)]
        assert [status for status, _ in history].count("running") == 1
        assert history[-1][0] == "running"
        assert all(a != b for a, b in itertools.pairwise(history))
