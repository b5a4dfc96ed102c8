"""A real kube-apiserver's 410 and 429, met by a live Catalyst while an environment changes.

A realkube of this module's own, whose kube-apiserver is started so that the two answers can
be caused on demand:

- ``--watch-cache=false``: watches are served from etcd, so once etcd's history is compacted
  (`realkube.RealKube.compact_history`) a watch resumed from an older resourceVersion
  answers 410 Expired. (With the watch cache on, the server would still hold the recent
  events in memory and resume the watch.)
- ``--enable-priority-and-fairness=false --max-mutating-requests-inflight=2``: the classic
  max-in-flight limit instead of APF's queues, so while two writes are held open (their bodies
  never finish arriving) every other write answers 429 at once, with Retry-After.

Catalyst talks to it as a ServiceAccount bound to ``cluster-admin`` (a token in its
kubeconfig): members of ``system:masters``, as realkube's admin certificate is, are exempt
from the in-flight limit. The cluster's own controllers use that certificate, so only
Catalyst is throttled.

After each fault, the listed status equals the cluster's within 5 s
(`tests.support.live_cluster.converges_to`) and agrees with ``?latestStatus=1``, and the
history holds each transition exactly once.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from catalyst.store.database import Database
from tests.support.clusters import REALKUBE, KubeCluster
from tests.support.live_api import create_environment, make_pods_fail, metric_total, wait_for_status
from tests.support.live_cluster import (
    BROKEN,
    check_after_recovery,
    converges_to,
    two_running,
)
from tests.support.realkube_thread import RealKubeThread, running_realkube
from tests.support.waiting import eventually

pytestmark = [pytest.mark.realkube, pytest.mark.slow]

WRITE_LIMIT = 2
APISERVER_FLAGS = (
    "--watch-cache=false",
    "--enable-priority-and-fairness=false",
    f"--max-mutating-requests-inflight={WRITE_LIMIT}",
)
_operators = itertools.count(1)


@pytest.fixture(scope="module")
def limited_realkube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealKubeThread]:
    with running_realkube(tmp_path_factory.mktemp("limited-realkube"), APISERVER_FLAGS) as cluster:
        yield cluster


@pytest.fixture
def operator_token(limited_realkube: RealKubeThread) -> str:
    """A token of a ServiceAccount bound to cluster-admin (not in ``system:masters``)."""
    return limited_realkube.call(_operator_token(limited_realkube, f"operator-{next(_operators)}"))


@pytest.fixture
def catalyst_cluster(
    limited_realkube: RealKubeThread, operator_token: str, tmp_path: Path
) -> Iterator[KubeCluster]:
    """The live Catalyst of ``tests/e2e/watcher/conftest.py`` runs on this module's cluster,
    as the operator ServiceAccount; the test's own client is the admin."""
    as_operator = _token_kubeconfig(
        limited_realkube.kubeconfig, operator_token, tmp_path / "operator.kubeconfig"
    )
    cluster = KubeCluster(REALKUBE, limited_realkube.url, as_operator, real=limited_realkube)
    try:
        yield cluster
    finally:
        cluster.clean_up()


