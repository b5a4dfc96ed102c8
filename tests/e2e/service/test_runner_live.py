"""A create accepted while the cluster is unreachable runs as soon as the cluster answers
again, not when its grown back-off ends; each retry meanwhile is one WARNING line.

On both clusters (`tests.clusters.BOTH_CLUSTERS`): Catalyst reaches the API server through a
TCP relay that the test cuts (every connection reset, new ones refused) and restores.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.clusters import BOTH_CLUSTERS, KubeCluster, catalyst_settings
from tests.support.live import LiveCatalyst, live_catalyst
from tests.support.live_api import create_environment, wait_for_status
from tests.support.live_cluster import FAST_WATCHER
from tests.support.tcp_proxy import TcpProxy, kubeconfig_via
from tests.support.waiting import eventually

pytestmark = BOTH_CLUSTERS

WAIT = 60.0
GROWN_BACK_OFF = 8.0  # 1 + 2 + 4 s of failed attempts before it
RETRYING = re.compile(r"operation interrupted \(.*\); retrying in (\d+) s")


@pytest.fixture
async def proxy(kube_cluster: KubeCluster) -> AsyncIterator[TcpProxy]:
    async with TcpProxy(kube_cluster.url) as relay:
        yield relay


@pytest.fixture
async def live(
    kube_cluster: KubeCluster, proxy: TcpProxy, tmp_path: Path
) -> AsyncIterator[LiveCatalyst]:
    lease_namespace = await kube_cluster.new_namespace("lease")
    settings = catalyst_settings(kube_cluster, lease_namespace)
    settings["kubeconfig"] = str(
        kubeconfig_via(proxy, kube_cluster.kubeconfig_path, tmp_path / "relayed")
    )
    async with live_catalyst(
        tmp_path / "data",
        first_environment_id=kube_cluster.environment_id_block(),
        **FAST_WATCHER,
        **settings,
    ) as running:
        yield running


def retries(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if RETRYING.search(r.getMessage())]


async def test_a_create_accepted_during_an_outage_runs_when_the_cluster_is_back(
    live: LiveCatalyst,
    api: httpx.AsyncClient,
    proxy: TcpProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="catalyst")
    proxy.cut()
    env_id = await create_environment(api, "outage")

    async def backed_off() -> bool:
        return any(
            float(RETRYING.search(r.getMessage())[1]) >= GROWN_BACK_OFF  # type: ignore[index]
            for r in retries(caplog)
        )

    await eventually(backed_off, f"a retry back-off of {GROWN_BACK_OFF:g} s", within=WAIT)
    last_retry = retries(caplog)[-1]
    proxy.restore()
    await wait_for_status(api, env_id, "running", WAIT)

    # The retry came from the recovery, before the back-off it was waiting out had ended.
    resumed = [r for r in caplog.records if "cluster answers again" in r.getMessage()]
    assert resumed, "the runner's probe never saw the cluster answer again"
    started = [
        r
        for r in caplog.records
        if f"environment {env_id}: create (revision 1) started" in r.getMessage()
        and r.created > last_retry.created
    ]
    assert started, "the create was not started again after the outage"
    scheduled = float(RETRYING.search(last_retry.getMessage())[1])  # type: ignore[index]
    assert started[0].created - last_retry.created < scheduled, (
        f"retried {started[0].created - last_retry.created:.1f} s after a {scheduled:g} s "
        "back-off began: the recovery did not wake it"
    )
    # Every interruption was a warning without a traceback, never an error.
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in retries(caplog))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR
    ]
