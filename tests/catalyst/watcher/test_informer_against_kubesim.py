"""The informer against a real API server (kubesim over HTTP), including its faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from catalyst.cluster.client import ClusterClient
from catalyst.watcher.backoff import Backoff
from catalyst.watcher.indexer import label_index
from catalyst.watcher.informer import DeletedFinalStateUnknown, SharedInformer
from catalyst.watcher.listwatch import ListWatch
from kubesim.resources import REGISTRY
from kubesim.server import KubeSim

LABEL = "catalyst.io/environment-id"


@pytest.fixture
async def client(kubesim: KubeSim) -> AsyncIterator[ClusterClient]:
    assert kubesim.kubeconfig_path is not None
    async with await ClusterClient.from_kubeconfig(kubesim.kubeconfig_path, qps=0) as c:
        yield c


async def make_namespace(kube_api: aiohttp.ClientSession, name: str) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    async with kube_api.post("/api/v1/namespaces", json=body) as response:
        assert response.status == 201, await response.text()


async def put_configmap(
    kube_api: aiohttp.ClientSession, name: str, env: str, data: str = "1"
) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "w", "labels": {LABEL: env}},
        "data": {"v": data},
    }
    async with kube_api.patch(
        f"/api/v1/namespaces/w/configmaps/{name}",
        params={"fieldManager": "test", "force": "true"},
        data=json.dumps(body),
        headers={"Content-Type": "application/apply-patch+yaml"},
    ) as response:
        assert response.status in (200, 201), await response.text()


async def delete_configmap(kube_api: aiohttp.ClientSession, name: str) -> None:
    async with kube_api.delete(f"/api/v1/namespaces/w/configmaps/{name}") as response:
        assert response.status == 200, await response.text()


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.changed = asyncio.Event()

    def _record(self, kind: str, name: str) -> None:
        self.events.append((kind, name))
        self.changed.set()

    def on_add(self, obj: dict[str, Any], is_initial: bool) -> None:
        self._record("add", obj["metadata"]["name"])

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self._record("update", new["metadata"]["name"])

    def on_delete(self, obj: dict[str, Any] | DeletedFinalStateUnknown) -> None:
        name = (
            obj.key.split("/")[-1]
            if isinstance(obj, DeletedFinalStateUnknown)
            else (obj["metadata"]["name"])
        )
        self._record("tombstone" if isinstance(obj, DeletedFinalStateUnknown) else "delete", name)


async def until(predicate: Callable[[], bool], recorder: Recorder, seconds: float = 10) -> None:
    async def wait() -> None:
        while not predicate():
            recorder.changed.clear()
            await recorder.changed.wait()

    await asyncio.wait_for(wait(), seconds)


async def eventually(predicate: Callable[[], bool], seconds: float = 10) -> None:
    """Poll a condition that raises no event (e.g. reflector health), bounded in time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def informer_for(client: ClusterClient, **options: Any) -> SharedInformer:
    listwatch = ListWatch(client, "v1", "configmaps", label_selector=LABEL)
    return SharedInformer(
        listwatch,
        indexers={"env": label_index(LABEL)},
        backoff=Backoff(initial=0.05, cap=0.2),
        **options,
    )


@asynccontextmanager
async def synced_informer(
    client: ClusterClient, **options: Any
) -> AsyncIterator[tuple[SharedInformer, Recorder]]:
    """A started informer with a recording handler, once its first list is in."""
    informer = informer_for(client, **options)
    recorder = Recorder()
    informer.add_event_handler(recorder)
    await informer.start()
    try:
        assert await informer.wait_for_sync(10)
        yield informer, recorder
    finally:
        await informer.stop()


def names(informer: SharedInformer) -> set[str]:
    return {o["metadata"]["name"] for o in informer.indexer.objects()}


async def list_requests(kubesim: KubeSim) -> int:
    stats = kubesim.faults.request_stats()
    return sum(count for verb, by in stats.items() if verb == "list" for count in by.values())


