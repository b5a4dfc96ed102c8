"""LogFollower against kubesim's simulated container logs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC

import pytest

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.deployer import Deployer, DeployTarget
from catalyst.cluster.logs import LogFollower, LogLine, LogSourceDeleted, LogWaitTimeout
from kubesim.server import KubeSim
from tests.support.renders import config_map, job
from tests.support.waiting import eventually

WAIT = 15.0


async def collect(
    follower: LogFollower, namespace: str, environment_id: int, container: str, wait: float
) -> list[LogLine]:
    async def run() -> list[LogLine]:
        stream = follower.follow(namespace, environment_id, container, wait_timeout=wait)
        return [line async for line in stream]

    return await asyncio.wait_for(run(), 30)


async def test_follows_until_the_container_terminates(
    cluster: ClusterClient, deployer: Deployer, environment_id: int
) -> None:
    ns = f"env-{environment_id}"
    follower = LogFollower(cluster)
    # Start following before the pod exists: the follower has to wait for it.
    following = asyncio.create_task(collect(follower, ns, environment_id, "install", 20))
    await deployer.apply_environment(
        DeployTarget(environment_id, "demo", 1, ns),
        [job("install", "install", logs="Preparing worktree\ncomposer install\nInstalling Wiki")],
    )
    lines = await following
    assert [line.line for line in lines] == [
        "Preparing worktree",
        "composer install",
        "Installing Wiki",
    ]
    assert all(line.timestamp.tzinfo == UTC for line in lines)
    assert [line.timestamp for line in lines] == sorted(line.timestamp for line in lines)


async def test_wait_timeout_names_what_is_missing(
    cluster: ClusterClient, deployer: Deployer, environment_id: int
) -> None:
    ns = f"env-{environment_id}"
    await deployer.apply_environment(
        DeployTarget(environment_id, "demo", 1, ns), [job("install", "install")]
    )
    with pytest.raises(
        LogWaitTimeout, match="no pod of the environment has a container named nope"
    ):
        await collect(LogFollower(cluster), ns, environment_id, "nope", 0.5)


async def test_wait_timeout_reports_why_the_container_is_waiting(
    cluster: ClusterClient, deployer: Deployer, environment_id: int
) -> None:
    ns = f"env-{environment_id}"
    stuck = job("install", "install")
    stuck["spec"]["template"]["metadata"]["annotations"]["sim.kubesim.io/fail"] = "ImagePullBackOff"
    await deployer.apply_environment(DeployTarget(environment_id, "demo", 1, ns), [stuck])
    with pytest.raises(
        LogWaitTimeout, match=r"container install is (ImagePullBackOff|ErrImagePull)"
    ):
        await collect(LogFollower(cluster), ns, environment_id, "install", 2)


def watches_on(kubesim: KubeSim, resource: str) -> int:
    return kubesim.hub.watchers_by_resource().get(resource, 0)


async def test_a_waiting_follow_ends_when_its_namespace_is_deleted(
    kubesim: KubeSim, cluster: ClusterClient, deployer: Deployer, environment_id: int
) -> None:
    ns = f"env-{environment_id}"
    # The finalizer keeps the namespace Terminating, whenever the follower looks at it.
    held = config_map("held")
    held["metadata"]["finalizers"] = ["test.catalyst.io/hold"]
    await deployer.apply_environment(
        DeployTarget(environment_id, "demo", 1, ns), [job("install", "install"), held]
    )
    pod_watches = watches_on(kubesim, "pods")

    async def waiting_for_its_pod() -> bool:
        return watches_on(kubesim, "pods") > pod_watches

    following = asyncio.create_task(collect(LogFollower(cluster), ns, environment_id, "nope", 300))
    await eventually(waiting_for_its_pod, "the follower to watch for its pod", within=WAIT)
    await cluster.request("DELETE", f"/api/v1/namespaces/{ns}")
    with pytest.raises(LogSourceDeleted, match=f"namespace {ns} is being deleted"):
        await asyncio.wait_for(following, WAIT)


async def test_a_follow_whose_namespace_never_came_ends_when_the_environment_is_deleted(
    cluster: ClusterClient, environment_id: int
) -> None:
    ns = f"env-{environment_id}"  # never created: the delete came before the deploy
    asked = 0
    deleted = asyncio.Event()

    async def environment_exists() -> bool:
        nonlocal asked
        asked += 1
        if asked == 3:
            deleted.set()
        return not deleted.is_set()

    follower = LogFollower(cluster, absent_recheck=0.05)
    lines = follower.follow(
        ns, environment_id, "install", wait_timeout=300, environment_exists=environment_exists
    )
    with pytest.raises(LogSourceDeleted, match="environment was deleted"):
        await asyncio.wait_for(anext(lines), WAIT)
    assert asked == 3


async def test_a_follow_started_before_the_namespace_exists_is_not_ended_by_its_absence(
    cluster: ClusterClient, deployer: Deployer, environment_id: int
) -> None:
    ns = f"env-{environment_id}"
    asked = asyncio.Event()

    async def environment_exists() -> bool:
        asked.set()
        return True

    follower = LogFollower(cluster, absent_recheck=0.05)
    stream = follower.follow(
        ns, environment_id, "install", wait_timeout=20, environment_exists=environment_exists
    )
    following = asyncio.create_task(asyncio.wait_for(_lines(stream), WAIT))
    await asyncio.wait_for(asked.wait(), WAIT)  # it saw no namespace and asked
    await deployer.apply_environment(
        DeployTarget(environment_id, "demo", 1, ns), [job("install", "install", logs="done")]
    )
    assert [line.line for line in await following] == ["done"]


async def _lines(stream: AsyncIterator[LogLine]) -> list[LogLine]:
    return [line async for line in stream]
