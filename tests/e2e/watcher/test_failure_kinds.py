"""Issue 4: failure kinds and the expiry, as the watcher records them.

- A creation failure (image pull, crash loop, failed install Job) is ``failed`` /
  ``creation`` with ``expires_at = failed_at + EXPIRY``.
- The same failure after the environment has run is ``runtime``, during a rebuild of one
  that had run ``rebuild``; neither expires.
- A cluster-wide failure (every environment's pods crash at once) marks every running
  environment failed without an expiry, and the reaper deletes none of them, while a
  creation failure whose expiry passed in the same run is deleted (the positive control:
  it proves the reaper ran after the runtime failures existed).

Each failure kind runs on both clusters (`tests.support.clusters.BOTH_CLUSTERS_FOR_CATALYST`): on
realkube the statuses come from the real deployment, replicaset, statefulset and job
controllers and kwok's pod stages. The cluster-wide failure stays on kubesim: it repeats
the runtime case four times over and costs a minute on realkube for no new rule.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from catalyst.store.database import Database
from catalyst.store.environments import EnvironmentRepository
from tests.support.clusters import BOTH_CLUSTERS_FOR_CATALYST
from tests.support.live_api import (
    FAIL_ANNOTATION,
    create_environment,
    environment_body,
    make_pods_crash,
    statuses,
    wait_for_status,
)
from tests.support.live_cluster import (
    assert_consistent_history,
    describe,
    history,
    pods,
    statuses_path,
)
from tests.support.waiting import eventually

EXPIRY = 3600.0
CREATION_FAILURES: dict[str, tuple[str, dict[str, float]]] = {
    "image-pull": ("ImagePullBackOff", {"status_image_pull_timeout": 1.0}),
    "crash-loop": ("CrashLoopBackOff", {"status_crash_restarts": 1}),
    "invalid-image": ("InvalidImageName", {}),
    # On realkube the real scheduler reports PodScheduled=False/Unschedulable.
    "unschedulable": ("Unschedulable", {"status_unschedulable_timeout": 1.0}),
    # Every pod exits 1; crash loops are given 50 restarts, so only the install Job's
    # failure (restartPolicy Never, backoffLimit 1: two pods fail) can fail the environment.
    "install-job": ("ExitError", {"status_crash_restarts": 50}),
}


def failing(mode: str) -> dict[str, Any]:
    values: dict[str, Any] = {"podAnnotations": {FAIL_ANNOTATION: mode}}
    if mode == "ExitError":
        values["install"] = {"backoffLimit": 1}
    return values


async def assert_failed(
    api: httpx.AsyncClient, database: Database, env_id: int, kind: str
) -> dict[str, Any]:
    listed = await wait_for_status(api, env_id, "failed")
    assert listed["failureKind"] == kind, listed
    record = await EnvironmentRepository(database).get(env_id)
    assert record is not None
    changes = await history(database, env_id)
    assert_consistent_history(changes)
    assert changes[-1].source == "watcher", describe(changes)
    assert changes[-1].failure_kind == kind, describe(changes)
    return {"listed": listed, "record": record}


@BOTH_CLUSTERS_FOR_CATALYST
@pytest.mark.parametrize(
    ("mode", "overrides"),
    [
        pytest.param(mode, {"status_expiry": EXPIRY, **extra}, id=name)
        for name, (mode, extra) in CREATION_FAILURES.items()
    ],
)
async def test_a_creation_failure_expires(
    api: httpx.AsyncClient, database: Database, mode: str
) -> None:
    env_id = await create_environment(api, "broken", **failing(mode))
    outcome = await assert_failed(api, database, env_id, "creation")
    record = outcome["record"]
    assert record.failed_at is not None
    assert record.expires_at == record.failed_at + timedelta(seconds=EXPIRY), record
    assert outcome["listed"]["expiresAt"] is not None
    if mode == "ExitError":
        assert "Job/" in record.status_message, record.status_message


@BOTH_CLUSTERS_FOR_CATALYST
@pytest.mark.parametrize("overrides", [{"status_expiry": EXPIRY}])
async def test_the_same_failure_after_running_is_runtime_and_never_expires(
    api: httpx.AsyncClient, kube: httpx.AsyncClient, database: Database
) -> None:
    env_id = await create_environment(api, "ran")
    await wait_for_status(api, env_id, "running")
    await make_pods_crash(kube, env_id)
    outcome = await assert_failed(api, database, env_id, "runtime")
    assert outcome["record"].expires_at is None
    assert outcome["listed"]["expiresAt"] is None


@BOTH_CLUSTERS_FOR_CATALYST
@pytest.mark.parametrize("overrides", [{"status_expiry": EXPIRY}])
async def test_a_failed_rebuild_of_one_that_ran_is_rebuild_and_never_expires(
    api: httpx.AsyncClient, database: Database
) -> None:
    env_id = await create_environment(api, "rebuilt")
    await wait_for_status(api, env_id, "running")
    body = environment_body("rebuilt", **failing("CrashLoopBackOff"))
    response = await api.post(f"/api/environments/{env_id}/refresh", json=body)
    assert response.status_code == 202, response.text
    outcome = await assert_failed(api, database, env_id, "rebuild")
    assert outcome["record"].expires_at is None
    assert outcome["listed"]["expiresAt"] is None


@pytest.mark.parametrize(
    "overrides",
    [{"status_expiry": 2.0, "reaper_interval_seconds": 0.3, "status_image_pull_timeout": 1.0}],
)
async def test_a_cluster_wide_failure_fails_everything_and_the_reaper_deletes_none(
    api: httpx.AsyncClient, kube: httpx.AsyncClient, database: Database
) -> None:
    running = [await create_environment(api, f"fleet-{n}") for n in range(3)]
    for env_id in running:
        await wait_for_status(api, env_id, "running")

    await asyncio.gather(*(make_pods_crash(kube, env_id) for env_id in running))
    for env_id in running:
        outcome = await assert_failed(api, database, env_id, "runtime")
        assert outcome["record"].expires_at is None

    # Positive control: a creation failure whose 2 s expiry passes is reaped.
    doomed = await create_environment(api, "doomed", **failing("ImagePullBackOff"))
    await assert_failed(api, database, doomed, "creation")

    async def reaped() -> bool:
        changes = await history(database, doomed)
        return any(change.source == "reaper" for change in changes)

    await eventually(reaped, "the reaper to delete the expired creation failure")

    listed = await statuses(api)
    for env_id in running:
        assert listed[env_id]["status"] == "failed", listed[env_id]
        changes = await history(database, env_id)
        assert all(change.source != "reaper" for change in changes), describe(changes)


@BOTH_CLUSTERS_FOR_CATALYST
@pytest.mark.parametrize("overrides", [{"status_expiry": EXPIRY}])
async def test_a_crash_looping_environment_stays_failed_between_restarts(
    api: httpx.AsyncClient, kube: httpx.AsyncClient, database: Database
) -> None:
    """Between two back-offs a crash-looping container runs (not Ready) for a moment; that
    must not be recorded as failed → starting → failed on every restart."""
    env_id = await create_environment(api, "looping")
    await wait_for_status(api, env_id, "running")
    await make_pods_crash(kube, env_id)
    await assert_failed(api, database, env_id, "runtime")
    restarts_at_failure = await max_restarts(kube, env_id)

    async def two_more_restarts() -> bool:
        return await max_restarts(kube, env_id) >= restarts_at_failure + 2

    await eventually(two_more_restarts, "the containers to restart twice more")
    changes = await history(database, env_id)
    assert_consistent_history(changes)
    assert statuses_path(changes) == ["starting", "running", "failed"], describe(changes)


async def max_restarts(kube: httpx.AsyncClient, env_id: int) -> int:
    return max(
        (
            container.get("restartCount", 0)
            for pod in await pods(kube, f"env-{env_id}")
            for container in (pod.get("status") or {}).get("containerStatuses") or []
        ),
        default=0,
    )
