"""The informer against a real API server, on both clusters (kubesim and realkube's
kube-apiserver, see ``tests/support/clusters.py``), plus kubesim's fault controls.

On both: list then watch and watch-list (its ``k8s.io/initial-events-end`` bookmark),
has_synced, bookmarks moving the resourceVersion, a clean close (the server ending the
watch at its ``timeoutSeconds``) resumed without a relist, and a deletion missed while the
informer was cut off (a TCP relay in front of the server resets its connections and refuses
new ones, `tests.support.tcp_proxy`) arriving as a tombstone from the relist.

kubesim only, because they need its fault controls: 410 after compaction (``/kubesim/compact``;
a real server answers 410 only after etcd compaction past the watch cache, issue 11 part 2),
429 throttling and a paused API.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from catalyst.cluster.client import ClusterClient
from catalyst.watcher.backoff import Backoff
from catalyst.watcher.indexer import label_index
from catalyst.watcher.informer import DeletedFinalStateUnknown, SharedInformer
from catalyst.watcher.listwatch import ListWatch, WatchEvent
from catalyst.watcher.reflector import INITIAL_EVENTS_END
from kubesim.resources import REGISTRY
from kubesim.server import KubeSim
from tests.support.clusters import BOTH_CLUSTERS, KubeCluster
from tests.support.tcp_proxy import TcpProxy, kubeconfig_via
from tests.support.waiting import eventually

LABEL = "catalyst.io/environment-id"
# Polling interval for conditions that raise no event (reflector health, watch counts).
POLL = 0.02


@pytest.fixture
async def client(kube_cluster: KubeCluster) -> AsyncIterator[ClusterClient]:
    async with await ClusterClient.from_kubeconfig(kube_cluster.kubeconfig_path, qps=0) as c:
        yield c


@pytest.fixture
async def api(kube_cluster: KubeCluster) -> AsyncIterator[aiohttp.ClientSession]:
    async with kube_cluster.aiohttp_session() as session:
        yield session


@pytest.fixture
async def ns(kube_cluster: KubeCluster) -> str:
    """The test's namespace; every informer here watches only it."""
    return await kube_cluster.new_namespace("w")


async def put_configmap(
    api: aiohttp.ClientSession, ns: str, name: str, env: str, data: str = "1"
) -> str:
    """Apply a labelled ConfigMap; returns its resourceVersion."""
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": {LABEL: env}},
        "data": {"v": data},
    }
    async with api.patch(
        f"/api/v1/namespaces/{ns}/configmaps/{name}",
        params={"fieldManager": "test", "force": "true"},
        data=json.dumps(body),
        headers={"Content-Type": "application/apply-patch+yaml"},
    ) as response:
        assert response.status in (200, 201), await response.text()
        return str((await response.json())["metadata"]["resourceVersion"])


async def delete_configmap(api: aiohttp.ClientSession, ns: str, name: str) -> None:
    async with api.delete(f"/api/v1/namespaces/{ns}/configmaps/{name}") as response:
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


@dataclass
class CountingListWatch:
    """A `ListWatch` that counts its lists and watches and records every watch event."""

    inner: ListWatch
    lists: int = 0
    watches: int = 0
    events: list[WatchEvent] = field(default_factory=list)
    event_seen: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def api_version(self) -> str:
        return self.inner.api_version

    @property
    def description(self) -> str:
        return self.inner.description

    async def list(self, **options: Any) -> dict[str, Any]:
        self.lists += 1
        return await self.inner.list(**options)

    def watch(self, **options: Any) -> AbstractAsyncContextManager[AsyncIterator[WatchEvent]]:
        self.watches += 1
        return self._watch(**options)

    @asynccontextmanager
    async def _watch(self, **options: Any) -> AsyncIterator[AsyncIterator[WatchEvent]]:
        async with self.inner.watch(**options) as stream:
            yield self._recorded(stream)

    async def _recorded(self, stream: AsyncIterator[WatchEvent]) -> AsyncIterator[WatchEvent]:
        async for event in stream:
            self.events.append(event)
            self.event_seen.set()
            yield event

    async def wait_for_event(
        self, predicate: Callable[[WatchEvent], bool], seconds: float
    ) -> WatchEvent:
        async def wait() -> WatchEvent:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                self.event_seen.clear()
                await self.event_seen.wait()

        return await asyncio.wait_for(wait(), seconds)


def informer_for(client: ClusterClient, ns: str, **options: Any) -> SharedInformer:
    listwatch = options.pop("listwatch", None) or ListWatch(
        client, "v1", "configmaps", namespace=ns, label_selector=LABEL
    )
    return SharedInformer(
        listwatch,
        indexers={"env": label_index(LABEL)},
        backoff=Backoff(initial=0.05, cap=0.2),
        **options,
    )


def counting(client: ClusterClient, ns: str) -> CountingListWatch:
    return CountingListWatch(
        ListWatch(client, "v1", "configmaps", namespace=ns, label_selector=LABEL)
    )


@asynccontextmanager
async def synced_informer(
    client: ClusterClient, ns: str, **options: Any
) -> AsyncIterator[tuple[SharedInformer, Recorder]]:
    """A started informer with a recording handler, once its first list is in."""
    informer = informer_for(client, ns, **options)
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


