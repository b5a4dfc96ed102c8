"""PartialObjectMetadata for list and watch, as client-go's metadata informers ask for it
(``Accept: application/json;as=PartialObjectMetadata[List];g=meta.k8s.io;v=v1``): every
item and every watch event carries the object's metadata only, never its data or status."""

from __future__ import annotations

import aiohttp

from tests.support.kube_http import CM, WatchStream, call, configmap, names

AS_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
AS_OBJECT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"


def _is_partial(obj: dict[str, object]) -> bool:
    return (
        obj.get("kind") == "PartialObjectMetadata"
        and obj.get("apiVersion") == "meta.k8s.io/v1"
        and set(obj) == {"kind", "apiVersion", "metadata"}
    )


async def test_list_as_partial_metadata_returns_metadata_only(
    kube_api: aiohttp.ClientSession,
) -> None:
    await call(kube_api, "POST", CM, configmap("a", labels={"app": "x"}, key="v"), status=201)
    for accept in (AS_LIST, AS_OBJECT):
        body = await call(kube_api, "GET", CM, status=200, headers={"Accept": accept})
        assert body["kind"] == "PartialObjectMetadataList"
        assert body["metadata"]["resourceVersion"]
        (item,) = body["items"]
        assert _is_partial(item)
        assert item["metadata"]["labels"] == {"app": "x"}


async def test_watch_as_partial_metadata_sends_metadata_only_events(
    kube_api: aiohttp.ClientSession,
) -> None:
    await call(kube_api, "POST", CM, configmap("a", key="v"), status=201)
    async with kube_api.get(CM, params={"watch": "1"}, headers={"Accept": AS_OBJECT}) as resp:
        assert resp.status == 200
        stream = WatchStream(resp)
        initial = await stream.take(1)
        await call(kube_api, "POST", CM, configmap("b", key="v"), status=201)
        await call(kube_api, "DELETE", f"{CM}/a", status=200)
        live = await stream.take(2)
    events = initial + live
    assert names(events) == [("ADDED", "a"), ("ADDED", "b"), ("DELETED", "a")]
    assert all(_is_partial(event["object"]) for event in events)
    assert all(event["object"]["metadata"]["resourceVersion"] for event in events)


async def test_watch_list_as_partial_metadata_ends_initial_events_with_a_bookmark(
    kube_api: aiohttp.ClientSession,
) -> None:
    await call(kube_api, "POST", CM, configmap("a", key="v"), status=201)
    params = {
        "watch": "1",
        "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
    }
    async with kube_api.get(CM, params=params, headers={"Accept": AS_OBJECT}) as resp:
        stream = WatchStream(resp)
        added, bookmark = await stream.take(2)
    assert added["type"] == "ADDED"
    assert _is_partial(added["object"])
    assert bookmark["type"] == "BOOKMARK"
    annotations = bookmark["object"]["metadata"]["annotations"]
    assert annotations == {"k8s.io/initial-events-end": "true"}
