"""WATCH over HTTP: initial events, RV semantics, 410 in-stream, bookmarks, selectors, timeouts."""

from __future__ import annotations

import asyncio

import aiohttp

from kubesim.server import KubeSim
from tests.support.kube_http import CM, WatchStream, call, configmap, names


async def test_watch_without_rv_sends_initial_added_then_live(
    kube_api: aiohttp.ClientSession,
) -> None:
    await call(kube_api, "POST", CM, configmap("a"), status=201)
    async with kube_api.get(CM, params={"watch": "1"}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("application/json")
        stream = WatchStream(resp)
        assert names(await stream.take(1)) == [("ADDED", "a")]
        await call(kube_api, "POST", CM, configmap("b"), status=201)
        await call(kube_api, "DELETE", f"{CM}/a", status=200)
        assert names(await stream.take(2)) == [("ADDED", "b"), ("DELETED", "a")]


async def test_watch_from_rv_sends_only_later_changes(kubesim: KubeSim, kube_api) -> None:
    await call(kube_api, "POST", CM, configmap("a"), status=201)
    rv = kubesim.store.current_rv
    await call(kube_api, "POST", CM, configmap("b"), status=201)
    async with kube_api.get(CM, params={"watch": "true", "resourceVersion": str(rv)}) as resp:
        stream = WatchStream(resp)
        events = await stream.take(1)
        assert names(events) == [("ADDED", "b")]
        assert int(events[0]["object"]["metadata"]["resourceVersion"]) == rv + 1


async def test_compacted_rv_gives_200_then_one_error_event(kubesim: KubeSim, kube_api) -> None:
    rv = kubesim.store.current_rv
    await call(kube_api, "POST", CM, configmap("a"), status=201)
    await call(kube_api, "POST", "/kubesim/compact", status=200)
    async with kube_api.get(CM, params={"watch": "1", "resourceVersion": str(rv)}) as resp:
        assert resp.status == 200
        events = await WatchStream(resp).until_closed()
    assert len(events) == 1
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
    assert status["message"].startswith(f"too old resource version: {rv}")


async def test_selector_watch_turns_transitions_into_added_and_deleted(kube_api) -> None:
    await call(kube_api, "POST", CM, configmap("a"), status=201)
    async with kube_api.get(
        CM, params={"watch": "1", "labelSelector": "app=x", "resourceVersion": "0"}
    ) as resp:
        stream = WatchStream(resp)
        patch = {"metadata": {"labels": {"app": "x"}}}
        await call(
            kube_api,
            "PATCH",
            f"{CM}/a",
            patch,
            status=200,
            content_type="application/merge-patch+json",
        )
        await call(
            kube_api,
            "PATCH",
            f"{CM}/a",
            {"metadata": {"labels": {"app": "y"}}},
            status=200,
            content_type="application/merge-patch+json",
        )
        assert names(await stream.take(2)) == [("ADDED", "a"), ("DELETED", "a")]


async def test_named_watch_and_legacy_watch_path(kube_api) -> None:
    for n in ("a", "b"):
        await call(kube_api, "POST", CM, configmap(n), status=201)
    async with kube_api.get("/api/v1/watch/namespaces/default/configmaps/b") as resp:
        stream = WatchStream(resp)
        assert names(await stream.take(1)) == [("ADDED", "b")]
        await call(kube_api, "POST", CM, configmap("c"), status=201)
        await call(kube_api, "DELETE", f"{CM}/b", status=200)
        assert names(await stream.take(1)) == [("DELETED", "b")]


async def test_send_initial_events_ends_with_annotated_bookmark(kubesim: KubeSim, kube_api) -> None:
    await call(kube_api, "POST", CM, configmap("a"), status=201)
    params = {
        "watch": "1",
        "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
    }
    async with kube_api.get(CM, params=params) as resp:
        events = await WatchStream(resp).take(2)
    assert events[0]["type"] == "ADDED"
    bookmark = events[1]
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert bookmark["object"]["kind"] == "ConfigMap"
    assert int(bookmark["object"]["metadata"]["resourceVersion"]) >= 1
    bad = await call(
        kube_api, "GET", CM, params={"watch": "1", "sendInitialEvents": "true"}, status=422
    )
    assert bad["reason"] == "Invalid"


async def test_timeout_ends_stream_cleanly_after_pre_deadline_bookmark(
    kubesim: KubeSim, kube_api
) -> None:
    params = {
        "watch": "1",
        "resourceVersion": str(kubesim.store.current_rv),
        "timeoutSeconds": "2",
        "allowWatchBookmarks": "1",
    }
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with kube_api.get(CM, params=params) as resp:
        events = await WatchStream(resp).until_closed(within=5)
    elapsed = loop.time() - started
    assert [e["type"] for e in events] == ["BOOKMARK"]
    assert events[0]["object"]["metadata"]["resourceVersion"] == str(kubesim.store.current_rv)
    assert 1.5 < elapsed < 4


async def test_periodic_bookmarks(tmp_path) -> None:
    async with (
        KubeSim(bookmark_interval=0.2, controllers=False) as sim,
        aiohttp.ClientSession(sim.url) as s,
    ):
        params = {
            "watch": "1",
            "allowWatchBookmarks": "true",
            "resourceVersion": str(sim.store.current_rv),
        }
        async with s.get(CM, params=params) as resp:
            events = await WatchStream(resp).take(2, within=3)
        assert [e["type"] for e in events] == ["BOOKMARK", "BOOKMARK"]


async def test_watch_waits_for_a_future_rv(kubesim: KubeSim, kube_api) -> None:
    future = kubesim.store.current_rv + 1
    async with kube_api.get(CM, params={"watch": "1", "resourceVersion": str(future)}) as resp:
        stream = WatchStream(resp)
        await call(kube_api, "POST", CM, configmap("skipped"), status=201)  # takes RV `future`
        await call(kube_api, "POST", CM, configmap("seen"), status=201)
        assert names(await stream.take(1)) == [("ADDED", "seen")]


async def test_table_watch(kube_api) -> None:
    headers = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    await call(kube_api, "POST", CM, configmap("t"), status=201)
    async with kube_api.get(CM, params={"watch": "1"}, headers=headers) as resp:
        events = await WatchStream(resp).take(1)
    assert events[0]["object"]["kind"] == "Table"
    assert events[0]["object"]["rows"][0]["cells"][0] == "t"
