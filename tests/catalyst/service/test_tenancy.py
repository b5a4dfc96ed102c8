"""Nothing leaves the environment's namespace, through the use cases: create (refused with
422 before anything is stored, or failed in the background before anything is applied),
rebuild (prune leaves what is not the environment's) and delete (takes the environment's
allowed cluster-scoped objects with it, and nothing else).

Everything is real except the HTTP layer: SQLite, Helm (the SDK), the deployer and kubesim.
The whole cluster is compared before and after.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from catalyst.api.service_errors import install_service_error_handlers
from catalyst.charts import ChartCatalogue, HelmRenderer, bundled_charts_dir
from catalyst.charts.helm_sdk import HelmSdkBackend
from catalyst.cluster import ClusterClient, Deployer, EnvironmentReader
from catalyst.cluster.scope import AllowedClusterKinds
from catalyst.domain import StatusThresholds
from catalyst.domain.model import ObjectRef
from catalyst.service.caller import Caller
from catalyst.service.charts import ChartService
from catalyst.service.environments import EnvironmentService
from catalyst.service.errors import ClusterScopedRender
from catalyst.service.operations import EnvironmentOperations
from catalyst.service.preflight import RenderPreflight
from catalyst.service.runner import OperationRunner
from catalyst.service.status import StatusService
from catalyst.store.database import Database, sqlite_url_for
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.records import EnvironmentRecord
from kubesim.server import KubeSim
from tests.support.service_harness import WAIT, caller, no_sleep
from tests.support.tenancy import (
    EXTRA_OBJECTS_CHART,
    OTHER_TENANT_NAMESPACE,
    changes_between,
    cluster_snapshot,
    escalation_objects,
    extra_objects_values,
    seed_other_tenants,
)


@dataclass
class Stack:
    sim: KubeSim
    cluster: ClusterClient
    repo: EnvironmentRepository
    environments: EnvironmentService
    runner: OperationRunner
    alice: Caller

    async def settle(self) -> None:
        await asyncio.wait_for(self.runner.wait_idle(), WAIT)

    def snapshot(self, *, except_namespace: str | None = None) -> dict[Any, Any]:
        return cluster_snapshot(self.sim, except_namespace=except_namespace)

    async def create(self, chart: str, values: dict[str, Any]) -> EnvironmentRecord:
        return await self.environments.create(
            caller=self.alice, name="tenant", chart_name=chart, values=values
        )

    async def stored(self, env_id: int) -> EnvironmentRecord:
        record = await self.repo.get(env_id)
        assert record is not None
        return record


StackFactory = Callable[..., Awaitable[Stack]]


@pytest.fixture
async def make_stack(kubesim: KubeSim, tmp_path: Path) -> AsyncIterator[StackFactory]:
    """Builds the use cases over SQLite, the SDK renderer and kubesim, with the bundled
    mediawiki chart and the extra-objects test chart in the catalogue."""
    charts_dir = tmp_path / "charts"
    charts_dir.mkdir()
    (charts_dir / "mediawiki").symlink_to(bundled_charts_dir() / "mediawiki")
    (charts_dir / "extra-objects").symlink_to(EXTRA_OBJECTS_CHART)
    database = Database(sqlite_url_for(tmp_path))
    await database.connect()
    assert kubesim.kubeconfig_path is not None
    cluster = await ClusterClient.from_kubeconfig(kubesim.kubeconfig_path)
    started: list[tuple[OperationRunner, EnvironmentService]] = []

    async def make(*, allowed: str = "", preflight: bool = True) -> Stack:
        repo = EnvironmentRepository(database)
        charts = ChartService(ChartCatalogue(charts_dir))
        renderer = HelmRenderer(HelmSdkBackend())
        deployer = Deployer(cluster, allowed_cluster_kinds=AllowedClusterKinds.parse(allowed))
        thresholds = StatusThresholds()
        operations = EnvironmentOperations(
            environments=repo,
            charts=charts,
            renderer=renderer,
            deployer=deployer,
            thresholds=thresholds,
            delete_timeout=30.0,
        )
        runner = OperationRunner(operations, max_concurrency=2, sleep=no_sleep)
        status = StatusService(
            environments=repo, reader=EnvironmentReader(cluster), thresholds=thresholds
        )
        check = RenderPreflight(charts=charts, renderer=renderer, deployer=deployer)
        environments = EnvironmentService(
            environments=repo,
            charts=charts,
            runner=runner,
            status=status,
            preflight=check if preflight else None,
        )
        await runner.start()
        started.append((runner, environments))
        alice = await caller(database, "alice", admin=False)
        return Stack(kubesim, cluster, repo, environments, runner, alice)

    try:
        yield make
    finally:
        for runner, environments in started:
            await runner.stop()
            await environments.aclose()
        await cluster.close()
        await database.close()


async def test_create_with_cluster_scoped_objects_is_refused_before_anything_is_stored(
    make_stack: StackFactory,
) -> None:
    stack = await make_stack()
    await seed_other_tenants(stack.cluster)
    before = stack.snapshot()

    with pytest.raises(ClusterScopedRender) as caught:
        await stack.create("extra-objects", extra_objects_values("env-0"))

    # One detail per object, each naming it: the client sees exactly what is refused.
    details = caught.value.details
    assert len(details) == 7, details
    for obj in escalation_objects("env-0"):
        assert any(
            obj["kind"] in detail and repr(obj["metadata"]["name"]) in detail for detail in details
        ), (obj["kind"], details)
    assert await stack.repo.list_live() == []
    assert changes_between(before, stack.snapshot()) == []


async def test_the_injection_payload_never_reaches_the_cluster(make_stack: StackFactory) -> None:
    """The reported attack, through the use case: a service port carrying documents."""
    stack = await make_stack()
    payload = (
        "80\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
        "metadata:\n  name: injected-admin\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n"
        "  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n  - kind: ServiceAccount\n"
        "    name: default\n    namespace: env-1\n---\napiVersion: v1\nkind: ConfigMap\n"
        "metadata:\n  name: injected-tail\ndata:\n  tail: |"
    )
    before = stack.snapshot()

    record: EnvironmentRecord | None = None
    try:
        record = await stack.create("mediawiki", {"web": {"service": {"port": payload}}})
    except ClusterScopedRender:
        pass  # refused at once: as good as failing in the background
    await stack.settle()

    assert changes_between(before, stack.snapshot()) == []
    if record is not None:
        stored = await stack.stored(record.id)
        assert (stored.status, stored.status_reason) == ("failed", "ApplyFailed")
        assert "port" in stored.status_message


async def test_a_render_refused_in_the_background_fails_the_environment_and_applies_nothing(
    make_stack: StackFactory,
) -> None:
    """When the render happens only in the operation (here: no preflight, as when the
    cluster could not be asked at request time), the environment fails naming the objects."""
    stack = await make_stack(preflight=False)
    await seed_other_tenants(stack.cluster)
    before = stack.snapshot()

    record = await stack.create("extra-objects", extra_objects_values("env-0"))
    await stack.settle()

    stored = await stack.stored(record.id)
    assert (stored.status, stored.status_reason) == ("failed", "ApplyFailed")
    assert stored.failure_kind == "creation"
    for obj in escalation_objects("env-0"):
        assert f"{obj['kind']} {obj['metadata']['name']}" in stored.status_message
    assert "nothing was applied" in stored.status_message
    assert changes_between(before, stack.snapshot()) == []


async def test_a_rebuild_never_prunes_what_is_not_the_environments(
    make_stack: StackFactory,
) -> None:
    stack = await make_stack()
    await seed_other_tenants(stack.cluster)
    record = await stack.create("extra-objects", {})
    await stack.settle()
    own = (await stack.repo.get_inventory(record.id)).objects
    assert [ref.kind for ref in own] == ["ConfigMap"]
    # An inventory written by an earlier version that adopted all of this: another tenant's
    # namespace and its data, kube-system (then labelled as this environment's), a PV...
    foreign = [
        ObjectRef(o["apiVersion"], o["kind"], "", o["metadata"]["name"])
        for o in escalation_objects(record.namespace)
    ] + [ObjectRef("v1", "ConfigMap", OTHER_TENANT_NAMESPACE, "tenant-data")]
    await stack.repo.set_inventory(record.id, revision=1, objects=[*own, *foreign])
    await stack.cluster.request(
        "PATCH",
        "/api/v1/namespaces/kube-system",
        body={"metadata": {"labels": _labels(record.id)}},
        content_type="application/merge-patch+json",
    )
    before = stack.snapshot(except_namespace=record.namespace)

    # Values that render cluster-scoped objects are refused and change nothing at all.
    with pytest.raises(ClusterScopedRender):
        await stack.environments.rebuild(
            record.id,
            caller=stack.alice,
            name=None,
            chart_name=None,
            values=extra_objects_values(record.namespace),
        )
    assert (await stack.stored(record.id)).revision == 1
    # A rebuild to the same render drops the foreign refs: they are left alone.
    await stack.environments.rebuild(
        record.id, caller=stack.alice, name=None, chart_name=None, values={}
    )
    await stack.settle()

    stored = await stack.stored(record.id)
    assert (stored.applied_revision, stored.operation, stored.operation_error) == (2, None, None)
    assert changes_between(before, stack.snapshot(except_namespace=record.namespace)) == []
    inventory = await stack.repo.get_inventory(record.id)
    assert (inventory.revision, [ref.name for ref in inventory.objects]) == (2, ["tenant-settings"])


async def test_delete_takes_the_environments_objects_and_nothing_else(
    make_stack: StackFactory,
) -> None:
    stack = await make_stack(allowed="ClusterRole")
    await seed_other_tenants(stack.cluster)
    before = stack.snapshot()
    reader = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "tenant-reader"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
    }
    record = await stack.create("extra-objects", {"extraObjects": [reader]})
    await stack.settle()
    live = await stack.cluster.request(
        "GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/tenant-reader"
    )
    assert live["metadata"]["labels"]["catalyst.io/environment-id"] == str(record.id)

    await stack.environments.delete(record.id, caller=stack.alice)
    await stack.settle()

    assert await stack.repo.get(record.id) is None
    assert changes_between(before, stack.snapshot()) == []


async def test_a_cluster_scoped_render_is_a_422_in_the_contracts_shape() -> None:
    app = FastAPI()
    install_service_error_handlers(app)

    @app.post("/api/environments")
    async def refuse() -> None:
        raise ClusterScopedRender(
            "values: the chart renders 2 cluster-scoped object(s)",
            details=["values: ClusterRole 'a'", "values: Namespace 'kube-system'"],
        )

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post("/api/environments", json={})

    assert response.status_code == 422
    assert response.json() == {
        "statusCode": 422,
        "statusText": "Unprocessable Entity",
        "details": ["values: ClusterRole 'a'", "values: Namespace 'kube-system'"],
    }


def _labels(environment_id: int) -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": "catalyst",
        "catalyst.io/environment-id": str(environment_id),
    }
