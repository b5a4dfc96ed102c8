"""Shared fixtures: a started kubesim per test, and an HTTP client for it.

``kubesim`` yields a started `KubeSim` on a free 127.0.0.1 port with its
kubeconfig in ``tmp_path``; ``kube_api`` is an aiohttp session whose base URL
is that server, so tests write ``await kube_api.get("/api/v1/namespaces")``.

``realkube`` (session) is a started realkube: a real kube-apiserver, etcd, controller
manager, scheduler and kwok nodes (``make kube`` builds them), with Catalyst's embedded
kubesim rules; ``realkube_namespace`` is a fresh namespace on it per test.

``kube_cluster`` is either of them as a `tests.support.clusters.KubeCluster`: kubesim unless
the test is parametrized over both with `tests.support.clusters.BOTH_CLUSTERS` (markers
``kubesim`` and ``realkube`` select a side). ``catalyst_cluster`` is the same for a Catalyst
under test, which on the kubesim side runs its own embedded kubesim.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from kubesim.server import KubeSim
from tests.support.clusters import REALKUBE, KubeCluster, make_kube_cluster, make_realkube_cluster
from tests.support.realkube_thread import RealKubeThread, running_realkube


@pytest.fixture
async def kubesim(tmp_path) -> AsyncIterator[KubeSim]:
    sim = KubeSim(kubeconfig=tmp_path / "kubeconfig")
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
async def kube_api(kubesim: KubeSim) -> AsyncIterator[aiohttp.ClientSession]:
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base_url=kubesim.url, timeout=timeout) as session:
        yield session


# ---------------------------------------------------------------------------- realkube
# A real control plane (built by `make kube`) for the whole session: it takes a while to
# start, so tests share it and isolate themselves in namespaces of their own.


@pytest.fixture(scope="session")
def realkube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealKubeThread]:
    """A started realkube running Catalyst's embedded kubesim rules; stopped at session end."""
    with running_realkube(tmp_path_factory.mktemp("realkube")) as cluster:
        yield cluster


@pytest.fixture
def realkube_namespace(realkube: RealKubeThread, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace on the session's realkube, deleted (without waiting) after the test."""
    prefix = "rk-" + "".join(ch for ch in request.node.name.lower() if ch.isalnum())[:30]
    name = realkube.new_namespace(prefix)
    try:
        yield name
    finally:
        realkube.delete_namespace(name)


@pytest.fixture
def kube_cluster(request: pytest.FixtureRequest) -> Iterator[KubeCluster]:
    """kubesim, or realkube when parametrized so (`tests.support.clusters.BOTH_CLUSTERS`); on
    realkube what the test made there is deleted afterwards."""
    cluster = make_kube_cluster(request)
    try:
        yield cluster
    finally:
        cluster.clean_up()


@pytest.fixture
def catalyst_cluster(request: pytest.FixtureRequest) -> Iterator[KubeCluster | None]:
    """The cluster for a Catalyst under test: None (its own embedded kubesim) unless
    parametrized with `tests.support.clusters.BOTH_CLUSTERS_FOR_CATALYST`, then realkube on that
    side (what the test made there is deleted afterwards)."""
    if getattr(request, "param", None) != REALKUBE:
        yield None
        return
    cluster = make_realkube_cluster(request)
    try:
        yield cluster
    finally:
        cluster.clean_up()
