"""Shared fixtures: a started kubesim per test, and an HTTP client for it.

``kubesim`` yields a started `KubeSim` on a free 127.0.0.1 port with its
kubeconfig in ``tmp_path``; ``kube_api`` is an aiohttp session whose base URL
is that server, so tests write ``await kube_api.get("/api/v1/namespaces")``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from kubesim.server import KubeSim


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
