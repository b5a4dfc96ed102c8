"""The use cases wired to a real database and the bundled chart catalogue, with the
cluster and Helm replaced by recording doubles (fast and deterministic)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from catalyst.api.dependencies import ApiServices
from catalyst.charts import ChartCatalogue, ChartRenderError, bundled_charts_dir
from catalyst.cluster import DeployError, DeployTarget, EnvironmentSnapshot, ReleaseEvent
from catalyst.domain import StatusThresholds
from catalyst.domain.model import ObjectRef
from catalyst.service.caller import Caller
from catalyst.service.charts import ChartService
from catalyst.service.environments import EnvironmentService
from catalyst.service.history import EnvironmentHistory
from catalyst.service.operations import EnvironmentOperations
from catalyst.service.runner import OperationRunner
from catalyst.service.status import StatusService
from catalyst.service.tokens import TokenService
from catalyst.store.database import Database
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.tokens import TokenRepository

WAIT = 10.0


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeRenderer:
    """Renders one ConfigMap per name in ``values["maps"]`` (default: one named after the
    release); raises `error` when set."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.error: Exception | None = None

    async def render(
        self,
        chart_dir: Path,
        *,
        release_name: str,
        namespace: str,
        values: dict[str, Any],
        upgrade: bool = False,
    ) -> list[dict[str, Any]]:
        call = {"release": release_name, "namespace": namespace, "values": values}
        self.calls.append({**call, "upgrade": True} if upgrade else call)
        if self.error is not None:
            raise self.error
        names = values.get("maps") or [release_name]
        return [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}, "data": {}}
            for n in names
        ]


@dataclass
class FakeDeployer:
    applied: list[tuple[DeployTarget, list[str]]] = field(default_factory=list)
    pruned: list[tuple[list[ObjectRef], list[ObjectRef]]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    gate: asyncio.Event | None = None
    """When set, applies wait for it (an apply in progress)."""
    delete_gate: asyncio.Event | None = None
    """When set, namespace deletions wait for it (a delete in progress)."""
    errors: list[Exception] = field(default_factory=list)
    """Raised by the next applies, one each."""
    active: int = 0
    max_active: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def apply_environment(
        self,
        target: DeployTarget,
        objects: list[dict[str, Any]],
        *,
        event: ReleaseEvent = ReleaseEvent.INSTALL,
    ) -> list[ObjectRef]:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        self.started.set()
        try:
            if self.gate is not None:
                await asyncio.wait_for(self.gate.wait(), WAIT)
            if self.errors:
                raise self.errors.pop(0)
            names = [o["metadata"]["name"] for o in objects]
            self.applied.append((target, names))
            return [ObjectRef("v1", "ConfigMap", target.namespace, n) for n in names]
        finally:
            self.active -= 1

    async def prune(
        self,
        namespace: str,
        keep: list[ObjectRef],
        previous: list[ObjectRef],
        *,
        environment_id: int,
    ) -> list[ObjectRef]:
        self.pruned.append((list(keep), list(previous)))
        kept = {r.identity() for r in keep}
        return [r for r in previous if r.identity() not in kept]

    async def delete_environment(
        self,
        namespace: str,
        *,
        environment_id: int,
        timeout: float,  # noqa: ASYNC109
    ) -> None:
        if self.delete_gate is not None:
            await asyncio.wait_for(self.delete_gate.wait(), WAIT)
        self.deleted.append(namespace)


@dataclass
class FakeReader:
    """Serves a snapshot built from the ConfigMaps the fake deployer applied."""

    deployer: FakeDeployer
    calls: int = 0

    async def read_environment(
        self, namespace: str, environment_id: int, *, kinds: object = ()
    ) -> EnvironmentSnapshot:
        self.calls += 1
        snapshot = EnvironmentSnapshot(namespace=namespace, namespace_exists=True)
        if self.deployer.applied:
            _target, names = self.deployer.applied[-1]
            for name in names:
                ref = ObjectRef("v1", "ConfigMap", namespace, name)
                snapshot.objects[ref] = {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": name, "namespace": namespace},
                }
        return snapshot


async def no_sleep(_: float) -> None:
    await asyncio.sleep(0)


@dataclass
class Harness:
    repo: EnvironmentRepository
    environments: EnvironmentService
    runner: OperationRunner
    operations: EnvironmentOperations
    status: StatusService
    renderer: FakeRenderer
    deployer: FakeDeployer
    reader: FakeReader
    clock: FakeClock
    thresholds: StatusThresholds
    admin: Caller
    alice: Caller

    async def settle(self) -> None:
        await asyncio.wait_for(self.runner.wait_idle(), WAIT)


async def caller(database: Database, name: str, *, admin: bool) -> Caller:
    """A caller backed by a stored token (environments reference their owner token)."""
    repo = TokenRepository(database)
    record = await repo.get_by_name(name)
    if record is None:
        record = await repo.create(name=name, token=f"{name}-token", admin=admin)
    return Caller(token_id=record.id, name=record.name, admin=record.admin)


async def build_harness(database: Database, *, max_concurrency: int = 4) -> Harness:
    clock = FakeClock()
    repo = EnvironmentRepository(database)
    charts = ChartService(ChartCatalogue(bundled_charts_dir()))
    renderer = FakeRenderer()
    deployer = FakeDeployer()
    reader = FakeReader(deployer)
    thresholds = StatusThresholds()
    operations = EnvironmentOperations(
        environments=repo,
        charts=charts,
        renderer=cast(Any, renderer),
        deployer=cast(Any, deployer),
        thresholds=thresholds,
        delete_timeout=5.0,
        clock=clock,
    )
    runner = OperationRunner(operations, max_concurrency=max_concurrency, sleep=no_sleep)
    status = StatusService(
        environments=repo, reader=cast(Any, reader), thresholds=thresholds, clock=clock
    )
    environments = EnvironmentService(
        environments=repo, charts=charts, runner=runner, status=status, clock=clock
    )
    return Harness(
        repo, environments, runner, operations, status, renderer, deployer, reader, clock,
        thresholds,
        await caller(database, "admin", admin=True),
        await caller(database, "alice", admin=False),
    )  # fmt: skip


RENDER_ERROR = ChartRenderError("template: boom", chart="mediawiki")
REFUSED = DeployError("ConfigMap x: admission webhook said no")


def real_api_services(database: Database, harness: Harness) -> ApiServices:
    """The HTTP layer's services on the harness's real use cases (tokens, environments,
    history, feed); charts and logs are not served."""
    return ApiServices(
        tokens=TokenService(TokenRepository(database)),
        environments=harness.environments,
        charts=cast(Any, None),
        logs=cast(Any, None),
        history=EnvironmentHistory(environments=harness.repo),
        feed=cast(Any, None),
    )