@pytest.mark.parametrize("overrides", [{"watch_timeout_seconds": 2}])
async def test_a_watch_resumed_after_compaction_gets_410_and_the_relist_loses_nothing(
    api: httpx.AsyncClient,
    kube: httpx.AsyncClient,
    database: Database,
    limited_realkube: RealKubeThread,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Watches end cleanly every 2-4 s and resume from the last resourceVersion seen (a
    # broken stream, by contrast, is followed by a relist: no 410 could show there).
    caplog.set_level(logging.INFO, logger="catalyst.watcher.reflector")
    target, control = await two_running(api)
    relists = await metric_total(api, "catalyst_informer_relists_total")

    await make_pods_fail(kube, target, BROKEN)
    # Every resourceVersion the informers hold but the newest is now older than etcd's
    # history: their next watch is answered 410 Expired.
    await limited_realkube.acall(limited_realkube.cluster.compact_history())

    def expired() -> bool:
        return any("too old" in r.getMessage() for r in caplog.records)

    async def relisted() -> bool:
        return await metric_total(api, "catalyst_informer_relists_total") > relists

    await eventually(expired, "a resumed watch to be answered 410", within=30)
    await eventually(relisted, "the informer answered 410 to list again", within=30)
    await converges_to(api, kube, target, status="failed", failure_kind="runtime")
    await check_after_recovery(api, database, target, control)


async def test_writes_answered_429_delay_a_create_and_lose_no_change(
    api: httpx.AsyncClient,
    kube: httpx.AsyncClient,
    database: Database,
    limited_realkube: RealKubeThread,
    operator_token: str,
) -> None:
    target, control = await two_running(api)
    throttled = await metric_total(api, "catalyst_kube_api_throttled_total")

    async with _writes_held(limited_realkube, operator_token, WRITE_LIMIT):

        async def writes_refused() -> bool:
            return await _operator_write_status(limited_realkube, operator_token) == 429

        await eventually(writes_refused, "the kube-apiserver to answer writes with 429")
        await make_pods_fail(kube, target, BROKEN)  # the admin is exempt from the limit
        late = await create_environment(api, "late")

        async def throttled_a_while() -> bool:
            return await metric_total(api, "catalyst_kube_api_throttled_total") >= throttled + 3

        await eventually(throttled_a_while, "Catalyst to be answered 429 three times")

    await converges_to(api, kube, target, status="failed", failure_kind="runtime")
    await wait_for_status(api, late, "running")
    await check_after_recovery(api, database, target, control)


async def _operator_token(cluster: RealKubeThread, name: str) -> str:
    client = cluster.client
    namespace = "kube-system"
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}
    await client.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", body=account)
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "cluster-admin",
        },
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
    }
    await client.request(
        "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", body=binding
    )
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600},
    }
    answer: dict[str, Any] = await client.request(
        "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", body=request
    )
    token: str = answer["status"]["token"]
    return token


def _token_kubeconfig(admin: Path, token: str, target: Path) -> Path:
    """A copy of the admin kubeconfig whose user is the bearer ``token``."""
    config = yaml.safe_load(admin.read_text())
    for user in config["users"]:
        user["user"] = {"token": token}
    target.write_text(yaml.safe_dump(config))
    return target


def _ca_context(cluster: RealKubeThread) -> ssl.SSLContext:
    pki = cluster.cluster.pki
    assert pki is not None
    return ssl.create_default_context(cafile=str(pki.ca_crt))


async def _operator_write_status(cluster: RealKubeThread, token: str) -> int:
    """The status of one small write (a ConfigMap) made as the operator."""
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "probe-"}}
    async with httpx.AsyncClient(
        base_url=cluster.url, verify=_ca_context(cluster), timeout=10
    ) as client:
        response = await client.post(
            "/api/v1/namespaces/default/configmaps",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
    return response.status_code


@asynccontextmanager
async def _writes_held(cluster: RealKubeThread, token: str, count: int) -> AsyncIterator[None]:
    """Hold ``count`` writes open at the kube-apiserver: each sends its headers and the
    first byte of the body it announces, and no more, so it keeps its in-flight slot."""
    parts = urlsplit(cluster.url)
    assert parts.hostname is not None
    assert parts.port is not None
    writers: list[asyncio.StreamWriter] = []
    try:
        for _ in range(count):
            _, writer = await asyncio.open_connection(
                parts.hostname, parts.port, ssl=_ca_context(cluster)
            )
            writers.append(writer)
            writer.write(
                b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\n"
                + f"Host: {parts.netloc}\r\nAuthorization: Bearer {token}\r\n".encode()
                + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            )
            await writer.drain()
        yield
    finally:
        for writer in writers:
            writer.transport.abort()
