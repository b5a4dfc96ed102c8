"""/kubesim/* fault controls: throttle (429), pause (503), closing watches, stats."""

from __future__ import annotations

import aiohttp

from kubesim.server import KubeSim
from tests.support.kube_http import CM, WatchStream, call, configmap


async def test_throttle_answers_429_like_apf_and_spares_watches(
    kube_api: aiohttp.ClientSession,
) -> None:
    await call(kube_api, "POST", "/kubesim/throttle", {"qps": 0, "burst": 2}, status=200)
    await call(kube_api, "GET", CM, status=200)
    await call(kube_api, "GET", CM, status=200)
    async with kube_api.get(CM) as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "1"
        assert resp.headers["Content-Type"].startswith("text/plain")
        assert "Too many requests" in await resp.text()
    async with kube_api.get(CM, params={"watch": "1", "resourceVersion": "0"}) as resp:
        assert resp.status == 200
    await call(kube_api, "DELETE", "/kubesim/throttle", status=200)
    await call(kube_api, "GET", CM, status=200)


async def test_throttle_from_python(kubesim: KubeSim, kube_api) -> None:
    kubesim.faults.throttle(0, 0)
    await call(kube_api, "GET", CM, status=429)
    kubesim.faults.unthrottle()
    await call(kube_api, "GET", CM, status=200)


async def test_pause_closes_watches_and_answers_503_until_resume(kube_api) -> None:
    async with kube_api.get(CM, params={"watch": "1"}) as resp:
        stream = WatchStream(resp)
        paused = await call(kube_api, "POST", "/kubesim/pause", status=200)
        assert paused["closedWatches"] == 1
        assert await stream.until_closed() == []
    down = await call(kube_api, "GET", CM, status=503)
    assert down["reason"] == "ServiceUnavailable"
    stats = await call(kube_api, "GET", "/kubesim/stats", status=200)
    assert stats["paused"] is True
    await call(kube_api, "POST", "/kubesim/resume", status=200)
    await call(kube_api, "GET", CM, status=200)


async def test_close_watches_ends_streams_cleanly(kube_api) -> None:
    async with kube_api.get(CM, params={"watch": "1"}) as resp:
        closed = await call(kube_api, "POST", "/kubesim/watches/close", status=200)
        assert closed == {"closed": 1}
        assert await WatchStream(resp).until_closed() == []


async def test_stats_count_requests_by_verb_and_resource(kubesim: KubeSim, kube_api) -> None:
    await call(kube_api, "POST", CM, configmap("a"), status=201)
    await call(kube_api, "GET", f"{CM}/a", status=200)
    await call(kube_api, "GET", CM, status=200)
    async with kube_api.get(CM, params={"watch": "1"}) as resp:
        await WatchStream(resp).take(1)
        stats = await call(kube_api, "GET", "/kubesim/stats", status=200)
    assert stats["requests"]["create"]["configmaps"] == 1
    assert stats["requests"]["get"]["configmaps"] == 1
    assert stats["requests"]["list"]["configmaps"] == 1
    assert stats["requests"]["watch"]["configmaps"] == 1
    assert stats["openWatches"] == 1
    assert stats["resourceVersion"] == str(kubesim.store.current_rv)
    assert stats["objects"] == kubesim.store.count()