def is_bookmark(event: WatchEvent) -> bool:
    return event.type == "BOOKMARK"


def is_initial_events_end(event: WatchEvent) -> bool:
    annotations = event.object.get("metadata", {}).get("annotations") or {}
    return is_bookmark(event) and annotations.get(INITIAL_EVENTS_END) == "true"


@BOTH_CLUSTERS
@pytest.mark.parametrize("watch_list", [False, True], ids=["list-watch", "watch-list"])
async def test_syncs_then_follows_adds_updates_and_deletes(
    api: aiohttp.ClientSession, client: ClusterClient, ns: str, watch_list: bool
) -> None:
    await put_configmap(api, ns, "a", "1")
    async with api.post(
        f"/api/v1/namespaces/{ns}/configmaps",
        json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unlabelled"}},
    ) as response:
        assert response.status == 201
    listwatch = counting(client, ns)
    informer = informer_for(client, ns, listwatch=listwatch, use_watch_list=watch_list)
    recorder = Recorder()
    informer.add_event_handler(recorder)
    assert not informer.has_synced()
    await informer.start()
    try:
        assert await informer.wait_for_sync(10)
        assert informer.has_synced()
        assert names(informer) == {"a"}
        if watch_list:
            # One stream: ADDED for "a", then the annotated bookmark; no list at all.
            assert listwatch.lists == 0
            assert [e.type for e in listwatch.events[:1]] == ["ADDED"]
            end = await listwatch.wait_for_event(is_initial_events_end, 1)
            assert informer.last_sync_resource_version == end.object["metadata"]["resourceVersion"]
        else:
            assert listwatch.lists == 1
        await put_configmap(api, ns, "b", "2")
        await put_configmap(api, ns, "a", "1", data="2")
        await delete_configmap(api, ns, "b")
        await until(lambda: ("delete", "b") in recorder.events, recorder)
        assert recorder.events[:1] == [("add", "a")]
        assert ("add", "b") in recorder.events
        assert ("update", "a") in recorder.events
        assert [o["metadata"]["name"] for o in informer.indexer.by_index("env", "1")] == ["a"]
        assert names(informer) == {"a"}  # the unlabelled object never entered the cache
        assert listwatch.watches == 1
    finally:
        await informer.stop()


@BOTH_CLUSTERS
async def test_bookmarks_move_the_resource_version_without_events(
    kube_cluster: KubeCluster, api: aiohttp.ClientSession, client: ClusterClient, ns: str
) -> None:
    # Both servers send a bookmark 2 s before a watch's deadline: with watches of 3-6 s,
    # one arrives within seconds. A write elsewhere moves the server's resourceVersion
    # past anything this informer's namespace has seen.
    other = await kube_cluster.new_namespace("elsewhere")
    seen_rv = await put_configmap(api, ns, "a", "1")
    listwatch = counting(client, ns)
    async with synced_informer(client, ns, listwatch=listwatch, min_watch_timeout=3) as (
        informer,
        recorder,
    ):
        later_rv = await put_configmap(api, other, "elsewhere", "1")
        assert int(later_rv) > int(seen_rv)

        def moved(event: WatchEvent) -> bool:
            rv = event.object["metadata"]["resourceVersion"]
            return is_bookmark(event) and int(rv) >= int(later_rv)

        bookmark = await listwatch.wait_for_event(moved, 30)
        bookmark_rv = bookmark.object["metadata"]["resourceVersion"]
        await eventually(
            lambda: int(informer.last_sync_resource_version) >= int(bookmark_rv),
            "the informer to sync to the bookmark's resourceVersion",
            within=10,
            interval=POLL,
        )
        assert bookmark.object.get("kind") == "ConfigMap"
        assert recorder.events == [("add", "a")]  # a bookmark is no object change
        assert names(informer) == {"a"}


@BOTH_CLUSTERS
async def test_a_watch_the_server_ends_is_resumed_without_a_relist(
    api: aiohttp.ClientSession, client: ClusterClient, ns: str
) -> None:
    # timeoutSeconds of 2-4 s: the server ends each watch cleanly; the informer watches
    # again from its resourceVersion, without listing, and misses nothing.
    listwatch = counting(client, ns)
    async with synced_informer(client, ns, listwatch=listwatch, min_watch_timeout=2) as (
        informer,
        recorder,
    ):
        assert listwatch.lists == 1
        await eventually(lambda: listwatch.watches >= 2, "a second watch", within=15, interval=POLL)
        await put_configmap(api, ns, "after-close", "1")
        await until(lambda: ("add", "after-close") in recorder.events, recorder)
        await eventually(lambda: listwatch.watches >= 3, "a third watch", within=15, interval=POLL)
        await put_configmap(api, ns, "after-second-close", "1")
        await until(lambda: ("add", "after-second-close") in recorder.events, recorder)
        assert listwatch.lists == 1
        assert informer.has_synced()
        assert names(informer) == {"after-close", "after-second-close"}


