"""Fidelity with the official ``kubernetes`` Python client (synchronous, in a thread).

Proves: label-selector lists, the list-then-watch handshake from the list's
resourceVersion (a change made between list and watch and one made while
watching both arrive, nothing from before the list), and 410 Gone for a
watch from a resourceVersion that ``POST /kubesim/compact`` expired. Every
watch carries ``timeout_seconds`` so its thread ends on its own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from tests.support.threads import fetch, in_thread

WATCH_SECONDS = 10


def _pod(
    name: str,
    labels: dict[str, str],
    *,
    annotations: dict[str, str] | None = None,
    restart_policy: str = "Always",
) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels, annotations=annotations),
        spec=client.V1PodSpec(
            containers=[client.V1Container(name="main", image="busybox")],
            restart_policy=restart_policy,
        ),
    )


def _cm(name: str, **data: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data=data)


async def test_list_pods_with_label_selectors(k8s: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(k8s)
    for name, labels in [
        ("web-1", {"app": "web", "tier": "front"}),
        ("web-2", {"app": "web", "tier": "back"}),
        ("db-1", {"app": "db"}),
    ]:
        await in_thread(core.create_namespaced_pod, namespace, _pod(name, labels))

    async def names(selector: str) -> list[str]:
        pods = await fetch(k8s, core.list_namespaced_pod, namespace, label_selector=selector)
        return sorted(p["metadata"]["name"] for p in pods["items"])

    assert await names("app=web") == ["web-1", "web-2"]
    assert await names("app=web,tier!=back") == ["web-1"]
    assert await names("app in (db, cache)") == ["db-1"]
    assert await names("!tier") == ["db-1"]
    assert await names("tier") == ["web-1", "web-2"]
    assert await names("app=nothing") == []


async def test_watch_from_list_resource_version_sees_later_changes(
    k8s: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(k8s)
    await in_thread(core.create_namespaced_config_map, namespace, _cm("before"))
    listed = await fetch(k8s, core.list_namespaced_config_map, namespace)
    assert [c["metadata"]["name"] for c in listed["items"]] == ["before"]
    list_rv = listed["metadata"]["resourceVersion"]
    # made after the list but before the watch opens: must still be delivered
    await in_thread(core.create_namespaced_config_map, namespace, _cm("between"))

    loop = asyncio.get_running_loop()
    events: asyncio.Queue[tuple[str, str, dict[str, str] | None]] = asyncio.Queue()

    def watch_thread() -> None:
        # Stopped from inside the loop: Watch.stop() from another thread shuts the
        # socket down under the reader, which then fails with ProtocolError.
        stream = watch.Watch()
        for event in stream.stream(
            core.list_namespaced_config_map,
            namespace,
            resource_version=list_rv,
            timeout_seconds=WATCH_SECONDS,
        ):
            obj = event["object"]
            item = (event["type"], obj.metadata.name, obj.data)
            loop.call_soon_threadsafe(events.put_nowait, item)
            if item[:2] == ("MODIFIED", "before"):
                stream.stop()

    watching = asyncio.create_task(asyncio.to_thread(watch_thread))
    first = await asyncio.wait_for(events.get(), WATCH_SECONDS)
    assert first[:2] == ("ADDED", "between")
    # the watch is demonstrably open now: a change made while it runs arrives too
    await in_thread(core.patch_namespaced_config_map, "before", namespace, {"data": {"k": "v2"}})
    second = await asyncio.wait_for(events.get(), WATCH_SECONDS)
    assert second == ("MODIFIED", "before", {"k": "v2"})
    # timeout_seconds bounds the thread even if the assertions above failed
    await asyncio.wait_for(watching, WATCH_SECONDS + 5)
    assert events.empty()


async def test_watch_from_compacted_resource_version_is_gone(
    k8s: client.ApiClient, namespace: str, kube_api: aiohttp.ClientSession
) -> None:
    core = client.CoreV1Api(k8s)
    listed = await fetch(k8s, core.list_namespaced_config_map, namespace)
    old_rv = listed["metadata"]["resourceVersion"]
    for name in ("a", "b"):
        await in_thread(core.create_namespaced_config_map, namespace, _cm(name))
    async with kube_api.post("/kubesim/compact") as resp:
        assert resp.status == 200, await resp.text()
        compacted: dict[str, Any] = await resp.json()
    assert int(compacted["compactedResourceVersion"]) > int(old_rv)

    def watch_old() -> list[dict[str, Any]]:
        seen = []
        for event in watch.Watch().stream(
            core.list_namespaced_config_map,
            namespace,
            resource_version=old_rv,
            timeout_seconds=WATCH_SECONDS,
        ):
            seen.append(event)
        return seen

    with pytest.raises(ApiException) as caught:
        await in_thread(watch_old)
    assert caught.value.status == 410
    assert "Expired" in str(caught.value.reason) or "Gone" in str(caught.value.reason)

    # a fresh list gives a usable resourceVersion again (how clients recover)
    relisted = await fetch(k8s, core.list_namespaced_config_map, namespace)
    assert sorted(c["metadata"]["name"] for c in relisted["items"]) == ["a", "b"]


async def test_paginated_list_and_field_selectors(k8s: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(k8s)
    for i in range(5):
        await in_thread(core.create_namespaced_config_map, namespace, _cm(f"cm-{i}"))
    seen: list[str] = []
    versions: set[str] = set()
    token: str | None = None
    pages = 0
    while True:
        page = await fetch(
            k8s, core.list_namespaced_config_map, namespace, limit=2, _continue=token
        )
        pages += 1
        seen += [item["metadata"]["name"] for item in page["items"]]
        versions.add(page["metadata"]["resourceVersion"])
        token = page["metadata"].get("continue")
        if not token:
            break
        assert pages < 10, "pagination does not end"
    assert sorted(seen) == [f"cm-{i}" for i in range(5)]
    assert pages == 3
    assert len(versions) == 1, "every page carries the snapshot's resourceVersion"

    named = await fetch(
        k8s, core.list_namespaced_config_map, namespace, field_selector="metadata.name=cm-3"
    )
    assert [item["metadata"]["name"] for item in named["items"]] == ["cm-3"]
    with pytest.raises(ApiException) as caught:
        await in_thread(
            core.list_namespaced_config_map, namespace, field_selector="data.colour=red"
        )
    assert caught.value.status == 400


async def test_read_pod_log_following(k8s: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(k8s)
    annotations = {"sim.kubesim.io/logs": "alpha\nbeta\ngamma", "sim.kubesim.io/run-for": "1s"}
    pod = _pod("talker", {"app": "talker"}, annotations=annotations, restart_policy="Never")
    await in_thread(core.create_namespaced_pod, namespace, pod)

    def running() -> bool:
        for event in watch.Watch().stream(
            core.list_namespaced_pod,
            namespace,
            field_selector="metadata.name=talker",
            timeout_seconds=WATCH_SECONDS,
        ):
            if event["object"].status.phase in ("Running", "Succeeded"):
                return True
        return False

    assert await in_thread(running)

    def follow() -> list[str]:
        lines: list[str] = []
        for line in watch.Watch().stream(
            core.read_namespaced_pod_log, "talker", namespace, follow=True
        ):
            lines.append(line)
        return lines

    assert await in_thread(follow) == ["alpha", "beta", "gamma"]