@pytest.mark.parametrize("watch_list", [False, True], ids=["list-watch", "watch-list"])
async def test_syncs_then_follows_adds_updates_and_deletes(
    kubesim: KubeSim, kube_api: aiohttp.ClientSession, client: ClusterClient, watch_list: bool
) -> None:
    await make_namespace(kube_api, "w")
    await put_configmap(kube_api, "a", "1")
    async with kube_api.post(
        "/api/v1/namespaces/w/configmaps",
        json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unlabelled"}},
    ) as response:
        assert response.status == 201
    async with synced_informer(client, use_watch_list=watch_list) as (informer, recorder):
        await put_configmap(kube_api, "b", "2")
        await put_configmap(kube_api, "a", "1", data="2")
        await delete_configmap(kube_api, "b")
        await until(lambda: ("delete", "b") in recorder.events, recorder)
        assert recorder.events[:1] == [("add", "a")]
        assert ("add", "b") in recorder.events
        assert ("update", "a") in recorder.events
        assert [o["metadata"]["name"] for o in informer.indexer.by_index("env", "1")] == ["a"]
        assert names(informer) == {"a"}  # the unlabelled object never entered the cache


async def test_closed_watches_are_resumed_without_a_relist(
    kubesim: KubeSim, kube_api: aiohttp.ClientSession, client: ClusterClient
) -> None:
    await make_namespace(kube_api, "w")
    async with synced_informer(client) as (_, recorder):
        lists_before = await list_requests(kubesim)
        assert lists_before >= 1  # the initial list was counted
        kubesim.faults.close_watches()
        await put_configmap(kube_api, "after-close", "1")
        await until(lambda: ("add", "after-close") in recorder.events, recorder)
        assert await list_requests(kubesim) == lists_before


@pytest.mark.parametrize("watch_list", [False, True], ids=["list-watch", "watch-list"])
async def test_compacted_history_forces_a_relist_that_reports_missed_deletes(
    kubesim: KubeSim, kube_api: aiohttp.ClientSession, client: ClusterClient, watch_list: bool
) -> None:
    await make_namespace(kube_api, "w")
    await put_configmap(kube_api, "doomed", "1")
    await put_configmap(kube_api, "kept", "1")
    async with synced_informer(client, use_watch_list=watch_list) as (informer, recorder):
        kubesim.faults.pause()  # the informer loses its watch and cannot reconnect
        configmaps = REGISTRY.get("", "v1", "configmaps")
        assert configmaps is not None
        kubesim.store.delete(configmaps, "w", "doomed")
        kubesim.store.mutate(
            configmaps, "w", "kept", lambda o: o.setdefault("data", {}).update(v="changed")
        )
        kubesim.faults.compact()  # the informer's resourceVersion is now too old
        kubesim.faults.resume()
        await until(lambda: ("tombstone", "doomed") in recorder.events, recorder)
        await until(lambda: ("update", "kept") in recorder.events, recorder)
        assert names(informer) == {"kept"}


async def test_throttling_delays_but_does_not_break_the_sync(
    kubesim: KubeSim, kube_api: aiohttp.ClientSession, client: ClusterClient
) -> None:
    await make_namespace(kube_api, "w")
    await put_configmap(kube_api, "a", "1")
    kubesim.faults.throttle(qps=2, burst=1)
    informers = [informer_for(client) for _ in range(4)]
    for informer in informers:
        await informer.start()
    try:
        for informer in informers:
            assert await informer.wait_for_sync(20)
            assert names(informer) == {"a"}
    finally:
        kubesim.faults.unthrottle()
        for informer in informers:
            await informer.stop()


async def test_health_reflects_an_unavailable_api(
    kubesim: KubeSim, kube_api: aiohttp.ClientSession, client: ClusterClient
) -> None:
    await make_namespace(kube_api, "w")
    async with synced_informer(client) as (informer, recorder):
        assert informer.unhealthy_for() == 0.0
        kubesim.faults.pause()

        await eventually(lambda: informer.unhealthy_for() > 0.0)
        kubesim.faults.resume()
        await put_configmap(kube_api, "back", "1")
        await until(lambda: ("add", "back") in recorder.events, recorder)
        assert informer.unhealthy_for() == 0.0
