"""LogFollower against kubesim's simulated container logs."""

from __future__ import annotations

import asyncio
from datetime import UTC

import pytest

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.deployer import Deployer, DeployTarget
from catalyst.cluster.logs import LogFollower, LogLine, LogWaitTimeout
from tests.catalyst.cluster.renders import job


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
