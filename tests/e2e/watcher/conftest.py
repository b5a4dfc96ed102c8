"""Fixtures of the in-process fault tests: a live Catalyst with fast watcher timings and
clients for its API and for its cluster: its embedded kubesim, or (in tests parametrized
with `tests.support.clusters.BOTH_CLUSTERS_FOR_CATALYST`, on the realkube side) the session's
realkube, with the Lease in a namespace of the test's own and environment ids no other test
uses. ``kubesim`` (the fault controls) exists only on the kubesim side."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst.store.database import Database
from kubesim.server import KubeSim
from tests.support.clusters import KubeCluster, catalyst_settings
from tests.support.live import LiveCatalyst, live_catalyst
from tests.support.live_cluster import FAST_WATCHER


@pytest.fixture
def overrides() -> dict[str, object]:
    """Extra settings of the live Catalyst; a test module overrides this fixture."""
    return {}


@pytest.fixture
async def live(
    tmp_path: Path, overrides: dict[str, object], catalyst_cluster: KubeCluster | None
) -> AsyncIterator[LiveCatalyst]:
    settings: dict[str, Any] = {**FAST_WATCHER, **overrides}
    first_id = None
    if catalyst_cluster is not None:
        lease_namespace = await catalyst_cluster.new_namespace("lease")
        settings.update(catalyst_settings(catalyst_cluster, lease_namespace))
        first_id = catalyst_cluster.environment_id_block()
    async with live_catalyst(
        tmp_path / "data", first_environment_id=first_id, **settings
    ) as running:
        yield running


@pytest.fixture
def kubesim(live: LiveCatalyst) -> KubeSim:
    assert live.catalyst.kubesim is not None, "kubesim's fault controls: kubesim side only"
    return live.catalyst.kubesim


@pytest.fixture
async def kube(
    live: LiveCatalyst, catalyst_cluster: KubeCluster | None
) -> AsyncIterator[httpx.AsyncClient]:
    """An admin client of the Catalyst's cluster (the independent view of it)."""
    if catalyst_cluster is not None:
        async with catalyst_cluster.httpx_client() as client:
            yield client
        return
    assert live.catalyst.kubesim is not None
    async with httpx.AsyncClient(base_url=live.catalyst.kubesim.url, timeout=30) as client:
        yield client


@pytest.fixture
def database(live: LiveCatalyst) -> Database:
    assert live.catalyst.database is not None
    return live.catalyst.database