@BOTH_CLUSTERS
async def test_a_deletion_missed_while_cut_off_arrives_as_a_tombstone(
    kube_cluster: KubeCluster, api: aiohttp.ClientSession, ns: str, tmp_path: Path
) -> None:
    await put_configmap(api, ns, "doomed", "1")
    await put_configmap(api, ns, "kept", "1")
    async with TcpProxy(kube_cluster.url) as proxy:
        kubeconfig = kubeconfig_via(proxy, kube_cluster.kubeconfig_path, tmp_path / "proxied")
        async with await ClusterClient.from_kubeconfig(kubeconfig, qps=0) as client:
            listwatch = counting(client, ns)
            async with synced_informer(client, ns, listwatch=listwatch) as (informer, recorder):
                # An event through the watch shows it is open (a cut before the server
                # answered would be a refused open: re-watch from the resourceVersion,
                # which replays the delete). Then the open watch breaks (connection reset)
                # and every reconnect is refused: the informer sees neither the delete
                # nor the update as events.
                await put_configmap(api, ns, "kept", "1", data="2")
                await until(lambda: ("update", "kept") in recorder.events, recorder)
                recorder.events.clear()
                proxy.cut()
                await eventually(
                    lambda: informer.unhealthy_for() > 0.0,
                    "the informer to turn unhealthy",
                    within=10,
                    interval=POLL,
                )
                await delete_configmap(api, ns, "doomed")
                await put_configmap(api, ns, "kept", "1", data="changed")
                lists_before = listwatch.lists
                proxy.restore()
                # A broken watch is followed by a relist, whose Replace reports the key
                # that vanished as a tombstone and the change as an update.
                await until(lambda: ("tombstone", "doomed") in recorder.events, recorder)
                await until(lambda: ("update", "kept") in recorder.events, recorder)
                assert ("delete", "doomed") not in recorder.events
                assert listwatch.lists > lists_before
                assert names(informer) == {"kept"}
                await eventually(
                    lambda: informer.unhealthy_for() == 0.0,
                    "the informer to be healthy again",
                    within=10,
                    interval=POLL,
                )


# -- kubesim only: its fault controls --------------------------------------------------------


async def list_requests(kubesim: KubeSim) -> int:
    stats = kubesim.faults.request_stats()
    return sum(count for verb, by in stats.items() if verb == "list" for count in by.values())


async def test_closed_watches_are_resumed_without_a_relist(
    kubesim: KubeSim, kube_api: aiohttp.ClientSession, client: ClusterClient, ns: str
) -> None:
    # /kubesim/watches/close ends every watch at once, mid-deadline.
    async with synced_informer(client, ns) as (_, recorder):
        lists_before = await list_requests(kubesim)
        assert lists_before >= 1  # the initial list was counted
        kubesim.faults.close_watches()
        await put_configmap(kube_api, ns, "after-close", "1")
        await until(lambda: ("add", "after-close") in recorder.events, recorder)
        assert await list_requests(kubesim) == lists_before


@pytest.mark.parametrize("watch_list", [False, True], ids=["list-watch", "watch-list"])
async def test_compacted_history_forces_a_relist_that_reports_missed_deletes(
    kubesim: KubeSim,
    kube_api: aiohttp.ClientSession,
    client: ClusterClient,
    ns: str,
    watch_list: bool,
) -> None:
    await put_configmap(kube_api, ns, "doomed", "1")
    await put_configmap(kube_api, ns, "kept", "1")
    async with synced_informer(client, ns, use_watch_list=watch_list) as (informer, recorder):
        kubesim.faults.pause()  # the informer loses its watch and cannot reconnect
        configmaps = REGISTRY.get("", "v1", "configmaps")
        assert configmaps is not None
        kubesim.store.delete(configmaps, ns, "doomed")
        kubesim.store.mutate(
            configmaps, ns, "kept", lambda o: o.setdefault("data", {}).update(v="changed")
        )
        kubesim.faults.compact()  # the informer's resourceVersion is now too old
        kubesim.faults.resume()
        await until(lambda: ("tombstone", "doomed") in recorder.events, recorder)
        await until(lambda: ("update", "kept") in recorder.events, recorder)
        assert names(informer) == {"kept"}


async def test_throttling_delays_but_does_not_break_the_sync(
    kubesim: KubeSim, kube_api: aiohttp.ClientSession, client: ClusterClient, ns: str
) -> None:
    await put_configmap(kube_api, ns, "a", "1")
    kubesim.faults.throttle(qps=2, burst=1)
    informers = [informer_for(client, ns) for _ in range(4)]
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
    kubesim: KubeSim, kube_api: aiohttp.ClientSession, client: ClusterClient, ns: str
) -> None:
    async with synced_informer(client, ns) as (informer, recorder):
        assert informer.unhealthy_for() == 0.0
        kubesim.faults.pause()

        await eventually(
            lambda: informer.unhealthy_for() > 0.0,
            "the informer to turn unhealthy",
            within=10,
            interval=POLL,
        )
        kubesim.faults.resume()
        await put_configmap(kube_api, ns, "back", "1")
        await until(lambda: ("add", "back") in recorder.events, recorder)
        assert informer.unhealthy_for() == 0.0
