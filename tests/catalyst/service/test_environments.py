"""Environment use cases on every database: create, rebuild, delete, the runner, and the
latest-status recompute."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from catalyst.cluster import ClusterConnectionError, DeployError
from catalyst.service.caller import Caller
from catalyst.service.errors import (
    ChartNotFound,
    EnvironmentBeingDeleted,
    EnvironmentNameTaken,
    EnvironmentNotFound,
    RequestMismatch,
)
from catalyst.service.runner import OperationRunner
from catalyst.service.status import WATCHER_SOURCE, observation_for
from catalyst.store.database import Database
from catalyst.store.records import EnvironmentRecord
from tests.support.service_harness import (
    REFUSED,
    RENDER_ERROR,
    WAIT,
    Harness,
    build_harness,
    no_sleep,
)
from tests.support.waiting import bounded

VALUES = {"mediawikiCore": {"password": "pw"}}


async def create(
    h: Harness, name: str = "wiki-1", caller: Caller | None = None, **values: object
) -> EnvironmentRecord:
    return await h.environments.create(
        caller=caller or h.admin, name=name, chart_name="mediawiki", values=dict(values) or VALUES
    )


async def test_create_stores_starting_and_deploys_in_background(harness: Harness) -> None:
    record = await create(harness)
    assert (record.status, record.lifecycle, record.operation) == ("starting", "creating", "create")
    assert record.namespace == f"env-{record.id}"
    await harness.settle()

    stored = await harness.repo.get(record.id)
    assert stored is not None
    assert stored.operation is None
    assert stored.applied_revision == 1
    assert harness.renderer.calls == [
        {"release": "wiki-1", "namespace": record.namespace, "values": VALUES}
    ]
    inventory = await harness.repo.get_inventory(record.id)
    assert [o.name for o in inventory.objects] == ["wiki-1"]
    assert inventory.revision == 1


async def test_ids_are_small_increasing_integers(harness: Harness) -> None:
    first = await create(harness, "a")
    second = await create(harness, "b")
    assert isinstance(first.id, int)
    assert second.id == first.id + 1
    assert first.id < 1000


async def test_duplicate_name_and_unknown_chart_are_refused(harness: Harness) -> None:
    await create(harness)
    with pytest.raises(EnvironmentNameTaken):
        await create(harness)
    with pytest.raises(ChartNotFound):
        await harness.environments.create(
            caller=harness.admin, name="other", chart_name="nope", values={}
        )


async def test_render_error_fails_creation_with_expiry(harness: Harness) -> None:
    harness.renderer.error = RENDER_ERROR
    record = await create(harness)
    await harness.settle()

    stored = await harness.repo.get(record.id)
    assert stored is not None
    assert (stored.status, stored.status_reason) == ("failed", "ApplyFailed")
    assert stored.failure_kind == "creation"
    assert stored.expires_at == harness.clock.now + timedelta(days=3)
    assert stored.operation is None
    assert stored.operation_error is not None
    assert "boom" in stored.operation_error
    history = await harness.repo.list_status_changes(record.id)
    assert [(c.to_status, c.source) for c in history] == [
        ("starting", "api"),
        ("failed", "deployer"),
    ]


async def test_cluster_refusal_fails_the_environment(harness: Harness) -> None:
    harness.deployer.errors.append(REFUSED)
    record = await create(harness)
    await harness.settle()
    stored = await harness.repo.get(record.id)
    assert stored is not None
    assert (stored.status, stored.status_reason) == ("failed", "ApplyFailed")


async def test_unreachable_cluster_is_retried_not_failed(harness: Harness) -> None:
    outage = DeployError("connection refused", cause=ClusterConnectionError("refused"))
    harness.deployer.errors.extend([outage, outage])
    record = await create(harness)
    await harness.settle()
    stored = await harness.repo.get(record.id)
    assert stored is not None
    assert stored.status == "starting"
    assert stored.applied_revision == 1
    assert len(harness.deployer.applied) == 1


async def test_rebuild_bumps_revision_applies_and_prunes(harness: Harness) -> None:
    record = await create(harness, maps=["a", "b"])
    await harness.settle()
    rebuilt = await harness.environments.rebuild(
        record.id, caller=harness.admin, name="wiki-1", chart_name=None, values={"maps": ["a", "c"]}
    )
    assert (rebuilt.revision, rebuilt.lifecycle, rebuilt.operation) == (2, "rebuilding", "rebuild")
    assert rebuilt.status_reason == "RebuildRequested"
    await harness.settle()

    stored = await harness.repo.get(record.id)
    assert stored is not None
    assert (stored.applied_revision, stored.operation) == (2, None)
    assert stored.values == {"maps": ["a", "c"]}
    keep, previous = harness.deployer.pruned[-1]
    assert sorted(r.name for r in keep) == ["a", "c"]
    assert sorted(r.name for r in previous) == ["a", "b"]
    inventory = await harness.repo.get_inventory(record.id)
    assert (inventory.revision, [o.name for o in inventory.objects]) == (2, ["a", "c"])
    # Helm upgrades on a rebuild: the chart sees .Release.IsUpgrade (a create installs).
    assert [call.get("upgrade", False) for call in harness.renderer.calls] == [False, True]


async def test_rebuild_must_name_the_same_environment_and_chart(harness: Harness) -> None:
    record = await create(harness)
    with pytest.raises(RequestMismatch, match="name"):
        await harness.environments.rebuild(
            record.id, caller=harness.admin, name="other", chart_name=None, values={}
        )
    with pytest.raises(RequestMismatch, match="chartName"):
        await harness.environments.rebuild(
            record.id, caller=harness.admin, name=None, chart_name="other", values={}
        )


async def test_delete_is_idempotent_and_ends_in_404(harness: Harness) -> None:
    record = await create(harness)
    await harness.settle()
    harness.deployer.delete_gate = asyncio.Event()  # hold the deletion in progress
    first = await harness.environments.delete(record.id, caller=harness.admin)
    second = await harness.environments.delete(record.id, caller=harness.admin)
    assert (first.status, first.lifecycle) == ("deleting", "deleting")
    assert second.status == "deleting"
    with pytest.raises(EnvironmentBeingDeleted):
        await harness.environments.rebuild(
            record.id, caller=harness.admin, name=None, chart_name=None, values={}
        )
    harness.deployer.delete_gate.set()
    await harness.settle()

    assert harness.deployer.deleted == [record.namespace]
    with pytest.raises(EnvironmentNotFound):
        await harness.environments.get(record.id, caller=harness.admin)
    with pytest.raises(EnvironmentNotFound):
        await harness.environments.delete(record.id, caller=harness.admin)
    assert await harness.environments.list(caller=harness.admin) == []
    history = await harness.repo.list_status_changes(record.id)
    assert [c.to_status for c in history].count("deleting") == 1
    # The name is free again.
    assert (await create(harness)).id == record.id + 1


async def test_delete_waits_for_a_running_create(harness: Harness) -> None:
    harness.deployer.gate = asyncio.Event()
    record = await create(harness)
    await asyncio.wait_for(harness.deployer.started.wait(), WAIT)
    before = asyncio.all_tasks()
    await harness.environments.delete(record.id, caller=harness.admin)
    # Whatever the request set going (a driver of its own would delete at once) has run its
    # course: the create still holds the environment.
    started = asyncio.all_tasks() - before
    await bounded(asyncio.gather(*started), f"what the delete started: {started}", within=WAIT)
    assert harness.deployer.deleted == []

    harness.deployer.gate.set()
    await harness.settle()
    assert harness.deployer.deleted == [record.namespace]
    assert len(harness.deployer.applied) == 1
    assert await harness.repo.get(record.id) is None


async def test_non_admin_sees_only_own_environments(harness: Harness) -> None:
    mine = await create(harness, "mine", caller=harness.alice)
    theirs = await create(harness, "theirs", caller=harness.admin)
    assert [r.id for r in await harness.environments.list(caller=harness.alice)] == [mine.id]
    assert len(await harness.environments.list(caller=harness.admin)) == 2
    with pytest.raises(EnvironmentNotFound):
        await harness.environments.get(theirs.id, caller=harness.alice)
    with pytest.raises(EnvironmentNotFound):
        await harness.environments.delete(theirs.id, caller=harness.alice)


async def test_latest_status_recomputes_and_stores_on_change(harness: Harness) -> None:
    record = await create(harness)
    await harness.settle()
    harness.clock.advance(5)

    observed = await harness.environments.get_latest(record.id, caller=harness.admin)
    assert (observed.record.status, observed.record.status_reason) == (
        "running",
        "AllResourcesCurrent",
    )
    assert observed.record.lifecycle == "steady"
    assert observed.record.status_observed_at == harness.clock.now
    assert [r.ref.name for r in observed.resources] == ["wiki-1"]
    history = await harness.repo.list_status_changes(record.id)
    assert (history[-1].to_status, history[-1].source) == ("running", "latest-status")

    harness.clock.advance(5)
    again = await harness.environments.get_latest(record.id, caller=harness.admin)
    assert again.record.status == "running"
    assert again.record.status_observed_at == harness.clock.now
    assert len(await harness.repo.list_status_changes(record.id)) == len(history)


async def test_runner_resumes_pending_operations_at_start(database: Database) -> None:
    first = await build_harness(database)
    # Runner never started: the create stays pending, as if the process died.
    record = await create(first)
    assert (await first.repo.get(record.id)).operation == "create"  # type: ignore[union-attr]

    second = await build_harness(database)
    await second.runner.start()
    try:
        await second.settle()
    finally:
        await second.runner.stop()
    stored = await second.repo.get(record.id)
    assert stored is not None
    assert (stored.operation, stored.applied_revision) == (None, 1)


async def test_runner_bounds_concurrency(database: Database) -> None:
    h = await build_harness(database, max_concurrency=2)
    h.deployer.gate = asyncio.Event()
    await h.runner.start()
    try:
        for i in range(5):
            await create(h, f"wiki-{i}")
        while h.deployer.active < 2:
            await asyncio.wait_for(h.deployer.started.wait(), WAIT)
            h.deployer.started.clear()
        # The one fixed wait left: the runner shows no event for an operation waiting for a
        # slot, so a third gets the time it would need to start (max_active below holds
        # throughout anyway).
        await asyncio.sleep(0.05)
        assert h.deployer.active == 2
        h.deployer.gate.set()
        await h.settle()
    finally:
        await h.runner.stop()
    assert h.deployer.max_active == 2
    assert len(h.deployer.applied) == 5


async def test_stopped_runner_leaves_work_pending() -> None:
    class Nothing:
        async def pending_environment_ids(self) -> list[int]:
            return []

        async def run_pending(self, env_id: int) -> bool:
            raise AssertionError("must not run")

    runner = OperationRunner(Nothing(), max_concurrency=1, sleep=no_sleep)
    runner.submit(1)  # not started: nothing runs
    assert runner.active == 0, "a runner that was never started began an operation"
    await bounded(runner.wait_idle(), "the stopped runner to be idle", within=WAIT)


async def test_secrets_never_reach_the_log(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="catalyst")
    secret_values = {"mediawikiCore": {"password": "hunter2-secret-value"}, "apiToken": "tok-42"}
    record = await harness.environments.create(
        caller=harness.admin, name="wiki-1", chart_name="mediawiki", values=secret_values
    )
    await harness.settle()
    await harness.environments.rebuild(
        record.id, caller=harness.admin, name=None, chart_name=None, values=secret_values
    )
    await harness.settle()
    assert "hunter2-secret-value" not in caplog.text
    assert "tok-42" not in caplog.text
    assert f"environment {record.id}" in caplog.text


async def test_watcher_path_reports_change_and_gives_stale_time_back(harness: Harness) -> None:
    harness.renderer.error = RENDER_ERROR
    record = await create(harness)
    await harness.settle()
    failed = await harness.repo.get(record.id)
    assert failed is not None
    assert failed.expires_at is not None

    snapshot = await harness.reader.read_environment(failed.namespace, failed.id)
    inventory = await harness.repo.get_inventory(failed.id)
    observed = await harness.status.apply_observation(
        failed,
        observation_for(failed, inventory, snapshot),
        WATCHER_SOURCE,
        stale_for=timedelta(hours=1),
    )
    assert observed.changed is False
    assert observed.record.status == "failed"
    assert observed.record.expires_at == failed.expires_at + timedelta(hours=1)


async def test_latest_status_change_is_flagged(harness: Harness) -> None:
    record = await create(harness)
    await harness.settle()
    stored = await harness.repo.get(record.id)
    assert stored is not None
    snapshot = await harness.reader.read_environment(stored.namespace, stored.id)
    inventory = await harness.repo.get_inventory(stored.id)
    first = await harness.status.apply_observation(
        stored, observation_for(stored, inventory, snapshot), WATCHER_SOURCE
    )
    assert (first.changed, first.record.status) == (True, "running")
    second = await harness.status.apply_observation(
        first.record, observation_for(first.record, inventory, snapshot), WATCHER_SOURCE
    )
    assert second.changed is False
    history = await harness.repo.list_status_changes(record.id)
    assert (history[-1].to_status, history[-1].source) == ("running", "watcher")
