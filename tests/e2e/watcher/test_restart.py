"""Issue 4, restart safety with real processes: ``catalyst serve`` on a SQLite file and an
external ``kubesim serve``, so the cluster outlives every Catalyst process.

- The service is SIGKILLed right after answering a create: when it is started again, the
  create resumes and the environment reaches ``running``; nothing stays ``starting``.
- After a restart (SIGKILL, the worst case) the new process re-evaluates every environment
  against a fresh list, and the status history gains nothing: no transition recorded
  twice, no false one (no running → starting → running blip for an environment that
  stayed running, no repeated ``failed`` for one that stayed failed). The failed one has
  an invalid image (it fails once and stays so), so crash-loop flapping cannot blur this.

The restarted process has a new identity, as a new pod would, so it waits out the dead
process's Lease before it watches; "within 5 s of recovery" is therefore measured from
the moment its informers are synced.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst.store.database import Database, sqlite_url_for
from catalyst.store.environments import EnvironmentRepository
from tests.support.live_api import (
    create_environment,
    informers_synced,
    make_pods_fail,
    statuses,
    wait_for_status,
)
from tests.support.live_cluster import (
    RECOVERY_LIMIT,
    assert_consistent_history,
    describe,
    history,
    statuses_path,
)
from tests.support.processes import (
    CatalystProcess,
    CatalystReplicas,
    KubesimProcess,
    create_admin_token,
    kubesim_process,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

SETTINGS = {
    "watcher_poll_seconds": 0.2,
    "watcher_heartbeat_seconds": 0.5,
    "status_crash_restarts": 1,
}
RESTART_WAIT = 60.0


@dataclass
class Deployment:
    """One Catalyst process at a time over a cluster and a database that both survive it."""

    replicas: CatalystReplicas
    database: Database
    token: str
    kube_url: str

    async def start(self, name: str) -> tuple[CatalystProcess, httpx.AsyncClient]:
        process = await self.replicas.start(name)
        client = httpx.AsyncClient(
            base_url=process.url, headers={"Authorization": f"ApiToken {self.token}"}, timeout=10
        )
        return process, client


@pytest.fixture
async def kubesim(tmp_path: Path) -> AsyncIterator[KubesimProcess]:
    async with kubesim_process(tmp_path / "kubesim") as running:
        yield running


@pytest.fixture
async def deployment(tmp_path: Path, kubesim: KubesimProcess) -> AsyncIterator[Deployment]:
    url = sqlite_url_for(tmp_path)
    token = await create_admin_token(url)
    replicas = CatalystReplicas(
        tmp_path / "catalyst", database_url=url, kubeconfig=kubesim.kubeconfig, **SETTINGS
    )
    database = Database(url)
    await database.connect()
    try:
        yield Deployment(replicas, database, token, kubesim.url)
    finally:
        await replicas.stop_all()
        await database.close()


async def wait_synced(api: httpx.AsyncClient, within: float = RESTART_WAIT) -> None:
    await eventually(lambda: informers_synced(api), "the informers to sync", within=within)


def observed_at(environment: dict[str, Any]) -> datetime | None:
    """The API's statusObservedAt: when the leader last confirmed the status."""
    value = environment.get("statusObservedAt")
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


async def test_killed_in_the_middle_of_a_create_it_finishes_after_a_restart(
    deployment: Deployment,
) -> None:
    first, api = await deployment.start("first")
    async with api:
        await wait_synced(api)
        env_id = await create_environment(api, "interrupted")
        await first.kill()  # right after the 201: the create operation is under way

    killed = await EnvironmentRepository(deployment.database).get(env_id)
    assert killed is not None
    assert (killed.status, killed.operation) == ("starting", "create"), killed

    _, api = await deployment.start("second")
    async with api:
        await wait_synced(api)
        running = await wait_for_status(api, env_id, "running", within=RESTART_WAIT)
        assert running["failureKind"] is None, running
        assert not [e for e in (await statuses(api)).values() if e["status"] == "starting"]
        changes = await history(deployment.database, env_id)
        assert_consistent_history(changes)
        assert statuses_path(changes) == ["starting", "running"], describe(changes)


async def test_a_restart_records_no_false_and_no_duplicate_transition(
    deployment: Deployment,
) -> None:
    first, api = await deployment.start("first")
    async with api:
        await wait_synced(api)
        steady = await create_environment(api, "steady")
        broken = await create_environment(api, "broken")
        await wait_for_status(api, steady, "running")
        await wait_for_status(api, broken, "running")
        kube = httpx.AsyncClient(base_url=deployment.kube_url, timeout=10)
        async with kube:
            await make_pods_fail(kube, broken, "InvalidImageName")
        await wait_for_status(api, broken, "failed")
        await first.kill()

    before = {env_id: await history(deployment.database, env_id) for env_id in (steady, broken)}
    restarted_at = datetime.now(UTC)

    _, api = await deployment.start("second")
    async with api:
        await wait_synced(api)

        # The new leader confirmed both statuses (statusObservedAt after the restart, which
        # needs a full evaluation of every environment) within 5 s of syncing.
        async def re_evaluated() -> bool:
            listed = await statuses(api)
            return all(
                (stamp := observed_at(listed[e])) is not None and stamp > restarted_at
                for e in before
            )

        await eventually(re_evaluated, "the new leader to evaluate both", within=RECOVERY_LIMIT)
        listed = await statuses(api)
        assert listed[steady]["status"] == "running"
        assert (listed[broken]["status"], listed[broken]["failureKind"]) == ("failed", "runtime")

    for env_id, earlier in before.items():
        after = await history(deployment.database, env_id)
        assert after == earlier, f"before:\n{describe(earlier)}\nafter:\n{describe(after)}"
        assert_consistent_history(after)
    assert statuses_path(before[steady]) == ["starting", "running"]
    assert statuses_path(before[broken]) == ["starting", "running", "failed"]
