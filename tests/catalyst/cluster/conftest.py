"""Fixtures for cluster-adapter tests that run against a real API server over HTTP.

``kube_cluster`` (``tests/conftest.py``) is a started kubesim, or the session's realkube in
modules parametrized with `tests.support.clusters.BOTH_CLUSTERS`; ``kubesim`` is that same kubesim.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.deployer import Deployer
from tests.support.clusters import KubeCluster


@pytest.fixture
async def cluster(kube_cluster: KubeCluster) -> AsyncIterator[ClusterClient]:
    async with await ClusterClient.from_kubeconfig(kube_cluster.kubeconfig_path) as client:
        yield client


@pytest.fixture
def deployer(cluster: ClusterClient) -> Deployer:
    return Deployer(cluster)


@pytest.fixture
def environment_id(kube_cluster: KubeCluster) -> int:
    """A fresh environment id (and so namespace ``env-<id>``) per test, unique in the
    session (realkube is shared); its namespace is deleted after the test on realkube."""
    return kube_cluster.environment_id()
