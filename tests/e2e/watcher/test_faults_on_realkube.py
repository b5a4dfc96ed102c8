"""The reliability promises with real processes: faults of the real control plane.

A realkube of this module's own (the session's cluster is shared by every other realkube
test, and these tests freeze and kill its parts): kube-controller-manager killed and started
again, then kube-apiserver frozen for 60 s (SIGSTOP, then SIGCONT: connections stay open and
nothing answers), then kube-apiserver restarted, in that order (the faults the cluster is
slowest to recover from last). After each, the listed status equals the cluster's within
5 s of the change being visible (`tests.support.live_cluster.converges_to`), agrees with
``?latestStatus=1``, and the history holds each transition exactly once; a control
environment stays running throughout; no environment that ran gets an expiry; the reaper
deletes nothing while data is stale.

Last, kube-apiserver restarted (every watch drops, nothing answers for the 10-20 s it takes
to start). The cluster's own controllers are slow to follow it: kube-controller-manager's and
kube-scheduler's client-go informers back off (up to 30 s, jittered up to 60 s) while the
server is away, so the change the test makes shows in the cluster up to about a minute
later (measured: the Job controller created a pod 47 s after a restart). The 5 s promise is
measured from the moment the cluster shows the change, as for every fault; the test waits
longer for the cluster itself.

A real 410 and real 429s are in `test_expired_and_throttled_on_realkube.py` (a cluster
started with other kube-apiserver flags).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from catalyst.store.database import Database
from tests.support.clusters import REALKUBE, KubeCluster
from tests.support.live_api import (
    FAIL_ANNOTATION,
    create_environment,
    listed,
    make_pods_fail,
    wait_for_status,
)
from tests.support.live_cluster import (
    BROKEN,
    check_after_recovery,
    converges_to,
    describe,
    history,
    two_running,
    wait_quiet,
)
from tests.support.realkube_thread import RealKubeThread, running_realkube
from tests.support.waiting import eventually

pytestmark = [pytest.mark.realkube, pytest.mark.slow]

FREEZE_SECONDS = 60.0
RESTART_WITHIN = 180.0
CONTROLLERS_WITHIN = 180.0  # the controllers' own back-off after a kube-apiserver restart


@pytest.fixture(scope="module")
def faulty_realkube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealKubeThread]:
    with running_realkube(tmp_path_factory.mktemp("faulty-realkube")) as cluster:
        yield cluster


@pytest.fixture
def catalyst_cluster(faulty_realkube: RealKubeThread) -> Iterator[KubeCluster]:
    """The live Catalyst of ``tests/e2e/watcher/conftest.py`` runs on this module's cluster."""
    cluster = KubeCluster(
        REALKUBE, faulty_realkube.url, faulty_realkube.kubeconfig, real=faulty_realkube
    )
    try:
        yield cluster
    finally:
        cluster.clean_up()


async def test_a_killed_controller_manager_delays_but_loses_no_change(
    api: httpx.AsyncClient,
    kube: httpx.AsyncClient,
    database: Database,
    faulty_realkube: RealKubeThread,
) -> None:
    target, control = await two_running(api)
    manager = faulty_realkube.cluster.component("kube-controller-manager")

    await faulty_realkube.acall(manager.stop(grace=0.0))  # SIGTERM then SIGKILL at once
    # The template change waits for a deployment controller to roll it out.
    await make_pods_fail(kube, target, BROKEN)
    await faulty_realkube.acall(manager.start())

    await converges_to(api, kube, target, status="failed", failure_kind="runtime")
    await check_after_recovery(api, database, target, control)


@pytest.mark.parametrize(
    "overrides",
    [{"status_stale_timeout": 5.0, "status_expiry": 20.0, "reaper_interval_seconds": 1.0}],
)
async def test_a_frozen_kube_apiserver_expires_nothing_and_then_converges(
    api: httpx.AsyncClient,
    kube: httpx.AsyncClient,
    database: Database,
    faulty_realkube: RealKubeThread,
) -> None:
    target, control = await two_running(api)
    # A creation failure whose 20 s expiry passes during the outage: the reaper must not
    # delete it on stale data, and the outage's time is credited to it afterwards.
    doomed = await create_environment(api, "doomed", podAnnotations={FAIL_ANNOTATION: BROKEN})
    failed = await wait_for_status(api, doomed, "failed")
    assert failed["failureKind"] == "creation", failed
    expiry_before = _moment(failed["expiresAt"])

    loop = asyncio.get_running_loop()
    faulty_realkube.cluster.freeze("kube-apiserver")
    try:
        frozen_until = loop.time() + FREEZE_SECONDS

        async def marked_stale() -> bool:
            return all([(await listed(api, e))["stale"] for e in (target, control, doomed)])

        await eventually(marked_stale, "the listed statuses to be marked stale", within=30.0)
        await wait_quiet(frozen_until)  # the outage itself lasts 60 s
        for env_id in (target, control):
            assert (await listed(api, env_id))["status"] == "running"
        # Its expiry has passed, but the data is stale: still there.
        assert (await api.get(f"/api/environments/{doomed}")).status_code == 200
    finally:
        faulty_realkube.cluster.thaw("kube-apiserver")

    async def fresh() -> bool:
        return not any([(await listed(api, e))["stale"] for e in (target, control)])

    await eventually(fresh, "the stale flag to clear", within=30.0)
    credited = await listed(api, doomed)
    assert credited["expiresAt"] is not None, (credited, describe(await history(database, doomed)))
    assert _moment(credited["expiresAt"]) > expiry_before, (expiry_before, credited)

    await make_pods_fail(kube, target, BROKEN)
    await converges_to(api, kube, target, status="failed", failure_kind="runtime")
    await check_after_recovery(api, database, target, control)
    assert (await listed(api, control))["expiresAt"] is None


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_a_kube_apiserver_restart_loses_no_change(
    api: httpx.AsyncClient,
    kube: httpx.AsyncClient,
    database: Database,
    faulty_realkube: RealKubeThread,
) -> None:
    target, control = await two_running(api)

    await make_pods_fail(kube, target, BROKEN)  # the controllers act while the server goes
    await faulty_realkube.acall(
        faulty_realkube.cluster.restart("kube-apiserver"), within=RESTART_WITHIN
    )

    await converges_to(
        api,
        kube,
        target,
        status="failed",
        failure_kind="runtime",
        cluster_within=CONTROLLERS_WITHIN,
    )
    await check_after_recovery(api, database, target, control)
    # Operations still run: a create after the restart reaches running.
    after = await create_environment(api, "after")
    await wait_for_status(api, after, "running", within=CONTROLLERS_WITHIN)
