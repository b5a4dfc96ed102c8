"""Fixtures of the in-process fault tests: a live Catalyst with fast watcher timings and
clients for its API and for its embedded kubesim."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from catalyst.store.database import Database
from kubesim.server import KubeSim
from tests.catalyst.api.live import LiveCatalyst, live_catalyst
from tests.catalyst.watcher_faults.live_cluster import FAST_WATCHER


@pytest.fixture
def overrides() -> dict[str, object]:
    """Extra settings of the live Catalyst; a test module overrides this fixture."""
    return {}


@pytest.fixture
async def live(tmp_path: Path, overrides: dict[str, object]) -> AsyncIterator[LiveCatalyst]:
    async with live_catalyst(tmp_path / "data", **{**FAST_WATCHER, **overrides}) as running:
        yield running


@pytest.fixture
async def api(live: LiveCatalyst) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"ApiToken {live.admin_token}"}
    async with httpx.AsyncClient(base_url=live.url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def kubesim(live: LiveCatalyst) -> KubeSim:
    assert live.catalyst.kubesim is not None
    return live.catalyst.kubesim


@pytest.fixture
async def kube(kubesim: KubeSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=kubesim.url, timeout=30) as client:
        yield client


@pytest.fixture
def database(live: LiveCatalyst) -> Database:
    assert live.catalyst.database is not None
    return live.catalyst.database
