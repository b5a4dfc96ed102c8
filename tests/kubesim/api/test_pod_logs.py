"""pods/{name}/log through HTTP, served from the simulator's container logs."""

from __future__ import annotations

import asyncio

import aiohttp

from kubesim.server import KubeSim
from tests.support.kube_http import call

PODS = "/api/v1/namespaces/default/pods"


def pod(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "annotations": {"sim.kubesim.io/logs": "hello\nworld", "sim.kubesim.io/run-for": "1s"},
        },
        "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]},
    }


async def test_missing_pod_is_404(kube_api: aiohttp.ClientSession) -> None:
    err = await call(kube_api, "GET", f"{PODS}/ghost/log", status=404)
    assert err["message"] == 'pods "ghost" not found'


async def test_logs_before_start_are_400_then_stream(kubesim: KubeSim, kube_api) -> None:
    assert kubesim.simulator is not None
    await call(kube_api, "POST", PODS, pod("p"), status=201)
    waiting = await call(kube_api, "GET", f"{PODS}/p/log", status=400)
    assert "is waiting to start" in waiting["message"]
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        got = await call(kube_api, "GET", f"{PODS}/p", status=200)
        if got["status"].get("phase") in ("Running", "Succeeded"):
            break
        assert asyncio.get_running_loop().time() < deadline, got["status"]
        await asyncio.sleep(0.05)
    async with kube_api.get(f"{PODS}/p/log", params={"follow": "true"}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        body = await asyncio.wait_for(resp.text(), 20)
    assert body.splitlines() == ["hello", "world"]
