"""Fixtures for cluster-adapter tests that run against a real kubesim over HTTP.

``kubesim`` (a started ``kubesim.server.KubeSim``) comes from ``tests/conftest.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.deployer import Deployer

_environment_ids = itertools.count(1000)


@pytest.fixture
async def cluster(kubesim: Any) -> AsyncIterator[ClusterClient]:
    async with await ClusterClient.from_kubeconfig(kubesim.kubeconfig_path) as client:
        yield client


@pytest.fixture
def deployer(cluster: ClusterClient) -> Deployer:
    return Deployer(cluster)


@pytest.fixture
def environment_id() -> int:
    """A fresh environment id (and so namespace) per test."""
    return next(_environment_ids)
